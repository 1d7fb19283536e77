/**
 * A real SMART client against the kit: SMART Health IT's `fhirclient` (the library SMART apps
 * use, its Node adapter) performs a standalone launch against the sandbox wiring
 * (`bin/sandbox/sandbox.ts`): the kit's façade, authorizer and proxy behind the one
 * HTTP-to-API-Gateway adapter, the Cognito stand-in running the kit's pre-token trigger, and the
 * SigV4-checking FHIR server with synthetic patients. Everything on 127.0.0.1.
 *
 * The test is the browser: it follows the app's redirect to the façade's authorization endpoint,
 * and from there to the stand-in's sign-in page, signs in as a synthetic patient, and follows the
 * redirect back to the app's callback, where `ready()` exchanges the code with PKCE at the
 * façade's token endpoint. The app asks for `fhirUser` and `offline_access` as SMART apps do: the
 * façade takes them out before Cognito (which has no such scopes and refuses them) and the token
 * response says they were granted, so fhirclient can refresh. The app then reads and searches
 * through the authorizer and the proxy, refreshes its token, and is refused another patient's
 * data, a write outside its granted scopes, and everything once its token is revoked. Every
 * request that reached the proxy left exactly one AuditEvent; the revoked token never reached it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuditEvent, Bundle, Observation, Patient } from 'fhir/r4';
import NodeAdapter from 'fhirclient/lib/adapters/NodeAdapter';
import type Client from 'fhirclient/lib/Client';
import { startSandbox, type Sandbox } from '../../bin/sandbox/sandbox';
import type { AccessLogEntry } from '../../bin/sandbox/gateway';

/**
 * What the app asks for: read and search only, although its registration allows creating
 * Observations; `fhirUser` and `offline_access`, which the kit's app clients have no Cognito
 * scope for: the façade's authorization endpoint takes them out (Cognito itself refuses a request
 * naming them, the last test).
 */
const REQUESTED_SCOPE = 'launch/patient openid fhirUser offline_access patient/Patient.rs patient/Observation.rs patient/Condition.rs';
/** What reaches Cognito. */
const COGNITO_SCOPE = 'launch/patient openid patient/Patient.rs patient/Observation.rs patient/Condition.rs';
const FHIR_ROUTES = new Set(['/r4', '/r4/{proxy+}']);

interface AppServer {
  /** The scope the app's launch asks for. */
  scope: string;
  readonly origin: string;
  readonly redirectUri: string;
  /** The client `ready()` returns at the callback, per launch. */
  nextClient(): Promise<Client>;
  close(): Promise<void>;
}

/** A minimal SMART app on node:http, using fhirclient's Node adapter with an in-memory session. */
async function startApp(iss: () => string, clientId: () => string): Promise<AppServer> {
  const session = new Map<string, unknown>();
  const storage = {
    get: async (key: string) => session.get(key),
    set: async (key: string, value: unknown) => {
      session.set(key, value);
      return value;
    },
    unset: async (key: string) => session.delete(key),
  };
  let waiting: { resolve: (c: Client) => void; reject: (e: unknown) => void } | undefined;
  let app: AppServer | undefined;
  // fhirclient's Node adapter; `refreshTokenWithClientId`: a public client names itself when it
  // refreshes (the façade requires a client identification). Not in NodeAdapterOptions' type.
  const smart = (request: IncomingMessage, response: ServerResponse) =>
    new NodeAdapter({ request, response, storage, refreshTokenWithClientId: true } as ConstructorParameters<typeof NodeAdapter>[0]).getSmartApi();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/launch') {
      smart(req, res)
        .authorize({ iss: iss(), clientId: clientId(), scope: app!.scope, redirectUri: '/callback', pkceMode: 'required' })
        .catch((err: unknown) => {
          res.writeHead(500).end();
          waiting?.reject(err);
        });
    } else if (path === '/callback') {
      smart(req, res)
        .ready()
        .then(
          (client) => {
            res.writeHead(200, { 'Content-Type': 'text/plain' }).end('launched');
            waiting?.resolve(client);
          },
          (err: unknown) => {
            res.writeHead(500).end();
            waiting?.reject(err);
          },
        );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  app = {
    scope: REQUESTED_SCOPE,
    origin,
    redirectUri: `${origin}/callback`,
    nextClient: () => new Promise<Client>((resolve, reject) => (waiting = { resolve, reject })),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return app;
}

/** Status of a rejected fhirclient request (its HttpError), or `ok`. */
async function statusOf(request: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await request;
    return 'ok';
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}

function requestIdOf(event: AuditEvent): string | undefined {
  return event.entity?.find((e) => e.type?.code === 'XrequestId')?.what?.identifier?.value;
}

describe('fhirclient standalone launch against the kit (sandbox wiring, 127.0.0.1)', () => {
  let sandbox: Sandbox;
  let app: AppServer;
  const audits: AuditEvent[] = [];
  const access: AccessLogEntry[] = [];

  beforeAll(async () => {
    app = await startApp(
      () => sandbox.fhirBaseUrl,
      () => sandbox.clientId,
    );
    sandbox = await startSandbox({
      redirectUris: [app.redirectUri],
      authorizerCacheTtlSeconds: 0, // the stack's authorizerCacheTtl: 0 (revocation at once)
      onAudit: (e) => audits.push(e),
      onAccess: (e) => access.push(e),
    });
  });

  afterAll(async () => {
    await sandbox?.close();
    await app?.close();
  });

  /** The app's launch: its redirect to the authorization endpoint, and the façade's on to Cognito. */
  async function startLaunch(): Promise<{ authorizeUrl: URL; cognitoUrl: URL }> {
    const launch = await fetch(`${app.origin}/launch`, { redirect: 'manual' });
    expect(launch.status).toBe(302);
    const authorizeUrl = new URL(launch.headers.get('location')!);
    const sentOn = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(sentOn.status).toBe(302);
    return { authorizeUrl, cognitoUrl: new URL(sentOn.headers.get('location')!) };
  }

  /** Acts as the browser: launch → façade → stand-in sign-in page → sign in → back to the app's callback. */
  async function launchAs(username: string): Promise<{ client: Client; authorizeUrl: URL; cognitoUrl: URL }> {
    const clientReady = app.nextClient();
    const { authorizeUrl, cognitoUrl } = await startLaunch();
    const signInPage = await fetch(cognitoUrl, { redirect: 'manual' });
    expect(signInPage.status).toBe(200);
    const html = await signInPage.text();
    expect(html).toContain('synthetic');
    const requestId = /name="request" value="([^"]+)"/.exec(html)?.[1];
    expect(requestId).toBeDefined();
    const signedIn = await fetch(new URL(/action="([^"]+)"/.exec(html)![1], cognitoUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ request: requestId!, username }).toString(),
      redirect: 'manual',
    });
    expect(signedIn.status).toBe(302);
    const callback = new URL(signedIn.headers.get('location')!);
    expect(callback.origin + callback.pathname).toBe(app.redirectUri);
    expect(callback.searchParams.get('code')).toBeTruthy();
    const landed = await fetch(callback);
    expect(landed.status).toBe(200);
    return { client: await clientReady, authorizeUrl, cognitoUrl };
  }

  test('launch with fhirUser and offline_access, read, search, refresh; refused: another patient, a write outside the scopes, a revoked token; one AuditEvent per proxied request', async () => {
    const [me, other] = sandbox.patientIds;
    const { client, authorizeUrl, cognitoUrl } = await launchAs('aurelia');

    // The launch went where the kit's discovery document said: the façade's authorization
    // endpoint, with PKCE S256 and aud; the façade sent it on to Cognito without the two scopes
    // Cognito cannot have, and without aud.
    const discovery = access.find((e) => e.path === '/r4/.well-known/smart-configuration');
    expect(discovery).toMatchObject({ httpMethod: 'GET', status: 200 });
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${sandbox.authBaseUrl}/authorize`);
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizeUrl.searchParams.get('aud')).toBe(sandbox.fhirBaseUrl);
    expect(authorizeUrl.searchParams.get('scope')).toBe(REQUESTED_SCOPE);
    expect(access.filter((e) => e.path === '/auth/authorize')).toEqual([expect.objectContaining({ httpMethod: 'GET', status: 302, resourcePath: '/auth/authorize' })]);
    expect(`${cognitoUrl.origin}${cognitoUrl.pathname}`).toBe(`${sandbox.cognitoDomainUrl}/oauth2/authorize`);
    expect(cognitoUrl.searchParams.get('scope')).toBe(COGNITO_SCOPE);
    expect(cognitoUrl.searchParams.get('aud')).toBeNull();
    for (const name of ['client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method']) {
      expect(cognitoUrl.searchParams.get(name)).toBe(authorizeUrl.searchParams.get(name));
    }
    // The code was exchanged at the façade (not at the stand-in directly).
    expect(access.filter((e) => e.path === '/auth/token')).toEqual([expect.objectContaining({ httpMethod: 'POST', status: 200 })]);

    // The SMART token response, lifted by the façade from the token the trigger shaped.
    const tokenResponse = client.state.tokenResponse!;
    expect(tokenResponse.patient).toBe(me);
    expect(tokenResponse.need_patient_banner).toBe(true);
    // Granted: what the tokens carry, the two the kit grants included (the fhirUser claim in the
    // ID token; a refresh token of a client registered for offline_access).
    expect(tokenResponse.scope!.split(' ').sort()).toEqual(REQUESTED_SCOPE.split(' ').sort());
    expect(tokenResponse.refresh_token).toBeTruthy();
    expect(client.patient.id).toBe(me);
    expect(client.getFhirUser()).toBe(`Patient/${me}`);
    expect(client.getIdToken()?.fhirUser).toBe(`Patient/${me}`);

    // Read and search through the authorizer and the proxy.
    const patient = (await client.patient.read()) as Patient;
    expect(patient).toMatchObject({ resourceType: 'Patient', id: me });
    expect(patient.name?.[0]?.given?.[0]).toBe('Aurelia512');
    const vitals = (await client.request(`Observation?patient=${me}&category=vital-signs`)) as Bundle<Observation>;
    expect(vitals.resourceType).toBe('Bundle');
    expect(vitals.entry?.length).toBe(4);
    for (const entry of vitals.entry ?? []) expect(entry.resource?.subject?.reference).toBe(`Patient/${me}`);
    expect(JSON.stringify(vitals)).not.toContain(other);
    expect(JSON.stringify(vitals)).not.toContain(sandbox.fhirServer.baseUrl); // links rewritten to the public base
    const conditions = (await client.request(`Condition?patient=${me}`, { flat: true })) as unknown[];
    expect(conditions).toHaveLength(1);

    // Another patient's data: refused, and nothing of it reaches the app.
    expect(await statusOf(client.request(`Patient/${other}`))).toBe(403);
    expect(await statusOf(client.request(`Observation?patient=${other}`))).toBe(403);

    // A write outside the granted scopes (patient/Observation.rs): refused before HealthLake.
    const forwardedBefore = sandbox.fhirServer.requests.length;
    const write = client.create({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${me}` },
      valueQuantity: { value: 70, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    expect(await statusOf(write)).toBe(403);
    expect(sandbox.fhirServer.requests.slice(forwardedBefore).filter((r) => r.method !== 'GET')).toEqual([]);

    // fhirclient refreshes (it would not without offline_access or online_access in the granted
    // scope) at the façade's token endpoint; the new token works and says the same grant.
    const firstAccessToken = tokenResponse.access_token!;
    const refreshToken = tokenResponse.refresh_token!;
    await client.refresh();
    const refreshedResponse = client.state.tokenResponse!;
    expect(refreshedResponse.access_token).not.toBe(firstAccessToken);
    expect(refreshedResponse.scope!.split(' ').sort()).toEqual(REQUESTED_SCOPE.split(' ').sort());
    expect(refreshedResponse.refresh_token).toBe(refreshToken); // Cognito does not rotate it
    expect(access.filter((e) => e.path === '/auth/token').map((e) => e.status)).toEqual([200, 200]);
    expect(((await client.patient.read()) as Patient).id).toBe(me);

    // Revocation at the façade (RFC 7009): refused at once, at the authorizer, before the proxy.
    const accessToken = refreshedResponse.access_token!;
    const revoked = await fetch(`${sandbox.authBaseUrl}/revoke`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: accessToken, client_id: sandbox.clientId }).toString(),
    });
    expect(revoked.status).toBe(200);
    const beforeRevokedRead = sandbox.fhirServer.requests.length;
    expect(await statusOf(client.request(`Patient/${me}`))).toBe(401);
    expect(sandbox.fhirServer.requests.length).toBe(beforeRevokedRead);
    // The sign-in is revoked too: a token refreshed from it (Cognito still mints one) is refused.
    const refreshed = await fetch(`${sandbox.authBaseUrl}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: sandbox.clientId }).toString(),
    });
    expect(refreshed.status).toBe(200);
    const fresh = ((await refreshed.json()) as { access_token: string }).access_token;
    expect(fresh).not.toBe(accessToken);
    const withRefreshed = await fetch(`${sandbox.fhirBaseUrl}/Patient/${me}`, { headers: { Authorization: `Bearer ${fresh}` } });
    expect(withRefreshed.status).toBe(401);
    expect(((await withRefreshed.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    expect(sandbox.fhirServer.requests.length).toBe(beforeRevokedRead);

    // Every request the proxy handled left exactly one AuditEvent (its request id), with the
    // outcome it answered; the requests the gateway refused never reached the proxy.
    const proxied = access.filter((e) => FHIR_ROUTES.has(e.resourcePath) && e.integrationLatency >= 0);
    const refusedAtGateway = access.filter((e) => FHIR_ROUTES.has(e.resourcePath) && e.integrationLatency < 0);
    expect(proxied.map((e) => e.status)).toEqual([200, 200, 200, 403, 403, 403, 200]);
    expect(refusedAtGateway.map((e) => [e.status, e.authorizerError])).toEqual([
      [401, 'Unauthorized'],
      [401, 'Unauthorized'],
    ]);
    expect(audits).toHaveLength(proxied.length);
    for (const entry of proxied) {
      const mine = audits.filter((a) => requestIdOf(a) === entry.requestId);
      expect(mine).toHaveLength(1);
      expect(mine[0].outcome === '0').toBe(entry.status < 400);
    }
    for (const entry of refusedAtGateway) expect(audits.filter((a) => requestIdOf(a) === entry.requestId)).toEqual([]);
  });

  test('another launch (another sign-in) is not affected by the revocation', async () => {
    const { client } = await launchAs('dashawn');
    const [, me] = sandbox.patientIds;
    expect(client.patient.id).toBe(me);
    expect(((await client.patient.read()) as Patient).id).toBe(me);
  });

  test("Cognito's own authorize endpoint (the stand-in) still refuses fhirUser and offline_access (invalid_scope), as deployed", async () => {
    // The kit's app clients have no Cognito scope for these SMART scopes (SmartAppRegistry), and
    // Cognito refuses an authorization request naming a scope the client is not allowed: an app
    // that skips the façade's endpoint is refused them, back at its callback.
    const outcome = app.nextClient().then(
      () => 'launched',
      (err: Error) => err.message,
    );
    const { cognitoUrl } = await startLaunch();
    const direct = new URL(cognitoUrl);
    direct.searchParams.set('scope', REQUESTED_SCOPE);
    const authorize = await fetch(direct, { redirect: 'manual' });
    expect(authorize.status).toBe(302);
    const back = new URL(authorize.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe(app.redirectUri);
    expect(back.searchParams.get('error')).toBe('invalid_scope');
    expect(back.searchParams.get('state')).toBe(cognitoUrl.searchParams.get('state'));
    await fetch(back);
    expect(await outcome).toBe('invalid_scope'); // fhirclient's ready() fails with the error the app was sent back
  });

  test("the façade's endpoint answers its refusals itself (400 JSON), never redirecting: no PKCE, an unregistered client with a foreign callback", async () => {
    const { authorizeUrl } = await startLaunch();
    const noPkce = new URL(authorizeUrl);
    noPkce.searchParams.delete('code_challenge');
    const refused = await fetch(noPkce, { redirect: 'manual' });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('location')).toBeNull();
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_request');
    const stranger = new URL(authorizeUrl);
    stranger.searchParams.set('client_id', 'unregistered0client');
    stranger.searchParams.set('redirect_uri', 'https://evil.example/cb');
    const unknown = await fetch(stranger, { redirect: 'manual' });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('location')).toBeNull();
  });
});
