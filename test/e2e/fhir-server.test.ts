import { HealthLakeClient } from '../../lambdas/fhir-proxy/healthlake-client';
import { startFhirServer, type FhirServer } from './fhir-server';
import { PATIENT_A, PATIENT_B, SEED_IDS } from './fixtures/seed';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const region = 'us-east-1';

type Bundle = { type: string; total?: number; link?: { relation: string; url: string }[]; entry?: any[] };
const ids = (b: unknown) => ((b as Bundle).entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);

describe('local FHIR server (HealthLake stand-in)', () => {
  let server: FhirServer;
  let client: HealthLakeClient;

  beforeAll(async () => {
    server = await startFhirServer({ credentials, region });
    client = new HealthLakeClient({ baseUrl: server.baseUrl, region, credentials, maxRetries: 0 });
  });
  afterAll(() => server.close());

  test('rejects unsigned and wrongly signed requests with 403, and records them', async () => {
    const unsigned = await fetch(`${server.baseUrl}Patient/${PATIENT_A}`);
    expect(unsigned.status).toBe(403);
    const wrong = new HealthLakeClient({
      baseUrl: server.baseUrl,
      region,
      credentials: { ...credentials, secretAccessKey: 'not-the-secret' },
      maxRetries: 0,
    });
    expect((await wrong.request({ method: 'GET', path: `Patient/${PATIENT_A}` })).status).toBe(403);
    const wrongRegion = new HealthLakeClient({ baseUrl: server.baseUrl, region: 'eu-west-1', credentials, maxRetries: 0 });
    expect((await wrongRegion.request({ method: 'GET', path: 'metadata' })).status).toBe(403);
    expect(server.requests.slice(-3).map((r) => r.signatureValid)).toEqual([false, false, false]);
  });

  test('metadata, read, vread, history with versions, deleted resources', async () => {
    expect((await client.request({ method: 'GET', path: 'metadata' })).body).toMatchObject({
      resourceType: 'CapabilityStatement',
      fhirVersion: '4.0.1',
    });
    const patient = await client.request({ method: 'GET', path: `Patient/${PATIENT_A}` });
    expect(patient.status).toBe(200);
    expect(patient.headers.etag).toBe('W/"2"');
    const v1 = await client.request({ method: 'GET', path: `Patient/${PATIENT_A}/_history/1` });
    expect((v1.body as any).telecom).toBeUndefined();

    const moved = await client.request({ method: 'GET', path: `Observation/${SEED_IDS.obsMoved}/_history` });
    const subjects = (moved.body as Bundle).entry!.map((e) => e.resource.subject.reference);
    expect(subjects).toEqual([`Patient/${PATIENT_B}`, `Patient/${PATIENT_A}`]);

    expect((await client.request({ method: 'GET', path: `Observation/${SEED_IDS.obsDeleted}` })).status).toBe(410);
    const typeHistory = await client.request({ method: 'GET', path: 'Observation/_history' });
    expect((typeHistory.body as Bundle).entry!.some((e) => e.request.method === 'DELETE')).toBe(true);
  });

  test('search by patient, category, code, _id; _include and _revinclude', async () => {
    const vitals = await client.request({
      method: 'GET',
      path: 'Observation',
      query: [
        { name: 'patient', value: PATIENT_A },
        { name: 'category', value: 'vital-signs' },
      ],
    });
    expect(ids(vitals.body)).toEqual([`Observation/${SEED_IDS.obsAVitals}`]);

    const labB = await client.request({
      method: 'GET',
      path: 'Observation',
      query: [
        { name: 'subject', value: `Patient/${PATIENT_B}` },
        { name: 'code', value: 'http://loinc.org|2345-7' },
        { name: '_include', value: 'Observation:subject' },
      ],
    });
    expect(ids(labB.body)).toEqual([`Observation/${SEED_IDS.obsBLab}`, `Patient/${PATIENT_B}`]);

    const rev = await client.request({
      method: 'GET',
      path: 'Patient',
      query: [
        { name: '_id', value: PATIENT_A },
        { name: '_revinclude', value: 'Encounter:patient' },
      ],
    });
    expect(ids(rev.body)).toEqual([`Patient/${PATIENT_A}`, `Encounter/${SEED_IDS.encA}`]);

    const form = await client.request({
      method: 'POST',
      path: 'Condition/_search',
      body: `patient=${PATIENT_B}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(ids(form.body)).toEqual([`Condition/${SEED_IDS.condB}`]);
    expect(server.requests[server.requests.length - 1].query).toEqual([['patient', PATIENT_B]]);
  });

  test('_count paging: next links use the server base URL and lead to the next page', async () => {
    const seen: string[] = [];
    let next: string | undefined;
    let res = await client.request({ method: 'GET', path: 'Observation', query: [{ name: '_count', value: '2' }] });
    for (;;) {
      const body = res.body as Bundle;
      seen.push(...ids(body));
      next = body.link?.find((l) => l.relation === 'next')?.url;
      if (!next) break;
      expect(next.startsWith(server.baseUrl)).toBe(true);
      const url = new URL(next);
      res = await client.request({
        method: 'GET',
        path: url.pathname.slice(new URL(server.baseUrl).pathname.length),
        query: [...url.searchParams].map(([name, value]) => ({ name, value })),
      });
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });

  test('create, update, delete, conditional create; transaction resolves urn:uuid and rolls back on failure', async () => {
    const created = await client.request({
      method: 'POST',
      path: 'Observation',
      body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${PATIENT_A}` } },
    });
    expect(created.status).toBe(201);
    expect(created.headers.location).toMatch(new RegExp(`^${server.baseUrl}Observation/[0-9a-f-]+/_history/1$`));
    const id = (created.body as any).id as string;
    const updated = await client.request({
      method: 'PUT',
      path: `Observation/${id}`,
      body: { ...(created.body as object), status: 'amended' },
      headers: { 'If-Match': 'W/"1"' },
    });
    expect(updated.headers.etag).toBe('W/"2"');
    expect((await client.request({ method: 'DELETE', path: `Observation/${id}` })).status).toBe(204);

    const again = await client.request({
      method: 'POST',
      path: 'Patient',
      body: { resourceType: 'Patient' },
      headers: { 'If-None-Exist': `_id=${PATIENT_A}` },
    });
    expect(again.status).toBe(200);

    const tx = await client.request({
      method: 'POST',
      path: '',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:0b7d1c3e-0000-4000-8000-000000000001', resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
          {
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'y' },
              subject: { reference: 'urn:uuid:0b7d1c3e-0000-4000-8000-000000000001' },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      },
    });
    expect(tx.status).toBe(200);
    const [patientEntry, obsEntry] = (tx.body as Bundle).entry!;
    expect(obsEntry.resource.subject.reference).toBe(`Patient/${patientEntry.resource.id}`);

    const before = await client.request({ method: 'GET', path: 'Condition' });
    const failed = await client.request({
      method: 'POST',
      path: '',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Condition', subject: { reference: `Patient/${PATIENT_A}` } }, request: { method: 'POST', url: 'Condition' } },
          { request: { method: 'GET', url: 'Condition/does-not-exist' } },
        ],
      },
    });
    expect(failed.status).toBe(400);
    const after = await client.request({ method: 'GET', path: 'Condition' });
    expect((after.body as Bundle).total).toBe((before.body as Bundle).total);
  });
});

describe('local FHIR server: the least helpful conformant modes', () => {
  let server: FhirServer;
  let client: HealthLakeClient;
  const get = (path: string, query: Record<string, string> = {}) =>
    client.request({ method: 'GET', path, query: Object.entries(query).map(([name, value]) => ({ name, value })) });
  const IDENT = 'https://hospital.example.org/mrn';

  beforeAll(async () => {
    server = await startFhirServer({ credentials, region, projection: 'minimal', resolveConditionalReferences: true });
    client = new HealthLakeClient({ baseUrl: server.baseUrl, region, credentials, maxRetries: 0 });
    server.seed([
      { resourceType: 'Patient', id: PATIENT_A, identifier: [{ system: IDENT, value: 'mrn-a' }], name: [{ family: 'Alpha', given: ['Ann'] }] },
      { resourceType: 'Patient', id: PATIENT_B, identifier: [{ system: IDENT, value: 'mrn-b' }], name: [{ family: 'Bravo', given: ['Ben'] }] },
      { resourceType: 'Patient', id: 'pat-twin-1', name: [{ family: 'Twin' }] },
      { resourceType: 'Patient', id: 'pat-twin-2', name: [{ family: 'Twin' }] },
    ]);
  });
  afterAll(() => server.close());

  test('_elements on read and vread keeps resourceType, id and the elements asked for: no meta, no mandatory elements', async () => {
    const read = await get(`Observation/${SEED_IDS.obsALab}`, { _elements: 'status' });
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ resourceType: 'Observation', id: SEED_IDS.obsALab, status: 'final' });
    const vread = await get(`Observation/${SEED_IDS.obsALab}/_history/1`, { _elements: 'id,valueQuantity' });
    expect(vread.body).toEqual({ resourceType: 'Observation', id: SEED_IDS.obsALab, valueQuantity: expect.objectContaining({ value: 5.4 }) });
    const unknown = await get(`Patient/${PATIENT_A}`, { _elements: 'foo' });
    expect(unknown.body).toEqual({ resourceType: 'Patient', id: PATIENT_A });
    const withMeta = await get(`Patient/${PATIENT_A}`, { _elements: 'meta' });
    expect(Object.keys(withMeta.body as object).sort()).toEqual(['id', 'meta', 'resourceType']);
  });

  test('_summary=true|text|data|false on read', async () => {
    const summary = await get(`Observation/${SEED_IDS.obsBLab}`, { _summary: 'true' });
    expect(summary.body).toEqual({ resourceType: 'Observation', id: SEED_IDS.obsBLab, status: 'final', code: expect.any(Object) });
    const text = await get(`Observation/${SEED_IDS.obsBLab}`, { _summary: 'text' });
    expect(text.body).toEqual({ resourceType: 'Observation', id: SEED_IDS.obsBLab });
    const data = (await get(`Observation/${SEED_IDS.obsBLab}`, { _summary: 'data' })).body as any;
    expect(data.meta).toBeUndefined();
    expect(data.subject).toEqual({ reference: `Patient/${PATIENT_B}` });
    const whole = (await get(`Observation/${SEED_IDS.obsBLab}`, { _summary: 'false' })).body as any;
    expect(whole.meta.versionId).toBe('1');
  });

  test('search: matches and _include results projected; _summary=count counts every match, no entries', async () => {
    const res = await get('Observation', { subject: `Patient/${PATIENT_B}`, _include: 'Observation:subject', _elements: 'id' });
    expect(res.status).toBe(200);
    const entries = (res.body as Bundle).entry!;
    expect(entries.map((e) => e.resource)).toEqual([
      { resourceType: 'Observation', id: SEED_IDS.obsBLab },
      { resourceType: 'Observation', id: SEED_IDS.obsBVitals },
      { resourceType: 'Observation', id: SEED_IDS.obsMoved },
      { resourceType: 'Patient', id: PATIENT_B },
    ]);
    const count = await get('Observation', { _summary: 'count' });
    expect(count.body).toEqual({ resourceType: 'Bundle', type: 'searchset', total: 5 });
    const form = await client.request({
      method: 'POST',
      path: 'Condition/_search',
      body: '_summary=true',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(((form.body as Bundle).entry ?? []).map((e) => Object.keys(e.resource).sort())).toEqual([
      ['clinicalStatus', 'code', 'id', 'resourceType'],
      ['clinicalStatus', 'code', 'id', 'resourceType'],
    ]);
  });

  test('history and $everything projected; history _summary=count', async () => {
    const history = await get(`Observation/${SEED_IDS.obsMoved}/_history`, { _summary: 'true' });
    expect((history.body as Bundle).entry!.map((e) => e.resource)).toEqual([
      { resourceType: 'Observation', id: SEED_IDS.obsMoved, status: 'final', code: expect.any(Object) },
      { resourceType: 'Observation', id: SEED_IDS.obsMoved, status: 'final', code: expect.any(Object) },
    ]);
    expect(await get(`Observation/${SEED_IDS.obsMoved}/_history`, { _summary: 'count' }).then((r) => r.body)).toEqual({
      resourceType: 'Bundle',
      type: 'history',
      total: 2,
    });
    const all = await get(`Patient/${PATIENT_A}/$everything`);
    expect(ids(all.body)).toEqual(
      expect.arrayContaining([`Patient/${PATIENT_A}`, `Observation/${SEED_IDS.obsAVitals}`, `Condition/${SEED_IDS.condA}`, `Encounter/${SEED_IDS.encA}`]),
    );
    expect(ids(all.body).some((id) => id.includes('-b'))).toBe(false);
    const projected = await get(`Patient/${PATIENT_A}/$everything`, { _elements: 'id' });
    expect(((projected.body as Bundle).entry ?? []).every((e) => Object.keys(e.resource).length === 2)).toBe(true);
  });

  test('batch GET entries are projected too', async () => {
    const res = await client.request({
      method: 'POST',
      path: '',
      body: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Condition/${SEED_IDS.condB}?_elements=id` } }] },
    });
    expect((res.body as Bundle).entry![0].resource).toEqual({ resourceType: 'Condition', id: SEED_IDS.condB });
  });

  test('Patient search by identifier, name, family', async () => {
    expect(ids((await get('Patient', { identifier: `${IDENT}|mrn-b` })).body)).toEqual([`Patient/${PATIENT_B}`]);
    expect(ids((await get('Patient', { name: 'brav' })).body)).toEqual([`Patient/${PATIENT_B}`]);
    expect(ids((await get('Patient', { family: 'Twin' })).body)).toEqual(['Patient/pat-twin-1', 'Patient/pat-twin-2']);
  });

  test('conditional references in create and update are resolved to the one match, anywhere in the resource', async () => {
    const created = await client.request({
      method: 'POST',
      path: 'Observation',
      body: {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: `Patient?identifier=${IDENT}|mrn-b` },
        performer: [{ reference: 'Patient?name=Alpha' }],
        contained: [{ resourceType: 'Observation', id: 'c', status: 'final', code: { text: 'c' }, subject: { reference: `Patient?_id=${PATIENT_B}` } }],
        extension: [{ url: 'urn:example:ext', valueReference: { reference: 'Patient?family=Bravo' } }],
      },
    });
    expect(created.status).toBe(201);
    const id = (created.body as any).id as string;
    const stored = server.stored('Observation', id) as any;
    expect(stored.subject.reference).toBe(`Patient/${PATIENT_B}`);
    expect(stored.performer[0].reference).toBe(`Patient/${PATIENT_A}`);
    expect(stored.contained[0].subject.reference).toBe(`Patient/${PATIENT_B}`);
    expect(stored.extension[0].valueReference.reference).toBe(`Patient/${PATIENT_B}`);
    const updated = await client.request({
      method: 'PUT',
      path: `Observation/${id}`,
      body: { ...stored, subject: { reference: `Patient?identifier=${IDENT}|mrn-a` } },
    });
    expect(updated.status).toBe(200);
    expect((server.stored('Observation', id) as any).subject.reference).toBe(`Patient/${PATIENT_A}`);
  });

  test('a conditional reference matching nothing or several: 412, nothing written; a transaction fails whole with 412', async () => {
    const before = server.resources('Observation').length;
    const obs = (reference: string) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference } });
    expect((await client.request({ method: 'POST', path: 'Observation', body: obs('Patient?identifier=nope|none') })).status).toBe(412);
    expect((await client.request({ method: 'POST', path: 'Observation', body: obs('Patient?family=Twin') })).status).toBe(412);
    const tx = (reference: string) =>
      client.request({
        method: 'POST',
        path: '',
        body: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { fullUrl: 'urn:uuid:0b7d1c3e-0000-4000-8000-00000000000a', resource: obs(`Patient/${PATIENT_A}`), request: { method: 'POST', url: 'Observation' } },
            { fullUrl: 'urn:uuid:0b7d1c3e-0000-4000-8000-00000000000b', resource: obs(reference), request: { method: 'POST', url: 'Observation' } },
          ],
        },
      });
    expect((await tx('Patient?family=Twin')).status).toBe(412);
    expect(server.resources('Observation').length).toBe(before);
    const ok = await tx(`Patient?identifier=${IDENT}|mrn-b`);
    expect(ok.status).toBe(200);
    const second = (ok.body as Bundle).entry![1].resource;
    expect(second.subject.reference).toBe(`Patient/${PATIENT_B}`);
    const batch = await client.request({
      method: 'POST',
      path: '',
      body: { resourceType: 'Bundle', type: 'batch', entry: [{ resource: obs('Patient?name=nobody'), request: { method: 'POST', url: 'Observation' } }] },
    });
    expect((batch.body as Bundle).entry![0].response.status).toBe('412');
  });

  test('Consent searches fail on demand with 503 and Retry-After; the status answered is recorded', async () => {
    server.seed([{ resourceType: 'Consent', id: 'c-1', status: 'active', patient: { reference: `Patient/${PATIENT_A}` } }]);
    expect((await get('Consent', { patient: `Patient/${PATIENT_A}` })).status).toBe(200);
    server.faults.failConsentSearch = true;
    try {
      const failed = await get('Consent', { patient: `Patient/${PATIENT_A}` });
      expect(failed.status).toBe(503);
      expect(failed.headers['retry-after']).toBe('1');
      expect(server.requests[server.requests.length - 1].responseStatus).toBe(503);
      expect((await get('Consent/c-1')).status).toBe(200);
    } finally {
      server.faults.failConsentSearch = false;
    }
    server.remove('Consent', 'c-1');
    expect(server.stored('Consent', 'c-1')).toBeUndefined();
  });
});

describe('local FHIR server: projection is off by default', () => {
  test('_elements and _summary are unsupported search parameters (400); reads ignore them', async () => {
    const server = await startFhirServer({ credentials, region });
    try {
      const client = new HealthLakeClient({ baseUrl: server.baseUrl, region, credentials, maxRetries: 0 });
      const search = await client.request({ method: 'GET', path: 'Observation', query: [{ name: '_summary', value: 'count' }] });
      expect(search.status).toBe(400);
      const read = await client.request({ method: 'GET', path: `Patient/${PATIENT_A}`, query: [{ name: '_elements', value: 'id' }] });
      expect((read.body as any).name).toBeDefined();
    } finally {
      await server.close();
    }
  });
});
