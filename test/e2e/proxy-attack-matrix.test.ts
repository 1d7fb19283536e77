/**
 * The attack matrix: patient A's real token (from the real authorizer) against patient B's data
 * through every route the proxy serves. For each request: the expected status, no byte of B's
 * data in the response (B's ids and unique values), no datastore URL in it, no forwarded write
 * touching B, every forwarded call correctly SigV4-signed, and at least one AuditEvent.
 */
import type { AuditEvent } from 'fhir/r4';
import { HealthLakeClient } from '../../lambdas/fhir-proxy/healthlake-client';
import { PATIENT_A, PATIENT_B, SEED_IDS, observationFor } from './fixtures/seed';
import {
  CREDENTIALS,
  leaksOfB,
  linkLeaks,
  PUBLIC_BASE,
  REGION,
  startHarness,
  writesTouchingB,
  type CallResult,
  type CallSpec,
  type Harness,
} from './proxy-harness';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const obsFor = observationFor;
const bundle = (type: 'batch' | 'transaction', entry: unknown[]) => ({ resourceType: 'Bundle', type, entry });

interface Attack {
  readonly name: string;
  readonly spec: CallSpec;
  /** Expected status (or statuses). */
  readonly status: number | readonly number[];
  /** Extra assertions on the result. */
  readonly also?: (r: CallResult) => void;
}

const ids = (body: any): string[] => (body?.entry ?? []).map((e: any) => `${e.resource?.resourceType}/${e.resource?.id}`);
const onlyA = (r: CallResult) => {
  for (const e of r.body?.entry ?? []) {
    const res = e.resource;
    if (!res || res.resourceType === 'Practitioner' || res.resourceType === 'Medication' || res.resourceType === 'Organization') continue;
    const text = JSON.stringify(res);
    expect(text.includes(`Patient/${PATIENT_A}`) || (res.resourceType === 'Patient' && res.id === PATIENT_A)).toBe(true);
  }
};

const ATTACKS: Attack[] = [
  // Reads and vreads
  {
    name: 'read B',
    spec: { method: 'GET', path: `Patient/${PATIENT_B}` },
    status: 403,
    // The refusal is audited against the patient it targeted, and nothing was forwarded.
    also: (r) => {
      expect(r.forwarded).toEqual([]);
      expect(r.audits.map((e) => e.entity?.find((x) => x.role?.code === '1')?.what?.reference)).toEqual([`Patient/${PATIENT_B}`]);
    },
  },
  { name: 'read B vitals', spec: { method: 'GET', path: `Observation/${SEED_IDS.obsBVitals}` }, status: 404 },
  { name: 'read B lab', spec: { method: 'GET', path: `Observation/${SEED_IDS.obsBLab}` }, status: 404 },
  { name: 'read B condition', spec: { method: 'GET', path: `Condition/${SEED_IDS.condB}` }, status: 404 },
  { name: 'read B encounter', spec: { method: 'GET', path: `Encounter/${SEED_IDS.encB}` }, status: 404 },
  { name: 'read B medication request', spec: { method: 'GET', path: `MedicationRequest/${SEED_IDS.medReqB}` }, status: 404 },
  { name: 'read B resource with If-None-Match', spec: { method: 'GET', path: `Observation/${SEED_IDS.obsBLab}`, headers: { 'If-None-Match': 'W/"1"' } }, status: 404 },
  { name: 'read the record that moved to B', spec: { method: 'GET', path: `Observation/${SEED_IDS.obsMoved}` }, status: 404 },
  { name: 'vread the moved record, B version', spec: { method: 'GET', path: `Observation/${SEED_IDS.obsMoved}/_history/2` }, status: 404 },
  { name: 'vread B lab', spec: { method: 'GET', path: `Observation/${SEED_IDS.obsBLab}/_history/1` }, status: 404 },
  { name: 'vread B patient', spec: { method: 'GET', path: `Patient/${PATIENT_B}/_history/1` }, status: 403 },
  // History
  {
    name: 'history of the moved record keeps only A versions',
    spec: { method: 'GET', path: `Observation/${SEED_IDS.obsMoved}/_history` },
    status: 200,
    also: (r) => {
      expect(r.body.entry.map((e: any) => e.resource.meta.versionId)).toEqual(['1']);
      expect(r.body.total).toBeUndefined();
    },
  },
  { name: 'history of B lab', spec: { method: 'GET', path: `Observation/${SEED_IDS.obsBLab}/_history` }, status: 200, also: (r) => expect(r.body.entry).toBeUndefined() },
  { name: 'history of B patient', spec: { method: 'GET', path: `Patient/${PATIENT_B}/_history` }, status: 403 },
  { name: 'type history Observation', spec: { method: 'GET', path: 'Observation/_history' }, status: 200, also: onlyA },
  { name: 'type history Patient', spec: { method: 'GET', path: 'Patient/_history' }, status: 200, also: onlyA },
  { name: 'type history Condition', spec: { method: 'GET', path: 'Condition/_history' }, status: 200, also: onlyA },
  { name: 'system history', spec: { method: 'GET', path: '_history' }, status: 403 },
  // Searches naming B
  { name: 'search subject=Patient/B', spec: { method: 'GET', path: 'Observation', query: { subject: [`Patient/${PATIENT_B}`] } }, status: 403 },
  { name: 'search patient=B', spec: { method: 'GET', path: 'Observation', query: { patient: [PATIENT_B] } }, status: 403 },
  { name: 'search subject=B (bare id)', spec: { method: 'GET', path: 'Condition', query: { subject: [PATIENT_B] } }, status: 403 },
  { name: 'search subject A or B', spec: { method: 'GET', path: 'Observation', query: { subject: [`Patient/${PATIENT_A},Patient/${PATIENT_B}`] } }, status: 403 },
  { name: 'search subject absolute URL of B', spec: { method: 'GET', path: 'Observation', query: { subject: [`${PUBLIC_BASE}/Patient/${PATIENT_B}`] } }, status: 403 },
  { name: 'search subject:Patient=B', spec: { method: 'GET', path: 'Encounter', query: { 'subject:Patient': [PATIENT_B] } }, status: 403 },
  { name: 'search naming B in another parameter', spec: { method: 'GET', path: 'MedicationRequest', query: { requester: [`Patient/${PATIENT_B}`] } }, status: 403 },
  { name: 'search Patient _id=B', spec: { method: 'GET', path: 'Patient', query: { _id: [PATIENT_B] } }, status: 403 },
  { name: 'search B resource by _id', spec: { method: 'GET', path: 'Observation', query: { _id: [SEED_IDS.obsBLab] } }, status: 200, also: (r) => expect(r.body.entry).toBeUndefined() },
  { name: 'search B-only code', spec: { method: 'GET', path: 'Condition', query: { code: ['38341003'] } }, status: 200, also: (r) => expect(r.body.total).toBe(0) },
  { name: 'search Observation without parameters', spec: { method: 'GET', path: 'Observation' }, status: 200, also: onlyA },
  { name: 'search Patient without parameters', spec: { method: 'GET', path: 'Patient' }, status: 200, also: (r) => expect(ids(r.body)).toEqual([`Patient/${PATIENT_A}`]) },
  // Includes
  { name: '_include subject', spec: { method: 'GET', path: 'Observation', query: { _include: ['Observation:subject'] } }, status: 200, also: onlyA },
  { name: '_revinclude from Patient', spec: { method: 'GET', path: 'Patient', query: { _revinclude: ['Observation:subject', 'Encounter:patient'] } }, status: 200, also: onlyA },
  {
    name: '_revinclude through a shared Practitioner',
    spec: { method: 'GET', path: 'Practitioner', query: { _revinclude: ['Observation:performer', 'MedicationRequest:requester'] } },
    status: 200,
    also: (r) => {
      onlyA(r);
      expect(ids(r.body)).toContain(`Practitioner/${SEED_IDS.practitioner}`);
      expect(r.body.total).toBe(1); // the match; removed includes do not count
    },
  },
  { name: '_include of a shared Medication', spec: { method: 'GET', path: 'MedicationRequest', query: { _include: ['MedicationRequest:medication'] } }, status: 200, also: onlyA },
  { name: '_include:iterate', spec: { method: 'GET', path: 'Encounter', query: { _include: ['Encounter:subject'], '_include:iterate': ['Patient:link'] } }, status: [200, 400] },
  // Chains and _has
  { name: 'chained subject.name', spec: { method: 'GET', path: 'Observation', query: { 'subject.name': ['Bravo'] } }, status: 403 },
  { name: 'chained subject:Patient.family', spec: { method: 'GET', path: 'Observation', query: { 'subject:Patient.family': ['Bravo'] } }, status: 403 },
  { name: '_has oracle', spec: { method: 'GET', path: 'Patient', query: { '_has:Observation:patient:code': ['2345-7'] } }, status: 403 },
  { name: '_filter', spec: { method: 'GET', path: 'Observation', query: { _filter: ['subject eq Patient/pat-b'] } }, status: 403 },
  // POST _search and system level
  { name: 'POST _search naming B', spec: { method: 'POST', path: 'Observation/_search', headers: FORM, body: `subject=Patient%2F${PATIENT_B}` }, status: 403 },
  { name: 'POST _search chained', spec: { method: 'POST', path: 'Observation/_search', headers: FORM, body: 'subject.name=Bravo' }, status: 403 },
  { name: 'POST _search by code', spec: { method: 'POST', path: 'Observation/_search', headers: FORM, body: 'code=2345-7' }, status: 200, also: onlyA },
  { name: 'system search GET /r4', spec: { method: 'GET', path: null, query: { _type: ['Observation'] } }, status: 403 },
  { name: 'system search POST _search', spec: { method: 'POST', path: '_search', headers: FORM, body: '_type=Patient' }, status: 403 },
  // Types outside the compartment
  { name: 'type not readable (Location)', spec: { method: 'GET', path: 'Location' }, status: 403 },
  { name: 'type without grant (AuditEvent about B)', spec: { method: 'GET', path: 'AuditEvent', query: { patient: [PATIENT_B] } }, status: 403 },
  { name: 'write a type outside the compartment', spec: { method: 'POST', path: 'Medication', body: { resourceType: 'Medication' } }, status: 403 },
  { name: 'update a shared Practitioner', spec: { method: 'PUT', path: `Practitioner/${SEED_IDS.practitioner}`, body: { resourceType: 'Practitioner', id: SEED_IDS.practitioner } }, status: 403 },
  // Operations
  { name: '$everything on B', spec: { method: 'GET', path: `Patient/${PATIENT_B}/$everything` }, status: 403 },
  { name: 'type-level $everything', spec: { method: 'GET', path: 'Patient/$everything' }, status: 403 },
  { name: '$export', spec: { method: 'GET', path: '$export' }, status: 403 },
  { name: 'Patient $export', spec: { method: 'GET', path: 'Patient/$export' }, status: 403 },
  { name: 'unconfigured operation', spec: { method: 'GET', path: 'Observation/$lastn', query: { patient: [PATIENT_B] } }, status: 403 },
  // Writes
  { name: 'create for B', spec: { method: 'POST', path: 'Observation', body: obsFor(PATIENT_B) }, status: 403 },
  {
    name: 'create linked to A and B',
    spec: { method: 'POST', path: 'Observation', body: obsFor(PATIENT_A, { performer: [{ reference: `Patient/${PATIENT_B}` }] }) },
    status: 403,
  },
  { name: 'create with contained subject', spec: { method: 'POST', path: 'Observation', body: obsFor(PATIENT_A, { subject: { reference: '#p' }, contained: [{ resourceType: 'Patient', id: 'p' }] }) }, status: 403 },
  { name: 'conditional create matching B', spec: { method: 'POST', path: 'Observation', body: obsFor(PATIENT_A), headers: { 'If-None-Exist': `_id=${SEED_IDS.obsBLab}` } }, status: 403 },
  { name: 'create a Patient', spec: { method: 'POST', path: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'New' }] } }, status: 403 },
  { name: 'take over B resource by update', spec: { method: 'PUT', path: `Observation/${SEED_IDS.obsBLab}`, body: { ...obsFor(PATIENT_A), id: SEED_IDS.obsBLab } }, status: 404 },
  { name: 're-parent own resource to B', spec: { method: 'PUT', path: `Observation/${SEED_IDS.obsAVitals}`, body: { ...obsFor(PATIENT_B), id: SEED_IDS.obsAVitals } }, status: 403 },
  { name: 'update the moved record (now B)', spec: { method: 'PUT', path: `Observation/${SEED_IDS.obsMoved}`, body: { ...obsFor(PATIENT_A), id: SEED_IDS.obsMoved } }, status: 404 },
  { name: 'link own Patient to B', spec: { method: 'PUT', path: `Patient/${PATIENT_A}`, body: { resourceType: 'Patient', id: PATIENT_A, link: [{ other: { reference: `Patient/${PATIENT_B}` }, type: 'seealso' }] } }, status: 403 },
  { name: 'update B patient', spec: { method: 'PUT', path: `Patient/${PATIENT_B}`, body: { resourceType: 'Patient', id: PATIENT_B } }, status: 403 },
  { name: 'conditional update naming B', spec: { method: 'PUT', path: 'Observation', query: { subject: [`Patient/${PATIENT_B}`] }, body: obsFor(PATIENT_A) }, status: 403 },
  { name: 'conditional update by _id of B', spec: { method: 'PUT', path: 'Observation', query: { _id: [SEED_IDS.obsBLab] }, body: obsFor(PATIENT_A) }, status: 403 },
  { name: 'patch B resource', spec: { method: 'PATCH', path: `Observation/${SEED_IDS.obsBLab}`, headers: { 'Content-Type': 'application/json-patch+json' }, body: [{ op: 'replace', path: '/status', value: 'cancelled' }] }, status: 403 },
  { name: 'delete B resource', spec: { method: 'DELETE', path: `Observation/${SEED_IDS.obsBLab}` }, status: 404 },
  { name: 'delete B patient', spec: { method: 'DELETE', path: `Patient/${PATIENT_B}` }, status: 403 },
  { name: 'conditional delete naming B', spec: { method: 'DELETE', path: 'Observation', query: { subject: [`Patient/${PATIENT_B}`] } }, status: 403 },
  { name: 'conditional delete by code', spec: { method: 'DELETE', path: 'Condition', query: { code: ['38341003'] } }, status: 403 },
  // Batch and transaction
  {
    name: 'batch reading B',
    spec: {
      method: 'POST',
      path: null,
      body: bundle('batch', [
        { request: { method: 'GET', url: `Observation/${SEED_IDS.obsBLab}` } },
        { request: { method: 'GET', url: `Observation?subject=Patient/${PATIENT_B}` } },
        { request: { method: 'GET', url: `Condition?code=38341003` } },
        { request: { method: 'GET', url: `Patient/${PATIENT_A}` } },
        { request: { method: 'GET', url: `${PUBLIC_BASE}/Encounter/${SEED_IDS.encB}` } },
      ]),
    },
    status: 200,
    also: (r) => {
      expect(r.body.entry.map((e: any) => e.response.status.slice(0, 3))).toEqual(['404', '403', '200', '200', '404']);
      expect(r.body.entry[2].resource.total).toBe(0);
    },
  },
  {
    name: 'batch writing for B',
    spec: {
      method: 'POST',
      path: null,
      body: bundle('batch', [
        { resource: obsFor(PATIENT_B), request: { method: 'POST', url: 'Observation' } },
        { request: { method: 'DELETE', url: `Observation/${SEED_IDS.obsBVitals}` } },
      ]),
    },
    status: 200,
    also: (r) => expect(r.body.entry.map((e: any) => e.response.status)).toEqual(['403', '404']),
  },
  {
    name: 'transaction with one entry for B',
    spec: {
      method: 'POST',
      path: null,
      body: bundle('transaction', [
        { resource: obsFor(PATIENT_A), request: { method: 'POST', url: 'Observation' } },
        { resource: obsFor(PATIENT_B), request: { method: 'POST', url: 'Observation' } },
      ]),
    },
    status: 403,
    also: (r) => expect(r.forwarded).toEqual([]),
  },
  {
    name: 'transaction taking over B resource',
    spec: {
      method: 'POST',
      path: null,
      body: bundle('transaction', [{ resource: { ...obsFor(PATIENT_A), id: SEED_IDS.obsBLab }, request: { method: 'PUT', url: `Observation/${SEED_IDS.obsBLab}` } }]),
    },
    status: 404,
  },
  {
    name: 'transaction deleting B resource',
    spec: { method: 'POST', path: null, body: bundle('transaction', [{ request: { method: 'DELETE', url: `Condition/${SEED_IDS.condB}` } }]) },
    status: 404,
  },
  {
    name: 'transaction with a conditional update',
    spec: { method: 'POST', path: null, body: bundle('transaction', [{ resource: obsFor(PATIENT_A), request: { method: 'PUT', url: `Observation?_id=${SEED_IDS.obsBLab}` } }]) },
    status: 403,
  },
  {
    name: 'transaction re-parenting through urn:uuid',
    spec: {
      method: 'POST',
      path: null,
      body: bundle('transaction', [
        { fullUrl: 'urn:uuid:5f1a7e0e-1111-4c1b-9d5c-000000000001', resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
        { resource: obsFor(PATIENT_A, { subject: { reference: 'urn:uuid:5f1a7e0e-1111-4c1b-9d5c-000000000001' } }), request: { method: 'POST', url: 'Observation' } },
      ]),
    },
    status: 403,
  },
  { name: 'nested bundle in a batch', spec: { method: 'POST', path: null, body: bundle('batch', [{ resource: bundle('transaction', []), request: { method: 'POST', url: '' } }]) }, status: 200, also: (r) => expect(r.body.entry[0].response.status).toBe('403') },
  { name: 'operation in a batch', spec: { method: 'POST', path: null, body: bundle('batch', [{ request: { method: 'GET', url: `Patient/${PATIENT_B}/$everything` } }]) }, status: 200, also: (r) => expect(r.body.entry[0].response.status).toBe('403') },
];

describe('attack matrix: patient A against patient B, every route', () => {
  let h: Harness;
  let bBefore: Record<string, unknown>;
  const direct = () => new HealthLakeClient({ baseUrl: h.server.baseUrl, region: REGION, credentials: CREDENTIALS, maxRetries: 0 });

  async function snapshotB(): Promise<Record<string, unknown>> {
    const client = direct();
    const out: Record<string, unknown> = {};
    for (const path of [
      `Patient/${PATIENT_B}`,
      `Observation/${SEED_IDS.obsBVitals}`,
      `Observation/${SEED_IDS.obsBLab}`,
      `Observation/${SEED_IDS.obsMoved}`,
      `Condition/${SEED_IDS.condB}`,
      `Encounter/${SEED_IDS.encB}`,
      `MedicationRequest/${SEED_IDS.medReqB}`,
    ]) {
      out[path] = (await client.request({ method: 'GET', path: `${path}/_history` })).body;
    }
    return out;
  }

  beforeAll(async () => {
    h = await startHarness();
    bBefore = await snapshotB();
  });
  afterAll(() => h.close());

  test('the matrix is at least 40 requests', () => {
    expect(ATTACKS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(ATTACKS.map((a) => a.name)).size).toBe(ATTACKS.length);
  });

  test.each(ATTACKS.map((a) => [a.name, a] as const))('%s', async (_name, attack) => {
    const r = await h.call(attack.spec);
    const expected = typeof attack.status === 'number' ? [attack.status] : attack.status;
    expect(expected).toContain(r.status);
    expect(leaksOfB(r)).toEqual([]);
    expect(linkLeaks(r, h.server.baseUrl)).toEqual([]);
    expect(writesTouchingB(r.forwarded)).toEqual([]);
    expect(r.forwarded.every((f) => f.signatureValid)).toBe(true);
    expect(r.audits.length).toBeGreaterThanOrEqual(1);
    if (r.status >= 400) {
      expect(r.body.resourceType).toBe('OperationOutcome');
      expect(r.audits.every((e: AuditEvent) => e.outcome === '4')).toBe(true);
    }
    attack.also?.(r);
  });

  test('paging links point at the proxy, and following them stays in A’s compartment', async () => {
    const first = await h.call({ method: 'GET', path: 'Observation', query: { _count: ['1'] } });
    expect(first.status).toBe(200);
    const next = first.body.link.find((l: any) => l.relation === 'next')?.url as string;
    expect(next.startsWith(`${PUBLIC_BASE}/Observation?`)).toBe(true);
    const seen: string[] = ids(first.body);
    let url: string | undefined = next;
    for (let page = 0; url && page < 10; page++) {
      const u = new URL(url);
      const query: Record<string, string[]> = {};
      u.searchParams.forEach((v, k) => (query[k] ??= []).push(v));
      const r = await h.call({ method: 'GET', path: u.pathname.replace('/r4/', ''), query });
      expect(r.status).toBe(200);
      expect(leaksOfB(r)).toEqual([]);
      seen.push(...ids(r.body));
      url = r.body.link.find((l: any) => l.relation === 'next')?.url;
    }
    expect(seen.sort()).toEqual([`Observation/${SEED_IDS.obsAVitals}`, `Observation/${SEED_IDS.obsALab}`].sort());

    // A tampered next link (subject switched to B) is refused; one with the narrowing removed is narrowed again.
    const tampered = new URL(next);
    tampered.searchParams.set('subject', `Patient/${PATIENT_B}`);
    const query: Record<string, string[]> = {};
    tampered.searchParams.forEach((v, k) => (query[k] ??= []).push(v));
    expect((await h.call({ method: 'GET', path: 'Observation', query })).status).toBe(403);
    const stripped = await h.call({ method: 'GET', path: 'Observation', query: { _count: ['5'], page: [Buffer.from('o0').toString('base64url')] } });
    expect(leaksOfB(stripped)).toEqual([]);
    expect(ids(stripped.body).length).toBe(2);
  });

  test('B’s records are unchanged after the whole matrix', async () => {
    expect(await snapshotB()).toEqual(bBefore);
    expect(h.server.requests.every((r) => r.signatureValid)).toBe(true);
    expect(writesTouchingB(h.server.requests)).toEqual([]);
  });
});
