/**
 * The FHIR proxy: the enforcement point in front of AWS HealthLake (SigV4 calls skip
 * HealthLake's own SMART checks, so whatever passes here, HealthLake serves).
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
 * refused (`audit.ts`). Fails closed: no authorizer context → 401 (except the public
 * CapabilityStatement), any doubt → 403/404, any unexpected error → 500 with nothing forwarded
 * after it. Errors are OperationOutcomes with constant texts; HealthLake's own error texts are
 * never passed on.
 */
import { randomUUID } from 'crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';
import type { FhirInteraction } from '../shared/fhir-interactions';
import type { Permission } from '../shared/smart-scopes';
import { isValidId } from '../shared/fhir/references';
import { errorResponse, FHIR_JSON, operationOutcome, SECURITY_HEADERS, type IssueType, type OperationOutcomeIssueInput } from '../shared/operation-outcome';
import { callerFromAuthorizer, deny, see, resolveAccess, type Access, type AccessOptions, type Caller, type Denial } from './access';
import { buildAuditEvents, StdoutAuditSink, type AuditOutcome, type AuditSink } from './audit';
import { authorize, type OperationPolicy, type Plan } from './authorize';
import { DEFAULT_MAX_BUNDLE_ENTRIES, forwardedEntry, planBundle, type EntryPlan } from './bundle';
import { filterBundle, filterOperationResult, PatientCollector, sanitizeOutcome } from './filter';
import { HealthLakeClient, HealthLakeError, type HealthLakeResponse } from './healthlake-client';
import { LinkRewriter } from './links';
import { encodeParams, isRequestError, parseFhirRequest, requestErrorResponse, type BundleRequest, type ParsedRequest, type RequestLimits } from './request';
import { createValidator, type ResourceValidator } from './validate';
import { ConsentCache, consentsByPatient, type PatientConsents } from './consent';
import { guardApps, guarded, RequestGuard, type AppClearance } from './guard';
import { LabelIndex, RESTRICTIVE_LABEL_POLICY, type LabelPolicy } from './labels';
import { PATCH_ERRORS, patchedResource } from './patch';
import { isObject } from '../shared/json';
import { compartmentPatientIds } from '../shared/fhir/patient-compartment';

export type FhirProxy = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

export interface ProxyOptions {
  /** The HealthLake datastore endpoint, e.g. `https://healthlake.us-east-1.amazonaws.com/datastore/<id>/r4/`. */
  readonly fhirBaseUrl: string;
  readonly region: string;
  /** @default - the Lambda role's credentials (`@aws-sdk/credential-provider-node`) */
  readonly credentials?: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
  /** @default - the global `fetch` */
  readonly fetch?: typeof fetch;
  /** Receives every AuditEvent. @default - `StdoutAuditSink` (one JSON line each on stdout) */
  readonly audit?: AuditSink;
  /**
   * The public FHIR base that replaces the datastore URL in everything returned, e.g.
   * `https://fhir.example.org/r4`.
   * @default - `https://<requestContext.domainName>/r4` of each request
   */
  readonly publicBaseUrl?: string;
  /**
   * Types outside the Patient compartment that compartment-confined callers may read and search
   * (e.g. Medication, Practitioner, Organization, Location). Never writable by them.
   * @default - none
   */
  readonly readableNonCompartmentTypes?: readonly string[];
  /** Client ids of confidential clients: the only ones whose `system/` grants count. @default - none */
  readonly confidentialClientIds?: readonly string[];
  /** Operations allowed besides `$everything` and `$export`, by name without `$`. @default - none */
  readonly operations?: Readonly<Record<string, OperationPolicy>>;
  /** Request limits (body size, parameter counts and lengths). @default - `DEFAULT_REQUEST_LIMITS` */
  readonly limits?: Partial<RequestLimits>;
  /**
   * Validator for created and updated resources; `false` turns validation off.
   * @default - R4 base definitions only (`createValidator()`)
   */
  readonly validator?: ResourceValidator | false;
  /** @default DEFAULT_MAX_BUNDLE_ENTRIES */
  readonly maxBundleEntries?: number;
  /** Per-attempt HealthLake timeout. @default 10000 */
  readonly timeoutMs?: number;
  /** HealthLake retries for idempotent requests. @default 2 */
  readonly maxRetries?: number;
  /** Identifier system of `client_id` in AuditEvents. @default - none */
  readonly clientIdentifierSystem?: string;
  /** Identifier system of `sub` in AuditEvents (the token issuer). @default - none */
  readonly userIdentifierSystem?: string;
  /** @default - `() => new Date()` */
  readonly clock?: () => Date;
  /**
   * Security labels (DS4P) and FHIR Consent (`guard.ts`). When set: the policy's labels and
   * Consent rules apply, apps are cleared per their registry entry, and every write target is
   * checked for labels first and the write pinned to the version checked (`If-Match`);
   * conditional update, patch and delete and FHIRPath Patch are refused, and a JSON Patch's
   * result is checked like a PUT body before it is forwarded (`patch.ts`).
   * @default - `RESTRICTIVE_LABEL_POLICY`: any label above `N` is withheld (no app is cleared), no
   *   Consent lookup, no extra write checks
   */
  readonly labels?: LabelEnforcement;
  /** Called with a constant message and an error class name when something unexpected fails. */
  readonly onError?: (message: string, detail: { readonly error: string }) => void;
}

/** Label policy, the registered apps' clearances, and the Consent cache lifetime. */
export interface LabelEnforcement {
  readonly policy: LabelPolicy;
  /** Registered apps by Cognito client id: their `labels` and the identifier Consents name. @default - none */
  readonly apps?: readonly AppClearance[];
  /**
   * How long a patient's Consents are cached (ms, ≤ 60 000): the delay before a Consent change
   * takes effect. @default - the policy's `consent.cacheTtlSeconds`
   */
  readonly consentCacheTtlMs?: number;
}

/** Most patients per Consent search (`Consent?patient=a,b,…`). */
const CONSENT_BATCH = 20;
/** Page size of a Consent search; a patient set with more Consents than this fails closed. */
const CONSENT_PAGE = 500;

type Json = Record<string, unknown>;

/** A write target HealthLake answered 404 or 410 for (see `readTarget`). */
const MISSING = Symbol('missing');

/** A write target to read and check before the write is forwarded (see `targetCheck`). */
interface TargetCheck {
  readonly resourceType: string;
  readonly id: string;
  readonly perms: readonly Permission[];
  /** Pin the write to the version checked (`If-Match`). */
  readonly pin: boolean;
  /** A missing or deleted target: refused 404 with this message, or (undefined) passed unpinned. */
  readonly missing?: string;
}

/** A write target that passed its check: the version to pin, if pinned, and the stored resource checked. */
interface CheckedTarget {
  readonly ifMatch?: string;
  readonly stored?: Json;
}

/** What the audit needs to know about one request, filled in as it is handled. */
interface Trace {
  interaction: FhirInteraction;
  caller?: Caller;
  access?: Access;
  guard?: RequestGuard;
  resourceType?: string;
  id?: string;
  versionId?: string;
  query?: string;
  description?: string;
  patients: PatientCollector;
}

const KEPT_HEADERS = ['etag', 'last-modified', 'location', 'content-location'];

/** Best guess of the interaction of a request that could not be parsed (for the audit only). */
function guessInteraction(method: string | undefined): FhirInteraction {
  switch (String(method ?? '').toUpperCase()) {
    case 'GET':
      return 'search-type';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return 'operation';
  }
}

/** Status → constant text for errors passed on from HealthLake. */
function upstreamMessage(status: number): { status: number; message: string } {
  if (status === 400) return { status, message: 'The FHIR server rejected the request' };
  if (status === 404) return { status, message: 'Resource not found' };
  if (status === 405) return { status, message: 'Method not allowed' };
  if (status === 409) return { status, message: 'Conflict' };
  if (status === 410) return { status, message: 'Resource deleted' };
  if (status === 412) return { status, message: 'Version conflict' };
  if (status === 422) return { status, message: 'The FHIR server could not process the resource' };
  if (status === 429) return { status, message: 'Too many requests' };
  if (status === 503 || status === 504) return { status, message: 'The FHIR server is unavailable' };
  if (status === 401 || status === 403) return { status: 502, message: 'The FHIR server refused the proxy' };
  if (status >= 400 && status < 500) return { status, message: 'The FHIR server rejected the request' };
  return { status: 502, message: 'The FHIR server failed' };
}

export function createProxy(options: ProxyOptions): FhirProxy {
  if (!options.fhirBaseUrl) throw new Error('createProxy: fhirBaseUrl is required');
  if (!options.region) throw new Error('createProxy: region is required');
  const client = new HealthLakeClient({
    baseUrl: options.fhirBaseUrl,
    region: options.region,
    credentials: options.credentials,
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
    maxRetries: options.maxRetries,
  });
  const datastoreBase = client.baseUrl;
  const sink: AuditSink = options.audit ?? new StdoutAuditSink();
  const validator: ResourceValidator | false = options.validator === undefined ? createValidator() : options.validator;
  const clock = options.clock ?? (() => new Date());
  const readable = new Set(options.readableNonCompartmentTypes ?? []);
  const confidential = new Set(options.confidentialClientIds ?? []);
  const authorizeOptions = { operations: options.operations ?? {} };
  const limits = options.limits ?? {};
  const maxBundleEntries = options.maxBundleEntries ?? DEFAULT_MAX_BUNDLE_ENTRIES;
  const labelIndex = new LabelIndex(options.labels?.policy ?? RESTRICTIVE_LABEL_POLICY);
  const strictLabels = options.labels !== undefined;
  const apps = guardApps(labelIndex, options.labels?.apps ?? []);
  // Bases under which a Consent's absolute references are local (`data`, `patient`).
  const consentBaseUrls = [datastoreBase, ...(options.publicBaseUrl !== undefined ? [options.publicBaseUrl] : [])];
  const consentTtl = options.labels?.consentCacheTtlMs ?? labelIndex.policy.consent.cacheTtlSeconds * 1000;
  const consents = labelIndex.policy.consent.enforce
    ? new ConsentCache({ ttlMs: consentTtl, fetch: (ids) => fetchConsents(ids), clock: () => clock().getTime() })
    : undefined;

  /** Reads the Consents of some patients through the signed client; a failure leaves them unavailable. */
  async function fetchConsents(ids: readonly string[]): Promise<Map<string, PatientConsents>> {
    const out = new Map<string, PatientConsents>();
    for (let i = 0; i < ids.length; i += CONSENT_BATCH) {
      const chunk = ids.slice(i, i + CONSENT_BATCH);
      let answer: HealthLakeResponse | undefined;
      try {
        answer = await client.request({
          method: 'GET',
          path: 'Consent',
          query: [
            { name: 'patient', value: chunk.map((id) => `Patient/${id}`).join(',') },
            { name: '_count', value: String(CONSENT_PAGE) },
          ],
        });
      } catch {
        answer = undefined;
      }
      const body = answer?.status === 200 ? answer.body : undefined;
      const complete =
        isObject(body) &&
        body.resourceType === 'Bundle' &&
        !(Array.isArray(body.link) && body.link.some((l) => isObject(l) && l.relation === 'next'));
      if (!complete) continue; // unavailable: fails closed for labelled data
      const resources = (Array.isArray(body.entry) ? body.entry : [])
        .filter((e): e is Json => isObject(e) && !(isObject(e.search) && e.search.mode === 'outcome'))
        .map((e) => e.resource);
      for (const [id, state] of consentsByPatient(resources, chunk, consentBaseUrls)) out.set(id, state);
    }
    return out;
  }

  const rewriters = new Map<string, { rewriter: LinkRewriter; access: AccessOptions }>();
  function forBase(publicBaseUrl: string): { rewriter: LinkRewriter; access: AccessOptions } {
    let found = rewriters.get(publicBaseUrl);
    if (!found) {
      const rewriter = new LinkRewriter({ datastoreBaseUrl: datastoreBase, publicBaseUrl });
      found = {
        rewriter,
        access: {
          readableNonCompartmentTypes: readable,
          confidentialClientIds: confidential,
          referenceBaseUrls: [rewriter.publicBaseUrl, rewriter.datastoreBaseUrl],
        },
      };
      if (rewriters.size >= 16) rewriters.clear();
      rewriters.set(publicBaseUrl, found);
    }
    return found;
  }

  // A configured public base is checked now (a deployment error), not on the first request.
  if (options.publicBaseUrl !== undefined) forBase(options.publicBaseUrl);

  function publicBaseOf(event: APIGatewayProxyEvent): string {
    if (options.publicBaseUrl !== undefined) return options.publicBaseUrl;
    const domain = event.requestContext?.domainName;
    return typeof domain === 'string' && /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/.test(domain) ? `https://${domain}/r4` : 'https://localhost/r4';
  }

  // -------------------------------------------------------------------------------------------
  // Responses

  function json(status: number, body: unknown, rewriter: LinkRewriter, headers: Record<string, string> = {}): APIGatewayProxyResult {
    const out: Record<string, string> = { 'Content-Type': FHIR_JSON, ...SECURITY_HEADERS };
    for (const [name, value] of Object.entries(headers)) out[name] = rewriter.rewriteText(value);
    return {
      statusCode: status,
      headers: out,
      body: body === undefined ? '' : rewriter.rewriteText(JSON.stringify(body)),
    };
  }

  function refuse(trace: Trace, denial: Denial): APIGatewayProxyResult {
    trace.description = denial.message;
    trace.patients.addIds(denial.patientIds);
    return errorResponse(denial.status, denial.code, denial.message, denial.status === 401 ? { headers: { 'WWW-Authenticate': 'Bearer' } } : {});
  }

  function upstreamError(trace: Trace, upstream: HealthLakeResponse, confined: boolean): APIGatewayProxyResult {
    const mapped = upstreamMessage(confined && upstream.status === 410 ? 404 : upstream.status);
    trace.description = mapped.message;
    const headers: Record<string, string> = { ...SECURITY_HEADERS, 'Content-Type': FHIR_JSON };
    const retryAfter = upstream.headers['retry-after'];
    if (mapped.status === 429 && retryAfter && /^\d{1,6}$/.test(retryAfter.trim())) headers['Retry-After'] = retryAfter.trim();
    const body =
      mapped.status === 400 || mapped.status === 422
        ? sanitizeOutcome(upstream.body, mapped.message)
        : operationOutcome([{ severity: 'error', code: mapped.status === 404 ? 'not-found' : mapped.status >= 500 ? 'exception' : 'processing', diagnostics: mapped.message }]);
    return { statusCode: mapped.status, headers, body: JSON.stringify(body) };
  }

  function keptHeaders(upstream: HealthLakeResponse): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const value = upstream.headers[name];
      if (typeof value === 'string' && value.length <= 2048) out[name === 'etag' ? 'ETag' : name.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase())] = value;
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Validation and prechecks

  function validationIssues(targets: Plan['validate']): OperationOutcomeIssueInput[] {
    if (!validator) return [];
    const issues: OperationOutcomeIssueInput[] = [];
    for (const t of targets) issues.push(...validator.validate(t.resource, t.prefix));
    return issues;
  }

  function invalid(trace: Trace, issues: OperationOutcomeIssueInput[]): APIGatewayProxyResult {
    trace.description = 'Resource failed validation';
    return {
      statusCode: 422,
      headers: { 'Content-Type': FHIR_JSON, ...SECURITY_HEADERS },
      body: JSON.stringify(operationOutcome(issues)),
    };
  }

  /**
   * Reads a write target's stored version and checks it for this caller, the same way for every
   * write (`checkTarget`, whichever rule asked for the check): a version of another type or id, or one the
   * caller may not see, is 404 like a missing one (no existence oracle); elements the caller may
   * not see are 403; with labels enforced, so are labels or Consent that forbid the caller to
   * change it (`canWrite` of the guard), so a write can neither overwrite nor strip them.
   * Returns the stored resource, `MISSING` (404 or 410 upstream: the caller decides), a refusal,
   * or an upstream error.
   */
  async function readTarget(
    access: Access,
    trace: Trace,
    resourceType: string,
    id: string,
    perms: readonly Permission[],
  ): Promise<{ readonly body: Json; readonly response: HealthLakeResponse } | typeof MISSING | Denial | HealthLakeResponse> {
    const stored = await client.request({ method: 'GET', path: `${resourceType}/${id}` });
    if (stored.status === 404 || stored.status === 410) return MISSING;
    if (stored.status !== 200) return stored;
    const body = isObject(stored.body) && stored.body.resourceType === resourceType && stored.body.id === id ? stored.body : undefined;
    if (!body) {
      trace.patients.add(stored.body);
      return deny(404, 'Resource not found');
    }
    // Its patients, computed once: for the audit, its Consents and the checks.
    const patients = compartmentPatientIds(body, { baseUrls: access.options.referenceBaseUrls });
    trace.patients.addIds(patients);
    await trace.guard?.load(patients);
    const sight = see(access, body, perms, false, undefined, patients);
    if (!sight.visible) return deny(404, 'Resource not found');
    if (sight.resource !== undefined) return deny(403, 'The resource has elements the caller may not change');
    if (strictLabels && access.guard && !access.guard.canWrite(body, sight.patients)) return deny(403, 'The resource has labels the caller may not change');
    return { body, response: stored };
  }

  /**
   * The stored-version check a plan needs before it is forwarded, one path for both sources:
   * - the scope rules' precheck (a confined or restricted caller's update, delete or instance
   *   operation): a missing or deleted target is 404; pinned when the plan says so, and with labels
   *   enforced a delete too (a label added in between must not be deleted unchecked);
   * - with labels enforced, the write target of an update, patch or delete the scope rules did
   *   not precheck (an unconfined caller): conditional writes are refused (their target is
   *   unknown), and so is FHIRPath Patch (its result cannot be computed here, `patch.ts`); a
   *   missing or deleted target passes unpinned for update (update-as-create: the body already
   *   passed the write guard in `authorize`) and delete (nothing to delete), a PATCH of it is 404;
   *   the write is always pinned.
   * Returns undefined when there is nothing to check, or a refusal.
   */
  function targetCheck(plan: Plan): TargetCheck | Denial | undefined {
    const p = plan.precheck;
    if (p) return { resourceType: p.resourceType, id: p.id, perms: p.perms, pin: p.pinVersion || (strictLabels && p.perms.includes('d')), missing: 'Resource not found' };
    if (!strictLabels) return undefined;
    const request = plan.request;
    if (request.interaction !== 'update' && request.interaction !== 'patch' && request.interaction !== 'delete') return undefined;
    if (request.conditional || request.id === undefined) return deny(403, 'Conditional writes are not allowed while security labels are enforced');
    if (request.interaction === 'patch' && request.patch.format !== 'json-patch') return deny(422, PATCH_ERRORS.fhirPathPatch, [], 'not-supported');
    return {
      resourceType: request.resourceType,
      id: request.id,
      perms: [request.interaction === 'delete' ? 'd' : 'u'],
      pin: true,
      ...(request.interaction === 'patch' ? { missing: PATCH_ERRORS.missing } : {}),
    };
  }

  /**
   * Reads and checks a write target (`readTarget`: the stored version must be visible to the
   * caller whole, 404 if not, 403 when elements of it would be removed, and with labels enforced
   * writable by it: labels and Consent for `correct`), then pins the write to the version read:
   * its version must be known (409 if not) and agree with the client's `If-Match` (412), and the
   * write is forwarded with `If-Match: W/"<versionId>"`, so a change between this check and the
   * write makes HealthLake answer 412 instead of acting on an unchecked version. Returns the
   * target checked, a refusal, or an upstream error.
   */
  async function checkTarget(access: Access, trace: Trace, check: TargetCheck, clientIfMatch: string | undefined): Promise<CheckedTarget | Denial | HealthLakeResponse> {
    const target = await readTarget(access, trace, check.resourceType, check.id, check.perms);
    if (target === MISSING) return check.missing !== undefined ? deny(404, check.missing) : {};
    if (isDenial(target) || !('response' in target)) return target;
    if (!check.pin) return { stored: target.body };
    const ifMatch = pinnedVersion(target.body, target.response, clientIfMatch);
    return isDenial(ifMatch) ? ifMatch : { ifMatch, stored: target.body };
  }

  /**
   * The `If-Match` pinning a write to the stored version read (`meta.versionId`, else the weak
   * ETag): 409 when it cannot be determined, 412 when the client's own `If-Match` disagrees.
   */
  function pinnedVersion(body: Json, stored: HealthLakeResponse, clientIfMatch: string | undefined): string | Denial {
    const meta = isObject(body.meta) ? body.meta : {};
    const versionId = typeof meta.versionId === 'string' ? meta.versionId : /^W\/"([^"]+)"$/.exec(stored.headers.etag ?? '')?.[1];
    if (!isValidId(versionId)) return deny(409, 'Stored version could not be determined', [], 'conflict');
    const ifMatch = `W/"${versionId}"`;
    if (clientIfMatch !== undefined && clientIfMatch !== ifMatch) return deny(412, 'Version conflict');
    return ifMatch;
  }

  function isDenial(value: unknown): value is Denial {
    return isObject(value) && value.kind === 'deny';
  }

  /**
   * With labels enforced, the write that follows a checked target: for a JSON Patch, the patched
   * result checked as a PUT body (`patch.ts`) and validated like one. Returns issues (422), a
   * refusal, or undefined.
   */
  function gatedWrite(access: Access, plan: Plan, target: CheckedTarget | undefined, trace: Trace, prefix?: string): Denial | OperationOutcomeIssueInput[] | undefined {
    const request = plan.request;
    if (!strictLabels || request.interaction !== 'patch') return undefined;
    if (!target?.stored || request.patch.format !== 'json-patch' || request.id === undefined) return deny(422, PATCH_ERRORS.fhirPathPatch, [], 'not-supported');
    const result = patchedResource(access, target.stored, { resourceType: request.resourceType, id: request.id }, request.patch.operations);
    if (isDenial(result)) return result;
    trace.patients.add(result.resource);
    const issues = validationIssues([{ resource: result.resource, ...(prefix ? { prefix } : {}) }]);
    return issues.length > 0 ? issues : undefined;
  }

  async function send(plan: Plan, ifMatch: string | undefined): Promise<HealthLakeResponse> {
    const f = plan.forward;
    const headers: Record<string, string> = { ...f.headers };
    if (ifMatch) headers['If-Match'] = ifMatch;
    if (f.form) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    return client.request({
      method: f.method,
      path: f.path,
      query: f.form ? [] : f.params,
      body: f.form ? encodeParams(f.params) : f.body,
      headers,
      idempotent: f.idempotent,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Filtering one response

  /** Filters a successful response body per the plan's check; `undefined` body when nothing may be returned. */
  function filtered(access: Access, plan: Plan, body: unknown, patients: PatientCollector): { ok: true; body: unknown } | { ok: false } {
    const check = plan.check;
    switch (check.kind) {
      case 'passthrough':
        return { ok: true, body: isObject(body) && body.resourceType === 'OperationOutcome' ? sanitizeOutcome(body, 'Operation outcome') : body };
      case 'resource': {
        if (body === undefined) return { ok: true, body: undefined };
        if (isObject(body) && body.resourceType === 'OperationOutcome') return { ok: true, body: sanitizeOutcome(body, 'Operation outcome') };
        const type = 'resourceType' in plan.request ? plan.request.resourceType : undefined;
        const sight = isObject(body) && body.resourceType === type ? see(access, body, check.perms) : undefined;
        if (sight) patients.addIds(sight.patients);
        else patients.add(body);
        if (!sight?.visible) return { ok: false };
        return { ok: true, body: sight.resource ?? body };
      }
      case 'bundle': {
        const checks = access.patientId !== undefined || check.exactTotal === false;
        const out = filterBundle(access, body, { perms: check.perms, exactTotal: check.exactTotal, keepEmptyEntries: !checks }, patients);
        return out === undefined ? { ok: false } : { ok: true, body: out };
      }
      case 'operation': {
        const out = filterOperationResult(access, body, check.perms, patients);
        return out === undefined ? { ok: false } : { ok: true, body: out };
      }
    }
  }

  async function execute(access: Access, plan: Plan, trace: Trace, rewriter: LinkRewriter): Promise<APIGatewayProxyResult> {
    trace.patients.addIds(plan.patientIds);
    const issues = validationIssues(plan.validate);
    if (issues.length > 0) return invalid(trace, issues);
    const check = targetCheck(plan);
    if (isDenial(check)) return refuse(trace, check);
    const target = check ? await checkTarget(access, trace, check, plan.request.forwardHeaders['If-Match']) : undefined;
    if (isDenial(target)) return refuse(trace, target);
    if (target && 'status' in target) return upstreamError(trace, target, access.patientId !== undefined);
    const write = gatedWrite(access, plan, target, trace);
    if (isDenial(write)) return refuse(trace, write);
    if (write) return invalid(trace, write);
    const upstream = await send(plan, target?.ifMatch);
    if (upstream.status >= 400) return upstreamError(trace, upstream, access.patientId !== undefined);
    if (upstream.status === 304) return { statusCode: 304, headers: { ...SECURITY_HEADERS, ...keptHeaders(upstream) }, body: '' };
    await trace.guard?.loadFor(upstream.body);
    const filterResponse = () => filtered(access, plan, upstream.body, trace.patients);
    const result = trace.guard ? trace.guard.withInlineLabelHint(upstream.mayHaveInlineLabels, filterResponse) : filterResponse();
    if (!result.ok) {
      const notFound = deny(404, 'Resource not found');
      return refuse(trace, notFound);
    }
    const headers = keptHeaders(upstream);
    if (plan.localIfNoneMatch !== undefined && headers.ETag === plan.localIfNoneMatch) {
      return { statusCode: 304, headers: { ...SECURITY_HEADERS, ETag: headers.ETag }, body: '' };
    }
    if (plan.request.interaction === 'create' && isObject(result.body) && isValidId(result.body.id)) trace.id = result.body.id;
    if (upstream.status === 204 || result.body === undefined) {
      return { statusCode: upstream.status, headers: { ...SECURITY_HEADERS, ...rewriter.rewriteHeaders(headers) }, body: '' };
    }
    return json(upstream.status, result.body, rewriter, headers);
  }

  // -------------------------------------------------------------------------------------------
  // Batch and transaction

  async function executeBundle(
    access: Access,
    request: BundleRequest,
    trace: Trace,
    rewriter: LinkRewriter,
  ): Promise<APIGatewayProxyResult> {
    const planned = planBundle(access, request, {
      ...authorizeOptions,
      limits,
      publicBaseUrl: rewriter.publicBaseUrl,
      maxEntries: maxBundleEntries,
    });
    if (planned.kind === 'deny') return refuse(trace, planned);
    const transaction = planned.type === 'transaction';
    const local = new Map<number, Json>(); // entry index → locally answered entry
    const denyEntry = (e: EntryPlan, status: number, message: string, code: IssueType) =>
      local.set(e.index, { response: { status: String(status), outcome: operationOutcome([{ severity: 'error', code, diagnostics: message }]) } });
    const refuseEntry = (e: EntryPlan, d: Denial) => denyEntry(e, d.status, d.message, d.code);

    const allowed: Array<EntryPlan & { decision: Plan }> = [];
    for (const e of planned.entries) {
      if (e.decision.kind === 'deny') {
        trace.patients.addIds(e.decision.patientIds);
        refuseEntry(e, e.decision);
      } else {
        trace.patients.addIds(e.decision.patientIds);
        allowed.push(e as EntryPlan & { decision: Plan });
      }
    }

    // Validation: a transaction is refused whole; a batch answers the entry.
    const allIssues: OperationOutcomeIssueInput[] = [];
    const valid: typeof allowed = [];
    for (const e of allowed) {
      const issues = validationIssues(e.decision.validate);
      if (issues.length === 0) valid.push(e);
      else if (transaction) allIssues.push(...issues);
      else local.set(e.index, { response: { status: '422', outcome: operationOutcome(issues) } });
    }
    if (allIssues.length > 0) return invalid(trace, allIssues);

    // Stored versions of update/delete targets.
    const forwarded: Array<{ entry: EntryPlan & { decision: Plan }; ifMatch?: string }> = [];
    for (const e of valid) {
      const check = targetCheck(e.decision);
      const target = isDenial(check) ? check : check ? await checkTarget(access, trace, check, e.decision.request.forwardHeaders['If-Match']) : undefined;
      if (isDenial(target) || (target && 'status' in target)) {
        if (transaction) return isDenial(target) ? refuse(trace, { ...target, message: 'A transaction entry was refused' }) : upstreamError(trace, target, true);
        if (isDenial(target)) refuseEntry(e, target);
        else denyEntry(e, upstreamMessage(target.status).status, upstreamMessage(target.status).message, 'processing');
        continue;
      }
      const write = gatedWrite(access, e.decision, target, trace, `Bundle.entry[${e.index}].resource`);
      if (write) {
        if (transaction) return isDenial(write) ? refuse(trace, { ...write, message: 'A transaction entry was refused' }) : invalid(trace, write);
        if (isDenial(write)) refuseEntry(e, write);
        else local.set(e.index, { response: { status: '422', outcome: operationOutcome(write) } });
        continue;
      }
      forwarded.push({ entry: e, ...(target?.ifMatch ? { ifMatch: target.ifMatch } : {}) });
    }

    let responses: unknown[] = [];
    if (forwarded.length > 0) {
      const upstream = await client.request({
        method: 'POST',
        path: '',
        body: { resourceType: 'Bundle', type: planned.type, entry: forwarded.map((f) => forwardedEntry(f.entry, f.ifMatch)) },
      });
      if (upstream.status >= 400) return upstreamError(trace, upstream, access.patientId !== undefined);
      const body = upstream.body;
      responses = isObject(body) && Array.isArray(body.entry) ? body.entry : [];
      if (responses.length !== forwarded.length) {
        trace.description = 'Unexpected response from the FHIR server';
        return errorResponse(502, 'exception', 'Unexpected response from the FHIR server');
      }
    }

    await trace.guard?.loadFor(...responses.filter(isObject).map((re) => re.resource));
    const answered = new Map<number, Json>(local);
    forwarded.forEach((f, i) => {
      const re = responses[i];
      const entry = isObject(re) ? re : {};
      const response = isObject(entry.response) ? entry.response : {};
      const status = typeof response.status === 'string' ? response.status.slice(0, 64) : '500';
      const out: Json = {
        response: {
          status,
          ...(typeof response.location === 'string' ? { location: response.location } : {}),
          ...(typeof response.etag === 'string' ? { etag: response.etag } : {}),
          ...(typeof response.lastModified === 'string' ? { lastModified: response.lastModified } : {}),
          ...(response.outcome !== undefined ? { outcome: sanitizeOutcome(response.outcome, 'Entry outcome') } : {}),
        },
      };
      if (entry.resource !== undefined) {
        const result = filtered(access, f.entry.decision, entry.resource, trace.patients);
        if (!result.ok) {
          answered.set(f.entry.index, {
            response: { status: '404', outcome: operationOutcome([{ severity: 'error', code: 'not-found', diagnostics: 'Resource not found' }]) },
          });
          return;
        }
        if (result.body !== undefined) out.resource = result.body;
      }
      answered.set(f.entry.index, out);
    });
    const entries = planned.entries.map((e) => answered.get(e.index) as Json);
    return json(200, { resourceType: 'Bundle', type: `${planned.type}-response`, entry: entries }, rewriter);
  }

  // -------------------------------------------------------------------------------------------
  // One request

  async function process(event: APIGatewayProxyEvent, trace: Trace): Promise<APIGatewayProxyResult> {
    const base = forBase(publicBaseOf(event));
    const { rewriter } = base;
    const caller = callerFromAuthorizer(event.requestContext?.authorizer);
    trace.caller = caller;
    const parsed = parseFhirRequest(event, limits);
    if (isRequestError(parsed)) {
      if (!caller) return refuse(trace, deny(401, 'Authentication required'));
      trace.description = parsed.message;
      return requestErrorResponse(parsed);
    }
    describe(trace, parsed);
    if (!caller) {
      if (parsed.interaction !== 'capabilities') return refuse(trace, deny(401, 'Authentication required'));
      const upstream = await client.request({ method: 'GET', path: 'metadata' });
      if (upstream.status >= 400) return upstreamError(trace, upstream, false);
      return json(upstream.status, upstream.body, rewriter);
    }
    const resolved = resolveAccess(caller, base.access);
    if (resolved.kind === 'deny') return refuse(trace, resolved);
    const guard = new RequestGuard({ index: labelIndex, apps, consents, now: clock().getTime() }, resolved);
    const access = guarded(resolved, guard);
    trace.access = access;
    trace.guard = guard;
    // Consents the request itself needs: the patient in context and those of a written body.
    if (guard.loadsConsents) {
      const preload = guard.patientsIn((parsed as { body?: unknown }).body);
      if (resolved.patientId !== undefined) preload.add(resolved.patientId);
      await guard.load(preload);
    }
    if (parsed.interaction === 'batch' || parsed.interaction === 'transaction') return executeBundle(access, parsed, trace, rewriter);
    const decision = authorize(access, parsed, authorizeOptions);
    if (decision.kind === 'deny') return refuse(trace, decision);
    return execute(access, decision, trace, rewriter);
  }

  function describe(trace: Trace, parsed: ParsedRequest): void {
    trace.interaction = parsed.interaction;
    if ('resourceType' in parsed && parsed.resourceType !== undefined) trace.resourceType = parsed.resourceType;
    if ('id' in parsed && parsed.id !== undefined) trace.id = parsed.id;
    if (parsed.interaction === 'vread') trace.versionId = parsed.versionId;
    if (
      parsed.interaction === 'search-type' ||
      parsed.interaction === 'search-system' ||
      parsed.interaction === 'history-type' ||
      parsed.interaction === 'history-system' ||
      parsed.interaction === 'operation'
    ) {
      trace.query = parsed.params.length > 0 ? `${parsed.path}?${encodeParams(parsed.params)}` : parsed.path;
    }
  }

  async function writeAudit(event: APIGatewayProxyEvent, trace: Trace, status: number): Promise<void> {
    const outcome: AuditOutcome = status < 400 ? 'success' : status < 500 ? 'refused' : 'error';
    const caller = trace.caller;
    const identity = event.requestContext?.identity as { sourceIp?: unknown } | undefined;
    const systemClient = trace.access?.context === 'system' && caller?.sub === caller?.clientId;
    const events = buildAuditEvents({
      interaction: trace.interaction,
      outcome,
      ...(outcome !== 'success' && trace.description ? { outcomeDescription: trace.description } : {}),
      recorded: clock(),
      requestId: typeof event.requestContext?.requestId === 'string' ? event.requestContext.requestId : randomUUID(),
      client: {
        clientId: caller?.clientId ?? 'anonymous',
        ...(options.clientIdentifierSystem ? { identifierSystem: options.clientIdentifierSystem } : {}),
        ...(typeof identity?.sourceIp === 'string' ? { sourceIp: identity.sourceIp } : {}),
      },
      ...(caller && !systemClient
        ? {
            user: {
              sub: caller.sub,
              ...(caller.fhirUser ? { fhirUser: caller.fhirUser } : {}),
              ...(options.userIdentifierSystem ? { identifierSystem: options.userIdentifierSystem } : {}),
            },
          }
        : {}),
      ...(caller ? { jti: caller.jti } : {}),
      serverBaseUrl: publicBaseOf(event),
      ...(trace.resourceType ? { resourceType: trace.resourceType } : {}),
      ...(trace.id ? { id: trace.id } : {}),
      ...(trace.versionId ? { versionId: trace.versionId } : {}),
      ...(trace.query ? { query: trace.query } : {}),
      patientIds: [...trace.patients.ids],
      ...(trace.guard ? { consentDecisions: trace.guard.decisions() } : {}),
    });
    for (const e of events) await sink.write(e);
  }

  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const trace: Trace = {
      interaction: guessInteraction(event?.httpMethod),
      patients: new PatientCollector([]),
    };
    let result: APIGatewayProxyResult;
    try {
      trace.patients = new PatientCollector(forBase(publicBaseOf(event)).access.referenceBaseUrls);
      result = await process(event, trace);
    } catch (e) {
      const timeout = e instanceof HealthLakeError && e.kind === 'timeout';
      const message = e instanceof HealthLakeError ? (timeout ? 'The FHIR server did not answer in time' : 'The FHIR server could not be reached') : 'Internal error';
      trace.description = message;
      options.onError?.(message, { error: e instanceof Error ? e.name : 'unknown' });
      result = errorResponse(e instanceof HealthLakeError ? (timeout ? 504 : 502) : 500, e instanceof HealthLakeError ? 'timeout' : 'exception', message);
    }
    try {
      await writeAudit(event, trace, result.statusCode);
    } catch (e) {
      options.onError?.('Audit write failed', { error: e instanceof Error ? e.name : 'unknown' });
      return errorResponse(500, 'exception', 'Internal error');
    }
    return result;
  };
}
