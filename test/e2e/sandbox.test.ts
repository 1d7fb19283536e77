/**
 * `npm run sandbox`: its entry point (`bin/sandbox.ts`, as the npm script runs it, with
 * ts-node) is started as a child process on free ports of 127.0.0.1; the test waits for its
 * banner, reads the SMART configuration, signs in as one synthetic patient (PKCE, through the
 * Cognito stand-in and the façade), is refused another patient's record, sees that refusal
 * printed as an AuditEvent, and stops it. Then: the refusals of a staging or production
 * configuration, from every place the configuration is read; and the one HTTP-to-API-Gateway
 * adapter and the gateway stand-in the sandbox and the end-to-end tests share.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { BANNER_TITLE } from '../../bin/sandbox';
import { createGateway, policyAllows, type RequestAuthorizer } from '../../bin/sandbox/gateway';
import { toAuthorizerEvent, toProxyEvent, type HttpRequest } from '../../bin/sandbox/http-adapter';
import { DEFAULT_AUTHORIZER_CACHE_TTL_SECONDS, DEFAULT_PORT, DEFAULT_REDIRECT_URIS, resolveSandboxConfiguration, SandboxRefused } from '../../bin/sandbox/config';
import { cognitoScopes, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SCOPES } from '../../bin/sandbox/sandbox';
import { SYNTHETIC_USERS } from '../../bin/sandbox/synthetic-data';

const ROOT = path.join(__dirname, '..', '..');
const TS_NODE = require.resolve('ts-node/dist/bin.js');
const REDIRECT_URI = 'http://127.0.0.1:3999/callback';

interface Running {
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything printed so far. */
  output(): string;
  /** Resolves when the output matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function startEntryPoint(args: readonly string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [TS_NODE, '--transpile-only', 'bin/sandbox.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ZERO_TRUST_FHIR_ENVIRONMENT: '', ...env },
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    for (const l of listeners) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = pattern.exec(out);
          if (m) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`));
        }, timeoutMs);
        listeners.add(check);
        void exited.then(() => {
          if (listeners.has(check)) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`exited before ${pattern}; output:\n${out}`));
          }
        });
        check();
      }),
  };
}

describe('npm run sandbox (its entry point, as a child process on 127.0.0.1)', () => {
  let sandbox: Running | undefined;

  afterAll(async () => {
    if (sandbox && sandbox.child.exitCode === null) {
      sandbox.child.kill('SIGKILL');
      await sandbox.exited;
    }
  });

  test('prints its banner, serves discovery, refuses a cross-patient read with an AuditEvent, stops on SIGTERM', async () => {
    sandbox = startEntryPoint(['--port', '0', '--cognito-port', '0', '--redirect-uri', REDIRECT_URI, '--authorizer-cache-ttl', '0']);
    await sandbox.waitFor(new RegExp(`${BANNER_TITLE}[\\s\\S]*Ctrl-C`));
    const banner = sandbox.output();
    expect(banner).toContain('SYNTHETIC DATA ONLY');
    expect(banner).toContain('127.0.0.1 only');
    const fhirBase = /FHIR base URL \(iss\):\s+(\S+)/.exec(banner)![1];
    const clientId = /Sandbox client id:\s+(\S+)/.exec(banner)![1];
    expect(fhirBase).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/r4$/);

    // Discovery, from the façade.
    const discovery = await fetch(`${fhirBase}/.well-known/smart-configuration`);
    expect(discovery.status).toBe(200);
    const config = (await discovery.json()) as { authorization_endpoint: string; token_endpoint: string; code_challenge_methods_supported: string[] };
    expect(config.token_endpoint).toBe(fhirBase.replace(/\/r4$/, '/auth/token'));
    expect(new URL(config.authorization_endpoint).hostname).toBe('127.0.0.1');
    expect(config.code_challenge_methods_supported).toEqual(['S256']);

    // A standalone launch as the first synthetic patient (login_hint skips the sign-in page).
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(config.authorization_endpoint);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      scope: 'launch/patient openid patient/Patient.rs',
      state: 'st-1',
      aud: fhirBase,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      login_hint: 'aurelia',
    }).toString();
    // The façade's authorization endpoint sends the browser on to the Cognito stand-in.
    const sentOn = await fetch(authorize, { redirect: 'manual' });
    expect(sentOn.status).toBe(302);
    const signedIn = await fetch(sentOn.headers.get('location')!, { redirect: 'manual' });
    expect(signedIn.status).toBe(302);
    const callback = new URL(signedIn.headers.get('location')!);
    expect(callback.searchParams.get('state')).toBe('st-1');
    const tokenResponse = await fetch(config.token_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: REDIRECT_URI, client_id: clientId, code_verifier: verifier }).toString(),
    });
    expect(tokenResponse.status).toBe(200);
    const token = (await tokenResponse.json()) as { access_token: string; patient: string };
    expect(token.patient).toBe('synthetic-patient-1');

    // The patient's own record, then another patient's: refused, and the refusal audited.
    const own = await fetch(`${fhirBase}/Patient/synthetic-patient-1`, { headers: { Authorization: `Bearer ${token.access_token}` } });
    expect(own.status).toBe(200);
    const other = await fetch(`${fhirBase}/Patient/synthetic-patient-2`, { headers: { Authorization: `Bearer ${token.access_token}` } });
    expect(other.status).toBe(403);
    const outcome = (await other.json()) as { resourceType: string };
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(outcome)).not.toContain('Dashawn301');
    await sandbox.waitFor(/\[audit\] \S+ R read Patient\/synthetic-patient-1 patient=Patient\/synthetic-patient-1 client=\S+ allowed/, 10_000);
    await sandbox.waitFor(/\[audit\] \S+ R read Patient\/synthetic-patient-2 patient=Patient\/synthetic-patient-2 client=\S+ REFUSED \(Access to another patient is not allowed\)/, 10_000);

    // Stops cleanly.
    sandbox.child.kill('SIGTERM');
    expect(await sandbox.exited).toBe(0);
    expect(sandbox.output()).toContain('Stopping the sandbox.');
  });

  test('refuses to start with a production configuration (exit 2, a message saying why)', async () => {
    const refused = startEntryPoint(['--port', '0'], { ZERO_TRUST_FHIR_ENVIRONMENT: 'production' });
    expect(await refused.exited).toBe(2);
    expect(refused.output()).toMatch(/refuses to start: ZERO_TRUST_FHIR_ENVIRONMENT is "production"/);
    expect(refused.output()).not.toContain(BANNER_TITLE);
  });
});

test("the README's section for app teams states the sandbox's actual settings", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## For SMART app teams'));
  expect(section).toContain(`\`http://127.0.0.1:${DEFAULT_PORT}/r4\``);
  expect(section).toContain(`\`${SANDBOX_CLIENT_ID}\``);
  expect(section).toContain(`\`${cognitoScopes(SANDBOX_CLIENT_SCOPES).join(' ')}\``);
  for (const uri of DEFAULT_REDIRECT_URIS.filter((u) => u.includes('localhost'))) expect(section).toContain(`\`${uri}\``);
  for (const user of SYNTHETIC_USERS) expect(section).toContain(`\`${user.username}\``);
});

describe('the sandbox configuration', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zt-sandbox-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function cdkJson(context: Record<string, unknown>): string {
    const file = path.join(dir, `cdk-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify({ app: 'x', context }));
    return file;
  }

  test("the repository's cdk.json is a sandbox configuration; defaults as the reference app", () => {
    const config = resolveSandboxConfiguration([], {});
    expect(config.environmentSources).toEqual([expect.stringContaining('zeroTrustFhir.environment')]);
    expect(config.authorizerCacheTtlSeconds).toBe(DEFAULT_AUTHORIZER_CACHE_TTL_SECONDS);
    expect(config.port).toBe(8787);
  });

  test.each([
    ['the object form in cdk.json', { zeroTrustFhir: { environment: 'production' } }, [] as string[], {}],
    ['the object as JSON text in cdk.json', { zeroTrustFhir: '{"environment":"staging"}' }, [], {}],
    ['the colon form in cdk.json', { zeroTrustFhir: { environment: 'sandbox' }, 'zeroTrustFhir:environment': 'staging' }, [], {}],
    ['-c zeroTrustFhir:environment', { zeroTrustFhir: { environment: 'sandbox' } }, ['-c', 'zeroTrustFhir:environment=production'], {}],
    ['--environment', {}, ['--environment', 'staging'], {}],
    ['the environment variable', {}, [], { ZERO_TRUST_FHIR_ENVIRONMENT: 'staging' }],
    ['a production cdk.json even with --environment sandbox (no flag overrides it)', { zeroTrustFhir: { environment: 'production' } }, ['--environment', 'sandbox'], {}],
    ['an unknown environment', { zeroTrustFhir: { environment: 'dev' } }, [], {}],
  ])('refuses %s', (_label, context, args, env) => {
    const file = cdkJson(context);
    expect(() => resolveSandboxConfiguration(['--cdk-json', file, ...args], env)).toThrow(SandboxRefused);
    expect(() => resolveSandboxConfiguration(['--cdk-json', file, ...args], env)).toThrow(/refuses to start: .*(production|staging|dev)/);
  });

  test('reads authorizerCacheTtlSeconds from the configuration, and the flag wins', () => {
    const file = cdkJson({ zeroTrustFhir: { environment: 'sandbox', authorizerCacheTtlSeconds: 30 } });
    expect(resolveSandboxConfiguration(['--cdk-json', file], {}).authorizerCacheTtlSeconds).toBe(30);
    expect(resolveSandboxConfiguration(['--cdk-json', file, '--authorizer-cache-ttl', '0'], {}).authorizerCacheTtlSeconds).toBe(0);
    expect(() => resolveSandboxConfiguration(['--cdk-json', file, '--authorizer-cache-ttl', '301'], {})).toThrow(SandboxRefused);
  });

  test('rejects unknown options and malformed ports', () => {
    expect(() => resolveSandboxConfiguration(['--host', '0.0.0.0'], {})).toThrow(/Unknown option/);
    expect(() => resolveSandboxConfiguration(['--port', 'http'], {})).toThrow(/port number/);
  });
});

describe('the HTTP-to-API-Gateway adapter and the gateway stand-in', () => {
  const api = { domainName: '127.0.0.1:8787' };
  const raw = (method: string, url: string, headers: string[] = [], body = ''): HttpRequest => ({ method, url, rawHeaders: headers, body: Buffer.from(body) });

  test('an HTTP request becomes the Lambda proxy event API Gateway would send', () => {
    const event = toProxyEvent(
      raw('POST', '/r4/Observation/_search?code=a%2Cb&code=c&empty=&plus=a+b', ['Authorization', 'Bearer t', 'Accept', 'a', 'accept', 'b', 'Accept', 'c'], 'patient=p1'),
      { resource: '/r4/{proxy+}', pathParameters: { proxy: 'Observation/_search' } },
      api,
      { requestId: 'req-1', authorizer: { clientId: 'c1' } },
    );
    expect(event).toMatchObject({
      httpMethod: 'POST',
      path: '/r4/Observation/_search',
      resource: '/r4/{proxy+}',
      pathParameters: { proxy: 'Observation/_search' },
      multiValueQueryStringParameters: { code: ['a,b', 'c'], empty: [''], plus: ['a+b'] },
      queryStringParameters: { code: 'c', empty: '', plus: 'a+b' },
      headers: { Authorization: 'Bearer t', Accept: 'c', accept: 'b' },
      multiValueHeaders: { Authorization: ['Bearer t'], Accept: ['a', 'c'], accept: ['b'] },
      body: 'patient=p1',
      isBase64Encoded: false,
      requestContext: { requestId: 'req-1', domainName: '127.0.0.1:8787', stage: 'v1', resourcePath: '/r4/{proxy+}', authorizer: { clientId: 'c1' } },
    });
    const bare = toProxyEvent(raw('GET', '/r4/metadata'), { resource: '/r4/metadata', pathParameters: null }, api);
    expect(bare).toMatchObject({ queryStringParameters: null, multiValueQueryStringParameters: null, body: null, pathParameters: null });
    expect(toAuthorizerEvent(event, api)).toMatchObject({
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:us-east-1:000000000000:sandbox/v1/POST/r4/Observation/_search',
      headers: event.headers,
      multiValueQueryStringParameters: event.multiValueQueryStringParameters,
    });
  });

  function gatewayWith(authorizer: RequestAuthorizer, ttl = 0) {
    const calls: Array<{ route: string; event: APIGatewayProxyEvent }> = [];
    let authorizerCalls = 0;
    let clock = 1_000_000;
    const handler = (route: string) => async (event: APIGatewayProxyEvent) => {
      calls.push({ route, event });
      return { statusCode: 200, body: route };
    };
    const gateway = createGateway({
      api,
      authorizerCacheTtlSeconds: ttl,
      now: () => clock,
      authorizer: async (e) => {
        authorizerCalls += 1;
        return authorizer(e);
      },
      routes: [
        { method: 'ANY', resource: '/r4', handler: handler('system'), authorized: true },
        { method: 'ANY', resource: '/r4/{proxy+}', handler: handler('proxy'), authorized: true },
        { method: 'GET', resource: '/r4/metadata', handler: handler('metadata'), authorized: false },
        { method: 'GET', resource: '/r4/.well-known/smart-configuration', handler: handler('discovery'), authorized: false },
      ],
    });
    return { gateway, calls, authorizerCalls: () => authorizerCalls, tick: (ms: number) => (clock += ms) };
  }

  const allow: RequestAuthorizer = async (e) => ({
    principalId: 'user-1',
    policyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: e.methodArn.replace(/\/v1\/.*/, '/v1/*/*') }] },
    context: { clientId: 'c1', patient: 'p1' },
  });
  const auth = ['Authorization', 'Bearer t'];

  test('routes as API Gateway: exact resources first, the greedy one decoded, unknown methods and paths refused', async () => {
    const { gateway, calls, authorizerCalls } = gatewayWith(allow);
    expect((await gateway.invoke(raw('GET', '/r4/metadata'))).body).toBe('metadata');
    expect(calls[0].event).toMatchObject({ resource: '/r4/metadata', pathParameters: null });
    expect(authorizerCalls()).toBe(0);
    expect((await gateway.invoke(raw('GET', '/r4/Patient/a%20b/_history', auth))).body).toBe('proxy');
    expect(calls[1].event).toMatchObject({ pathParameters: { proxy: 'Patient/a b/_history' }, requestContext: { authorizer: { principalId: 'user-1', clientId: 'c1', patient: 'p1' } } });
    expect((await gateway.invoke(raw('POST', '/r4', auth))).body).toBe('system');
    expect((await gateway.invoke(raw('POST', '/r4/.well-known/smart-configuration', auth))).statusCode).toBe(403);
    expect((await gateway.invoke(raw('GET', '/other', auth))).statusCode).toBe(403);
  });

  test('the authorizer: no header, Unauthorized, a failure, a Deny policy; the proxy is never called', async () => {
    const cases: Array<[RequestAuthorizer, string[], number]> = [
      [allow, [], 401],
      [async () => Promise.reject(new Error('Unauthorized')), auth, 401],
      [async () => Promise.reject(new Error('boom')), auth, 500],
      [async (e) => ({ principalId: 'u', policyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'execute-api:Invoke', Resource: e.methodArn }] } }), auth, 403],
    ];
    for (const [authorizer, headers, status] of cases) {
      const { gateway, calls } = gatewayWith(authorizer);
      const result = await gateway.invoke(raw('GET', '/r4/Patient/p1', headers));
      expect(result.statusCode).toBe(status);
      expect(JSON.parse(result.body)).toMatchObject({ resourceType: 'OperationOutcome' });
      expect(calls).toEqual([]);
    }
  });

  test('the authorizer cache: within the TTL the cached result is used (a revoked token keeps working), after it the authorizer runs again', async () => {
    let revoked = false;
    const { gateway, authorizerCalls, tick } = gatewayWith(async (e) => (revoked ? Promise.reject(new Error('Unauthorized')) : allow(e)), 60);
    expect((await gateway.invoke(raw('GET', '/r4/Patient/p1', auth))).statusCode).toBe(200);
    revoked = true;
    tick(59_000);
    expect((await gateway.invoke(raw('GET', '/r4/Observation', auth))).statusCode).toBe(200);
    expect(authorizerCalls()).toBe(1);
    tick(1_000);
    expect((await gateway.invoke(raw('GET', '/r4/Patient/p1', auth))).statusCode).toBe(401);
    expect(authorizerCalls()).toBe(2);
  });

  test('policies: Allow on the whole API matches every method ARN; a Deny wins', () => {
    const arn = 'arn:aws:execute-api:us-east-1:000000000000:sandbox/v1/GET/r4/Patient/p1';
    const doc = (Statement: unknown[]) => ({ principalId: 'u', policyDocument: { Version: '2012-10-17', Statement } }) as never;
    expect(policyAllows(doc([{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: 'arn:aws:execute-api:us-east-1:000000000000:sandbox/v1/*/*' }]), arn)).toBe(true);
    expect(policyAllows(doc([{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: 'arn:aws:execute-api:us-east-1:000000000000:other/v1/*/*' }]), arn)).toBe(false);
    expect(policyAllows(doc([{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: '*' }, { Effect: 'Deny', Action: 'execute-api:Invoke', Resource: arn }]), arn)).toBe(false);
  });
});
