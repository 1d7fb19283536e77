/**
 * The SMART authorization endpoint (`GET /auth/authorize`, the discovery's
 * `authorization_endpoint`): what an app's browser is sent to first. It checks the request,
 * takes out the SMART scopes Cognito cannot have, and sends the browser on to Cognito's managed
 * login (`/oauth2/authorize`) with the rest. Cognito then signs the user in and redirects to the
 * app's callback itself (the callback URLs are the app client's, as registered).
 *
 * Why: Cognito's custom scopes are always `<resource server>/<name>` and its OIDC scopes are
 * `openid`, `email`, `phone`, `profile`, `aws.cognito.signin.user.admin`, so a SMART app that
 * asks for `fhirUser` or `offline_access` (as `fhirclient` and most SMART apps do) is refused
 * `invalid_scope` at Cognito. The kit grants both by other means (`SmartAppRegistry`):
 * - `fhirUser`: the pre-token trigger puts the `fhirUser` claim into the ID token (and the
 *   access token) whenever the user has one; it needs `openid` for there to be an ID token.
 * - `offline_access`: Cognito issues a refresh token on every code exchange; the app client's
 *   refresh-token validity is the registry's (60 minutes unless the app registered
 *   `offline_access`). A client that did not register it asking for it is refused here
 *   (`invalid_scope`), as Cognito refuses any scope the client is not allowed.
 * - `online_access`: any client may ask for it; a client not registered for `offline_access` holds
 *   refresh tokens of 60 minutes, which is what `online_access` asks for.
 * The token endpoint says what was granted in the token response's `scope` (`granted-scope.ts`).
 *
 * ## What is checked (SMART App Launch 2.2 §Obtain authorization code; RFC 6749 §4.1.1; RFC 7636)
 * In this order, each refusal with its own logged reason and a fixed OAuth error:
 * 1. `GET` only (`authorize-post` is not a capability of the kit): else 405.
 * 2. At most {@link MAX_PARAMETERS} parameters and {@link MAX_QUERY_CHARS} characters in all;
 *    no parameter twice (RFC 6749 §3.1), even with an empty value.
 * 3. `client_id`: present, a Cognito client id, a registered client.
 * 4. `redirect_uri`: present, an absolute URI without fragment, at most 1024 characters
 *    (Cognito's limit for a callback URL). Cognito matches it exactly against the client's
 *    callback URLs: the façade does not know them, so it cannot tell whether it is the
 *    client's, and so it NEVER redirects there: every refusal here is a 400 JSON OAuth error
 *    shown to the user (RFC 6749 §4.1.2.1: no automatic redirect to an unverified URI), and
 *    the only redirect it answers is to Cognito's own endpoint. No open redirect.
 * 5. `response_type=code` (`unsupported_response_type`).
 * 6. `state`: present (the app's CSRF defence; SMART requires it).
 * 7. PKCE: `code_challenge` of an S256 hash (43 base64url characters) and
 *    `code_challenge_method=S256` (`plain` or none: refused). Cognito then checks the verifier
 *    at the code exchange; the token endpoint requires one.
 * 8. `aud`, if given: the FHIR base URL of the request's API version (a trailing `/` aside).
 * 9. `scope`: present; RFC 6749 scope tokens; at most {@link MAX_SCOPES}. `fhirUser` and
 *    `offline_access` are removed (`offline_access` refused for a client not registered for it);
 *    what remains must not be empty (Cognito would grant every scope the client has).
 * Values are visible ASCII (RFC 6749 VSCHAR; no control characters, so nothing can break a
 * header or a URL), each within its length limit.
 *
 * ## What is forwarded
 * Cognito's authorize parameters, in a fixed order, with the values as received (the scope
 * minus the two): {@link FORWARDED_PARAMETERS}, encoded by `URLSearchParams`. `aud` is consumed
 * here (Cognito has no use for it); any other parameter is ignored and not forwarded
 * (RFC 6749 §3.1), e.g. `launch` (EHR launch is not a capability), `request`, `resource`.
 *
 * API Gateway (REST) percent-decodes query values but keeps `+`: in `scope` a `+` is read as the
 * space it encodes (SMART scopes never contain `+`); in other values it is kept as sent.
 */
import { SCOPES_WITHOUT_COGNITO_SCOPE } from '../shared/smart-scopes';

/** Cognito's authorize parameters the façade forwards, in this order. */
export const FORWARDED_PARAMETERS: readonly string[] = Object.freeze([
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
  'nonce',
  'login_hint',
  'prompt',
  'lang',
  'identity_provider',
  'idp_identifier',
]);

/** SMART scopes the façade takes out of the request: granted by the kit, not by a Cognito scope. */
export const SCOPES_GRANTED_BY_THE_KIT: readonly string[] = SCOPES_WITHOUT_COGNITO_SCOPE;

export const MAX_PARAMETERS = 32;
export const MAX_QUERY_CHARS = 8192;
export const MAX_SCOPES = 100;

/** A Cognito app client id (`[\w+]+`, at most 128): the façade's endpoints accept no other. */
export const CLIENT_ID = /^[\w+]{1,128}$/;

/** Visible ASCII without space (RFC 6749 appendix A NQCHAR-like), within `max`. */
const token = (max: number): RegExp => new RegExp(`^[\\x21-\\x7e]{1,${max}}$`);
/** Visible ASCII with space (RFC 6749 appendix A VSCHAR), within `max`. */
const text = (max: number): RegExp => new RegExp(`^[\\x20-\\x7e]{1,${max}}$`);

/** The limit and alphabet of every parameter the façade reads or forwards. */
const VALUE: ReadonlyMap<string, RegExp> = new Map(Object.entries({
  response_type: token(64),
  client_id: CLIENT_ID,
  redirect_uri: token(1024),
  scope: text(4096),
  state: text(1024),
  code_challenge: /^[A-Za-z0-9_-]{43}$/,
  code_challenge_method: token(16),
  nonce: text(512),
  login_hint: text(256),
  prompt: text(64),
  lang: token(16),
  identity_provider: token(128),
  idp_identifier: token(128),
  aud: token(1024),
}));

/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/;

export type AuthorizeErrorCode = 'invalid_request' | 'invalid_scope' | 'unsupported_response_type';

/** The outcome: Cognito's URL to send the browser to, or a refusal (never a redirect). */
export type AuthorizeOutcome =
  | {
      readonly kind: 'redirect';
      readonly location: string;
      readonly clientId: string;
      /** The scopes forwarded to Cognito. */
      readonly forwardedScopes: readonly string[];
      /** `fhirUser` / `offline_access`, as requested and taken out. */
      readonly keptByTheKit: readonly string[];
    }
  | { readonly kind: 'refused'; readonly status: number; readonly error: AuthorizeErrorCode; readonly reason: string };

/** What the endpoint knows: the registry (as the façade's environment gives it) and the URLs. */
export interface AuthorizeContext {
  readonly registered: ReadonlySet<string>;
  /** Clients registered for `offline_access`. */
  readonly offlineAccess: ReadonlySet<string>;
  /** The FHIR base URL of the request's API version, without a trailing `/`. */
  readonly fhirBaseUrl: string;
  /** Cognito's `/oauth2/authorize`, absolute. */
  readonly cognitoAuthorizeUrl: string;
}

/** The query as API Gateway gives it: every value of every parameter. */
export type QueryParameters = ReadonlyArray<readonly [string, readonly string[]]>;

function refused(status: number, error: AuthorizeErrorCode, reason: string): AuthorizeOutcome {
  return { kind: 'refused', status, error, reason };
}

/** Decides an authorization request. Pure: no I/O, the same answer for the same input. */
export function authorizeRequest(method: string | undefined, query: QueryParameters, ctx: AuthorizeContext): AuthorizeOutcome {
  if (method !== 'GET') return refused(405, 'invalid_request', 'method not allowed');

  // --- Shape: bounded, no parameter twice, empty values treated as omitted (RFC 6749 §3.1).
  if (query.length > MAX_PARAMETERS) return refused(400, 'invalid_request', 'too many parameters');
  let chars = 0;
  const params = new Map<string, string>();
  for (const [name, values] of query) {
    chars += name.length;
    for (const v of values) chars += typeof v === 'string' ? v.length : 0;
    if (chars > MAX_QUERY_CHARS) return refused(400, 'invalid_request', 'query too long');
    if (values.length > 1) return refused(400, 'invalid_request', 'repeated parameter');
    const value = values[0];
    if (typeof value === 'string' && value !== '') params.set(name, value);
  }
  for (const [name, value] of params) {
    const pattern = VALUE.get(name);
    if (pattern !== undefined && !pattern.test(value)) return refused(400, 'invalid_request', `malformed or oversized ${name}`);
  }

  // --- Who is asking, and where Cognito will send the answer.
  const clientId = params.get('client_id');
  if (clientId === undefined) return refused(400, 'invalid_request', 'client_id missing');
  if (!ctx.registered.has(clientId)) return refused(400, 'invalid_request', 'client_id is not a registered client');
  const redirectUri = params.get('redirect_uri');
  if (redirectUri === undefined) return refused(400, 'invalid_request', 'redirect_uri missing');
  if (!isAbsoluteUriWithoutFragment(redirectUri)) return refused(400, 'invalid_request', 'redirect_uri is not an absolute URI without fragment');

  // --- What is asked for.
  if (params.get('response_type') !== 'code') return refused(400, 'unsupported_response_type', 'response_type is not code');
  if (!params.has('state')) return refused(400, 'invalid_request', 'state missing');
  if (!params.has('code_challenge')) return refused(400, 'invalid_request', 'PKCE code_challenge missing');
  if (params.get('code_challenge_method') !== 'S256') return refused(400, 'invalid_request', 'PKCE code_challenge_method is not S256');
  const aud = params.get('aud');
  if (aud !== undefined && aud.replace(/\/+$/, '') !== ctx.fhirBaseUrl) return refused(400, 'invalid_request', 'aud is not the FHIR base URL of this API version');

  const scopeText = params.get('scope');
  if (scopeText === undefined) return refused(400, 'invalid_scope', 'scope missing');
  const requested = [...new Set(scopeText.replace(/\+/g, ' ').split(' ').filter((s) => s !== ''))];
  if (requested.length > MAX_SCOPES) return refused(400, 'invalid_scope', 'too many scopes');
  if (!requested.every((s) => SCOPE_TOKEN.test(s))) return refused(400, 'invalid_scope', 'malformed scope');
  if (requested.includes('offline_access') && !ctx.offlineAccess.has(clientId)) {
    return refused(400, 'invalid_scope', 'offline_access for a client not registered for it');
  }
  const forwardedScopes = requested.filter((s) => !SCOPES_GRANTED_BY_THE_KIT.includes(s));
  if (forwardedScopes.length === 0) return refused(400, 'invalid_scope', 'no scope left for Cognito');

  const upstream = new URLSearchParams();
  for (const name of FORWARDED_PARAMETERS) {
    const value = name === 'scope' ? forwardedScopes.join(' ') : params.get(name);
    if (value !== undefined) upstream.set(name, value);
  }
  return {
    kind: 'redirect',
    location: `${ctx.cognitoAuthorizeUrl}?${upstream.toString()}`,
    clientId,
    forwardedScopes,
    keptByTheKit: requested.filter((s) => SCOPES_GRANTED_BY_THE_KIT.includes(s)),
  };
}

function isAbsoluteUriWithoutFragment(value: string): boolean {
  if (value.includes('#')) return false;
  try {
    const url = new URL(value);
    return /^[a-z][a-z0-9+.-]*:$/.test(url.protocol);
  } catch {
    return false;
  }
}

/** The query of an API Gateway proxy event as {@link QueryParameters}: the multi-value map if any, else the single one. */
export function queryOf(event: {
  readonly multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  readonly queryStringParameters?: Record<string, string | undefined> | null;
}): QueryParameters {
  const multi = event.multiValueQueryStringParameters;
  if (multi !== null && multi !== undefined && typeof multi === 'object') {
    return Object.entries(multi).map(([k, v]) => [k, Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []] as const);
  }
  const single = event.queryStringParameters;
  if (single !== null && single !== undefined && typeof single === 'object') {
    return Object.entries(single).map(([k, v]) => [k, typeof v === 'string' ? [v] : []] as const);
  }
  return [];
}
