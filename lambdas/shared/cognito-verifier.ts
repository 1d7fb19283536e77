/**
 * Verifies Cognito access tokens with aws-jwt-verify, the way the SMART authorizer does: RS256
 * only (checked on the header before any key is touched, and on the key), `kid` required, no
 * `crit`, signature by the pool's JWKS, `iss`, `token_use=access`, `client_id` among the
 * registered clients, `exp` required, `iat` not in the future, `sub` and `jti` present.
 *
 * Used by the SMART façade (token, introspection, revocation). The authorizer has the same checks
 * inline (`lambdas/smart-authorizer/authorizer.ts`); it can move onto this module.
 *
 * JWKS: preloaded (`jwks`, tests and offline runs: never fetched), or fetched from the pool with
 * a hard timeout, no redirects, a size cap, once per container and again when a new `kid` appears.
 */
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import { JwksNotAvailableInCacheError, KidNotFoundInJwksError } from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import { assertIsJwks, SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { Jwks } from 'aws-jwt-verify/jwk';

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
  /** @default DEFAULT_JWKS_TIMEOUT_MS */
  readonly jwksTimeoutMs?: number;
  /** @default DEFAULT_MAX_TOKEN_LENGTH */
  readonly maxTokenLength?: number;
  /** The fetch used for the JWKS. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
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
  const m = USER_POOL_ID.exec(userPoolId);
  if (!m) throw new Error(`not a Cognito user pool id: ${JSON.stringify(userPoolId).slice(0, 80)}`);
  return m[1];
}

/** `https://cognito-idp.<region>.amazonaws.com/<userPoolId>`: the `iss` of the pool's tokens. */
export function cognitoIssuer(userPoolId: string): string {
  return `https://cognito-idp.${userPoolRegion(userPoolId)}.amazonaws.com/${userPoolId}`;
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

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

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

class NoFetcher implements Fetcher {
  public async fetch(): Promise<ArrayBuffer> {
    throw new Error('JWKS fetching is disabled: keys were preloaded');
  }
}

/**
 * Creates an access-token verifier. Create it once per container.
 * @throws Error at creation when the options are invalid
 */
export function createCognitoAccessTokenVerifier(options: CognitoVerifierOptions): CognitoAccessTokenVerifier {
  userPoolRegion(options.userPoolId); // validates the pool id
  if (!Array.isArray(options.clientIds) || options.clientIds.length === 0 || options.clientIds.some((c) => typeof c !== 'string' || !c)) {
    throw new Error('clientIds must be a non-empty list of client ids');
  }
  if (options.jwksUri !== undefined) {
    const url = new URL(options.jwksUri);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      throw new Error('jwksUri must use https (http is allowed only on a loopback host)');
    }
  }
  const maxTokenLength = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;
  const clientIds = new Set(options.clientIds);
  const preloaded = options.jwks !== undefined;
  const fetcher: Fetcher = preloaded
    ? new NoFetcher()
    : new TimedJwksFetcher(options.jwksUri, options.jwksTimeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS, options.fetch ?? globalThis.fetch);
  const verifier = CognitoJwtVerifier.create(
    {
      userPoolId: options.userPoolId,
      tokenUse: 'access',
      clientId: [...options.clientIds],
      customJwtCheck: ({ header, jwk }) => {
        if (header.alg !== ACCEPTED_ALG || jwk.kty !== 'RSA') throw new TokenRejected('signature algorithm is not RS256');
      },
    },
    { jwksCache: new SimpleJwksCache({ fetcher }) },
  );

  let keys: Promise<void> | undefined;
  if (preloaded) {
    const jwks = options.jwks as Jwks;
    assertIsJwks(jwks);
    verifier.cacheJwks(jwks);
    keys = Promise.resolve();
  }

  function hydrate(): Promise<void> {
    const attempt = verifier.hydrate();
    attempt.catch(() => {
      if (keys === attempt) keys = undefined; // retry on a later call
    });
    return attempt;
  }

  async function verifySignature(token: string): Promise<Record<string, unknown>> {
    try {
      return verifier.verifySync(token) as unknown as Record<string, unknown>;
    } catch (err) {
      if (preloaded || !(err instanceof KidNotFoundInJwksError || err instanceof JwksNotAvailableInCacheError)) throw err;
    }
    return (await verifier.verify(token)) as unknown as Record<string, unknown>;
  }

  return {
    async verify(token: string): Promise<AccessTokenClaims> {
      if (typeof token !== 'string' || token.length > maxTokenLength) throw new TokenRejected('oversized or missing token');
      if (!COMPACT_JWS.test(token)) throw new TokenRejected('token is not a compact JWS');
      const header = decodeSegment(token.slice(0, token.indexOf('.')));
      if (!header) throw new TokenRejected('malformed token header');
      if (header.alg !== ACCEPTED_ALG) throw new TokenRejected('signature algorithm is not RS256');
      if (typeof header.kid !== 'string' || header.kid === '') throw new TokenRejected('token header has no kid');
      if (header.crit !== undefined) throw new TokenRejected('token header has crit');

      keys ??= hydrate();
      try {
        await keys;
      } catch {
        throw new TokenRejected('JWKS unavailable');
      }

      let payload: Record<string, unknown>;
      try {
        payload = await verifySignature(token);
      } catch (err) {
        if (err instanceof TokenRejected) throw err;
        throw new TokenRejected(`token verification failed: ${err instanceof Error ? err.name : 'error'}`);
      }

      if (typeof payload.exp !== 'number') throw new TokenRejected('token has no exp');
      if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + MAX_IAT_SKEW_SECONDS) {
        throw new TokenRejected('token iat is in the future');
      }
      if (typeof payload.sub !== 'string' || payload.sub === '') throw new TokenRejected('token has no sub');
      if (typeof payload.jti !== 'string' || payload.jti === '') throw new TokenRejected('token has no jti');
      if (typeof payload.client_id !== 'string' || !clientIds.has(payload.client_id)) throw new TokenRejected('unknown client_id');
      if (payload.origin_jti !== undefined && (typeof payload.origin_jti !== 'string' || payload.origin_jti === '')) {
        throw new TokenRejected('malformed origin_jti');
      }
      if (payload.scope !== undefined && typeof payload.scope !== 'string') throw new TokenRejected('malformed scope claim');
      return payload as AccessTokenClaims;
    },
  };
}
