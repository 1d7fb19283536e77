import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

type Handler = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

const EVENT = {
  type: 'REQUEST',
  methodArn: 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/r4/Patient',
  headers: {},
  multiValueHeaders: {},
} as unknown as APIGatewayRequestAuthorizerEvent;

/** Loads a fresh copy of the handler module with `env`. */
function loadHandler(env: Record<string, string | undefined>): Handler {
  const saved = { ...process.env };
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'SILENT' }, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  let handler: Handler | undefined;
  try {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      handler = (require('../../../lambdas/smart-authorizer/index') as { handler: Handler }).handler;
    });
  } finally {
    process.env = saved;
  }
  if (!handler) throw new Error('handler not loaded');
  return handler;
}

describe('smart-authorizer handler wiring', () => {
  const realFetch = global.fetch;
  let fetchMock: jest.Mock;

  beforeEach(() => {
    fetchMock = jest.fn(async () => {
      throw new Error('no network in tests');
    });
    global.fetch = fetchMock as unknown as typeof fetch;
  });

  afterEach(() => {
    global.fetch = realFetch;
  });

  it('fetches the pool JWKS at cold start and denies a request without a token', async () => {
    const handler = loadHandler({
      USER_POOL_ID: 'us-east-1_Pool1234',
      CLIENTS: JSON.stringify({ client1: { tier: 'standard', usageIdentifierKey: 'k1' } }),
      REVOCATION_TABLE: undefined,
    });
    expect(fetchMock).toHaveBeenCalled();
    expect(String(fetchMock.mock.calls[0][0])).toBe(
      'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool1234/.well-known/jwks.json',
    );
    await expect(handler(EVENT)).rejects.toThrow(new Error('Unauthorized'));
  });

  it.each([
    ['CLIENTS missing', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: undefined }],
    ['CLIENTS not JSON', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: '{nope' }],
    ['CLIENTS empty', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: '{}' }],
    ['CLIENTS an array', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: '["client1"]' }],
    ['bad tier', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: '{"client1":{"tier":3}}' }],
    ['USER_POOL_ID missing', { USER_POOL_ID: undefined, CLIENTS: '{"client1":{}}' }],
    ['USER_POOL_ID malformed', { USER_POOL_ID: 'pool', CLIENTS: '{"client1":{}}' }],
    ['APP_METRICS_APPS missing', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: '{"client1":{}}', APP_METRICS_NAMESPACE: 'ZeroTrustFhir' }],
  ])('fails closed (401, not a crash) when %s', async (_label, env) => {
    const handler = loadHandler(env);
    await expect(handler(EVENT)).rejects.toThrow(new Error('Unauthorized'));
  });
});

describe('the environment contract (lambdas/smart-authorizer/environment.ts)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseSmartAuthorizerEnvironment, smartAuthorizerEnvironment } = require('../../../lambdas/smart-authorizer/environment') as typeof import('../../../lambdas/smart-authorizer/environment');
  const FULL = {
    userPoolId: 'us-east-1_Pool1234',
    clients: { client1: { tier: 'low', usageIdentifierKey: 'ztf-usage-a' }, client2: { tier: 'high' } },
    revocationTable: 'revocations',
    metrics: { namespace: 'ZeroTrustFhir', clientApps: { client1: 'harbor-patient-portal', client2: 'summit-payer-bulk' }, flushIntervalSeconds: 10 },
  };

  test('round-trips: what FhirGateway writes is what the handler reads', () => {
    expect(parseSmartAuthorizerEnvironment(smartAuthorizerEnvironment(FULL))).toEqual(FULL);
    const minimal = { userPoolId: FULL.userPoolId, clients: { client1: {} } };
    expect(parseSmartAuthorizerEnvironment(smartAuthorizerEnvironment(minimal))).toEqual(minimal);
  });

  test('the contract loads no Powertools (the constructs write it) and defaults to the recorder\'s namespace', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const contract = require('../../../lambdas/shared/app-metrics-environment') as typeof import('../../../lambdas/shared/app-metrics-environment');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const recorder = require('../../../lambdas/shared/app-metrics') as typeof import('../../../lambdas/shared/app-metrics');
    expect(contract.DEFAULT_NAMESPACE).toBe(recorder.DEFAULT_APP_METRICS_NAMESPACE);
    const source = require('fs').readFileSync(require.resolve('../../../lambdas/shared/app-metrics-environment'), 'utf8') as string;
    expect(source).not.toMatch(/^import \{[^}]*\} from '\.\/app-metrics';/m);
  });

  test('the metrics are written only when given', () => {
    const { metrics: _metrics, ...without } = FULL;
    expect(Object.keys(smartAuthorizerEnvironment(without)).filter((k) => k.startsWith('APP_METRICS_'))).toEqual([]);
    expect(smartAuthorizerEnvironment(FULL)).toMatchObject({ APP_METRICS_NAMESPACE: 'ZeroTrustFhir', APP_METRICS_APPS: JSON.stringify(FULL.metrics.clientApps) });
  });

  test.each<[string, object, RegExp]>([
    ['no client', { clients: {} }, /^clients: lists no client/],
    ['a pool id that is not one', { userPoolId: 'pool' }, /^userPoolId: must be a Cognito user pool id/],
    ['a tier that is not a string', { clients: { c: { tier: 3 } } }, /^clients: c\.tier must be a string/],
  ])('the writer refuses %s, naming the setting', (_name, settings, message) => {
    expect(() => smartAuthorizerEnvironment({ ...FULL, ...settings } as never)).toThrow(message);
  });

  test.each<[string, Record<string, string | undefined>, RegExp]>([
    ['CLIENTS missing', { CLIENTS: undefined }, /^CLIENTS: is not set/],
    ['CLIENTS not JSON', { CLIENTS: '{nope' }, /^CLIENTS: is not valid JSON/],
    ['CLIENTS an array', { CLIENTS: '["client1"]' }, /^CLIENTS: must be a JSON object/],
    ['USER_POOL_ID malformed', { USER_POOL_ID: 'pool' }, /^USER_POOL_ID: must be a Cognito user pool id/],
    ['APP_METRICS_APPS not an object', { APP_METRICS_APPS: '["client1"]' }, /^APP_METRICS_APPS: must be a JSON object/],
    ['APP_METRICS_FLUSH_SECONDS out of range', { APP_METRICS_FLUSH_SECONDS: '0' }, /^APP_METRICS_FLUSH_SECONDS: must be a whole number/],
  ])('the parser refuses %s, naming the variable', (_name, env, message) => {
    const written: Record<string, string | undefined> = { ...smartAuthorizerEnvironment(FULL), ...env };
    expect(() => parseSmartAuthorizerEnvironment(written)).toThrow(message);
  });
});
