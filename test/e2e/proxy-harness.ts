/**
 * End-to-end harness for the FHIR proxy: the SigV4-checking local FHIR server (seeded with
 * patients A and B), the REAL SMART authorizer with keys generated for the test, and the proxy
 * with its `fetch` pointed at the server. `call()` signs a token, runs the authorizer on the
 * request, puts the authorizer's context into the proxy event and invokes the proxy.
 */
import * as path from 'path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { AuditEvent } from 'fhir/r4';
import { createProxy, type FhirProxy, type ProxyOptions } from '../../lambdas/fhir-proxy/proxy';
import { createValidator, loadProfilesDir, type ResourceValidator } from '../../lambdas/fhir-proxy/validate';
import { createAuthorizer, type SmartAuthorizer } from '../../lambdas/smart-authorizer/authorizer';
import { authorizerEvent, bearer } from '../lambdas/helpers/events';
import { createTestIssuer, type TestIssuer } from '../lambdas/helpers/jwt';
import { startFhirServer, type FhirServer, type FhirServerOptions, type RecordedRequest } from './fhir-server';
import { PATIENT_A, PATIENT_B, SEED_IDS } from './fixtures/seed';

export const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
export const REGION = 'us-east-1';
export const PUBLIC_BASE = 'https://fhir.example.org/r4';
export const USER_POOL_ID = 'us-east-1_ProxyTest1';
export const PUBLIC_CLIENT = 'patient-app';
export const CONFIDENTIAL_CLIENT = 'backend-service';
export const PROFILES_DIR = path.join(__dirname, '..', '..', 'policies', 'profiles');
export const ZT_OBSERVATION = 'https://zero-trust-fhir.example.org/fhir/StructureDefinition/zt-observation';
const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/r4/Observation';

/** Patient A's everyday token scopes. */
export const PATIENT_SCOPES =
  'launch/patient openid fhirUser patient/Patient.rs patient/Observation.cruds patient/Condition.cruds patient/Encounter.rs ' +
  'patient/MedicationRequest.cruds patient/Medication.rs patient/Practitioner.rs patient/Organization.rs';

/** Strings only patient B's data contains (ids and values). Any of them in a response is a leak. */
export const B_IDS = [PATIENT_B, SEED_IDS.obsBVitals, SEED_IDS.obsBLab, SEED_IDS.condB, SEED_IDS.encB, SEED_IDS.medReqB];
export const B_VALUES = ['Bravo', '"Ben"', '38341003', '"value":6.1'];

export interface CallSpec {
  readonly method: string;
  /** FHIR path after `/r4/` (no leading slash); `null` for the route `/r4` itself. */
  readonly path: string | null;
  readonly query?: Record<string, string[]>;
  /** A JSON body (object) or raw text. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Token claims merged over the issuer's defaults. @default patient A with {@link PATIENT_SCOPES} */
  readonly claims?: Record<string, unknown>;
  /** Send no token and no authorizer context. */
  readonly anonymous?: boolean;
  /** The API Gateway stage (API version) the request reaches. @default 'v1' */
  readonly stage?: string;
}

export interface CallResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  readonly body: any;
  /** AuditEvents written for this call. */
  readonly audits: AuditEvent[];
  /** Requests the FHIR server received during this call. */
  readonly forwarded: RecordedRequest[];
}

export interface Harness {
  readonly server: FhirServer;
  readonly issuer: TestIssuer;
  readonly authorizer: SmartAuthorizer;
  readonly proxy: FhirProxy;
  readonly audits: AuditEvent[];
  event(spec: CallSpec, authorizerContext?: Record<string, string>): APIGatewayProxyEvent;
  /** Runs the real authorizer for the spec's token and returns its context. */
  authorize(spec: Pick<CallSpec, 'claims' | 'method' | 'path'>): Promise<Record<string, string>>;
  call(spec: CallSpec): Promise<CallResult>;
  /**
   * Invokes the proxy with this authorizer context as is (no token, the authorizer is not run):
   * for callers whose client ids the test authorizer does not know (registered apps, see
   * `fixtures/consent-seed.ts`). `spec.claims` and `spec.anonymous` are ignored.
   */
  callAs(context: Record<string, string>, spec: CallSpec): Promise<CallResult>;
  close(): Promise<void>;
}

/** The options of the harness's FHIR server besides credentials and region. */
export type HarnessServerOptions = Omit<FhirServerOptions, 'credentials' | 'region'>;

/**
 * The least helpful conformant server: projects `_elements`/`_summary` minimally (dropping
 * `meta`) and resolves conditional references in writes.
 */
/** The default of every harness: every attack test runs against the least helpful conformant server. */
export const LEAST_HELPFUL_SERVER: HarnessServerOptions = { projection: 'minimal', resolveConditionalReferences: true };

/** An authorizer context as the SMART authorizer builds it (every field a string). */
export function authorizerContext(who: {
  readonly clientId: string;
  readonly scope: string;
  readonly patient?: string;
  readonly fhirUser?: string;
  readonly labels?: string;
  readonly sub?: string;
}): Record<string, string> {
  return {
    sub: who.sub ?? `user-${who.fhirUser ?? 'x'}`,
    clientId: who.clientId,
    scope: who.scope,
    patient: who.patient ?? '',
    fhirUser: who.fhirUser ?? '',
    tier: 'standard',
    jti: 'jti-1',
    labels: who.labels ?? '',
  };
}

let validator: ResourceValidator | undefined;

/** One validator per test file (the base definitions load once). */
export function sharedValidator(): ResourceValidator {
  validator ??= createValidator({ profiles: loadProfilesDir(PROFILES_DIR) });
  return validator;
}

export function patientClaims(patient: string = PATIENT_A, scope: string = PATIENT_SCOPES): Record<string, unknown> {
  return { client_id: PUBLIC_CLIENT, scope, patient, fhirUser: `Patient/${patient}` };
}

export async function startHarness(overrides: Partial<ProxyOptions> = {}, serverOptions: HarnessServerOptions = LEAST_HELPFUL_SERVER): Promise<Harness> {
  const server = await startFhirServer({ ...serverOptions, credentials: CREDENTIALS, region: REGION });
  const issuer = createTestIssuer({ userPoolId: USER_POOL_ID, clientId: PUBLIC_CLIENT });
  const authorizer = createAuthorizer({
    userPoolId: USER_POOL_ID,
    clientIds: [PUBLIC_CLIENT, CONFIDENTIAL_CLIENT],
    jwks: issuer.jwks,
    clients: { [PUBLIC_CLIENT]: { tier: 'standard' }, [CONFIDENTIAL_CLIENT]: { tier: 'high' } },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  const audits: AuditEvent[] = [];
  const proxy = createProxy({
    fhirBaseUrl: server.baseUrl,
    region: REGION,
    credentials: CREDENTIALS,
    publicBaseUrl: PUBLIC_BASE,
    readableNonCompartmentTypes: ['Medication', 'Practitioner', 'Organization'],
    confidentialClientIds: [CONFIDENTIAL_CLIENT],
    audit: { write: (e) => void audits.push(e) },
    validator: sharedValidator(),
    maxRetries: 0,
    ...overrides,
  });

  function event(spec: CallSpec, authorizerContext?: Record<string, string>): APIGatewayProxyEvent {
    const body = spec.body === undefined ? null : typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
    const headers: Record<string, string> = {
      ...(body !== null ? { 'Content-Type': 'application/fhir+json' } : {}),
      ...spec.headers,
    };
    return {
      httpMethod: spec.method,
      path: spec.path === null ? '/r4' : `/r4/${spec.path}`,
      resource: spec.path === null ? '/r4' : '/r4/{proxy+}',
      pathParameters: spec.path === null ? null : { proxy: spec.path },
      multiValueQueryStringParameters: spec.query ?? null,
      queryStringParameters: spec.query ? Object.fromEntries(Object.entries(spec.query).map(([k, v]) => [k, v[v.length - 1]])) : null,
      headers,
      multiValueHeaders: {},
      body,
      isBase64Encoded: false,
      stageVariables: null,
      requestContext: {
        requestId: `req-${Math.random().toString(36).slice(2)}`,
        domainName: 'fhir.example.org',
        stage: spec.stage ?? 'v1',
        identity: { sourceIp: '203.0.113.9' },
        ...(authorizerContext ? { authorizer: authorizerContext } : {}),
      } as unknown as APIGatewayProxyEvent['requestContext'],
    };
  }

  async function authorize(spec: Pick<CallSpec, 'claims' | 'method' | 'path'>): Promise<Record<string, string>> {
    const token = issuer.sign(spec.claims ?? patientClaims());
    const authEvent = authorizerEvent(bearer(token), { methodArn: METHOD_ARN, path: `/r4/${spec.path ?? ''}`, httpMethod: spec.method, pathParameters: null });
    const result = await authorizer(authEvent);
    return result.context as Record<string, string>;
  }

  async function call(spec: CallSpec): Promise<CallResult> {
    return invoke(spec, spec.anonymous ? undefined : await authorize(spec));
  }

  async function invoke(spec: CallSpec, context: Record<string, string> | undefined): Promise<CallResult> {
    const auditStart = audits.length;
    const requestStart = server.requests.length;
    const result = await proxy(event(spec, context));
    let body: unknown;
    try {
      body = result.body ? JSON.parse(result.body) : undefined;
    } catch {
      body = undefined;
    }
    return {
      status: result.statusCode,
      headers: (result.headers ?? {}) as Record<string, string>,
      text: result.body,
      body,
      audits: audits.slice(auditStart),
      forwarded: server.requests.slice(requestStart),
    };
  }

  return { server, issuer, authorizer, proxy, audits, event, authorize, call, callAs: (context, spec) => invoke(spec, context), close: () => server.close() };
}

/** The response with every Bundle `link` removed (they echo the caller's own query). */
export function withoutLinks(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLinks);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'link' && (value as { resourceType?: unknown }).resourceType === 'Bundle') continue;
      out[k] = withoutLinks(v);
    }
    return out;
  }
  return value;
}

/**
 * B's ids and values found in a response. Bundle links are left out: they echo the caller's own
 * query (checked separately by {@link linkLeaks}).
 */
export function leaksOfB(result: Pick<CallResult, 'text' | 'body'>): string[] {
  const text = result.body === undefined ? result.text : JSON.stringify(withoutLinks(result.body));
  return [...B_IDS, ...B_VALUES].filter((marker) => text.includes(marker));
}

/** Links that point anywhere but the public base (the datastore URL must never leak). */
export function linkLeaks(result: Pick<CallResult, 'text' | 'headers'>, datastoreBaseUrl: string): string[] {
  const host = new URL(datastoreBaseUrl).host;
  const id = new URL(datastoreBaseUrl).pathname.split('/')[2];
  const all = `${result.text} ${JSON.stringify(result.headers)}`;
  return [host, id, '/datastore/'].filter((needle) => all.includes(needle));
}

/**
 * Forwarded writes whose path, query or body names B or B's resources: every non-GET request
 * except searches, and for a forwarded batch/transaction each of its non-GET entries.
 */
export function writesTouchingB(forwarded: readonly RecordedRequest[]): RecordedRequest[] {
  const touches = (text: string) =>
    B_IDS.some((id) => text.includes(id)) || text.includes(SEED_IDS.obsMoved) || B_VALUES.some((v) => text.includes(v));
  return forwarded.filter((r) => {
    if (r.method === 'GET' || r.method === 'HEAD') return false;
    if (r.method === 'POST' && r.path.endsWith('_search')) return false;
    const body = r.body as { resourceType?: unknown; entry?: Array<{ request?: { method?: string } }> } | undefined;
    if (r.method === 'POST' && r.path === '' && body?.resourceType === 'Bundle') {
      return (body.entry ?? []).some((e) => e.request?.method !== 'GET' && touches(JSON.stringify(e)));
    }
    return touches(`${r.path}?${r.rawQuery} ${JSON.stringify(r.body ?? '')}`);
  });
}
