/**
 * Turns an API Gateway proxy event (route `/r4/{proxy+}`) into a typed FHIR R4 interaction, or a
 * typed error. Pure: no I/O, no clock, no logging.
 *
 * Everything that later leaves the Lambda is validated here: the resource type is an R4 type, ids
 * and version ids are R4 ids that are safe URL segments, query parameter names and values are
 * bounded, bodies are size-limited UTF-8 JSON objects whose `resourceType`/`id` agree with the
 * path. The result carries the PARSED body and parameters: the proxy forwards
 * `JSON.stringify(body)` and re-encoded parameters, never the raw input, so HealthLake sees
 * exactly what the proxy checked (no duplicate-key or encoding differentials).
 *
 * Errors name the problem with a constant text from {@link REQUEST_ERRORS} and never echo input.
 *
 * Request-derived names never index a plain object here: headers are kept in a `Map`, parameters
 * in arrays. And because the parsed request is read by code that does (and by HealthLake), a name
 * that is a member of `Object.prototype` (`__proto__`, `constructor`, `toString`, …, see
 * {@link isReservedKey}) is refused wherever the request uses it as a name: in a parameter name
 * (code, modifier or chain segment), in the names a parameter value lists (`_include`,
 * `_revinclude`, `_sort`, `_elements`, `_type`), as a property of a JSON body at any depth, and as
 * a token of a JSON Patch `path`/`from`. None of them is a FHIR name, so nothing valid is lost.
 * Header names are not refused: unknown headers are ignored, and a `Map` holds any name.
 *
 * @see https://hl7.org/fhir/R4/http.html
 * @see https://hl7.org/fhir/R4/search.html
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { FhirInteraction } from '../shared/fhir-interactions';
import { isValidId } from '../shared/fhir/references';
import { isFhirResourceType, type FhirResourceType } from '../shared/fhir-resource-types';
import { errorResponse, type IssueType } from '../shared/operation-outcome';
import { isObject } from '../shared/json';

export interface RequestLimits {
  /** Largest accepted body, in decoded bytes. @default 5 MiB */
  readonly maxBodyBytes: number;
  /** Most query (plus form) parameters, counting each value. @default 100 */
  readonly maxParams: number;
  /** Longest parameter value, in characters. @default 1024 */
  readonly maxParamValueLength: number;
  /** Longest parameter name (including modifiers and chains), in characters. @default 256 */
  readonly maxParamNameLength: number;
  /** Deepest JSON nesting accepted in a body. @default 64 */
  readonly maxJsonDepth: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxBodyBytes: 5 * 1024 * 1024,
  maxParams: 100,
  maxParamValueLength: 1024,
  maxParamNameLength: 256,
  maxJsonDepth: 64,
};

/** The fixed texts of every request error. Nothing else is ever sent back. */
export const REQUEST_ERRORS = {
  malformed: 'Malformed request',
  methodNotAllowed: 'Method not allowed for this path',
  unsupportedPath: 'Unsupported request path',
  unknownResourceType: 'Unknown resource type in path',
  invalidId: 'Invalid id',
  invalidVersionId: 'Invalid version id',
  invalidOperation: 'Invalid operation name',
  tooManyParams: 'Too many query parameters',
  invalidParamName: 'Invalid query parameter name',
  paramTooLong: 'Query parameter value too long',
  invalidParamValue: 'Invalid query parameter value',
  unsupportedFormat: 'Unsupported _format',
  missingCriteria: 'Conditional request without search criteria',
  invalidHeader: 'Invalid conditional request header',
  bodyNotAllowed: 'Request body not allowed',
  bodyRequired: 'Request body required',
  bodyTooLarge: 'Body too large',
  unsupportedContentType: 'Unsupported Content-Type',
  invalidEncoding: 'Invalid body encoding',
  invalidJson: 'Body is not valid JSON',
  notAnObject: 'Body must be a JSON object',
  tooDeep: 'Body nesting too deep',
  resourceTypeMismatch: 'Resource type in body does not match the path',
  missingBodyId: 'Resource id required in body',
  idMismatch: 'Resource id in body does not match the path',
  invalidBodyId: 'Invalid id in body',
  invalidBundleType: 'Bundle type must be batch or transaction',
  invalidPatch: 'Invalid patch document',
  invalidForm: 'Invalid form body',
  reservedKey: 'Body contains a reserved property name',
} as const;

export type RequestErrorMessage = (typeof REQUEST_ERRORS)[keyof typeof REQUEST_ERRORS];

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestError {
  readonly kind: 'error';
  /** 400 malformed, 405 method not allowed, 413 body too large, 415 unsupported media type. */
  readonly status: 400 | 405 | 413 | 415;
  readonly code: IssueType;
  readonly message: RequestErrorMessage;
  /** On 405: the methods the path accepts (sent as `Allow`). */
  readonly allow?: readonly HttpMethod[];
}

/** One search/query parameter, decoded, in request order (repeats are separate entries). */
export interface SearchParam {
  readonly name: string;
  readonly value: string;
}

/** A JSON object body that names its resource type. */
export type FhirJson = { readonly resourceType: string } & Readonly<Record<string, unknown>>;

export interface JsonPatchOperation {
  readonly op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  readonly path: string;
  readonly [key: string]: unknown;
}

export type PatchDocument =
  | { readonly format: 'json-patch'; readonly operations: readonly JsonPatchOperation[] }
  | { readonly format: 'fhirpath-patch'; readonly parameters: FhirJson };

interface RequestBase {
  readonly method: HttpMethod;
  /** Query parameters (for POST `_search`: query then form body), validated. */
  readonly params: readonly SearchParam[];
  /**
   * The canonical relative path to forward, rebuilt from validated parts
   * (e.g. `Observation/1/_history/2`, `Patient/$everything`, `` for the system level).
   */
  readonly path: string;
  /**
   * Validated conditional/preference headers to forward, canonically formatted:
   * `If-Match`, `If-None-Match`, `If-Modified-Since`, `If-None-Exist`, `Prefer`.
   */
  readonly forwardHeaders: Readonly<Record<string, string>>;
}

export interface ReadRequest extends RequestBase {
  readonly interaction: 'read';
  readonly resourceType: FhirResourceType;
  readonly id: string;
}
export interface VreadRequest extends RequestBase {
  readonly interaction: 'vread';
  readonly resourceType: FhirResourceType;
  readonly id: string;
  readonly versionId: string;
}
export interface UpdateRequest extends RequestBase {
  readonly interaction: 'update';
  readonly resourceType: FhirResourceType;
  /** Absent for a conditional update (`PUT Type?criteria`). */
  readonly id?: string;
  readonly conditional: boolean;
  readonly body: FhirJson;
}
export interface PatchRequest extends RequestBase {
  readonly interaction: 'patch';
  readonly resourceType: FhirResourceType;
  /** Absent for a conditional patch (`PATCH Type?criteria`). */
  readonly id?: string;
  readonly conditional: boolean;
  readonly patch: PatchDocument;
}
export interface DeleteRequest extends RequestBase {
  readonly interaction: 'delete';
  readonly resourceType: FhirResourceType;
  /** Absent for a conditional delete (`DELETE Type?criteria`). */
  readonly id?: string;
  readonly conditional: boolean;
}
export interface CreateRequest extends RequestBase {
  readonly interaction: 'create';
  readonly resourceType: FhirResourceType;
  readonly body: FhirJson;
  /** The parsed `If-None-Exist` criteria of a conditional create. */
  readonly ifNoneExist?: readonly SearchParam[];
}
export interface HistoryInstanceRequest extends RequestBase {
  readonly interaction: 'history-instance';
  readonly resourceType: FhirResourceType;
  readonly id: string;
}
export interface HistoryTypeRequest extends RequestBase {
  readonly interaction: 'history-type';
  readonly resourceType: FhirResourceType;
}
export interface HistorySystemRequest extends RequestBase {
  readonly interaction: 'history-system';
}
export interface SearchTypeRequest extends RequestBase {
  readonly interaction: 'search-type';
  readonly resourceType: FhirResourceType;
  /** True for `POST Type/_search` (parameters may have come from the form body). */
  readonly viaPost: boolean;
}
export interface SearchSystemRequest extends RequestBase {
  readonly interaction: 'search-system';
  readonly viaPost: boolean;
}
export interface CapabilitiesRequest extends RequestBase {
  readonly interaction: 'capabilities';
}
export interface BundleRequest extends RequestBase {
  readonly interaction: 'batch' | 'transaction';
  readonly body: FhirJson & { readonly resourceType: 'Bundle'; readonly type: 'batch' | 'transaction' };
}
export interface OperationRequest extends RequestBase {
  readonly interaction: 'operation';
  /** The operation name without `$`, e.g. `everything`. */
  readonly operation: string;
  readonly level: 'system' | 'type' | 'instance';
  readonly resourceType?: FhirResourceType;
  readonly id?: string;
  /** The POSTed input (Parameters or a resource); absent for GET or an empty POST. */
  readonly body?: FhirJson;
}

export type ParsedRequest =
  | ReadRequest
  | VreadRequest
  | UpdateRequest
  | PatchRequest
  | DeleteRequest
  | CreateRequest
  | HistoryInstanceRequest
  | HistoryTypeRequest
  | HistorySystemRequest
  | SearchTypeRequest
  | SearchSystemRequest
  | CapabilitiesRequest
  | BundleRequest
  | OperationRequest;

// Compile-time check that every ParsedRequest interaction is a shared FhirInteraction.
const _interactionCheck: FhirInteraction = '' as ParsedRequest['interaction'];
void _interactionCheck;

export function isRequestError(value: ParsedRequest | RequestError): value is RequestError {
  return (value as RequestError).kind === 'error';
}

/** The FHIR error response for a {@link RequestError} (with `Allow` on 405). */
export function requestErrorResponse(error: RequestError): APIGatewayProxyResult {
  return errorResponse(error.status, error.code, error.message, {
    headers: error.allow ? { Allow: error.allow.join(', ') } : undefined,
  });
}

/** Structure of a parameter name: `code[:modifier][.chain]`, e.g. `subject:Patient.name`. */
export interface ParamNameParts {
  /** The search parameter code, e.g. `subject`, `_has`, `_include`. */
  readonly code: string;
  /** Text after the first `:` up to the first `.` (a modifier or type, or the `_has` tail). */
  readonly modifier?: string;
  /** Text after the first `.`: a chained parameter, e.g. `name` or `organization.name`. */
  readonly chain?: string;
}

/** Splits a (validated) parameter name into code, modifier and chain. */
export function parseParamName(name: string): ParamNameParts {
  if (name.startsWith('_has:')) return { code: '_has', modifier: name.slice(5) };
  const m = /^([^:.]+)(?::([^.]*))?(?:\.(.*))?$/.exec(name);
  if (!m) return { code: name };
  return {
    code: m[1],
    ...(m[2] !== undefined ? { modifier: m[2] } : {}),
    ...(m[3] !== undefined ? { chain: m[3] } : {}),
  };
}

/**
 * The members of `Object.prototype` (plus `prototype`): as a key of a plain object each of them
 * reads or writes something other than an own property (`obj['__proto__']` is the prototype,
 * `obj['constructor']` is `Object`, `'toString' in obj` is true). Listed explicitly and completed
 * from the running engine.
 */
const RESERVED_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'constructor',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'prototype',
  'toLocaleString',
  'toString',
  'valueOf',
  ...Object.getOwnPropertyNames(Object.prototype),
]);

/** True when `name` must never be used as a key (see {@link RESERVED_KEYS}); no FHIR name is one. */
export function isReservedKey(name: string): boolean {
  return RESERVED_KEYS.has(name);
}

/** True when any object in a parsed JSON value has a reserved property name (no recursion limit). */
export function hasReservedKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (Array.isArray(node)) {
      for (const child of node) stack.push(child);
      continue;
    }
    for (const [key, child] of Object.entries(node)) {
      if (isReservedKey(key)) return true;
      stack.push(child);
    }
  }
  return false;
}

/**
 * True when a JSON Pointer (RFC 6901) is well formed (empty, or `/`-separated tokens) and none
 * of its tokens, unescaped, is a reserved name.
 */
export function isSafeJsonPointer(pointer: unknown): boolean {
  if (typeof pointer !== 'string') return false;
  if (pointer === '') return true;
  if (!pointer.startsWith('/')) return false;
  return pointer
    .slice(1)
    .split('/')
    .every((token) => !isReservedKey(token.replace(/~1/g, '/').replace(/~0/g, '~')));
}

/** Parameters whose value lists names (search parameters, elements, types): each is checked too. */
const NAME_LIST_PARAMS: ReadonlySet<string> = new Set(['_include', '_revinclude', '_sort', '_elements', '_type']);

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_\-.:]*$/;
const OPERATION = /^\$[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json']);
const JSON_PATCH_OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);
/** Result/formatting parameters that do not select resources (not criteria for conditionals). */
const NON_CRITERIA = new Set(['_format', '_pretty', '_summary', '_elements', '_count', '_sort', '_total']);
const MAX_PATH_LENGTH = 1024;
const MAX_HEADER_LENGTH = 4096;

type Shape =
  | { kind: 'system' }
  | { kind: 'capabilities' }
  | { kind: 'history-system' }
  | { kind: 'search-system' }
  | { kind: 'operation'; level: 'system'; operation: string }
  | { kind: 'type'; resourceType: FhirResourceType }
  | { kind: 'search-type'; resourceType: FhirResourceType }
  | { kind: 'history-type'; resourceType: FhirResourceType }
  | { kind: 'operation'; level: 'type'; resourceType: FhirResourceType; operation: string }
  | { kind: 'instance'; resourceType: FhirResourceType; id: string }
  | { kind: 'history-instance'; resourceType: FhirResourceType; id: string }
  | { kind: 'vread'; resourceType: FhirResourceType; id: string; versionId: string }
  | { kind: 'operation'; level: 'instance'; resourceType: FhirResourceType; id: string; operation: string };

const ALLOWED: Record<Shape['kind'], readonly HttpMethod[]> = {
  system: ['GET', 'POST'],
  capabilities: ['GET'],
  'history-system': ['GET'],
  'search-system': ['POST'],
  operation: ['GET', 'POST'],
  type: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
  'search-type': ['POST'],
  'history-type': ['GET'],
  instance: ['GET', 'PUT', 'PATCH', 'DELETE'],
  'history-instance': ['GET'],
  vread: ['GET'],
};

class Reject {
  constructor(readonly error: RequestError) {}
}

function fail(status: RequestError['status'], code: IssueType, message: RequestErrorMessage): never {
  throw new Reject({ kind: 'error', status, code, message });
}

/**
 * Parses and validates an API Gateway proxy event into a FHIR R4 interaction.
 * Returns a {@link RequestError} (never throws) for anything malformed or unsupported.
 */
export function parseFhirRequest(
  event: APIGatewayProxyEvent,
  limits: Partial<RequestLimits> = {},
): ParsedRequest | RequestError {
  const l: RequestLimits = { ...DEFAULT_REQUEST_LIMITS, ...limits };
  try {
    return parse(event, l);
  } catch (e) {
    if (e instanceof Reject) return e.error;
    // Defensive: an unexpected failure is a malformed request, never a stack trace.
    return { kind: 'error', status: 400, code: 'invalid', message: REQUEST_ERRORS.malformed };
  }
}

/**
 * The FHIR path of the request: `{proxy+}` of the route `/r4/{proxy+}`, or, for a route of its
 * own under `/r4` (the public `GET /r4/metadata`, whose event has no path parameters), the
 * route's resource path after `/r4/`. `event.resource` is the configured route, not caller input.
 */
function fhirPathOf(event: APIGatewayProxyEvent): string {
  const proxy = event.pathParameters?.proxy;
  if (typeof proxy === 'string') return proxy;
  const resource = event.resource;
  return typeof resource === 'string' && resource.startsWith('/r4/') && !resource.includes('{') ? resource.slice('/r4/'.length) : '';
}

function parse(event: APIGatewayProxyEvent, limits: RequestLimits): ParsedRequest {
  const shape = parsePath(fhirPathOf(event));
  const method = String(event.httpMethod ?? '').toUpperCase();
  const allowed = ALLOWED[shape.kind];
  if (!(allowed as readonly string[]).includes(method)) {
    throw new Reject({
      kind: 'error',
      status: 405,
      code: 'not-supported',
      message: REQUEST_ERRORS.methodNotAllowed,
      allow: allowed,
    });
  }
  const m = method as HttpMethod;
  const headers = lowerCaseHeaders(event);
  const query = queryParams(event, limits);
  const forwardHeaders = conditionalHeaders(headers, m);
  const base = (path: string, params: readonly SearchParam[] = query) => ({ method: m, params, path, forwardHeaders });

  switch (shape.kind) {
    case 'capabilities':
      noBody(event);
      return { interaction: 'capabilities', ...base('metadata') };
    case 'history-system':
      noBody(event);
      return { interaction: 'history-system', ...base('_history') };
    case 'search-system': {
      const params = [...query, ...formParams(event, headers, limits)];
      checkCount(params, limits);
      return { interaction: 'search-system', viaPost: true, ...base('_search', params) };
    }
    case 'system':
      return systemLevel(m, event, headers, limits, base);
    case 'operation':
      return operationLevel(shape, m, event, headers, limits, base);
    case 'search-type': {
      const params = [...query, ...formParams(event, headers, limits)];
      checkCount(params, limits);
      return {
        interaction: 'search-type',
        resourceType: shape.resourceType,
        viaPost: true,
        ...base(`${shape.resourceType}/_search`, params),
      };
    }
    case 'history-type':
      noBody(event);
      return { interaction: 'history-type', resourceType: shape.resourceType, ...base(`${shape.resourceType}/_history`) };
    case 'history-instance':
      noBody(event);
      return {
        interaction: 'history-instance',
        resourceType: shape.resourceType,
        id: shape.id,
        ...base(`${shape.resourceType}/${shape.id}/_history`),
      };
    case 'vread':
      noBody(event);
      return {
        interaction: 'vread',
        resourceType: shape.resourceType,
        id: shape.id,
        versionId: shape.versionId,
        ...base(`${shape.resourceType}/${shape.id}/_history/${shape.versionId}`),
      };
    case 'type':
      return typeLevel(shape.resourceType, m, event, headers, query, limits, base);
    case 'instance':
      return instanceLevel(shape.resourceType, shape.id, m, event, headers, limits, base);
  }
}

type BaseFn = (path: string, params?: readonly SearchParam[]) => RequestBase;

/** `GET /r4` (system search) or `POST /r4` (a batch or transaction Bundle). */
function systemLevel(m: HttpMethod, event: APIGatewayProxyEvent, headers: HeaderMap, limits: RequestLimits, base: BaseFn): ParsedRequest {
  if (m === 'GET') {
    noBody(event);
    return { interaction: 'search-system', viaPost: false, ...base('') };
  }
  const body = jsonBody(event, headers, limits);
  if (body.resourceType !== 'Bundle') fail(400, 'invalid', REQUEST_ERRORS.resourceTypeMismatch);
  if (body.type !== 'batch' && body.type !== 'transaction') fail(400, 'invalid', REQUEST_ERRORS.invalidBundleType);
  return { interaction: body.type, body: body as BundleRequest['body'], ...base('') };
}

/** An operation (`$name`) at system, type or instance level. */
function operationLevel(
  shape: Extract<ReturnType<typeof parsePath>, { kind: 'operation' }>,
  m: HttpMethod,
  event: APIGatewayProxyEvent,
  headers: HeaderMap,
  limits: RequestLimits,
  base: BaseFn,
): ParsedRequest {
  if (m === 'GET') noBody(event);
  const opBody = m === 'POST' ? optionalJsonBody(event, headers, limits) : undefined;
  const common = { interaction: 'operation' as const, operation: shape.operation.slice(1), ...(opBody ? { body: opBody } : {}) };
  if (shape.level === 'system') return { ...common, level: 'system', ...base(shape.operation) };
  if (shape.level === 'type') return { ...common, level: 'type', resourceType: shape.resourceType, ...base(`${shape.resourceType}/${shape.operation}`) };
  return { ...common, level: 'instance', resourceType: shape.resourceType, id: shape.id, ...base(`${shape.resourceType}/${shape.id}/${shape.operation}`) };
}

function typeLevel(
  resourceType: FhirResourceType,
  method: HttpMethod,
  event: APIGatewayProxyEvent,
  headers: HeaderMap,
  query: readonly SearchParam[],
  limits: RequestLimits,
  base: BaseFn,
): ParsedRequest {
  const conditional = (): void => {
    if (!query.some((p) => !NON_CRITERIA.has(p.name))) fail(400, 'invalid', REQUEST_ERRORS.missingCriteria);
  };
  switch (method) {
    case 'GET':
      noBody(event);
      return { interaction: 'search-type', resourceType, viaPost: false, ...base(resourceType) };
    case 'POST': {
      const body = resourceBody(event, headers, limits, resourceType);
      const ifNoneExist = headers.get('if-none-exist');
      if (ifNoneExist === undefined) return { interaction: 'create', resourceType, body, ...base(resourceType) };
      const criteria = parseIfNoneExist(ifNoneExist, limits);
      const b = base(resourceType);
      return {
        interaction: 'create',
        resourceType,
        body,
        ifNoneExist: criteria,
        ...b,
        forwardHeaders: { ...b.forwardHeaders, 'If-None-Exist': encodeParams(criteria) },
      };
    }
    case 'PUT': {
      conditional();
      const body = resourceBody(event, headers, limits, resourceType);
      if (body.id !== undefined && !isValidId(body.id)) fail(400, 'invalid', REQUEST_ERRORS.invalidBodyId);
      return { interaction: 'update', resourceType, conditional: true, body, ...base(resourceType) };
    }
    case 'PATCH':
      conditional();
      return {
        interaction: 'patch',
        resourceType,
        conditional: true,
        patch: patchBody(event, headers, limits),
        ...base(resourceType),
      };
    case 'DELETE':
      conditional();
      noBody(event);
      return { interaction: 'delete', resourceType, conditional: true, ...base(resourceType) };
  }
}

function instanceLevel(
  resourceType: FhirResourceType,
  id: string,
  method: HttpMethod,
  event: APIGatewayProxyEvent,
  headers: HeaderMap,
  limits: RequestLimits,
  base: BaseFn,
): ParsedRequest {
  const path = `${resourceType}/${id}`;
  switch (method) {
    case 'PUT': {
      const body = resourceBody(event, headers, limits, resourceType);
      if (body.id === undefined) fail(400, 'invalid', REQUEST_ERRORS.missingBodyId);
      if (!isValidId(body.id)) fail(400, 'invalid', REQUEST_ERRORS.invalidBodyId);
      if (body.id !== id) fail(400, 'invalid', REQUEST_ERRORS.idMismatch);
      return { interaction: 'update', resourceType, id, conditional: false, body, ...base(path) };
    }
    case 'PATCH':
      return {
        interaction: 'patch',
        resourceType,
        id,
        conditional: false,
        patch: patchBody(event, headers, limits),
        ...base(path),
      };
    case 'DELETE':
      noBody(event);
      return { interaction: 'delete', resourceType, id, conditional: false, ...base(path) };
    default:
      // GET (POST is excluded by ALLOWED)
      noBody(event);
      return { interaction: 'read', resourceType, id, ...base(path) };
  }
}

// ---------------------------------------------------------------------------------------------
// Path

function parsePath(raw: string): Shape {
  if (typeof raw !== 'string' || raw.length > MAX_PATH_LENGTH) fail(400, 'invalid', REQUEST_ERRORS.unsupportedPath);
  if (raw === '') return { kind: 'system' };
  const segments = raw.split('/').map(decodeSegment);
  if (segments.some((s) => s === '')) fail(400, 'invalid', REQUEST_ERRORS.unsupportedPath);
  const [first, second, third, fourth] = segments;

  if (segments.length === 1) {
    if (first === 'metadata') return { kind: 'capabilities' };
    if (first === '_history') return { kind: 'history-system' };
    if (first === '_search') return { kind: 'search-system' };
    if (first.startsWith('$')) return { kind: 'operation', level: 'system', operation: operationName(first) };
  } else if (segments.length > 4) {
    fail(400, 'invalid', REQUEST_ERRORS.unsupportedPath);
  }
  if (!isFhirResourceType(first)) fail(400, 'invalid', REQUEST_ERRORS.unknownResourceType);
  const resourceType = first;
  if (segments.length === 1) return { kind: 'type', resourceType };
  if (segments.length === 2) {
    if (second === '_search') return { kind: 'search-type', resourceType };
    if (second === '_history') return { kind: 'history-type', resourceType };
    if (second.startsWith('$')) return { kind: 'operation', level: 'type', resourceType, operation: operationName(second) };
    return { kind: 'instance', resourceType, id: validId(second) };
  }
  const id = validId(second);
  if (segments.length === 3) {
    if (third === '_history') return { kind: 'history-instance', resourceType, id };
    if (third.startsWith('$')) {
      return { kind: 'operation', level: 'instance', resourceType, id, operation: operationName(third) };
    }
    return fail(400, 'invalid', REQUEST_ERRORS.unsupportedPath);
  }
  if (third !== '_history') fail(400, 'invalid', REQUEST_ERRORS.unsupportedPath);
  if (!isValidId(fourth)) fail(400, 'invalid', REQUEST_ERRORS.invalidVersionId);
  return { kind: 'vread', resourceType, id, versionId: fourth };
}

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return fail(400, 'invalid', REQUEST_ERRORS.unsupportedPath);
  }
  // Never decode twice: whatever is still encoded after one pass is refused by the validators.
  return decoded;
}

function validId(value: string): string {
  if (!isValidId(value)) fail(400, 'invalid', REQUEST_ERRORS.invalidId);
  return value;
}

function operationName(segment: string): string {
  if (!OPERATION.test(segment)) fail(400, 'invalid', REQUEST_ERRORS.invalidOperation);
  return segment;
}

// ---------------------------------------------------------------------------------------------
// Query and form parameters

function queryParams(event: APIGatewayProxyEvent, limits: RequestLimits): SearchParam[] {
  const params: SearchParam[] = [];
  const multi = event.multiValueQueryStringParameters;
  const single = event.queryStringParameters;
  if (multi) {
    for (const [name, values] of Object.entries(multi)) {
      for (const value of values ?? []) params.push({ name, value });
    }
  } else if (single) {
    for (const [name, value] of Object.entries(single)) {
      if (value !== undefined) params.push({ name, value });
    }
  }
  return checkParams(params, limits);
}

function checkCount(params: readonly SearchParam[], limits: RequestLimits): void {
  if (params.length > limits.maxParams) fail(400, 'too-costly', REQUEST_ERRORS.tooManyParams);
}

function checkParams(params: SearchParam[], limits: RequestLimits): SearchParam[] {
  checkCount(params, limits);
  for (const { name, value } of params) {
    if (typeof name !== 'string' || name.length > limits.maxParamNameLength || !PARAM_NAME.test(name)) {
      fail(400, 'invalid', REQUEST_ERRORS.invalidParamName);
    }
    // Code, modifier(s) and chain: `code:__proto__`, `subject.constructor`, `_has:X:toString:y`.
    if (name.split(/[:.]/).some(isReservedKey)) fail(400, 'invalid', REQUEST_ERRORS.invalidParamName);
    if (typeof value !== 'string') fail(400, 'invalid', REQUEST_ERRORS.invalidParamValue);
    if (value.length > limits.maxParamValueLength) fail(400, 'too-long', REQUEST_ERRORS.paramTooLong);
    if (CONTROL_CHARS.test(value)) fail(400, 'invalid', REQUEST_ERRORS.invalidParamValue);
    // `_include=Observation:__proto__`, `_sort=-constructor`, `_elements=a.toString`, `_type=valueOf`.
    if (NAME_LIST_PARAMS.has(parseParamName(name).code) && value.split(/[,:.]/).some((n) => isReservedKey(n.replace(/^-/, '')))) {
      fail(400, 'invalid', REQUEST_ERRORS.invalidParamValue);
    }
    if (name === '_format' && !JSON_FORMATS.has(value.toLowerCase())) {
      fail(400, 'not-supported', REQUEST_ERRORS.unsupportedFormat);
    }
  }
  return params;
}

/** Splits `a=1&b=2` (form or header syntax) into decoded parameters. */
function splitParams(text: string, plusIsSpace: boolean): SearchParam[] {
  const params: SearchParam[] = [];
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    const decode = (s: string): string => decodeURIComponent(plusIsSpace ? s.replace(/\+/g, ' ') : s);
    params.push({ name: decode(rawName), value: decode(rawValue) });
  }
  return params;
}

function formParams(event: APIGatewayProxyEvent, headers: HeaderMap, limits: RequestLimits): SearchParam[] {
  const bytes = bodyBytes(event, limits);
  if (bytes === undefined) return [];
  const type = mediaType(headers);
  if (type === undefined || type.type !== 'application/x-www-form-urlencoded' || !type.utf8) {
    fail(415, 'not-supported', REQUEST_ERRORS.unsupportedContentType);
  }
  const text = utf8(bytes);
  let params: SearchParam[];
  try {
    params = splitParams(text, true);
  } catch {
    return fail(400, 'invalid', REQUEST_ERRORS.invalidForm);
  }
  return checkParams(params, limits);
}

/** Re-encodes parameters as a query string (RFC 3986 percent-encoding, `%20` for spaces). */
export function encodeParams(params: readonly SearchParam[]): string {
  return params.map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(p.value)}`).join('&');
}

// ---------------------------------------------------------------------------------------------
// Headers

/** Request headers by lower-case name (first value wins). A `Map`: any name is just a key. */
type HeaderMap = ReadonlyMap<string, string>;

function lowerCaseHeaders(event: APIGatewayProxyEvent): HeaderMap {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    const key = name.toLowerCase();
    if (typeof value === 'string' && !out.has(key)) out.set(key, value);
  }
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    const key = name.toLowerCase();
    if (!out.has(key) && Array.isArray(values) && typeof values[0] === 'string') out.set(key, values[0]);
  }
  return out;
}

const WEAK_ETAG = /^W\/"([A-Za-z0-9\-.]{1,64})"$/;

function conditionalHeaders(headers: HeaderMap, method: HttpMethod): Record<string, string> {
  const out: Record<string, string> = {};
  const check = (name: string): string | undefined => {
    const value = headers.get(name);
    if (value === undefined) return undefined;
    if (value.length > MAX_HEADER_LENGTH || CONTROL_CHARS.test(value)) fail(400, 'invalid', REQUEST_ERRORS.invalidHeader);
    return value.trim();
  };
  const ifMatch = check('if-match');
  if (ifMatch !== undefined && (method === 'PUT' || method === 'PATCH' || method === 'DELETE')) {
    const m = WEAK_ETAG.exec(ifMatch) ?? /^"([A-Za-z0-9\-.]{1,64})"$/.exec(ifMatch);
    if (!m || !isValidId(m[1])) fail(400, 'invalid', REQUEST_ERRORS.invalidHeader);
    out['If-Match'] = `W/"${m[1]}"`;
  }
  const ifNoneMatch = check('if-none-match');
  if (ifNoneMatch !== undefined && method === 'GET') {
    const m = WEAK_ETAG.exec(ifNoneMatch) ?? /^"([A-Za-z0-9\-.]{1,64})"$/.exec(ifNoneMatch);
    if (!m || !isValidId(m[1])) fail(400, 'invalid', REQUEST_ERRORS.invalidHeader);
    out['If-None-Match'] = `W/"${m[1]}"`;
  }
  const ifModifiedSince = check('if-modified-since');
  if (ifModifiedSince !== undefined && method === 'GET') {
    const time = Date.parse(ifModifiedSince);
    if (Number.isNaN(time) || ifModifiedSince.length > 64) fail(400, 'invalid', REQUEST_ERRORS.invalidHeader);
    out['If-Modified-Since'] = new Date(time).toUTCString();
  }
  const prefer = check('prefer');
  if (prefer !== undefined) {
    const kept = prefer
      .split(/[,;]/)
      .map((p) => p.trim())
      .filter((p) => /^(return=(minimal|representation|OperationOutcome)|handling=(strict|lenient))$/.test(p));
    if (kept.length > 0) out['Prefer'] = kept.join(', ');
  }
  return out;
}

function parseIfNoneExist(value: string, limits: RequestLimits): SearchParam[] {
  if (value.length > MAX_HEADER_LENGTH || CONTROL_CHARS.test(value)) fail(400, 'invalid', REQUEST_ERRORS.invalidHeader);
  let params: SearchParam[];
  try {
    params = splitParams(value.trim().replace(/^\?/, ''), false);
  } catch {
    return fail(400, 'invalid', REQUEST_ERRORS.invalidHeader);
  }
  if (!params.some((p) => !NON_CRITERIA.has(p.name))) fail(400, 'invalid', REQUEST_ERRORS.invalidHeader);
  return checkParams(params, limits);
}

// ---------------------------------------------------------------------------------------------
// Bodies

interface MediaType {
  type: string;
  utf8: boolean;
}

function mediaType(headers: HeaderMap): MediaType | undefined {
  const raw = headers.get('content-type');
  if (raw === undefined) return undefined;
  const [type, ...params] = raw.split(';').map((p) => p.trim());
  let utf8 = true;
  for (const param of params) {
    const [key, value = ''] = param.split('=').map((p) => p.trim().toLowerCase());
    if (key === 'charset' && value.replace(/"/g, '') !== 'utf-8') utf8 = false;
  }
  return { type: type.toLowerCase(), utf8 };
}

function hasBody(event: APIGatewayProxyEvent): boolean {
  return typeof event.body === 'string' && event.body.length > 0;
}

function noBody(event: APIGatewayProxyEvent): void {
  if (hasBody(event)) fail(400, 'invalid', REQUEST_ERRORS.bodyNotAllowed);
}

/** The body as bytes (decoded from base64 when flagged), size-checked; undefined when empty. */
function bodyBytes(event: APIGatewayProxyEvent, limits: RequestLimits): Buffer | undefined {
  if (!hasBody(event)) return undefined;
  const body = event.body as string;
  if (event.isBase64Encoded) {
    // Check the encoded length first so a huge body is refused without decoding it.
    if (Math.floor((body.length * 3) / 4) - 2 > limits.maxBodyBytes) fail(413, 'too-costly', REQUEST_ERRORS.bodyTooLarge);
    if (body.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) fail(400, 'invalid', REQUEST_ERRORS.invalidEncoding);
    const bytes = Buffer.from(body, 'base64');
    if (bytes.length > limits.maxBodyBytes) fail(413, 'too-costly', REQUEST_ERRORS.bodyTooLarge);
    return bytes.length > 0 ? bytes : undefined;
  }
  if (body.length > limits.maxBodyBytes) fail(413, 'too-costly', REQUEST_ERRORS.bodyTooLarge);
  const bytes = Buffer.from(body, 'utf8');
  if (bytes.length > limits.maxBodyBytes) fail(413, 'too-costly', REQUEST_ERRORS.bodyTooLarge);
  return bytes;
}

function utf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return fail(400, 'invalid', REQUEST_ERRORS.invalidEncoding);
  }
}

function parseJson(bytes: Buffer, limits: RequestLimits): unknown {
  let value: unknown;
  try {
    value = JSON.parse(utf8(bytes));
  } catch (e) {
    if (e instanceof Reject) throw e;
    return fail(400, 'structure', REQUEST_ERRORS.invalidJson);
  }
  checkJsonTree(value, limits.maxJsonDepth);
  return value;
}

/**
 * Refuses a parsed JSON value nested deeper than `maxDepth`, or with a reserved property name
 * ({@link isReservedKey}; `JSON.parse` makes even `__proto__` an own property) at any depth.
 */
function checkJsonTree(value: unknown, maxDepth: number): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    const d = depth + 1;
    if (d > maxDepth) fail(400, 'too-costly', REQUEST_ERRORS.tooDeep);
    if (Array.isArray(node)) {
      for (const child of node) if (typeof child === 'object' && child !== null) stack.push([child, d]);
      continue;
    }
    for (const [key, child] of Object.entries(node)) {
      if (isReservedKey(key)) fail(400, 'invalid', REQUEST_ERRORS.reservedKey);
      if (typeof child === 'object' && child !== null) stack.push([child, d]);
    }
  }
}

function isJsonType(type: MediaType | undefined): boolean {
  return type !== undefined && type.utf8 && (type.type === 'application/fhir+json' || type.type === 'application/json');
}

function jsonBody(event: APIGatewayProxyEvent, headers: HeaderMap, limits: RequestLimits): FhirJson {
  const bytes = bodyBytes(event, limits);
  if (bytes === undefined) return fail(400, 'required', REQUEST_ERRORS.bodyRequired);
  if (!isJsonType(mediaType(headers))) fail(415, 'not-supported', REQUEST_ERRORS.unsupportedContentType);
  const value = parseJson(bytes, limits);
  if (!isObject(value) || typeof value.resourceType !== 'string') fail(400, 'structure', REQUEST_ERRORS.notAnObject);
  return value as FhirJson;
}

/** The input of an operation POST: absent, or a JSON resource of an R4 type (usually Parameters). */
function optionalJsonBody(
  event: APIGatewayProxyEvent,
  headers: HeaderMap,
  limits: RequestLimits,
): FhirJson | undefined {
  if (bodyBytes(event, limits) === undefined) return undefined;
  const body = jsonBody(event, headers, limits);
  if (!isFhirResourceType(body.resourceType)) fail(400, 'invalid', REQUEST_ERRORS.resourceTypeMismatch);
  return body;
}

function resourceBody(
  event: APIGatewayProxyEvent,
  headers: HeaderMap,
  limits: RequestLimits,
  resourceType: FhirResourceType,
): FhirJson {
  const body = jsonBody(event, headers, limits);
  if (body.resourceType !== resourceType) fail(400, 'invalid', REQUEST_ERRORS.resourceTypeMismatch);
  return body;
}

function patchBody(event: APIGatewayProxyEvent, headers: HeaderMap, limits: RequestLimits): PatchDocument {
  const bytes = bodyBytes(event, limits);
  if (bytes === undefined) return fail(400, 'required', REQUEST_ERRORS.bodyRequired);
  const type = mediaType(headers);
  if (type?.type === 'application/json-patch+json' && type.utf8) {
    const value = parseJson(bytes, limits);
    if (!Array.isArray(value) || value.length === 0) return fail(400, 'invalid', REQUEST_ERRORS.invalidPatch);
    for (const op of value) {
      if (
        !isObject(op) ||
        typeof op.op !== 'string' ||
        !JSON_PATCH_OPS.has(op.op) ||
        !isSafeJsonPointer(op.path) ||
        ((op.op === 'move' || op.op === 'copy' || op.from !== undefined) && !isSafeJsonPointer(op.from))
      ) {
        fail(400, 'invalid', REQUEST_ERRORS.invalidPatch);
      }
    }
    return { format: 'json-patch', operations: value as JsonPatchOperation[] };
  }
  if (!isJsonType(type)) return fail(415, 'not-supported', REQUEST_ERRORS.unsupportedContentType);
  const value = parseJson(bytes, limits);
  if (!isObject(value) || value.resourceType !== 'Parameters' || !Array.isArray(value.parameter)) {
    return fail(400, 'invalid', REQUEST_ERRORS.invalidPatch);
  }
  return { format: 'fhirpath-patch', parameters: value as FhirJson };
}
