/**
 * The Lambda entry point: environment → `createProxy`, against the local FHIR server, with the
 * SigV4 credentials taken from the environment as the Lambda runtime provides them.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { appClientIdsOf, FHIR_PROXY_VARIABLES, fhirProxyEnvironment, parseFhirProxyEnvironment, type FhirProxyEnvironment } from '../../../lambdas/fhir-proxy/environment';
import { PATIENT_A, SEED_IDS } from '../../e2e/fixtures/seed';
import { CREDENTIALS, patientClaims, PROFILES_DIR, PUBLIC_BASE, PUBLIC_CLIENT, REGION, startHarness, ZT_OBSERVATION, type Harness } from '../../e2e/proxy-harness';

type Handler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

let h: Harness;
const saved = { ...process.env };

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  process.env = saved;
  await h.close();
});

type IndexModule = typeof import('../../../lambdas/fhir-proxy/index');

/** Loads the module afresh (its init reads the environment) with `env` over the test's own. */
function loadIndex(env: Record<string, string | undefined>): IndexModule {
  process.env = { ...saved, ...env };
  let mod: IndexModule | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('../../../lambdas/fhir-proxy/index') as IndexModule;
  });
  return mod as IndexModule;
}

function loadHandler(env: Record<string, string | undefined>): Handler {
  return loadIndex(env).handler;
}

function captureStdout(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return { lines, restore: () => spy.mockRestore() };
}

/** The environment as FhirGateway writes it (environment.ts), plus what Lambda sets. */
const ENV = (): Record<string, string | undefined> => ({
  ...fhirProxyEnvironment({
    fhirBaseUrl: h.server.baseUrl,
    publicBaseUrl: PUBLIC_BASE,
    readableNonCompartmentTypes: ['Medication', 'Practitioner'],
    profilesDir: PROFILES_DIR,
    requiredProfiles: { Observation: [ZT_OBSERVATION] },
    maxBodyBytes: 4096,
  }),
  AWS_REGION: REGION,
  AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  AWS_SESSION_TOKEN: undefined,
  POWERTOOLS_LOG_LEVEL: 'SILENT',
});

describe('lambdas/fhir-proxy/index.ts', () => {
  test('wires the environment: SigV4 from the role credentials, readable types, profiles, body limit, stdout audit', async () => {
    const handler = loadHandler(ENV());
    const claims = patientClaims(PATIENT_A, 'patient/Observation.crs patient/Medication.rs');
    const out = captureStdout();
    let read: APIGatewayProxyResult;
    let invalid: APIGatewayProxyResult;
    let large: APIGatewayProxyResult;
    try {
      read = await handler(h.event({ method: 'GET', path: `Medication/${SEED_IDS.medication}` }, await h.authorize({ method: 'GET', path: 'x', claims })));
      // Required profile: an Observation without category and effective[x] is refused.
      const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${PATIENT_A}` } };
      invalid = await handler(h.event({ method: 'POST', path: 'Observation', body: obs }, await h.authorize({ method: 'POST', path: 'x', claims })));
      large = await handler(
        h.event({ method: 'POST', path: 'Observation', body: { ...obs, note: [{ text: 'x'.repeat(5000) }] } }, await h.authorize({ method: 'POST', path: 'x', claims })),
      );
    } finally {
      out.restore();
    }
    expect(read.statusCode).toBe(200);
    expect(h.server.requests[h.server.requests.length - 1].signatureValid).toBe(true);
    expect(invalid.statusCode).toBe(422);
    expect(JSON.parse(invalid.body).issue.map((i: { expression: string[] }) => i.expression[0])).toEqual(['Observation.category', 'Observation.effective[x]']);
    expect(large.statusCode).toBe(413);
    const audits = out.lines.filter((l) => l.startsWith('{"resourceType":"AuditEvent"'));
    expect(audits).toHaveLength(3);
    expect(audits.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
  });

  test('a configuration error refuses every request with 500, audited, and forwards nothing', async () => {
    const out = captureStdout();
    const before = h.server.requests.length;
    let result: APIGatewayProxyResult;
    try {
      const handler = loadHandler({ ...ENV(), READABLE_NON_COMPARTMENT_TYPES: 'NotAType' });
      expect(() => parseFhirProxyEnvironment({ READABLE_NON_COMPARTMENT_TYPES: 'NotAType', FHIR_BASE_URL: 'https://x' })).toThrow(/^READABLE_NON_COMPARTMENT_TYPES: "NotAType" is not an R4 resource type/);
      result = await handler(h.event({ method: 'GET', path: `Patient/${PATIENT_A}` }, await h.authorize({ method: 'GET', path: 'x' })));
    } finally {
      out.restore();
    }
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('NotAType');
    expect(h.server.requests.length).toBe(before);
    expect(out.lines.some((l) => l.includes('"resourceType":"AuditEvent"') && l.includes('"outcome":"8"'))).toBe(true);
  });

  test.each([
    ['FHIR_BASE_URL missing', { FHIR_BASE_URL: undefined }, /^FHIR_BASE_URL: is not set/],
    ['ALLOWED_OPERATIONS invalid', { ALLOWED_OPERATIONS: '{"everything":{"permission":"r","levels":["type"]}}' }, /^ALLOWED_OPERATIONS: invalid operation name everything/],
    ['REQUIRED_PROFILES unknown', { REQUIRED_PROFILES: '{"Observation":["http://example.org/none"]}' }, /not loaded/],
    ['MAX_BODY_BYTES invalid', { MAX_BODY_BYTES: '-1' }, /^MAX_BODY_BYTES: must be a whole number from 1 to 10485760/],
  ])('fromEnvironment refuses %s', (_name, env, error) => {
    const { fromEnvironment } = loadIndex(ENV());
    expect(() => fromEnvironment({ ...ENV(), ...env } as NodeJS.ProcessEnv)).toThrow(error);
  });

  test('APP_METRICS_*: the per-app metrics are recorded as EMF under the namespace, by client and app, never the patient', async () => {
    const env = { ...ENV(), ...fhirProxyEnvironment({ fhirBaseUrl: h.server.baseUrl, metrics: { namespace: 'ZtfTest', clientApps: { [PUBLIC_CLIENT]: 'harbor-patient-portal' } } }) };
    const handler = loadHandler(env);
    const claims = patientClaims(PATIENT_A, 'patient/Observation.crs patient/Medication.rs');
    const out = captureStdout();
    try {
      await handler(h.event({ method: 'GET', path: `Medication/${SEED_IDS.medication}` }, await h.authorize({ method: 'GET', path: 'x', claims })));
    } finally {
      out.restore();
    }
    const emf = out.lines.flatMap((l) => l.split('\n')).filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf.length).toBeGreaterThan(0);
    const doc = emf[0] as { _aws: { CloudWatchMetrics: Array<{ Namespace: string }> }; AppId: string; ClientId: string; Requests: number; service: string };
    expect(doc._aws.CloudWatchMetrics[0].Namespace).toBe('ZtfTest');
    expect(doc).toMatchObject({ service: 'fhir-proxy', ClientId: PUBLIC_CLIENT, AppId: 'harbor-patient-portal', Requests: 1 });
    expect(emf.map((d) => JSON.stringify(d)).join('\n')).not.toContain(PATIENT_A);
  });

  test('ALLOWED_OPERATIONS enables a configured operation', async () => {
    const proxy = loadIndex(ENV()).fromEnvironment({ ...ENV(), ...fhirProxyEnvironment({ fhirBaseUrl: h.server.baseUrl, operations: { meta: { permission: 'r', levels: ['instance'] } } }) } as NodeJS.ProcessEnv);
    const claims = patientClaims(PATIENT_A, 'patient/Observation.rs');
    const out = captureStdout();
    try {
      const ctx = await h.authorize({ method: 'GET', path: 'x', claims });
      const allowed = await proxy(h.event({ method: 'GET', path: `Observation/${SEED_IDS.obsAVitals}/$meta` }, ctx));
      const other = await proxy(h.event({ method: 'GET', path: `Observation/${SEED_IDS.obsBLab}/$meta` }, ctx));
      const refused = await proxy(h.event({ method: 'GET', path: 'Observation/$lastn' }, ctx));
      // The stand-in server does not implement $meta: the forwarded call is answered 400 by it.
      expect(allowed.statusCode).toBe(400);
      expect(other.statusCode).toBe(404); // the instance is checked first
      expect(refused.statusCode).toBe(403);
    } finally {
      out.restore();
    }
  });
});

/** Every setting, as a construct would give them. */
const FULL: FhirProxyEnvironment = {
  fhirBaseUrl: 'https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/',
  publicBaseUrl: 'https://fhir.example.org/r4',
  readableNonCompartmentTypes: ['Medication', 'Practitioner', 'Organization', 'Location'],
  confidentialClientIds: ['1example23456789confidential'],
  operations: { meta: { permission: 'r', levels: ['instance', 'type'] }, validate: { permission: 'c', levels: ['type'] } },
  requiredProfiles: { Observation: ['https://example.org/StructureDefinition/zt-observation'] },
  maxBodyBytes: 1048576,
  healthLakeTimeoutMs: 8000,
  consentCacheTtlSeconds: 30,
  clientIdentifierSystem: 'https://fhir.example.org/sid/client',
  userIdentifierSystem: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool1234',
  profilesDir: '/var/task/profiles',
  fhirDefinitionsFile: '/var/task/fhir-r4-definitions.json',
  prewarmValidator: true,
  labelPolicyFile: '/var/task/labels.json',
  appRegistryFile: '/var/task/apps.json',
  appClientIds: { '1example23456789confidential': 'cardio-insight', '2example23456789public': 'harbor-patient-portal' },
  apiVersions: [
    { version: 'v1', status: 'deprecated', deprecatedAt: '2027-01-01', sunsetAt: '2027-07-01', successor: 'v2', migrationNotesUrl: 'https://fhir.example.org/v2' },
    { version: 'v2', status: 'active' },
  ],
  allowedOrigins: ['https://portal.example.org', 'https://app.example.org:8443'],
  metrics: { namespace: 'ZeroTrustFhir', clientApps: { '1example23456789confidential': 'cardio-insight', '2example23456789public': 'harbor-patient-portal' }, flushIntervalSeconds: 30, maxBufferedRequests: 1000 },
};

describe('the environment contract (lambdas/fhir-proxy/environment.ts)', () => {
  /** Settings the compact form cannot fold: a confidential client without an app id, metrics of a subset of the clients. */
  const UNFOLDED: FhirProxyEnvironment = {
    ...FULL,
    confidentialClientIds: ['1example23456789confidential', '3example23456789other'],
    metrics: { namespace: 'ZeroTrustFhir', clientApps: { '2example23456789public': 'harbor-patient-portal' } },
  };

  test('round-trips: what the construct writes is what the handler reads', () => {
    expect(parseFhirProxyEnvironment(fhirProxyEnvironment(FULL))).toEqual(FULL);
    expect(parseFhirProxyEnvironment(fhirProxyEnvironment(UNFOLDED))).toEqual(UNFOLDED);
    const minimal: FhirProxyEnvironment = { fhirBaseUrl: FULL.fhirBaseUrl };
    expect(parseFhirProxyEnvironment(fhirProxyEnvironment(minimal))).toEqual(minimal);
  });

  test('compact: APP_CLIENT_IDS marks the confidential clients, and the metrics name it instead of repeating its map', () => {
    const written = fhirProxyEnvironment(FULL);
    expect(written).toMatchObject({ APP_CLIENT_IDS: '1example23456789confidential=cardio-insight,c 2example23456789public=harbor-patient-portal', APP_METRICS_APPS: '@APP_CLIENT_IDS' });
    expect(written.CONFIDENTIAL_CLIENT_IDS).toBeUndefined();
    // What APP_CLIENT_IDS cannot carry is written in full.
    expect(fhirProxyEnvironment(UNFOLDED)).toMatchObject({
      APP_CLIENT_IDS: '1example23456789confidential=cardio-insight 2example23456789public=harbor-patient-portal',
      CONFIDENTIAL_CLIENT_IDS: '1example23456789confidential 3example23456789other',
      APP_METRICS_APPS: '2example23456789public=harbor-patient-portal',
    });
    // The confidential clients in another order than APP_CLIENT_IDS: listed, so that they read back in their order.
    const reordered = { ...FULL, appClientIds: { '2example23456789public': 'harbor-patient-portal', '1example23456789confidential': 'cardio-insight', '4example': 'team-app' }, confidentialClientIds: ['4example', '1example23456789confidential'] };
    expect(fhirProxyEnvironment(reordered).CONFIDENTIAL_CLIENT_IDS).toBe('4example 1example23456789confidential');
    expect(parseFhirProxyEnvironment(fhirProxyEnvironment(reordered))).toEqual(reordered);
  });

  test('appClientIdsOf reads the map as written, app ids unchecked (the construct\'s synth-time checks name any app id)', () => {
    expect(appClientIdsOf('ClientA1=team-portal,c ClientB2=Not_An_App')).toEqual({ ClientA1: 'team-portal', ClientB2: 'Not_An_App' });
    expect(appClientIdsOf('ClientA1=team-portal ClientB2=unknown-app')).toEqual({ ClientA1: 'team-portal', ClientB2: 'unknown-app' });
    expect(() => appClientIdsOf('{"ClientA1":"team-portal"}')).toThrow(/^APP_CLIENT_IDS: is JSON/);
  });

  test('every variable the handler reads is written from a setting, and nothing else', () => {
    const written = new Set([...Object.keys(fhirProxyEnvironment(FULL)), ...Object.keys(fhirProxyEnvironment(UNFOLDED))]);
    expect([...written].sort()).toEqual([...FHIR_PROXY_VARIABLES, 'POWERTOOLS_SERVICE_NAME'].sort());
  });

  test('a token-valued setting (a CDK token) is written as it is, not checked', () => {
    const token = '${Token[TOKEN.123]}';
    const env = fhirProxyEnvironment({ fhirBaseUrl: token, confidentialClientIds: [token], labelPolicyFile: '/var/task/labels.json', appClientIds: { [token]: 'cardio-insight' } }, { isUnresolved: (v) => typeof v === 'string' && v.includes('${Token[') });
    expect(env).toMatchObject({ FHIR_BASE_URL: token, APP_CLIENT_IDS: `${token}=cardio-insight,c` });
    expect(() => fhirProxyEnvironment({ fhirBaseUrl: token, labelPolicyFile: '/x/y', appClientIds: { [token]: 'Cardio Insight' } }, { isUnresolved: (v) => typeof v === 'string' && v.includes('${Token[') })).toThrow(/^appClientIds: .* must name an app id/);
  });

  test.each<[string, Partial<FhirProxyEnvironment>, RegExp]>([
    ['a type that is not R4', { readableNonCompartmentTypes: ['Medications'] }, /^readableNonCompartmentTypes: "Medications" is not an R4 resource type/],
    ['a Patient-compartment type as non-compartment', { readableNonCompartmentTypes: ['Observation'] }, /^readableNonCompartmentTypes: Observation is in the Patient compartment/],
    ['a built-in operation', { operations: { export: { permission: 'r', levels: ['system'] } } }, /^operations: invalid operation name export/],
    ['an operation without levels', { operations: { meta: { permission: 'r', levels: [] } } }, /^operations: meta\.levels must list/],
    ['an operation with a bad permission', { operations: { meta: { permission: 'x' as 'r', levels: ['type'] } } }, /^operations: meta\.permission must be one of c, r, u, d, s/],
    ['required profiles of a non-type', { requiredProfiles: { Observations: ['https://x/y'] } }, /^requiredProfiles: "Observations" is not an R4 resource type/],
    ['a body limit above API Gateway\'s', { maxBodyBytes: 11 * 1024 * 1024 }, /^maxBodyBytes: must be a whole number from 1 to 10485760/],
    ['a HealthLake timeout past the Lambda\'s', { healthLakeTimeoutMs: 30_000 }, /^healthLakeTimeoutMs: must be a whole number from 1 to 25000/],
    ['a Consent cache over a minute', { consentCacheTtlSeconds: 61, labelPolicyFile: '/var/task/labels.json' }, /^consentCacheTtlSeconds: must be a whole number from 0 to 60/],
    ['an identifier system that is not a URI', { clientIdentifierSystem: 'client ids' }, /^clientIdentifierSystem: must be an absolute URI/],
    ['an app registry without a label policy', { appRegistryFile: '/var/task/apps.json' }, /^appRegistryFile: needs labelPolicyFile/],
    ['a deprecated version without dates', { apiVersions: [{ version: 'v1', status: 'deprecated' }] }, /^apiVersions: versions\[0\]: a deprecated version \(v1\) needs deprecatedAt and sunsetAt/],
    ['a version listed twice', { apiVersions: [{ version: 'v1', status: 'active' }, { version: 'v1', status: 'active' }] }, /^apiVersions: version v1 is listed twice/],
    ['a successor that is not listed', { apiVersions: [{ version: 'v1', status: 'deprecated', deprecatedAt: '2027-01-01', sunsetAt: '2027-07-01', successor: 'v3' }] }, /^apiVersions: the successor of v1 \(v3\) is not a listed version/],
    ['a wildcard browser origin', { allowedOrigins: ['*'] }, /^allowedOrigins: "\*" is not an exact https origin/],
    ['an http browser origin', { allowedOrigins: ['http://portal.example.org'] }, /^allowedOrigins: "http:\/\/portal\.example\.org" is not an exact https origin/],
    ['a metrics namespace with a colon', { metrics: { namespace: 'a:b', clientApps: {} } }, /^namespace: must be a CloudWatch namespace/],
    ['metrics of no client', { metrics: { clientApps: {} } }, /^clientApps: lists no client/],
    ['an app client id with a comma', { labelPolicyFile: '/x/y', appClientIds: { 'c,1': 'cardio-insight' } }, /^appClientIds: has a key that is not a client id: "c,1"/],
  ])('the writer refuses %s, naming the setting', (_name, settings, message) => {
    expect(() => fhirProxyEnvironment({ fhirBaseUrl: FULL.fhirBaseUrl, ...settings })).toThrow(message);
  });

  test.each<[string, Record<string, string>, RegExp]>([
    ['FHIR_BASE_URL over http to another host', { FHIR_BASE_URL: 'http://healthlake.example' }, /^FHIR_BASE_URL: must be an absolute https URL/],
    ['CONSENT_CACHE_TTL_SECONDS out of range', { CONSENT_CACHE_TTL_SECONDS: '90', LABEL_POLICY_FILE: '/x' }, /^CONSENT_CACHE_TTL_SECONDS: must be a whole number from 0 to 60/],
    ['HEALTHLAKE_TIMEOUT_MS not a number', { HEALTHLAKE_TIMEOUT_MS: '10s' }, /^HEALTHLAKE_TIMEOUT_MS: must be a whole number/],
    ['APP_METRICS_APPS without APP_METRICS_NAMESPACE', { APP_METRICS_APPS: '@APP_CLIENT_IDS' }, /^APP_METRICS_APPS: needs APP_METRICS_NAMESPACE/],
    ['APP_METRICS_NAMESPACE without APP_METRICS_APPS', { APP_METRICS_NAMESPACE: 'ZeroTrustFhir' }, /^APP_METRICS_APPS: is not set/],
    ['APP_METRICS_APPS naming another variable', { APP_METRICS_NAMESPACE: 'N', APP_METRICS_APPS: '@CLIENTS' }, /^APP_METRICS_APPS: names @CLIENTS; this function's map can only be @APP_CLIENT_IDS/],
    ['APP_METRICS_APPS naming an APP_CLIENT_IDS that is not set', { APP_METRICS_NAMESPACE: 'N', APP_METRICS_APPS: '@APP_CLIENT_IDS' }, /^APP_METRICS_APPS: names @APP_CLIENT_IDS, which maps no client to an app/],
    ['APP_CLIENT_IDS as JSON (an earlier kit version)', { APP_CLIENT_IDS: '{"c1":"cardio-insight"}', LABEL_POLICY_FILE: '/x' }, /^APP_CLIENT_IDS: is JSON, the format of earlier kit versions: deploy the function with the construct of its own kit version, which writes "<client id>=app id,c …"/],
    ['an APP_CLIENT_IDS entry without =', { APP_CLIENT_IDS: 'c1:cardio-insight', LABEL_POLICY_FILE: '/x' }, /^APP_CLIENT_IDS: "c1:cardio-insight" is not <client id>=app id,c/],
    ['an APP_CLIENT_IDS entry of three fields', { APP_CLIENT_IDS: 'c1=cardio-insight,c,c', LABEL_POLICY_FILE: '/x' }, /^APP_CLIENT_IDS: c1 has 3 fields, at most 2/],
    ['a client listed twice in APP_CLIENT_IDS', { APP_CLIENT_IDS: 'c1=cardio-insight c1=team-app', LABEL_POLICY_FILE: '/x' }, /^APP_CLIENT_IDS: lists c1 twice/],
    ['an APP_CLIENT_IDS entry without an app id', { APP_CLIENT_IDS: 'c1=', LABEL_POLICY_FILE: '/x' }, /^APP_CLIENT_IDS: c1 must name an app id/],
    ['an APP_CLIENT_IDS flag other than c', { APP_CLIENT_IDS: 'c1=cardio-insight,x', LABEL_POLICY_FILE: '/x' }, /^APP_CLIENT_IDS: c1 has flags "x": only c \(a confidential client\)/],
    ['CONFIDENTIAL_CLIENT_IDS next to marked clients', { APP_CLIENT_IDS: 'c1=cardio-insight,c', CONFIDENTIAL_CLIENT_IDS: 'c1', LABEL_POLICY_FILE: '/x' }, /^CONFIDENTIAL_CLIENT_IDS: is set, and APP_CLIENT_IDS marks confidential clients \(,c\): one or the other/],
    ['APP_CLIENT_IDS without a label policy', { APP_CLIENT_IDS: 'c1=cardio-insight' }, /^APP_CLIENT_IDS: needs LABEL_POLICY_FILE/],
    ['PREWARM_VALIDATOR not a boolean', { PREWARM_VALIDATOR: 'yes' }, /^PREWARM_VALIDATOR: must be true or false/],
    ['API_VERSIONS invalid', { API_VERSIONS: '[{"version":"v1","status":"gone"}]' }, /^API_VERSIONS: versions\[0\]: status must be active, deprecated or retired/],
    ['API_VERSIONS not a list', { API_VERSIONS: '{"version":"v1","status":"active"}' }, /^API_VERSIONS: the versions must be a non-empty list/],
  ])('the parser refuses %s, naming the variable', (_name, env, message) => {
    expect(() => parseFhirProxyEnvironment({ FHIR_BASE_URL: FULL.fhirBaseUrl, ...env })).toThrow(message);
  });
});
