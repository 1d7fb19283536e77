/**
 * Batch and transaction Bundles: each entry is turned into the API Gateway event it would be on
 * its own and parsed by the same `parseFhirRequest` (so an entry gets exactly the validation a
 * direct request gets), then authorized as its own request. A refused entry refuses a whole
 * transaction; in a batch only its own entry is answered with the refusal and the rest go on.
 *
 * The Bundle forwarded to HealthLake is rebuilt from the parsed entries (never the client's
 * JSON), with searches narrowed, updates pinned to the checked version, and only `urn:uuid:` /
 * `urn:oid:` full URLs kept.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { refuse, type Access, type Denial } from './access';
import { authorize, type AuthorizeOptions, type Plan } from './authorize';
import { encodeParams, isRequestError, parseFhirRequest, type BundleRequest, type RequestLimits } from './request';
import { isObject, type JsonObject } from '../shared/json';

/** Most entries accepted in one batch or transaction. */
export const DEFAULT_MAX_BUNDLE_ENTRIES = 500;

export interface EntryPlan {
  readonly index: number;
  /** `urn:uuid:`/`urn:oid:` full URL, kept for references between transaction entries. */
  readonly fullUrl?: string;
  readonly decision: Plan | Denial;
}

export interface BundlePlan {
  readonly kind: 'bundle';
  readonly type: 'batch' | 'transaction';
  readonly entries: readonly EntryPlan[];
}

export interface BundlePlanOptions extends AuthorizeOptions {
  readonly limits?: Partial<RequestLimits>;
  /** The public FHIR base: absolute entry URLs must be under it. */
  readonly publicBaseUrl: string;
  readonly maxEntries?: number;
}

const ENTRY_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** The relative FHIR path and query of an entry URL, or undefined when it is not on this server. */
function relativeUrl(url: string, publicBaseUrl: string): string | undefined {
  if (/^https?:\/\//i.test(url)) {
    const base = publicBaseUrl.replace(/\/+$/, '');
    if (!url.startsWith(`${base}/`)) return undefined;
    return url.slice(base.length + 1);
  }
  return url.replace(/^\/+/, '');
}

/** A Map as an object without a prototype: every key, `__proto__` included, is an own property. */
function prototypeFree(map: ReadonlyMap<string, string[]>): Record<string, string[]> {
  const out = Object.create(null) as Record<string, string[]>;
  for (const [name, values] of map) out[name] = values;
  return out;
}

/** The event an entry would be as a direct request; undefined when the entry is malformed. */
export function entryEvent(entry: unknown, publicBaseUrl: string): APIGatewayProxyEvent | undefined {
  if (!isObject(entry) || !isObject(entry.request)) return undefined;
  const req = entry.request;
  if (typeof req.method !== 'string' || !ENTRY_METHODS.has(req.method) || typeof req.url !== 'string' || req.url.length > 4096) {
    return undefined;
  }
  const relative = relativeUrl(req.url, publicBaseUrl);
  if (relative === undefined || relative.includes('#')) return undefined;
  const q = relative.indexOf('?');
  const path = q < 0 ? relative : relative.slice(0, q);
  // Parameter names are the client's: collected in a Map (a plain object would answer
  // `query['constructor']` with `Object`), handed to the parser as a prototype-free object.
  const query = new Map<string, string[]>();
  if (q >= 0) {
    for (const pair of relative.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      let name: string;
      let value: string;
      try {
        name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
        value = decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1));
      } catch {
        return undefined;
      }
      const values = query.get(name);
      if (values) values.push(value);
      else query.set(name, [value]);
    }
  }
  const headers: Record<string, string> = {};
  const header = (field: string, name: string) => {
    if (typeof req[field] === 'string') headers[name] = req[field] as string;
  };
  header('ifMatch', 'If-Match');
  header('ifNoneMatch', 'If-None-Match');
  header('ifModifiedSince', 'If-Modified-Since');
  header('ifNoneExist', 'If-None-Exist');
  let body: string | null = null;
  if (entry.resource !== undefined) {
    headers['Content-Type'] = 'application/fhir+json';
    body = JSON.stringify(entry.resource);
  }
  return {
    httpMethod: req.method,
    path: `/r4/${path}`,
    resource: '/r4/{proxy+}',
    pathParameters: { proxy: path },
    multiValueQueryStringParameters: query.size > 0 ? prototypeFree(query) : null,
    queryStringParameters: null,
    headers,
    multiValueHeaders: {},
    body,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

/**
 * Plans a batch or transaction: every entry parsed and authorized. Returns a Denial for the
 * whole Bundle when it is a transaction with a refused or malformed entry, or too large.
 */
export function planBundle(access: Access, request: BundleRequest, options: BundlePlanOptions): BundlePlan | Denial {
  const type = request.interaction;
  const entries = Array.isArray(request.body.entry) ? request.body.entry : [];
  const max = options.maxEntries ?? DEFAULT_MAX_BUNDLE_ENTRIES;
  if (entries.length > max) return refuse('other', 400, 'Too many entries in the Bundle', [], 'too-costly');
  const plans: EntryPlan[] = [];
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index];
    const event = entryEvent(entry, options.publicBaseUrl);
    let decision: Plan | Denial;
    if (!event) decision = refuse('other', 400, 'Malformed Bundle entry', [], 'invalid');
    else {
      const parsed = parseFhirRequest(event, options.limits);
      if (isRequestError(parsed)) decision = refuse('other', 400, 'Malformed Bundle entry', [], 'invalid');
      else {
        decision = authorize(access, parsed, options, true);
        if (decision.kind === 'allow' && decision.validate.length > 0) {
          decision = {
            ...decision,
            validate: decision.validate.map((v) => ({ ...v, prefix: `Bundle.entry[${index}].resource` })),
          };
        }
      }
    }
    const fullUrl = isObject(entry) && typeof entry.fullUrl === 'string' && /^urn:(uuid|oid):[A-Za-z0-9.\-]{1,128}$/.test(entry.fullUrl)
      ? entry.fullUrl
      : undefined;
    if (type === 'transaction' && decision.kind === 'deny') {
      return {
        ...decision,
        message: decision.status === 400 ? 'Malformed transaction entry' : 'A transaction entry was refused',
        patientIds: [...new Set(plans.flatMap((p) => (p.decision.patientIds as string[])).concat(decision.patientIds))],
      };
    }
    plans.push({ index, ...(fullUrl ? { fullUrl } : {}), decision });
  }
  return { kind: 'bundle', type, entries: plans };
}

/**
 * The `request` element of a forwarded entry, from its plan (and the version an update was
 * checked against).
 */
export function forwardedEntry(plan: EntryPlan & { decision: Plan }, ifMatch?: string): JsonObject {
  const f = plan.decision.forward;
  // A POST `_search` entry is sent as a GET search (a Bundle entry has no form body).
  const method = f.form ? 'GET' : f.method;
  const path = f.form ? f.path.replace(/\/?_search$/, '') : f.path;
  const query = f.params.length > 0 ? `?${encodeParams(f.params)}` : '';
  const request: JsonObject = { method, url: `${path}${query}` };
  const h = f.headers;
  const pinned = ifMatch ?? h['If-Match'];
  if (pinned) request.ifMatch = pinned;
  if (h['If-None-Exist']) request.ifNoneExist = h['If-None-Exist'];
  if (h['If-None-Match']) request.ifNoneMatch = h['If-None-Match'];
  if (h['If-Modified-Since']) request.ifModifiedSince = h['If-Modified-Since'];
  return {
    ...(plan.fullUrl ? { fullUrl: plan.fullUrl } : {}),
    ...(f.body !== undefined && !f.form ? { resource: f.body } : {}),
    request,
  };
}
