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
      CLIENTS: 'client1=standard,,k1',
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
    ['CLIENTS in the JSON of earlier kit versions', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: '{"client1":{"tier":"low"}}' }],
    ['CLIENTS empty', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: ' ' }],
    ['CLIENTS an entry without =', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: 'client1' }],
    ['bad tier', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: 'client1=l\u00f6w' }],
    ['USER_POOL_ID missing', { USER_POOL_ID: undefined, CLIENTS: 'client1=' }],
    ['USER_POOL_ID malformed', { USER_POOL_ID: 'pool', CLIENTS: 'client1=' }],
    ['APP_METRICS_APPS missing', { USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: 'client1=', APP_METRICS_NAMESPACE: 'ZeroTrustFhir' }],
  ])('fails closed (401, not a crash) when %s', async (_label, env) => {
    const handler = loadHandler(env);
    await expect(handler(EVENT)).rejects.toThrow(new Error('Unauthorized'));
  });
});

describe('the environment contract (lambdas/smart-authorizer/environment.ts)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseSmartAuthorizerEnvironment, smartAuthorizerEnvironment, SMART_AUTHORIZER_VARIABLES } = require('../../../lambdas/smart-authorizer/environment') as typeof import('../../../lambdas/smart-authorizer/environment');
  type Settings = import('../../../lambdas/smart-authorizer/environment').SmartAuthorizerEnvironment;
  /** As FhirGateway writes it: every client's usage key made from its app id and one suffix. */
  const FULL = {
    userPoolId: 'us-east-1_Pool1234',
    clients: { client1: { tier: 'low', usageIdentifierKey: 'ztf-usage-harbor-patient-portal-0a1b2c' }, client2: { tier: 'high', usageIdentifierKey: 'ztf-usage-summit-payer-bulk-0a1b2c' } },
    revocationTable: 'revocations',
    metrics: { namespace: 'ZeroTrustFhir', clientApps: { client1: 'harbor-patient-portal', client2: 'summit-payer-bulk' }, flushIntervalSeconds: 10 },
  };
  const roundTrip = (settings: Settings): Settings => parseSmartAuthorizerEnvironment(smartAuthorizerEnvironment(settings));

  test('round-trips: what FhirGateway writes is what the handler reads, every variable included', () => {
    const written = smartAuthorizerEnvironment(FULL);
    expect(parseSmartAuthorizerEnvironment(written)).toEqual(FULL);
    expect(Object.keys(written).sort()).toEqual([...SMART_AUTHORIZER_VARIABLES].filter((v) => v !== 'APP_METRICS_MAX_BUFFERED').sort());
    const minimal = { userPoolId: FULL.userPoolId, clients: { client1: {} } };
    expect(roundTrip(minimal)).toEqual(minimal);
  });

  test('compact: one entry per client (tier, app id), the usage keys as one template, the metrics\' map by reference', () => {
    expect(smartAuthorizerEnvironment(FULL)).toMatchObject({
      CLIENTS: 'client1=low,harbor-patient-portal client2=high,summit-payer-bulk',
      USAGE_KEY_TEMPLATE: 'ztf-usage-{app}-0a1b2c',
      APP_METRICS_APPS: '@CLIENTS',
    });
  });

  test('usage keys that follow no one template are written one by one, and still read back', () => {
    const own = { ...FULL, clients: { client1: { tier: 'low', usageIdentifierKey: 'ztf-usage-harbor-patient-portal-0a1b2c' }, client2: { usageIdentifierKey: 'a-key-of-its-own' } } };
    const written = smartAuthorizerEnvironment(own);
    expect(written.USAGE_KEY_TEMPLATE).toBeUndefined();
    expect(written.CLIENTS).toBe('client1=low,harbor-patient-portal,ztf-usage-harbor-patient-portal-0a1b2c client2=,summit-payer-bulk,a-key-of-its-own');
    expect(parseSmartAuthorizerEnvironment(written)).toEqual(own);
    // An app id found twice in its key: the occurrence that fits every client makes the template.
    const twice = { ...FULL, clients: { client1: { usageIdentifierKey: 'app-a-app-a' }, client2: { usageIdentifierKey: 'app-a-app-b' } }, metrics: { clientApps: { client1: 'app-a', client2: 'app-b' } } };
    expect(smartAuthorizerEnvironment(twice).USAGE_KEY_TEMPLATE).toBe('app-a-{app}');
    expect(roundTrip(twice)).toEqual({ ...twice, metrics: { namespace: 'ZeroTrustFhir', clientApps: twice.metrics.clientApps } });
  });

  test('metrics of a client that is not registered here: their map is written whole, the keys one by one', () => {
    const other = { ...FULL, metrics: { namespace: 'ZeroTrustFhir', clientApps: { ...FULL.metrics.clientApps, client3: 'elsewhere' } } };
    const written = smartAuthorizerEnvironment(other);
    expect(written).toMatchObject({ CLIENTS: expect.stringContaining('client1=low,,ztf-usage-'), APP_METRICS_APPS: 'client1=harbor-patient-portal client2=summit-payer-bulk client3=elsewhere' });
    expect(parseSmartAuthorizerEnvironment(written)).toEqual(other);
  });

  test('client ids that are tokens are written as they are, not checked', () => {
    const token = '${Token[TOKEN.1]}';
    const written = smartAuthorizerEnvironment(
      { userPoolId: FULL.userPoolId, clients: { [token]: { tier: 'low', usageIdentifierKey: 'ztf-usage-app-a-x' } }, metrics: { clientApps: { [token]: 'app-a' } } },
      { isUnresolved: (v) => typeof v === 'string' && v.includes('${Token[') },
    );
    expect(written).toMatchObject({ CLIENTS: `${token}=low,app-a`, USAGE_KEY_TEMPLATE: 'ztf-usage-{app}-x', APP_METRICS_APPS: '@CLIENTS' });
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
    // Without the metrics' app ids, the usage keys are written one by one.
    expect(smartAuthorizerEnvironment(without).CLIENTS).toBe('client1=low,,ztf-usage-harbor-patient-portal-0a1b2c client2=high,,ztf-usage-summit-payer-bulk-0a1b2c');
    expect(roundTrip(without)).toEqual(without);
  });

  test.each<[string, object, RegExp]>([
    ['no client', { clients: {} }, /^clients: lists no client/],
    ['a pool id that is not one', { userPoolId: 'pool' }, /^userPoolId: must be a Cognito user pool id/],
    ['a tier that is not a string', { clients: { c: { tier: 3 } } }, /^clients: c\.tier must be a string of printable ASCII without "," or "="/],
    ['a usage key with a comma', { clients: { c: { usageIdentifierKey: 'a,b' } } }, /^clients: c\.usageIdentifierKey must be a string of printable ASCII without "," or "="/],
    ['a client id with a space', { clients: { 'c 1': {} } }, /^clients: has a key that is not a client id: "c 1"/],
  ])('the writer refuses %s, naming the setting', (_name, settings, message) => {
    expect(() => smartAuthorizerEnvironment({ ...FULL, ...settings } as never)).toThrow(message);
  });

  test.each<[string, Record<string, string | undefined>, RegExp]>([
    ['CLIENTS missing', { CLIENTS: undefined }, /^CLIENTS: is not set/],
    ['CLIENTS as JSON (an earlier kit version)', { CLIENTS: '{"client1":{"tier":"low","usageIdentifierKey":"k"}}' }, /^CLIENTS: is JSON, the format of earlier kit versions: deploy the function with the construct of its own kit version, which writes "<client id>=tier,app id,usage key …"/],
    ['CLIENTS without a client', { CLIENTS: '  ' }, /^CLIENTS: lists no client/],
    ['a CLIENTS entry without =', { CLIENTS: 'client1' }, /^CLIENTS: "client1" is not <client id>=tier,app id,usage key/],
    ['a CLIENTS entry of four fields', { CLIENTS: 'client1=low,app-a,key,more' }, /^CLIENTS: client1 has 4 fields, at most 3/],
    ['a client listed twice', { CLIENTS: 'client1=low client1=high' }, /^CLIENTS: lists client1 twice/],
    ['a tier that is not ASCII', { CLIENTS: 'client1=l\u00f6w', USAGE_KEY_TEMPLATE: undefined }, /^CLIENTS: client1\.tier must be a string/],
    ['an app id that is not one', { CLIENTS: 'client1=low,-app' }, /^CLIENTS: client1 must name an app id/],
    ['a usage key next to USAGE_KEY_TEMPLATE', { CLIENTS: 'client1=low,app-a,key' }, /^CLIENTS: client1 gives its usage key, and USAGE_KEY_TEMPLATE gives every client's: one or the other/],
    ['no app id for USAGE_KEY_TEMPLATE', { CLIENTS: 'client1=low' }, /^CLIENTS: client1 names no app id, which USAGE_KEY_TEMPLATE needs for its usage key/],
    ['USAGE_KEY_TEMPLATE without {app}', { USAGE_KEY_TEMPLATE: 'ztf-usage' }, /^USAGE_KEY_TEMPLATE: must hold \{app\} once/],
    ['USER_POOL_ID malformed', { USER_POOL_ID: 'pool' }, /^USER_POOL_ID: must be a Cognito user pool id/],
    ['APP_METRICS_APPS as JSON (an earlier kit version)', { APP_METRICS_APPS: '{"client1":"app-a"}' }, /^APP_METRICS_APPS: is JSON, the format of earlier kit versions/],
    ['APP_METRICS_APPS naming another variable', { APP_METRICS_APPS: '@APP_CLIENT_IDS' }, /^APP_METRICS_APPS: names @APP_CLIENT_IDS; this function's map can only be @CLIENTS/],
    ['APP_METRICS_APPS naming a CLIENTS without app ids', { CLIENTS: 'client1=low,,k1', USAGE_KEY_TEMPLATE: undefined }, /^APP_METRICS_APPS: names @CLIENTS, which maps no client to an app/],
    ['APP_METRICS_FLUSH_SECONDS out of range', { APP_METRICS_FLUSH_SECONDS: '0' }, /^APP_METRICS_FLUSH_SECONDS: must be a whole number/],
  ])('the parser refuses %s, naming the variable', (_name, env, message) => {
    const written: Record<string, string | undefined> = { ...smartAuthorizerEnvironment(FULL), ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete written[k];
    expect(() => parseSmartAuthorizerEnvironment(written)).toThrow(message);
  });
});
