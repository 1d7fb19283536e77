/**
 * The proxy behind its own routes: the public `GET /r4/metadata` (a route of its own, so API
 * Gateway passes no path parameters) answers the CapabilityStatement; answers to a browser from an
 * allowed origin carry the CORS headers, and nothing else does.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { StdoutAuditSink } from '../../../lambdas/fhir-proxy/audit';
import { createProxy } from '../../../lambdas/fhir-proxy/proxy';

const DATASTORE = 'https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/';
const seen: string[] = [];
const fetchStub = (async (url: string | URL) => {
  seen.push(String(url));
  const body = String(url).endsWith('/metadata') ? { resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1', format: ['json'] } : { resourceType: 'Patient', id: 'pat-a' };
  return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/fhir+json' } });
}) as unknown as typeof fetch;

const proxy = createProxy({
  fhirBaseUrl: DATASTORE,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  fetch: fetchStub,
  publicBaseUrl: 'https://fhir.example.org/r4',
  audit: new StdoutAuditSink(() => undefined),
  validator: false,
  maxRetries: 0,
  allowedOrigins: ['https://portal.example.org'],
});

function event(over: Partial<APIGatewayProxyEvent>): APIGatewayProxyEvent {
  return {
    httpMethod: 'GET', path: '/r4/metadata', resource: '/r4/metadata', pathParameters: null, multiValueQueryStringParameters: null, queryStringParameters: null,
    headers: {}, multiValueHeaders: {}, body: null, isBase64Encoded: false, stageVariables: null,
    requestContext: { requestId: 'r', identity: { sourceIp: '203.0.113.1' } } as unknown as APIGatewayProxyEvent['requestContext'],
    ...over,
  };
}
const CALLER = { sub: 'u', clientId: 'c', scope: 'launch/patient patient/Patient.rs', patient: 'pat-a', fhirUser: 'Patient/pat-a', tier: 'low', jti: 'j', labels: '' };

describe('routes', () => {
  test('GET /r4/metadata (its own route, no path parameters) answers the CapabilityStatement without a token', async () => {
    const r = await proxy(event({}));
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body).resourceType).toBe('CapabilityStatement');
    expect(seen.at(-1)).toMatch(/\/r4\/metadata$/);
  });

  test('the route /r4 itself (no path parameters, not a metadata route) is still system level: 401 without a caller', async () => {
    const r = await proxy(event({ path: '/r4', resource: '/r4' }));
    expect(r.statusCode).toBe(401);
  });
});

describe('CORS on the answers', () => {
  const read = (headers: Record<string, string>) =>
    proxy(event({ path: '/r4/Patient/pat-a', resource: '/r4/{proxy+}', pathParameters: { proxy: 'Patient/pat-a' }, headers, requestContext: { requestId: 'r', identity: { sourceIp: '203.0.113.1' }, authorizer: CALLER } as never }));

  test('an allowed origin gets Access-Control-Allow-Origin with itself, Vary: Origin and the FHIR headers exposed', async () => {
    const r = await read({ Origin: 'https://portal.example.org' });
    expect(r.statusCode).toBe(200);
    expect(r.headers).toMatchObject({ 'Access-Control-Allow-Origin': 'https://portal.example.org', Vary: 'Origin' });
    expect(r.headers?.['Access-Control-Expose-Headers']).toContain('ETag');
  });

  test.each([['another origin', { origin: 'https://evil.example.org' }], ['no origin', {}], ['a prefix of an allowed origin', { Origin: 'https://portal.example.org.evil.example' }]])('%s gets no CORS header', async (_n, headers) => {
    const r = await read(headers as Record<string, string>);
    expect(r.headers?.['Access-Control-Allow-Origin']).toBeUndefined();
  });

  test('a refusal to an allowed origin carries the headers too (the browser can read the OperationOutcome)', async () => {
    const r = await proxy(event({ path: '/r4/Patient/pat-b', resource: '/r4/{proxy+}', pathParameters: { proxy: 'Patient/pat-b' }, headers: { origin: 'https://portal.example.org' }, requestContext: { requestId: 'r', identity: {}, authorizer: CALLER } as never }));
    expect(r.statusCode).toBe(403);
    expect(r.headers?.['Access-Control-Allow-Origin']).toBe('https://portal.example.org');
  });

  test.each(['*', 'http://portal.example.org', 'https://portal.example.org/'])('allowedOrigins %s is refused when the proxy is created', (origin) => {
    expect(() => createProxy({ fhirBaseUrl: DATASTORE, region: 'us-east-1', allowedOrigins: [origin] })).toThrow(/is not an exact https origin/);
  });
});

describe('writes of a known id forward no query', () => {
  const SYSTEM = { sub: 'svc', clientId: 'svc', scope: 'system/Condition.cruds system/Patient.cruds', tier: 'high', jti: 'j2', labels: '' };
  const sys = createProxy({
    fhirBaseUrl: DATASTORE, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    fetch: (async (url: string | URL, init?: RequestInit) => {
      seen.push(`${init?.method ?? 'GET'} ${String(url)}`);
      return new Response(JSON.stringify({ resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/p1' } }), { status: init?.method === 'POST' ? 201 : 200, headers: { 'content-type': 'application/fhir+json' } });
    }) as unknown as typeof fetch,
    publicBaseUrl: 'https://fhir.example.org/r4', audit: new StdoutAuditSink(() => undefined), validator: false, maxRetries: 0, confidentialClientIds: ['svc'],
  });
  const call = (httpMethod: string, proxyPath: string, body?: unknown) =>
    sys(event({ httpMethod, path: `/r4/${proxyPath}`, resource: '/r4/{proxy+}', pathParameters: { proxy: proxyPath }, multiValueQueryStringParameters: { subject: ['Patient/someone'] }, headers: { 'Content-Type': 'application/fhir+json' }, body: body === undefined ? null : JSON.stringify(body), requestContext: { requestId: 'r', identity: {}, authorizer: SYSTEM } as never }));

  test.each([
    ['create', 'POST', 'Condition', { resourceType: 'Condition', subject: { reference: 'Patient/p1' } }],
    ['update', 'PUT', 'Condition/c1', { resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/p1' } }],
    ['delete', 'DELETE', 'Condition/c1', undefined],
  ])('%s: a caller\'s query is not forwarded', async (_name, method, p, body) => {
    seen.length = 0;
    const r = await call(method, p, body);
    expect(r.statusCode).toBeLessThan(300);
    const write = seen.find((s) => s.startsWith(`${method} `));
    expect(write).toBeDefined();
    expect(write).not.toContain('?');
  });
});
