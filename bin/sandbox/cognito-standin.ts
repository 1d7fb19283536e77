/**
 * A local stand-in for the kit's Cognito user pool and its managed login, on 127.0.0.1: what the
 * SMART façade calls upstream and what an app's browser is sent to. For the sandbox and the
 * end-to-end tests only; it holds synthetic users and signs with a key made at start.
 *
 * Endpoints (Cognito's paths):
 * - `GET /oauth2/authorize`: the managed login, where the façade's authorization endpoint
 *   (`/auth/authorize`) sends the browser once it has taken out `fhirUser` and `offline_access`;
 *   asked for those directly, it refuses them as Cognito does. Checks what Cognito checks (a
 *   registered client, `response_type=code`, a redirect URI registered for the client, exactly; every requested
 *   scope allowed for the client, else `error=invalid_scope` back to the app; `S256` if a
 *   `code_challenge` is sent — like Cognito it does not require one: the façade requires the
 *   verifier). Then a sign-in page listing the synthetic users (one button each), or straight
 *   back to the app with a code when `login_hint` names one of them.
 * - `POST /login`: the sign-in page's form; redirects to the app with `code` and `state`.
 * - `POST /oauth2/token`: `authorization_code` (single use, 5 minutes, same client and
 *   redirect URI, the PKCE verifier checked against the challenge when there was one),
 *   `refresh_token`, `client_credentials` (confidential clients, Basic). The kit's own
 *   pre-token-generation trigger (`lambdas/smart-launch-context`) decides the claims and the
 *   suppressed scopes, as it does in Cognito. Access tokens are Cognito-shaped (RS256, `kid`,
 *   `iss` of the pool, `token_use: access`, `client_id`, `jti`, `origin_jti`, `scope`, `exp`).
 * - `POST /oauth2/revoke`: revokes a refresh token (and so every token it would mint).
 * - `GET /.well-known/jwks.json`: the public key (the authorizer and the façade are given it as
 *   their JWKS so they never fetch).
 *
 * Errors are Cognito's OAuth JSON errors. Nothing here is a security boundary: it is a stand-in.
 */
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PreTokenGenerationV2TriggerEvent, PreTokenGenerationV3TriggerEvent } from 'aws-lambda';
import { cognitoIssuer, userPoolRegion } from '../../lambdas/shared/cognito-verifier';
import { createLaunchContextHandler, FHIR_USER_ATTRIBUTE, PATIENT_ATTRIBUTE } from '../../lambdas/smart-launch-context/launch-context';

/** A user of the pool: a synthetic person the sign-in page lists. */
export interface StandinUser {
  readonly username: string;
  /** What the sign-in page shows. */
  readonly displayName: string;
  /** `custom:patient`. */
  readonly patient?: string;
  /** `custom:fhirUser`, e.g. `Patient/123`. */
  readonly fhirUser?: string;
  /** Cognito groups (label clearances through the trigger's `groupLabels`). */
  readonly groups?: readonly string[];
}

/** An app client of the pool. */
export interface StandinClient {
  readonly clientId: string;
  /** A confidential client's secret. @default - a public client */
  readonly clientSecret?: string;
  /** Callback URLs, matched exactly. */
  readonly redirectUris: readonly string[];
  /** The scopes the client may request (its `AllowedOAuthScopes`). */
  readonly allowedScopes: readonly string[];
  /** @default 3600 */
  readonly accessTokenValiditySeconds?: number;
  /** @default 30 days */
  readonly refreshTokenValiditySeconds?: number;
}

export interface CognitoStandinOptions {
  /** e.g. `us-east-1_Sandbox01`. */
  readonly userPoolId: string;
  readonly clients: readonly StandinClient[];
  readonly users: readonly StandinUser[];
  /** The trigger's `groupLabels`. @default - none */
  readonly groupLabels?: Readonly<Record<string, readonly string[]>>;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Seconds since the epoch. @default - the system clock */
  readonly now?: () => number;
  /** Called for each sign-in and token issued (no token values). */
  readonly onEvent?: (message: string) => void;
}

export interface CognitoStandin {
  /** `http://127.0.0.1:<port>`: the managed-login domain (the façade's `cognitoDomainUrl`). */
  readonly domainUrl: string;
  readonly userPoolId: string;
  /** `https://cognito-idp.<region>.amazonaws.com/<userPoolId>`. */
  readonly issuer: string;
  /** The JWKS to preload into the authorizer and the façade. */
  readonly jwks: { readonly keys: readonly object[] };
  readonly users: readonly StandinUser[];
  close(): Promise<void>;
}

const CODE_TTL_SECONDS = 300;
const PKCE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

interface PendingAuthorization {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly state?: string;
  readonly codeChallenge?: string;
  readonly expiresAt: number;
}

interface IssuedCode extends PendingAuthorization {
  readonly username: string;
  readonly authTime: number;
}

interface RefreshGrant {
  readonly clientId: string;
  readonly username: string;
  readonly scopes: readonly string[];
  readonly originJti: string;
  readonly authTime: number;
  readonly expiresAt: number;
  revoked: boolean;
}

class OAuthError extends Error {
  constructor(
    public readonly status: number,
    public readonly error: string,
  ) {
    super(error);
  }
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > 64 * 1024) throw new OAuthError(413, 'invalid_request');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isRedirectUri(uri: string): boolean {
  try {
    const u = new URL(uri);
    return u.hash === '' && (u.protocol === 'https:' || (u.protocol === 'http:' && (u.hostname === 'localhost' || u.hostname === '127.0.0.1')));
  } catch {
    return false;
  }
}

/** Starts the stand-in on 127.0.0.1. */
export async function startCognitoStandin(options: CognitoStandinOptions): Promise<CognitoStandin> {
  // The issuer and region the authorizer and the façade verify against: one derivation, theirs.
  const region = userPoolRegion(options.userPoolId);
  const issuer = cognitoIssuer(options.userPoolId);
  const now = options.now ?? ((): number => Math.floor(Date.now() / 1000));
  const clients = new Map(options.clients.map((c) => [c.clientId, c]));
  for (const c of options.clients) {
    for (const uri of c.redirectUris) if (!isRedirectUri(uri)) throw new Error(`client ${c.clientId}: redirect URI ${uri} must be https, or http on localhost/127.0.0.1, without a fragment`);
  }
  const users = new Map(options.users.map((u) => [u.username, u]));
  const trigger = createLaunchContextHandler({ groupLabels: options.groupLabels ?? {} });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `sandbox-${randomUUID().slice(0, 8)}`;
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] };

  const pending = new Map<string, PendingAuthorization>();
  const codes = new Map<string, IssuedCode>();
  const refreshGrants = new Map<string, RefreshGrant>();

  const event = (message: string): void => {
    try {
      options.onEvent?.(message);
    } catch {
      // never changes an answer
    }
  };

  function signJwt(claims: Record<string, unknown>, key: KeyObject = privateKey): string {
    const input = `${b64url(JSON.stringify({ kid, alg: 'RS256' }))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(cryptoSign('sha256', Buffer.from(input), key))}`;
  }

  /** Runs the kit's pre-token trigger for a user sign-in or refresh; returns the token claims and scopes. */
  async function userTokens(client: StandinClient, user: StandinUser, scopes: readonly string[], grant: { originJti: string; authTime: number }, source: string) {
    const attributes: Record<string, string> = { sub: userSub(user) };
    if (user.patient !== undefined) attributes[PATIENT_ATTRIBUTE] = user.patient;
    if (user.fhirUser !== undefined) attributes[FHIR_USER_ATTRIBUTE] = user.fhirUser;
    const triggerEvent = {
      version: '2',
      triggerSource: source,
      region,
      userPoolId: options.userPoolId,
      userName: user.username,
      callerContext: { awsSdkVersion: 'sandbox', clientId: client.clientId },
      request: {
        userAttributes: attributes,
        scopes: [...scopes],
        groupConfiguration: { groupsToOverride: [...(user.groups ?? [])], iamRolesToOverride: [], preferredRole: undefined },
      },
      response: { claimsAndScopeOverrideDetails: null },
    } as unknown as PreTokenGenerationV2TriggerEvent;
    let out: PreTokenGenerationV2TriggerEvent;
    try {
      out = await trigger(triggerEvent);
    } catch {
      throw new OAuthError(400, 'invalid_request'); // Cognito: the trigger refused the sign-in
    }
    const details = out.response.claimsAndScopeOverrideDetails;
    const suppress = new Set(details?.accessTokenGeneration?.scopesToSuppress ?? []);
    const granted = scopes.filter((s) => !suppress.has(s));
    const t = now();
    const exp = t + (client.accessTokenValiditySeconds ?? 3600);
    const access: Record<string, unknown> = {
      sub: userSub(user),
      ...(user.groups && user.groups.length > 0 ? { 'cognito:groups': [...user.groups] } : {}),
      iss: issuer,
      version: 2,
      client_id: client.clientId,
      origin_jti: grant.originJti,
      event_id: randomUUID(),
      token_use: 'access',
      scope: granted.join(' '),
      auth_time: grant.authTime,
      exp,
      iat: t,
      jti: randomUUID(),
      username: user.username,
      ...(details?.accessTokenGeneration?.claimsToAddOrOverride ?? {}),
    };
    const idToken = scopes.includes('openid')
      ? signJwt({
          sub: userSub(user),
          aud: client.clientId,
          iss: issuer,
          token_use: 'id',
          auth_time: grant.authTime,
          exp,
          iat: t,
          jti: randomUUID(),
          origin_jti: grant.originJti,
          'cognito:username': user.username,
          ...(details?.idTokenGeneration?.claimsToAddOrOverride ?? {}),
        })
      : undefined;
    return { accessToken: signJwt(access), idToken, expiresIn: exp - t };
  }

  function userSub(user: StandinUser): string {
    // Stable per username, UUID-shaped like Cognito's.
    const h = createHash('sha256').update(`${options.userPoolId}:${user.username}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  /** The client a token or revoke request authenticates as (Basic, or `client_id` for a public client). */
  function clientOf(req: IncomingMessage, form: URLSearchParams): StandinClient {
    const header = req.headers.authorization;
    let clientId = form.get('client_id') ?? undefined;
    let secret: string | undefined;
    if (header !== undefined) {
      const m = /^Basic\s+(\S+)$/i.exec(header);
      if (!m) throw new OAuthError(400, 'invalid_client');
      const decoded = Buffer.from(m[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new OAuthError(400, 'invalid_client');
      const basicId = decodeURIComponent(decoded.slice(0, colon));
      if (clientId !== undefined && clientId !== basicId) throw new OAuthError(400, 'invalid_client');
      clientId = basicId;
      secret = decodeURIComponent(decoded.slice(colon + 1));
    }
    const client = clientId === undefined ? undefined : clients.get(clientId);
    if (!client) throw new OAuthError(400, 'invalid_client');
    if (client.clientSecret !== undefined && secret !== client.clientSecret) throw new OAuthError(400, 'invalid_client');
    if (client.clientSecret === undefined && secret !== undefined) throw new OAuthError(400, 'invalid_client');
    return client;
  }

  function redirectBack(res: ServerResponse, redirectUri: string, params: Record<string, string | undefined>): void {
    const url = new URL(redirectUri);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
    res.writeHead(302, { Location: url.toString(), 'Cache-Control': 'no-store' });
    res.end();
  }

  function page(res: ServerResponse, status: number, title: string, body: string): void {
    const html = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
    res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Security-Policy': "default-src 'none'; form-action 'self'" });
    res.end(html);
  }

  function issueCode(res: ServerResponse, auth: PendingAuthorization, user: StandinUser): void {
    const code = randomUUID();
    codes.set(code, { ...auth, username: user.username, authTime: now(), expiresAt: now() + CODE_TTL_SECONDS });
    event(`sign-in: ${user.username} → client ${auth.clientId}`);
    redirectBack(res, auth.redirectUri, { code, state: auth.state });
  }

  function authorize(res: ServerResponse, query: URLSearchParams): void {
    const client = clients.get(query.get('client_id') ?? '');
    const redirectUri = query.get('redirect_uri') ?? '';
    // Without a valid client and redirect URI there is nowhere safe to send an error.
    if (!client || !client.redirectUris.includes(redirectUri)) {
      return page(res, 400, 'Sign-in error', '<p>Unknown client or redirect URI (redirect_mismatch).</p>');
    }
    const state = query.get('state') ?? undefined;
    if (query.get('response_type') !== 'code') return redirectBack(res, redirectUri, { error: 'unsupported_response_type', state });
    const scopes = (query.get('scope') ?? '').split(' ').filter((s) => s !== '');
    if (scopes.some((s) => !client.allowedScopes.includes(s))) return redirectBack(res, redirectUri, { error: 'invalid_scope', state });
    const challenge = query.get('code_challenge') ?? undefined;
    if (challenge !== undefined && (query.get('code_challenge_method') ?? 'plain') !== 'S256') {
      return redirectBack(res, redirectUri, { error: 'invalid_request', state });
    }
    const auth: PendingAuthorization = {
      clientId: client.clientId,
      redirectUri,
      scopes: scopes.length > 0 ? scopes : [...client.allowedScopes],
      state,
      codeChallenge: challenge,
      expiresAt: now() + CODE_TTL_SECONDS,
    };
    const hinted = users.get(query.get('login_hint') ?? '');
    if (hinted) return issueCode(res, auth, hinted);
    const id = randomBytes(18).toString('base64url');
    if (pending.size > 1000) pending.clear();
    pending.set(id, auth);
    const buttons = [...users.values()]
      .map((u) => `<li><button type="submit" name="username" value="${escapeHtml(u.username)}">${escapeHtml(u.displayName)}</button></li>`)
      .join('');
    page(
      res,
      200,
      'Sandbox sign-in (synthetic users only)',
      `<p>This is the zero-trust-fhir sandbox's stand-in for Cognito's managed login. Every user is synthetic.</p>` +
        `<form method="post" action="/login"><input type="hidden" name="request" value="${id}"><ul>${buttons}</ul></form>`,
    );
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    const id = form.get('request') ?? '';
    const auth = pending.get(id);
    pending.delete(id);
    const user = users.get(form.get('username') ?? '');
    if (!auth || auth.expiresAt <= now() || !user) return page(res, 400, 'Sign-in error', '<p>The sign-in expired or the user is unknown. Start again from the app.</p>');
    issueCode(res, auth, user);
  }

  async function token(req: IncomingMessage): Promise<Record<string, unknown>> {
    if ((req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() !== 'application/x-www-form-urlencoded') {
      throw new OAuthError(400, 'invalid_request');
    }
    const form = new URLSearchParams(await readBody(req));
    const client = clientOf(req, form);
    switch (form.get('grant_type')) {
      case 'authorization_code': {
        const code = form.get('code') ?? '';
        const issued = codes.get(code);
        codes.delete(code); // single use, whatever happens next
        if (!issued || issued.expiresAt <= now() || issued.clientId !== client.clientId || issued.redirectUri !== form.get('redirect_uri')) {
          throw new OAuthError(400, 'invalid_grant');
        }
        if (issued.codeChallenge !== undefined) {
          const verifier = form.get('code_verifier') ?? '';
          if (!PKCE_VERIFIER.test(verifier) || createHash('sha256').update(verifier).digest('base64url') !== issued.codeChallenge) {
            throw new OAuthError(400, 'invalid_grant');
          }
        }
        const user = users.get(issued.username);
        if (!user) throw new OAuthError(400, 'invalid_grant');
        const originJti = randomUUID();
        const tokens = await userTokens(client, user, issued.scopes, { originJti, authTime: issued.authTime }, 'TokenGeneration_HostedAuth');
        const refreshToken = randomBytes(48).toString('base64url');
        if (refreshGrants.size > 10_000) refreshGrants.clear();
        refreshGrants.set(refreshToken, {
          clientId: client.clientId,
          username: user.username,
          scopes: issued.scopes,
          originJti,
          authTime: issued.authTime,
          expiresAt: now() + (client.refreshTokenValiditySeconds ?? 30 * 86_400),
          revoked: false,
        });
        event(`token: ${user.username} → client ${client.clientId} (authorization_code)`);
        return {
          access_token: tokens.accessToken,
          ...(tokens.idToken ? { id_token: tokens.idToken } : {}),
          refresh_token: refreshToken,
          expires_in: tokens.expiresIn,
          token_type: 'Bearer',
        };
      }
      case 'refresh_token': {
        const grant = refreshGrants.get(form.get('refresh_token') ?? '');
        if (!grant || grant.revoked || grant.expiresAt <= now() || grant.clientId !== client.clientId) throw new OAuthError(400, 'invalid_grant');
        const user = users.get(grant.username);
        if (!user) throw new OAuthError(400, 'invalid_grant');
        const tokens = await userTokens(client, user, grant.scopes, grant, 'TokenGeneration_RefreshTokens');
        event(`token: ${user.username} → client ${client.clientId} (refresh_token)`);
        return { access_token: tokens.accessToken, ...(tokens.idToken ? { id_token: tokens.idToken } : {}), expires_in: tokens.expiresIn, token_type: 'Bearer' };
      }
      case 'client_credentials': {
        if (client.clientSecret === undefined) throw new OAuthError(400, 'unauthorized_client');
        const requested = (form.get('scope') ?? '').split(' ').filter((s) => s !== '');
        if (requested.some((s) => !client.allowedScopes.includes(s))) throw new OAuthError(400, 'invalid_scope');
        const scopes = requested.length > 0 ? requested : [...client.allowedScopes];
        const triggerEvent = {
          version: '3',
          triggerSource: 'TokenGeneration_ClientCredentials',
          region,
          userPoolId: options.userPoolId,
          request: { scopes },
          response: { claimsAndScopeOverrideDetails: null },
        } as unknown as PreTokenGenerationV3TriggerEvent;
        const out = await trigger(triggerEvent);
        const suppress = new Set(out.response.claimsAndScopeOverrideDetails?.accessTokenGeneration?.scopesToSuppress ?? []);
        const t = now();
        const exp = t + (client.accessTokenValiditySeconds ?? 3600);
        const accessToken = signJwt({
          sub: client.clientId,
          iss: issuer,
          version: 2,
          client_id: client.clientId,
          token_use: 'access',
          scope: scopes.filter((s) => !suppress.has(s)).join(' '),
          auth_time: t,
          exp,
          iat: t,
          jti: randomUUID(),
        });
        event(`token: client ${client.clientId} (client_credentials)`);
        return { access_token: accessToken, expires_in: exp - t, token_type: 'Bearer' };
      }
      default:
        throw new OAuthError(400, 'unsupported_grant_type');
    }
  }

  async function revoke(req: IncomingMessage): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    const client = clientOf(req, form);
    const grant = refreshGrants.get(form.get('token') ?? '');
    if (!grant) throw new OAuthError(400, 'invalid_request');
    if (grant.clientId !== client.clientId) throw new OAuthError(400, 'unauthorized_client');
    grant.revoked = true;
    event(`revoke: a refresh token of client ${client.clientId}`);
  }

  function json(res: ServerResponse, status: number, body: unknown): void {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    res.end(text);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const key = `${req.method} ${url.pathname}`;
    try {
      switch (key) {
        case 'GET /oauth2/authorize':
          return authorize(res, url.searchParams);
        case 'POST /login':
          return await login(req, res);
        case 'POST /oauth2/token':
          return json(res, 200, await token(req));
        case 'POST /oauth2/revoke':
          await revoke(req);
          return json(res, 200, undefined);
        case 'GET /.well-known/jwks.json':
          return json(res, 200, jwks);
        default:
          return json(res, 404, { error: 'not_found' });
      }
    } catch (err) {
      if (err instanceof OAuthError) return json(res, err.status, { error: err.error });
      return json(res, 500, { error: 'server_error' });
    }
  }

  const server: Server = createServer((req, res) => void route(req, res));
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    domainUrl: `http://127.0.0.1:${port}`,
    userPoolId: options.userPoolId,
    issuer,
    jwks,
    users: options.users,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
