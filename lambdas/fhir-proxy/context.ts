/**
 * The FHIR proxy's options, resolved ONCE when the proxy is created into a {@link ProxyContext}:
 * the signed HealthLake client, the audit sink, the validator, the label index and app
 * clearances, the Consent cache (and how it reads Consents), and the per-public-base link
 * rewriters and access options. Nothing here runs per request except {@link ProxyContext.forBase}
 * (a lookup) and the Consent reads the cache asks for.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';
import { isObject, type JsonObject } from '../shared/json';
import { parseApiLifecycle, parseApiVersions, VERSION_PLACEHOLDER, versionedUrl, type ApiLifecycle } from '../shared/api-lifecycle';
import type { AppMetricsRecorder } from '../shared/app-metrics';
import type { AccessOptions } from './access';
import { StdoutAuditSink, type AuditSink } from './audit';
import type { OperationPolicy } from './authorize';
import { DEFAULT_MAX_BUNDLE_ENTRIES } from './bundle';
import { ConsentCache, consentsByPatient, type PatientConsents } from './consent';
import { guardApps, type AppClearance, type GuardApp } from './guard';
import { HealthLakeClient, type HealthLakeResponse } from './healthlake-client';
import { LabelIndex, RESTRICTIVE_LABEL_POLICY, type LabelPolicy } from './labels';
import { LinkRewriter } from './links';
import type { RequestLimits } from './request';
import { createValidator, type ResourceValidator } from './validate';

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
   * `https://fhir.example.org/r4`. With several API versions it names the version as `{version}`
   * (`https://fhir.example.org/{version}/r4`), replaced by the version each request reached.
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
  /**
   * The API versions served side by side, one API Gateway stage each, with their lifecycle
   * (`shared/api-lifecycle.ts`, validated by `parseApiVersions`). A request's version is its
   * `requestContext.stage`: a deprecated version adds `Deprecation`, `Sunset` and
   * `Link rel="deprecation"` to every response and says so in its CapabilityStatement; a retired
   * one, or one past its sunset, answers 410; a stage that is not listed answers 404.
   * @default - one unnamed version, active (no lifecycle headers)
   */
  readonly apiVersions?: readonly ApiLifecycle[];
  /**
   * The single-version form: one lifecycle for every request, whatever its stage.
   * @deprecated give `apiVersions` (a stage per version); not both
   * @default - active
   */
  readonly lifecycle?: ApiLifecycle;
  /**
   * Browser origins allowed to read the answers (exact `https://host[:port]`): a request whose
   * `Origin` is one of them gets `Access-Control-Allow-Origin` with that origin, `Vary: Origin`
   * and the FHIR headers exposed. The same list as the gateway's CORS preflight. @default - none
   */
  readonly allowedOrigins?: readonly string[];
  /** Called with a constant message and an error class name when something unexpected fails. */
  readonly onError?: (message: string, detail: { readonly error: string }) => void;
  /**
   * Per-app metrics (`shared/app-metrics.ts`): one record per request, where the audit is written
   * (outcome, refusal reason, patients touched counted, never emitted).
   * @default - none recorded
   */
  readonly metrics?: AppMetricsRecorder;
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

/** The link rewriter and access options of one public base. */
export interface PublicBase {
  readonly rewriter: LinkRewriter;
  readonly access: AccessOptions;
}

/** Everything a request needs from the options, resolved once. */
export interface ProxyContext {
  readonly options: ProxyOptions;
  readonly client: HealthLakeClient;
  readonly sink: AuditSink;
  readonly validator: ResourceValidator | false;
  readonly clock: () => Date;
  readonly limits: Partial<RequestLimits>;
  readonly maxBundleEntries: number;
  readonly authorizeOptions: { readonly operations: Readonly<Record<string, OperationPolicy>> };
  readonly labelIndex: LabelIndex;
  /** Labels enforced by the deployer (`options.labels` set): write targets checked and pinned. */
  readonly strictLabels: boolean;
  readonly apps: ReadonlyMap<string, GuardApp>;
  /** Undefined when Consent is not evaluated. */
  readonly consents?: ConsentCache;
  /** The API versions, validated (`ProxyOptions.apiVersions`). */
  readonly apiVersions?: readonly ApiLifecycle[];
  /** The single-version lifecycle, validated (`ProxyOptions.lifecycle`). */
  readonly singleLifecycle?: ApiLifecycle;
  /** The rewriter and access options of a public base (cached, at most 16). */
  forBase(publicBaseUrl: string): PublicBase;
  /** The public base of a request of an API version (`publicBaseUrl`, else `https://<domainName>/r4`). */
  publicBaseOf(event: APIGatewayProxyEvent, version: string | undefined): string;
}

export function createContext(options: ProxyOptions): ProxyContext {
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
  const labelIndex = new LabelIndex(options.labels?.policy ?? RESTRICTIVE_LABEL_POLICY);
  const apiVersions = options.apiVersions === undefined ? undefined : parseApiVersions(options.apiVersions);
  if (apiVersions !== undefined && options.lifecycle !== undefined) throw new Error('createProxy: give apiVersions or lifecycle, not both');
  const singleLifecycle = options.lifecycle === undefined ? undefined : parseApiLifecycle(options.lifecycle);
  // Every configured public base: one per API version when the base names `{version}`. A
  // reference under any of them is local, whichever version a request reached.
  const configuredBases = configuredPublicBases(options.publicBaseUrl, apiVersions);
  // Bases under which a Consent's absolute references are local (`data`, `patient`).
  const consentBaseUrls = [client.baseUrl, ...configuredBases];
  const consentTtl = options.labels?.consentCacheTtlMs ?? labelIndex.policy.consent.cacheTtlSeconds * 1000;
  const clock = options.clock ?? (() => new Date());
  const consents = labelIndex.policy.consent.enforce
    ? new ConsentCache({ ttlMs: consentTtl, fetch: (ids) => fetchConsents(client, ids, consentBaseUrls), clock: () => clock().getTime() })
    : undefined;
  const forBase = publicBases(client.baseUrl, options, configuredBases);
  // A configured public base is checked now (a deployment error), not on the first request.
  for (const base of configuredBases) forBase(base);
  return {
    options,
    client,
    sink: options.audit ?? new StdoutAuditSink(),
    validator: options.validator === undefined ? createValidator() : options.validator,
    clock,
    limits: options.limits ?? {},
    maxBundleEntries: options.maxBundleEntries ?? DEFAULT_MAX_BUNDLE_ENTRIES,
    authorizeOptions: { operations: options.operations ?? {} },
    labelIndex,
    strictLabels: options.labels !== undefined,
    apps: guardApps(labelIndex, options.labels?.apps ?? []),
    ...(consents ? { consents } : {}),
    forBase,
    ...(apiVersions ? { apiVersions } : {}),
    ...(singleLifecycle ? { singleLifecycle } : {}),
    publicBaseOf: (event, version) => publicBaseOf(options, event, version),
  };
}

/** The public bases `publicBaseUrl` names: one, or one per API version when it names `{version}`. */
function configuredPublicBases(publicBaseUrl: string | undefined, apiVersions: readonly ApiLifecycle[] | undefined): string[] {
  if (publicBaseUrl === undefined) return [];
  if (!publicBaseUrl.includes(VERSION_PLACEHOLDER)) return [publicBaseUrl];
  if (apiVersions === undefined) throw new Error(`createProxy: publicBaseUrl names ${VERSION_PLACEHOLDER} but no apiVersions are given`);
  return apiVersions.map((v) => versionedUrl(publicBaseUrl, v.version));
}

function publicBases(datastoreBase: string, options: ProxyOptions, configuredBases: readonly string[]): (publicBaseUrl: string) => PublicBase {
  const readable = new Set(options.readableNonCompartmentTypes ?? []);
  const confidential = new Set(options.confidentialClientIds ?? []);
  const cache = new Map<string, PublicBase>();
  return (publicBaseUrl) => {
    let found = cache.get(publicBaseUrl);
    if (!found) {
      const rewriter = new LinkRewriter({ datastoreBaseUrl: datastoreBase, publicBaseUrl });
      found = {
        rewriter,
        access: {
          readableNonCompartmentTypes: readable,
          confidentialClientIds: confidential,
          referenceBaseUrls: [...new Set([rewriter.publicBaseUrl, ...configuredBases.map((b) => b.replace(/\/+$/, '')), rewriter.datastoreBaseUrl])],
        },
      };
      if (cache.size >= 16) cache.clear();
      cache.set(publicBaseUrl, found);
    }
    return found;
  };
}

function publicBaseOf(options: ProxyOptions, event: APIGatewayProxyEvent, version: string | undefined): string {
  if (options.publicBaseUrl !== undefined) return versionedUrl(options.publicBaseUrl, version);
  const domain = event?.requestContext?.domainName;
  return typeof domain === 'string' && /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/.test(domain) ? `https://${domain}/r4` : 'https://localhost/r4';
}

/**
 * Reads the Consents of some patients through the signed client. A chunk that cannot be read
 * leaves its patients out (the cache marks them unavailable: an outage); a malformed Consent
 * makes its patient unavailable (`consentsByPatient`).
 */
async function fetchConsents(client: HealthLakeClient, ids: readonly string[], baseUrls: readonly string[]): Promise<Map<string, PatientConsents>> {
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
      isObject(body) && body.resourceType === 'Bundle' && !(Array.isArray(body.link) && body.link.some((l) => isObject(l) && l.relation === 'next'));
    if (!complete) continue; // unavailable: nothing of these patients is released
    const resources = (Array.isArray(body.entry) ? body.entry : [])
      .filter((e): e is JsonObject => isObject(e) && !(isObject(e.search) && e.search.mode === 'outcome'))
      .map((e) => e.resource);
    for (const [id, state] of consentsByPatient(resources, chunk, baseUrls)) {
      out.set(id, state.kind === 'unavailable' ? ({ ...state, reason: 'malformed' } as PatientConsents) : state);
    }
  }
  return out;
}
