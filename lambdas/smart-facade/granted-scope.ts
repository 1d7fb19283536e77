/**
 * The `scope` of the SMART token response: what the app actually got (SMART App Launch 2.2
 * §Response: "scope: Scope of access authorized. Note that this can be different from the scopes
 * requested by the app"; RFC 6749 §3.3).
 *
 * ## How the token endpoint knows what was granted (a decision)
 * The token endpoint does not see the authorization request, and nothing of it reaches Cognito's
 * token response: Cognito has no scope for `fhirUser` or `offline_access`, the authorization
 * endpoint removes them (`authorize.ts`), and the façade keeps no state between the two
 * requests (no table, and `state` is the app's, not ours to carry data in). So the granted scope
 * is **what the tokens carry**, never what was asked:
 * - the Cognito scopes of the verified access token (the pre-token trigger has already removed
 *   those the user may not hold), minus any `fhirUser`/`offline_access` text, which a Cognito
 *   token can never legitimately hold;
 * - `fhirUser` when the ID token returned carries a well-formed `fhirUser` claim for this
 *   client: that claim is exactly what the `fhirUser` scope asks for (an app that asked only
 *   for `openid` is told it got `fhirUser` too: it did, the claim is in its ID token);
 * - `offline_access` when the client is registered for it (its refresh tokens last as the
 *   registry says, not 60 minutes) and the app holds a refresh token: one was returned, or
 *   this is a refresh (Cognito does not rotate it, the app keeps using the one it has).
 *   A client not registered for it gets refresh tokens of 60 minutes: `online_access` (SMART's
 *   "refresh while the user is online"), so a SMART client library refreshes within that hour.
 * `openid` and every other scope pass unchanged, in Cognito's order; the two follow at the end.
 *
 * The ID token is read, not verified: it arrived in the same TLS response from Cognito as the
 * access token verified just before, and it decides only whether `scope` names `fhirUser`, never
 * a claim value (the top-level `fhirUser` comes from the verified access token) nor an access
 * decision. Its `iss`, `aud` and `token_use` must still be this pool's ID token for this client.
 */
import { isObject } from '../shared/json';
import { SCOPES_GRANTED_BY_THE_KIT } from './authorize';

/** SMART scopes that no Cognito token holds: stated by the façade from what the tokens carry. */
const STATED_BY_THE_FACADE: ReadonlySet<string> = new Set(SCOPES_GRANTED_BY_THE_KIT);
/** A relative reference such as `Patient/123` or an absolute one (the trigger checks the attribute). */
const REFERENCE = /^[\x21-\x7e]{1,1024}$/;
const MAX_ID_TOKEN_CHARS = 16 * 1024;

export interface GrantedScopeInput {
  /** The verified access token's `scope` claim. */
  readonly accessTokenScope: unknown;
  /** The ID token Cognito returned, if any. */
  readonly idToken: unknown;
  /** The client the tokens were issued to. */
  readonly clientId: string;
  /** The pool's issuer (`https://cognito-idp.<region>.amazonaws.com/<pool>`). */
  readonly issuer: string;
  /** The app holds a refresh token after this response (one returned, or a refresh grant). */
  readonly holdsRefreshToken: boolean;
  /** The client is registered for `offline_access`. */
  readonly offlineAccess: boolean;
}

/** The token response's `scope`. */
export function grantedScope(input: GrantedScopeInput): string {
  const cognito = typeof input.accessTokenScope === 'string' ? input.accessTokenScope.split(' ').filter((s) => s !== '' && !STATED_BY_THE_FACADE.has(s)) : [];
  const granted = [...new Set(cognito)];
  if (idTokenCarriesFhirUser(input.idToken, input.clientId, input.issuer)) granted.push('fhirUser');
  if (input.holdsRefreshToken) granted.push(input.offlineAccess ? 'offline_access' : 'online_access');
  return granted.join(' ');
}

/** Whether `idToken` is this pool's ID token for `clientId` and carries a `fhirUser` claim. */
export function idTokenCarriesFhirUser(idToken: unknown, clientId: string, issuer: string): boolean {
  if (typeof idToken !== 'string' || idToken.length > MAX_ID_TOKEN_CHARS) return false;
  const parts = idToken.split('.');
  if (parts.length !== 3 || !/^[A-Za-z0-9_-]+$/.test(parts[1])) return false;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return false;
  }
  if (!isObject(claims)) return false;
  const aud = claims.aud;
  const forClient = aud === clientId || (Array.isArray(aud) && aud.includes(clientId));
  return claims.iss === issuer && claims.token_use === 'id' && forClient && typeof claims.fhirUser === 'string' && REFERENCE.test(claims.fhirUser);
}
