/**
 * A standalone launch without a browser, for scripts against the sandbox (the bench, the sandbox
 * test, a developer's curl session): the authorization request with PKCE S256 and `login_hint`
 * at the discovery's authorization endpoint (the façade, which sends it on to the Cognito
 * stand-in, which then skips its sign-in page), then the code exchange at the façade's token
 * endpoint. Returns the SMART token response.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface SignInRequest {
  /** The FHIR base (`iss`), whose discovery document names the endpoints. */
  readonly fhirBaseUrl: string;
  readonly clientId: string;
  /** A registered redirect URI of the client (nothing needs to listen there). */
  readonly redirectUri: string;
  /** A synthetic user's username. */
  readonly username: string;
  readonly scope: string;
}

export interface SmartTokenResponse {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in?: number;
  readonly scope: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly patient?: string;
  readonly fhirUser?: string;
}

/**
 * Follows the authorization redirects as a browser would (the façade's endpoint → the Cognito
 * stand-in → the app's callback) until the one to `redirectUri`, which is not fetched.
 */
async function followToCallback(start: URL, redirectUri: string): Promise<URL> {
  let url = start;
  for (let hop = 0; hop < 3; hop++) {
    const res = await fetch(url, { redirect: 'manual' });
    const location = res.headers.get('location');
    await res.body?.cancel();
    if (res.status !== 302 || location === null) throw new Error(`${url.origin}${url.pathname} answered ${res.status}`);
    url = new URL(location, url);
    if (`${url.origin}${url.pathname}` === new URL(redirectUri).href.replace(/[?#].*$/, '')) return url;
  }
  throw new Error('too many redirects before the callback');
}

export async function signIn(request: SignInRequest): Promise<SmartTokenResponse> {
  const discovery = await fetch(`${request.fhirBaseUrl}/.well-known/smart-configuration`);
  if (discovery.status !== 200) throw new Error(`discovery answered ${discovery.status}`);
  const config = (await discovery.json()) as { authorization_endpoint: string; token_endpoint: string };
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const authorize = new URL(config.authorization_endpoint);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    scope: request.scope,
    state,
    aud: request.fhirBaseUrl,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    login_hint: request.username,
  }).toString();
  const back = await followToCallback(authorize, request.redirectUri);
  const code = back.searchParams.get('code');
  if (code === null || back.searchParams.get('state') !== state) throw new Error(`sign-in refused: ${back.searchParams.get('error') ?? 'no code'}`);
  const token = await fetch(config.token_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: request.redirectUri, client_id: request.clientId, code_verifier: verifier }).toString(),
  });
  const body = (await token.json()) as SmartTokenResponse & { error?: string };
  if (token.status !== 200) throw new Error(`the token endpoint answered ${token.status} ${body.error ?? ''}`);
  return body;
}
