/**
 * The FHIR proxy: the enforcement point in front of AWS HealthLake (SigV4 calls skip
 * HealthLake's own SMART checks, so whatever passes here, HealthLake serves).
 *
 * THE RULE: the proxy decides only on what it has seen whole, and returns only what it decided
 * on. One place obtains resources as stored (HealthLake, with `_elements`/`_summary` never
 * forwarded); one resource view and one bounded walker (`shared/fhir/resource-view.ts`,
 * `shared/fhir/walk.ts`) give every resource inside a body (the resource, its `contained[]`,
 * the entries of a Bundle resource, recursively) with its labels and compartment patients; every
 * interaction decides on them through one pipeline (`pipeline.ts`), whose tagged outcomes this
 * file maps to HTTP responses and `batch.ts` to Bundle entries.
 *
 * For each API Gateway event (route `/r4/{proxy+}`, plus `/r4` for system search and
 * batch/transaction): parse and validate the request (`request.ts`), read the caller from the
 * SMART authorizer's context, choose the token's one scope context and authorize the
 * interaction (`access.ts`, `authorize.ts`, rules documented there), validate written resources
 * against the R4 base definitions and deployer profiles (`validate.ts`), check the stored version
 * of an update, patch or delete target and pin the write to it with `If-Match` (with labels
 * enforced, a JSON Patch's result is computed and checked like a PUT body first, `patch.ts`),
 * call HealthLake signed with SigV4 (`healthlake-client.ts`),
 * filter the answer again resource by resource (`filter.ts`), rewrite every datastore URL to the
 * public base (`links.ts`), and write one BALP AuditEvent per patient touched, allowed or
 * refused (`audit.ts`), and one record of per-app metrics when they are on (`trace.ts`,
 * `shared/app-metrics.ts`). Fails closed: no authorizer context → 401 (except the public
 * CapabilityStatement), any doubt → 403/404, any unexpected error → 500 with nothing forwarded
 * after it. Errors are OperationOutcomes with constant texts; HealthLake's own error texts are
 * never passed on.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { API_DEPRECATION_EXTENSION, deprecationNotice, lifecycleOfStage, lifecycleState, type ApiLifecycle } from '../shared/api-lifecycle';
import { isValidId } from '../shared/fhir/references';
import { isObject } from '../shared/json';
import { BROWSER_ORIGIN } from '../shared/environment';
import { errorResponse, SECURITY_HEADERS } from '../shared/operation-outcome';
import { callerFromAuthorizer, refuse, resolveAccess, type Access } from './access';
import { authorize, type Plan } from './authorize';
import { executeBundle } from './batch';
import { createContext, type ProxyContext, type PublicBase } from './context';
import { PatientCollector } from './filter';
import { guarded as guardedAccess, RequestGuard } from './guard';
import { HealthLakeError, type HealthLakeResponse } from './healthlake-client';
import type { LinkRewriter } from './links';
import { isWrite, prepare, release, send, type Stop } from './pipeline';
import { isRequestError, parseFhirRequest, requestErrorResponse } from './request';
import { consentUnknown, CONSENT_UNKNOWN, empty, invalid, json, keptHeaders, refusal, upstreamError } from './responses';
import { describe, newTrace, recordMetrics, traceDenial, writeAudit, type Trace } from './trace';

export type { LabelEnforcement, ProxyOptions } from './context';

export type FhirProxy = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** Most pages read to answer `_summary=count` (HealthLake pages hold at most 100 resources). */
const MAX_COUNT_PAGES = 50;

export function createProxy(options: import('./context').ProxyOptions): FhirProxy {
  const ctx = createContext(options);
  const origins = corsOrigins(options.allowedOrigins);
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const trace = newTrace(event?.httpMethod);
    let result: APIGatewayProxyResult;
    try {
      const version = lifecycleOfStage(ctx.apiVersions, event?.requestContext?.stage, ctx.singleLifecycle);
      if (version === 'unlisted') {
        trace.caller = callerFromAuthorizer(event?.requestContext?.authorizer);
        trace.description = 'This API version is not served';
        result = errorResponse(404, 'not-found', trace.description);
      } else {
        const lifecycle = lifecycleState(version, ctx.clock());
        trace.serverBaseUrl = ctx.publicBaseOf(event, version?.version);
        const base = ctx.forBase(trace.serverBaseUrl);
        trace.patients = new PatientCollector(base.access.referenceBaseUrls);
        if (lifecycle.kind === 'gone') {
          trace.caller = callerFromAuthorizer(event?.requestContext?.authorizer);
          trace.description = lifecycle.message;
          result = errorResponse(410, 'not-supported', lifecycle.message, { headers: lifecycle.headers });
        } else {
          result = await handle(ctx, base, event, trace);
          if (lifecycle.kind === 'deprecated' && version !== undefined) result = deprecated(version, result, trace, lifecycle.headers);
        }
      }
    } catch (e) {
      result = failure(ctx, trace, e);
    }
    result = withCors(origins, event, result);
    try {
      await writeAudit(ctx, event, trace, result.statusCode);
    } catch (e) {
      options.onError?.('Audit write failed', { error: e instanceof Error ? e.name : 'unknown' });
      result = errorResponse(500, 'exception', 'Internal error');
    }
    recordMetrics(ctx, trace, result.statusCode);
    return result;
  };
}

const EXPOSED_HEADERS = 'ETag, Location, Content-Location, Last-Modified, Deprecation, Sunset, Link, Retry-After';

/** The allowed browser origins, checked once: exact https origins, never `*`. */
function corsOrigins(origins: readonly string[] | undefined): ReadonlySet<string> {
  for (const o of origins ?? []) {
    if (!BROWSER_ORIGIN.test(o)) throw new Error(`createProxy: allowedOrigins entry "${o}" is not an exact https origin (https://host[:port]); "*" is never allowed`);
  }
  return new Set(origins ?? []);
}

/** The CORS headers for a browser request from an allowed origin (none otherwise). */
function withCors(origins: ReadonlySet<string>, event: APIGatewayProxyEvent, result: APIGatewayProxyResult): APIGatewayProxyResult {
  if (origins.size === 0) return result;
  const headers = event?.headers ?? {};
  let origin: string | undefined;
  for (const name in headers) if (name.toLowerCase() === 'origin') origin = headers[name] ?? undefined;
  if (origin === undefined || !origins.has(origin)) return result;
  return { ...result, headers: { ...result.headers, 'Access-Control-Allow-Origin': origin, Vary: 'Origin', 'Access-Control-Expose-Headers': EXPOSED_HEADERS } };
}

/**
 * A response of a deprecated version: the lifecycle headers on every answer, and the
 * CapabilityStatement saying so (its description, and an extension with the sunset date).
 */
function deprecated(lifecycle: ApiLifecycle, result: APIGatewayProxyResult, trace: Trace, headers: Readonly<Record<string, string>>): APIGatewayProxyResult {
  const out = { ...result, headers: { ...result.headers, ...headers } };
  if (trace.interaction !== 'capabilities' || result.statusCode !== 200) return out;
  const body: unknown = JSON.parse(result.body);
  if (!isObject(body) || body.resourceType !== 'CapabilityStatement') return out;
  const notice = deprecationNotice(lifecycle);
  const extension = Array.isArray(body.extension) ? body.extension : [];
  return {
    ...out,
    body: JSON.stringify({
      ...body,
      description: typeof body.description === 'string' ? `${notice}. ${body.description}` : notice,
      extension: [...extension, { url: API_DEPRECATION_EXTENSION, valueDateTime: lifecycle.sunsetAt }],
    }),
  };
}

/** An unexpected failure: 502/504 for HealthLake, 500 otherwise, with a constant text. */
function failure(ctx: ProxyContext, trace: Trace, e: unknown): APIGatewayProxyResult {
  const timeout = e instanceof HealthLakeError && e.kind === 'timeout';
  const message = e instanceof HealthLakeError ? (timeout ? 'The FHIR server did not answer in time' : 'The FHIR server could not be reached') : 'Internal error';
  trace.description = message;
  ctx.options.onError?.(message, { error: e instanceof Error ? e.name : 'unknown' });
  return errorResponse(e instanceof HealthLakeError ? (timeout ? 504 : 502) : 500, e instanceof HealthLakeError ? 'timeout' : 'exception', message);
}

/** One request: parse, identify the caller, resolve its access, then one interaction or a Bundle. */
async function handle(ctx: ProxyContext, base: PublicBase, event: APIGatewayProxyEvent, trace: Trace): Promise<APIGatewayProxyResult> {
  const caller = callerFromAuthorizer(event.requestContext?.authorizer);
  trace.caller = caller;
  const parsed = parseFhirRequest(event, ctx.limits);
  if (isRequestError(parsed)) {
    if (!caller) return refused(trace, refuse('invalid-token', 401, 'Authentication required'));
    trace.description = parsed.message;
    return requestErrorResponse(parsed);
  }
  describe(trace, parsed);
  if (!caller) {
    if (parsed.interaction !== 'capabilities') return refused(trace, refuse('invalid-token', 401, 'Authentication required'));
    const upstream = await ctx.client.request({ method: 'GET', path: 'metadata' });
    if (upstream.status >= 400) return failedUpstream(trace, upstream, false);
    return json(upstream.status, upstream.body, base.rewriter);
  }
  const resolved = resolveAccess(caller, base.access);
  if (resolved.kind === 'deny') return refused(trace, resolved);
  const guard = new RequestGuard({ index: ctx.labelIndex, apps: ctx.apps, consents: ctx.consents, now: ctx.clock().getTime() }, resolved);
  const access = guardedAccess(resolved, guard);
  trace.access = access;
  trace.guard = guard;
  // Consents the request itself needs: the patient in context and those of a written body.
  if (guard.loadsConsents) {
    const preload = guard.patientsIn((parsed as { body?: unknown }).body);
    if (resolved.patientId !== undefined) preload.add(resolved.patientId);
    await guard.load(preload);
  }
  if (parsed.interaction === 'batch' || parsed.interaction === 'transaction') return executeBundle(ctx, access, parsed, trace, base.rewriter, stopResponse);
  const decision = authorize(access, parsed, ctx.authorizeOptions);
  if (decision.kind === 'deny') return stopResponse(trace, { kind: 'refused', denial: decision }, access);
  return executeSingle(ctx, access, decision, trace, base.rewriter);
}

function refused(trace: Trace, denial: Parameters<typeof refusal>[0]): APIGatewayProxyResult {
  traceDenial(trace, denial);
  return refusal(denial);
}

function failedUpstream(trace: Trace, upstream: HealthLakeResponse, confined: boolean): APIGatewayProxyResult {
  const { response, message } = upstreamError(upstream, confined);
  trace.description = message;
  return response;
}

/** The single-request answer to a stop; a refusal caused by an unknown consent state says so. */
function stopResponse(trace: Trace, stop: Stop, access: Access): APIGatewayProxyResult {
  if (stop.kind === 'invalid') {
    trace.description = 'Resource failed validation';
    return invalid(stop.issues);
  }
  if (stop.kind === 'upstream-error') return failedUpstream(trace, stop.response, access.patientId !== undefined);
  const unknown = trace.guard?.consentUnknown;
  if (unknown) {
    traceDenial(trace, { ...stop.denial, reason: 'consent', message: CONSENT_UNKNOWN[unknown] });
    return consentUnknown(unknown);
  }
  return refused(trace, stop.denial);
}

/** One interaction: prepare, forward, release (`pipeline.ts`), mapped to the HTTP answer. */
async function executeSingle(ctx: ProxyContext, access: Access, plan: Plan, trace: Trace, rewriter: LinkRewriter): Promise<APIGatewayProxyResult> {
  const prepared = await prepare(ctx, access, plan, trace);
  if (prepared.kind !== 'ready') return stopResponse(trace, prepared, access);
  if (plan.projection?.kind === 'count') return countMatches(ctx, access, plan, trace, rewriter);
  const upstream = await send(ctx, plan, prepared.ifMatch);
  if (upstream.status >= 400) return failedUpstream(trace, upstream, access.patientId !== undefined);
  if (isWrite(plan)) trace.upstreamStatus = upstream.status;
  if (upstream.status === 304) return { statusCode: 304, headers: { ...SECURITY_HEADERS, ...keptHeaders(upstream) }, body: '' };
  await trace.guard?.loadFor(upstream.body);
  const released = trace.guard
    ? trace.guard.withInlineLabelHint(upstream.mayHaveInlineLabels, () => release(access, plan, upstream.body, trace.patients))
    : release(access, plan, upstream.body, trace.patients);
  const headers = keptHeaders(upstream);
  const unknown = trace.guard?.consentUnknown;
  if (!isWrite(plan) && (unknown === 'outage' || (unknown === 'malformed' && released.kind === 'withheld'))) {
    trace.description = CONSENT_UNKNOWN[unknown];
    return consentUnknown(unknown);
  }
  if (released.kind === 'withheld') {
    // A write the server carried out is answered with its status; only its result is withheld.
    if (isWrite(plan)) return empty(upstream.status, rewriter, headers);
    return refused(trace, refuse('withheld', 404, 'Resource not found'));
  }
  if (plan.localIfNoneMatch !== undefined && headers.ETag === plan.localIfNoneMatch) {
    return { statusCode: 304, headers: { ...SECURITY_HEADERS, ETag: headers.ETag }, body: '' };
  }
  if (plan.request.interaction === 'create' && isObject(released.body) && isValidId(released.body.id)) trace.id = released.body.id;
  if (upstream.status === 204 || released.body === undefined) return empty(upstream.status, rewriter, headers);
  return json(upstream.status, released.body, rewriter, headers);
}

/**
 * `_summary=count`: the proxy pages through the whole result (at most {@link MAX_COUNT_PAGES}
 * pages) and counts only the matches the caller may see; withheld records are never counted.
 * A result too large to count is 422 `too-costly`.
 */
async function countMatches(ctx: ProxyContext, access: Access, plan: Plan, trace: Trace, rewriter: LinkRewriter): Promise<APIGatewayProxyResult> {
  const params = [...plan.forward.params.filter((p) => p.name !== '_count'), { name: '_count', value: '100' }];
  let upstream = await send(ctx, plan, undefined, params);
  let total = 0;
  for (let page = 1; ; page++) {
    if (upstream.status >= 400) return failedUpstream(trace, upstream, access.patientId !== undefined);
    await trace.guard?.loadFor(upstream.body);
    const released = release(access, plan, upstream.body, trace.patients);
    if (trace.guard?.consentUnknown === 'outage') {
      trace.description = CONSENT_UNKNOWN.outage;
      return consentUnknown('outage');
    }
    if (released.kind === 'withheld') return refused(trace, refuse('withheld', 404, 'Resource not found'));
    const entries = isObject(released.body) && Array.isArray(released.body.entry) ? released.body.entry : [];
    total += entries.filter((e) => !(isObject(e) && isObject(e.search) && e.search.mode === 'include')).length;
    const next = nextPage(ctx, upstream.body);
    if (next === undefined) return json(200, { resourceType: 'Bundle', type: 'searchset', total }, rewriter);
    if (page >= MAX_COUNT_PAGES || next === null) {
      trace.description = 'Too many matches to count';
      return errorResponse(422, 'too-costly', 'Too many matches to count; narrow the search');
    }
    upstream = await ctx.client.request({ method: 'GET', path: next.path, query: next.query });
  }
}

/** The `next` page of a search Bundle as a datastore request; null when it is not under the datastore base. */
function nextPage(ctx: ProxyContext, body: unknown): { path: string; query: Array<{ name: string; value: string }> } | null | undefined {
  const links = isObject(body) && Array.isArray(body.link) ? body.link : [];
  const next = links.find((l) => isObject(l) && l.relation === 'next');
  if (!isObject(next) || typeof next.url !== 'string') return undefined;
  const base = ctx.client.baseUrl.endsWith('/') ? ctx.client.baseUrl : `${ctx.client.baseUrl}/`;
  if (!next.url.startsWith(base)) return null;
  const rest = next.url.slice(base.length);
  const q = rest.indexOf('?');
  const query = [...new URLSearchParams(q < 0 ? '' : rest.slice(q + 1))].map(([name, value]) => ({ name, value }));
  return { path: decodeURIComponent(q < 0 ? rest : rest.slice(0, q)), query };
}
