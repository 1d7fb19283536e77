/**
 * A Cognito-like token issuer for tests: real keys (node:crypto), real RS256 signatures, a JWKS
 * document to preload or serve, and knobs to produce every kind of bad token.
 *
 * ```ts
 * const issuer = createTestIssuer({ userPoolId: 'us-east-1_Test1234' });
 * const token = issuer.sign({ scope: 'patient/Observation.rs', patient: '123' });
 * const forged = issuer.sign({}, { alg: 'HS256' }); // HMAC keyed with the RSA public key
 * ```
 *
 * `sign(claims)` merges `claims` over {@link TestIssuer.defaultClaims} (a Cognito access token);
 * a claim set to `undefined` is removed.
 */
import { createHmac, generateKeyPairSync, JsonWebKey, KeyObject, randomUUID, sign as cryptoSign } from 'node:crypto';

export type TestAlg = 'RS256' | 'RS384' | 'RS512' | 'ES256' | 'HS256' | 'none';

/** Which private key signs: the JWKS keys, or one that is in no JWKS. */
export type TestKey = 'rsa' | 'rsa-noalg' | 'ec' | 'foreign';

export interface SignOptions {
  /** @default 'RS256' */
  readonly alg?: TestAlg;
  /** Header `kid`; `null` omits it. @default - the kid of `key` */
  readonly kid?: string | null;
  /** @default - `rsa` for RS*, `ec` for ES256 */
  readonly key?: TestKey;
  /** HMAC secret for `HS256`. @default - the primary RSA public key in PEM (the classic confusion attack) */
  readonly hmacSecret?: string | Buffer;
  /** Extra or overriding header fields. */
  readonly header?: Record<string, unknown>;
  /** Use exactly `claims`, without the defaults. */
  readonly raw?: boolean;
  /** Sign this exact payload JSON text instead of the claims (escapes and odd keys survive). */
  readonly payloadText?: string;
}

export interface TestIssuer {
  readonly userPoolId: string;
  readonly region: string;
  /** `https://cognito-idp.<region>.amazonaws.com/<userPoolId>` */
  readonly issuer: string;
  /** Cognito's JWKS URL for the pool. */
  readonly jwksUri: string;
  /** The JWKS: `rsa` (alg RS256), `rsa-noalg` (no alg), `ec` (P-256, no alg). Not `foreign`. */
  readonly jwks: { keys: JsonWebKey[] };
  /** The kid of each key. */
  readonly kids: Readonly<Record<TestKey, string>>;
  /** The primary RSA public key in PEM. */
  readonly publicKeyPem: string;
  /** The client id the default claims carry. */
  readonly clientId: string;
  /** A fresh set of Cognito access-token claims (new `jti`, `iat` now, `exp` in 5 minutes). */
  defaultClaims(): Record<string, unknown>;
  /** Signs a compact JWS. */
  sign(claims?: Record<string, unknown>, opts?: SignOptions): string;
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

export function createTestIssuer(opts: {
  readonly userPoolId: string;
  /** @default - the region prefix of `userPoolId` */
  readonly region?: string;
  /** @default 'test-client' */
  readonly clientId?: string;
}): TestIssuer {
  const region = opts.region ?? opts.userPoolId.split('_')[0];
  const issuer = `https://cognito-idp.${region}.amazonaws.com/${opts.userPoolId}`;
  const clientId = opts.clientId ?? 'test-client';
  const suffix = randomUUID().slice(0, 8);
  const kids: Record<TestKey, string> = {
    rsa: `rsa-${suffix}`,
    'rsa-noalg': `rsa-noalg-${suffix}`,
    ec: `ec-${suffix}`,
    foreign: `foreign-${suffix}`,
  };

  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaNoAlg = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let foreign: KeyObject | undefined; // generated on first use
  const privateKeys: Record<Exclude<TestKey, 'foreign'>, KeyObject> = {
    rsa: rsa.privateKey,
    'rsa-noalg': rsaNoAlg.privateKey,
    ec: ec.privateKey,
  };

  const jwks = {
    keys: [
      { ...rsa.publicKey.export({ format: 'jwk' }), kid: kids.rsa, alg: 'RS256', use: 'sig' },
      { ...rsaNoAlg.publicKey.export({ format: 'jwk' }), kid: kids['rsa-noalg'], use: 'sig' },
      { ...ec.publicKey.export({ format: 'jwk' }), kid: kids.ec, use: 'sig' },
    ],
  };
  const publicKeyPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();

  function privateKey(key: TestKey): KeyObject {
    if (key !== 'foreign') return privateKeys[key];
    foreign ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    return foreign;
  }

  function defaultClaims(): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return {
      sub: randomUUID(),
      iss: issuer,
      version: 2,
      client_id: clientId,
      origin_jti: randomUUID(),
      event_id: randomUUID(),
      token_use: 'access',
      scope: 'launch/patient openid fhirUser patient/Observation.rs patient/Patient.r',
      auth_time: now,
      exp: now + 300,
      iat: now,
      jti: randomUUID(),
      username: 'test-user',
    };
  }

  function sign(claims: Record<string, unknown> = {}, so: SignOptions = {}): string {
    const alg = so.alg ?? 'RS256';
    const key: TestKey = so.key ?? (alg === 'ES256' ? 'ec' : 'rsa');
    const header: Record<string, unknown> = { alg, ...(so.kid === null ? {} : { kid: so.kid ?? kids[key] }), ...so.header };
    const merged: Record<string, unknown> = so.raw ? { ...claims } : { ...defaultClaims(), ...claims };
    for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
    const input = `${b64url(JSON.stringify(header))}.${b64url(so.payloadText ?? JSON.stringify(merged))}`;
    let signature: Buffer;
    switch (alg) {
      case 'none':
        signature = Buffer.alloc(0);
        break;
      case 'HS256':
        signature = createHmac('sha256', so.hmacSecret ?? publicKeyPem).update(input).digest();
        break;
      case 'ES256':
        signature = cryptoSign('sha256', Buffer.from(input), { key: privateKey(key), dsaEncoding: 'ieee-p1363' });
        break;
      default:
        signature = cryptoSign(`sha${alg.slice(2)}`, Buffer.from(input), privateKey(key));
    }
    return `${input}.${b64url(signature)}`;
  }

  return {
    userPoolId: opts.userPoolId,
    region,
    issuer,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    jwks,
    kids,
    publicKeyPem,
    clientId,
    defaultClaims,
    sign,
  };
}
