/**
 * The SMART authorizer: verifies the Cognito access token on every API call and fails closed.
 *
 * It answers one question: "is this a live access token that our user pool issued to a registered
 * app, for at least one FHIR resource scope?". On yes it returns Allow on the WHOLE API (so an
 * API Gateway cached policy is never wrong for another route) with the caller's context; scopes,
 * compartments, consent and labels are enforced per request by the FHIR proxy. On anything else
 * (including an unexpected error) it throws `Error('Unauthorized')`, which API Gateway turns into
 * a 401; the reason is logged, the token never is.
 *
 * With `metrics` (`shared/app-metrics.ts`) every call is one record: allowed, denied with its
 * reason (`revoked`, `scope` for a verified token without a FHIR scope, `invalid-token` for any
 * other token or header problem, `other` for a malformed method ARN) or an error (the JWKS or
 * the revocation store failed: still a 401). The client id recorded is the one of a token whose
 * signature and claims verified; otherwise none (`unregistered`).
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import type { AppMetricsRecorder, DenialReason, RequestRecord } from '../shared/app-metrics';
import { createCognitoAccessTokenVerifier, DEFAULT_MAX_TOKEN_LENGTH, describeError, TokenRejected } from '../shared/cognito-verifier';
import type { RevocationStore } from '../shared/revocation';
import { hasFhirScope, parseScopes } from '../shared/smart-scopes';

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
  /** Per-app metrics: one record per call. @default - none recorded */
  readonly metrics?: AppMetricsRecorder;
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
  constructor(
    public readonly reason: string,
    /** The `Reason` of the per-app metrics. */
    public readonly metric: DenialReason = 'invalid-token',
  ) {
    super(reason);
  }
}

// ---------------------------------------------------------------------------------------------
// Pure helpers (exported for tests)
// ---------------------------------------------------------------------------------------------

/**
 * The bearer token from exactly one `Authorization: Bearer <token>` header (header name and
 * scheme case-insensitive), or a reason why there is none. The token's shape is left to the
 * shared verifier, whose first check it is ("token is not a compact JWS").
 */
export function extractBearerToken(
  event: Pick<APIGatewayRequestAuthorizerEvent, 'headers' | 'multiValueHeaders'>,
  maxTokenLength = DEFAULT_MAX_TOKEN_LENGTH,
): { token: string } | { reason: string } {
  let header: string | undefined;
  const headers = event.headers ?? {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (isAuthorization(name) && value !== undefined) {
      if (header !== undefined) return { reason: 'more than one Authorization header' };
      header = value;
    }
  }
  const multi = event.multiValueHeaders ?? {};
  for (const name of Object.keys(multi)) {
    const list = multi[name];
    if (isAuthorization(name) && list && list.length > 1) return { reason: 'more than one Authorization header' };
  }
  if (header === undefined) return { reason: 'no Authorization header' };
  // Cheap bound before any parsing: scheme + spaces + token.
  if (header.length > maxTokenLength + 64) return { reason: 'oversized Authorization header' };
  const trimmed = header.trim();
  const space = trimmed.indexOf(' ');
  let start = space + 1;
  while (space >= 0 && trimmed.charCodeAt(start) === 0x20) start++;
  const token = space < 0 ? '' : trimmed.slice(start);
  if (space !== 6 || trimmed.slice(0, 6).toLowerCase() !== 'bearer' || token === '' || token.includes(' ')) {
    return { reason: 'Authorization header is not "Bearer <token>"' };
  }
  if (token.length > maxTokenLength) return { reason: 'oversized token' };
  return { token };
}

/** `Authorization`, in any case (compared without allocating for the other headers). */
function isAuthorization(name: string): boolean {
  return name.length === 13 && name.toLowerCase() === 'authorization';
}

/** A method ARN: partition, region, account, API id, stage, then any route (no further `:`). */
const METHOD_ARN = /^arn:([^:]+):execute-api:([^:]+):(\d{12}):([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+)(?:\/[^:]*)?$/;

/**
 * `arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/*&#47;*` from a method ARN such as
 * `arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/r4/Patient/1`; `undefined` if malformed.
 */
export function wholeApiArn(methodArn: string): string | undefined {
  const m = typeof methodArn === 'string' ? METHOD_ARN.exec(methodArn) : null;
  return m ? `arn:${m[1]}:execute-api:${m[2]}:${m[3]}:${m[4]}/${m[5]}/*/*` : undefined;
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
// The factory
// ---------------------------------------------------------------------------------------------

const ALLOW_VERSION = '2012-10-17';
/** At most this many distinct values are remembered by each per-container memo below. */
const MEMO_LIMIT = 256;

/**
 * A bounded memo of a pure function of one string: the same input always gives the same
 * output, so remembering it skips no check. Cleared when full (the values are a handful of
 * app scope sets, so that is rare).
 */
function memoize<T>(fn: (input: string) => T): (input: string) => T {
  const memo = new Map<string, T>();
  return (input) => {
    let value = memo.get(input);
    if (value === undefined && !memo.has(input)) {
      value = fn(input);
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(input, value);
    }
    return value as T;
  };
}

/**
 * Creates the SMART authorizer. Create it once per container (outside the handler) so the JWKS
 * and the imported public keys are reused.
 *
 * Checks, in order, each failing closed with `Error('Unauthorized')`: a well-formed `methodArn`;
 * exactly one `Authorization: Bearer <token>` header; then the shared Cognito verifier
 * (`lambdas/shared/cognito-verifier.ts`): token length and compact-JWS shape; header `alg` is RS256
 * (anything else, including `none` and `HS256`, is refused before any key is touched), `kid`
 * present, no `crit`; signature against the pool's JWKS by `kid`; `iss`, `token_use=access`,
 * `client_id` in `clientIds`, `exp` (required), `nbf` (if present), `iat` not in the future; `sub`
 * and `jti` present; then here: a `scope` claim with at least one FHIR resource scope;
 * well-formed `patient`, `fhirUser` and `labels` claims; neither `jti` nor `origin_jti` revoked.
 *
 * @throws Error at creation when the options are invalid (a deployment error).
 */
export function createAuthorizer(options: SmartAuthorizerOptions): SmartAuthorizer {
  const logger: AuthorizerLogger = options.logger ?? new Logger({ serviceName: 'smart-authorizer' });
  const maxTokenLength = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;
  const revocation = options.revocation;
  const verifier = createCognitoAccessTokenVerifier({
    userPoolId: options.userPoolId,
    clientIds: options.clientIds,
    jwks: options.jwks,
    jwksUri: options.jwksUri,
    jwksTimeoutMs: options.jwksTimeoutMs,
    maxTokenLength,
    hydrateOnCreate: true, // at cold start, not on the first request
    onJwksError: (err) => logger.error('JWKS hydration failed', { error: describeError(err) }),
  });
  /** Registry settings by client id, looked up once per container rather than per request. */
  const clients = new Map<string, { readonly tier: string; readonly usageIdentifierKey?: string }>();
  for (const [clientId, registration] of Object.entries(options.clients ?? {})) {
    clients.set(clientId, { tier: registration?.tier ?? '', usageIdentifierKey: registration?.usageIdentifierKey || undefined });
  }
  if (!revocation) logger.warn('No revocation store configured: revoked tokens are not refused');
  /** Per container: each app sends a few distinct scope sets; the proxy parses the set per request. */
  const grantsFhirScope = memoize((scope) => hasFhirScope(parseScopes(scope)));

  /** `verified.clientId` is set once the token's signature and claims verified. */
  async function authorize(event: APIGatewayRequestAuthorizerEvent, verified?: { clientId?: string }): Promise<APIGatewayAuthorizerResult> {
    const methodArn = event?.methodArn;
    const resource = typeof methodArn === 'string' ? wholeApiArn(methodArn) : undefined;
    if (!resource) throw new Denied('malformed methodArn', 'other');

    const extracted = extractBearerToken(event, maxTokenLength);
    if ('reason' in extracted) throw new Denied(extracted.reason);

    const claims = await verifier.verify(extracted.token);
    const { sub, client_id: clientId, jti, origin_jti: originJti, scope } = claims;
    if (verified) verified.clientId = clientId;

    if (typeof scope !== 'string') throw new Denied('token has no scope', 'scope');
    if (!grantsFhirScope(scope)) throw new Denied('token has no FHIR resource scope', 'scope');

    const patient = optionalString(claims, 'patient', FHIR_ID);
    const fhirUser = optionalString(claims, 'fhirUser', REFERENCE);
    const labels = labelsClaim(claims);

    if (revocation) {
      const jtiCheck = revocation.isRevoked(jti);
      const originCheck = originJti === undefined ? undefined : revocation.isRevoked(originJti);
      // Both lookups run at once; each is awaited (a rejection of either denies).
      if (originCheck) originCheck.catch(() => undefined);
      if (await jtiCheck) throw new Denied('token jti is revoked', 'revoked');
      if (originCheck && (await originCheck)) throw new Denied('token origin_jti is revoked', 'revoked');
    }

    const client = clients.get(clientId);
    const context: SmartAuthorizerContext = { sub, clientId, scope, patient, fhirUser, tier: client?.tier ?? '', jti, labels };
    const result: APIGatewayAuthorizerResult = {
      principalId: sub,
      policyDocument: { Version: ALLOW_VERSION, Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: resource }] },
      context,
    };
    if (client?.usageIdentifierKey) result.usageIdentifierKey = client.usageIdentifierKey;
    return result;
  }

  function deny(err: unknown): never {
    const reason = err instanceof Denied || err instanceof TokenRejected ? err.reason : `unexpected error: ${describeError(err)}`;
    try {
      logger.warn('Denied', { reason });
    } catch {
      // Logging must never change the outcome.
    }
    throw new Error('Unauthorized');
  }

  const metrics = options.metrics;
  if (!metrics) return (event) => authorize(event).catch(deny);
  return (event) => {
    const verified: { clientId?: string } = {};
    return authorize(event, verified).then(
      (result) => {
        metrics.record({ clientId: verified.clientId, outcome: 'ok' });
        return result;
      },
      (err: unknown) => {
        metrics.record({ clientId: verified.clientId, ...denialRecord(err) });
        return deny(err);
      },
    );
  };
}

/** The per-app record of a call that did not allow: a denial and its reason, or an error. */
function denialRecord(err: unknown): Pick<RequestRecord, 'outcome' | 'reason'> {
  if (err instanceof Denied) return { outcome: 'denied', reason: err.metric };
  if (err instanceof TokenRejected) return err.reason === 'JWKS unavailable' ? { outcome: 'error' } : { outcome: 'denied', reason: 'invalid-token' };
  return { outcome: 'error' };
}
