/**
 * The SMART façade: what Cognito lacks to be a SMART App Launch 2.2 authorization server.
 *
 * - `discovery` (`GET /r4/.well-known/smart-configuration`): the SMART configuration, with only
 *   the capabilities the kit really has.
 * - `authorize` (`GET /auth/authorize`, the discovery's `authorization_endpoint`): checks the
 *   authorization request (registered client, `response_type=code`, `state`, PKCE S256, `aud`),
 *   takes out `fhirUser` and `offline_access` (no Cognito scope can have those names; the kit
 *   grants them by other means) and answers 302 to Cognito's `/oauth2/authorize` with the rest
 *   (`authorize.ts`). Refusals are 400 JSON, never a redirect to the app.
 * - `token` (`POST /auth/token`): forwards to Cognito's `/oauth2/token`, after enforcing what
 *   Cognito does not: a `code_verifier` on every authorization-code exchange, only registered
 *   clients, `client_credentials` only for registered confidential clients. It verifies the
 *   issued access token and answers the SMART token response: `scope` (Cognito's response has
 *   none: what the tokens carry, `fhirUser` and `offline_access` included when granted, see
 *   `granted-scope.ts`), and `patient`, `encounter`, `fhirUser`, `need_patient_banner` lifted
 *   from the token.
 * - `introspect` (`POST /auth/introspect`, RFC 7662): Cognito has no introspection endpoint.
 * - `revoke` (`POST /auth/revoke`, RFC 7009): refresh tokens go to Cognito's `/oauth2/revoke`
 *   (a confidential client's secret always as Basic, the only way that endpoint takes one);
 *   access tokens (which Cognito cannot revoke for third-party verifiers) are recorded in the
 *   revocation store the SMART authorizer checks: the token's `jti` until its `exp`, and its
 *   `origin_jti` (the sign-in, i.e. the refresh-token family) until no token of that sign-in can
 *   be valid any more (see {@link originRevocationExpiry}).
 *
 * Errors are OAuth JSON errors (`error` + a FIXED `error_description` per error code, never
 * upstream text, token content or internals). An upstream outage or timeout is
 * `503 temporarily_unavailable`.
 *
 * ## How introspection authenticates its callers
 * Either (1) `Authorization: Bearer <access token>`: an access token from this pool for a
 * registered client, verified locally (signature, issuer, expiry, revocation) — the RFC 7662
 * "separate OAuth 2.0 access token" option, offline and cheap; or (2) `Authorization: Basic` of a
 * registered CONFIDENTIAL client, proven by a `client_credentials` request at Cognito's token
 * endpoint with those credentials (Cognito holds the secrets, the façade never does). A success
 * is cached for `clientAuthCacheSeconds` under a SHA-256 of the header; failures are not cached.
 * (2) only works for clients allowed the client-credentials grant (backend apps holding
 * `system/` scopes); other confidential clients use (1). Anything else: `401 invalid_client`.
 * A caller sees its OWN client's tokens only, unless its client id is in
 * `introspectionClientIds` (e.g. a resource server); any other token is `{"active":false}`,
 * so introspection cannot be used to scan for other apps' tokens.
 *
 * ## Limits (documented, not hidden)
 * - PKCE: Cognito verifies `code_verifier` only if the authorization request carried a
 *   `code_challenge`. The façade's authorization endpoint requires an S256 challenge, but
 *   Cognito's own `/oauth2/authorize` stays reachable (it is the managed login), so a client can
 *   go there directly and skip it (it then cannot ask for `fhirUser` or `offline_access`).
 *   Requiring the verifier at the token step stops clients that skip PKCE altogether, but a
 *   client that sends a verifier without ever sending a challenge is not caught.
 * - Revocation: a refresh token is opaque (encrypted), so its `origin_jti` is unknown here.
 *   Revoking it at Cognito stops new tokens from it, but access tokens already issued keep
 *   working at the authorizer until they expire unless the access token is revoked too
 *   (which records its `origin_jti`, stopping every access token of that sign-in, those
 *   refreshed later included). Revocation takes effect at the gateway after the authorizer's
 *   policy cache TTL.
 * - Refresh tokens cannot be introspected (opaque): always `{"active":false}`.
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  AccessTokenClaims,
  CognitoAccessTokenVerifier,
  cognitoIssuer,
  cognitoJwksUri,
  createCognitoAccessTokenVerifier,
  describeError,
  isCompactJws,
  isLoopbackHost,
  TokenRejected,
} from '../shared/cognito-verifier';
import type { RevocationStore } from '../shared/revocation';
import { deprecationNotice, lifecycleOfStage, lifecycleState, parseApiLifecycle, parseApiVersions, VERSION_PLACEHOLDER, versionedUrl, type ApiLifecycle, type LifecycleState } from '../shared/api-lifecycle';
import { errorResponse } from '../shared/operation-outcome';
import { isObject } from '../shared/json';
import { authorizeRequest, CLIENT_ID, queryOf } from './authorize';
import { grantedScope } from './granted-scope';

// ---------------------------------------------------------------------------------------------
// Types (contract)
// ---------------------------------------------------------------------------------------------

export type FacadeHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

export interface SmartFacade {
  readonly discovery: FacadeHandler;
  readonly authorize: FacadeHandler;
  readonly token: FacadeHandler;
  readonly introspect: FacadeHandler;
  readonly revoke: FacadeHandler;
}

/** The subset of the Powertools Logger the façade uses. */
export interface FacadeLogger {
  info(message: string, ...extra: Array<Record<string, unknown>>): void;
  warn(message: string, ...extra: Array<Record<string, unknown>>): void;
  error(message: string, ...extra: Array<Record<string, unknown>>): void;
}

export interface SmartFacadeOptions {
  /** Public FHIR base URL, e.g. `https://fhir.example.org/r4` (the discovery document lives under it); `{version}` names the API version. */
  readonly fhirBaseUrl: string;
  /** Public base of the façade's OAuth endpoints, e.g. `https://fhir.example.org/auth`; `{version}` names the API version. */
  readonly authBaseUrl: string;
  /** Cognito managed-login domain, e.g. `https://auth.example.org`: upstream `/oauth2/authorize`, `/oauth2/token`, `/oauth2/revoke`. */
  readonly cognitoDomainUrl: string;
  /** The user pool, e.g. `us-east-1_AbCdEf123`. */
  readonly userPoolId: string;
  /** Every registered app client id. Must not be empty. */
  readonly clientIds: readonly string[];
  /**
   * The API versions served side by side, one API Gateway stage each (`shared/api-lifecycle.ts`,
   * validated by `parseApiVersions`); a request's version is its `requestContext.stage`, and
   * `{version}` in `fhirBaseUrl`/`authBaseUrl` is replaced by it. A deprecated version's
   * discovery document says so (`api_version_status`, `api_version_sunset`,
   * `api_version_notice`) and every answer carries the `Deprecation`/`Sunset`/`Link` headers; a
   * retired one, or one past its sunset, answers 410 (revocation excepted: a token can always be
   * revoked); a stage that is not listed answers 404. @default - one unnamed version, active
   */
  readonly apiVersions?: readonly ApiLifecycle[];
  /**
   * The single-version form: one lifecycle for every request, whatever its stage.
   * @deprecated give `apiVersions` (a stage per version); not both
   * @default - active
   */
  readonly lifecycle?: ApiLifecycle;
  /** Registered clients with a secret (may use `client_credentials`). @default - none */
  readonly confidentialClientIds?: readonly string[];
  /** Clients that may introspect tokens of any registered client. @default - none: callers see their own client's tokens only */
  readonly introspectionClientIds?: readonly string[];
  /**
   * Clients registered for `offline_access` (their app client's refresh tokens last as the
   * registry says, not 60 minutes): the authorization endpoint lets them ask for it, and their
   * token responses say `offline_access` when they hold a refresh token.
   * @default - none: every client asking for `offline_access` is refused `invalid_scope`
   */
  readonly offlineAccessClientIds?: readonly string[];
  /** `scopes_supported` in the discovery document. @default - the SMART non-resource scopes the kit supports */
  readonly scopesSupported?: readonly string[];
  /** Browser origins allowed to call the token, introspection and revocation endpoints (CORS). @default - none */
  readonly allowedOrigins?: readonly string[];
  /** Where revoked access tokens are recorded (the authorizer's table). */
  readonly revocation: RevocationStore;
  /**
   * Each registered client's refresh-token validity in seconds (its app client's
   * `RefreshTokenValidity`), by client id: how long a revoked sign-in (`origin_jti`) must stay
   * revoked. Each value is a whole number of seconds within Cognito's range (60 minutes to
   * 10 years); keys must be registered clients.
   * @default - a client missing here is taken to have the longest validity Cognito allows
   *   ({@link MAX_REFRESH_TOKEN_VALIDITY_SECONDS}, 10 years): fail safe
   */
  readonly refreshTokenValiditySeconds?: Readonly<Record<string, number>>;
  /** Preloaded JWKS (tests, offline). @default - fetched from the pool at first use */
  readonly jwks?: object;
  /** @default - the pool's JWKS URL */
  readonly jwksUri?: string;
  /** The fetch used for Cognito (and the JWKS). @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Time allowed for one upstream call to Cognito. @default 5000 */
  readonly upstreamTimeoutMs?: number;
  /** Largest request body accepted. @default 16384 */
  readonly maxBodyBytes?: number;
  /** How long a verified introspection client (Basic) is remembered. @default 300 */
  readonly clientAuthCacheSeconds?: number;
  /** Seconds since the epoch. @default - the system clock */
  readonly now?: () => number;
  /** @default - a Powertools Logger with service name `smart-facade` */
  readonly logger?: FacadeLogger;
}

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;
const MAX_UPSTREAM_BODY_BYTES = 64 * 1024;
const CLIENT_AUTH_CACHE_MAX_ENTRIES = 256;

/** Cognito's shortest refresh-token validity (60 minutes). */
export const MIN_REFRESH_TOKEN_VALIDITY_SECONDS = 60 * 60;
/** Cognito's longest refresh-token validity (10 years): assumed for a client of unknown validity. */
export const MAX_REFRESH_TOKEN_VALIDITY_SECONDS = 10 * 365 * 24 * 60 * 60;
/** Cognito's longest access-token validity (1 day). */
export const MAX_ACCESS_TOKEN_VALIDITY_SECONDS = 24 * 60 * 60;
/** Allowance for Cognito's clock running ahead of this function's. */
export const REVOCATION_CLOCK_SKEW_SECONDS = 5 * 60;

/**
 * Until when (epoch seconds) a revoked sign-in (`origin_jti`) must stay revoked: until no access
 * token of that sign-in can be valid any more.
 *
 * Cognito's refresh token is valid for the client's refresh-token validity from the sign-in that
 * issued it, however often it is used (rotation issues new values but never extends that
 * window). Every access token of the sign-in is minted within the window, and the last one lives
 * up to an access-token validity after it: at most {@link MAX_ACCESS_TOKEN_VALIDITY_SECONDS},
 * Cognito's longest, whatever the client's setting is now.
 *
 * When the sign-in happened is not in the token, so an upper bound of it is used:
 * - not `auth_time`: that is when the user authenticated, which can be well before the code
 *   exchange that issued the refresh token (a managed-login session re-used for a later
 *   authorization, or a code exchanged minutes after), so `auth_time + validity` could end the
 *   revocation while the refresh token still works;
 * - but `iat` of the revoked token: every access token of a sign-in is minted at or after its
 *   refresh token (a refreshed one later), so `iat` is at or after the sign-in; and `revokedAt`,
 *   which follows the token's `iat` on a correct clock. The later of the two also covers a
 *   Cognito clock that runs ahead of ours, as far as the verifier lets `iat` be in the future;
 *   {@link REVOCATION_CLOCK_SKEW_SECONDS} covers the same skew when Cognito checks the refresh
 *   token's expiry.
 *
 * So: `max(revokedAt, iat) + refresh validity + longest access validity + skew`. Longer than
 * strictly needed by up to the time since sign-in and a day; never shorter.
 */
export function originRevocationExpiry(revokedAt: number, iat: number | undefined, refreshTokenValiditySeconds: number): number {
  const signedInAtTheLatest = Math.max(revokedAt, typeof iat === 'number' && Number.isFinite(iat) ? iat : revokedAt);
  return signedInAtTheLatest + refreshTokenValiditySeconds + MAX_ACCESS_TOKEN_VALIDITY_SECONDS + REVOCATION_CLOCK_SKEW_SECONDS;
}

/** The capabilities the kit really has (SMART App Launch 2.2 §Capabilities). */
export const SMART_CAPABILITIES: readonly string[] = Object.freeze([
  'launch-standalone',
  'client-public',
  'client-confidential-symmetric',
  'sso-openid-connect',
  'context-standalone-patient',
  'context-banner',
  'permission-offline',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
]);

const DEFAULT_SCOPES_SUPPORTED = ['openid', 'fhirUser', 'launch/patient', 'offline_access'];

/** RFC 6749 §5.2 / RFC 7009 / SMART error codes, each with its one fixed description. */
const OAUTH_ERRORS = {
  invalid_request: 'The request is missing a required parameter, includes an invalid parameter value, or is otherwise malformed.',
  invalid_client: 'Client authentication failed.',
  invalid_grant: 'The authorization grant or refresh token is invalid, expired, revoked, or was issued to another client.',
  unauthorized_client: 'The client is not authorized to use this grant type.',
  unsupported_grant_type: 'The grant type is not supported.',
  unsupported_response_type: 'The response type is not supported.',
  invalid_scope: 'The requested scope is invalid or exceeds the scope granted.',
  server_error: 'The authorization server encountered an unexpected condition.',
  temporarily_unavailable: 'The authorization server is temporarily unavailable. Try again later.',
} as const;
type OAuthErrorCode = keyof typeof OAUTH_ERRORS;

/** RFC 7636 `code_verifier`: 43–128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const REFERENCE = /^[\x21-\x7e]{1,1024}$/;
/** A client secret to forward as Basic: visible ASCII, bounded (Cognito's are `[\w+]{1,64}`; Cognito judges the rest). */
const CLIENT_SECRET = /^[\x21-\x7e]{1,128}$/;
const FORM_PARAMS = new Set(['grant_type', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'scope', 'client_id', 'client_secret']);

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
};
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json;charset=UTF-8', ...SECURITY_HEADERS, ...NO_STORE, ...headers },
    body: JSON.stringify(body),
  };
}

function oauthError(statusCode: number, error: OAuthErrorCode, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return jsonResponse(statusCode, { error, error_description: OAUTH_ERRORS[error] }, headers);
}

/** A request the façade refuses, carried to the one place that turns it into a response. */
class OAuthFailure extends Error {
  constructor(
    public readonly statusCode: number,
    public readonly error: OAuthErrorCode,
    public readonly reason: string,
    public readonly headers: Record<string, string> = {},
  ) {
    super(reason);
  }
}

const INVALID_CLIENT_HEADERS = { 'WWW-Authenticate': 'Basic realm="smart", Bearer realm="smart"' };

// ---------------------------------------------------------------------------------------------
// Request parsing
// ---------------------------------------------------------------------------------------------

/** Every value of a header, case-insensitively, from both header maps (de-duplicated). */
function headerValues(event: APIGatewayProxyEvent, name: string): string[] {
  const lower = name.toLowerCase();
  const multi: string[] = [];
  for (const [k, list] of Object.entries(event.multiValueHeaders ?? {})) {
    if (k.toLowerCase() === lower && Array.isArray(list)) multi.push(...list.filter((v): v is string => typeof v === 'string'));
  }
  if (multi.length > 0) return multi;
  const single: string[] = [];
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (k.toLowerCase() === lower && typeof v === 'string') single.push(v);
  }
  return single;
}

function singleHeader(event: APIGatewayProxyEvent, name: string): string | undefined {
  const values = headerValues(event, name);
  if (values.length > 1) throw new OAuthFailure(400, 'invalid_request', `more than one ${name} header`);
  return values[0];
}

/** Parses an `application/x-www-form-urlencoded` body (RFC 6749 §3.2: no repeated parameters). */
function parseForm(event: APIGatewayProxyEvent, maxBodyBytes: number): Map<string, string> {
  if (event.httpMethod !== 'POST') throw new OAuthFailure(405, 'invalid_request', 'method not allowed', { Allow: 'POST' });
  const contentType = singleHeader(event, 'content-type') ?? '';
  if (contentType.split(';')[0].trim().toLowerCase() !== 'application/x-www-form-urlencoded') {
    throw new OAuthFailure(400, 'invalid_request', 'content type is not application/x-www-form-urlencoded');
  }
  const raw = event.body ?? '';
  if (raw.length > (event.isBase64Encoded ? Math.ceil((maxBodyBytes * 4) / 3) + 4 : maxBodyBytes)) {
    throw new OAuthFailure(413, 'invalid_request', 'request body too large');
  }
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text, 'utf8') > maxBodyBytes) throw new OAuthFailure(413, 'invalid_request', 'request body too large');
  const out = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(text)) {
    if (out.has(key)) throw new OAuthFailure(400, 'invalid_request', `repeated parameter ${key.slice(0, 40)}`);
    out.set(key, value);
  }
  // RFC 6749 §3.1: parameters sent without a value are treated as omitted.
  for (const [key, value] of [...out]) if (value === '') out.delete(key);
  return out;
}

type ClientAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly clientId: string; readonly header: string }
  | { readonly kind: 'bearer'; readonly token: string };

/** The `Authorization` header: Basic (RFC 6749 §2.3.1, form-encoded id and secret), Bearer, or none. */
function parseAuthorization(event: APIGatewayProxyEvent): ClientAuth {
  const header = singleHeader(event, 'authorization');
  if (header === undefined) return { kind: 'none' };
  const m = /^(\S+) +(\S+)$/.exec(header.trim());
  if (!m) throw new OAuthFailure(401, 'invalid_client', 'malformed Authorization header', INVALID_CLIENT_HEADERS);
  const scheme = m[1].toLowerCase();
  if (scheme === 'bearer') return { kind: 'bearer', token: m[2] };
  if (scheme !== 'basic' || m[2].length > 1024) {
    throw new OAuthFailure(401, 'invalid_client', 'unsupported Authorization scheme', INVALID_CLIENT_HEADERS);
  }
  const decoded = Buffer.from(m[2], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  let clientId: string;
  try {
    clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  } catch {
    clientId = '';
  }
  if (colon <= 0 || colon === decoded.length - 1 || !CLIENT_ID.test(clientId)) {
    throw new OAuthFailure(401, 'invalid_client', 'malformed Basic credentials', INVALID_CLIENT_HEADERS);
  }
  return { kind: 'basic', clientId, header: `Basic ${m[2]}` };
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

function baseUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an absolute URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new Error(`${name} must use https (http is allowed only on a loopback host)`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new Error(`${name} must not have a query, fragment or user information`);
  }
  return url.href.replace(/\/+$/, '');
}

function clientList(name: string, list: readonly string[] | undefined, registered: ReadonlySet<string>): ReadonlySet<string> {
  if (list === undefined) return new Set();
  if (!Array.isArray(list)) throw new Error(`${name} must be a list of client ids`);
  for (const id of list) if (!registered.has(id)) throw new Error(`${name} names a client that is not in clientIds`);
  return new Set(list);
}

/** Refresh-token validity by client, every registered client included (missing ones at the maximum). */
function refreshValidities(map: Readonly<Record<string, number>> | undefined, registered: ReadonlySet<string>): ReadonlyMap<string, number> {
  if (map !== undefined && (typeof map !== 'object' || map === null || Array.isArray(map))) {
    throw new Error('refreshTokenValiditySeconds must be an object of seconds by client id');
  }
  const out = new Map<string, number>();
  for (const id of registered) out.set(id, MAX_REFRESH_TOKEN_VALIDITY_SECONDS);
  for (const [id, seconds] of Object.entries(map ?? {})) {
    if (!registered.has(id)) throw new Error('refreshTokenValiditySeconds names a client that is not in clientIds');
    if (!Number.isInteger(seconds) || seconds < MIN_REFRESH_TOKEN_VALIDITY_SECONDS || seconds > MAX_REFRESH_TOKEN_VALIDITY_SECONDS) {
      throw new Error(
        `refreshTokenValiditySeconds of a client must be whole seconds from ${MIN_REFRESH_TOKEN_VALIDITY_SECONDS} to ${MAX_REFRESH_TOKEN_VALIDITY_SECONDS} (Cognito's range)`,
      );
    }
    out.set(id, seconds);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The factory
// ---------------------------------------------------------------------------------------------

/**
 * Creates the five façade handlers. Create once per container.
 * @throws Error at creation when the options are invalid (a deployment error)
 */
export function createFacade(options: SmartFacadeOptions): SmartFacade {
  const apiVersions = options.apiVersions === undefined ? undefined : parseApiVersions(options.apiVersions);
  if (apiVersions !== undefined && options.lifecycle !== undefined) throw new Error('give apiVersions or lifecycle, not both');
  const singleLifecycle = options.lifecycle === undefined ? undefined : parseApiLifecycle(options.lifecycle);
  for (const name of ['fhirBaseUrl', 'authBaseUrl'] as const) {
    if (options[name]?.includes(VERSION_PLACEHOLDER) && apiVersions === undefined) throw new Error(`${name} names ${VERSION_PLACEHOLDER} but no apiVersions are given`);
  }
  const versionNames = apiVersions?.map((v) => v.version) ?? [undefined];
  // Validated only: the discovery document is served at `${fhirBaseUrl}/.well-known/smart-configuration`.
  for (const v of versionNames) baseUrl('fhirBaseUrl', versionedUrl(options.fhirBaseUrl, v));
  for (const v of versionNames) baseUrl('authBaseUrl', versionedUrl(options.authBaseUrl, v));
  const cognitoDomainUrl = baseUrl('cognitoDomainUrl', options.cognitoDomainUrl);
  if (!Array.isArray(options.clientIds) || options.clientIds.length === 0 || options.clientIds.some((c) => !CLIENT_ID.test(c))) {
    throw new Error('clientIds must be a non-empty list of Cognito client ids');
  }
  if (!options.revocation) throw new Error('revocation store is required');
  const registered: ReadonlySet<string> = new Set(options.clientIds);
  const confidential = clientList('confidentialClientIds', options.confidentialClientIds, registered);
  const introspectors = clientList('introspectionClientIds', options.introspectionClientIds, registered);
  const offlineAccess = clientList('offlineAccessClientIds', options.offlineAccessClientIds, registered);
  const refreshValidity = refreshValidities(options.refreshTokenValiditySeconds, registered);
  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  const revocation = options.revocation;
  const fetchFn = options.fetch ?? globalThis.fetch;
  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const clientAuthCacheSeconds = options.clientAuthCacheSeconds ?? 300;
  const now = options.now ?? ((): number => Date.now() / 1000);
  const logger: FacadeLogger = options.logger ?? new Logger({ serviceName: 'smart-facade' });
  const issuer = cognitoIssuer(options.userPoolId);
  const verifier: CognitoAccessTokenVerifier = createCognitoAccessTokenVerifier({
    userPoolId: options.userPoolId,
    clientIds: options.clientIds,
    jwks: options.jwks,
    jwksUri: options.jwksUri,
    fetch: fetchFn,
  });

  /** The discovery document of each version (active, and as a deprecated version says it). */
  const discoveryBodies = new Map<string | undefined, { readonly active: string; readonly deprecated: string }>();
  for (const lifecycle of apiVersions ?? [singleLifecycle]) {
    const authBase = versionedUrl(options.authBaseUrl, lifecycle?.version).replace(/\/+$/, '');
    const configuration = {
      issuer,
      jwks_uri: cognitoJwksUri(options.userPoolId),
      authorization_endpoint: `${authBase}/authorize`,
      token_endpoint: `${authBase}/token`,
      introspection_endpoint: `${authBase}/introspect`,
      revocation_endpoint: `${authBase}/revoke`,
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types_supported: ['code'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      scopes_supported: [...(options.scopesSupported ?? DEFAULT_SCOPES_SUPPORTED)],
      code_challenge_methods_supported: ['S256'],
      capabilities: [...SMART_CAPABILITIES],
    };
    const active = JSON.stringify(configuration);
    discoveryBodies.set(lifecycle?.version, {
      active,
      deprecated:
        lifecycle === undefined || lifecycle.status === 'active'
          ? active
          : JSON.stringify({
              ...configuration,
              api_version: lifecycle.version,
              api_version_status: 'deprecated',
              ...(lifecycle.sunsetAt !== undefined ? { api_version_sunset: lifecycle.sunsetAt } : {}),
              api_version_notice: deprecationNotice(lifecycle),
              ...(lifecycle.migrationNotesUrl !== undefined ? { api_version_migration_notes: lifecycle.migrationNotesUrl } : {}),
            }),
    });
  }

  /** The version a request reached and its state now; `undefined` for a stage that is not listed. */
  function versionOf(event: APIGatewayProxyEvent): { readonly name: string | undefined; readonly state: LifecycleState } | undefined {
    const found = lifecycleOfStage(apiVersions, event?.requestContext?.stage, singleLifecycle);
    if (found === 'unlisted') return undefined;
    return { name: found?.version, state: lifecycleState(found, new Date(now() * 1000)) };
  }

  /** Verified Basic credentials: SHA-256 of the header → expiry (epoch seconds). */
  const clientAuthCache = new Map<string, number>();

  function corsHeaders(event: APIGatewayProxyEvent): Record<string, string> {
    const origin = headerValues(event, 'origin')[0];
    return origin !== undefined && allowedOrigins.has(origin) ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' } : {};
  }

  // ------------------------------------------------------------------------------- upstream

  interface Upstream {
    readonly status: number;
    readonly json: Record<string, unknown> | undefined;
  }

  /** POSTs a form to Cognito. Network errors, timeouts, 5xx and 429 become 503. */
  async function postUpstream(path: string, form: URLSearchParams, authorization: string | undefined): Promise<Upstream> {
    let res: Response;
    try {
      res = await fetchFn(`${cognitoDomainUrl}${path}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
          ...(authorization !== undefined ? { Authorization: authorization } : {}),
        },
        body: form.toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(upstreamTimeoutMs),
      });
    } catch (err) {
      throw new OAuthFailure(503, 'temporarily_unavailable', `upstream ${path} unreachable: ${describeError(err)}`, { 'Retry-After': '5' });
    }
    if (res.status >= 500 || res.status === 429) {
      await res.body?.cancel().catch(() => undefined);
      throw new OAuthFailure(503, 'temporarily_unavailable', `upstream ${path} answered HTTP ${res.status}`, { 'Retry-After': '5' });
    }
    let text: string;
    try {
      text = await readBounded(res, MAX_UPSTREAM_BODY_BYTES);
    } catch (err) {
      throw new OAuthFailure(503, 'temporarily_unavailable', `upstream ${path} body unreadable: ${describeError(err)}`);
    }
    let json: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = text === '' ? undefined : JSON.parse(text);
      json = isObject(parsed) ? parsed : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json };
  }

  /** Maps an upstream 4xx to a fixed OAuth error (Cognito's own codes, or `invalid_request`). */
  function upstreamError(up: Upstream, path: string): OAuthFailure {
    const code = typeof up.json?.error === 'string' ? up.json.error : '';
    const error: OAuthErrorCode = Object.prototype.hasOwnProperty.call(OAUTH_ERRORS, code) ? (code as OAuthErrorCode) : 'invalid_request';
    const status = error === 'invalid_client' ? 401 : error === 'server_error' ? 502 : error === 'temporarily_unavailable' ? 503 : 400;
    return new OAuthFailure(status, error, `upstream ${path} answered HTTP ${up.status} ${error}`, status === 401 ? INVALID_CLIENT_HEADERS : {});
  }

  // ------------------------------------------------------------------------------- helpers

  async function isRevoked(claims: AccessTokenClaims): Promise<boolean> {
    const [a, b] = await Promise.all([
      revocation.isRevoked(claims.jti),
      typeof claims.origin_jti === 'string' ? revocation.isRevoked(claims.origin_jti) : Promise.resolve(false),
    ]);
    return a || b;
  }

  /**
   * The client the caller identifies as (Basic user or `client_id`), checked against the registry;
   * a Bearer token is not a client authentication (token and revocation endpoints).
   */
  function identifiedClient(auth: ClientAuth, form: Map<string, string>): string | undefined {
    if (auth.kind === 'bearer') throw new OAuthFailure(401, 'invalid_client', 'Bearer is not a client authentication', INVALID_CLIENT_HEADERS);
    const bodyClient = form.get('client_id');
    if (auth.kind === 'basic' && bodyClient !== undefined && bodyClient !== auth.clientId) {
      throw new OAuthFailure(400, 'invalid_request', 'client_id differs from the Basic credentials');
    }
    if (auth.kind === 'basic' && form.has('client_secret')) throw new OAuthFailure(400, 'invalid_request', 'two client authentication methods');
    const clientId = auth.kind === 'basic' ? auth.clientId : bodyClient;
    if (clientId !== undefined && !registered.has(clientId)) {
      throw new OAuthFailure(401, 'invalid_client', 'client is not registered', INVALID_CLIENT_HEADERS);
    }
    return clientId;
  }

  async function handle(event: APIGatewayProxyEvent, name: string, fn: (version: { readonly name: string | undefined }) => Promise<APIGatewayProxyResult>): Promise<APIGatewayProxyResult> {
    const cors = corsHeaders(event ?? ({} as APIGatewayProxyEvent));
    const version = versionOf(event);
    if (version === undefined) return jsonResponse(404, { error: 'invalid_request', error_description: 'This API version is not served' }, cors);
    const { state } = version;
    // A gone version answers 410, except revocation: a token can always be revoked.
    if (state.kind === 'gone' && name !== 'revoke') {
      safeLog('warn', `${name} refused`, { reason: 'API version gone', status: 410 });
      return jsonResponse(410, { error: 'invalid_request', error_description: state.message }, { ...state.headers, ...cors });
    }
    const lifecycleHeaders = state.kind === 'active' ? {} : state.headers;
    try {
      const result = await fn(version);
      return { ...result, headers: { ...result.headers, ...lifecycleHeaders, ...cors } };
    } catch (err) {
      if (err instanceof OAuthFailure) {
        safeLog('warn', `${name} refused`, { reason: err.reason, status: err.statusCode });
        return oauthError(err.statusCode, err.error, { ...err.headers, ...lifecycleHeaders, ...cors });
      }
      safeLog('error', `${name} failed`, { error: describeError(err) });
      return oauthError(500, 'server_error', { ...lifecycleHeaders, ...cors });
    }
  }

  function safeLog(level: 'info' | 'warn' | 'error', message: string, extra: Record<string, unknown>): void {
    try {
      logger[level](message, extra);
    } catch {
      // Logging never changes the outcome.
    }
  }

  // ------------------------------------------------------------------------------- discovery

  async function discovery(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    if (event?.httpMethod !== undefined && event.httpMethod !== 'GET' && event.httpMethod !== 'HEAD') {
      return oauthError(405, 'invalid_request', { Allow: 'GET' });
    }
    const version = versionOf(event);
    if (version === undefined) return errorResponse(404, 'not-found', 'This API version is not served', { headers: { 'Access-Control-Allow-Origin': '*' } });
    const { state } = version;
    if (state.kind === 'gone') {
      return errorResponse(410, 'not-supported', state.message, { headers: { ...state.headers, 'Access-Control-Allow-Origin': '*' } });
    }
    const bodies = discoveryBodies.get(version.name);
    if (bodies === undefined) throw new Error('no discovery document for a listed version');
    return {
      statusCode: 200,
      headers: {
        'Content-Type': 'application/json;charset=UTF-8',
        ...SECURITY_HEADERS,
        'Cache-Control': state.kind === 'deprecated' ? 'public, max-age=300' : 'public, max-age=3600',
        'Access-Control-Allow-Origin': '*',
        ...(state.kind === 'deprecated' ? state.headers : {}),
      },
      body: state.kind === 'deprecated' ? bodies.deprecated : bodies.active,
    };
  }

  // ------------------------------------------------------------------------------- authorize

  /** The FHIR base of each version, as `aud` must name it (no trailing `/`). */
  const fhirBases = new Map(versionNames.map((v) => [v, baseUrl('fhirBaseUrl', versionedUrl(options.fhirBaseUrl, v))]));

  async function authorize(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    return handle(event, 'authorize', async (version) => {
      const fhirBaseUrl = fhirBases.get(version.name);
      if (fhirBaseUrl === undefined) throw new Error('no FHIR base for a listed version');
      const outcome = authorizeRequest(event.httpMethod, queryOf(event), {
        registered,
        offlineAccess,
        fhirBaseUrl,
        cognitoAuthorizeUrl: `${cognitoDomainUrl}/oauth2/authorize`,
      });
      if (outcome.kind === 'refused') {
        throw new OAuthFailure(outcome.status, outcome.error, outcome.reason, outcome.status === 405 ? { Allow: 'GET' } : {});
      }
      safeLog('info', 'authorization request sent on to Cognito', { clientId: outcome.clientId, keptByTheKit: outcome.keptByTheKit });
      return {
        statusCode: 302,
        headers: { Location: outcome.location, ...SECURITY_HEADERS, ...NO_STORE, 'Referrer-Policy': 'no-referrer' },
        body: '',
      };
    });
  }

  // ------------------------------------------------------------------------------- token

  async function token(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    return handle(event, 'token', async () => {
      const form = parseForm(event, maxBodyBytes);
      const auth = parseAuthorization(event);
      const clientId = identifiedClient(auth, form);
      if (clientId === undefined) throw new OAuthFailure(401, 'invalid_client', 'no client identification', INVALID_CLIENT_HEADERS);
      const authenticated = auth.kind === 'basic' || form.has('client_secret');

      const grantType = form.get('grant_type');
      switch (grantType) {
        case undefined:
          throw new OAuthFailure(400, 'invalid_request', 'grant_type missing');
        case 'authorization_code': {
          if (!form.has('code') || !form.has('redirect_uri')) throw new OAuthFailure(400, 'invalid_request', 'code or redirect_uri missing');
          const verifierText = form.get('code_verifier');
          if (verifierText === undefined) throw new OAuthFailure(400, 'invalid_request', 'PKCE code_verifier missing');
          if (!CODE_VERIFIER.test(verifierText)) throw new OAuthFailure(400, 'invalid_request', 'malformed PKCE code_verifier');
          break;
        }
        case 'refresh_token':
          if (!form.has('refresh_token')) throw new OAuthFailure(400, 'invalid_request', 'refresh_token missing');
          break;
        case 'client_credentials':
          if (!authenticated) throw new OAuthFailure(401, 'invalid_client', 'client_credentials without client authentication', INVALID_CLIENT_HEADERS);
          if (!confidential.has(clientId)) throw new OAuthFailure(400, 'unauthorized_client', 'client_credentials for a non-confidential client');
          break;
        default:
          throw new OAuthFailure(400, 'unsupported_grant_type', 'unsupported grant_type');
      }

      const upstreamForm = new URLSearchParams();
      for (const [key, value] of form) if (FORM_PARAMS.has(key)) upstreamForm.set(key, value);
      if (auth.kind !== 'basic') upstreamForm.set('client_id', clientId);
      const up = await postUpstream('/oauth2/token', upstreamForm, auth.kind === 'basic' ? auth.header : undefined);
      if (up.status !== 200) throw upstreamError(up, '/oauth2/token');

      const body = up.json;
      const accessToken = body?.access_token;
      if (typeof accessToken !== 'string') throw new OAuthFailure(502, 'server_error', 'upstream token response without access_token');
      let claims: AccessTokenClaims;
      try {
        claims = await verifier.verify(accessToken);
      } catch (err) {
        if (err instanceof TokenRejected && err.reason === 'JWKS unavailable') {
          throw new OAuthFailure(503, 'temporarily_unavailable', 'JWKS unavailable');
        }
        throw new OAuthFailure(502, 'server_error', `issued access token failed verification: ${describeError(err)}`);
      }
      if (claims.client_id !== clientId) throw new OAuthFailure(502, 'server_error', 'issued access token is for another client');

      const response: Record<string, unknown> = {
        access_token: accessToken,
        token_type: 'Bearer',
        ...(typeof body?.expires_in === 'number' ? { expires_in: body.expires_in } : {}),
        scope: grantedScope({
          accessTokenScope: claims.scope,
          idToken: body?.id_token,
          clientId,
          issuer,
          holdsRefreshToken: grantType === 'refresh_token' || typeof body?.refresh_token === 'string',
          offlineAccess: offlineAccess.has(clientId),
        }),
        ...(typeof body?.id_token === 'string' ? { id_token: body.id_token } : {}),
        ...(typeof body?.refresh_token === 'string' ? { refresh_token: body.refresh_token } : {}),
      };
      const patient = wellFormed(claims.patient, FHIR_ID);
      const encounter = wellFormed(claims.encounter, FHIR_ID);
      const fhirUser = wellFormed(claims.fhirUser, REFERENCE);
      if (patient !== undefined) response.patient = patient;
      if (encounter !== undefined) response.encounter = encounter;
      if (fhirUser !== undefined) response.fhirUser = fhirUser;
      if (patient !== undefined) response.need_patient_banner = true;
      safeLog('info', 'token issued', { clientId, grantType });
      return jsonResponse(200, response);
    });
  }

  // ------------------------------------------------------------------------------- introspect

  /** Authenticates an introspection caller; returns its client id. */
  async function introspectionCaller(auth: ClientAuth): Promise<string> {
    if (auth.kind === 'bearer') {
      let claims: AccessTokenClaims;
      try {
        claims = await verifier.verify(auth.token);
      } catch (err) {
        throw new OAuthFailure(401, 'invalid_client', `caller token rejected: ${describeError(err)}`, INVALID_CLIENT_HEADERS);
      }
      let revoked: boolean;
      try {
        revoked = await isRevoked(claims);
      } catch (err) {
        throw new OAuthFailure(503, 'temporarily_unavailable', `revocation store unavailable: ${describeError(err)}`, { 'Retry-After': '5' });
      }
      if (revoked) throw new OAuthFailure(401, 'invalid_client', 'caller token revoked', INVALID_CLIENT_HEADERS);
      return claims.client_id;
    }
    if (auth.kind === 'basic') {
      if (!registered.has(auth.clientId) || !confidential.has(auth.clientId)) {
        throw new OAuthFailure(401, 'invalid_client', 'Basic credentials of a client that is not a registered confidential client', INVALID_CLIENT_HEADERS);
      }
      const key = createHash('sha256').update(auth.header).digest('base64url');
      const cached = clientAuthCache.get(key);
      if (cached !== undefined && cached > now()) return auth.clientId;
      clientAuthCache.delete(key);
      const up = await postUpstream('/oauth2/token', new URLSearchParams({ grant_type: 'client_credentials' }), auth.header);
      if (up.status !== 200 || typeof up.json?.access_token !== 'string') {
        throw new OAuthFailure(401, 'invalid_client', `Basic credentials not accepted upstream (HTTP ${up.status})`, INVALID_CLIENT_HEADERS);
      }
      let claims: AccessTokenClaims;
      try {
        claims = await verifier.verify(up.json.access_token);
      } catch (err) {
        throw new OAuthFailure(401, 'invalid_client', `client-credentials token rejected: ${describeError(err)}`, INVALID_CLIENT_HEADERS);
      }
      if (claims.client_id !== auth.clientId) throw new OAuthFailure(401, 'invalid_client', 'client-credentials token for another client', INVALID_CLIENT_HEADERS);
      if (clientAuthCache.size >= CLIENT_AUTH_CACHE_MAX_ENTRIES) clientAuthCache.clear();
      clientAuthCache.set(key, Math.min(now() + clientAuthCacheSeconds, claims.exp));
      return auth.clientId;
    }
    throw new OAuthFailure(401, 'invalid_client', 'introspection without client authentication', INVALID_CLIENT_HEADERS);
  }

  async function introspect(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    return handle(event, 'introspect', async () => {
      const form = parseForm(event, maxBodyBytes);
      const caller = await introspectionCaller(parseAuthorization(event));
      const tokenText = form.get('token');
      if (tokenText === undefined) throw new OAuthFailure(400, 'invalid_request', 'token missing');
      const inactive = jsonResponse(200, { active: false });

      if (!isCompactJws(tokenText)) return inactive; // refresh tokens are opaque; anything else is not ours
      let claims: AccessTokenClaims;
      try {
        claims = await verifier.verify(tokenText);
      } catch (err) {
        safeLog('info', 'introspection: inactive token', { reason: describeError(err) });
        return inactive;
      }
      if (claims.client_id !== caller && !introspectors.has(caller)) {
        safeLog('warn', 'introspection: token of another client', { caller });
        return inactive;
      }
      try {
        if (await isRevoked(claims)) return inactive;
      } catch (err) {
        safeLog('error', 'introspection: revocation store unavailable', { error: describeError(err) });
        return inactive; // fail closed
      }
      const patient = wellFormed(claims.patient, FHIR_ID);
      const fhirUser = wellFormed(claims.fhirUser, REFERENCE);
      return jsonResponse(200, {
        active: true,
        scope: typeof claims.scope === 'string' ? claims.scope : '',
        client_id: claims.client_id,
        token_type: 'Bearer',
        exp: claims.exp,
        ...(typeof claims.iat === 'number' ? { iat: claims.iat } : {}),
        sub: claims.sub,
        iss: claims.iss,
        jti: claims.jti,
        ...(patient !== undefined ? { patient } : {}),
        ...(fhirUser !== undefined ? { fhirUser } : {}),
      });
    });
  }

  // ------------------------------------------------------------------------------- revoke

  async function revoke(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    return handle(event, 'revoke', async () => {
      const form = parseForm(event, maxBodyBytes);
      const auth = parseAuthorization(event);
      const clientId = identifiedClient(auth, form);
      const tokenText = form.get('token');
      if (tokenText === undefined) throw new OAuthFailure(400, 'invalid_request', 'token missing');
      const ok: APIGatewayProxyResult = { statusCode: 200, headers: { ...SECURITY_HEADERS, ...NO_STORE }, body: '' };

      if (isCompactJws(tokenText)) {
        // An access (or ID) token, whatever the hint says: possession of a live access token is
        // enough to end it (revocation only ever narrows access).
        let claims: AccessTokenClaims;
        try {
          claims = await verifier.verify(tokenText);
        } catch (err) {
          if (err instanceof TokenRejected && err.reason === 'JWKS unavailable') {
            throw new OAuthFailure(503, 'temporarily_unavailable', 'JWKS unavailable');
          }
          safeLog('info', 'revoke: nothing to revoke', { reason: describeError(err) });
          return ok; // RFC 7009 §2.2: invalid or expired tokens are not an error
        }
        if (clientId !== undefined && claims.client_id !== clientId) {
          throw new OAuthFailure(400, 'unauthorized_client', 'token was issued to another client');
        }
        // The token itself until it expires; its sign-in (every token refreshed from the same
        // refresh token) until none of them can be valid. Either write failing is a 503: the
        // client retries, and a repeated revocation never shortens an entry.
        try {
          await revocation.revoke(claims.jti, claims.exp);
          if (typeof claims.origin_jti === 'string') {
            const validity = refreshValidity.get(claims.client_id) ?? MAX_REFRESH_TOKEN_VALIDITY_SECONDS;
            await revocation.revoke(claims.origin_jti, originRevocationExpiry(now(), claims.iat, validity));
          }
        } catch (err) {
          throw new OAuthFailure(503, 'temporarily_unavailable', `revocation store unavailable: ${describeError(err)}`, { 'Retry-After': '5' });
        }
        safeLog('info', 'access token revoked', { clientId: claims.client_id, signIn: typeof claims.origin_jti === 'string' });
        return ok;
      }

      // A refresh token (opaque): Cognito revokes it and stops issuing tokens from it.
      if (clientId === undefined) throw new OAuthFailure(400, 'invalid_request', 'client_id missing');
      const upstreamForm = new URLSearchParams({ token: tokenText });
      let authorization = auth.kind === 'basic' ? auth.header : undefined;
      const secret = form.get('client_secret');
      if (secret !== undefined) {
        // client_secret_post: Cognito's /oauth2/revoke takes a secret only as Basic.
        if (!CLIENT_SECRET.test(secret)) throw new OAuthFailure(401, 'invalid_client', 'malformed client_secret', INVALID_CLIENT_HEADERS);
        authorization = `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
      } else if (auth.kind !== 'basic') {
        upstreamForm.set('client_id', clientId);
      }
      const up = await postUpstream('/oauth2/revoke', upstreamForm, authorization);
      if (up.status === 200) {
        safeLog('info', 'refresh token revoked upstream', { clientId });
        return ok;
      }
      const failure = upstreamError(up, '/oauth2/revoke');
      // RFC 7009 §2.1: bad client credentials, or a token of another client, are refused.
      if (failure.error === 'invalid_client' || failure.error === 'unauthorized_client' || failure.statusCode >= 500) throw failure;
      safeLog('warn', 'revoke: upstream did not revoke the token', { status: up.status, error: failure.error });
      return ok; // unknown or already revoked token: 200 per RFC 7009 §2.2
    });
  }

  return { discovery, authorize, token, introspect, revoke };
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function wellFormed(value: unknown, pattern: RegExp): string | undefined {
  return typeof value === 'string' && pattern.test(value) ? value : undefined;
}

async function readBounded(res: Response, max: number): Promise<string> {
  if (Number(res.headers.get('content-length') ?? '0') > max) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error('response too large');
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw new Error('response too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

