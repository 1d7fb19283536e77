import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  createFacade,
  FacadeLogger,
  MAX_ACCESS_TOKEN_VALIDITY_SECONDS,
  MAX_REFRESH_TOKEN_VALIDITY_SECONDS,
  originRevocationExpiry,
  REVOCATION_CLOCK_SKEW_SECONDS,
  SmartFacade,
  SmartFacadeOptions,
} from '../../../lambdas/smart-facade/facade';
import { AuthorizerLogger, createAuthorizer, SmartAuthorizer } from '../../../lambdas/smart-authorizer/authorizer';
import { InMemoryRevocationStore, RevocationStore } from '../../../lambdas/shared/revocation';
import { authorizerEvent } from '../helpers/events';
import { createTestIssuer, TestIssuer } from '../helpers/jwt';

const POOL = 'us-east-1_FacadePool1';
const PORTAL = 'portal7client'; // public
const BULK = 'bulk7client'; // confidential, client credentials
const RS = 'rs7client'; // confidential resource server, may introspect any token
const SECRETS: Record<string, string> = { [BULK]: 'bulk-secret', [RS]: 'rs-secret' };
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const INTERNALS = 'java.lang.IllegalStateException at com.amazonaws.cognito.Internal(Token.java:42)';
const REFRESH_TOKEN = 'eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.a2V5.aXY.Y2lwaGVy.dGFn';
const RS_REFRESH_TOKEN = 'eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.cnM.aXY.Y2lwaGVy.dGFn';
/** The client each refresh token the fake Cognito knows was issued to. */
const REFRESH_TOKENS: Record<string, string> = { [REFRESH_TOKEN]: PORTAL, [RS_REFRESH_TOKEN]: RS };

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
  /** Refresh tokens revoked at /oauth2/revoke: Cognito refreshes with them no more. */
  public readonly revoked = new Set<string>();
  public url = '';
  /** Overrides of the claims of the next tokens issued for users. */
  public idTokenClaims: Record<string, unknown> | undefined;
  public accessTokenClaims: Record<string, unknown> | undefined;
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
      // A client with a secret must send it as Basic; the body carries only token (and a public client's id).
      if (!basic && (SECRETS[clientId] !== undefined || form.client_secret !== undefined)) return send(400, { error: 'invalid_client' });
      const owner = REFRESH_TOKENS[form.token];
      if (owner === undefined) return send(400, { error: 'unsupported_token_type' });
      if (owner !== clientId) return send(400, { error: 'unauthorized_client' });
      this.revoked.add(form.token);
      return send(200);
    }
    if (this.mode === 'invalid_grant') return send(400, { error: 'invalid_grant', error_description: INTERNALS });
    if (form.grant_type === 'refresh_token' && (this.revoked.has(form.refresh_token) || REFRESH_TOKENS[form.refresh_token] !== clientId)) {
      return send(400, { error: 'invalid_grant' });
    }
    if (form.grant_type === 'client_credentials') {
      return send(200, { access_token: this.issuer.sign({ client_id: clientId, scope: 'system/Patient.rs', username: undefined }), expires_in: 900, token_type: 'Bearer' });
    }
    const accessToken = this.issuer.sign({ client_id: clientId, patient: '123', fhirUser: 'Patient/123', ...this.accessTokenClaims });
    const idToken = this.issuer.sign({ token_use: 'id', aud: clientId, fhirUser: 'Patient/123', ...this.idTokenClaims });
    send(200, { access_token: accessToken, id_token: idToken, refresh_token: REFRESH_TOKEN, expires_in: 3600, token_type: 'Bearer' });
  }
}

function request(body: Record<string, string> | string, headers: Record<string, string> = {}, method = 'POST', stage?: string): APIGatewayProxyEvent {
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
    requestContext: (stage === undefined ? {} : { stage }) as APIGatewayProxyEvent['requestContext'],
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
  cognito.revoked.clear();
  cognito.idTokenClaims = undefined;
  cognito.accessTokenClaims = undefined;
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
      authorization_endpoint: 'https://fhir.example.org/auth/authorize',
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
      scope: 'launch/patient openid patient/Observation.rs patient/Patient.r fhirUser online_access',
      patient: '123',
      fhirUser: 'Patient/123',
      need_patient_banner: true,
      refresh_token: REFRESH_TOKEN,
    });
    expect(typeof body.access_token).toBe('string');
    expect(typeof body.id_token).toBe('string');
    expect(cognito.requests[0]).toMatchObject({ path: '/oauth2/token', form: { code_verifier: VERIFIER, client_id: PORTAL } });
  });

  describe('the granted scope says what the tokens carry (granted-scope.ts)', () => {
    const scopeOf = async (f: SmartFacade, body: Record<string, string>, headers: Record<string, string> = {}): Promise<string> => {
      const res = await f.token(request(body, headers));
      expect(res.statusCode).toBe(200);
      return json(res).scope as string;
    };

    it('adds offline_access for a client registered for it that holds a refresh token, at the exchange and at a refresh', async () => {
      const f = makeFacade({ offlineAccessClientIds: [PORTAL] });
      expect(await scopeOf(f, codeExchange())).toBe('launch/patient openid patient/Observation.rs patient/Patient.r fhirUser offline_access');
      expect(await scopeOf(f, { grant_type: 'refresh_token', refresh_token: REFRESH_TOKEN, client_id: PORTAL })).toBe(
        'launch/patient openid patient/Observation.rs patient/Patient.r fhirUser offline_access',
      );
    });

    it('never says offline_access for a client not registered for it: its refresh tokens last 60 minutes, which is online_access', async () => {
      expect(await scopeOf(facade, codeExchange())).not.toContain('offline_access');
      expect(await scopeOf(facade, codeExchange())).toMatch(/ online_access$/);
      expect(await scopeOf(facade, { grant_type: 'refresh_token', refresh_token: REFRESH_TOKEN, client_id: PORTAL })).not.toContain('offline_access');
      expect(await scopeOf(facade, { grant_type: 'refresh_token', refresh_token: REFRESH_TOKEN, client_id: PORTAL })).toMatch(/ online_access$/);
    });

    it('never says offline_access or fhirUser for client credentials (no refresh token, no ID token)', async () => {
      const f = makeFacade({ offlineAccessClientIds: [BULK] });
      expect(await scopeOf(f, { grant_type: 'client_credentials', scope: 'system/Patient.rs' }, basic(BULK))).toBe('system/Patient.rs');
    });

    it('says fhirUser only when the ID token carries the claim, whatever the access token’s scope text says', async () => {
      cognito.idTokenClaims = { fhirUser: undefined };
      expect(await scopeOf(facade, codeExchange())).toBe('launch/patient openid patient/Observation.rs patient/Patient.r online_access');
      cognito.idTokenClaims = { aud: 'someoneelse' };
      expect(await scopeOf(facade, codeExchange())).toBe('launch/patient openid patient/Observation.rs patient/Patient.r online_access');
      cognito.idTokenClaims = undefined;
      cognito.accessTokenClaims = { scope: 'openid offline_access online_access patient/Patient.rs' };
      expect(await scopeOf(facade, codeExchange())).toBe('openid patient/Patient.rs fhirUser online_access');
    });
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

describe('revocation of a refresh token (at Cognito)', () => {
  const refresh = (token: string, client: string, headers: Record<string, string> = {}): Promise<APIGatewayProxyResult> =>
    facade.token(request({ grant_type: 'refresh_token', refresh_token: token, ...(headers.Authorization ? {} : { client_id: client }) }, headers));

  it('revokes a public client’s refresh token at /oauth2/revoke, after which Cognito refreshes with it no more', async () => {
    expect((await refresh(REFRESH_TOKEN, PORTAL)).statusCode).toBe(200);
    cognito.requests.length = 0;
    expect((await facade.revoke(request({ token: REFRESH_TOKEN, token_type_hint: 'refresh_token', client_id: PORTAL }))).statusCode).toBe(200);
    expect(cognito.requests).toEqual([{ path: '/oauth2/revoke', authorization: undefined, form: { token: REFRESH_TOKEN, client_id: PORTAL } }]);
    expectOAuthError(await refresh(REFRESH_TOKEN, PORTAL), 400, 'invalid_grant');
  });

  it.each([
    ['Basic', { token: RS_REFRESH_TOKEN }, basic(RS)],
    ['client_secret_post', { token: RS_REFRESH_TOKEN, client_id: RS, client_secret: SECRETS[RS] }, {}],
  ])('sends a confidential client’s secret to Cognito as Basic only (%s)', async (_name, body, headers) => {
    expect((await facade.revoke(request(body, headers))).statusCode).toBe(200);
    expect(cognito.requests).toEqual([{ path: '/oauth2/revoke', authorization: basic(RS).Authorization, form: { token: RS_REFRESH_TOKEN } }]);
    expect(cognito.revoked.has(RS_REFRESH_TOKEN)).toBe(true);
    expectOAuthError(await refresh(RS_REFRESH_TOKEN, RS, basic(RS)), 400, 'invalid_grant');
  });

  it('refuses a refresh token of another client (unauthorized_client) and a malformed secret (without calling Cognito)', async () => {
    expectOAuthError(await facade.revoke(request({ token: REFRESH_TOKEN }, basic(RS))), 400, 'unauthorized_client');
    expect(cognito.revoked.size).toBe(0);
    cognito.requests.length = 0;
    expectOAuthError(await facade.revoke(request({ token: REFRESH_TOKEN, client_id: RS, client_secret: 'not:a secret' })), 401, 'invalid_client');
    expect(cognito.requests).toHaveLength(0);
  });

  it('writes nothing to the revocation store (the refresh token is opaque)', async () => {
    const recording = new RecordingStore();
    facade = makeFacade({ revocation: recording });
    expect((await facade.revoke(request({ token: REFRESH_TOKEN, client_id: PORTAL }))).statusCode).toBe(200);
    expect(recording.writes).toEqual([]);
  });
});

/** A store that records every write and can be told to fail. */
class RecordingStore implements RevocationStore {
  public readonly writes: Array<[string, number]> = [];
  /** Fail the n-th write (1-based), or every read and write when `'all'`. */
  constructor(private readonly fail?: number | 'all') {}

  public async isRevoked(): Promise<boolean> {
    if (this.fail === 'all') throw new Error('ProvisionedThroughputExceededException');
    return false;
  }

  public async revoke(jti: string, expiresAt: number): Promise<void> {
    this.writes.push([jti, expiresAt]);
    if (this.fail === 'all' || this.fail === this.writes.length) throw new Error('ProvisionedThroughputExceededException');
  }
}

describe('revocation of an access token lasts as long as its sign-in can be refreshed', () => {
  const DAY = 24 * 60 * 60;
  const PORTAL_REFRESH = 7 * DAY;
  const T0 = 1_900_000_000;
  const quiet: AuthorizerLogger = { debug: () => undefined, ...silent };
  let t: number;
  let authorize: SmartAuthorizer;

  beforeEach(() => {
    t = T0;
    // One clock for everything: token claims and expiry checks (Date.now), the store and the façade.
    jest.spyOn(Date, 'now').mockImplementation(() => t * 1000);
    store = new InMemoryRevocationStore({ now: () => t });
    facade = makeFacade({ now: () => t, refreshTokenValiditySeconds: { [PORTAL]: PORTAL_REFRESH } });
    authorize = createAuthorizer({ userPoolId: POOL, clientIds: [PORTAL, BULK, RS], jwks: issuer.jwks, revocation: store, logger: quiet });
  });

  afterEach(() => jest.restoreAllMocks());

  /** An access token of the sign-in `originJti` minted now (at sign-in, or by a later refresh). */
  const minted = (originJti: string, claims: Record<string, unknown> = {}): string => issuer.sign({ origin_jti: originJti, ...claims });
  const authorizerAccepts = (token: string): Promise<boolean> =>
    authorize(authorizerEvent({ Authorization: `Bearer ${token}` })).then(
      () => true,
      () => false,
    );
  const introspectionActive = async (token: string): Promise<boolean> => {
    const res = await facade.introspect(request({ token }, bearer(issuer.sign())));
    expect(res.statusCode).toBe(200);
    return json(res).active === true;
  };
  const revoke = async (token: string, client = PORTAL): Promise<void> => {
    expect((await facade.revoke(request({ token, client_id: client }))).statusCode).toBe(200);
  };

  it('refuses a NEW token of the revoked sign-in after the revoked one expired, until the sign-in could no longer yield a valid token', async () => {
    const revoked = minted('sign-in-1', { jti: 'jti-revoked' }); // iat T0, exp T0 + 300
    expect(await authorizerAccepts(revoked)).toBe(true);
    await revoke(revoked);
    expect(await authorizerAccepts(revoked)).toBe(false);

    // The sign-in stays revoked for the client's refresh-token validity after the sign-in, plus
    // the longest an access token minted at its last moment lives, plus clock skew.
    const end = T0 + PORTAL_REFRESH + MAX_ACCESS_TOKEN_VALIDITY_SECONDS + REVOCATION_CLOCK_SKEW_SECONDS;
    expect(originRevocationExpiry(T0, T0, PORTAL_REFRESH)).toBe(end);

    t = T0 + 301; // the revoked token has expired: its own jti entry may lapse, its sign-in's must not
    expect(await store.isRevoked('jti-revoked')).toBe(false);
    expect(await authorizerAccepts(minted('another-sign-in'))).toBe(true);
    for (const at of [T0 + 301, T0 + DAY, T0 + PORTAL_REFRESH, end - 1]) {
      t = at;
      const refreshed = minted('sign-in-1');
      expect([at, await authorizerAccepts(refreshed), await introspectionActive(refreshed)]).toEqual([at, false, false]);
    }

    t = end; // no token of the sign-in can be valid any more: the entry has done its work
    const late = minted('sign-in-1');
    expect(await authorizerAccepts(late)).toBe(true);
    expect(await introspectionActive(late)).toBe(true);
  });

  it('takes a client missing from refreshTokenValiditySeconds at Cognito’s longest validity (10 years)', async () => {
    await revoke(minted('sign-in-rs', { client_id: RS }), RS);
    t = T0 + 9 * 365 * DAY;
    expect(await authorizerAccepts(minted('sign-in-rs', { client_id: RS }))).toBe(false);
    t = originRevocationExpiry(T0, T0, MAX_REFRESH_TOKEN_VALIDITY_SECONDS);
    expect(t).toBe(T0 + 315_360_000 + DAY + REVOCATION_CLOCK_SKEW_SECONDS);
    expect(await authorizerAccepts(minted('sign-in-rs', { client_id: RS }))).toBe(true);
  });

  it('records the jti until exp and the origin_jti from the later of now and iat, never from auth_time', async () => {
    const recording = new RecordingStore();
    facade = makeFacade({ now: () => t, revocation: recording, refreshTokenValiditySeconds: { [PORTAL]: PORTAL_REFRESH } });
    // A refreshed token of a sign-in whose user authenticated three days ago (auth_time).
    await revoke(minted('sign-in-2', { jti: 'j2', auth_time: T0 - 3 * DAY, iat: T0 - 60, exp: T0 + 240 }));
    // Cognito's clock 100 s ahead of ours: the token's iat is later than our now.
    await revoke(minted('sign-in-3', { jti: 'j3', auth_time: T0, iat: T0 + 100, exp: T0 + 400 }));
    expect(recording.writes).toEqual([
      ['j2', T0 + 240],
      ['sign-in-2', T0 + PORTAL_REFRESH + DAY + REVOCATION_CLOCK_SKEW_SECONDS],
      ['j3', T0 + 400],
      ['sign-in-3', T0 + 100 + PORTAL_REFRESH + DAY + REVOCATION_CLOCK_SKEW_SECONDS],
    ]);
  });

  it('records only the jti, until exp, of a token without origin_jti (client credentials)', async () => {
    const recording = new RecordingStore();
    facade = makeFacade({ now: () => t, revocation: recording });
    const token = issuer.sign({ client_id: BULK, origin_jti: undefined, jti: 'cc-1', scope: 'system/Patient.rs', username: undefined });
    expect((await facade.revoke(request({ token }, basic(BULK)))).statusCode).toBe(200);
    expect(recording.writes).toEqual([['cc-1', T0 + 300]]);
  });

  it('never shortens a sign-in’s revocation: a later revocation with an earlier expiry leaves it', async () => {
    // The same sign-in revoked twice: by a façade that knows 7 days, then by one configured with
    // 60 minutes (a redeployment, another container): the 7-day entry stands.
    await revoke(minted('sign-in-4'));
    const shorter = makeFacade({ now: () => t, refreshTokenValiditySeconds: { [PORTAL]: 3600 } });
    expect((await shorter.revoke(request({ token: minted('sign-in-4'), client_id: PORTAL }))).statusCode).toBe(200);
    t = originRevocationExpiry(T0, T0, 3600) + 1;
    expect(await authorizerAccepts(minted('sign-in-4'))).toBe(false);
    t = originRevocationExpiry(T0, T0, PORTAL_REFRESH);
    expect(await authorizerAccepts(minted('sign-in-4'))).toBe(true);
  });

  it.each([
    ['the jti write', 1],
    ['the origin_jti write', 2],
  ])('fails closed when the store is down: %s failing is 503, so the client retries', async (_name, failing) => {
    facade = makeFacade({ now: () => t, revocation: new RecordingStore(failing) });
    const res = await facade.revoke(request({ token: minted('sign-in-5'), client_id: PORTAL }));
    expectOAuthError(res, 503, 'temporarily_unavailable');
    expect(res.headers?.['Retry-After']).toBe('5');
  });

  it('fails closed when the store cannot be read: introspection says inactive, the authorizer denies', async () => {
    const down = new RecordingStore('all');
    facade = makeFacade({ now: () => t, revocation: down });
    authorize = createAuthorizer({ userPoolId: POOL, clientIds: [PORTAL], jwks: issuer.jwks, revocation: down, logger: quiet });
    const token = minted('sign-in-6');
    expect((await facade.introspect(request({ token }, basic(RS)))).body).toBe('{"active":false}');
    expect(await authorizerAccepts(token)).toBe(false);
  });
});

describe('refreshTokenValiditySeconds', () => {
  it.each([
    ['an unregistered client', { stranger1: 3600 }],
    ['minutes instead of seconds', { [PORTAL]: 60 }],
    ['more than Cognito allows', { [PORTAL]: MAX_REFRESH_TOKEN_VALIDITY_SECONDS + 1 }],
    ['a fraction', { [PORTAL]: 3600.5 }],
    ['not a number', { [PORTAL]: '30d' }],
  ])('refuses %s at creation', (_name, map) => {
    expect(() => makeFacade({ refreshTokenValiditySeconds: map as unknown as Record<string, number> })).toThrow(/refreshTokenValiditySeconds/);
  });

  it('accepts Cognito’s range', () => {
    expect(() => makeFacade({ refreshTokenValiditySeconds: { [PORTAL]: 3600, [RS]: MAX_REFRESH_TOKEN_VALIDITY_SECONDS } })).not.toThrow();
  });
});

describe('discovery of a deprecated API version', () => {
  const lifecycle = { version: 'v1', status: 'deprecated' as const, deprecatedAt: '2026-06-01', sunsetAt: '2027-01-01T00:00:00Z', successor: 'v2', migrationNotesUrl: 'https://fhir.example.org/docs/migrate-v2' };
  const apiVersions = [lifecycle, { version: 'v2', status: 'active' as const }];
  const versioned = { apiVersions, fhirBaseUrl: 'https://fhir.example.org/{version}/r4', authBaseUrl: 'https://fhir.example.org/{version}/auth' };

  test('says so in the document and the headers while the version lives', async () => {
    const facade = makeFacade({ ...versioned, now: () => Date.parse('2026-12-07T00:00:00Z') / 1000 });
    const res = await facade.discovery(request('', {}, 'GET', 'v1'));
    expect(res.statusCode).toBe(200);
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ api_version: 'v1', api_version_status: 'deprecated', api_version_sunset: '2027-01-01T00:00:00Z', api_version_migration_notes: lifecycle.migrationNotesUrl });
    expect(body.token_endpoint).toBe('https://fhir.example.org/v1/auth/token');
    expect(res.headers?.Deprecation).toBe(`@${Date.parse('2026-06-01') / 1000}`);
    expect(res.headers?.Sunset).toBe('Fri, 01 Jan 2027 00:00:00 GMT');
    expect(res.headers?.Link).toBe('<https://fhir.example.org/docs/migrate-v2>; rel="deprecation"; type="text/html"');
  });

  test('the successor served side by side describes itself, active, with its own endpoints', async () => {
    const facade = makeFacade({ ...versioned, now: () => Date.parse('2026-12-07T00:00:00Z') / 1000 });
    const res = await facade.discovery(request('', {}, 'GET', 'v2'));
    const body = JSON.parse(res.body);
    expect(body.api_version_status).toBeUndefined();
    expect(body).toMatchObject({ token_endpoint: 'https://fhir.example.org/v2/auth/token', revocation_endpoint: 'https://fhir.example.org/v2/auth/revoke', introspection_endpoint: 'https://fhir.example.org/v2/auth/introspect' });
    expect(res.headers?.Deprecation).toBeUndefined();
  });

  test('the OAuth endpoints of a deprecated version carry the headers too', async () => {
    const facade = makeFacade({ ...versioned, now: () => Date.parse('2026-12-07T00:00:00Z') / 1000 });
    const res = await facade.token(request({ grant_type: 'authorization_code' }, {}, 'POST', 'v1'));
    expect(res.statusCode).toBe(401);
    expect(res.headers?.Sunset).toBe('Fri, 01 Jan 2027 00:00:00 GMT');
  });

  test('answers 410 naming the successor from the sunset on: discovery, token and introspection; revocation still works', async () => {
    const facade = makeFacade({ ...versioned, now: () => Date.parse('2027-01-01T00:00:00Z') / 1000 });
    const res = await facade.discovery(request('', {}, 'GET', 'v1'));
    expect(res.statusCode).toBe(410);
    expect(JSON.parse(res.body).issue[0].diagnostics).toBe('API version v1 has been retired; use API version v2');
    const token = await facade.token(request({ grant_type: 'client_credentials' }, basic(BULK), 'POST', 'v1'));
    expect(token.statusCode).toBe(410);
    expect(JSON.parse(token.body)).toEqual({ error: 'invalid_request', error_description: 'API version v1 has been retired; use API version v2' });
    const introspect = await facade.introspect(request({ token: 'x' }, basic(BULK), 'POST', 'v1'));
    expect(introspect.statusCode).toBe(410);
    const revoke = await facade.revoke(request({ token: 'x' }, basic(BULK), 'POST', 'v1'));
    expect(revoke.statusCode).not.toBe(410);
    const v2 = await facade.discovery(request('', {}, 'GET', 'v2'));
    expect(v2.statusCode).toBe(200);
  });

  test('a stage that is not a listed version answers 404 on every endpoint', async () => {
    const facade = makeFacade(versioned);
    expect((await facade.discovery(request('', {}, 'GET', 'test-invoke-stage'))).statusCode).toBe(404);
    expect((await facade.token(request({ grant_type: 'client_credentials' }, basic(BULK), 'POST', 'test-invoke-stage'))).statusCode).toBe(404);
  });

  test('a {version} base without versions, or a version list that is not valid, is refused at creation', () => {
    expect(() => makeFacade({ fhirBaseUrl: 'https://fhir.example.org/{version}/r4' })).toThrow(/fhirBaseUrl names \{version\} but no apiVersions are given/);
    expect(() => makeFacade({ apiVersions: [lifecycle] })).toThrow(/the successor of v1 \(v2\) is not a listed version/);
  });

  test('the single-version form (lifecycle) applies to every request, whatever its stage', async () => {
    const facade = makeFacade({ lifecycle, now: () => Date.parse('2026-12-07T00:00:00Z') / 1000 });
    for (const stage of [undefined, 'prod']) {
      const res = await facade.discovery(request('', {}, 'GET', stage));
      expect(JSON.parse(res.body)).toMatchObject({ api_version: 'v1', api_version_status: 'deprecated' });
    }
    const gone = makeFacade({ lifecycle, now: () => Date.parse('2027-01-01T00:00:00Z') / 1000 });
    expect((await gone.discovery(request('', {}, 'GET'))).statusCode).toBe(410);
    expect(() => makeFacade({ lifecycle, apiVersions })).toThrow(/give apiVersions or lifecycle, not both/);
  });

  test('an active version has no lifecycle fields or headers', async () => {
    const res = await makeFacade({ apiVersions: [{ version: 'v2', status: 'active' }] }).discovery(request('', {}, 'GET', 'v2'));
    expect(JSON.parse(res.body).api_version_status).toBeUndefined();
    expect(res.headers?.Deprecation).toBeUndefined();
  });
});
