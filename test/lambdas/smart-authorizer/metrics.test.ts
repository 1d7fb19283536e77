/**
 * The SMART authorizer's per-app metrics: one record per call (allowed, denied by reason, error),
 * the client id only from a token that verified; and no EMF line ever holds the token, the
 * subject, the patient or any claim value.
 */
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { AppMetrics, UNREGISTERED } from '../../../lambdas/shared/app-metrics';
import { InMemoryRevocationStore, type RevocationStore } from '../../../lambdas/shared/revocation';
import { createAuthorizer, type SmartAuthorizer } from '../../../lambdas/smart-authorizer/authorizer';
import { authorizerEvent, bearer } from '../helpers/events';
import { createTestIssuer, type TestIssuer } from '../helpers/jwt';

const USER_POOL_ID = 'us-east-1_MetricsPool1';
const CLIENT_ID = 'app-client-1';
const OTHER_CLIENT_ID = 'app-client-2';
const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abc123def4/prod/GET/r4/Observation';
const CLIENT_APPS = { [CLIENT_ID]: 'harbor-patient-portal', [OTHER_CLIENT_ID]: 'cardio-insight' };
const PATIENT = 'pat-7f3e9a';
const FHIR_USER = 'Patient/pat-7f3e9a';
const SCOPE = 'launch/patient openid fhirUser patient/Observation.rs patient/Condition.rs';
const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

interface Emf {
  _aws: { CloudWatchMetrics: Array<{ Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
  [key: string]: unknown;
}

let issuer: TestIssuer;
const lines: string[] = [];
/** Every token and claim value used, for the scan. */
const secrets = new Set<string>();
let revocation: InMemoryRevocationStore;
let authorize: SmartAuthorizer;

const now = () => Math.floor(Date.now() / 1000);

function sign(claims: Record<string, unknown> = {}, options?: Parameters<TestIssuer['sign']>[1]): string {
  const full: Record<string, unknown> = { ...issuer.defaultClaims(), scope: SCOPE, patient: PATIENT, fhirUser: FHIR_USER, ...claims };
  const token = issuer.sign(full, { raw: true, ...options });
  secrets.add(token);
  for (const key of ['sub', 'jti', 'origin_jti', 'username', 'event_id']) if (typeof full[key] === 'string') secrets.add(full[key] as string);
  return token;
}

function event(token: string | null, overrides: Partial<APIGatewayRequestAuthorizerEvent> = {}): APIGatewayRequestAuthorizerEvent {
  return authorizerEvent(token === null ? null : bearer(token), { methodArn: METHOD_ARN, ...overrides });
}

/** Runs one call and returns what it recorded: `{ clientId, appId, outcome, reason }`. */
async function recorded(run: () => Promise<unknown>) {
  const start = lines.length;
  let allowed = true;
  try {
    await run();
  } catch (e) {
    expect((e as Error).message).toBe('Unauthorized');
    allowed = false;
  }
  const docs = lines.slice(start).map((l) => JSON.parse(l) as Emf);
  const main = docs.find((d) => d.Requests !== undefined)!;
  expect(docs.filter((d) => d.Requests !== undefined)).toHaveLength(1);
  expect(main.Requests).toBe(1);
  const denial = docs.find((d) => d.Reason !== undefined);
  return { allowed, clientId: main.ClientId, appId: main.AppId, errors: main.Errors, reason: denial?.Reason };
}

beforeAll(() => {
  issuer = createTestIssuer({ userPoolId: USER_POOL_ID, clientId: CLIENT_ID });
});

beforeEach(() => {
  revocation = new InMemoryRevocationStore();
  authorize = createAuthorizer({
    userPoolId: USER_POOL_ID,
    clientIds: [CLIENT_ID, OTHER_CLIENT_ID],
    jwks: issuer.jwks,
    revocation,
    logger: QUIET,
    metrics: new AppMetrics({ service: 'smart-authorizer', clientApps: CLIENT_APPS, maxBufferedRequests: 1, sink: (l) => void lines.push(l) }),
  });
});

describe('authorizer: one metrics record per call', () => {
  test('allowed: the verified client and its app', async () => {
    const r = await recorded(() => authorize(event(sign())));
    expect(r).toEqual({ allowed: true, clientId: CLIENT_ID, appId: 'harbor-patient-portal', errors: 0, reason: undefined });
    const other = await recorded(() => authorize(event(sign({ client_id: OTHER_CLIENT_ID }))));
    expect(other).toMatchObject({ allowed: true, clientId: OTHER_CLIENT_ID, appId: 'cardio-insight' });
  });

  test('revoked: jti or origin_jti, counted under the verified client', async () => {
    const jti = `jti-${Math.random().toString(36).slice(2)}`;
    await revocation.revoke(jti, now() + 300);
    expect(await recorded(() => authorize(event(sign({ jti }))))).toMatchObject({ allowed: false, clientId: CLIENT_ID, reason: 'revoked' });
    const family = `origin-${Math.random().toString(36).slice(2)}`;
    await revocation.revoke(family, now() + 300);
    expect(await recorded(() => authorize(event(sign({ client_id: OTHER_CLIENT_ID, origin_jti: family }))))).toMatchObject({ clientId: OTHER_CLIENT_ID, reason: 'revoked' });
  });

  test('invalid token: never verified, so no client id is believed (unregistered)', async () => {
    const cases: Array<[string, () => APIGatewayRequestAuthorizerEvent]> = [
      ['expired', () => event(sign({ exp: now() - 60 }))],
      ['wrong signature (key in no JWKS)', () => event(sign({}, { key: 'foreign' }))],
      ['alg none', () => event(sign({}, { alg: 'none' }))],
      ['HS256 confusion', () => event(sign({}, { alg: 'HS256' }))],
      ['not a JWS', () => event('not-a-token')],
      ['no header', () => event(null)],
      ['an unregistered client_id', () => event(sign({ client_id: 'app-client-9' }))],
      ['an id token', () => event(sign({ token_use: 'id' }))],
    ];
    for (const [name, make] of cases) {
      const r = await recorded(() => authorize(make()));
      expect({ name, ...r }).toEqual({ name, allowed: false, clientId: UNREGISTERED, appId: UNREGISTERED, errors: 0, reason: 'invalid-token' });
    }
  });

  test('a verified token whose claims are malformed is invalid-token, under its client', async () => {
    expect(await recorded(() => authorize(event(sign({ patient: 'not a fhir id!' }))))).toMatchObject({ clientId: CLIENT_ID, reason: 'invalid-token' });
  });

  test('scope: a verified token without a FHIR resource scope', async () => {
    expect(await recorded(() => authorize(event(sign({ scope: 'openid profile' }))))).toMatchObject({ allowed: false, clientId: CLIENT_ID, reason: 'scope' });
  });

  test('other: a malformed method ARN', async () => {
    expect(await recorded(() => authorize(event(sign(), { methodArn: 'arn:aws:lambda:x' })))).toMatchObject({ allowed: false, clientId: UNREGISTERED, reason: 'other' });
  });

  test('error: the revocation store fails; still a 401, counted as an error of the client', async () => {
    const failing: RevocationStore = { isRevoked: () => Promise.reject(new Error('DynamoDB down')), revoke: () => Promise.resolve() };
    const withFailingStore = createAuthorizer({
      userPoolId: USER_POOL_ID, clientIds: [CLIENT_ID], jwks: issuer.jwks, revocation: failing, logger: QUIET,
      metrics: new AppMetrics({ service: 'smart-authorizer', clientApps: CLIENT_APPS, maxBufferedRequests: 1, sink: (l) => void lines.push(l) }),
    });
    expect(await recorded(() => withFailingStore(event(sign())))).toEqual({ allowed: false, clientId: CLIENT_ID, appId: 'harbor-patient-portal', errors: 1, reason: undefined });
  });

  test('without metrics nothing is recorded and the answers are the same', async () => {
    const plain = createAuthorizer({ userPoolId: USER_POOL_ID, clientIds: [CLIENT_ID], jwks: issuer.jwks, logger: QUIET });
    const start = lines.length;
    await expect(plain(event(sign()))).resolves.toMatchObject({ principalId: expect.any(String) });
    await expect(plain(event('x'))).rejects.toThrow('Unauthorized');
    expect(lines.length).toBe(start);
  });
});

describe('authorizer: no PHI or token in any EMF line', () => {
  test('no line holds a token, a subject, a jti, the patient or the fhirUser', () => {
    expect(lines.length).toBeGreaterThan(10);
    const all = lines.join('\n');
    const forbidden = [...secrets, PATIENT, FHIR_USER, 'Patient/', 'app-client-9', 'not-a-token', 'patient/Observation', 'openid', USER_POOL_ID, 'DynamoDB'];
    expect(forbidden.filter((s) => all.includes(s))).toEqual([]);
    for (const line of lines) {
      const doc = JSON.parse(line) as Emf;
      const cw = doc._aws.CloudWatchMetrics[0];
      const keys = new Set(['_aws', ...cw.Dimensions.flat(), ...cw.Metrics.map((m) => m.Name)]);
      expect(Object.keys(doc).filter((k) => !keys.has(k))).toEqual([]);
      for (const k of cw.Dimensions.flat()) {
        expect([CLIENT_ID, OTHER_CLIENT_ID, ...Object.values(CLIENT_APPS), UNREGISTERED, 'smart-authorizer', 'scope', 'revoked', 'invalid-token', 'other']).toContain(doc[k]);
      }
    }
  });
});
