/**
 * `createProxy` against the local SigV4-checking FHIR server, with tokens from the real SMART
 * authorizer: what each scope context may do, granular restrictions, validation, link rewriting,
 * audit, and failing closed.
 */
import type { AuditEvent } from 'fhir/r4';
import { createProxy } from '../../../lambdas/fhir-proxy/proxy';
import { PATIENT_A, PATIENT_B, SEED_IDS } from '../../e2e/fixtures/seed';
import {
  CONFIDENTIAL_CLIENT,
  CREDENTIALS,
  leaksOfB,
  linkLeaks,
  patientClaims,
  PUBLIC_BASE,
  PUBLIC_CLIENT,
  REGION,
  sharedValidator,
  startHarness,
  ZT_OBSERVATION,
  type Harness,
} from '../../e2e/proxy-harness';

const ids = (body: any): string[] => (body?.entry ?? []).map((e: any) => `${e.resource.resourceType}/${e.resource.id}`);
const practitioner = (scope: string, extra: Record<string, unknown> = {}) => ({
  client_id: PUBLIC_CLIENT,
  scope,
  fhirUser: `Practitioner/${SEED_IDS.practitioner}`,
  patient: undefined,
  ...extra,
});
// A client-credentials token: Cognito sets `sub` to the client id.
const system = (scope: string) => ({ client_id: CONFIDENTIAL_CLIENT, sub: CONFIDENTIAL_CLIENT, scope, fhirUser: undefined, patient: undefined });
const newObs = (patient: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
  subject: { reference: `Patient/${patient}` },
  effectiveDateTime: '2024-03-01T08:00:00Z',
  valueQuantity: { value: 5.1, unit: 'mmol/L' },
  ...extra,
});
const patientEntity = (e: AuditEvent) => e.entity?.find((x) => x.role?.code === '1')?.what?.reference;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

describe('patient context: allowed routes', () => {
  test('read, vread and history of own records', async () => {
    const read = await h.call({ method: 'GET', path: `Observation/${SEED_IDS.obsALab}` });
    expect(read.status).toBe(200);
    expect(read.body.id).toBe(SEED_IDS.obsALab);
    expect(read.headers.ETag).toBe('W/"2"');
    expect(read.forwarded.map((f) => f.signatureValid)).toEqual([true]);
    // The moved record's first version was recorded against A.
    expect((await h.call({ method: 'GET', path: `Observation/${SEED_IDS.obsMoved}/_history/1` })).status).toBe(200);
    const notModified = await h.call({ method: 'GET', path: `Observation/${SEED_IDS.obsALab}`, headers: { 'If-None-Match': 'W/"2"' } });
    expect(notModified.status).toBe(304);
    expect(notModified.forwarded[0].headers['if-none-match']).toBeUndefined(); // evaluated by the proxy after the check
  });

  test('a search is narrowed to the patient before it is forwarded', async () => {
    const r = await h.call({ method: 'GET', path: 'Observation', query: { category: ['laboratory'] } });
    expect(r.status).toBe(200);
    expect(r.forwarded[0].query).toEqual([
      ['category', 'laboratory'],
      ['subject', `Patient/${PATIENT_A}`],
    ]);
    expect(ids(r.body)).toEqual([`Observation/${SEED_IDS.obsALab}`]);
    expect(r.body.total).toBe(1);
  });

  test('POST _search is forwarded as a form with the narrowing', async () => {
    const r = await h.call({ method: 'POST', path: 'Condition/_search', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'code=44054006' });
    expect(r.status).toBe(200);
    expect(r.forwarded[0].method).toBe('POST');
    expect(r.forwarded[0].query).toEqual([
      ['code', '44054006'],
      ['patient', `Patient/${PATIENT_A}`],
    ]);
    expect(ids(r.body)).toEqual([`Condition/${SEED_IDS.condA}`]);
  });

  test('create, update (pinned to the checked version) and delete of own records', async () => {
    const created = await h.call({ method: 'POST', path: 'Observation', body: newObs(PATIENT_A) });
    expect(created.status).toBe(201);
    expect(created.headers.Location).toMatch(new RegExp(`^${PUBLIC_BASE}/Observation/[0-9a-f-]+/_history/1$`));
    expect(linkLeaks(created, h.server.baseUrl)).toEqual([]);
    const id = created.body.id as string;

    const updated = await h.call({ method: 'PUT', path: `Observation/${id}`, body: { ...newObs(PATIENT_A), id, status: 'amended' } });
    expect(updated.status).toBe(200);
    const [check, put] = updated.forwarded;
    expect([check.method, put.method]).toEqual(['GET', 'PUT']);
    expect(put.headers['if-match']).toBe('W/"1"');

    const stale = await h.call({ method: 'PUT', path: `Observation/${id}`, headers: { 'If-Match': 'W/"1"' }, body: { ...newObs(PATIENT_A), id } });
    expect(stale.status).toBe(412);
    expect(stale.forwarded.map((f) => f.method)).toEqual(['GET']);

    const missing = await h.call({ method: 'PUT', path: 'Observation/no-such-id', body: { ...newObs(PATIENT_A), id: 'no-such-id' } });
    expect(missing.status).toBe(404); // no update-as-create in a confined context

    const deleted = await h.call({ method: 'DELETE', path: `Observation/${id}` });
    expect(deleted.status).toBe(204);
    expect(deleted.forwarded.map((f) => f.method)).toEqual(['GET', 'DELETE']);
  });

  test('readable types outside the compartment, and $everything on self', async () => {
    const med = await h.call({ method: 'GET', path: `Medication/${SEED_IDS.medication}` });
    expect(med.status).toBe(200);
    const everything = await h.call({ method: 'GET', path: `Patient/${PATIENT_A}/$everything` });
    expect(everything.forwarded.map((f) => f.path)).toEqual([`Patient/${PATIENT_A}/$everything`]);
    expect(everything.status).toBe(200);
    expect(everything.body.resourceType).toBe('Bundle');
  });

  test('a transaction of own writes goes through, each entry authorized and validated', async () => {
    const r = await h.call({
      method: 'POST',
      path: null,
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: newObs(PATIENT_A), request: { method: 'POST', url: 'Observation' } },
          { request: { method: 'GET', url: 'Observation?code=2345-7' } },
        ],
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.type).toBe('transaction-response');
    expect(r.body.entry[0].response.status).toBe('201');
    expect(r.body.entry[0].response.location.startsWith(`${PUBLIC_BASE}/Observation/`)).toBe(true);
    const forwarded = r.forwarded.find((f) => f.path === '')!;
    expect((forwarded.body as any).entry[1].request.url).toBe(`Observation?code=2345-7&subject=Patient%2F${PATIENT_A}`);
    expect(leaksOfB(r)).toEqual([]);
  });
});

describe('the mixed-scope rule (patient context wins, never a union)', () => {
  test('patient/ and user/ grants for the same type: only the patient’s data', async () => {
    const claims = { ...patientClaims(PATIENT_A, 'patient/Observation.rs user/Observation.rs'), fhirUser: `Practitioner/${SEED_IDS.practitioner}` };
    const r = await h.call({ method: 'GET', path: 'Observation', claims });
    expect(r.status).toBe(200);
    expect(leaksOfB(r)).toEqual([]);
    expect(ids(r.body).length).toBeGreaterThan(0);
  });

  test('a user/ grant for another type does not widen a patient-context token', async () => {
    const claims = { ...patientClaims(PATIENT_A, 'patient/Observation.rs user/Condition.rs'), fhirUser: `Practitioner/${SEED_IDS.practitioner}` };
    expect((await h.call({ method: 'GET', path: 'Condition', claims })).status).toBe(403);
    expect((await h.call({ method: 'GET', path: `Condition/${SEED_IDS.condB}`, claims })).status).toBe(403);
  });

  test('patient/ grants without a patient are refused, even with user/ grants and a practitioner', async () => {
    const claims = practitioner('patient/Observation.rs user/Observation.rs');
    const r = await h.call({ method: 'GET', path: 'Observation', claims });
    expect(r.status).toBe(403);
    expect(r.forwarded).toEqual([]);
  });
});

describe('user and system contexts', () => {
  test('a practitioner’s user/ grants see every patient, each patient audited once', async () => {
    const r = await h.call({ method: 'GET', path: 'Observation', query: { code: ['2345-7'] }, claims: practitioner('user/Observation.rs') });
    expect(r.status).toBe(200);
    expect(ids(r.body)).toEqual(expect.arrayContaining([`Observation/${SEED_IDS.obsALab}`, `Observation/${SEED_IDS.obsBLab}`]));
    expect(r.audits.map(patientEntity).sort()).toEqual([`Patient/${PATIENT_A}`, `Patient/${PATIENT_B}`]);
    for (const e of r.audits) {
      expect(e).toMatchObject({ subtype: [{ code: 'search-type' }], action: 'E', outcome: '0' });
      const query = e.entity?.find((x) => x.role?.code === '24')?.query;
      expect(Buffer.from(query!, 'base64').toString()).toBe('Observation?code=2345-7');
      expect(e.agent[2]).toMatchObject({ who: { reference: `Practitioner/${SEED_IDS.practitioner}` }, requestor: true });
      expect(e.agent[2].policy?.[0]).toMatch(/^urn:ietf:params:oauth:jti:[0-9a-f-]{36}$/);
      expect(e.agent[0]).toMatchObject({ who: { identifier: { value: PUBLIC_CLIENT } }, network: { address: '203.0.113.9' } });
      expect(JSON.stringify(e)).not.toContain('eyJ'); // never the token
    }
  });

  test('user/ grants without fhirUser, or with a Patient fhirUser, are confined or refused', async () => {
    const none = await h.call({ method: 'GET', path: 'Observation', claims: practitioner('user/Observation.rs', { fhirUser: undefined }) });
    expect(none.status).toBe(403);
    expect(none.forwarded).toEqual([]);
    const patientUser = await h.call({ method: 'GET', path: 'Observation', claims: practitioner('user/Observation.rs', { fhirUser: `Patient/${PATIENT_A}` }) });
    expect(patientUser.status).toBe(200);
    expect(leaksOfB(patientUser)).toEqual([]);
  });

  test('user/ grants only reach their own types (includes of other types are removed)', async () => {
    const r = await h.call({
      method: 'GET',
      path: 'Observation',
      query: { _include: ['Observation:subject', 'Observation:performer'] },
      claims: practitioner('user/Observation.read'),
    });
    expect(r.status).toBe(200);
    expect(ids(r.body).every((id) => id.startsWith('Observation/'))).toBe(true);
    expect((await h.call({ method: 'GET', path: `Condition/${SEED_IDS.condA}`, claims: practitioner('user/Procedure.read') })).status).toBe(403);
  });

  test('system/ grants only for confidential clients', async () => {
    const backend = await h.call({ method: 'GET', path: 'Condition', claims: system('system/Condition.rs') });
    expect(backend.status).toBe(200);
    expect(ids(backend.body).length).toBeGreaterThanOrEqual(2);
    expect(backend.audits.every((e) => e.agent.length === 2)).toBe(true); // no user agent for a backend service
    const publicClient = await h.call({ method: 'GET', path: 'Condition', claims: { ...system('system/Condition.rs'), client_id: PUBLIC_CLIENT } });
    expect(publicClient.status).toBe(403);
  });

  test('$export only in system context', async () => {
    const r = await h.call({ method: 'GET', path: '$export', query: { _type: ['Observation'] }, claims: system('system/Observation.rs') });
    expect(r.forwarded.map((f) => f.path)).toEqual(['$export']);
    expect((await h.call({ method: 'GET', path: '$export', claims: system('system/Observation.rs') })).status).toBe(403); // all types needs system/*
    expect((await h.call({ method: 'GET', path: '$export', claims: practitioner('user/*.rs') })).status).toBe(403);
  });
});

describe('granular restrictions', () => {
  const labOnly = patientClaims(PATIENT_A, 'patient/Observation.rs?category=laboratory patient/Patient.r');

  test('a search is narrowed with the restriction and total is kept', async () => {
    const r = await h.call({ method: 'GET', path: 'Observation', claims: labOnly });
    expect(r.forwarded[0].query).toContainEqual(['category', 'laboratory']);
    expect(r.body.entry.every((e: any) => e.resource.category[0].coding[0].code === 'laboratory')).toBe(true);
    expect(r.body.total).toBe(r.body.entry.length);
  });

  test('every returned resource is checked: reads, includes, and non-narrowable grants', async () => {
    expect((await h.call({ method: 'GET', path: `Observation/${SEED_IDS.obsAVitals}`, claims: labOnly })).status).toBe(404);
    const mixed = patientClaims(PATIENT_A, 'patient/Observation.rs?category=laboratory patient/Observation.rs?code=http://loinc.org|8310-5 patient/Patient.rs');
    const r = await h.call({ method: 'GET', path: 'Patient', query: { _revinclude: ['Observation:subject'] }, claims: mixed });
    expect(r.status).toBe(200);
    const obs = r.body.entry.filter((e: any) => e.resource.resourceType === 'Observation');
    expect(obs.map((e: any) => e.resource.id)).toContain(SEED_IDS.obsALab);
    expect(obs.map((e: any) => e.resource.id)).not.toContain(SEED_IDS.obsAVitals);
    expect(obs.every((e: any) => e.resource.category[0].coding[0].code === 'laboratory')).toBe(true);
    const search = await h.call({ method: 'GET', path: 'Observation', claims: mixed });
    expect(search.body.total).toBeUndefined(); // vitals were removed after the fact
  });

  test('writes must fall under the restriction', async () => {
    const vitals = newObs(PATIENT_A, { category: [{ coding: [{ code: 'vital-signs' }] }] });
    const claims = patientClaims(PATIENT_A, 'patient/Observation.crus?category=laboratory');
    expect((await h.call({ method: 'POST', path: 'Observation', body: vitals, claims })).status).toBe(403);
    expect((await h.call({ method: 'POST', path: 'Observation', body: newObs(PATIENT_A), claims })).status).toBe(201);
    const vitalsUpdate = { ...newObs(PATIENT_A), id: SEED_IDS.obsAVitals };
    expect((await h.call({ method: 'PUT', path: `Observation/${SEED_IDS.obsAVitals}`, body: vitalsUpdate, claims })).status).toBe(404);
  });
});

describe('validation of written resources', () => {
  test('invalid against the R4 base: 422 listing each issue by path, without echoing values', async () => {
    const body = newObs(PATIENT_A, { secretNote: 'SSN-123-45-6789', valueQuantity: { value: 'SECRET-VALUE' } });
    const r = await h.call({ method: 'POST', path: 'Observation', body });
    expect(r.status).toBe(422);
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(r.body.issue.map((i: any) => i.expression[0]).sort()).toEqual(['Observation.secretNote', 'Observation.value[x].value']);
    expect(r.text).not.toContain('SSN-123');
    expect(r.text).not.toContain('SECRET-VALUE');
    expect(r.forwarded).toEqual([]);
    expect(r.audits[0]).toMatchObject({ outcome: '4', outcomeDesc: 'Resource failed validation' });
  });

  test('a profile named in meta.profile applies (policies/profiles)', async () => {
    const body = { resourceType: 'Observation', meta: { profile: [ZT_OBSERVATION] }, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${PATIENT_A}` } };
    const r = await h.call({ method: 'POST', path: 'Observation', body });
    expect(r.status).toBe(422);
    expect(r.body.issue.map((i: any) => [i.expression[0], i.diagnostics])).toEqual([
      ['Observation.category', 'Required element missing (profile)'],
      ['Observation.effective[x]', 'Required element missing (profile)'],
    ]);
    expect((await h.call({ method: 'POST', path: 'Observation', body: { ...newObs(PATIENT_A), meta: { profile: [ZT_OBSERVATION] } } })).status).toBe(201);
  });

  test('transaction entries are validated with their position in the Bundle', async () => {
    const r = await h.call({
      method: 'POST',
      path: null,
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: newObs(PATIENT_A), request: { method: 'POST', url: 'Observation' } },
          { resource: newObs(PATIENT_A, { status: 7 }), request: { method: 'POST', url: 'Observation' } },
        ],
      },
    });
    expect(r.status).toBe(422);
    expect(r.body.issue[0].expression).toEqual(['Bundle.entry[1].resource.status']);
    expect(r.forwarded).toEqual([]);
  });
});

describe('failing closed', () => {
  test('no authorizer context: 401 and audited; the CapabilityStatement is public', async () => {
    const r = await h.call({ method: 'GET', path: `Patient/${PATIENT_A}`, anonymous: true });
    expect(r.status).toBe(401);
    expect(r.headers['WWW-Authenticate']).toBe('Bearer');
    expect(r.forwarded).toEqual([]);
    expect(r.audits).toHaveLength(1);
    expect(r.audits[0]).toMatchObject({ outcome: '4', agent: [{ who: { identifier: { value: 'anonymous' } } }, {}] });
    const malformed = await h.call({ method: 'GET', path: 'NotAType/1', anonymous: true });
    expect(malformed.status).toBe(401); // the parser's verdict is not revealed before authentication
    const metadata = await h.call({ method: 'GET', path: 'metadata', anonymous: true });
    expect(metadata.status).toBe(200);
    expect(metadata.body.resourceType).toBe('CapabilityStatement');
  });

  test('malformed requests and unknown methods are refused and audited', async () => {
    const bad = await h.call({ method: 'GET', path: 'Observation/bad id' });
    expect(bad.status).toBe(400);
    expect(bad.audits).toHaveLength(1);
    const options = await h.call({ method: 'OPTIONS', path: 'Observation' });
    expect(options.status).toBe(405);
    expect(options.audits[0].outcome).toBe('4');
  });

  test('HealthLake errors come back with constant texts only', async () => {
    const r = await h.call({ method: 'GET', path: 'Observation', query: { 'value-quantity': ['5'] }, claims: practitioner('user/Observation.rs') });
    expect(r.status).toBe(400);
    expect(r.text).not.toContain('Unsupported search parameter');
    expect(r.body.issue[0].diagnostics).toBe('The FHIR server rejected the request');
  });

  test('an unreachable datastore is 502 and audited as an error; nothing else is tried', async () => {
    const audits: AuditEvent[] = [];
    const proxy = createProxy({
      fhirBaseUrl: 'http://127.0.0.1:9/datastore/0123456789abcdef0123456789abcdef/r4/',
      region: REGION,
      credentials: CREDENTIALS,
      publicBaseUrl: PUBLIC_BASE,
      audit: { write: (e) => void audits.push(e) },
      validator: sharedValidator(),
      maxRetries: 0,
    });
    const context = await h.authorize({ method: 'GET', path: `Patient/${PATIENT_A}` });
    const r = await proxy(h.event({ method: 'GET', path: `Patient/${PATIENT_A}` }, context));
    expect(r.statusCode).toBe(502);
    expect(r.body).not.toContain('127.0.0.1');
    expect(audits.map((e) => e.outcome)).toEqual(['8']);
  });

  test('a validator that cannot run refuses the write (500), and nothing is forwarded', async () => {
    const proxy = createProxy({
      fhirBaseUrl: h.server.baseUrl,
      region: REGION,
      credentials: CREDENTIALS,
      publicBaseUrl: PUBLIC_BASE,
      audit: { write: () => undefined },
      validator: {
        validate: () => {
          throw new Error('definitions missing');
        },
        warm: () => undefined,
      },
      maxRetries: 0,
    });
    const before = h.server.requests.length;
    const context = await h.authorize({ method: 'POST', path: 'Observation' });
    const r = await proxy(h.event({ method: 'POST', path: 'Observation', body: newObs(PATIENT_A) }, context));
    expect(r.statusCode).toBe(500);
    expect(r.body).not.toContain('definitions missing');
    expect(h.server.requests.length).toBe(before);
  });

  test('an audit sink that fails turns the answer into a 500', async () => {
    const proxy = createProxy({
      fhirBaseUrl: h.server.baseUrl,
      region: REGION,
      credentials: CREDENTIALS,
      publicBaseUrl: PUBLIC_BASE,
      audit: { write: () => Promise.reject(new Error('log group unavailable')) },
      validator: false,
      maxRetries: 0,
    });
    const context = await h.authorize({ method: 'GET', path: `Patient/${PATIENT_A}` });
    const r = await proxy(h.event({ method: 'GET', path: `Patient/${PATIENT_A}` }, context));
    expect(r.statusCode).toBe(500);
    expect(r.body).not.toContain('Alpha');
  });
});
