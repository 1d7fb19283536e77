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
