import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

type Handler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
type Module = Record<'discovery' | 'authorize' | 'token' | 'introspect' | 'revoke', Handler>;

const ENV = {
  FHIR_BASE_URL: 'https://fhir.example.org/r4',
  AUTH_BASE_URL: 'https://fhir.example.org/auth',
  COGNITO_DOMAIN_URL: 'https://auth.example.org',
  USER_POOL_ID: 'us-east-1_Pool1234',
  // client1: public, offline_access, 30 days; client2: confidential, may introspect, no validity (Cognito's longest is assumed).
  CLIENTS: 'client1=o,2592000 client2=ci',
  REVOCATION_TABLE: 'revocations',
  SCOPES_SUPPORTED: 'openid fhirUser patient/Observation.rs',
};

/** Loads a fresh copy of the module with `env`. */
function load(env: Record<string, string | undefined>): Module {
  const saved = { ...process.env };
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'SILENT' }, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  let mod: Module | undefined;
  try {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require('../../../lambdas/smart-facade/index') as Module;
    });
  } finally {
    process.env = saved;
  }
  if (!mod) throw new Error('module not loaded');
  return mod;
}

const GET = { httpMethod: 'GET', headers: {}, multiValueHeaders: {}, body: null } as unknown as APIGatewayProxyEvent;

describe('smart-facade handler wiring', () => {
  it('reads the environment into the discovery document', async () => {
    const res = await load(ENV).discovery(GET);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({
      authorization_endpoint: 'https://fhir.example.org/auth/authorize',
      token_endpoint: 'https://fhir.example.org/auth/token',
      scopes_supported: ['openid', 'fhirUser', 'patient/Observation.rs'],
    });
  });

  it('answers a fixed server_error on every route when misconfigured', async () => {
    const mod = load({ ...ENV, REVOCATION_TABLE: undefined });
    for (const route of ['discovery', 'authorize', 'token', 'introspect', 'revoke'] as const) {
      const res = await mod[route](GET);
      expect(res.statusCode).toBe(500);
      expect(JSON.parse(res.body)).toEqual({ error: 'server_error', error_description: expect.any(String) });
      expect(res.body).not.toContain('REVOCATION_TABLE');
    }
  });
});

describe('CLIENTS offlineAccess', () => {
  const authorizeFor = (clientId: string): APIGatewayProxyEvent =>
    ({
      httpMethod: 'GET',
      headers: {},
      multiValueHeaders: {},
      body: null,
      queryStringParameters: null,
      multiValueQueryStringParameters: {
        response_type: ['code'],
        client_id: [clientId],
        redirect_uri: ['https://app.example/cb'],
        scope: ['openid fhirUser offline_access patient/Patient.rs'],
        state: ['s'],
        code_challenge: ['E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'],
        code_challenge_method: ['S256'],
      },
    }) as unknown as APIGatewayProxyEvent;

  it('reaches the authorization endpoint: a client with offlineAccess may ask for offline_access, one without may not', async () => {
    const mod = load(ENV);
    const allowed = await mod.authorize(authorizeFor('client1'));
    expect(allowed.statusCode).toBe(302);
    expect(new URL(String(allowed.headers?.Location)).searchParams.get('scope')).toBe('openid patient/Patient.rs');
    const refused = await mod.authorize(authorizeFor('client2'));
    expect(refused.statusCode).toBe(400);
    expect(JSON.parse(refused.body).error).toBe('invalid_scope');
  });

  it('routes GET /auth/authorize', async () => {
    const mod = load(ENV) as Module & { router: Handler };
    const res = await mod.router({ ...authorizeFor('client1'), resource: '/auth/authorize' });
    expect(res.statusCode).toBe(302);
  });
});

describe('CLIENTS refreshTokenValiditySeconds', () => {
  // Passed to createFacade, which refuses values outside Cognito's range: a refusal here shows the
  // value got there.
  it.each([
    ['minutes instead of seconds', '60'],
    ['a unit', '30d'],
    ['a fraction', '3600.5'],
  ])('%s makes every route a fixed server_error', async (_name, value) => {
    const mod = load({ ...ENV, CLIENTS: `client1=,${value}` });
    const res = await mod.discovery(GET);
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('refreshTokenValiditySeconds');
  });
});

describe('router', () => {
  test('unknown resource templates get a 404 OAuth error without reaching the façade', async () => {
    const { router } = await import('../../../lambdas/smart-facade/index');
    const res = await router({ httpMethod: 'GET', resource: '/auth/token' } as never);
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body).error).toBe('invalid_request');
  });
});

describe('the environment contract (lambdas/smart-facade/environment.ts)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseSmartFacadeEnvironment, smartFacadeEnvironment, SMART_FACADE_VARIABLES } = require('../../../lambdas/smart-facade/environment') as typeof import('../../../lambdas/smart-facade/environment');
  const FULL = {
    fhirBaseUrl: 'https://fhir.example.org/r4',
    authBaseUrl: 'https://fhir.example.org/auth',
    cognitoDomainUrl: 'https://auth.example.org',
    userPoolId: 'us-east-1_Pool1234',
    clients: { client1: { confidential: false, introspection: false, offlineAccess: true, refreshTokenValiditySeconds: 3600 }, client2: { confidential: true, introspection: true } },
    revocationTable: 'revocations',
    scopesSupported: ['openid', 'fhirUser', 'patient/Observation.rs'],
    allowedOrigins: ['https://portal.example.org'],
    upstreamTimeoutMs: 4000,
    apiVersions: [{ version: 'v1', status: 'active' as const }],
  };

  test('round-trips: what SmartIdentity writes is what the handler reads, every variable included', () => {
    const written = smartFacadeEnvironment(FULL);
    expect(parseSmartFacadeEnvironment(written)).toEqual(FULL);
    expect(Object.keys(written).sort()).toEqual([...SMART_FACADE_VARIABLES].sort());
  });

  test.each<[string, object, RegExp]>([
    ['a refresh validity in minutes', { clients: { c: { confidential: false, introspection: false, refreshTokenValiditySeconds: 60 } } }, /^clients: c\.refreshTokenValiditySeconds must be a whole number from 3600/],
    ['a wildcard origin', { allowedOrigins: ['*'] }, /^allowedOrigins: "\*" is not an exact https origin/],
    ['an offlineAccess that is not a boolean', { clients: { c: { confidential: false, introspection: false, offlineAccess: 'yes' } } }, /^clients: c\.offlineAccess must be a boolean/],
    ['no client', { clients: {} }, /^clients: lists no client: register at least one app/],
    ['a client id with a comma', { clients: { 'c,1': { confidential: false, introspection: false } } }, /^clients: has a key that is not a client id: "c,1"/],
    ['a timeout past API Gateway\'s', { upstreamTimeoutMs: 30000 }, /^upstreamTimeoutMs: must be a whole number from 1 to 20000/],
  ])('the writer refuses %s, naming the setting', (_name, settings, message) => {
    expect(() => smartFacadeEnvironment({ ...FULL, ...settings } as never)).toThrow(message);
  });

  test('compact: one entry per client, its true flags and its validity; the rest left out', () => {
    expect(smartFacadeEnvironment(FULL).CLIENTS).toBe('client1=o,3600 client2=ci');
    const all = { c: { confidential: true, introspection: true, offlineAccess: true, refreshTokenValiditySeconds: 315_360_000 }, p: { confidential: false, introspection: false, offlineAccess: false } };
    expect(smartFacadeEnvironment({ ...FULL, clients: all }).CLIENTS).toBe('c=cio,315360000 p=');
  });

  test('client ids that are tokens are written as they are; their entries are still checked', () => {
    const token = '${Token[TOKEN.1]}';
    const isUnresolved = (v: unknown): boolean => typeof v === 'string' && v.includes('${Token[');
    expect(smartFacadeEnvironment({ ...FULL, clients: { [token]: { confidential: false, introspection: false, refreshTokenValiditySeconds: 3600 } } }, { isUnresolved }).CLIENTS).toBe(`${token}=,3600`);
    expect(() => smartFacadeEnvironment({ ...FULL, clients: { [token]: { confidential: false, introspection: false, refreshTokenValiditySeconds: 60 } } }, { isUnresolved })).toThrow(/^clients: .*\.refreshTokenValiditySeconds must be a whole number from 3600/);
  });

  test.each<[string, Record<string, string>, RegExp]>([
    ['REVOCATION_TABLE empty', { REVOCATION_TABLE: '' }, /^REVOCATION_TABLE: is not set/],
    ['UPSTREAM_TIMEOUT_MS with a unit', { UPSTREAM_TIMEOUT_MS: '5s' }, /^UPSTREAM_TIMEOUT_MS: must be a whole number/],
    ['CLIENTS empty', { CLIENTS: '' }, /^CLIENTS: is not set/],
    ['CLIENTS as JSON (an earlier kit version)', { CLIENTS: JSON.stringify({ c: { confidential: false, introspection: false } }) }, /^CLIENTS: is JSON, the format of earlier kit versions: deploy the function with the construct of its own kit version, which writes "<client id>=flags,refreshTokenValiditySeconds …"/],
    ['CLIENTS without a client', { CLIENTS: ' ' }, /^CLIENTS: lists no client/],
    ['a CLIENTS entry without =', { CLIENTS: 'client1,3600' }, /^CLIENTS: "client1,3600" is not <client id>=flags,refreshTokenValiditySeconds/],
    ['a client id with a quote', { CLIENTS: 'client"1=' }, /^CLIENTS: "client\\"1=" is not <client id>=/],
    ['a CLIENTS entry of three fields', { CLIENTS: 'client1=c,3600,x' }, /^CLIENTS: client1 has 3 fields, at most 2/],
    ['a client listed twice', { CLIENTS: 'client1= client1=c' }, /^CLIENTS: lists client1 twice/],
    ['an unknown flag', { CLIENTS: 'client1=x' }, /^CLIENTS: client1 has flags "x": c \(confidential\), i \(introspection\), o \(offlineAccess\), in that order/],
    ['flags out of order', { CLIENTS: 'client1=ic' }, /^CLIENTS: client1 has flags "ic"/],
    ['a validity in minutes', { CLIENTS: 'client1=,60' }, /^CLIENTS: client1\.refreshTokenValiditySeconds must be a whole number from 3600 to 315360000 \(seconds\)/],
    ['a validity with a unit', { CLIENTS: 'client1=,30d' }, /^CLIENTS: client1\.refreshTokenValiditySeconds must be a whole number/],
  ])('the parser refuses %s, naming the variable', (_name, env, message) => {
    expect(() => parseSmartFacadeEnvironment({ ...smartFacadeEnvironment(FULL), ...env })).toThrow(message);
  });

  test('offlineAccess is optional: absent stays absent, and false is written as absent (its default: the façade refuses offline_access for that client)', () => {
    const parsed = parseSmartFacadeEnvironment(smartFacadeEnvironment({ ...FULL, clients: { c: { confidential: false, introspection: false }, f: { confidential: false, introspection: false, offlineAccess: false } } }));
    expect(parsed.clients).toEqual({ c: { confidential: false, introspection: false }, f: { confidential: false, introspection: false } });
  });
});
