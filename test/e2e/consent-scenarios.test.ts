/**
 * Consent and security labels end to end: the proxy with `policies/labels.json`, the local
 * SigV4-checking FHIR server seeded with `fixtures/consent-seed.ts`, callers built as the SMART
 * authorizer's context (portal and third-party app, caregiver, clinicians, payer).
 */
import type { AuditEvent } from 'fhir/r4';
import { HealthLakeClient } from '../../lambdas/fhir-proxy/healthlake-client';
import { APPS, CLIENTS, CONSENT_SEED, IDS, POLICY } from './fixtures/consent-seed';
import { PATIENT_A, PATIENT_B, SEED_IDS } from './fixtures/seed';
import { CONFIDENTIAL_CLIENT, CREDENTIALS, REGION, startHarness, type Harness } from './proxy-harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    labels: { policy: POLICY, apps: APPS },
    confidentialClientIds: [CONFIDENTIAL_CLIENT, CLIENTS.payer],
    readableNonCompartmentTypes: ['Medication', 'Practitioner', 'Organization'],
  });
  const client = new HealthLakeClient({ baseUrl: h.server.baseUrl, region: REGION, credentials: CREDENTIALS, maxRetries: 0 });
  for (const r of CONSENT_SEED) {
    const res = await client.request({ method: 'PUT', path: `${String(r.resourceType)}/${String(r.id)}`, body: r });
    if (res.status >= 300) throw new Error(`seed failed: ${String(r.resourceType)}/${String(r.id)} ${res.status}`);
  }
});
afterAll(() => h.close());

const PATIENT_SCOPE = 'launch/patient patient/Observation.cruds patient/MedicationRequest.rs patient/Medication.rs patient/Patient.rs';
const USER_SCOPE = 'openid fhirUser user/Observation.cruds user/MedicationRequest.rs user/Medication.rs';

interface Who {
  readonly clientId: string;
  readonly scope: string;
  readonly patient?: string;
  readonly fhirUser?: string;
  readonly labels?: string;
  readonly sub?: string;
}

const WHO = {
  portalSelf: { clientId: CLIENTS.portal, scope: PATIENT_SCOPE, patient: PATIENT_A, fhirUser: `Patient/${PATIENT_A}` },
  thirdPartySelf: { clientId: CLIENTS.thirdParty, scope: PATIENT_SCOPE, patient: PATIENT_A, fhirUser: `Patient/${PATIENT_A}` },
  caregiverRp1: { clientId: CLIENTS.portal, scope: PATIENT_SCOPE, patient: PATIENT_A, fhirUser: 'RelatedPerson/rp-1', labels: 'behavioral-health' },
  caregiverRp2: { clientId: CLIENTS.portal, scope: PATIENT_SCOPE, patient: PATIENT_A, fhirUser: 'RelatedPerson/rp-2', labels: 'behavioral-health' },
  prac1Part2: { clientId: CLIENTS.clinician, scope: USER_SCOPE, fhirUser: 'Practitioner/prac-1', labels: 'part2-program behavioral-health' },
  prac2Part2: { clientId: CLIENTS.clinician, scope: USER_SCOPE, fhirUser: 'Practitioner/prac-2', labels: 'part2-program' },
  prac3Part2: { clientId: CLIENTS.clinician, scope: USER_SCOPE, fhirUser: 'Practitioner/prac-3', labels: 'part2-program' },
  pracNoGroups: { clientId: CLIENTS.clinician, scope: USER_SCOPE, fhirUser: 'Practitioner/prac-1' },
  breakGlass: { clientId: CLIENTS.clinician, scope: USER_SCOPE, fhirUser: 'Practitioner/prac-9', labels: 'break-glass' },
  payer: { clientId: CLIENTS.payer, sub: CLIENTS.payer, scope: 'system/Observation.rs system/Patient.rs' },
} satisfies Record<string, Who>;

async function call(who: Who, method: string, path: string, query?: Record<string, string[]>, body?: unknown) {
  const context = {
    sub: who.sub ?? `user-${who.fhirUser ?? 'x'}`,
    clientId: who.clientId,
    scope: who.scope,
    patient: who.patient ?? '',
    fhirUser: who.fhirUser ?? '',
    tier: 'standard',
    jti: 'jti-1',
    labels: who.labels ?? '',
  };
  const start = h.audits.length;
  const result = await h.proxy(h.event({ method, path, ...(query ? { query } : {}), ...(body !== undefined ? { body } : {}) }, context));
  const parsed = result.body ? JSON.parse(result.body) : undefined;
  return { status: result.statusCode, body: parsed, text: result.body, audits: h.audits.slice(start) };
}

function decisions(audits: AuditEvent[]): Array<{ decision?: string; rule?: string; what?: string }> {
  return audits.flatMap((a) =>
    (a.entity ?? [])
      .filter((e) => e.type?.code === 'Consent')
      .map((e) => ({
        decision: e.detail?.find((d) => d.type === 'decision')?.valueString,
        rule: e.detail?.find((d) => d.type === 'rule')?.valueString,
        what: e.what?.reference,
      })),
  );
}

type Row = [name: string, who: Who, id: string, visible: boolean, rule?: RegExp];

describe('reads: who sees which labelled record', () => {
  const rows: Row[] = [
    ['general record, portal (self)', WHO.portalSelf, SEED_IDS.obsAVitals, true],
    ['mental health, portal (self): app cleared, consent permits the patient', WHO.portalSelf, IDS.obsPsy, true],
    ['mental health, third-party app (self): app not cleared', WHO.thirdPartySelf, IDS.obsPsy, false, /label:PSY:app-not-cleared/],
    ['general record, third-party app (self)', WHO.thirdPartySelf, SEED_IDS.obsAVitals, true],
    ['mental health, caregiver rp-1: nested permit', WHO.caregiverRp1, IDS.obsPsy, true],
    ['mental health, caregiver rp-2: consent denies PSY', WHO.caregiverRp2, IDS.obsPsy, false, /Consent\/consent-a-general#provision\.provision\[0\]/],
    ['general record, payer app: consent denies the payer', WHO.payer, SEED_IDS.obsAVitals, false, /Consent\/consent-a-general#provision\.provision\[1\]/],
    ['Part 2 record, prac-1: specific consent', WHO.prac1Part2, IDS.obsSud, true],
    ['Part 2 record, prac-2: consent expired', WHO.prac2Part2, IDS.obsSud, false, /default:SUD:opt-in/],
    ['Part 2 record, prac-3: conflicting provisions, deny wins', WHO.prac3Part2, IDS.obsSud, false, /Consent\/consent-a-part2#provision\.provision\[2\]/],
    ['Part 2 record, clinician without the group', WHO.pracNoGroups, IDS.obsSud, false, /label:SUD:user-not-cleared/],
    ['Part 2 record, portal (self): self-access through a cleared app', WHO.portalSelf, IDS.obsSud, true],
    ['Part 2 record, third-party app (self)', WHO.thirdPartySelf, IDS.obsSud, false, /label:SUD:app-not-cleared/],
    ['unknown label, portal (self): most restrictive', WHO.portalSelf, IDS.obsUnknown, false, /label:unknown/],
    ['unknown label, break-glass (V) clinician', WHO.breakGlass, IDS.obsUnknown, true],
  ];
  // A rest parameter: jest would take a fifth declared parameter of a 4-element row for `done`.
  test.each(rows)('%s', async (...row: Row) => {
    const [, who, id, visible, rule] = row;
    const r = await call(who, 'GET', `Observation/${id}`);
    expect(r.status).toBe(visible ? 200 : 404);
    if (visible) expect(r.body.id).toBe(id);
    else expect(r.text).not.toContain(id === IDS.obsPsy ? '44249-1' : id);
    const d = decisions(r.audits);
    expect(d.length).toBeGreaterThan(0);
    if (rule) expect(d.some((x) => x.decision === 'deny' && rule.test(x.rule ?? ''))).toBe(true);
  });
});

describe('a fhirUser on another server is nobody here', () => {
  // The same patient id under another host: not the patient themself (no self-access waiver) and
  // not the Consent actor Patient/<A> (no permit). The user is cleared for PSY, so for the PSY
  // record the Consent decides.
  const foreignSelf = { ...WHO.portalSelf, fhirUser: `https://other.example.org/r4/Patient/${PATIENT_A}`, labels: 'behavioral-health' };
  const publicSelf = { ...WHO.portalSelf, fhirUser: `https://fhir.example.org/r4/Patient/${PATIENT_A}`, labels: 'behavioral-health' };
  test.each([
    ['mental health: the consent permit for the patient does not apply', IDS.obsPsy, /Consent\/consent-a-general#provision\.provision\[0\]/],
    ['Part 2 record: no self-access', IDS.obsSud, /label:SUD:user-not-cleared/],
  ])('%s', async (_n, id, rule) => {
    const foreign = await call(foreignSelf, 'GET', `Observation/${id}`);
    expect(foreign.status).toBe(404);
    expect(decisions(foreign.audits).some((x) => x.decision === 'deny' && rule.test(x.rule ?? ''))).toBe(true);
    const local = await call(publicSelf, 'GET', `Observation/${id}`);
    expect(local.status).toBe(200);
  });
});

describe('searches, includes, history, batch, writes', () => {
  test('a search drops withheld entries and a total that would count them', async () => {
    const r = await call(WHO.thirdPartySelf, 'GET', 'Observation', { patient: [PATIENT_A] });
    expect(r.status).toBe(200);
    const ids = (r.body.entry ?? []).map((e: any) => e.resource.id);
    expect(ids).toContain(SEED_IDS.obsAVitals);
    for (const hidden of [IDS.obsPsy, IDS.obsSud, IDS.obsUnknown]) expect(ids).not.toContain(hidden);
    expect(r.body.total === undefined || r.body.total === ids.length).toBe(true);
  });

  test('element-level labels: the PSY note is removed for the third-party app and the copy is marked REDACTED', async () => {
    const third = await call(WHO.thirdPartySelf, 'GET', `Observation/${IDS.obsInline}`);
    expect(third.status).toBe(200);
    expect(third.text).not.toContain('depression');
    expect(third.body.note).toEqual([{ text: 'routine follow-up' }]);
    expect(third.body.meta.security).toContainEqual(expect.objectContaining({ code: 'REDACTED' }));
    const portal = await call(WHO.portalSelf, 'GET', `Observation/${IDS.obsInline}`);
    expect(portal.text).toContain('depression');
    expect(JSON.stringify(portal.body.meta.security)).not.toContain('REDACTED');
  });

  test('labelled _include results are removed', async () => {
    const q = { patient: [PATIENT_A], _include: ['MedicationRequest:medication'] };
    const third = await call(WHO.thirdPartySelf, 'GET', 'MedicationRequest', q);
    const thirdIds = (third.body.entry ?? []).map((e: any) => e.resource.id);
    expect(thirdIds).toContain(IDS.medReqPsy);
    expect(thirdIds).not.toContain(IDS.medPsy);
    // A Medication belongs to no patient, so no self-access: the user needs the grant too.
    const self = await call(WHO.portalSelf, 'GET', 'MedicationRequest', q);
    expect((self.body.entry ?? []).map((e: any) => e.resource.id)).not.toContain(IDS.medPsy);
    const cleared = await call(WHO.caregiverRp1, 'GET', 'MedicationRequest', q);
    expect((cleared.body.entry ?? []).map((e: any) => e.resource.id)).toContain(IDS.medPsy);
  });

  test('history of a labelled resource is withheld', async () => {
    const r = await call(WHO.thirdPartySelf, 'GET', `Observation/${IDS.obsPsy}/_history`);
    expect(r.text).not.toContain(IDS.obsPsy + '"');
    expect(r.body?.entry ?? []).toHaveLength(0);
  });

  test('batch results: the labelled entry answers 404, the rest 200', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'GET', url: `Observation/${IDS.obsPsy}` } }, { request: { method: 'GET', url: `Observation/${SEED_IDS.obsAVitals}` } }],
    };
    const r = await h.proxy(
      h.event({ method: 'POST', path: null, body: bundle }, {
        sub: 'u', clientId: CLIENTS.thirdParty, scope: PATIENT_SCOPE, patient: PATIENT_A, fhirUser: `Patient/${PATIENT_A}`, tier: 's', jti: 'j', labels: '',
      }),
    );
    const body = JSON.parse(r.body);
    expect(body.entry[0].response.status).toBe('404');
    expect(body.entry[0].resource).toBeUndefined();
    expect(body.entry[1].response.status).toBe('200');
  });

  /** A PSY-labelled Observation of patient A, to create. */
  const labelled = {
    resourceType: 'Observation',
    meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' }] },
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '44249-1' }] },
    subject: { reference: `Patient/${PATIENT_A}` },
  };

  test('writes: a caller cannot create data carrying a label it may not see', async () => {
    const third = await call(WHO.thirdPartySelf, 'POST', 'Observation', undefined, labelled);
    expect(third.status).toBe(403);
    const portal = await call(WHO.portalSelf, 'POST', 'Observation', undefined, labelled);
    expect(portal.status).toBe(201);
  });

  test('write and element Consent decisions name the Consent in the AuditEvent', async () => {
    const write = await call(WHO.caregiverRp2, 'POST', 'Observation', undefined, labelled);
    expect(write.status).toBe(403);
    expect(decisions(write.audits)).toContainEqual({ decision: 'deny', rule: 'write:Consent/consent-a-general#provision.provision[0]', what: 'Consent/consent-a-general' });
    const element = await call(WHO.caregiverRp2, 'GET', `Observation/${IDS.obsInline}`);
    expect(element.status).toBe(200);
    expect(element.text).not.toContain('depression');
    expect(decisions(element.audits)).toContainEqual({ decision: 'deny', rule: 'element:Consent/consent-a-general#provision.provision[0]', what: 'Consent/consent-a-general' });
  });

  test('writes: an unconfined caller cannot overwrite a record it may not see', async () => {
    const plain = { resourceType: 'Observation', id: IDS.obsSud, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1-8' }] }, subject: { reference: `Patient/${PATIENT_A}` } };
    const r = await call(WHO.prac2Part2, 'PUT', `Observation/${IDS.obsSud}`, undefined, plain);
    expect(r.status).toBe(404);
    const del = await call(WHO.prac2Part2, 'DELETE', `Observation/${IDS.obsSud}`);
    expect(del.status).toBe(404);
    const conditional = await call(WHO.prac1Part2, 'DELETE', 'Observation', { code: ['1-8'] });
    expect(conditional.status).toBe(403);
  });

  test('payer: B (malformed consent) nothing released, A (denied) withheld', async () => {
    const a = await call(WHO.payer, 'GET', 'Observation', { patient: [PATIENT_A] });
    expect(a.body.entry ?? []).toHaveLength(0);
    const b = await call(WHO.payer, 'GET', 'Observation', { patient: [PATIENT_B] });
    expect(b.body.entry ?? []).toHaveLength(0);
    expect(b.text).not.toContain(SEED_IDS.obsBVitals);
    expect(decisions(b.audits).some((x) => x.decision === 'deny' && x.rule === 'consent:unavailable')).toBe(true);
  });

  test.each([
    ['an unlabelled record', SEED_IDS.obsBVitals],
    ['a labelled record', IDS.obsBPsy],
  ])('malformed Consent of B: %s is not released (403, consent unknown)', async (_what, id) => {
    const r = await call(WHO.prac1Part2, 'GET', `Observation/${id}`);
    expect(r.status).toBe(403);
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(r.text).not.toContain(id);
    expect(decisions(r.audits).some((x) => x.decision === 'deny' && x.rule === 'consent:unavailable')).toBe(true);
  });
});
