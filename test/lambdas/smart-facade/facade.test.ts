import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createFacade, FacadeLogger, SmartFacade, SmartFacadeOptions } from '../../../lambdas/smart-facade/facade';
import { InMemoryRevocationStore } from '../../../lambdas/shared/revocation';
import { createTestIssuer, TestIssuer } from '../helpers/jwt';

const POOL = 'us-east-1_FacadePool1';
const PORTAL = 'portal7client'; // public
const BULK = 'bulk7client'; // confidential, client credentials
const RS = 'rs7client'; // confidential resource server, may introspect any token
const SECRETS: Record<string, string> = { [BULK]: 'bulk-secret', [RS]: 'rs-secret' };
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const INTERNALS = 'java.lang.IllegalStateException at com.amazonaws.cognito.Internal(Token.java:42)';
const REFRESH_TOKEN = 'eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.a2V5.aXY.Y2lwaGVy.dGFn';

type Mode = 'ok' | 'invalid_grant' | 'error500' | 'hang' | 'html';

interface Recorded {
  path: string;
  authorization?: string;
  form: Record<string, string>;
}

/** A stand-in for Cognito's /oauth2/token and /oauth2/revoke that issues real RS256 tokens. */
class FakeCognito {
  public mode: Mode = 'ok';
  public readonly requests: Recorded[] = [];
  public url = '';
  private readonly server: http.Server;

  constructor(private readonly issuer: TestIssuer) {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => this.answer(req, res, body));
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const form = Object.fromEntries(new URLSearchParams(body));
    this.requests.push({ path: req.url ?? '', authorization: req.headers.authorization, form });
    const send = (status: number, json?: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(json === undefined ? '' : JSON.stringify(json));
    };
    if (this.mode === 'hang') return; // never answers
    if (this.mode === 'error500') return send(500, { error: 'internal_error', message: INTERNALS });
    if (this.mode === 'html') {
      res.writeHead(502, { 'Content-Type': 'text/html' });
      return void res.end(`<html>${INTERNALS}</html>`);
    }
    const basic = req.headers.authorization?.startsWith('Basic ')
      ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString().split(':')
      : undefined;
    if (basic && SECRETS[basic[0]] !== basic[1]) return send(400, { error: 'invalid_client' });
    const clientId = basic?.[0] ?? form.client_id;

    if (req.url === '/oauth2/revoke') {
      return form.token === REFRESH_TOKEN ? send(200) : send(400, { error: 'unsupported_token_type' });
    }
    if (this.mode === 'invalid_grant') return send(400, { error: 'invalid_grant', error_description: INTERNALS });
    if (form.grant_type === 'client_credentials') {
      return send(200, { access_token: this.issuer.sign({ client_id: clientId, scope: 'system/Patient.rs', username: undefined }), expires_in: 900, token_type: 'Bearer' });
    }
    const accessToken = this.issuer.sign({ client_id: clientId, patient: '123', fhirUser: 'Patient/123' });
    const idToken = this.issuer.sign({ token_use: 'id', aud: clientId, fhirUser: 'Patient/123' });
    send(200, { access_token: accessToken, id_token: idToken, refresh_token: REFRESH_TOKEN, expires_in: 3600, token_type: 'Bearer' });
  }
}

function request(body: Record<string, string> | string, headers: Record<string, string> = {}, method = 'POST'): APIGatewayProxyEvent {
  const allHeaders = { 'Content-Type': 'application/x-www-form-urlencoded', ...headers };
  return {
    httpMethod: method,
    path: '/auth/token',
    resource: '/auth/token',
    headers: allHeaders,
    multiValueHeaders: Object.fromEntries(Object.entries(allHeaders).map(([k, v]) => [k, [v]])),
    body: typeof body === 'string' ? body : new URLSearchParams(body).toString(),
    isBase64Encoded: false,
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

const basic = (id: string, secret = SECRETS[id]): Record<string, string> => ({
  Authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
});
const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });
const json = (res: APIGatewayProxyResult): Record<string, unknown> => JSON.parse(res.body) as Record<string, unknown>;
const codeExchange = (extra: Record<string, string> = {}): Record<string, string> => ({
  grant_type: 'authorization_code',
  code: 'c0de',
  redirect_uri: 'https://portal.example/cb',
  client_id: PORTAL,
  code_verifier: VERIFIER,
  ...extra,
});

const silent: FacadeLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

let issuer: TestIssuer;
let cognito: FakeCognito;
let store: InMemoryRevocationStore;
let facade: SmartFacade;

function makeFacade(overrides: Partial<SmartFacadeOptions> = {}): SmartFacade {
  return createFacade({
    fhirBaseUrl: 'https://fhir.example.org/r4',
    authBaseUrl: 'https://fhir.example.org/auth',
    cognitoDomainUrl: cognito.url,
    userPoolId: POOL,
    clientIds: [PORTAL, BULK, RS],
    confidentialClientIds: [BULK, RS],
    introspectionClientIds: [RS],
    revocation: store,
    jwks: issuer.jwks,
    // Generous: the suite runs on 2 loaded cores; the hang case sets its own short timeout.
    upstreamTimeoutMs: 5000,
    logger: silent,
    ...overrides,
  });
}

beforeAll(async () => {
  issuer = createTestIssuer({ userPoolId: POOL, clientId: PORTAL });
  cognito = new FakeCognito(issuer);
  await cognito.start();
});

afterAll(async () => {
  await cognito.stop();
});

beforeEach(() => {
  cognito.mode = 'ok';
  cognito.requests.length = 0;
  store = new InMemoryRevocationStore();
  facade = makeFacade();
});

function expectOAuthError(res: APIGatewayProxyResult, status: number, error: string): void {
  expect(res.statusCode).toBe(status);
  const body = json(res);
  expect(body.error).toBe(error);
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(res.body).not.toContain('java');
  expect(res.body).not.toContain('127.0.0.1');
  expect(res.headers?.['Cache-Control']).toBe('no-store');
}

describe('discovery', () => {
  it('publishes every required SMART 2.2 field, absolute URLs and an honest capability list', async () => {
    const res = await facade.discovery(request('', {}, 'GET'));
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['Content-Type']).toMatch(/^application\/json/);
    expect(res.headers?.['Cache-Control']).toMatch(/max-age=\d+/);
    const doc = json(res);
    expect(doc).toMatchObject({
      issuer: `https://cognito-idp.us-east-1.amazonaws.com/${POOL}`,
      jwks_uri: `https://cognito-idp.us-east-1.amazonaws.com/${POOL}/.well-known/jwks.json`,
      authorization_endpoint: `${cognito.url}/oauth2/authorize`,
      token_endpoint: 'https://fhir.example.org/auth/token',
      introspection_endpoint: 'https://fhir.example.org/auth/introspect',
      revocation_endpoint: 'https://fhir.example.org/auth/revoke',
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
    });
    expect(doc.token_endpoint_auth_methods_supported).toContain('client_secret_basic');
    expect(doc.scopes_supported).toEqual(expect.arrayContaining(['openid', 'fhirUser', 'launch/patient']));
    expect(doc.capabilities).toEqual(
      expect.arrayContaining(['launch-standalone', 'client-public', 'client-confidential-symmetric', 'sso-openid-connect', 'context-standalone-patient', 'permission-v1', 'permission-v2']),
    );
    for (const unsupported of ['launch-ehr', 'context-standalone-encounter', 'client-confidential-asymmetric', 'authorize-post']) {
      expect(doc.capabilities).not.toContain(unsupported);
    }
  });
});

describe('token', () => {
  it('refuses an authorization-code exchange without code_verifier, without calling Cognito', async () => {
    const { code_verifier: _omit, ...noPkce } = codeExchange();
    expectOAuthError(await facade.token(request(noPkce)), 400, 'invalid_request');
    expectOAuthError(await facade.token(request(codeExchange({ code_verifier: 'short' }))), 400, 'invalid_request');
    expect(cognito.requests).toHaveLength(0);
  });

  it('exchanges a code and lifts the launch context to the top level', async () => {
    const res = await facade.token(request(codeExchange()));
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    const body = json(res);
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'launch/patient openid fhirUser patient/Observation.rs patient/Patient.r',
      patient: '123',
      fhirUser: 'Patient/123',
      need_patient_banner: true,
      refresh_token: REFRESH_TOKEN,
    });
    expect(typeof body.access_token).toBe('string');
    expect(typeof body.id_token).toBe('string');
    expect(cognito.requests[0]).toMatchObject({ path: '/oauth2/token', form: { code_verifier: VERIFIER, client_id: PORTAL } });
  });

  it('forwards a confidential client’s Basic credentials, and allows client_credentials only for it', async () => {
    const res = await facade.token(request({ grant_type: 'client_credentials', scope: 'system/Patient.rs' }, basic(BULK)));
    expect(res.statusCode).toBe(200);
    expect(json(res)).not.toHaveProperty('need_patient_banner');
    expect(cognito.requests[0].authorization).toBe(basic(BULK).Authorization);
    expectOAuthError(await facade.token(request({ grant_type: 'client_credentials', client_id: PORTAL })), 401, 'invalid_client');
  });

  it.each([
    ['unsupported grant type', { grant_type: 'password', client_id: PORTAL, username: 'u', password: 'p' }, 400, 'unsupported_grant_type'],
    ['implicit-style grant', { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client_id: PORTAL }, 400, 'unsupported_grant_type'],
    ['unregistered client', codeExchange({ client_id: 'stranger1' }), 401, 'invalid_client'],
    ['no client at all', { grant_type: 'refresh_token', refresh_token: REFRESH_TOKEN }, 401, 'invalid_client'],
    ['repeated parameter', 'grant_type=refresh_token&grant_type=authorization_code&client_id=' + PORTAL, 400, 'invalid_request'],
    ['oversized body', { grant_type: 'refresh_token', client_id: PORTAL, refresh_token: 'x'.repeat(20000) }, 413, 'invalid_request'],
  ])('refuses %s', async (_name, body, status, error) => {
    expectOAuthError(await facade.token(request(body as Record<string, string>)), status, error);
    expect(cognito.requests).toHaveLength(0);
  });

  it('passes an upstream invalid_grant back as an OAuth error with a fixed description', async () => {
    cognito.mode = 'invalid_grant';
    expectOAuthError(await facade.token(request({ grant_type: 'refresh_token', refresh_token: REFRESH_TOKEN, client_id: PORTAL })), 400, 'invalid_grant');
  });

  it.each<[string, () => void]>([
    ['upstream 500', () => (cognito.mode = 'error500')],
    ['upstream HTML error page', () => (cognito.mode = 'html')],
    [
      'upstream timeout',
      () => {
        cognito.mode = 'hang';
        facade = makeFacade({ upstreamTimeoutMs: 300 });
      },
    ],
    ['connection refused', () => (facade = makeFacade({ cognitoDomainUrl: 'http://127.0.0.1:1' }))],
  ])('%s → 503 temporarily_unavailable without internals', async (_name, arrange) => {
    arrange();
    const res = await facade.token(request(codeExchange()));
    expectOAuthError(res, 503, 'temporarily_unavailable');
  });
});

describe('introspection', () => {
  const inactive = async (token: string, headers = bearer(issuer.sign())): Promise<void> => {
    const res = await facade.introspect(request({ token }, headers));
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('{"active":false}');
  };

  it('refuses unauthenticated callers with 401 invalid_client', async () => {
    const res = await facade.introspect(request({ token: issuer.sign() }));
    expectOAuthError(res, 401, 'invalid_client');
    expect(res.headers?.['WWW-Authenticate']).toMatch(/Bearer/);
    expectOAuthError(await facade.introspect(request({ token: issuer.sign() }, bearer(issuer.sign({ exp: 1 })))), 401, 'invalid_client');
  });

  it('describes an active token to a caller of the same client', async () => {
    const claims = { patient: '123', fhirUser: 'Patient/123', scope: 'patient/Observation.rs' };
    const res = await facade.introspect(request({ token: issuer.sign(claims) }, bearer(issuer.sign())));
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['Cache-Control']).toBe('no-store');
    expect(json(res)).toMatchObject({
      active: true,
      scope: 'patient/Observation.rs',
      client_id: PORTAL,
      token_type: 'Bearer',
      iss: issuer.issuer,
      patient: '123',
      fhirUser: 'Patient/123',
    });
    expect(json(res)).toEqual(expect.objectContaining({ exp: expect.any(Number), iat: expect.any(Number), sub: expect.any(String) }));
  });

  it('answers exactly {"active":false} for invalid, expired, foreign, ID and other clients’ tokens', async () => {
    const otherPool = createTestIssuer({ userPoolId: 'us-east-1_OtherPool9', clientId: PORTAL });
    await inactive('not-a-token');
    await inactive(REFRESH_TOKEN);
    await inactive(issuer.sign({ exp: Math.floor(Date.now() / 1000) - 10 }));
    await inactive(issuer.sign({}, { key: 'foreign' }));
    await inactive(otherPool.sign());
    await inactive(issuer.sign({ token_use: 'id' }));
    await inactive(issuer.sign({ client_id: BULK }));
  });

  it('lets a registered introspection client authenticate with Basic (verified at Cognito, then cached)', async () => {
    const token = issuer.sign({ client_id: BULK });
    for (let i = 0; i < 2; i++) {
      const res = await facade.introspect(request({ token }, basic(RS)));
      expect(json(res)).toMatchObject({ active: true, client_id: BULK });
    }
    expect(cognito.requests.filter((r) => r.form.grant_type === 'client_credentials')).toHaveLength(1);
    expectOAuthError(await facade.introspect(request({ token }, basic(RS, 'wrong-secret'))), 401, 'invalid_client');
    expectOAuthError(await facade.introspect(request({ token }, basic(PORTAL, 'x'))), 401, 'invalid_client');
  });
});

describe('revocation', () => {
  it('revokes an access token by jti and origin_jti, so introspection says inactive', async () => {
    const jti = 'jti-1';
    const originJti = 'origin-1';
    const token = issuer.sign({ jti, origin_jti: originJti });
    const sibling = issuer.sign({ jti: 'jti-2', origin_jti: originJti }); // same sign-in
    await expect(facade.introspect(request({ token }, bearer(issuer.sign())))).resolves.toMatchObject({ body: expect.stringContaining('"active":true') });

    const res = await facade.revoke(request({ token, token_type_hint: 'access_token', client_id: PORTAL }));
    expect(res.statusCode).toBe(200);
    expect(await store.isRevoked(jti)).toBe(true);
    expect(await store.isRevoked(originJti)).toBe(true);
    for (const t of [token, sibling]) {
      expect((await facade.introspect(request({ token: t }, bearer(issuer.sign())))).body).toBe('{"active":false}');
    }
    expect(cognito.requests.filter((r) => r.path === '/oauth2/revoke')).toHaveLength(0);
  });

  it('forwards a refresh token to Cognito and answers 200 even for unknown tokens', async () => {
    expect((await facade.revoke(request({ token: REFRESH_TOKEN, client_id: PORTAL }))).statusCode).toBe(200);
    expect(cognito.requests[0]).toMatchObject({ path: '/oauth2/revoke', form: { token: REFRESH_TOKEN, client_id: PORTAL } });
    expect((await facade.revoke(request({ token: 'unknown.refresh.token.value.x', client_id: PORTAL }))).statusCode).toBe(200);
    expect((await facade.revoke(request({ token: issuer.sign({}, { key: 'foreign' }) }))).statusCode).toBe(200);
  });

  it('reports an upstream outage as 503 and a wrong client secret as 401', async () => {
    expectOAuthError(await facade.revoke(request({ token: REFRESH_TOKEN }, basic(BULK, 'wrong'))), 401, 'invalid_client');
    cognito.mode = 'error500';
    expectOAuthError(await facade.revoke(request({ token: REFRESH_TOKEN, client_id: PORTAL })), 503, 'temporarily_unavailable');
  });
});
