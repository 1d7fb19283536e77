import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HealthLakeClient, HealthLakeError, retryAfterMs, type HealthLakeRequest } from '../../../lambdas/fhir-proxy/healthlake-client';
import { verifySigV4 } from '../../e2e/fhir-server';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const region = 'us-east-1';

type Action = { status: number; headers?: Record<string, string>; body?: unknown; delayMs?: number } | 'destroy';
interface Seen {
  method: string;
  url: string;
  valid: boolean;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A 127.0.0.1 server that verifies SigV4 on every request and answers from a script. */
let server: Server;
let baseUrl: string;
let script: Action[] = [];
let seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const valid = await verifySigV4(
        {
          method: req.method ?? '',
          rawPath: q < 0 ? url : url.slice(0, q),
          rawQuery: q < 0 ? '' : url.slice(q + 1),
          headers: req.headers,
          body,
        },
        { credentials: { ...credentials, sessionToken: req.headers['x-amz-security-token'] as string | undefined }, region },
      );
      seen.push({ method: req.method ?? '', url, valid, body: body.toString('utf8'), headers: req.headers });
      const action = script.shift() ?? { status: 200, body: { resourceType: 'Bundle', type: 'searchset' } };
      if (action === 'destroy') {
        req.socket.destroy();
        return;
      }
      const reply = () => {
        if (res.destroyed) return;
        res.writeHead(valid ? action.status : 403, { 'Content-Type': 'application/fhir+json', ...action.headers });
        res.end(action.body === undefined ? '' : JSON.stringify(action.body));
      };
      if (action.delayMs) setTimeout(reply, action.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/datastore/0123456789abcdef/r4/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  script = [];
  seen = [];
});

const client = (extra: Partial<ConstructorParameters<typeof HealthLakeClient>[0]> = {}) =>
  new HealthLakeClient({ baseUrl, region, credentials, retryBaseDelayMs: 1, maxRetryDelayMs: 2000, ...extra });

describe('SigV4 signing (verified by the server)', () => {
  test.each<[string, HealthLakeRequest]>([
    ['read', { method: 'GET', path: 'Patient/123' }],
    [
      'search with reserved characters and repeated names',
      {
        method: 'GET',
        path: 'Observation',
        query: [
          { name: 'code', value: 'http://loinc.org|8867-4,2345-7' },
          { name: 'subject:Patient.name', value: "O'Brien & Søn (jr)*" },
          { name: 'date', value: 'ge2024-01-01' },
          { name: 'date', value: 'le2024-12-31' },
          { name: '_has:Observation:patient:code', value: 'a b+c' },
        ],
      },
    ],
    ['create with a JSON body', { method: 'POST', path: 'Observation', body: { resourceType: 'Observation', status: 'final' } }],
    [
      'form search',
      { method: 'POST', path: 'Observation/_search', body: 'patient=1&code=a%7Cb', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
    ],
    ['instance operation', { method: 'GET', path: 'Patient/123/$everything' }],
    ['system level', { method: 'GET', path: '', query: [{ name: '_type', value: 'Patient' }] }],
  ])('%s', async (_name, request) => {
    const res = await client().request(request);
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0].valid).toBe(true);
    expect(seen[0].headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/healthlake\/aws4_request, /);
  });

  test('temporary credentials send and sign the session token; a credential provider works', async () => {
    const res = await client({ credentials: async () => ({ ...credentials, sessionToken: 'session-token-value' }) }).request({
      method: 'GET',
      path: 'Patient/1',
    });
    expect(res.status).toBe(200);
    expect(seen[0].valid).toBe(true);
    expect(seen[0].headers['x-amz-security-token']).toBe('session-token-value');
  });

  test.each([
    ['query', (url: string, init: RequestInit) => [`${url}&extra=1`, init] as const],
    ['path', (url: string, init: RequestInit) => [url.replace('Observation', 'Condition'), init] as const],
    ['body', (url: string, init: RequestInit) => [url, { ...init, body: '{"resourceType":"Observation","status":"x"}' }] as const],
    [
      'signed header',
      (url: string, init: RequestInit) => [url, { ...init, headers: { ...(init.headers as object), accept: 'text/html' } }] as const,
    ],
  ])('the verifier rejects a request whose %s was changed after signing', async (_what, tamper) => {
    const tampering: typeof fetch = (input, init) => {
      const [url, changed] = tamper(String(input), init ?? {});
      return fetch(url, changed);
    };
    const res = await client({ fetch: tampering, maxRetries: 0 }).request({
      method: 'POST',
      path: 'Observation',
      query: [{ name: '_pretty', value: 'false' }],
      body: { resourceType: 'Observation', status: 'final' },
    });
    expect(seen[0].valid).toBe(false);
    expect(res.status).toBe(403);
  });
});

describe('retries', () => {
  const unavailable: Action = { status: 503, body: { resourceType: 'OperationOutcome' } };

  test.each<[string, number, HealthLakeRequest]>([
    ['GET', 3, { method: 'GET', path: 'Patient/1' }],
    ['DELETE', 3, { method: 'DELETE', path: 'Patient/1' }],
    ['PUT marked idempotent', 3, { method: 'PUT', path: 'Patient/1', body: { resourceType: 'Patient', id: '1' }, idempotent: true }],
    ['PUT not marked', 1, { method: 'PUT', path: 'Patient/1', body: { resourceType: 'Patient', id: '1' } }],
    ['POST (create)', 1, { method: 'POST', path: 'Patient', body: { resourceType: 'Patient' } }],
    ['POST even if marked', 1, { method: 'POST', path: 'Patient', body: { resourceType: 'Patient' }, idempotent: true }],
    ['PATCH', 1, { method: 'PATCH', path: 'Patient/1', body: [], headers: { 'content-type': 'application/json-patch+json' } }],
  ])('%s on 503: %i attempt(s), then the last response', async (_name, attempts, request) => {
    script = [unavailable, unavailable, unavailable, unavailable];
    const res = await client().request(request);
    expect(res.status).toBe(503);
    expect(seen).toHaveLength(attempts);
    expect(seen.every((s) => s.valid)).toBe(true);
  });

  test('a retried GET succeeds after a 429 and a dropped connection (each attempt re-signed)', async () => {
    script = [{ status: 429 }, 'destroy', { status: 200, body: { resourceType: 'Patient', id: '1' } }];
    const res = await client().request({ method: 'GET', path: 'Patient/1' });
    expect(res).toMatchObject({ status: 200, body: { resourceType: 'Patient', id: '1' } });
    expect(seen).toHaveLength(3);
    expect(seen.every((s) => s.valid)).toBe(true);
  });

  test('4xx other than 429 is never retried; a POST network error is thrown, not retried', async () => {
    script = [{ status: 404 }];
    expect((await client().request({ method: 'GET', path: 'Patient/x' })).status).toBe(404);
    expect(seen).toHaveLength(1);
    seen = [];
    script = ['destroy', { status: 201 }];
    await expect(client().request({ method: 'POST', path: 'Patient', body: { resourceType: 'Patient' } })).rejects.toMatchObject({
      kind: 'network',
      attempts: 1,
    });
    expect(seen).toHaveLength(1);
  });

  test('Retry-After within the cap is honoured; beyond the cap the response is returned at once', async () => {
    script = [{ status: 429, headers: { 'Retry-After': '1' } }, { status: 200 }];
    const started = Date.now();
    expect((await client().request({ method: 'GET', path: 'Patient/1' })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    seen = [];
    script = [{ status: 503, headers: { 'Retry-After': '120' } }, { status: 200 }];
    const quick = Date.now();
    expect((await client().request({ method: 'GET', path: 'Patient/1' })).status).toBe(503);
    expect(seen).toHaveLength(1);
    expect(Date.now() - quick).toBeLessThan(900);
  });

  test('retryAfterMs parses delta-seconds and HTTP dates', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Mon, 01 Jan 2024 00:00:02 GMT', now)).toBe(2000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});

describe('timeouts and safety', () => {
  test('each attempt times out; an idempotent request is retried, then a HealthLakeError without request data', async () => {
    script = [{ status: 200, delayMs: 400 }, { status: 200, delayMs: 400 }];
    const error = await client({ timeoutMs: 100, maxRetries: 1 })
      .request({ method: 'GET', path: 'Patient/secret-id', query: [{ name: 'name', value: 'Smith' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HealthLakeError);
    expect(error).toMatchObject({ kind: 'timeout', attempts: 2 });
    expect(String((error as Error).message)).not.toMatch(/secret-id|Smith|127\.0\.0\.1/);
    expect(seen).toHaveLength(2);
  });

  test('a slow POST times out once and is not retried', async () => {
    script = [{ status: 201, delayMs: 400 }];
    await expect(
      client({ timeoutMs: 100 }).request({ method: 'POST', path: 'Patient', body: { resourceType: 'Patient' } }),
    ).rejects.toMatchObject({ kind: 'timeout', attempts: 1 });
    expect(seen).toHaveLength(1);
  });

  test('refuses non-https endpoints (except loopback) and unsafe paths', async () => {
    expect(() => new HealthLakeClient({ baseUrl: 'http://healthlake.us-east-1.amazonaws.com/datastore/x/r4/', region, credentials })).toThrow(
      /https/,
    );
    await expect(client().request({ method: 'GET', path: 'Patient/../../other' })).rejects.toThrow(/unsafe/);
    await expect(client().request({ method: 'GET', path: 'Patient?x=1' })).rejects.toThrow(/unsafe/);
    expect(seen).toHaveLength(0);
  });
});
