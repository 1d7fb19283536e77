/**
 * The SMART authorizer: verifies the Cognito access token on every API call and fails closed.
 *
 * It answers one question: "is this a live access token that our user pool issued to a registered
 * app, for at least one FHIR resource scope?". On yes it returns Allow on the WHOLE API (so an
 * API Gateway cached policy is never wrong for another route) with the caller's context; scopes,
 * compartments, consent and labels are enforced per request by the FHIR proxy. On anything else
 * (including an unexpected error) it throws `Error('Unauthorized')`, which API Gateway turns into
 * a 401; the reason is logged, the token never is.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import { JwksNotAvailableInCacheError, KidNotFoundInJwksError } from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import { assertIsJwks, SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { Jwks } from 'aws-jwt-verify/jwk';
import type { RevocationStore } from '../shared/revocation';
import { hasFhirScope, parseScopes } from '../shared/smart-scopes';

/** The only signature algorithm accepted (Cognito signs with RS256). */
export const ACCEPTED_ALG = 'RS256';

/** Default longest `Authorization` bearer token, in characters. */
export const DEFAULT_MAX_TOKEN_LENGTH = 8192;

/** Default time allowed for one JWKS fetch, in milliseconds. */
export const DEFAULT_JWKS_TIMEOUT_MS = 1500;

/** Largest JWKS document read, in bytes. */
const MAX_JWKS_BYTES = 64 * 1024;

/** How far in the future an `iat` may lie (clock skew), in seconds. */
const MAX_IAT_SKEW_SECONDS = 300;

/** Per-app settings from the app registry. */
export interface ClientRegistration {
  /** Risk tier (e.g. `standard`, `high`), passed to the proxy in the context. @default '' */
  readonly tier?: string;
  /** The API key value of the app's usage plan (API key source AUTHORIZER). @default - none */
  readonly usageIdentifierKey?: string;
}

/** The subset of the Powertools Logger the authorizer uses. */
export interface AuthorizerLogger {
  debug(message: string, ...extra: Array<Record<string, unknown>>): void;
  info(message: string, ...extra: Array<Record<string, unknown>>): void;
  warn(message: string, ...extra: Array<Record<string, unknown>>): void;
  error(message: string, ...extra: Array<Record<string, unknown>>): void;
}

export interface SmartAuthorizerOptions {
  /** The Cognito user pool that issues the access tokens, e.g. `us-east-1_AbCdEf123`. */
  readonly userPoolId: string;
  /** The registered app clients; a token's `client_id` must be one of them. Must not be empty. */
  readonly clientIds: readonly string[];
  /**
   * A JWKS document to use instead of fetching one (tests, offline runs). When given, the
   * authorizer never fetches keys: a token with an unknown `kid` is denied.
   * @default - the pool's JWKS is fetched at cold start (and again when a new `kid` appears)
   */
  readonly jwks?: object;
  /**
   * Where to fetch the JWKS. Must be `https:`, or `http:` on a loopback host (tests).
   * @default - `https://cognito-idp.<region>.amazonaws.com/<userPoolId>/.well-known/jwks.json`
   */
  readonly jwksUri?: string;
  /** @default DEFAULT_JWKS_TIMEOUT_MS */
  readonly jwksTimeoutMs?: number;
  /** Where revoked `jti`s are recorded. @default - no revocation check (a warning is logged) */
  readonly revocation?: RevocationStore;
  /** Per-client settings, by client id. @default - no tier, no usage identifier key */
  readonly clients?: Readonly<Record<string, ClientRegistration>>;
  /** Longest bearer token accepted, in characters. @default DEFAULT_MAX_TOKEN_LENGTH */
  readonly maxTokenLength?: number;
  /** @default - a Powertools Logger with service name `smart-authorizer` */
  readonly logger?: AuthorizerLogger;
}

/** The context the authorizer hands to the FHIR proxy (all strings; empty when absent). */
export interface SmartAuthorizerContext {
  readonly sub: string;
  readonly clientId: string;
  readonly scope: string;
  readonly patient: string;
  readonly fhirUser: string;
  readonly tier: string;
  readonly jti: string;
  readonly labels: string;
  /** Index signature so the value is an `APIGatewayAuthorizerResultContext`. */
  readonly [key: string]: string;
}

export type SmartAuthorizer = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

/** A denial with a reason to log. Never leaves this module: callers only see `Unauthorized`. */
class Denied extends Error {
  constructor(public readonly reason: string) {
    super(reason);
  }
}

// ---------------------------------------------------------------------------------------------
// Pure helpers (exported for tests)
// ---------------------------------------------------------------------------------------------

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The bearer token from exactly one `Authorization: Bearer <token>` header (header name and
 * scheme case-insensitive), or a reason why there is none.
 */
export function extractBearerToken(
  event: Pick<APIGatewayRequestAuthorizerEvent, 'headers' | 'multiValueHeaders'>,
  maxTokenLength = DEFAULT_MAX_TOKEN_LENGTH,
): { token: string } | { reason: string } {
  const values: string[] = [];
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (name.toLowerCase() === 'authorization' && value !== undefined) values.push(value);
  }
  for (const [name, list] of Object.entries(event.multiValueHeaders ?? {})) {
    if (name.toLowerCase() === 'authorization' && list && list.length > 1) {
      return { reason: 'more than one Authorization header' };
    }
  }
  if (values.length === 0) return { reason: 'no Authorization header' };
  if (values.length > 1) return { reason: 'more than one Authorization header' };
  const header = values[0];
  // Cheap bound before any parsing: scheme + spaces + token.
  if (header.length > maxTokenLength + 64) return { reason: 'oversized Authorization header' };
  const trimmed = header.trim();
  const space = trimmed.indexOf(' ');
  const token = space < 0 ? '' : trimmed.slice(space + 1).replace(/^ +/, '');
  if (space !== 6 || trimmed.slice(0, 6).toLowerCase() !== 'bearer' || token === '' || token.includes(' ')) {
    return { reason: 'Authorization header is not "Bearer <token>"' };
  }
  if (token.length > maxTokenLength) return { reason: 'oversized token' };
  if (!COMPACT_JWS.test(token)) return { reason: 'token is not a compact JWS' };
  return { token };
}

/**
 * `arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/*&#47;*` from a method ARN such as
 * `arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/r4/Patient/1`; `undefined` if malformed.
 */
export function wholeApiArn(methodArn: string): string | undefined {
  if (typeof methodArn !== 'string') return undefined;
  const parts = methodArn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'execute-api') return undefined;
  const [apiId, stage] = parts[5].split('/');
  const seg = /^[A-Za-z0-9._-]+$/;
  if (!parts[1] || !parts[3] || !/^\d{12}$/.test(parts[4]) || !apiId || !stage || !seg.test(apiId) || !seg.test(stage)) {
    return undefined;
  }
  return `arn:${parts[1]}:execute-api:${parts[3]}:${parts[4]}:${apiId}/${stage}/*/*`;
}

function decodeHeader(token: string): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'));
    return json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** FHIR `id` datatype: 1–64 of `[A-Za-z0-9\-.]`. */
const FHIR_ID = /^[A-Za-z0-9.-]{1,64}$/;
/** A reference or URL: printable ASCII without space, bounded. */
const REFERENCE = /^[\x21-\x7e]{1,1024}$/;
/** A security-label code. */
const LABEL_CODE = /^[\x21-\x7e]{1,128}$/;
/** Codes separated by single spaces (the claim as the pre-token trigger writes it). */
const LABELS_STRING = /^[\x21-\x7e]{1,128}(?: [\x21-\x7e]{1,128}){0,99}$/;

function optionalString(payload: Record<string, unknown>, claim: string, pattern: RegExp): string {
  const value = payload[claim];
  if (value === undefined || value === null || value === '') return '';
  if (typeof value !== 'string' || !pattern.test(value)) throw new Denied(`malformed ${claim} claim`);
  return value;
}

/** `labels` as a space-separated string (a string or a list of codes in the token). */
function labelsClaim(payload: Record<string, unknown>): string {
  const value = payload.labels;
  if (value === undefined || value === null) return '';
  if (typeof value === 'string' && value.length <= 4096 && LABELS_STRING.test(value)) return value; // common case
  const codes = typeof value === 'string' ? value.split(' ').filter((c) => c !== '') : value;
  if (!Array.isArray(codes) || codes.length > 100) throw new Denied('malformed labels claim');
  for (const code of codes) {
    if (typeof code !== 'string' || !LABEL_CODE.test(code)) throw new Denied('malformed labels claim');
  }
  return codes.join(' ');
}

// ---------------------------------------------------------------------------------------------
// JWKS fetching
// ---------------------------------------------------------------------------------------------

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
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
    const res = await fetch(target, {
      signal: AbortSignal.timeout(this.timeoutMs),
      redirect: 'error',
      headers: { accept: 'application/json' },
    });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error(`JWKS fetch failed with HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MAX_JWKS_BYTES) throw new Error('JWKS response too large');
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

// ---------------------------------------------------------------------------------------------
// The factory
// ---------------------------------------------------------------------------------------------

function validateOptions(options: SmartAuthorizerOptions): void {
  if (!options.userPoolId) throw new Error('userPoolId is required');
  if (!Array.isArray(options.clientIds) || options.clientIds.length === 0 || options.clientIds.some((c) => !c)) {
    throw new Error('clientIds must be a non-empty list of client ids');
  }
  if (options.maxTokenLength !== undefined && !(options.maxTokenLength > 0)) throw new Error('maxTokenLength must be positive');
  if (options.jwksTimeoutMs !== undefined && !(options.jwksTimeoutMs > 0)) throw new Error('jwksTimeoutMs must be positive');
  if (options.jwksUri !== undefined) {
    const url = new URL(options.jwksUri);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
      throw new Error('jwksUri must use https (http is allowed only on a loopback host)');
    }
  }
}

/**
 * Creates the SMART authorizer. Create it once per container (outside the handler) so the JWKS
 * and the imported public keys are reused.
 *
 * Checks, in order, each failing closed with `Error('Unauthorized')`: exactly one
 * `Authorization: Bearer <token>` header; token length and compact-JWS shape; header `alg` is
 * RS256 (anything else, including `none` and `HS256`, is refused before any key is touched) and
 * no `crit`; signature against the pool's JWKS by `kid`; `iss`, `token_use=access`, `client_id`
 * in `clientIds`, `exp` (required), `nbf` (if present), `iat` not in the future; `sub` and `jti`
 * present; neither `jti` nor `origin_jti` revoked; at least one FHIR resource scope; well-formed
 * `patient`, `fhirUser` and `labels` claims.
 *
 * @throws Error at creation when the options are invalid (a deployment error).
 */
export function createAuthorizer(options: SmartAuthorizerOptions): SmartAuthorizer {
  validateOptions(options);
  const logger: AuthorizerLogger = options.logger ?? new Logger({ serviceName: 'smart-authorizer' });
  const maxTokenLength = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;
  const clients = options.clients ?? {};
  const revocation = options.revocation;
  const preloaded = options.jwks !== undefined;

  const fetcher: Fetcher = preloaded
    ? new NoFetcher()
    : new TimedJwksFetcher(options.jwksUri, options.jwksTimeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS);
  const verifier = CognitoJwtVerifier.create(
    {
      userPoolId: options.userPoolId,
      tokenUse: 'access',
      clientId: [...options.clientIds],
      customJwtCheck: ({ header, jwk }) => {
        // Defence in depth: the header was checked before verification, and the key must be RSA.
        if (header.alg !== ACCEPTED_ALG || jwk.kty !== 'RSA') throw new Denied('signature algorithm is not RS256');
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
  } else {
    keys = hydrate(); // at cold start, not on the first request
  }
  if (!revocation) logger.warn('No revocation store configured: revoked tokens are not refused');

  /** Fetches the JWKS once; on failure forgets the attempt so a later invocation retries. */
  function hydrate(): Promise<void> {
    const attempt = verifier.hydrate();
    attempt.catch((err: unknown) => {
      if (keys === attempt) keys = undefined;
      logger.error('JWKS hydration failed', { error: errorName(err) });
    });
    return attempt;
  }

  /**
   * Verifies with the cached keys (synchronous, the warm path); only a `kid` missing from the
   * cache goes to the asynchronous path, which re-fetches the JWKS (key rotation), never with
   * preloaded keys.
   */
  async function verify(token: string): Promise<Record<string, unknown>> {
    try {
      return verifier.verifySync(token) as unknown as Record<string, unknown>;
    } catch (err) {
      if (preloaded || !(err instanceof KidNotFoundInJwksError || err instanceof JwksNotAvailableInCacheError)) throw err;
    }
    return (await verifier.verify(token)) as unknown as Record<string, unknown>;
  }

  async function authorize(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
    const resource = wholeApiArn(event?.methodArn);
    if (!resource) throw new Denied('malformed methodArn');

    const extracted = extractBearerToken(event, maxTokenLength);
    if ('reason' in extracted) throw new Denied(extracted.reason);
    const { token } = extracted;

    const header = decodeHeader(token);
    if (!header) throw new Denied('malformed token header');
    if (header.alg !== ACCEPTED_ALG) throw new Denied('signature algorithm is not RS256');
    if (typeof header.kid !== 'string' || header.kid === '') throw new Denied('token header has no kid');
    if (header.crit !== undefined) throw new Denied('token header has crit');

    keys ??= hydrate();
    try {
      await keys;
    } catch {
      throw new Denied('JWKS unavailable');
    }

    let payload: Record<string, unknown>;
    try {
      payload = await verify(token);
    } catch (err) {
      if (err instanceof Denied) throw err;
      throw new Denied(`token verification failed: ${errorName(err)}`);
    }

    const now = Date.now() / 1000;
    if (typeof payload.exp !== 'number') throw new Denied('token has no exp');
    if (typeof payload.iat === 'number' && payload.iat > now + MAX_IAT_SKEW_SECONDS) throw new Denied('token iat is in the future');
    const sub = payload.sub;
    const clientId = payload.client_id;
    const jti = payload.jti;
    const originJti = payload.origin_jti;
    if (typeof sub !== 'string' || sub === '') throw new Denied('token has no sub');
    if (typeof clientId !== 'string' || !options.clientIds.includes(clientId)) throw new Denied('unknown client_id');
    if (typeof jti !== 'string' || jti === '') throw new Denied('token has no jti');
    if (originJti !== undefined && (typeof originJti !== 'string' || originJti === '')) throw new Denied('malformed origin_jti');

    const scope = payload.scope;
    if (typeof scope !== 'string') throw new Denied('token has no scope');
    if (!hasFhirScope(parseScopes(scope))) throw new Denied('token has no FHIR resource scope');

    const patient = optionalString(payload, 'patient', FHIR_ID);
    const fhirUser = optionalString(payload, 'fhirUser', REFERENCE);
    const labels = labelsClaim(payload);

    if (revocation) {
      const [jtiRevoked, originRevoked] = await Promise.all([
        revocation.isRevoked(jti),
        typeof originJti === 'string' ? revocation.isRevoked(originJti) : Promise.resolve(false),
      ]);
      if (jtiRevoked) throw new Denied('token jti is revoked');
      if (originRevoked) throw new Denied('token origin_jti is revoked');
    }

    const client = Object.prototype.hasOwnProperty.call(clients, clientId) ? clients[clientId] : undefined;
    const context: SmartAuthorizerContext = {
      sub,
      clientId,
      scope,
      patient,
      fhirUser,
      tier: client?.tier ?? '',
      jti,
      labels,
    };
    return {
      principalId: sub,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: resource }],
      },
      context,
      ...(client?.usageIdentifierKey ? { usageIdentifierKey: client.usageIdentifierKey } : {}),
    };
  }

  return async (event) => {
    try {
      return await authorize(event);
    } catch (err) {
      const reason = err instanceof Denied ? err.reason : `unexpected error: ${errorName(err)}`;
      try {
        logger.warn('Denied', { reason });
      } catch {
        // Logging must never change the outcome.
      }
      throw new Error('Unauthorized');
    }
  };
}

/** The error's class name and message, bounded; never includes the token. */
function errorName(err: unknown): string {
  if (err instanceof Error) {
    const name = err.name !== 'Error' ? err.name : (err.constructor?.name ?? 'Error');
    return `${name}: ${err.message}`.slice(0, 300);
  }
  return 'non-error thrown';
}
