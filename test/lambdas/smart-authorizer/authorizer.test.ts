import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import {
  AuthorizerLogger,
  createAuthorizer,
  extractBearerToken,
  SmartAuthorizerOptions,
  wholeApiArn,
} from '../../../lambdas/smart-authorizer/authorizer';
import { InMemoryRevocationStore, RevocationStore } from '../../../lambdas/shared/revocation';
import { hasFhirScope, MAX_SCOPES, parseScopes } from '../../../lambdas/shared/smart-scopes';
import { authorizerEvent, bearer } from '../helpers/events';
import { createTestIssuer, SignOptions, TestIssuer } from '../helpers/jwt';

const USER_POOL_ID = 'us-east-1_TestPool1';
const CLIENT_ID = 'app-client-1';
const OTHER_CLIENT_ID = 'app-client-2';
const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abc123def4/prod/GET/r4/Observation';
const WHOLE_API = 'arn:aws:execute-api:us-east-1:123456789012:abc123def4/prod/*/*';

/** A logger that records every call, to assert reasons are logged and tokens never are. */
function recordingLogger(): AuthorizerLogger & { calls: Array<[string, string, unknown[]]> } {
  const calls: Array<[string, string, unknown[]]> = [];
  const rec =
    (level: string) =>
    (message: string, ...extra: unknown[]): void => {
      calls.push([level, message, extra]);
    };
  return { calls, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

function event(headers: Record<string, string> | null, overrides: Partial<APIGatewayRequestAuthorizerEvent> = {}): APIGatewayRequestAuthorizerEvent {
  return authorizerEvent(headers, { methodArn: METHOD_ARN, ...overrides });
}



let issuer: TestIssuer;
let otherPool: TestIssuer;

beforeAll(() => {
  issuer = createTestIssuer({ userPoolId: USER_POOL_ID, clientId: CLIENT_ID });
  otherPool = createTestIssuer({ userPoolId: 'us-east-1_OtherPool', clientId: CLIENT_ID });
});

describe('pure helpers', () => {
  it.each([
    [METHOD_ARN, WHOLE_API],
    ['arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:api1/v1/POST/r4', 'arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:api1/v1/*/*'],
    ['arn:aws:execute-api:us-east-1:123456789012:abc/prod', 'arn:aws:execute-api:us-east-1:123456789012:abc/prod/*/*'],
    ['arn:aws:execute-api:us-east-1:123456789012:abc', undefined],
    ['arn:aws:lambda:us-east-1:123456789012:abc/prod/GET/x', undefined],
    ['arn:aws:execute-api:us-east-1:12345:abc/prod/GET/x', undefined],
    ['arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/x', undefined],
    ['arn:aws:execute-api:us-east-1:123456789012:abc/prod/', 'arn:aws:execute-api:us-east-1:123456789012:abc/prod/*/*'],
    ['arn:aws:execute-api:us-east-1:123456789012:abc//prod/GET/x', undefined],
    ['arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/a:b', undefined],
    ['arn::execute-api:us-east-1:123456789012:abc/prod/GET/x', undefined],
    ['arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/x\n', 'arn:aws:execute-api:us-east-1:123456789012:abc/prod/*/*'],
    ['', undefined],
  ])('wholeApiArn(%s) = %s', (arn, expected) => {
    expect(wholeApiArn(arn)).toBe(expected);
  });

  it.each([
    [{ Authorization: 'Bearer a.b.c' }, 'a.b.c'],
    [{ authorization: 'bearer a.b.c' }, 'a.b.c'],
    [{ AUTHORIZATION: 'BEARER a.b.c' }, 'a.b.c'],
    [{ Authorization: 'Bearer   a.b.c ' }, 'a.b.c'],
  ])('extracts the token from %j', (headers, token) => {
    expect(extractBearerToken({ headers, multiValueHeaders: null })).toEqual({ token });
  });

  it.each([
    [{}, /no Authorization/],
    [{ Authorization: 'a.b.c' }, /not "Bearer <token>"/],
    [{ Authorization: 'Basic a.b.c' }, /not "Bearer <token>"/],
    [{ Authorization: 'Bearer' }, /not "Bearer <token>"/],
    [{ Authorization: 'Bearer a.b.c d.e.f' }, /not "Bearer <token>"/],
    [{ Authorization: 'Bearer\ta.b.c' }, /not "Bearer <token>"/],
    [{ Authorization: 'Bearerx a.b.c' }, /not "Bearer <token>"/],
    [{ Authorization: 'Bearer ' }, /not "Bearer <token>"/],
    [{ Authorization: 'Bearer a.b.c', authorization: 'Bearer a.b.c' }, /more than one/],
    [{ Authorization: `Bearer ${'a'.repeat(9000)}` }, /oversized/],
    [{ Authorization: `Bearer ${'a'.repeat(8190)}.b.c` }, /oversized token/],
  ])('refuses %j', (headers, reason) => {
    const out = extractBearerToken({ headers, multiValueHeaders: null });
    expect('reason' in out && out.reason).toMatch(reason);
  });

  const filler = (n: number): string => Array.from({ length: n }, () => 'openid').join(' ');
  it.each([
    '',
    ' ',
    'openid fhirUser launch/patient offline_access',
    'patient/Observation.rs',
    '  patient/Observation.rs  ',
    'openid  user/*.cruds',
    'patient/Observation.sr Patient/Observation.read user/Foo.rs',
    'patient/Observation.rs?category=laboratory',
    'patient/Observation.read?category=laboratory',
    'launch/Observation.rs',
    'patient/Observation.rs\tuser/Patient.r',
    `${filler(MAX_SCOPES - 1)} patient/Observation.rs`,
    `${filler(MAX_SCOPES)} patient/Observation.rs`,
  ])('allows %j exactly when hasFhirScope(parseScopes(...)) holds', async (scope) => {
    const authorize = createAuthorizer({ userPoolId: USER_POOL_ID, clientIds: [CLIENT_ID], jwks: issuer.jwks, logger: recordingLogger() });
    const allowed = await authorize(event(bearer(issuer.sign({ scope })))).then(
      () => true,
      () => false,
    );
    expect(allowed).toBe(hasFhirScope(parseScopes(scope)));
  });

  it('leaves the shape check to the verifier, and refuses every malformed shape', async () => {
    expect(extractBearerToken({ headers: { Authorization: 'Bearer a+b.c.d' }, multiValueHeaders: null })).toEqual({ token: 'a+b.c.d' });
    const logger = recordingLogger();
    const authorize = createAuthorizer({ userPoolId: USER_POOL_ID, clientIds: [CLIENT_ID], jwks: issuer.jwks, logger });
    for (const token of ['a.b', 'a.b.c.d', 'a.b.', 'a+b.c.d', '\ta.b.c', 'a.b.c=']) {
      logger.calls.length = 0;
      await expect(authorize(event({ Authorization: `Bearer ${token}` }))).rejects.toThrow(new Error('Unauthorized'));
      expect(JSON.stringify(logger.calls.find(([, message]) => message === 'Denied'))).toMatch(/not a compact JWS/);
    }
  });

  it('refuses a repeated Authorization header in multiValueHeaders', () => {
    const out = extractBearerToken({
      headers: { Authorization: 'Bearer a.b.c' },
      multiValueHeaders: { Authorization: ['Bearer a.b.c', 'Bearer d.e.f'] },
    });
    expect(out).toEqual({ reason: 'more than one Authorization header' });
  });
});

describe('createAuthorizer with a preloaded JWKS', () => {
  let revocation: InMemoryRevocationStore;
  let logger: ReturnType<typeof recordingLogger>;
  let authorize: ReturnType<typeof createAuthorizer>;

  beforeEach(() => {
    revocation = new InMemoryRevocationStore();
    logger = recordingLogger();
    authorize = createAuthorizer({
      userPoolId: USER_POOL_ID,
      clientIds: [CLIENT_ID, OTHER_CLIENT_ID],
      jwks: issuer.jwks,
      revocation,
      clients: { [CLIENT_ID]: { tier: 'standard', usageIdentifierKey: 'usage-key-1' }, [OTHER_CLIENT_ID]: { tier: 'high' } },
      logger,
    });
  });

  /** Expects a denial with exactly `Unauthorized`, a logged reason, and the token nowhere in the logs. */
  async function expectDenied(ev: APIGatewayRequestAuthorizerEvent, reason: RegExp, token?: string): Promise<void> {
    await expect(authorize(ev)).rejects.toThrow(new Error('Unauthorized'));
    const denial = logger.calls.find(([level, message]) => level === 'warn' && message === 'Denied');
    expect(denial).toBeDefined();
    expect(JSON.stringify(denial?.[2])).toMatch(reason);
    if (token) {
      const logged = JSON.stringify(logger.calls);
      for (const part of token.split('.')) if (part.length > 8) expect(logged).not.toContain(part);
    }
  }

  it('allows a valid token on the whole API with the caller context', async () => {
    const claims: Record<string, unknown> = { ...issuer.defaultClaims(), patient: 'pat-123', fhirUser: 'Patient/pat-123', labels: 'R N' };
    const token = issuer.sign(claims, { raw: true });
    const result = await authorize(event(bearer(token)));
    expect(result).toEqual({
      principalId: claims.sub,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: WHOLE_API }],
      },
      context: {
        sub: claims.sub,
        clientId: CLIENT_ID,
        scope: claims.scope,
        patient: 'pat-123',
        fhirUser: 'Patient/pat-123',
        tier: 'standard',
        jti: claims.jti,
        labels: 'R N',
      },
      usageIdentifierKey: 'usage-key-1',
    });
    expect(JSON.stringify(logger.calls)).not.toContain(token.split('.')[2]);
  });

  it('fills absent claims with empty strings and omits usageIdentifierKey when the client has none', async () => {
    const token = issuer.sign({ client_id: OTHER_CLIENT_ID, scope: 'system/*.rs' });
    const result = await authorize(event(bearer(token)));
    expect(result.context).toMatchObject({ patient: '', fhirUser: '', labels: '', tier: 'high', clientId: OTHER_CLIENT_ID });
    expect(result).not.toHaveProperty('usageIdentifierKey');
    for (const value of Object.values(result.context ?? {})) expect(typeof value).toBe('string');
  });

  it('accepts labels given as a list and lower-case header and scheme', async () => {
    const token = issuer.sign({ labels: ['R', 'PSY'] });
    const result = await authorize(event({ authorization: `bearer ${token}` }));
    expect(result.context?.labels).toBe('R PSY');
  });

  it('gives the same whole-API resource for every route, so a cached Allow is never wrong', async () => {
    const token = issuer.sign();
    const a = await authorize(event(bearer(token), { methodArn: `${WHOLE_API.slice(0, -4)}/DELETE/r4/Patient/1` }));
    const b = await authorize(event(bearer(token)));
    expect(a.policyDocument).toEqual(b.policyDocument);
  });

  it('answers the same through its per-container memos, also past their size limit', async () => {
    // More distinct route ARNs and scope sets than the memos keep, interleaved with refusals.
    for (let i = 0; i < 300; i++) {
      const stage = `s${i}`;
      const methodArn = `arn:aws:execute-api:us-east-1:123456789012:abc123/${stage}/GET/r4/Patient/${i}`;
      const scope = i % 2 === 0 ? `patient/Observation.rs openid x${i}` : `openid launch/patient x${i}`;
      const token = issuer.sign({ scope });
      if (i % 2 === 0) {
        const result = await authorize(event(bearer(token), { methodArn }));
        expect(result.policyDocument.Statement[0]).toMatchObject({ Resource: `arn:aws:execute-api:us-east-1:123456789012:abc123/${stage}/*/*` });
      } else {
        await expect(authorize(event(bearer(token), { methodArn }))).rejects.toThrow('Unauthorized');
      }
      await expect(authorize(event(bearer(token), { methodArn: `${methodArn}:extra` }))).rejects.toThrow('Unauthorized');
    }
  });

  const now = (): number => Math.floor(Date.now() / 1000);
  type Case = [string, () => { headers: Record<string, string> | null; token?: string; ev?: Partial<APIGatewayRequestAuthorizerEvent> }, RegExp];
  /** A case whose token is signed when the test runs (claims may be computed then too). */
  const tok = (claims: Record<string, unknown> | (() => Record<string, unknown>) = {}, opts?: SignOptions) => () => {
    const token = issuer.sign(typeof claims === 'function' ? claims() : claims, opts);
    return { headers: bearer(token), token };
  };

  const cases: Case[] = [
    ['missing header', () => ({ headers: null }), /no Authorization/],
    ['empty headers', () => ({ headers: {} }), /no Authorization/],
    ['wrong scheme', () => ({ headers: { Authorization: `Basic ${issuer.sign()}` } }), /Bearer/],
    ['token without scheme', () => ({ headers: { Authorization: issuer.sign() } }), /Bearer/],
    ['two tokens', () => ({ headers: { Authorization: `Bearer ${issuer.sign()} ${issuer.sign()}` } }), /Bearer/],
    ['garbage token', () => ({ headers: bearer('not-a-jwt') }), /compact JWS/],
    ['header that is not JSON', () => ({ headers: bearer('bm90IGpzb24.e30.c2ln') }), /malformed token header/],
    ['expired', tok(() => ({ exp: now() - 10, iat: now() - 400 })), /expired/i],
    ['nbf in the future', tok(() => ({ nbf: now() + 120 })), /can't be used before/],
    ['iat in the future', tok(() => ({ iat: now() + 3600, exp: now() + 7200 })), /iat/],
    ['no exp', tok({ exp: undefined }), /no exp/],
    ['wrong issuer (another pool, same key)', tok(() => ({ iss: otherPool.issuer })), /verification failed/],
    ['token signed by another pool', () => {
      const token = otherPool.sign();
      return { headers: bearer(token), token };
    }, /verification failed/],
    ['ID token instead of access token', tok({ token_use: 'id', aud: CLIENT_ID, client_id: undefined }), /verification failed/],
    ['unknown client', tok({ client_id: 'someone-else' }), /unknown client_id/],
    ['unknown kid', tok({}, { kid: 'no-such-kid' }), /verification failed/],
    ['no kid', tok({}, { kid: null }), /no kid/],
    ['alg none', tok({}, { alg: 'none' }), /compact JWS|RS256/],
    ['alg none with a fake signature', () => {
      const [h, p] = issuer.sign({}, { alg: 'none' }).split('.');
      return { headers: bearer(`${h}.${p}.AAAA`), token: `${h}.${p}.AAAA` };
    }, /RS256/],
    ['HS256 keyed with the public key', tok({}, { alg: 'HS256', kid: undefined }), /RS256/],
    ['RS384 with a key whose JWK has no alg', tok({}, { alg: 'RS384', key: 'rsa-noalg' }), /RS256/],
    ['ES256 with an EC key in the JWKS', tok({}, { alg: 'ES256' }), /RS256/],
    ['RS256 header but signed by an EC key id', () => {
      const token = issuer.sign({}, { alg: 'RS256', key: 'rsa', kid: issuer.kids.ec });
      return { headers: bearer(token), token };
    }, /RS256|verification failed/],
    ['signed by a key not in the JWKS, under our kid', () => {
      const token = issuer.sign({}, { key: 'foreign', kid: issuer.kids.rsa });
      return { headers: bearer(token), token };
    }, /Invalid signature/],
    ['crit header', tok({}, { header: { crit: ['exp'] } }), /crit/],
    ['tampered payload', () => {
      const [h, , s] = issuer.sign({ scope: 'patient/Observation.rs' }).split('.');
      const p = Buffer.from(JSON.stringify({ ...issuer.defaultClaims(), scope: 'user/*.cruds' })).toString('base64url');
      return { headers: bearer(`${h}.${p}.${s}`), token: `${h}.${p}.${s}` };
    }, /Invalid signature/],
    ['tampered signature', () => {
      const token = issuer.sign();
      const bad = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      return { headers: bearer(bad), token: bad };
    }, /Invalid signature/],
    ['oversized token', tok({ padding: 'x'.repeat(9000) }), /oversized/],
    ['no FHIR scope', tok({ scope: 'openid fhirUser launch/patient offline_access' }), /no FHIR resource scope/],
    ['only malformed FHIR scopes', tok({ scope: 'patient/Observation.sr Patient/Observation.read user/Foo.rs' }), /no FHIR resource scope/],
    ['no scope claim', tok({ scope: undefined }), /no scope/],
    ['no sub', tok({ sub: undefined }), /no sub/],
    ['no jti', tok({ jti: undefined }), /no jti/],
    ['malformed patient claim', tok({ patient: '../Patient/1' }), /patient claim/],
    ['non-string patient claim', tok({ patient: 42 }), /patient claim/],
    ['malformed fhirUser claim', tok({ fhirUser: 'Patient/1 Patient/2' }), /fhirUser claim/],
    ['malformed labels claim', tok({ labels: { R: true } }), /labels claim/],
    ['malformed methodArn', () => ({ headers: bearer(issuer.sign()), ev: { methodArn: 'nonsense' } }), /methodArn/],
  ];

  it.each(cases)('denies: %s', async (_label, make, reason) => {
    const { headers, token, ev } = make();
    await expectDenied(event(headers, ev), reason, token);
  });

  it('still checks every token whose header it has seen on a verified token', async () => {
    const valid = issuer.sign({ scope: 'patient/Observation.rs' });
    await expect(authorize(event(bearer(valid)))).resolves.toMatchObject({ principalId: expect.any(String) });
    const [h, , s] = valid.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...issuer.defaultClaims(), scope: 'user/*.cruds' })).toString('base64url')}.${s}`;
    await expectDenied(event(bearer(forged)), /Invalid signature/, forged);
    logger.calls.length = 0;
    await expectDenied(event(bearer(issuer.sign({ exp: now() - 10, iat: now() - 400 }))), /expired/i);
    logger.calls.length = 0;
    await expectDenied(event(bearer(issuer.sign({ client_id: 'someone-else' }))), /unknown client_id/);
  });

  it('denies a revoked jti', async () => {
    const claims = issuer.defaultClaims();
    await revocation.revoke(String(claims.jti), now() + 300);
    await expectDenied(event(bearer(issuer.sign(claims, { raw: true }))), /jti is revoked/);
  });

  it('denies a revoked origin_jti (the whole refresh-token family)', async () => {
    const claims = issuer.defaultClaims();
    await revocation.revoke(String(claims.origin_jti), now() + 300);
    await expectDenied(event(bearer(issuer.sign(claims, { raw: true }))), /origin_jti is revoked/);
  });

  it('denies when the revocation store fails', async () => {
    const failing: RevocationStore = {
      isRevoked: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
      revoke: async () => undefined,
    };
    const a = createAuthorizer({ userPoolId: USER_POOL_ID, clientIds: [CLIENT_ID], jwks: issuer.jwks, revocation: failing, logger });
    await expect(a(event(bearer(issuer.sign())))).rejects.toThrow(new Error('Unauthorized'));
  });

  it('denies a null or malformed event', async () => {
    await expect(authorize(null as unknown as APIGatewayRequestAuthorizerEvent)).rejects.toThrow(new Error('Unauthorized'));
    await expect(authorize({} as APIGatewayRequestAuthorizerEvent)).rejects.toThrow(new Error('Unauthorized'));
  });

  it('refuses invalid options at creation', () => {
    const base: SmartAuthorizerOptions = { userPoolId: USER_POOL_ID, clientIds: [CLIENT_ID], jwks: issuer.jwks, logger };
    expect(() => createAuthorizer({ ...base, clientIds: [] })).toThrow();
    expect(() => createAuthorizer({ ...base, userPoolId: '' })).toThrow();
    expect(() => createAuthorizer({ ...base, jwks: { nope: true } })).toThrow();
    expect(() => createAuthorizer({ ...base, jwks: undefined, jwksUri: 'http://example.com/jwks.json' })).toThrow(/https/);
  });
});

describe('createAuthorizer fetching the JWKS from 127.0.0.1', () => {
  let server: http.Server;
  let url: string;
  let respond: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  let fetches = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      fetches++;
      respond(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    fetches = 0;
    respond = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(issuer.jwks));
    };
  });

  const make = (opts: Partial<SmartAuthorizerOptions> = {}) =>
    createAuthorizer({
      userPoolId: USER_POOL_ID,
      clientIds: [CLIENT_ID],
      jwksUri: url,
      // Generous: the suite runs on 2 loaded cores; the hang test sets its own short timeout.
      jwksTimeoutMs: 3000,
      revocation: new InMemoryRevocationStore(),
      logger: recordingLogger(),
      ...opts,
    });

  it('hydrates once at cold start (one request for both Cognito issuer formats) and then verifies without fetching', async () => {
    const authorize = make();
    // Hydration starts at construction, before any request: wait for it (bounded).
    for (let i = 0; i < 100 && fetches === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fetches).toBe(1);
    await authorize(event(bearer(issuer.sign())));
    await authorize(event(bearer(issuer.sign())));
    expect(fetches).toBe(1);
  });

  it('denies while the JWKS endpoint fails, and retries hydration on a later invocation', async () => {
    respond = (_req, res) => {
      res.writeHead(503);
      res.end();
    };
    const logger = recordingLogger();
    const authorize = make({ logger });
    await expect(authorize(event(bearer(issuer.sign())))).rejects.toThrow(new Error('Unauthorized'));
    expect(JSON.stringify(logger.calls)).toMatch(/JWKS unavailable/);
    expect(JSON.stringify(logger.calls)).toMatch(/JWKS hydration failed.*HTTP 503/);
    respond = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(issuer.jwks));
    };
    await expect(authorize(event(bearer(issuer.sign())))).resolves.toMatchObject({ principalId: expect.any(String) });
  });

  it('denies within the timeout when the JWKS endpoint hangs', async () => {
    respond = () => undefined; // never answers
    const authorize = make({ jwksTimeoutMs: 250 });
    const t0 = Date.now();
    await expect(authorize(event(bearer(issuer.sign())))).rejects.toThrow(new Error('Unauthorized'));
    expect(Date.now() - t0).toBeLessThan(2000);
    server.closeAllConnections();
  });

  it('denies when nothing listens on the JWKS port', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const authorize = make({ jwksUri: `http://127.0.0.1:${port}/jwks.json` });
    const t0 = Date.now();
    await expect(authorize(event(bearer(issuer.sign())))).rejects.toThrow(new Error('Unauthorized'));
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('denies an oversized or non-JWKS response', async () => {
    respond = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: 'nope' }));
    };
    await expect(make()(event(bearer(issuer.sign())))).rejects.toThrow(new Error('Unauthorized'));
    respond = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [], padding: 'x'.repeat(70 * 1024) }));
    };
    await expect(make()(event(bearer(issuer.sign())))).rejects.toThrow(new Error('Unauthorized'));
  });

  it('does not follow redirects', async () => {
    respond = (_req, res) => {
      res.writeHead(302, { location: 'https://attacker.example/jwks.json' });
      res.end();
    };
    await expect(make()(event(bearer(issuer.sign())))).rejects.toThrow(new Error('Unauthorized'));
  });

  it('picks up a rotated key by re-fetching the JWKS for a new kid', async () => {
    const rotated = createTestIssuer({ userPoolId: USER_POOL_ID, clientId: CLIENT_ID });
    const authorize = make();
    await authorize(event(bearer(issuer.sign())));
    respond = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [...issuer.jwks.keys, ...rotated.jwks.keys] }));
    };
    await expect(authorize(event(bearer(rotated.sign())))).resolves.toMatchObject({ principalId: expect.any(String) });
    expect(fetches).toBe(2);
  });
});
