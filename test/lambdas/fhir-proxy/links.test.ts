import type { APIGatewayProxyEvent } from 'aws-lambda';
import fc from 'fast-check';
import { HealthLakeClient } from '../../../lambdas/fhir-proxy/healthlake-client';
import { LinkRewriter } from '../../../lambdas/fhir-proxy/links';
import { isRequestError, parseFhirRequest } from '../../../lambdas/fhir-proxy/request';
import { startFhirServer } from '../../e2e/fhir-server';

const DATASTORE_HOST = 'healthlake.us-east-1.amazonaws.com';
const DATASTORE_ID = '8d2f0a7e1c3b4f5a9e6d7c8b9a0f1e2d';
const DATASTORE = `https://${DATASTORE_HOST}/datastore/${DATASTORE_ID}/r4/`;
const PUBLIC = 'https://fhir.example.org/r4';
const rewriter = new LinkRewriter({ datastoreBaseUrl: DATASTORE, publicBaseUrl: PUBLIC });

/** The bug this module exists to prevent: any trace of the datastore endpoint in the output. */
function leaks(output: unknown, host = DATASTORE_HOST, id = DATASTORE_ID): boolean {
  const text = JSON.stringify(output).toLowerCase();
  return text.includes(host.toLowerCase()) || text.includes(id.toLowerCase());
}

describe('LinkRewriter', () => {
  test('rewrites paging links, fullUrls, batch locations and OperationOutcome diagnostics', () => {
    const ds = `https://${DATASTORE_HOST}/datastore/${DATASTORE_ID}/r4`;
    const bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      link: [
        { relation: 'self', url: `${ds}/Observation?patient=1&_count=2` },
        { relation: 'next', url: `${ds}/Observation?patient=1&_count=2&page=abc%3D%3D` },
      ],
      entry: [
        { fullUrl: `${ds}/Observation/1`, resource: { resourceType: 'Observation', id: '1', subject: { reference: 'Patient/1' } } },
        { response: { status: '201', location: `${ds}/Patient/9/_history/1` } },
        {
          resource: {
            resourceType: 'OperationOutcome',
            issue: [{ severity: 'error', code: 'processing', diagnostics: `Failed at ${DATASTORE_HOST.toUpperCase()}:443/datastore/${DATASTORE_ID}/r4/x` }],
          },
        },
      ],
    };
    const out = rewriter.rewriteBody(bundle);
    expect(out.link.map((l) => l.url)).toEqual([
      `${PUBLIC}/Observation?patient=1&_count=2`,
      `${PUBLIC}/Observation?patient=1&_count=2&page=abc%3D%3D`,
    ]);
    expect(out.entry[0].fullUrl).toBe(`${PUBLIC}/Observation/1`);
    expect(out.entry[0].resource?.subject).toEqual({ reference: 'Patient/1' });
    expect(out.entry[1].response?.location).toBe(`${PUBLIC}/Patient/9/_history/1`);
    expect(leaks(out)).toBe(false);
    expect(bundle.link[0].url.startsWith(ds)).toBe(true); // input untouched
  });

  test('rewrites Location and Content-Location headers, and leaves other values alone', () => {
    const out = rewriter.rewriteHeaders({
      Location: `${DATASTORE}Patient/1/_history/2`,
      'content-location': `HTTPS://${DATASTORE_HOST.toUpperCase()}/datastore/${DATASTORE_ID}/r4/Patient/1`,
      ETag: 'W/"2"',
    });
    expect(out).toEqual({ Location: `${PUBLIC}/Patient/1/_history/2`, 'content-location': `${PUBLIC}/Patient/1`, ETag: 'W/"2"' });
  });

  test('no trace of the datastore endpoint survives, wherever it appears (property)', () => {
    const forms = fc.constantFrom(
      DATASTORE,
      `https://${DATASTORE_HOST}/datastore/${DATASTORE_ID}/r4`,
      `https://${DATASTORE_HOST.toUpperCase()}:443/datastore/${DATASTORE_ID}/r4/`,
      `http://${DATASTORE_HOST}/datastore/${DATASTORE_ID}/r4/Patient`,
      `HtTpS://HealthLake.US-EAST-1.amazonaws.com/datastore/${DATASTORE_ID}/r4?x`,
      DATASTORE_HOST,
      `/datastore/${DATASTORE_ID}/r4`,
      `datastore/${DATASTORE_ID}/r4/`,
    );
    const leakyString = fc
      .tuple(fc.string({ maxLength: 8 }), forms, fc.string({ maxLength: 8 }), fc.option(forms), fc.string({ maxLength: 8 }))
      .map(([a, f, b, g, c]) => `${a}${f}${b}${g ?? ''}${c}`);
    const leakyJson = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        leakyString,
        fc.string(),
        fc.integer(),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), leakyString), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(leakyJson, fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), leakyString, { maxKeys: 3 }), (body, headers) => {
        expect(leaks(rewriter.rewriteBody(body))).toBe(false);
        expect(leaks(rewriter.rewriteHeaders(headers))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  test('a datastore URL maps to the public URL and back, path and query unchanged (property)', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9\-.]{1,12}$/);
    const query = fc.array(fc.tuple(fc.stringMatching(/^[a-z_][a-z:.-]{0,8}$/), fc.string({ maxLength: 12 })), { maxLength: 4 });
    fc.assert(
      fc.property(fc.array(segment, { minLength: 0, maxLength: 4 }), query, (segments, params) => {
        const qs = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
        const datastoreUrl = `https://${DATASTORE_HOST}/datastore/${DATASTORE_ID}/r4/${segments.join('/')}${qs ? `?${qs}` : ''}`;
        const publicUrl = rewriter.toPublicUrl(datastoreUrl);
        expect(publicUrl).toBe(`${PUBLIC}/${segments.join('/')}${qs ? `?${qs}` : ''}`);
        expect(rewriter.toDatastoreUrl(publicUrl)).toBe(datastoreUrl);
      }),
      { numRuns: 200 },
    );
  });

  test.each([
    'https://evil.example.com/r4/Patient/1',
    'https://fhir.example.org/r4x/Patient/1',
    'https://attacker@fhir.example.org/r4/Patient/1',
    'http://fhir.example.org/r4/Patient/1',
    'Patient/1',
  ])('toDatastoreUrl refuses %s', (url) => {
    expect(rewriter.toDatastoreUrl(url)).toBeUndefined();
  });

  test('writes the public base literally, even with $ patterns in it', () => {
    const odd = new LinkRewriter({ datastoreBaseUrl: DATASTORE, publicBaseUrl: "https://fhir.example.org/a$&b$1$$/r4" });
    const ds = `https://${DATASTORE_HOST}/datastore/${DATASTORE_ID}/r4`;
    expect(odd.rewriteText(`{"url":"${ds}/Patient/1","host":"${DATASTORE_HOST}","id":"${DATASTORE_ID}"}`)).toBe(
      '{"url":"https://fhir.example.org/a$&b$1$$/r4/Patient/1","host":"fhir.example.org","id":"redacted"}',
    );
  });

  test('after the base URLs, still rewrites a host, path or id left elsewhere in the same text', () => {
    const ds = `https://${DATASTORE_HOST}/datastore/${DATASTORE_ID}/r4`;
    const text = `${ds}/Patient/1 then ${DATASTORE_HOST.toUpperCase()} then /datastore/${DATASTORE_ID}/r4/x then ${DATASTORE_ID.toUpperCase()}`;
    const out = rewriter.rewriteText(text);
    expect(out).toBe(`${PUBLIC}/Patient/1 then fhir.example.org then /r4/x then redacted`);
    expect(rewriter.rewriteText(`${ds}/Patient/1 and ${ds}/Patient/2`)).toBe(`${PUBLIC}/Patient/1 and ${PUBLIC}/Patient/2`);
  });

  test('accepts case and default-port variants of the public base', () => {
    expect(rewriter.toDatastoreUrl('HTTPS://FHIR.example.org:443/r4/Patient/1')).toBe(`${DATASTORE}Patient/1`);
    expect(rewriter.publicRelative(`${PUBLIC}/Observation?page=2`)).toBe('Observation?page=2');
    expect(() => new LinkRewriter({ datastoreBaseUrl: 'not a url', publicBaseUrl: PUBLIC })).toThrow();
  });
});

describe('paging through the proxy reaches the same datastore query', () => {
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

  test('next link → public link → API Gateway event → parsed request → same datastore request', async () => {
    const server = await startFhirServer({ credentials, region: 'us-east-1' });
    try {
      const client = new HealthLakeClient({ baseUrl: server.baseUrl, region: 'us-east-1', credentials });
      const links = new LinkRewriter({ datastoreBaseUrl: server.baseUrl, publicBaseUrl: PUBLIC });
      const first = await client.request({
        method: 'GET',
        path: 'Observation',
        query: [
          { name: 'category', value: 'http://terminology.hl7.org/CodeSystem/observation-category|vital-signs,laboratory' },
          { name: '_count', value: '2' },
        ],
      });
      const publicBody = links.rewriteBody(first.body) as { link: { relation: string; url: string }[] };
      const serverHost = new URL(server.baseUrl).host;
      expect(leaks(publicBody, serverHost, 'datastore/')).toBe(false);
      const datastoreNext = (first.body as typeof publicBody).link.find((l) => l.relation === 'next')!.url;
      const publicNext = publicBody.link.find((l) => l.relation === 'next')!.url;
      expect(links.toDatastoreUrl(publicNext)).toBe(datastoreNext);

      // What API Gateway hands the proxy for GET {publicNext}: the decoded path and query.
      const url = new URL(publicNext);
      const multi: Record<string, string[]> = {};
      for (const [k, v] of url.searchParams) (multi[k] ??= []).push(v);
      const event = {
        httpMethod: 'GET',
        pathParameters: { proxy: url.pathname.replace(/^\/r4\//, '') },
        multiValueQueryStringParameters: multi,
        queryStringParameters: null,
        headers: {},
        multiValueHeaders: {},
        body: null,
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEvent;
      const parsed = parseFhirRequest(event);
      if (isRequestError(parsed)) throw new Error(parsed.message);

      const second = await client.request({ method: 'GET', path: parsed.path, query: parsed.params });
      expect(second.status).toBe(200);
      const forwarded = server.requests[server.requests.length - 1];
      const expected = new URL(datastoreNext);
      expect(forwarded.path).toBe('Observation');
      expect(forwarded.query).toEqual([...expected.searchParams]);
      expect((second.body as { entry: unknown[] }).entry).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});
