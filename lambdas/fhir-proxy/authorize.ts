/**
 * The FHIR proxy's authorization: from a parsed request and the caller's access, either a
 * refusal or a plan (what to forward to HealthLake, what to check before, how to filter after).
 * Pure: no I/O; the proxy executes the plan.
 *
 * ## One context per token (mixed `patient/`, `user/` and `system/` grants)
 *
 * A token is evaluated in exactly ONE scope context, the most confined one it carries:
 *
 *   1. any `patient/` grant  → PATIENT context: only the token's `patient/` grants count, and
 *      every request is confined to the compartment of the `patient` claim (missing or invalid
 *      `patient` → every request is refused; there is no fallback to another context);
 *   2. else any `user/` grant → USER context: only `user/` grants count, acting for `fhirUser`
 *      (missing, or not a reference on this server → refused). A `fhirUser` that is a Patient is
 *      confined to that patient's compartment exactly like patient context; Practitioner and
 *      PractitionerRole users are not compartment-confined; any other type is refused;
 *   3. else `system/` grants → SYSTEM context, only for confidential clients
 *      ({@link AccessOptions.confidentialClientIds}); otherwise refused.
 *
 * Grants of the other contexts on the same token are ignored: `user/` or `system/` grants never
 * widen a patient-context token (no union of both contexts' data, the FHIR Works on AWS hole),
 * and a refusal in the chosen context is final. A token with `patient/Observation.rs` and
 * `user/Condition.rs` can read the patient's Observations and nothing else.
 *
 * ## Rules in a confined context (patient, or a Patient `fhirUser`)
 *
 * - Membership is strict: a resource is visible or writable only when it is in the patient's
 *   compartment (R4 CompartmentDefinition, `lambdas/shared/fhir/patient-compartment.ts`) and in
 *   no other patient's; a Patient only when it is the patient.
 * - Types outside the compartment: readable and searchable only when listed in
 *   `readableNonCompartmentTypes`; never writable.
 * - Searches are narrowed to the patient (`patient`/`subject`/… `=Patient/<id>`, `_id` for
 *   Patient); a parameter naming another patient is refused (403); chained parameters, `_has`,
 *   `_filter`, `_query`, `_contained` are refused (403: used as an oracle they leak values
 *   even when results are filtered, and no proof of staying inside the compartment is
 *   attempted). `_include`, `_revinclude` and `:iterate` are allowed: their results are filtered
 *   like primary results. System-level search and history are refused.
 * - Reads and vreads are checked against the fetched resource, every version of a history
 *   against itself; a resource the caller may not see is answered 404, the same as a missing
 *   one (no existence oracle).
 * - Creates and updates must place the resource in the patient's compartment alone. Updates
 *   and deletes first fetch the stored version and must be allowed on it (no re-parenting), and
 *   the update is pinned to that version with `If-Match`; a missing or deleted target is 404
 *   (no update-as-create). Conditional create/update/patch/delete and PATCH are refused: the
 *   proxy cannot see what they would touch before they do.
 * - Batch/transaction: every entry is authorized as its own request; a refused entry refuses a
 *   whole transaction, and only its own entry of a batch.
 * - `$everything` only on the patient's own Patient; `$export` only in system context; other
 *   operations only when configured ({@link AuthorizeOptions.operations}).
 *
 * ## Granular restrictions (`patient/Observation.rs?category=laboratory`)
 *
 * A grant with restrictions covers a resource only when every restriction holds on it
 * (`access.ts`: token match on category, code, status, type, class, intent, priority,
 * clinical-status, verification-status, `_security`, `_tag`; any other parameter covers
 * nothing). Searches are narrowed with the restriction parameters when the grants allow it
 * exactly, and every returned resource is checked (`total` is dropped when it may be wrong).
 * Writes need the body (and the stored version) covered; conditional writes and PATCH are
 * refused under restrictions.
 *
 * Every refusal states its reason where it is made (`refuse`, `access.ts`; the per-app metrics'
 * `Reason`): `scope` (no grant, a grant's restriction, the token's context); `compartment`
 * (another patient, a type or level outside the compartment, a confined caller's search
 * parameters); a confined caller's conditional writes and PATCH: `compartment` with a patient
 * in context, else `scope` (granular restrictions); malformed or unsupported requests: `other`.
 */
import { isValidId, parseReference } from '../shared/fhir/references';
import { isFhirResourceType } from '../shared/fhir-resource-types';
import { findGrants, type Permission } from '../shared/smart-scopes';
import { conditionalReferenceRefusal, confinedReason, isUnrestricted, refuse, writeRefusal, type Access, type Denial } from './access';
import { projectionOf, withoutProjection, type Projection } from './projection';
import { isReservedKey, parseParamName, type HttpMethod, type ParsedRequest, type SearchParam } from './request';
import { compartmentPatientIds, isCompartmentType, patientCompartmentParams } from '../shared/fhir/patient-compartment';

export type { Access, AccessOptions, Caller, Denial, RefusalReason } from './access';

/** A configured FHIR operation (other than `$everything` and `$export`, which are built in). */
export interface OperationPolicy {
  /** The permission needed on the resource type (system level: on every type, i.e. a `*` grant). */
  readonly permission: Permission;
  /** Levels at which the operation is allowed. */
  readonly levels: ReadonlyArray<'system' | 'type' | 'instance'>;
}

export interface AuthorizeOptions {
  /** Operations allowed besides `$everything` and `$export`, by name without `$`. @default - none */
  readonly operations?: Readonly<Record<string, OperationPolicy>>;
}

/** What to send to HealthLake. */
export interface Forward {
  readonly method: HttpMethod;
  /** Relative to the datastore base, e.g. `Observation`, `Patient/1/$everything`. */
  readonly path: string;
  readonly params: readonly SearchParam[];
  readonly body?: unknown;
  readonly headers: Readonly<Record<string, string>>;
  /** POST `_search`: send the parameters as a form body. */
  readonly form: boolean;
  /** A plain update of a known id (the client may retry it). */
  readonly idempotent: boolean;
}

/** How to filter HealthLake's answer. */
export type ResponseCheck =
  /** Pass the body through (capabilities, `$export` kick-off). */
  | { readonly kind: 'passthrough' }
  /** One resource (read, vread, write result): visible with one of `perms`, else 404. */
  | { readonly kind: 'resource'; readonly perms: readonly Permission[] }
  /** A Bundle (search, history, `$everything`): each entry checked; `total` kept only when `exactTotal`. */
  | { readonly kind: 'bundle'; readonly perms: readonly Permission[]; readonly exactTotal: boolean }
  /** An operation result: a Bundle, Parameters or resource, each resource in it checked. */
  | { readonly kind: 'operation'; readonly perms: readonly Permission[] };

/** Fetch the stored version before forwarding, and require `perms` on it. */
export interface Precheck {
  readonly resourceType: string;
  readonly id: string;
  readonly perms: readonly Permission[];
  /** Send the update pinned to the checked version (`If-Match`). */
  readonly pinVersion: boolean;
}

export interface ValidationTarget {
  readonly resource: object;
  /** Path prefix for issues, e.g. `Bundle.entry[1].resource`. */
  readonly prefix?: string;
}

/** An allowed single request. */
export interface Plan {
  readonly kind: 'allow';
  readonly request: ParsedRequest;
  readonly forward: Forward;
  readonly check: ResponseCheck;
  readonly precheck?: Precheck;
  readonly validate: readonly ValidationTarget[];
  /** Patients the request itself names (path, parameters, body). */
  readonly patientIds: readonly string[];
  /** Conditional read headers the proxy evaluates itself (confined or restricted reads). */
  readonly localIfNoneMatch?: string;
  /** `_elements`/`_summary` of the request, applied by the proxy after deciding (`projection.ts`). */
  readonly projection?: Projection;
}

export type Decision = Plan | Denial;

/** True when the caller's access needs per-resource checks (confined or restricted). */
function needsChecks(access: Access, grants: readonly { restrictions: readonly unknown[] }[]): boolean {
  return access.patientId !== undefined || !grants.some((g) => g.restrictions.length === 0);
}

// ---------------------------------------------------------------------------------------------
// Search parameters in a confined context

/** Parameters refused outright in a confined context (see the module comment). */
const REFUSED_CONFINED = new Set(['_has', '_filter', '_query', '_contained', '_containedType']);
/** Modifiers on a patient-link parameter whose value is not a patient id. */
const NON_ID_MODIFIERS = new Set(['missing', 'identifier', 'text', 'not', 'above', 'below']);
/** Preferred compartment parameter to narrow a search by, in order. */
const NARROWING_PREFERENCE = ['patient', 'subject', 'beneficiary', 'individual', 'member', 'actor'];

/** The search parameter that narrows `type` to a patient: `[name, value]`. */
export function narrowingParam(type: string, patientId: string): SearchParam | undefined {
  if (type === 'Patient') return { name: '_id', value: patientId };
  const params = patientCompartmentParams(type);
  if (!params || params.length === 0) return undefined;
  const name = NARROWING_PREFERENCE.find((p) => params.includes(p)) ?? params[0];
  return { name, value: `Patient/${patientId}` };
}

/** Splits a search value on unescaped commas (FHIR OR). */
function alternatives(value: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && i + 1 < value.length) {
      current += ch + value[i + 1];
      i++;
    } else if (ch === ',') {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out;
}

/** `patient` and `subject`: the link parameters of every type. */
const BASE_LINK_PARAMS: ReadonlySet<string> = new Set(['patient', 'subject']);
/** Link parameters per compartment type, built once (at most one entry per compartment type). */
const LINK_PARAMS = new Map<string, ReadonlySet<string>>();

/**
 * Parameters whose bare value is read as a patient id: `patient`, `subject` and the type's
 * compartment parameters.
 */
function linkParams(type: string | undefined): ReadonlySet<string> {
  const compartment = type ? patientCompartmentParams(type) : undefined;
  if (type === undefined || compartment === undefined) return BASE_LINK_PARAMS;
  let links = LINK_PARAMS.get(type);
  if (links === undefined) {
    links = new Set([...BASE_LINK_PARAMS, ...compartment]);
    LINK_PARAMS.set(type, links);
  }
  return links;
}

/** Patient ids the parameters name (typed references, and bare ids on patient-link parameters). */
function namedPatients(access: Access, type: string | undefined, params: readonly SearchParam[]): string[] {
  const ids: string[] = [];
  const links = linkParams(type);
  for (const p of params) {
    const { code, modifier } = parseParamName(p.name);
    for (const alt of alternatives(p.value)) {
      const ref = parseReference(alt, { baseUrls: access.options.referenceBaseUrls });
      if (ref?.resourceType === 'Patient') ids.push(ref.id);
      else if (!ref && links.has(code) && (modifier === undefined || modifier === 'Patient') && isValidId(alt)) ids.push(alt);
      else if (!ref && code === '_id' && type === 'Patient' && isValidId(alt)) ids.push(alt);
    }
  }
  return [...new Set(ids)];
}

/**
 * In a confined context, refuses parameters that could reach outside the compartment: see the
 * module comment. `type` is undefined for operation parameters on an instance. `named`: the
 * patients the request names (the caller's, for the refusal).
 */
function checkConfinedParams(access: Access, type: string | undefined, params: readonly SearchParam[], named: readonly string[]): Denial | undefined {
  const patientId = access.patientId as string;
  const links = linkParams(type);
  for (const p of params) {
    const { code, modifier, chain } = parseParamName(p.name);
    if (REFUSED_CONFINED.has(code)) return refuse('compartment', 403, 'Search parameter not allowed for this token', named);
    if (chain !== undefined) return refuse('compartment', 403, 'Chained search parameters are not allowed for this token', named);
    for (const alt of alternatives(p.value)) {
      const ref = parseReference(alt, { baseUrls: access.options.referenceBaseUrls });
      if (ref?.resourceType === 'Patient' && ref.id !== patientId) return refuse('compartment', 403, 'Search names another patient', named);
      if (ref || !links.has(code) || code === '_include' || code === '_revinclude') continue;
      if (modifier !== undefined && NON_ID_MODIFIERS.has(modifier)) continue;
      if (modifier !== undefined && modifier !== 'Patient' && isFhirResourceType(modifier)) continue;
      if (/^https?:\/\//i.test(alt) || alt.includes('/')) return refuse('compartment', 403, 'Search parameter value not allowed for this token', named);
      if (alt !== patientId) return refuse('compartment', 403, 'Search names another patient', named);
    }
    if (code === '_id' && type === 'Patient') {
      for (const alt of alternatives(p.value)) if (alt !== patientId) return refuse('compartment', 403, 'Search names another patient', named);
    }
  }
  return undefined;
}

/**
 * Parameters that narrow a search to what the grants cover, and whether the narrowing is exact
 * (every match is then visible, so `total` can be kept).
 */
function restrictionParams(grants: Access['grants']): { params: SearchParam[]; exact: boolean } {
  if (isUnrestricted(grants)) return { params: [], exact: true };
  // A restriction on a name that is an Object.prototype member is never forwarded (it covers nothing).
  if (grants.some((g) => g.restrictions.some((r) => isReservedKey(r.name)))) return { params: [], exact: false };
  if (grants.length === 1) return { params: grants[0].restrictions.map((r) => ({ name: r.name, value: r.value })), exact: true };
  const names = new Set(grants.map((g) => (g.restrictions.length === 1 ? g.restrictions[0].name : '\u0000')));
  if (names.size === 1 && !names.has('\u0000')) {
    const [name] = names;
    return { params: [{ name, value: grants.map((g) => g.restrictions[0].value.replace(/,/g, '\\,')).join(',') }], exact: true };
  }
  return { params: [], exact: false };
}

function addParams(params: readonly SearchParam[], extra: readonly SearchParam[]): SearchParam[] {
  const out = [...params];
  for (const e of extra) if (!out.some((p) => p.name === e.name && p.value === e.value)) out.push(e);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The decision

function forwardOf(request: ParsedRequest, extra: Partial<Forward> = {}): Forward {
  const forward: Forward = {
    method: request.method,
    path: request.path,
    params: request.params,
    headers: request.forwardHeaders,
    form: false,
    idempotent: false,
    ...extra,
  };
  // `_elements`/`_summary` never reach HealthLake: the proxy projects after deciding (`projection.ts`).
  return { ...forward, params: withoutProjection(forward.params) };
}

function noPermission(named: readonly string[] = []): Denial {
  return refuse('scope', 403, 'Scope does not permit this interaction', named);
}

/** Headers a confined read evaluates itself (the proxy needs the body to check it). */
function withoutConditionalReadHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const { ['If-None-Match']: _a, ['If-Modified-Since']: _b, ...rest } = headers;
  void _a;
  void _b;
  return rest;
}

/** The opening checks every type-level interaction shares: a grant, and a confined caller's type rule. */
interface Opening {
  readonly grants: ReturnType<typeof findGrants>;
  readonly named: string[];
}

function opening(
  access: Access,
  type: string,
  permission: Permission,
  named: string[],
  confinedTypes: 'compartment' | 'readable',
): Opening | Denial {
  const grants = findGrants(access.grants, { resourceType: type, permission });
  if (grants.length === 0) return noPermission(named);
  if (access.patientId !== undefined && !isCompartmentType(type)) {
    if (confinedTypes === 'compartment' || !access.options.readableNonCompartmentTypes.has(type)) {
      return refuse('compartment', 403, 'Resource type is outside the patient compartment', named);
    }
  }
  return { grants, named };
}

function isDenial(value: unknown): value is Denial {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'deny';
}

/** A plan, with the request's projection (refused when malformed). */
function allow(plan: Omit<Plan, 'kind' | 'projection'>, projected = false): Decision {
  if (!projected) return { kind: 'allow', ...plan };
  const projection = projectionOf(plan.request.params);
  if (isDenial(projection)) return { ...projection, patientIds: plan.patientIds };
  return { kind: 'allow', ...plan, ...(projection ? { projection } : {}) };
}

/**
 * Authorizes one parsed request for the caller's access. `inBundle` is set for batch and
 * transaction entries (operations and nested bundles are refused there).
 */
export function authorize(access: Access, request: ParsedRequest, options: AuthorizeOptions = {}, inBundle = false): Decision {
  switch (request.interaction) {
    case 'capabilities':
      return allow({ request, forward: forwardOf(request), check: { kind: 'passthrough' }, validate: [], patientIds: [] });
    case 'read':
    case 'vread':
    case 'history-instance':
      return authorizeRead(access, request);
    case 'search-type':
    case 'history-type':
      return authorizeTypeSearch(access, request);
    case 'search-system':
    case 'history-system':
      return authorizeSystemSearch(access, request);
    case 'create':
      return authorizeCreate(access, request);
    case 'update':
      return authorizeUpdate(access, request);
    case 'patch':
      return authorizePatch(access, request);
    case 'delete':
      return authorizeDelete(access, request);
    case 'operation':
      if (inBundle) return refuse('other', 403, 'Operations are not allowed inside a batch or transaction');
      return authorizeOperation(access, request, options);
    case 'batch':
    case 'transaction':
      // Decided entry by entry by `planBundle` (bundle.ts); here only as a nested bundle: refused.
      return refuse('other', 403, 'Nested batch or transaction is not allowed');
    default:
      // Unreachable while ParsedRequest and this switch agree; an unknown interaction is denied.
      return refuse('other', 403, 'Unknown interaction');
  }
}

type Req<I extends ParsedRequest['interaction']> = Extract<ParsedRequest, { interaction: I }>;

function authorizeRead(access: Access, request: Req<'read' | 'vread' | 'history-instance'>): Decision {
  const type = request.resourceType;
  const open = opening(access, type, 'r', type === 'Patient' ? [request.id] : [], 'readable');
  if (isDenial(open)) return open;
  const named = open.named;
  if (access.patientId !== undefined) {
    if (type === 'Patient' && request.id !== access.patientId) return refuse('compartment', 403, 'Access to another patient is not allowed', named);
    const params = withoutProjection(request.params);
    if (params.length > 0) {
      const bad = checkConfinedParams(access, undefined, params, namedPatients(access, undefined, params));
      if (bad) return bad;
    }
  }
  const checks = needsChecks(access, open.grants);
  if (request.interaction === 'history-instance') {
    return allow({ request, forward: forwardOf(request), check: { kind: 'bundle', perms: ['r'], exactTotal: !checks }, validate: [], patientIds: named }, true);
  }
  return allow(
    {
      request,
      forward: forwardOf(request, checks ? { headers: withoutConditionalReadHeaders(request.forwardHeaders) } : {}),
      check: { kind: 'resource', perms: ['r'] },
      validate: [],
      patientIds: named,
      ...(checks && request.forwardHeaders['If-None-Match'] ? { localIfNoneMatch: request.forwardHeaders['If-None-Match'] } : {}),
    },
    true,
  );
}

function authorizeTypeSearch(access: Access, request: Req<'search-type' | 'history-type'>): Decision {
  const type = request.resourceType;
  const open = opening(access, type, 's', namedPatients(access, type, request.params), 'readable');
  if (isDenial(open)) return open;
  const { grants, named } = open;
  let params: SearchParam[] = [...withoutProjection(request.params)];
  let exact = true;
  if (access.patientId !== undefined) {
    const patientId = access.patientId;
    const bad = checkConfinedParams(access, type, params, named);
    if (bad) return bad;
    if (request.interaction === 'search-type') {
      const narrowing = narrowingParam(type, patientId);
      if (narrowing) {
        params = addParams(params, [narrowing]);
        if (!named.includes(patientId)) named.push(patientId);
      }
    } else exact = false; // type history cannot be narrowed: every version is filtered
  }
  const restriction = restrictionParams(grants);
  if (request.interaction === 'search-type') params = addParams(params, restriction.params);
  exact = exact && restriction.exact && (request.interaction === 'search-type' || !needsChecks(access, grants));
  const viaPost = request.interaction === 'search-type' && request.viaPost;
  return allow(
    {
      request,
      forward: forwardOf(request, { params, form: viaPost, method: viaPost ? 'POST' : request.method }),
      check: { kind: 'bundle', perms: ['s', 'r'], exactTotal: exact },
      validate: [],
      patientIds: named,
    },
    true,
  );
}

function authorizeSystemSearch(access: Access, request: Req<'search-system' | 'history-system'>): Decision {
  if (access.patientId !== undefined) return refuse('compartment', 403, 'System-level search and history are not allowed for this token');
  const grants = findGrants(access.grants, { resourceType: '*', permission: 's' });
  if (grants.length === 0) return noPermission();
  const named = namedPatients(access, undefined, request.params);
  const restriction = restrictionParams(grants);
  const viaPost = request.interaction === 'search-system' && request.viaPost;
  return allow(
    {
      request,
      forward: forwardOf(request, {
        params: request.interaction === 'search-system' ? addParams(request.params, restriction.params) : request.params,
        form: viaPost,
      }),
      check: { kind: 'bundle', perms: ['s', 'r'], exactTotal: restriction.exact && request.interaction === 'search-system' },
      validate: [],
      patientIds: named,
    },
    true,
  );
}

function authorizeCreate(access: Access, request: Req<'create'>): Decision {
  const type = request.resourceType;
  // A create never names its id (R4: the server assigns it). It is removed BEFORE any check, so
  // what is authorised is exactly what is sent: a body whose id happened to be the caller's own
  // patient cannot pass as "the patient itself" and then create a new Patient.
  const { id: _ignored, ...body } = request.body as Record<string, unknown>;
  void _ignored;
  const named = compartmentPatientIds(body, { baseUrls: access.options.referenceBaseUrls });
  const open = opening(access, type, 'c', named, 'compartment');
  if (isDenial(open)) return open;
  if (access.patientId !== undefined && type === 'Patient') return refuse('compartment', 403, 'Creating a Patient is not allowed for this token', named);
  const checks = needsChecks(access, open.grants);
  if (checks && request.ifNoneExist) return refuse(confinedReason(access), 403, 'Conditional create is not allowed for this token', named);
  // The whole body, nested resources and references included (`writeRefusal`, one view of it).
  const refused = writeRefusal(access, body, 'c', named);
  if (refused) return refused;
  // A create names no search: its query (a caller's `?subject=…`) is not forwarded.
  return allow({ request, forward: forwardOf(request, { body, params: [] }), check: { kind: 'resource', perms: ['c', 'r'] }, validate: [{ resource: body }], patientIds: named });
}

function authorizeUpdate(access: Access, request: Req<'update'>): Decision {
  const type = request.resourceType;
  const body = request.body as Record<string, unknown>;
  const open = opening(access, type, 'u', compartmentPatientIds(body, { baseUrls: access.options.referenceBaseUrls }), 'compartment');
  if (isDenial(open)) return open;
  const named = open.named;
  const checks = needsChecks(access, open.grants);
  const plan = { request, check: { kind: 'resource', perms: ['u', 'r'] } as const, validate: [{ resource: body }], patientIds: named };
  if (request.conditional || request.id === undefined) {
    const conditionalRefs = conditionalReferenceRefusal(access, body);
    if (conditionalRefs) return { ...conditionalRefs, patientIds: named };
    if (checks) return refuse(confinedReason(access), 403, 'Conditional update is not allowed for this token', named);
    return allow({ ...plan, forward: forwardOf(request, { body }) });
  }
  const refused = writeRefusal(access, body, 'u', named);
  if (refused) return refused;
  return allow({
    ...plan,
    forward: forwardOf(request, { body, idempotent: !checks, params: [] }),
    ...(checks ? { precheck: { resourceType: type, id: request.id, perms: ['u'], pinVersion: true } } : {}),
  });
}

function authorizePatch(access: Access, request: Req<'patch'>): Decision {
  const grants = findGrants(access.grants, { resourceType: request.resourceType, permission: 'u' });
  if (grants.length === 0) return noPermission();
  if (needsChecks(access, grants)) return refuse(confinedReason(access), 403, 'PATCH is not allowed for this token; use update');
  const json = request.patch.format === 'json-patch';
  return allow({
    request,
    forward: forwardOf(request, {
      body: json ? request.patch.operations : request.patch.parameters,
      headers: { ...request.forwardHeaders, 'Content-Type': json ? 'application/json-patch+json' : 'application/fhir+json' },
      // A patch of a known id forwards no query; a conditional patch's query is its condition.
      ...(request.conditional || request.id === undefined ? {} : { params: [] }),
    }),
    check: { kind: 'resource', perms: ['u', 'r'] },
    validate: [],
    patientIds: [],
  });
}

function authorizeDelete(access: Access, request: Req<'delete'>): Decision {
  const type = request.resourceType;
  const open = opening(access, type, 'd', type === 'Patient' && request.id ? [request.id] : [], 'compartment');
  if (isDenial(open)) return open;
  const named = open.named;
  if (access.patientId !== undefined && type === 'Patient' && request.id !== access.patientId) return refuse('compartment', 403, 'Access to another patient is not allowed', named);
  const checks = needsChecks(access, open.grants);
  const plan = { request, forward: forwardOf(request), check: { kind: 'passthrough' } as const, validate: [], patientIds: named };
  if (request.conditional || request.id === undefined) {
    if (checks) return refuse(confinedReason(access), 403, 'Conditional delete is not allowed for this token', named);
    return allow(plan);
  }
  // A delete of a known id forwards no query (only a conditional delete's query is its condition).
  return allow({ ...plan, forward: forwardOf(request, { params: [] }), ...(checks ? { precheck: { resourceType: type, id: request.id, perms: ['d'], pinVersion: false } } : {}) });
}

function authorizeOperation(
  access: Access,
  request: Extract<ParsedRequest, { interaction: 'operation' }>,
  options: AuthorizeOptions,
): Decision {
  const confined = access.patientId !== undefined;
  const named = [
    ...(request.resourceType === 'Patient' && request.id ? [request.id] : []),
    ...namedPatients(access, request.resourceType, request.params),
  ];
  const type = request.resourceType;

  if (request.operation === 'everything') {
    if (request.level !== 'instance' || type !== 'Patient' || !request.id) {
      return refuse('compartment', 403, 'Only instance-level Patient $everything is allowed', named);
    }
    if (findGrants(access.grants, { resourceType: 'Patient', permission: 'r' }).length === 0) return noPermission(named);
    if (confined) {
      if (request.id !== access.patientId) return refuse('compartment', 403, 'Access to another patient is not allowed', named);
      const bad = checkConfinedParams(access, undefined, withoutProjection(request.params), named);
      if (bad) return bad;
    }
    if (request.body !== undefined) return refuse('other', 403, 'Operation input is not allowed for $everything', named);
    return allow(
      { request, forward: forwardOf(request), check: { kind: 'bundle', perms: ['r', 's'], exactTotal: false }, validate: [], patientIds: [...new Set(named)] },
      true,
    );
  }

  if (request.operation === 'export') {
    if (access.context !== 'system') return refuse('scope', 403, '$export needs system scopes', named);
    const typeParam = request.params.filter((p) => p.name === '_type').flatMap((p) => p.value.split(','));
    const needed = typeParam.length > 0 ? typeParam : ['*'];
    for (const t of needed) {
      if (t !== '*' && !isFhirResourceType(t)) return refuse('other', 400, 'Invalid _type', named, 'invalid');
      const grants = findGrants(access.grants, { resourceType: t, permission: ['r', 's'], all: true });
      if (!isUnrestricted(grants)) return refuse('scope', 403, 'Scope does not permit exporting these types', named);
    }
    return { kind: 'allow', request, forward: forwardOf(request, { body: request.body }), check: { kind: 'passthrough' }, validate: [], patientIds: named };
  }

  const policy = Object.prototype.hasOwnProperty.call(options.operations ?? {}, request.operation)
    ? (options.operations as Record<string, OperationPolicy>)[request.operation]
    : undefined;
  if (!policy || !policy.levels.includes(request.level)) return refuse('other', 403, 'Operation not allowed', named);
  const grants = findGrants(access.grants, { resourceType: type ?? '*', permission: policy.permission });
  if (grants.length === 0) return noPermission(named);
  if (confined) {
    if (request.level === 'system') return refuse('compartment', 403, 'System-level operations are not allowed for this token', named);
    if (type && !isCompartmentType(type) && !access.options.readableNonCompartmentTypes.has(type)) {
      return refuse('compartment', 403, 'Resource type is outside the patient compartment', named);
    }
    if (type === 'Patient' && request.id !== undefined && request.id !== access.patientId) {
      return refuse('compartment', 403, 'Access to another patient is not allowed', named);
    }
    const bad = checkConfinedParams(access, type, request.params, named);
    if (bad) return bad;
    if (request.body !== undefined) {
      const ids = compartmentPatientIds(request.body, { baseUrls: access.options.referenceBaseUrls });
      if (ids.some((id) => id !== access.patientId)) return refuse('compartment', 403, 'Operation input names another patient', named);
    }
  }
  const checks = needsChecks(access, grants);
  return {
    kind: 'allow',
    request,
    forward: forwardOf(request, { body: request.body }),
    check: { kind: 'operation', perms: [policy.permission, 'r', 's'] },
    validate: [],
    patientIds: [...new Set(named)],
    ...(checks && request.level === 'instance' && type && request.id
      ? { precheck: { resourceType: type, id: request.id, perms: [policy.permission], pinVersion: false } }
      : {}),
  };
}

export { callerFromAuthorizer, resolveAccess } from './access';
