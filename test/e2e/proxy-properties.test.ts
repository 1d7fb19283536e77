/**
 * Property-based tests (fast-check): random interactions, parameters and bodies sent as patient
 * A through the real authorizer and the proxy to the local FHIR server. Whatever the request:
 * no B resource in the response, no forwarded write touching B, every forwarded call signed,
 * no 5xx, and exactly one AuditEvent per patient touched (at least one per request).
 */
import fc from 'fast-check';
import type { AuditEvent } from 'fhir/r4';
import { PATIENT_A, PATIENT_B, SEED_IDS } from './fixtures/seed';
import { leaksOfB, linkLeaks, PUBLIC_BASE, startHarness, writesTouchingB, type CallResult, type CallSpec, type Harness } from './proxy-harness';

const TYPES = ['Patient', 'Observation', 'Condition', 'Encounter', 'MedicationRequest', 'Medication', 'Practitioner', 'Location', 'Group'];
const IDS = [
  PATIENT_A,
  PATIENT_B,
  SEED_IDS.obsAVitals,
  SEED_IDS.obsBLab,
  SEED_IDS.obsBVitals,
  SEED_IDS.obsMoved,
  SEED_IDS.obsDeleted,
  SEED_IDS.condA,
  SEED_IDS.condB,
  SEED_IDS.encB,
  SEED_IDS.medReqB,
  SEED_IDS.practitioner,
  SEED_IDS.medication,
  'does-not-exist',
];
const REFS = [PATIENT_A, PATIENT_B, `Patient/${PATIENT_A}`, `Patient/${PATIENT_B}`, `${PUBLIC_BASE}/Patient/${PATIENT_B}`, `Practitioner/${SEED_IDS.practitioner}`];
const PARAM_NAMES = [
  'subject',
  'patient',
  '_id',
  'code',
  'category',
  'performer',
  'requester',
  '_include',
  '_revinclude',
  '_include:iterate',
  '_count',
  '_summary',
  '_elements',
  'subject.name',
  'subject:Patient',
  '_has:Observation:patient:code',
  '_total',
];
const PARAM_VALUES = [
  ...REFS,
  ...IDS,
  `Patient/${PATIENT_A},Patient/${PATIENT_B}`,
  'Observation:subject',
  'Observation:performer',
  'Encounter:patient',
  'MedicationRequest:medication',
  'Patient:link',
  '2345-7',
  '38341003',
  'laboratory',
  'vital-signs',
  '1',
  '2',
  'count',
  'true',
  'code,subject',
  'accurate',
];

const ref = fc.constantFrom(...REFS.filter((r) => r.includes('/')));
const observation = fc.record(
  {
    resourceType: fc.constant('Observation'),
    id: fc.constantFrom(...IDS),
    status: fc.constantFrom('final', 'amended'),
    code: fc.constant({ coding: [{ system: 'http://loinc.org', code: '8867-4' }] }),
    subject: ref.map((reference) => ({ reference })),
    performer: fc.array(ref.map((reference) => ({ reference })), { maxLength: 2 }),
  },
  { requiredKeys: ['resourceType', 'status', 'code'] },
);
const condition = fc.record(
  {
    resourceType: fc.constant('Condition'),
    id: fc.constantFrom(...IDS),
    subject: ref.map((reference) => ({ reference })),
    asserter: ref.map((reference) => ({ reference })),
  },
  { requiredKeys: ['resourceType', 'subject'] },
);
const patient = fc.record(
  {
    resourceType: fc.constant('Patient'),
    id: fc.constantFrom(PATIENT_A, PATIENT_B, 'new-patient'),
    link: fc.array(ref.map((reference) => ({ other: { reference }, type: 'seealso' })), { maxLength: 1 }),
  },
  { requiredKeys: ['resourceType'] },
);
const medication = fc.constant({ resourceType: 'Medication', code: { text: 'x' } });
const resource = fc.oneof(observation, condition, patient, medication);

const params = fc
  .array(fc.tuple(fc.constantFrom(...PARAM_NAMES), fc.constantFrom(...PARAM_VALUES)), { maxLength: 4 })
  .map((pairs) => {
    const out: Record<string, string[]> = {};
    for (const [name, value] of pairs) (out[name] ??= []).push(value);
    return out;
  });

const path = fc.oneof(
  fc.tuple(fc.constantFrom(...TYPES), fc.constantFrom(...IDS), fc.constantFrom('', '/_history', '/_history/1', '/_history/2', '/$everything')).map(
    ([t, id, suffix]) => `${t}/${id}${suffix}`,
  ),
  fc.constantFrom(...TYPES).map((t) => t),
  fc.constantFrom(...TYPES).map((t) => `${t}/_history`),
  fc.constantFrom(...TYPES).map((t) => `${t}/_search`),
  fc.constantFrom('_history', '$export', 'Patient/$everything', 'metadata', '_search'),
);

/** One hostile-leaning request: method, path, parameters and (for writes) a body, from the pools above. */
const anyRequest: fc.Arbitrary<CallSpec> = fc
  .tuple(fc.constantFrom('GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH'), path, params, resource)
  .map(([method, p, query, body]) => {
    const spec: CallSpec = { method, path: p, query: Object.keys(query).length > 0 ? query : undefined };
    if (method === 'POST' && p.endsWith('_search')) {
      return {
        ...spec,
        query: undefined,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: Object.entries(query)
          .flatMap(([n, vs]) => vs.map((v) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`))
          .join('&'),
      };
    }
    if (method === 'POST' || method === 'PUT') {
      const type = p.split('/')[0];
      const id = p.split('/')[1];
      const fitted = { ...body, resourceType: (body as { resourceType: string }).resourceType === type ? type : (body as { resourceType: string }).resourceType };
      return { ...spec, body: method === 'PUT' && id ? { ...fitted, id } : fitted };
    }
    if (method === 'PATCH') {
      return { ...spec, headers: { 'Content-Type': 'application/json-patch+json' }, body: [{ op: 'replace', path: '/subject/reference', value: `Patient/${PATIENT_B}` }] };
    }
    return spec;
  });

/** Requests A is entitled to (so the property also covers what is allowed and filtered). */
const A_IDS = [PATIENT_A, SEED_IDS.obsAVitals, SEED_IDS.obsALab, SEED_IDS.condA, SEED_IDS.obsMoved];
const ownParams = fc
  .array(
    fc.tuple(
      fc.constantFrom('code', 'category', '_include', '_revinclude', '_count', 'subject', '_summary'),
      fc.constantFrom('2345-7', 'laboratory', 'vital-signs', 'Observation:subject', 'Observation:performer', 'Encounter:patient', '1', `Patient/${PATIENT_A}`, 'true'),
    ),
    { maxLength: 3 },
  )
  .map((pairs) => {
    const out: Record<string, string[]> = {};
    for (const [name, value] of pairs) (out[name] ??= []).push(value);
    return out;
  });
const ownRequest: fc.Arbitrary<CallSpec> = fc.oneof(
  fc.tuple(fc.constantFrom('Observation', 'Condition', 'Encounter', 'MedicationRequest', 'Patient', 'Medication', 'Practitioner'), ownParams).map(
    ([t, query]) => ({ method: 'GET', path: t, query }),
  ),
  fc.tuple(fc.constantFrom('Observation', 'Condition', 'Patient'), fc.constantFrom(...A_IDS), fc.constantFrom('', '/_history', '/_history/1')).map(
    ([t, id, suffix]) => ({ method: 'GET', path: `${t}/${id}${suffix}` }),
  ),
  fc.constant<CallSpec>({ method: 'GET', path: `Patient/${PATIENT_A}/$everything` }),
  fc.constant<CallSpec>({
    method: 'POST',
    path: 'Observation',
    body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${PATIENT_A}` } },
  }),
);

/** Mostly hostile, partly entitled requests. */
const directRequest: fc.Arbitrary<CallSpec> = fc.oneof({ arbitrary: anyRequest, weight: 3 }, { arbitrary: ownRequest, weight: 2 });

const entryRequest = fc.oneof(
  fc.tuple(fc.constantFrom(...TYPES), fc.constantFrom(...IDS)).map(([t, id]) => ({ request: { method: 'GET', url: `${t}/${id}` } })),
  fc.tuple(fc.constantFrom(...TYPES), params).map(([t, q]) => ({
    request: {
      method: 'GET',
      url: `${t}?${Object.entries(q)
        .flatMap(([n, vs]) => vs.map((v) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`))
        .join('&')}`,
    },
  })),
  resource.map((r) => ({ resource: r, request: { method: 'POST', url: (r as { resourceType: string }).resourceType } })),
  resource.map((r) => {
    const res = r as { resourceType: string; id?: string };
    return { resource: { ...res, id: res.id ?? 'x1' }, request: { method: 'PUT', url: `${res.resourceType}/${res.id ?? 'x1'}` } };
  }),
  fc.tuple(fc.constantFrom(...TYPES), fc.constantFrom(...IDS)).map(([t, id]) => ({ request: { method: 'DELETE', url: `${t}/${id}` } })),
);

const bundleRequest: fc.Arbitrary<CallSpec> = fc
  .tuple(fc.constantFrom('batch', 'transaction'), fc.array(entryRequest, { minLength: 1, maxLength: 4 }))
  .map(([type, entry]) => ({ method: 'POST', path: null, body: { resourceType: 'Bundle', type, entry } }));

function patientEntities(e: AuditEvent): string[] {
  return (e.entity ?? []).filter((x) => x.role?.code === '1').map((x) => x.what?.reference ?? '');
}

function checkInvariants(h: Harness, spec: CallSpec, r: CallResult): void {
  const context = `${spec.method} ${spec.path} ${JSON.stringify(spec.query ?? {})} -> ${r.status}`;
  expect({ context, leaks: leaksOfB(r) }).toEqual({ context, leaks: [] });
  expect({ context, links: linkLeaks(r, h.server.baseUrl) }).toEqual({ context, links: [] });
  expect({ context, writes: writesTouchingB(r.forwarded).map((w) => `${w.method} ${w.path}`) }).toEqual({ context, writes: [] });
  expect(r.forwarded.every((f) => f.signatureValid)).toBe(true);
  expect({ context, status: r.status < 500 }).toEqual({ context, status: true });
  // Exactly one AuditEvent per patient touched; one without a patient when none was.
  expect(r.audits.length).toBeGreaterThanOrEqual(1);
  const patients = r.audits.map(patientEntities);
  expect(patients.every((p) => p.length <= 1)).toBe(true);
  const named = patients.flat();
  expect(new Set(named).size).toBe(named.length);
  if (named.length === 0) expect(r.audits).toHaveLength(1);
  else expect(r.audits).toHaveLength(named.length);
  const outcome = r.status < 400 ? '0' : '4';
  expect(r.audits.every((e) => e.outcome === outcome)).toBe(true);
}

describe('properties: random requests as patient A', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  test('direct requests: no B data out, no B write forwarded, every request audited', async () => {
    const statuses: number[] = [];
    await fc.assert(
      fc.asyncProperty(directRequest, async (spec) => {
        const r = await h.call(spec);
        statuses.push(r.status);
        checkInvariants(h, spec, r);
      }),
      { numRuns: 180 },
    );
    // Not vacuous: a fair share of the random requests were allowed and answered.
    expect(statuses.filter((s) => s < 300).length).toBeGreaterThan(statuses.length / 6);
  });

  test('batch and transaction bundles: same invariants, every entry authorized', async () => {
    await fc.assert(
      fc.asyncProperty(bundleRequest, async (spec) => {
        const r = await h.call(spec);
        checkInvariants(h, spec, r);
        const body = spec.body as { type: string; entry: unknown[] };
        if (r.status === 200) {
          expect(r.body.type).toBe(`${body.type}-response`);
          expect(r.body.entry).toHaveLength(body.entry.length);
        }
      }),
      { numRuns: 80 },
    );
  });
});
