/**
 * The façade's authorization endpoint (`GET /auth/authorize`, `lambdas/smart-facade/authorize.ts`):
 * each refusal with its reason, the exact 302 to Cognito, the scope filtering, no redirect ever
 * to the app's URI, bounded and single-valued parameters, API versions.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createFacade, type FacadeLogger, type SmartFacade, type SmartFacadeOptions } from '../../../lambdas/smart-facade/facade';
import { MAX_PARAMETERS, MAX_QUERY_CHARS, MAX_SCOPES } from '../../../lambdas/smart-facade/authorize';
import { InMemoryRevocationStore } from '../../../lambdas/shared/revocation';

const POOL = 'us-east-1_FacadePool1';
const COGNITO = 'https://auth.example.org';
const FHIR = 'https://fhir.example.org/r4';
const PORTAL = 'portal7client'; // public, registered for offline_access
const KIOSK = 'kiosk7client'; // public, not registered for offline_access
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'; // RFC 7636 appendix B
const CALLBACK = 'https://portal.example/cb';

interface Logged {
  level: string;
  message: string;
  extra: Record<string, unknown>;
}

let logged: Logged[];
const logger: FacadeLogger = {
  info: (message, ...extra) => void logged.push({ level: 'info', message, extra: Object.assign({}, ...extra) }),
  warn: (message, ...extra) => void logged.push({ level: 'warn', message, extra: Object.assign({}, ...extra) }),
  error: (message, ...extra) => void logged.push({ level: 'error', message, extra: Object.assign({}, ...extra) }),
};

function makeFacade(overrides: Partial<SmartFacadeOptions> = {}): SmartFacade {
  return createFacade({
    fhirBaseUrl: FHIR,
    authBaseUrl: 'https://fhir.example.org/auth',
    cognitoDomainUrl: COGNITO,
    userPoolId: POOL,
    clientIds: [PORTAL, KIOSK],
    offlineAccessClientIds: [PORTAL],
    revocation: new InMemoryRevocationStore(),
    jwks: { keys: [] },
    logger,
    ...overrides,
  });
}

/** A valid request's parameters. */
function valid(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    response_type: 'code',
    client_id: PORTAL,
    redirect_uri: CALLBACK,
    scope: 'launch/patient openid fhirUser offline_access patient/Observation.rs',
    state: 'st-1',
    aud: FHIR,
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    ...extra,
  };
}

/** An API Gateway event for `GET /auth/authorize` with these parameters (decoded, as API Gateway gives them). */
function event(params: Record<string, string | undefined> | Array<[string, string]>, opts: { method?: string; stage?: string; multi?: boolean } = {}): APIGatewayProxyEvent {
  const pairs: Array<[string, string]> = Array.isArray(params)
    ? params
    : Object.entries(params).flatMap(([k, v]) => (v === undefined ? [] : [[k, v] as [string, string]]));
  // As JSON.parse makes it: own properties, `__proto__` included.
  const grouped = new Map<string, string[]>();
  for (const [k, v] of pairs) grouped.set(k, [...(grouped.get(k) ?? []), v]);
  const multi: Record<string, string[]> = Object.fromEntries(grouped);
  const single = Object.fromEntries(Object.entries(multi).map(([k, v]) => [k, v[v.length - 1]]));
  return {
    httpMethod: opts.method ?? 'GET',
    path: '/auth/authorize',
    resource: '/auth/authorize',
    headers: {},
    multiValueHeaders: {},
    body: null,
    isBase64Encoded: false,
    pathParameters: null,
    queryStringParameters: pairs.length > 0 ? single : null,
    multiValueQueryStringParameters: opts.multi === false || pairs.length === 0 ? null : multi,
    stageVariables: null,
    requestContext: (opts.stage === undefined ? {} : { stage: opts.stage }) as APIGatewayProxyEvent['requestContext'],
  } as APIGatewayProxyEvent;
}

let facade: SmartFacade;
beforeEach(() => {
  logged = [];
  facade = makeFacade();
});

function location(res: APIGatewayProxyResult): URL {
  expect(res.statusCode).toBe(302);
  return new URL(String(res.headers?.Location));
}

/** A refusal: the status, the OAuth error with its fixed description, no redirect of any kind, the reason logged. */
function expectRefused(res: APIGatewayProxyResult, status: number, error: string, reason: string): void {
  expect(res.statusCode).toBe(status);
  expect(res.headers?.Location).toBeUndefined();
  expect(res.headers?.['Content-Type']).toMatch(/^application\/json/);
  expect(res.headers?.['Cache-Control']).toBe('no-store');
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error).toBe(error);
  expect(res.body).not.toContain('portal.example'); // never echoes input
  expect(res.body).not.toContain('evil');
  expect(logged.filter((l) => l.message === 'authorize refused').map((l) => l.extra.reason)).toEqual([reason]);
}

describe('a valid request', () => {
  test('answers 302 to Cognito’s /oauth2/authorize, exactly, without fhirUser, offline_access and aud', async () => {
    const res = await facade.authorize(event(valid()));
    expect(res.statusCode).toBe(302);
    expect(res.headers?.Location).toBe(
      `${COGNITO}/oauth2/authorize?response_type=code&client_id=${PORTAL}&redirect_uri=https%3A%2F%2Fportal.example%2Fcb` +
        `&scope=launch%2Fpatient+openid+patient%2FObservation.rs&state=st-1&code_challenge=${CHALLENGE}&code_challenge_method=S256`,
    );
    expect(res.headers).toMatchObject({ 'Cache-Control': 'no-store', Pragma: 'no-cache', 'Referrer-Policy': 'no-referrer' });
    expect(res.body).toBe('');
    expect(logged).toEqual([{ level: 'info', message: 'authorization request sent on to Cognito', extra: { clientId: PORTAL, keptByTheKit: ['fhirUser', 'offline_access'] } }]);
  });

  test('forwards Cognito’s optional parameters, in a fixed order, and nothing unknown', async () => {
    const res = await facade.authorize(
      event(valid({ nonce: 'n-0 1', login_hint: 'aurelia', prompt: 'login', lang: 'fr', launch: 'xyz', resource: 'https://evil.example', request: 'eyJ', foo: 'bar' })),
    );
    const url = location(res);
    expect([...url.searchParams.keys()]).toEqual([
      'response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'nonce', 'login_hint', 'prompt', 'lang',
    ]);
    expect(url.searchParams.get('nonce')).toBe('n-0 1');
    expect(url.origin + url.pathname).toBe(`${COGNITO}/oauth2/authorize`);
  });

  test('keeps every other scope and its order; removes duplicates; reads + in scope as a space (API Gateway keeps +)', async () => {
    const url = location(await facade.authorize(event(valid({ scope: 'openid+fhirUser  patient/Patient.rs openid user/*.rs?category=laboratory' }))));
    expect(url.searchParams.get('scope')).toBe('openid patient/Patient.rs user/*.rs?category=laboratory');
  });

  test('a request of fhirUser alone among the scopes Cognito has is forwarded without it (no ID token: the token response will not say fhirUser)', async () => {
    const url = location(await facade.authorize(event(valid({ client_id: KIOSK, scope: 'fhirUser launch/patient patient/Patient.rs' }))));
    expect(url.searchParams.get('scope')).toBe('launch/patient patient/Patient.rs');
  });

  test('online_access is taken out for any client (its refresh tokens of 60 minutes are what it asks for); Cognito never sees it', async () => {
    const url = location(await facade.authorize(event(valid({ client_id: KIOSK, scope: 'openid online_access patient/Patient.rs' }))));
    expect(url.searchParams.get('scope')).toBe('openid patient/Patient.rs');
  });

  test('aud may end with a slash, or be absent', async () => {
    location(await facade.authorize(event(valid({ aud: `${FHIR}/` }))));
    location(await facade.authorize(event(valid({ aud: undefined }))));
  });

  test('an empty value is a parameter omitted (RFC 6749 §3.1)', async () => {
    const url = location(await facade.authorize(event(valid({ nonce: '', login_hint: '' }))));
    expect(url.searchParams.has('nonce')).toBe(false);
  });

  test('reads the single-value query when API Gateway gives no multi-value one', async () => {
    location(await facade.authorize(event(valid(), { multi: false })));
  });

  test('a parameter named like an Object property is an unknown parameter, ignored', async () => {
    const url = location(await facade.authorize(event([...Object.entries(valid()) as Array<[string, string]>, ['__proto__', 'x'], ['constructor', 'y'], ['hasOwnProperty', 'z']])));
    expect(url.searchParams.has('constructor')).toBe(false);
  });
});

describe('refusals: 400 (405) JSON, never a redirect, one reason each', () => {
  test.each<[string, Record<string, string | undefined>, number, string]>([
    ['client_id missing', { client_id: undefined }, 400, 'invalid_request'],
    ['client_id is not a registered client', { client_id: 'evil7client' }, 400, 'invalid_request'],
    ['redirect_uri missing', { redirect_uri: undefined }, 400, 'invalid_request'],
    ['redirect_uri is not an absolute URI without fragment', { redirect_uri: '/cb' }, 400, 'invalid_request'],
    ['response_type is not code', { response_type: 'token' }, 400, 'unsupported_response_type'],
    ['state missing', { state: undefined }, 400, 'invalid_request'],
    ['PKCE code_challenge missing', { code_challenge: undefined, code_challenge_method: undefined }, 400, 'invalid_request'],
    ['PKCE code_challenge_method is not S256', { code_challenge_method: 'plain' }, 400, 'invalid_request'],
    ['aud is not the FHIR base URL of this API version', { aud: 'https://evil.example/r4' }, 400, 'invalid_request'],
    ['scope missing', { scope: undefined }, 400, 'invalid_scope'],
    ['malformed scope', { scope: 'openid "patient/*.rs"' }, 400, 'invalid_scope'],
    ['offline_access for a client not registered for it', { client_id: KIOSK }, 400, 'invalid_scope'],
    ['no scope left for Cognito', { scope: 'fhirUser offline_access' }, 400, 'invalid_scope'],
  ])('%s', async (reason, params, status, error) => {
    expectRefused(await facade.authorize(event(valid(params))), status, error, reason);
  });

  test('response_type missing is the same refusal as a wrong one', async () => {
    expectRefused(await facade.authorize(event(valid({ response_type: undefined }))), 400, 'unsupported_response_type', 'response_type is not code');
  });

  test('a code_challenge_method absent is plain (RFC 7636 §4.3): refused', async () => {
    expectRefused(await facade.authorize(event(valid({ code_challenge_method: undefined }))), 400, 'invalid_request', 'PKCE code_challenge_method is not S256');
  });

  test('a redirect_uri with a fragment', async () => {
    expectRefused(await facade.authorize(event(valid({ redirect_uri: `${CALLBACK}#x` }))), 400, 'invalid_request', 'redirect_uri is not an absolute URI without fragment');
  });

  test('method not allowed: 405 with Allow: GET (authorize-post is not a capability)', async () => {
    const res = await facade.authorize(event(valid(), { method: 'POST' }));
    expectRefused(res, 405, 'invalid_request', 'method not allowed');
    expect(res.headers?.Allow).toBe('GET');
  });

  test('too many scopes', async () => {
    const scope = Array.from({ length: MAX_SCOPES + 1 }, (_, i) => `s${i}`).join(' ');
    expectRefused(await facade.authorize(event(valid({ scope }))), 400, 'invalid_scope', 'too many scopes');
  });
});

describe('parameters: single, bounded, visible ASCII', () => {
  test('a repeated parameter is refused, whichever value comes first', async () => {
    const pairs = Object.entries(valid()) as Array<[string, string]>;
    expectRefused(await facade.authorize(event([...pairs, ['redirect_uri', 'https://evil.example/cb']])), 400, 'invalid_request', 'repeated parameter');
    logged = [];
    expectRefused(await facade.authorize(event([...pairs, ['scope', '']])), 400, 'invalid_request', 'repeated parameter');
  });

  test('too many parameters', async () => {
    const pairs = Object.entries(valid()) as Array<[string, string]>;
    const extra = Array.from({ length: MAX_PARAMETERS - pairs.length + 1 }, (_, i) => [`x${i}`, 'y'] as [string, string]);
    expectRefused(await facade.authorize(event([...pairs, ...extra])), 400, 'invalid_request', 'too many parameters');
  });

  test('a query too long in all', async () => {
    expectRefused(await facade.authorize(event(valid({ filler: 'x'.repeat(MAX_QUERY_CHARS) }))), 400, 'invalid_request', 'query too long');
  });

  test.each<[string, string]>([
    ['redirect_uri', `https://portal.example/${'a'.repeat(1024)}`],
    ['state', 's'.repeat(1025)],
    ['scope', `openid ${'a'.repeat(4096)}`],
    ['nonce', 'n'.repeat(513)],
    ['login_hint', 'h'.repeat(257)],
    ['code_challenge', `${CHALLENGE}A`],
    ['code_challenge', CHALLENGE.replace('-', '+')],
    ['client_id', `${PORTAL}/x`],
    ['aud', `${FHIR} `],
  ])('%s oversized or malformed: %#', async (name, value) => {
    expectRefused(await facade.authorize(event(valid({ [name]: value }))), 400, 'invalid_request', `malformed or oversized ${name}`);
  });

  test.each<[string, string]>([
    ['state', 'st\r\nSet-Cookie: x=1'],
    ['redirect_uri', 'https://portal.example/cb\r\nLocation: https://evil.example'],
    ['login_hint', 'aurelia\u0000'],
    ['nonce', 'n\u2028'],
    ['state', 'é'],
  ])('no control or non-ASCII character in %s (no header or URL injection): %#', async (name, value) => {
    expectRefused(await facade.authorize(event(valid({ [name]: value }))), 400, 'invalid_request', `malformed or oversized ${name}`);
  });

  test('what is forwarded is encoded: a state with & = ? stays one value', async () => {
    const url = location(await facade.authorize(event(valid({ state: 'a&client_id=evil7client?b=c d' }))));
    expect(url.searchParams.getAll('client_id')).toEqual([PORTAL]);
    expect(url.searchParams.get('state')).toBe('a&client_id=evil7client?b=c d');
    expect(String(url)).not.toContain('\n');
  });
});

describe('no open redirect', () => {
  test('a refusal never sends the browser anywhere, whatever redirect_uri says', async () => {
    const attempts: Array<Record<string, string | undefined>> = [
      valid({ client_id: 'evil7client', redirect_uri: 'https://evil.example/cb' }),
      valid({ redirect_uri: 'https://evil.example/cb', response_type: 'token' }),
      valid({ redirect_uri: 'https://evil.example/cb', code_challenge: undefined }),
      valid({ redirect_uri: 'https://evil.example/cb', client_id: KIOSK }),
      valid({ redirect_uri: 'javascript:alert(1)', state: undefined }),
    ];
    for (const params of attempts) {
      const res = await facade.authorize(event(params));
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.headers?.Location).toBeUndefined();
      expect(res.body).not.toContain('evil');
    }
  });

  test('the only redirect is to Cognito’s authorize endpoint: an unregistered callback is Cognito’s to refuse', async () => {
    const url = location(await facade.authorize(event(valid({ redirect_uri: 'https://evil.example/cb' }))));
    expect(url.origin + url.pathname).toBe(`${COGNITO}/oauth2/authorize`);
    expect(url.searchParams.get('redirect_uri')).toBe('https://evil.example/cb');
  });
});

describe('API versions', () => {
  const apiVersions = [
    { version: 'v1', status: 'deprecated' as const, deprecatedAt: '2026-06-01', sunsetAt: '2027-01-01T00:00:00Z', successor: 'v2' },
    { version: 'v2', status: 'active' as const },
  ];
  const versioned = (now: string): SmartFacade =>
    makeFacade({ apiVersions, fhirBaseUrl: 'https://fhir.example.org/{version}/r4', authBaseUrl: 'https://fhir.example.org/{version}/auth', now: () => Date.parse(now) / 1000 });

  test('aud must be the FHIR base of the version the request reached', async () => {
    const f = versioned('2026-12-07T00:00:00Z');
    location(await f.authorize(event(valid({ aud: 'https://fhir.example.org/v2/r4' }), { stage: 'v2' })));
    expectRefused(await f.authorize(event(valid({ aud: 'https://fhir.example.org/v1/r4' }), { stage: 'v2' })), 400, 'invalid_request', 'aud is not the FHIR base URL of this API version');
  });

  test('a deprecated version still redirects, with its Deprecation and Sunset headers', async () => {
    const res = await versioned('2026-12-07T00:00:00Z').authorize(event(valid({ aud: 'https://fhir.example.org/v1/r4' }), { stage: 'v1' }));
    expect(res.statusCode).toBe(302);
    expect(res.headers?.Sunset).toBe('Fri, 01 Jan 2027 00:00:00 GMT');
  });

  test('a version past its sunset answers 410', async () => {
    const res = await versioned('2027-01-02T00:00:00Z').authorize(event(valid({ aud: 'https://fhir.example.org/v1/r4' }), { stage: 'v1' }));
    expect(res.statusCode).toBe(410);
    expect(res.headers?.Location).toBeUndefined();
  });

  test('a stage that is not a listed version answers 404, like the other handlers', async () => {
    const res = await versioned('2026-12-07T00:00:00Z').authorize(event(valid(), { stage: 'test-invoke-stage' }));
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body)).toEqual({ error: 'invalid_request', error_description: 'This API version is not served' });
    expect(res.headers?.Location).toBeUndefined();
  });
});

describe('discovery', () => {
  test('names the façade’s authorization endpoint, per version', async () => {
    const doc = JSON.parse((await facade.discovery(event({}))).body) as Record<string, unknown>;
    expect(doc.authorization_endpoint).toBe('https://fhir.example.org/auth/authorize');
    expect(doc.scopes_supported).toEqual(expect.arrayContaining(['fhirUser', 'offline_access']));
  });
});

describe('offlineAccessClientIds', () => {
  test('names registered clients only', () => {
    expect(() => makeFacade({ offlineAccessClientIds: ['stranger1'] })).toThrow(/offlineAccessClientIds names a client that is not in clientIds/);
  });

  test('without it, offline_access is refused for every client', async () => {
    const res = await makeFacade({ offlineAccessClientIds: undefined }).authorize(event(valid()));
    expectRefused(res, 400, 'invalid_scope', 'offline_access for a client not registered for it');
  });
});
