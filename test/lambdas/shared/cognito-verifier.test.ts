/**
 * The shared Cognito access-token verifier's warm path (decoding, algorithm pinning, one
 * `crypto.verify`, the library's claim checks), checked on its own and against aws-jwt-verify's
 * `verifySync` on the same tokens. The attack table lives in the authorizer tests.
 */
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import type { Jwks } from 'aws-jwt-verify/jwk';
import type { JsonWebKey } from 'node:crypto';
import * as fc from 'fast-check';
import { createCognitoAccessTokenVerifier, TokenRejected } from '../../../lambdas/shared/cognito-verifier';
import { createTestIssuer, TestKey } from '../helpers/jwt';

const USER_POOL_ID = 'eu-west-1_VerifierT1';
const CLIENT_ID = 'verifier-client';
const issuer = createTestIssuer({ userPoolId: USER_POOL_ID, clientId: CLIENT_ID });
const GLOBAL_ISSUER = `https://issuer-cognito-idp.eu-west-1.amazonaws.com/${USER_POOL_ID}`;
const now = (): number => Math.floor(Date.now() / 1000);

function verifierWith(jwks: object = issuer.jwks) {
  return createCognitoAccessTokenVerifier({ userPoolId: USER_POOL_ID, clientIds: [CLIENT_ID], jwks });
}
const verifier = verifierWith();

async function reason(token: string, v = verifier): Promise<string> {
  const err = await v.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof TokenRejected)) throw new Error(`expected a TokenRejected, got ${String(err)}`);
  return err.reason;
}

/** Payload JSON text with the default claims, then `extra` spliced in verbatim. */
function payloadWith(extra: string): string {
  const base = JSON.stringify(issuer.defaultClaims());
  return `${base.slice(0, -1)},${extra}}`;
}

describe('decoding', () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['a literal __proto__ key', '"__proto__":{"polluted":true}'],
    ['an escaped __proto__ key', '"\\u005f_proto__":{"polluted":true}'],
    ['a constructor key', '"constructor":{"prototype":{"polluted":true}}'],
    ['an escaped constructor key', '"\\u0063onstructor":{"polluted":true}'],
  ])('accepts a valid token with %s and drops that key from the claims', async (_label, extra) => {
    const claims = await verifier.verify(issuer.sign({}, { payloadText: payloadWith(extra) }));
    expect(claims.client_id).toBe(CLIENT_ID);
    expect(Object.prototype.hasOwnProperty.call(claims, '__proto__')).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(claims, 'constructor')).toBe(false);
    expect(Object.getPrototypeOf(claims)).toBe(Object.prototype);
  });

  it('keeps other escaped text intact', async () => {
    const claims = await verifier.verify(issuer.sign({}, { payloadText: payloadWith('"fhirUser":"Practitioner\\u002fp-1"') }));
    expect(claims.fhirUser).toBe('Practitioner/p-1');
  });

  it.each([
    ['exp as a string', '"exp":"99999999999"'],
    ['nbf as a string', '"nbf":"0"'],
    ['iat as a string', '"iat":"0"'],
    ['exp not finite (huge)', '"exp":1e400'],
    ['iss as a number', '"iss":1'],
    ['aud as a number', '"aud":1'],
    ['aud with a non-string', '"aud":["a",1]'],
    ['jti as a number', '"jti":7'],
  ])('refuses %s (duplicate keys: the last wins, as in JSON.parse)', async (_label, extra) => {
    expect(await reason(issuer.sign({}, { payloadText: payloadWith(extra) }))).toBe('malformed token payload');
  });

  it.each([
    ['a payload that is not JSON', 'not json'],
    ['a payload that is an array', '[1,2]'],
    ['a payload that is null', 'null'],
  ])('refuses %s', async (_label, text) => {
    expect(await reason(issuer.sign({}, { payloadText: text }))).toBe('malformed token payload');
  });
});

describe('issuers and keys', () => {
  it("accepts Cognito's global issuer format, and no other issuer", async () => {
    await expect(verifier.verify(issuer.sign({ iss: GLOBAL_ISSUER }))).resolves.toMatchObject({ iss: GLOBAL_ISSUER });
    expect(await reason(issuer.sign({ iss: `${issuer.issuer}/` }))).toMatch(/issuer is not this user pool/);
    expect(await reason(issuer.sign({ iss: undefined }))).toMatch(/issuer is not this user pool/);
  });

  it('refuses a key whose JWK is for encryption, or states another algorithm', async () => {
    const rsa = issuer.jwks.keys[0] as JsonWebKey & { kid: string };
    const enc = verifierWith({ keys: [{ ...rsa, use: 'enc' }] });
    expect(await reason(issuer.sign(), enc)).toMatch(/verification failed/);
    const rs384 = verifierWith({ keys: [{ ...rsa, alg: 'RS384' }] });
    expect(await reason(issuer.sign(), rs384)).toMatch(/RS256/);
  });

  it('checks every signature, also for a header and key it has seen', async () => {
    const first = issuer.sign();
    await verifier.verify(first);
    const [h, p] = issuer.sign({ scope: 'system/*.cruds' }).split('.');
    const s = first.split('.')[2];
    expect(await reason(`${h}.${p}.${s}`)).toMatch(/Invalid signature/);
    expect(await reason(issuer.sign({}, { key: 'foreign', kid: issuer.kids.rsa }))).toMatch(/Invalid signature/);
  });
});

describe('agrees with aws-jwt-verify', () => {
  const library = CognitoJwtVerifier.create({ userPoolId: USER_POOL_ID, tokenUse: 'access', clientId: CLIENT_ID });
  library.cacheJwks(issuer.jwks as unknown as Jwks);

  /** A token as the library sees it: RS256 only (the kit pins it), plus our required claims. */
  function libraryAccepts(token: string): boolean {
    try {
      const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()) as Record<string, unknown>;
      const payload = library.verifySync(token) as Record<string, unknown>;
      return header.alg === 'RS256' && header.crit === undefined && typeof payload.exp === 'number' && typeof payload.jti === 'string' && typeof payload.sub === 'string';
    } catch {
      return false;
    }
  }

  it('accepts exactly the tokens the library accepts (claims, issuers, keys and algorithms varied)', async () => {
    const t = now();
    // Mostly the default (valid) claim, so that accepted tokens are common too.
    const claim = <T>(values: readonly T[]) =>
      fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: fc.constantFrom(...values), weight: 1 });
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          exp: claim([t - 600, t - 1, t + 5, t + 3600, 'soon']),
          nbf: claim([t - 60, t + 120]),
          iss: claim([issuer.issuer, GLOBAL_ISSUER, 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other', 7, '', null]),
          token_use: claim(['access', 'id', 'refresh']),
          client_id: claim([CLIENT_ID, 'another-client', '', 42, [CLIENT_ID], null]),
          aud: claim([CLIENT_ID, ['x', CLIENT_ID], 3]),
        }),
        fc.oneof(
          { arbitrary: fc.constant<[string, TestKey]>(['RS256', 'rsa']), weight: 3 },
          { arbitrary: fc.constantFrom<[string, TestKey]>(['RS256', 'rsa-noalg'], ['RS256', 'foreign'], ['RS384', 'rsa-noalg'], ['ES256', 'ec']), weight: 2 },
        ),
        fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, { arbitrary: fc.constant(true), weight: 1 }),
        async (claims, [alg, key], tamper) => {
          // `undefined` keeps the default claim; the defaults are a valid access token.
          const overrides = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
          let token = issuer.sign(overrides, { alg: alg as 'RS256', key });
          if (tamper) token = token.replace(/\.(.)/, (_m, c: string) => `.${c === 'e' ? 'f' : 'e'}`);
          const ours = await verifier.verify(token).then(
            () => true,
            () => false,
          );
          expect(ours).toBe(libraryAccepts(token));
          seen[ours ? 'accepted' : 'refused']++;
        },
      ),
      { numRuns: 300 },
    );
    // Both outcomes were exercised, or the agreement would prove nothing.
    expect(seen.accepted).toBeGreaterThan(5);
    expect(seen.refused).toBeGreaterThan(5);
  });
});

describe('keys: fetched once, then the warm path', () => {
  it('fetches the JWKS for the first token only, and again only for a new kid', async () => {
    let fetches = 0;
    const fakeFetch = (async () => {
      fetches++;
      return new Response(JSON.stringify(issuer.jwks), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const v = createCognitoAccessTokenVerifier({ userPoolId: USER_POOL_ID, clientIds: [CLIENT_ID], fetch: fakeFetch });
    const token = issuer.sign();
    expect(fetches).toBe(0); // nothing fetched before the first token (no hydrateOnCreate)
    await expect(v.verify(token)).resolves.toMatchObject({ client_id: CLIENT_ID });
    const fetched = fetches;
    expect(fetched).toBeGreaterThan(0);
    await expect(v.verify(issuer.sign())).resolves.toMatchObject({ client_id: CLIENT_ID });
    await expect(v.verify(issuer.sign({ exp: now() - 60, iat: now() - 400 }))).rejects.toThrow(TokenRejected);
    await expect(v.verify('x.y')).rejects.toThrow(TokenRejected);
    expect(fetches).toBe(fetched); // cached keys answer these without fetching
    await expect(v.verify(issuer.sign({}, { kid: 'rotated-kid' }))).rejects.toThrow(TokenRejected);
    expect(fetches).toBeGreaterThan(fetched); // a kid the cache lacks is looked for (rotation)
  });

  it('with preloaded keys, refuses an unknown kid at once', async () => {
    await expect(verifier.verify(issuer.sign({}, { kid: 'rotated-kid' }))).rejects.toThrow(TokenRejected);
  });
});

describe('decoding scratch space', () => {
  it('verifies tokens of any size in turn, one buffer reused or grown, nothing carried from one to the next', async () => {
    const big = createCognitoAccessTokenVerifier({ userPoolId: USER_POOL_ID, clientIds: [CLIENT_ID], jwks: issuer.jwks, maxTokenLength: 64 * 1024 });
    const huge = issuer.sign({ padding: 'p'.repeat(30_000) }); // larger than the initial 16 KiB scratch buffer
    const small = issuer.sign();
    expect(huge.length).toBeGreaterThan(16 * 1024);
    for (const token of [small, huge, small, huge]) await expect(big.verify(token)).resolves.toMatchObject({ client_id: CLIENT_ID });
    // A short forged token right after a long valid one: stale bytes beyond its own length must not count.
    const [h, p] = small.split('.');
    const s = huge.split('.')[2];
    expect(await reason(`${h}.${p}.${s.slice(0, 10)}`, big)).toMatch(/Invalid signature/);
    expect(await reason(`${h}.${p}.${s}`, big)).toMatch(/Invalid signature/);
  });
});
