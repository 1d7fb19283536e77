/**
 * The one Cognito access-token verifier, used by the SMART authorizer and the SMART façade
 * (token, introspection, revocation).
 *
 * Checks, in order, each failing with a {@link TokenRejected} whose reason is safe to log: token
 * length and compact-JWS shape; header `alg` is RS256 (anything else, including `none` and
 * `HS256`, is refused before any key is touched), `kid` present, no `crit`; `iss` is one of the
 * pool's two issuer URLs (it selects the JWKS); the signature against the pool's JWKS by `kid`
 * (the key must be RSA); aws-jwt-verify's `exp`, `nbf` and `token_use=access` checks; then
 * `client_id` among the registered clients, `exp` required, `iat` not in the future, `sub` and
 * `jti` present, `origin_jti` and `scope` well-formed when present.
 *
 * JWKS: preloaded (`jwks`, tests and offline runs: never fetched), or fetched from the pool with a
 * hard timeout, no redirects, a size cap, once per container (at creation with `hydrateOnCreate`,
 * else on the first token) and again when a token names a `kid` the cached JWKS lacks (rotation).
 *
 * The warm path (keys cached) is synchronous and is built from aws-jwt-verify's public parts
 * rather than its `verifySync`, whose decoding (a JSON reviver on every value, a stream
 * verifier) costs more than the RSA verification itself: the library still owns the JWKS (fetch,
 * cache, key selection by `kid` with `getCachedJwk`), the JWK checks (`assertIsSignatureJwk`), the
 * JWK→key conversion and its cache (`KeyObjectCache`) and the time and token-use checks
 * (`validateJwtFields`: `exp`, `nbf`; `validateCognitoJwtFields`: `token_use`); `iss` and
 * `client_id` are checked here by exact membership (see `JWT_FIELDS`). This module decodes the
 * token (JSON.parse, falling back to the library's prototype-safe `safeJsonParse` for any text
 * that could spell `__proto__` or `constructor`), pins the algorithm (RS256, RSA key, JWK `alg`
 * RS256 when stated) and checks the signature with one `crypto.verify` (RSASSA-PKCS1-v1_5 with
 * SHA-256, which is what RS256 is). The cold path (no keys yet, or a new `kid`) is the library's
 * own `verify`.
 *
 * A header segment that has led to a verified token is remembered with its decoded object (a
 * handful per pool, one per signing key), so later tokens signed with the same key skip
 * re-decoding it. The decision is a pure function of the segment's text, so this skips no check.
 */
import { KeyObject, verify as cryptoVerify } from 'crypto';
import { CognitoJwtVerifier, validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
import { JwksNotAvailableInCacheError, KidNotFoundInJwksError } from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import { assertIsJwks, assertIsSignatureJwk, SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { Jwk, Jwks } from 'aws-jwt-verify/jwk';
import { validateJwtFields } from 'aws-jwt-verify/jwt';
import type { DecomposedJwt } from 'aws-jwt-verify/jwt';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import { KeyObjectCache } from 'aws-jwt-verify/jwt-verifier';
import { safeJsonParse } from 'aws-jwt-verify/safe-json-parse';
import { isObject } from './json';

/** The only signature algorithm accepted (Cognito signs with RS256). */
export const ACCEPTED_ALG = 'RS256';
/** Default longest token accepted, in characters. */
export const DEFAULT_MAX_TOKEN_LENGTH = 8192;
/** Default time allowed for one JWKS fetch, in milliseconds. */
export const DEFAULT_JWKS_TIMEOUT_MS = 1500;
/** Largest JWKS document read, in bytes. */
const MAX_JWKS_BYTES = 64 * 1024;
/** How far in the future an `iat` may lie (clock skew), in seconds. */
const MAX_IAT_SKEW_SECONDS = 300;
/** At most this many verified header segments are remembered (a pool has 2 signing keys). */
const MAX_REMEMBERED_HEADERS = 16;

/**
 * aws-jwt-verify's claim checks as the warm path calls them: `exp`, `nbf` (`validateJwtFields`)
 * and `token_use` (`validateCognitoJwtFields`). `iss` and `client_id` are checked here by exact
 * membership instead (the issuer selects the JWKS, so it is checked first; `client_id` in
 * {@link checkClaims}): the library's versions of those two build a set and a list per token.
 */
const JWT_FIELDS = { issuer: null, audience: null } as const;
const COGNITO_FIELDS = { tokenUse: 'access', clientId: null, groups: null } as const;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const USER_POOL_ID = /^([a-z]{2}-(?:gov-)?[a-z]+-\d)_[A-Za-z0-9]+$/;

/** The verified payload of a Cognito access token (claims beyond these are kept as unknown). */
export interface AccessTokenClaims {
  readonly sub: string;
  readonly iss: string;
  readonly client_id: string;
  readonly token_use: 'access';
  readonly scope?: string;
  readonly exp: number;
  readonly iat?: number;
  readonly jti: string;
  readonly origin_jti?: string;
  readonly [claim: string]: unknown;
}

export interface CognitoVerifierOptions {
  /** The user pool that issues the tokens, e.g. `us-east-1_AbCdEf123`. */
  readonly userPoolId: string;
  /** Registered app clients; a token's `client_id` must be one of them. Must not be empty. */
  readonly clientIds: readonly string[];
  /** A JWKS document to use instead of fetching (never fetches). @default - fetched from the pool */
  readonly jwks?: object;
  /** Where to fetch the JWKS (`https:`, or `http:` on loopback). @default - the pool's JWKS URL */
  readonly jwksUri?: string;
  /** Time allowed for one JWKS fetch, in ms; must be positive. @default DEFAULT_JWKS_TIMEOUT_MS */
  readonly jwksTimeoutMs?: number;
  /** Longest token accepted, in characters; must be positive. @default DEFAULT_MAX_TOKEN_LENGTH */
  readonly maxTokenLength?: number;
  /** The fetch used for the JWKS. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Start fetching the JWKS when the verifier is created (at cold start) rather than on the first
   * token. Ignored when `jwks` is given.
   * @default false
   */
  readonly hydrateOnCreate?: boolean;
  /**
   * Told about every failed JWKS fetch (tokens are then rejected with `JWKS unavailable` and the
   * next token retries). Must not throw; its errors are ignored.
   * @default - failures are only visible as `JWKS unavailable` rejections
   */
  readonly onJwksError?: (error: unknown) => void;
}

export interface CognitoAccessTokenVerifier {
  /** Resolves the verified claims, or rejects with a {@link TokenRejected}. */
  verify(token: string): Promise<AccessTokenClaims>;
}

/** Why a token was not accepted. The reason is safe to log (never token content). */
export class TokenRejected extends Error {
  constructor(public readonly reason: string) {
    super(reason);
    this.name = 'TokenRejected';
  }
}

/** The region of a user pool id (`us-east-1_AbC` → `us-east-1`). */
export function userPoolRegion(userPoolId: string): string {
  const m = typeof userPoolId === 'string' ? USER_POOL_ID.exec(userPoolId) : null;
  if (!m) throw new Error(`not a Cognito user pool id: ${JSON.stringify(userPoolId ?? null).slice(0, 80)}`);
  return m[1];
}

/** `https://cognito-idp.<region>.amazonaws.com/<userPoolId>`: the `iss` of the pool's tokens. */
export function cognitoIssuer(userPoolId: string): string {
  return `https://cognito-idp.${userPoolRegion(userPoolId)}.amazonaws.com/${userPoolId}`;
}

/** `https://issuer-cognito-idp.<region>.amazonaws.com/<userPoolId>`: Cognito's global issuer format. */
function globalIssuer(userPoolId: string): string {
  return `https://issuer-cognito-idp.${userPoolRegion(userPoolId)}.amazonaws.com/${userPoolId}`;
}

/** The pool's JWKS URL. */
export function cognitoJwksUri(userPoolId: string): string {
  return `${cognitoIssuer(userPoolId)}/.well-known/jwks.json`;
}

/** True for a compact JWS (three base64url segments), i.e. a Cognito access or ID token. */
export function isCompactJws(token: string): boolean {
  return typeof token === 'string' && COMPACT_JWS.test(token);
}

/** True for `localhost`, `127.0.0.1` or `[::1]`. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/** The error's class name and message, bounded; safe to log (aws-jwt-verify never puts the token in a message). */
export function describeError(err: unknown): string {
  if (err instanceof TokenRejected) return err.reason;
  if (err instanceof Error) {
    const name = err.name !== 'Error' ? err.name : (err.constructor?.name ?? 'Error');
    return `${name}: ${err.message}`.slice(0, 300);
  }
  return 'non-error thrown';
}

/**
 * A JSON object from a token segment's text, or undefined. Plain `JSON.parse` unless the text
 * could spell `__proto__` or `constructor` as a key (literally, or with a `\u` escape: no other
 * JSON escape yields a letter or `_`); then aws-jwt-verify's `safeJsonParse`, which drops those keys.
 */
function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const json: unknown =
      text.includes('\\u') || text.includes('__proto__') || text.includes('constructor') ? safeJsonParse(text) : JSON.parse(text);
    return isObject(json) ? json : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Scratch space for decoding a token (segments, signing input, signature): each use is
 * synchronous and finished before the next begins (decoded text is copied out as a string), so
 * one buffer per container serves every token without an allocation each. Grown when a token is
 * longer than it (`maxTokenLength` may be set above the default).
 */
let scratch = Buffer.allocUnsafe(16 * 1024);

function scratchFor(bytes: number): Buffer {
  if (bytes > scratch.length) scratch = Buffer.allocUnsafe(bytes);
  return scratch;
}

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  const buf = scratchFor(segment.length);
  const n = buf.write(segment, 'base64url');
  return parseJsonObject(buf.toString('utf8', 0, n));
}

/** A decoded token header that passed {@link checkHeader}. */
type TokenHeader = Record<string, unknown> & { readonly alg: 'RS256'; readonly kid: string };

/** A token that passed the shape and header checks. */
interface Screened {
  readonly headerSegment: string;
  readonly header: TokenHeader;
  /** The header came from the verified-header memo (see the module comment). */
  readonly remembered: boolean;
}

/** The decoded header, refused unless it is `alg: RS256` with a `kid` and without `crit`. */
function checkHeader(segment: string): TokenHeader {
  const header = decodeSegment(segment);
  if (!header) throw new TokenRejected('malformed token header');
  if (header.alg !== ACCEPTED_ALG) throw new TokenRejected('signature algorithm is not RS256');
  if (typeof header.kid !== 'string' || header.kid === '') throw new TokenRejected('token header has no kid');
  if (header.crit !== undefined) throw new TokenRejected('token header has crit');
  return header as TokenHeader;
}

/** True for a finite number, or absent. */
function optionalNumber(value: unknown): boolean {
  return value === undefined || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * The decoded payload, refused unless its registered claims have the JSON types the library's
 * claim checks rely on (as aws-jwt-verify's own decoder asserts): `exp`, `nbf`, `iat` finite
 * numbers; `iss`, `scope`, `jti` strings; `aud` a string or a list of strings.
 */
function decodePayload(segment: string): Record<string, unknown> {
  const payload = decodeSegment(segment);
  if (!payload) throw new TokenRejected('malformed token payload');
  const aud = payload.aud;
  if (
    !optionalNumber(payload.exp) ||
    !optionalNumber(payload.nbf) ||
    !optionalNumber(payload.iat) ||
    (payload.iss !== undefined && typeof payload.iss !== 'string') ||
    (payload.scope !== undefined && typeof payload.scope !== 'string') ||
    (payload.jti !== undefined && typeof payload.jti !== 'string') ||
    (aud !== undefined && typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((a) => typeof a === 'string')))
  ) {
    throw new TokenRejected('malformed token payload');
  }
  return payload;
}

/** The claims checks beyond aws-jwt-verify's, on a payload whose signature has been verified. */
function checkClaims(payload: Record<string, unknown>, clientIds: ReadonlySet<string>): AccessTokenClaims {
  if (typeof payload.exp !== 'number') throw new TokenRejected('token has no exp');
  if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + MAX_IAT_SKEW_SECONDS) {
    throw new TokenRejected('token iat is in the future');
  }
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new TokenRejected('token has no sub');
  if (typeof payload.client_id !== 'string' || !clientIds.has(payload.client_id)) throw new TokenRejected('unknown client_id');
  if (typeof payload.jti !== 'string' || payload.jti === '') throw new TokenRejected('token has no jti');
  const originJti = payload.origin_jti;
  if (originJti !== undefined && (typeof originJti !== 'string' || originJti === '')) throw new TokenRejected('malformed origin_jti');
  if (payload.scope !== undefined && typeof payload.scope !== 'string') throw new TokenRejected('malformed scope claim');
  return payload as AccessTokenClaims;
}

/**
 * Fetches the JWKS with a hard timeout (connect + response + body), no redirects, size-capped.
 * Concurrent fetches of one URL share one request (the verifier hydrates both Cognito issuer
 * formats, which `overrideUri` maps onto the same URL).
 */
class TimedJwksFetcher implements Fetcher {
  private readonly inFlight = new Map<string, Promise<ArrayBuffer>>();

  constructor(
    private readonly overrideUri: string | undefined,
    private readonly timeoutMs: number,
    private readonly fetchFn: typeof fetch,
  ) {}

  public fetch(uri: string): Promise<ArrayBuffer> {
    const target = this.overrideUri ?? uri;
    const existing = this.inFlight.get(target);
    if (existing) return existing;
    const attempt = this.fetchOnce(target).finally(() => this.inFlight.delete(target));
    this.inFlight.set(target, attempt);
    return attempt;
  }

  private async fetchOnce(target: string): Promise<ArrayBuffer> {
    const res = await this.fetchFn(target, {
      signal: AbortSignal.timeout(this.timeoutMs),
      redirect: 'error',
      headers: { accept: 'application/json' },
    });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error(`JWKS fetch failed with HTTP ${res.status}`);
    }
    if (Number(res.headers.get('content-length') ?? '0') > MAX_JWKS_BYTES) throw new Error('JWKS response too large');
    const body = await res.arrayBuffer();
    if (body.byteLength > MAX_JWKS_BYTES) throw new Error('JWKS response too large');
    return body;
  }
}

/** Used when keys are preloaded: never goes to the network. */
class NoFetcher implements Fetcher {
  public async fetch(): Promise<ArrayBuffer> {
    throw new Error('JWKS fetching is disabled: keys were preloaded');
  }
}

function validateOptions(options: CognitoVerifierOptions): void {
  userPoolRegion(options.userPoolId); // validates the pool id
  if (!Array.isArray(options.clientIds) || options.clientIds.length === 0 || options.clientIds.some((c) => typeof c !== 'string' || !c)) {
    throw new Error('clientIds must be a non-empty list of client ids');
  }
  if (options.maxTokenLength !== undefined && !(options.maxTokenLength > 0)) throw new Error('maxTokenLength must be positive');
  if (options.jwksTimeoutMs !== undefined && !(options.jwksTimeoutMs > 0)) throw new Error('jwksTimeoutMs must be positive');
  if (options.jwksUri !== undefined) {
    const url = new URL(options.jwksUri);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      throw new Error('jwksUri must use https (http is allowed only on a loopback host)');
    }
  }
}

/**
 * Creates an access-token verifier. Create it once per container (outside the handler) so the
 * JWKS and the imported public keys are reused.
 * @throws Error at creation when the options are invalid (a deployment error)
 */
export function createCognitoAccessTokenVerifier(options: CognitoVerifierOptions): CognitoAccessTokenVerifier {
  validateOptions(options);
  const maxTokenLength = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;
  const clientIds: ReadonlySet<string> = new Set(options.clientIds);
  const onJwksError = options.onJwksError;
  const preloaded = options.jwks !== undefined;
  const fetcher: Fetcher = preloaded
    ? new NoFetcher()
    : new TimedJwksFetcher(options.jwksUri, options.jwksTimeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS, options.fetch ?? globalThis.fetch);
  const jwksCache = new SimpleJwksCache({ fetcher });
  const verifier = CognitoJwtVerifier.create(
    {
      userPoolId: options.userPoolId,
      tokenUse: 'access',
      clientId: [...options.clientIds],
      customJwtCheck: ({ header, jwk }) => {
        // Defence in depth: the header was checked before verification, and the key must be RSA.
        if (header.alg !== ACCEPTED_ALG || jwk.kty !== 'RSA') throw new TokenRejected('signature algorithm is not RS256');
      },
    },
    { jwksCache },
  );
  /**
   * The pool's issuers (Cognito's regional and global formats) and the JWKS URL the library
   * caches each one's keys under, exactly as the library derives them.
   */
  const jwksUriByIssuer = new Map<string, string>();
  for (const format of [
    CognitoJwtVerifier.parseUserPoolId(options.userPoolId),
    CognitoJwtVerifier.parseUserPoolId(options.userPoolId, globalIssuer(options.userPoolId)),
  ]) {
    jwksUriByIssuer.set(format.issuer, format.jwksUri);
  }
  const keyObjects = new KeyObjectCache();
  /** Checked public keys by the library's JWK object (see `signingKey`). */
  const signingKeys = new WeakMap<Jwk, KeyObject>();
  /** Decoded headers of verified tokens, by header segment (see the module comment). */
  const verifiedHeaders = new Map<string, TokenHeader>();

  /** Settled: the JWKS is in the cache. Pending: being fetched. Undefined: not yet, or the last fetch failed. */
  let keys: Promise<void> | undefined;
  /** True once `keys` has resolved: the warm path needs no await. */
  let keysReady = false;
  if (preloaded) {
    const jwks = options.jwks as Jwks;
    assertIsJwks(jwks);
    verifier.cacheJwks(jwks);
    keys = Promise.resolve();
    keysReady = true;
  } else if (options.hydrateOnCreate) {
    keys = hydrate();
  }

  /** Fetches the JWKS; on failure reports it and forgets the attempt so a later token retries. */
  function hydrate(): Promise<void> {
    const attempt: Promise<void> = verifier.hydrate().then(() => {
      keysReady = true;
    });
    attempt.catch((err: unknown) => {
      if (keys === attempt) keys = undefined;
      try {
        onJwksError?.(err);
      } catch {
        // Reporting must never change the outcome.
      }
    });
    return attempt;
  }

  /**
   * The warm path: everything synchronous, with the cached keys (see the module comment). Throws
   * a {@link TokenRejected}, or the library's `KidNotFoundInJwksError` /
   * `JwksNotAvailableInCacheError` for a key the cache lacks (the caller may then fetch).
   */
  function verifyWithCachedKeys(token: string, screened: Screened): AccessTokenClaims {
    const { headerSegment, header } = screened;
    // The shape check allows exactly two dots: the second follows the payload.
    const signatureStart = token.indexOf('.', headerSegment.length + 1) + 1;
    const payloadB64 = token.slice(headerSegment.length + 1, signatureStart - 1);
    const signatureB64 = token.slice(signatureStart);
    const payload = decodePayload(payloadB64);
    const iss = payload.iss as string | undefined;
    const jwksUri = iss === undefined ? undefined : jwksUriByIssuer.get(iss);
    if (jwksUri === undefined) throw new TokenRejected('token verification failed: issuer is not this user pool');
    const decomposed = { header, headerB64: headerSegment, payload, payloadB64, signatureB64 } as unknown as DecomposedJwt;
    const jwk = jwksCache.getCachedJwk(jwksUri, decomposed);
    const key = signingKeys.get(jwk) ?? signingKey(jwk, iss as string);
    // Signing input (ASCII: the shape check allows base64url only) and signature, in the scratch buffer.
    const buf = scratchFor(token.length);
    const inputLength = buf.write(token, 0, signatureStart - 1, 'latin1');
    const signatureLength = buf.write(signatureB64, inputLength, 'base64url');
    if (!cryptoVerify('sha256', buf.subarray(0, inputLength), key, buf.subarray(inputLength, inputLength + signatureLength))) {
      throw new TokenRejected('token verification failed: Invalid signature');
    }
    try {
      validateJwtFields(payload as JwtPayload, JWT_FIELDS);
      validateCognitoJwtFields(payload as JwtPayload, COGNITO_FIELDS);
    } catch (err) {
      throw asRejected(err);
    }
    const claims = checkClaims(payload, clientIds);
    remember(screened);
    return claims;
  }

  /**
   * The public key of a JWK the library selected, after the library's signature-JWK checks and
   * ours (RSA, `alg` RS256 when stated). Remembered per JWK object: a refreshed JWKS brings new
   * objects, which are checked again.
   */
  function signingKey(jwk: Jwk, iss: string): KeyObject {
    try {
      assertIsSignatureJwk(jwk);
      if (jwk.kty !== 'RSA' || (jwk.alg !== undefined && jwk.alg !== ACCEPTED_ALG)) throw new TokenRejected('signature algorithm is not RS256');
      const key = keyObjects.transformJwkToKeyObjectSync(jwk, ACCEPTED_ALG, iss) as KeyObject;
      signingKeys.set(jwk, key);
      return key;
    } catch (err) {
      throw asRejected(err);
    }
  }

  /** Remembers the header of a verified token (the segment copied: a slice would keep the whole token alive). */
  function remember({ headerSegment, header, remembered }: Screened): void {
    if (!remembered && verifiedHeaders.size < MAX_REMEMBERED_HEADERS && !verifiedHeaders.has(headerSegment)) {
      verifiedHeaders.set(Buffer.from(headerSegment, 'latin1').toString('latin1'), Object.freeze(header));
    }
  }

  /** The cold path: waits for the JWKS; a `kid` missing from the cache re-fetches it (rotation). */
  async function verifyFetchingKeys(token: string, screened: Screened, cachedKeysTried: boolean): Promise<AccessTokenClaims> {
    if (!cachedKeysTried) {
      keys ??= hydrate();
      try {
        await keys;
      } catch {
        throw new TokenRejected('JWKS unavailable');
      }
      try {
        return verifyWithCachedKeys(token, screened);
      } catch (err) {
        if (!missingKey(err)) throw asRejected(err);
      }
    }
    let payload: Record<string, unknown>;
    try {
      payload = (await verifier.verify(token)) as unknown as Record<string, unknown>;
    } catch (err) {
      throw asRejected(err);
    }
    const claims = checkClaims(payload, clientIds);
    remember(screened);
    return claims;
  }

  function asRejected(err: unknown): TokenRejected {
    return err instanceof TokenRejected ? err : new TokenRejected(`token verification failed: ${describeError(err)}`);
  }

  /** The token's header segment and checked header; throws a {@link TokenRejected}. */
  function screen(token: string): Screened {
    if (typeof token !== 'string' || token.length > maxTokenLength) throw new TokenRejected('oversized or missing token');
    if (!COMPACT_JWS.test(token)) throw new TokenRejected('token is not a compact JWS');
    const headerSegment = token.slice(0, token.indexOf('.'));
    const known = verifiedHeaders.get(headerSegment);
    // A bad header is refused before any key is touched.
    return known ? { headerSegment, header: known, remembered: true } : { headerSegment, header: checkHeader(headerSegment), remembered: false };
  }

  /** True for the errors that mean "the cache lacks this key" (a fetch may find it; never with preloaded keys). */
  function missingKey(err: unknown): boolean {
    return !preloaded && (err instanceof KidNotFoundInJwksError || err instanceof JwksNotAvailableInCacheError);
  }

  return {
    verify(token: string): Promise<AccessTokenClaims> {
      // The token is screened once; the warm path (keys cached) runs synchronously, and only the
      // cold path (keys not cached yet, or a new kid) goes on to fetch.
      let screened: Screened;
      try {
        screened = screen(token);
      } catch (err) {
        return Promise.reject(asRejected(err));
      }
      if (keysReady) {
        try {
          return Promise.resolve(verifyWithCachedKeys(token, screened));
        } catch (err) {
          if (!missingKey(err)) return Promise.reject(asRejected(err));
          return verifyFetchingKeys(token, screened, true);
        }
      }
      return verifyFetchingKeys(token, screened, false);
    },
  };
}
