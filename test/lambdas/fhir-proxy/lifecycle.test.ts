/**
 * API lifecycle through the proxy (a fixed clock): a deprecated version carries `Deprecation`
 * (RFC 9745), `Sunset` (RFC 8594) and `Link rel="deprecation"` on every answer, allowed or
 * refused, and says so in its CapabilityStatement; from the sunset date on, and for a retired
 * version, every request is 410 with an OperationOutcome naming the successor, audited.
 */
import { currentVersion, deprecationHeaders, lifecycleOfStage, lifecycleState, parseApiLifecycle, parseApiVersions, versionedUrl, type ApiLifecycle } from '../../../lambdas/shared/api-lifecycle';
import { createContext } from '../../../lambdas/fhir-proxy/context';
import { PATIENT_A, SEED_IDS } from '../../e2e/fixtures/seed';
import { startHarness, type Harness } from '../../e2e/proxy-harness';

const DEPRECATED: ApiLifecycle = {
  version: 'v1',
  status: 'deprecated',
  deprecatedAt: '2026-06-01',
  sunsetAt: '2027-01-01T00:00:00Z',
  successor: 'v2',
  migrationNotesUrl: 'https://fhir.example.org/docs/migrate-v2',
};

describe('parseApiLifecycle', () => {
  test.each([
    ['not an object', 'v1', /must be an object/],
    ['bad version', { version: 'v 1', status: 'active' }, /version must be/],
    ['bad status', { version: 'v1', status: 'sunset' }, /status must be/],
    ['deprecated without dates', { version: 'v1', status: 'deprecated' }, /needs deprecatedAt and sunsetAt/],
    ['sunset before notice', { version: 'v1', status: 'deprecated', deprecatedAt: '2027-01-01', sunsetAt: '2026-01-01' }, /sunsetAt must be after deprecatedAt/],
    ['malformed date', { version: 'v1', status: 'deprecated', deprecatedAt: '1 June', sunsetAt: '2027-01-01' }, /ISO 8601/],
    ['bad successor', { ...DEPRECATED, successor: 'v2; rm' }, /successor must be/],
    ['http notes', { ...DEPRECATED, migrationNotesUrl: 'http://x.example/notes' }, /absolute https URL/],
  ])('%s is refused with a message that says what to change', (_name, value, message) => {
    expect(() => parseApiLifecycle(value)).toThrow(message);
  });

  test('a valid deprecated version is kept as given', () => {
    expect(parseApiLifecycle(DEPRECATED)).toEqual(DEPRECATED);
  });
});

describe('parseApiVersions (several versions side by side)', () => {
  const V2: ApiLifecycle = { version: 'v2', status: 'active' };
  test.each([
    ['not a list', DEPRECATED, /the versions must be a non-empty list/],
    ['an empty list', [], /versions must be a non-empty list/],
    ['a bad entry, named by its index', [V2, { version: 'v3', status: 'sunset' }], /versions\[1\]: status must be active, deprecated or retired/],
    ['a version listed twice', [V2, { ...V2 }], /version v2 is listed twice/],
    ['a successor that is not listed', [DEPRECATED], /the successor of v1 \(v2\) is not a listed version/],
    ['a retired successor', [DEPRECATED, { version: 'v2', status: 'retired' }, { version: 'v3', status: 'active' }], /the successor of v1 \(v2\) is retired/],
    ['its own successor', [{ ...DEPRECATED, successor: 'v1' }], /v1 names itself as its successor/],
    ['every version retired', [{ version: 'v0', status: 'retired' }], /at least one version must be active or deprecated/],
  ])('%s is refused', (_name, value, message) => {
    expect(() => parseApiVersions(value)).toThrow(message);
  });

  test('a stage picks its version; an unlisted stage is named so; no list means one unnamed active version', () => {
    const versions = parseApiVersions([DEPRECATED, V2]);
    expect(lifecycleOfStage(versions, 'v1')).toEqual(DEPRECATED);
    expect(lifecycleOfStage(versions, 'v2')).toEqual(V2);
    expect(lifecycleOfStage(versions, 'test-invoke-stage')).toBe('unlisted');
    expect(lifecycleOfStage(versions, undefined)).toBe('unlisted');
    expect(lifecycleOfStage(undefined, 'v1')).toBeUndefined();
  });

  test('the current version is the last active one, else the last deprecated one', () => {
    expect(currentVersion([DEPRECATED, V2]).version).toBe('v2');
    expect(currentVersion([V2, { version: 'v3', status: 'active' }, { ...DEPRECATED, version: 'v4', successor: undefined }]).version).toBe('v3');
    expect(currentVersion([{ version: 'v0', status: 'retired' }, { ...DEPRECATED, successor: undefined }]).version).toBe('v1');
  });

  test('versionedUrl replaces every {version}', () => {
    expect(versionedUrl('https://fhir.example.org/{version}/r4', 'v2')).toBe('https://fhir.example.org/v2/r4');
    expect(versionedUrl('https://fhir.example.org/r4', 'v2')).toBe('https://fhir.example.org/r4');
  });
});

describe('the public bases of several versions', () => {
  const options = { fhirBaseUrl: 'https://healthlake.us-east-1.amazonaws.com/datastore/abc/r4/', region: 'us-east-1', validator: false as const, publicBaseUrl: 'https://fhir.example.org/{version}/r4' };
  test('a reference under any version\'s base is local, whichever version the request reached', () => {
    const ctx = createContext({ ...options, apiVersions: [DEPRECATED, { version: 'v2', status: 'active' }] });
    const bases = ctx.forBase(ctx.publicBaseOf({} as never, 'v2')).access.referenceBaseUrls;
    expect(bases).toEqual(expect.arrayContaining(['https://fhir.example.org/v2/r4', 'https://fhir.example.org/v1/r4', 'https://healthlake.us-east-1.amazonaws.com/datastore/abc/r4']));
    expect(ctx.publicBaseOf({} as never, 'v1')).toBe('https://fhir.example.org/v1/r4');
  });
  test('a {version} base without versions is refused at creation', () => {
    expect(() => createContext(options)).toThrow(/publicBaseUrl names \{version\} but no apiVersions are given/);
  });
});

describe('lifecycleState and the headers', () => {
  test('RFC 9745 Deprecation is @epoch-seconds of the notice; RFC 8594 Sunset is an HTTP-date; Link rel=deprecation', () => {
    expect(deprecationHeaders(DEPRECATED)).toEqual({
      Deprecation: `@${Date.parse('2026-06-01') / 1000}`,
      Sunset: 'Fri, 01 Jan 2027 00:00:00 GMT',
      Link: '<https://fhir.example.org/docs/migrate-v2>; rel="deprecation"; type="text/html"',
    });
  });
  test('active before and after; deprecated until the sunset instant, gone from it on; retired is gone', () => {
    expect(lifecycleState(undefined, new Date()).kind).toBe('active');
    expect(lifecycleState({ version: 'v2', status: 'active' }, new Date()).kind).toBe('active');
    expect(lifecycleState(DEPRECATED, new Date('2026-12-31T23:59:59Z')).kind).toBe('deprecated');
    expect(lifecycleState(DEPRECATED, new Date('2027-01-01T00:00:00Z')).kind).toBe('gone');
    const retired = lifecycleState({ version: 'v0', status: 'retired', successor: 'v2' }, new Date('2020-01-01'));
    expect(retired).toMatchObject({ kind: 'gone', message: 'API version v0 has been retired; use API version v2' });
  });
});

describe('through the proxy', () => {
  let now = new Date('2026-12-07T12:00:00Z');
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      apiVersions: [{ version: 'v0', status: 'retired', successor: 'v2' }, DEPRECATED, { version: 'v2', status: 'active' }],
      publicBaseUrl: 'https://fhir.example.org/{version}/r4',
      clock: () => now,
    });
  });
  afterAll(() => h.close());

  test('an allowed read of a deprecated version carries the three headers', async () => {
    now = new Date('2026-12-07T12:00:00Z');
    const r = await h.call({ method: 'GET', path: `Observation/${SEED_IDS.obsALab}` });
    expect(r.status).toBe(200);
    expect(r.headers.Deprecation).toBe(`@${Date.parse('2026-06-01') / 1000}`);
    expect(r.headers.Sunset).toBe('Fri, 01 Jan 2027 00:00:00 GMT');
    expect(r.headers.Link).toContain('rel="deprecation"');
  });

  test('a refused request carries them too', async () => {
    const r = await h.call({ method: 'GET', path: 'Patient/someone-else' });
    expect(r.status).toBe(403);
    expect(r.headers.Sunset).toBe('Fri, 01 Jan 2027 00:00:00 GMT');
  });

  test('the CapabilityStatement says the version is deprecated and when it ends', async () => {
    const r = await h.call({ method: 'GET', path: 'metadata', anonymous: true });
    expect(r.status).toBe(200);
    expect(r.body.description).toMatch(/^API version v1 is deprecated \(announced 2026-06-01\) and ends on 2027-01-01T00:00:00Z; use API version v2/);
    expect(r.body.extension).toContainEqual({ url: expect.stringContaining('api-version-sunset'), valueDateTime: '2027-01-01T00:00:00Z' });
    expect(r.headers.Deprecation).toBeDefined();
  });

  test('from the sunset on, every request is 410 naming the successor, nothing is forwarded, and it is audited', async () => {
    now = new Date('2027-01-01T00:00:00Z');
    const r = await h.call({ method: 'GET', path: `Observation/${SEED_IDS.obsALab}` });
    expect(r.status).toBe(410);
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(r.body.issue[0].diagnostics).toBe('API version v1 has been retired; use API version v2');
    expect(r.forwarded).toEqual([]);
    expect(r.headers.Sunset).toBe('Fri, 01 Jan 2027 00:00:00 GMT');
    expect(r.audits).toHaveLength(1);
    expect(r.audits[0].outcome).not.toBe('0');
    expect(r.text).not.toContain(PATIENT_A);
  });

  test('the successor version, served side by side at the same time, is active: no lifecycle headers, its own base in links', async () => {
    now = new Date('2026-12-07T12:00:00Z');
    const v2 = await h.call({ method: 'GET', path: 'Observation', query: { patient: [PATIENT_A] }, stage: 'v2' });
    expect(v2.status).toBe(200);
    expect(v2.headers.Deprecation).toBeUndefined();
    expect(v2.headers.Sunset).toBeUndefined();
    expect(v2.body.entry.length).toBeGreaterThan(0);
    for (const e of v2.body.entry) expect(e.fullUrl).toMatch(/^https:\/\/fhir\.example\.org\/v2\/r4\//);
    const v1 = await h.call({ method: 'GET', path: 'Observation', query: { patient: [PATIENT_A] }, stage: 'v1' });
    expect(v1.headers.Deprecation).toBeDefined();
    for (const e of v1.body.entry) expect(e.fullUrl).toMatch(/^https:\/\/fhir\.example\.org\/v1\/r4\//);
    const metadata = await h.call({ method: 'GET', path: 'metadata', anonymous: true, stage: 'v2' });
    expect(metadata.body.description ?? '').not.toMatch(/deprecated/);
  });

  test('a retired version still listed answers 410 naming its successor, whatever the date', async () => {
    now = new Date('2026-12-07T12:00:00Z');
    const r = await h.call({ method: 'GET', path: `Observation/${SEED_IDS.obsALab}`, stage: 'v0' });
    expect(r.status).toBe(410);
    expect(r.body.issue[0].diagnostics).toBe('API version v0 has been retired; use API version v2');
    expect(r.forwarded).toEqual([]);
  });

  test('a stage that is not a listed version answers 404, forwards nothing, and is audited', async () => {
    const r = await h.call({ method: 'GET', path: `Observation/${SEED_IDS.obsALab}`, stage: 'test-invoke-stage' });
    expect(r.status).toBe(404);
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(r.forwarded).toEqual([]);
    expect(r.audits).toHaveLength(1);
    expect(r.text).not.toContain(PATIENT_A);
  });
});

describe('the single-version form (lifecycle, deprecated in favour of apiVersions)', () => {
  let now = new Date('2026-12-07T12:00:00Z');
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ lifecycle: DEPRECATED, clock: () => now });
  });
  afterAll(() => h.close());

  test('every request gets the lifecycle, whatever its stage: headers while deprecated, 410 from the sunset', async () => {
    now = new Date('2026-12-07T12:00:00Z');
    for (const stage of ['v1', 'prod']) {
      const r = await h.call({ method: 'GET', path: `Observation/${SEED_IDS.obsALab}`, stage });
      expect([stage, r.status, r.headers.Sunset]).toEqual([stage, 200, 'Fri, 01 Jan 2027 00:00:00 GMT']);
    }
    now = new Date('2027-01-01T00:00:00Z');
    const gone = await h.call({ method: 'GET', path: `Observation/${SEED_IDS.obsALab}` });
    expect(gone.status).toBe(410);
    expect(gone.forwarded).toEqual([]);
  });

  test('lifecycle and apiVersions together are refused', () => {
    expect(() => createContext({ fhirBaseUrl: 'https://healthlake.us-east-1.amazonaws.com/datastore/abc/r4/', region: 'us-east-1', validator: false, lifecycle: DEPRECATED, apiVersions: [{ version: 'v2', status: 'active' }] })).toThrow(
      /give apiVersions or lifecycle, not both/,
    );
  });
});
