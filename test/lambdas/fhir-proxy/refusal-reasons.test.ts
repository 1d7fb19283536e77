/**
 * The reason of every refusal, as the per-app metrics record it: each refusal states its reason
 * where it is decided (`Denial.reason`), and `trace.ts` records that reason, never one looked up
 * from the refusal's text. Table-driven through the proxy (two harnesses: one plain, one with the
 * label policy and the consent scenarios' Consents), each case pinning the status, the
 * OperationOutcome text (unchanged) and the reason; then the trace on its own: a reason is the
 * refusal's whatever its text says.
 */
import { randomUUID } from 'crypto';
import type { DenialReason, RequestRecord } from '../../../lambdas/shared/app-metrics';
import { refuse, type Denial } from '../../../lambdas/fhir-proxy/access';
import { HealthLakeClient } from '../../../lambdas/fhir-proxy/healthlake-client';
import { ACT_CODE_SYSTEM } from '../../../lambdas/fhir-proxy/labels';
import { PATCH_ERRORS } from '../../../lambdas/fhir-proxy/patch';
import { CONSENT_UNKNOWN } from '../../../lambdas/fhir-proxy/responses';
import { metricsRecord, newTrace, traceDenial } from '../../../lambdas/fhir-proxy/trace';
import { APPS, CLIENTS, consent, CONSENT_SEED, IDS, POLICY } from '../../e2e/fixtures/consent-seed';
import { PATIENT_A, PATIENT_B, SEED_IDS, observationFor } from '../../e2e/fixtures/seed';
import {
  CONFIDENTIAL_CLIENT, CREDENTIALS, PUBLIC_CLIENT, REGION, authorizerContext, patientClaims, startHarness, type CallSpec, type Harness,
} from '../../e2e/proxy-harness';

const records: RequestRecord[] = [];
const recorder = { record: (r: RequestRecord) => void records.push(r), flush: () => undefined };

/** Without labels and Consent. */
let h: Harness;
/** With the label policy, the consent scenarios' Consents and one denying prac-1 `correct` on ETH. */
let labelled: Harness;

const ETH = { system: ACT_CODE_SYSTEM, code: 'ETH' };
const PSY = { system: ACT_CODE_SYSTEM, code: 'PSY' };
const CORRECT = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'correct' }] };
/** An ETH-labelled Observation of A that prac-1 may read but not change. */
const ETH_OBS = 'obs-a-eth-reasons';

const obsFor = observationFor;
const transaction = (entry: unknown[]) => ({ resourceType: 'Bundle', type: 'transaction', entry });
const jsonPatch = (ops: unknown[]) => ({ body: JSON.stringify(ops), headers: { 'Content-Type': 'application/json-patch+json' } });

beforeAll(async () => {
  h = await startHarness({ metrics: recorder });
  labelled = await startHarness({
    metrics: recorder,
    labels: { policy: POLICY, apps: APPS, consentCacheTtlMs: 0 },
    confidentialClientIds: [CONFIDENTIAL_CLIENT, CLIENTS.payer],
  });
  const client = new HealthLakeClient({ baseUrl: labelled.server.baseUrl, region: REGION, credentials: CREDENTIALS, maxRetries: 0 });
  const seed = [
    ...CONSENT_SEED,
    consent('consent-a-writes-reasons', PATIENT_A, {
      provision: [{ type: 'deny', action: [CORRECT], securityLabel: [ETH], actor: [{ reference: { reference: 'Practitioner/prac-1' } }] }],
    }),
    { ...obsFor(PATIENT_A), id: ETH_OBS, meta: { security: [ETH] } },
    { ...obsFor(PATIENT_A), id: 'obs-a-plain-reasons' },
  ];
  for (const r of seed) {
    const res = await client.request({ method: 'PUT', path: `${String(r.resourceType)}/${String(r.id)}`, body: r });
    if (res.status >= 300) throw new Error(`seed failed: ${String(r.resourceType)}/${String(r.id)} ${res.status}`);
  }
});
afterAll(async () => {
  await h.close();
  await labelled.close();
});

const PATIENT_OBS_ONLY = 'launch/patient patient/Observation.crus patient/Patient.rs';
const SYSTEM = (scope: string) => ({ client_id: CONFIDENTIAL_CLIENT, scope, patient: undefined, fhirUser: undefined });
const PRAC_ONE = { clientId: CLIENTS.clinician, scope: 'openid fhirUser user/Observation.cruds', fhirUser: 'Practitioner/prac-1', labels: 'part2-program behavioral-health' };
const PRAC_TWO = { clientId: CLIENTS.clinician, scope: 'openid fhirUser user/Observation.cruds', fhirUser: 'Practitioner/prac-2', labels: 'part2-program' };
const PATIENT_SCOPE = 'launch/patient patient/Observation.rs patient/Patient.rs';
const CAREGIVER = { clientId: CLIENTS.portal, scope: PATIENT_SCOPE, patient: PATIENT_A, fhirUser: 'RelatedPerson/rp-2', labels: 'behavioral-health' };
const THIRD_PARTY = { clientId: CLIENTS.thirdParty, scope: PATIENT_SCOPE, patient: PATIENT_A, fhirUser: `Patient/${PATIENT_A}` };
const PAYER = { clientId: CLIENTS.payer, sub: CLIENTS.payer, scope: 'system/Observation.rs system/Patient.rs' };

interface Case {
  readonly kind: string;
  /** A token call to the plain harness, or one with this authorizer context (the authorizer is not run). */
  readonly spec: CallSpec;
  readonly as?: Parameters<typeof authorizerContext>[0];
  /** The harness of a call with `as`. @default labelled */
  readonly plain?: true;
  readonly status: number;
  /** The OperationOutcome text, as it has always been. */
  readonly text: string;
  readonly reason: DenialReason;
}

const CASES: Case[] = [
  // Scope
  { kind: 'scope: no grant for the type', spec: { method: 'GET', path: `Condition/${SEED_IDS.condA}`, claims: patientClaims(PATIENT_A, PATIENT_SCOPE) }, status: 403, text: 'Scope does not permit this interaction', reason: 'scope' },
  { kind: 'scope: no FHIR resource scope', as: { clientId: PUBLIC_CLIENT, scope: 'launch/patient openid fhirUser', patient: PATIENT_A, fhirUser: `Patient/${PATIENT_A}` }, plain: true, spec: { method: 'GET', path: `Observation/${SEED_IDS.obsAVitals}` }, status: 403, text: 'No FHIR resource scope', reason: 'scope' },
  { kind: 'scope: system scopes of a public client', spec: { method: 'GET', path: 'Observation', claims: { client_id: PUBLIC_CLIENT, scope: 'system/Observation.rs', patient: undefined, fhirUser: undefined } }, status: 403, text: 'System scopes need a confidential client', reason: 'scope' },
  { kind: 'scope: a written resource outside a granular restriction (patient context)', spec: { method: 'POST', path: 'Observation', body: obsFor(PATIENT_A), claims: patientClaims(PATIENT_A, 'patient/Observation.crus?category=laboratory') }, status: 403, text: 'Resource must be in the patient compartment', reason: 'scope' },
  { kind: 'scope: a transaction entry without a grant', spec: { method: 'POST', path: null, body: transaction([{ resource: { resourceType: 'Condition', subject: { reference: `Patient/${PATIENT_A}` } }, request: { method: 'POST', url: 'Condition' } }]), claims: patientClaims(PATIENT_A, PATIENT_OBS_ONLY) }, status: 403, text: 'A transaction entry was refused', reason: 'scope' },
  // Compartment
  { kind: 'compartment: another patient by id', spec: { method: 'GET', path: `Patient/${PATIENT_B}` }, status: 403, text: 'Access to another patient is not allowed', reason: 'compartment' },
  { kind: 'compartment: a search naming another patient', spec: { method: 'GET', path: 'Observation', query: { subject: [`Patient/${PATIENT_B}`] } }, status: 403, text: 'Search names another patient', reason: 'compartment' },
  { kind: "compartment: another patient's resource, withheld", spec: { method: 'GET', path: `Observation/${SEED_IDS.obsBVitals}` }, status: 404, text: 'Resource not found', reason: 'compartment' },
  { kind: 'compartment: system-level search by a patient token', spec: { method: 'GET', path: null, query: { _type: ['Observation'] } }, status: 403, text: 'System-level search and history are not allowed for this token', reason: 'compartment' },
  { kind: 'compartment: a transaction entry for another patient', spec: { method: 'POST', path: null, body: transaction([{ resource: obsFor(PATIENT_B), request: { method: 'POST', url: 'Observation' } }]) }, status: 403, text: 'A transaction entry was refused', reason: 'compartment' },
  { kind: "compartment: a transaction update of another patient's resource (its stored version withheld)", spec: { method: 'POST', path: null, body: transaction([{ resource: { ...obsFor(PATIENT_A), id: SEED_IDS.obsBLab }, request: { method: 'PUT', url: `Observation/${SEED_IDS.obsBLab}` } }]) }, status: 404, text: 'A transaction entry was refused', reason: 'compartment' },
  // Confined callers' writes
  { kind: 'confined write: conditional create (patient context)', spec: { method: 'POST', path: 'Observation', body: obsFor(PATIENT_A), headers: { 'If-None-Exist': 'identifier=urn:x|1' } }, status: 403, text: 'Conditional create is not allowed for this token', reason: 'compartment' },
  { kind: 'confined write: conditional create (granular scopes, no patient)', spec: { method: 'POST', path: 'Observation', body: obsFor(PATIENT_A), headers: { 'If-None-Exist': 'identifier=urn:x|1' }, claims: SYSTEM('system/Observation.crus?category=laboratory') }, status: 403, text: 'Conditional create is not allowed for this token', reason: 'scope' },
  { kind: 'confined write: PATCH (patient context)', spec: { method: 'PATCH', path: `Observation/${SEED_IDS.obsAVitals}`, ...jsonPatch([{ op: 'replace', path: '/status', value: 'amended' }]) }, status: 403, text: 'PATCH is not allowed for this token; use update', reason: 'compartment' },
  // Conditional references and nested resources
  { kind: 'conditional reference (patient context)', spec: { method: 'POST', path: 'Observation', body: obsFor(PATIENT_A, { performer: [{ reference: 'Practitioner?identifier=urn:x|1' }] }) }, status: 403, text: 'Conditional references are not allowed for this token', reason: 'compartment' },
  { kind: 'nested resource: a contained Patient (patient context)', spec: { method: 'POST', path: 'Observation', body: obsFor(PATIENT_A, { contained: [{ resourceType: 'Patient', id: 'p1' }] }) }, status: 403, text: 'Resource must be in the patient compartment', reason: 'compartment' },
  { kind: "nested resource: another patient's contained Observation (patient context)", spec: { method: 'POST', path: 'Observation', body: obsFor(PATIENT_A, { contained: [{ ...obsFor(PATIENT_B), id: 'o1' }] }) }, status: 403, text: 'Resource must be in the patient compartment', reason: 'compartment' },
  // Labels
  { kind: 'label: an app not cleared for the record, withheld', as: THIRD_PARTY, spec: { method: 'GET', path: `Observation/${IDS.obsPsy}` }, status: 404, text: 'Resource not found', reason: 'label' },
  { kind: 'label: a written label the caller may not write', as: PRAC_TWO, spec: { method: 'POST', path: 'Observation', body: obsFor(PATIENT_A, { meta: { security: [PSY] } }) }, status: 403, text: 'Scope restrictions do not cover the resource', reason: 'label' },
  { kind: 'label: a conditional write while labels are enforced', as: PRAC_TWO, spec: { method: 'PUT', path: 'Observation', query: { identifier: ['urn:x|1'] }, body: obsFor(PATIENT_A) }, status: 403, text: 'Conditional writes are not allowed while security labels are enforced', reason: 'label' },
  { kind: 'label: a JSON Patch result the caller may not write', as: PRAC_TWO, spec: { method: 'PATCH', path: 'Observation/obs-a-plain-reasons', ...jsonPatch([{ op: 'add', path: '/meta', value: { security: [PSY] } }]) }, status: 403, text: PATCH_ERRORS.notWritable, reason: 'label' },
  // Consent
  { kind: "consent: the patient's Consent denies the caller, withheld", as: CAREGIVER, spec: { method: 'GET', path: `Observation/${IDS.obsPsy}` }, status: 404, text: 'Resource not found', reason: 'consent' },
  { kind: 'consent: a Consent that cannot be evaluated', as: PAYER, spec: { method: 'GET', path: `Observation/${SEED_IDS.obsBVitals}` }, status: 403, text: CONSENT_UNKNOWN.malformed, reason: 'consent' },
  { kind: "consent: the Consent denies changing a record (its text speaks of labels)", as: PRAC_ONE, spec: { method: 'PUT', path: `Observation/${ETH_OBS}`, body: { ...obsFor(PATIENT_A), id: ETH_OBS } }, status: 403, text: 'The resource has labels the caller may not change', reason: 'consent' },
  { kind: 'consent: a conditional reference while Consent is evaluated (unconfined caller)', as: PRAC_TWO, spec: { method: 'POST', path: 'Observation', body: obsFor(PATIENT_A, { performer: [{ reference: 'Practitioner?identifier=urn:x|1' }] }) }, status: 403, text: 'Conditional references are not allowed for this token', reason: 'consent' },
];

describe('every refusal kind records its own reason (status and text unchanged)', () => {
  test.each(CASES)('$kind → $reason', async (c) => {
    const start = records.length;
    const r = c.as ? await (c.plain ? h : labelled).callAs(authorizerContext(c.as), c.spec) : await h.call(c.spec);
    expect(r.status).toBe(c.status);
    expect(r.body?.resourceType).toBe('OperationOutcome');
    expect(r.body.issue.map((i: { diagnostics?: string }) => i.diagnostics)).toEqual([c.text]);
    expect(records.slice(start)).toEqual([expect.objectContaining({ outcome: 'denied', reason: c.reason })]);
  });

  test('a request without a verified caller is invalid-token', async () => {
    const start = records.length;
    const r = await h.call({ method: 'GET', path: `Observation/${SEED_IDS.obsAVitals}`, anonymous: true });
    expect(r.status).toBe(401);
    expect(records.slice(start)).toEqual([expect.objectContaining({ outcome: 'denied', reason: 'invalid-token' })]);
  });
});

describe('the trace records the reason the refusal carries, never one read from its text', () => {
  const REASONS: DenialReason[] = ['scope', 'compartment', 'consent', 'label', 'other'];

  test.each(REASONS)('a refusal with a message never seen before (a variable part): %s', (reason) => {
    const trace = newTrace('GET');
    traceDenial(trace, refuse(reason, 403, `Refused for request ${randomUUID()}`));
    expect(metricsRecord(trace, 403)).toMatchObject({ outcome: 'denied', reason });
    // A 404 the proxy chose is a denial too, with the same reason.
    expect(metricsRecord(trace, 404)).toMatchObject({ outcome: 'denied', reason });
  });

  test.each([
    ['No FHIR resource scope', 'consent'],
    ['Access to another patient is not allowed', 'label'],
    ['The resource has labels the caller may not change', 'consent'],
    [CONSENT_UNKNOWN.outage.replace('unavailable', 'down'), 'compartment'],
  ] as Array<[string, DenialReason]>)('the text %j says nothing: the refusal says %s', (message, reason) => {
    const trace = newTrace('GET');
    traceDenial(trace, refuse(reason, 403, message));
    expect(metricsRecord(trace, 403).reason).toBe(reason);
  });

  test('a refusal re-worded on its way out (a transaction entry) keeps its reason', () => {
    const entry = refuse('scope', 403, 'Scope does not permit this interaction');
    const trace = newTrace('POST');
    traceDenial(trace, { ...entry, message: 'A transaction entry was refused' });
    expect(metricsRecord(trace, 403).reason).toBe('scope');
  });

  test('401 is invalid-token; a withheld answer with nothing seen is other; a server 404 is no denial', () => {
    const unauthenticated = newTrace('GET');
    traceDenial(unauthenticated, refuse('invalid-token', 401, 'Authentication required'));
    expect(metricsRecord(unauthenticated, 401)).toMatchObject({ outcome: 'denied', reason: 'invalid-token' });
    const withheld = newTrace('GET');
    traceDenial(withheld, refuse('withheld', 404, 'Resource not found'));
    expect(metricsRecord(withheld, 404)).toMatchObject({ outcome: 'denied', reason: 'other' });
    expect(metricsRecord(newTrace('GET'), 404)).toMatchObject({ outcome: 'ok' });
  });

  test('the compiler makes every refusal state its reason', () => {
    // @ts-expect-error a Denial without a reason does not type-check
    const bare: Denial = { kind: 'deny', status: 403, code: 'forbidden', message: 'x', patientIds: [] };
    // @ts-expect-error refuse() takes the reason first: a refusal cannot be built without one
    const forbidden = refuse(403, 'x');
    expect([bare.kind, forbidden.kind]).toEqual(['deny', 'deny']);
  });
});
