/**
 * The Lambda entry point: environment → `createProxy`, against the local FHIR server, with the
 * SigV4 credentials taken from the environment as the Lambda runtime provides them.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { PATIENT_A, SEED_IDS } from '../../e2e/fixtures/seed';
import { CREDENTIALS, patientClaims, PROFILES_DIR, PUBLIC_BASE, REGION, startHarness, ZT_OBSERVATION, type Harness } from '../../e2e/proxy-harness';

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

const ENV = () => ({
  FHIR_BASE_URL: h.server.baseUrl,
  AWS_REGION: REGION,
  AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  AWS_SESSION_TOKEN: undefined,
  PUBLIC_BASE_URL: PUBLIC_BASE,
  READABLE_NON_COMPARTMENT_TYPES: 'Medication, Practitioner',
  PROFILES_DIR,
  REQUIRED_PROFILES: JSON.stringify({ Observation: [ZT_OBSERVATION] }),
  MAX_BODY_BYTES: '4096',
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
    ['FHIR_BASE_URL missing', { FHIR_BASE_URL: undefined }, /FHIR_BASE_URL/],
    ['ALLOWED_OPERATIONS invalid', { ALLOWED_OPERATIONS: '{"everything":{"permission":"r","levels":["type"]}}' }, /invalid operation/],
    ['REQUIRED_PROFILES unknown', { REQUIRED_PROFILES: '{"Observation":["http://example.org/none"]}' }, /not loaded/],
    ['MAX_BODY_BYTES invalid', { MAX_BODY_BYTES: '-1' }, /positive integer/],
  ])('fromEnvironment refuses %s', (_name, env, error) => {
    const { fromEnvironment } = loadIndex(ENV());
    expect(() => fromEnvironment({ ...ENV(), ...env } as NodeJS.ProcessEnv)).toThrow(error);
  });

  test('ALLOWED_OPERATIONS enables a configured operation', async () => {
    const proxy = loadIndex(ENV()).fromEnvironment({ ...ENV(), ALLOWED_OPERATIONS: '{"meta":{"permission":"r","levels":["instance"]}}' } as NodeJS.ProcessEnv);
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
