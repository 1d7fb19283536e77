/**
 * The FHIR proxy's per-app metrics, end to end: two proxy harnesses (local SigV4 FHIR server,
 * real authorizer tokens), one plain and one with the label policy and Consents of the consent
 * scenarios, each with an `AppMetrics` recorder that flushes after every request, so each
 * call's EMF documents are its own. One record per request, its denial reason, distinct patients counted; and no line ever
 * holds a patient id, a name, a resource id, a token or any request text.
 */
import { AppMetrics, UNREGISTERED } from '../../../lambdas/shared/app-metrics';
import { authorizerEvent, bearer } from '../helpers/events';
import { HealthLakeClient } from '../../../lambdas/fhir-proxy/healthlake-client';
import { APPS, CLIENTS, CONSENT_SEED, IDS, POLICY } from '../../e2e/fixtures/consent-seed';
import { PATIENT_A, PATIENT_B, SEED_IDS } from '../../e2e/fixtures/seed';
import {
  CONFIDENTIAL_CLIENT, CREDENTIALS, PUBLIC_CLIENT, REGION, authorizerContext, patientClaims, startHarness, type CallSpec, type Harness,
} from '../../e2e/proxy-harness';

const CLIENT_APPS: Record<string, string> = {
  [PUBLIC_CLIENT]: 'patient-app',
  [CONFIDENTIAL_CLIENT]: 'backend-service',
  ...Object.fromEntries(APPS.map((a) => [a.clientId, a.appId])),
};

interface Emf {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
  [key: string]: unknown;
}

const lines: string[] = [];
/** Every token the harness signed and every request id, for the scan. */
const secrets = new Set<string>();
/** Without labels and Consent: token-based calls. */
let h: Harness;
/** With the label policy and the consent scenarios' Consents (not cached: every call reads them). */
let labelled: Harness;

const recorder = () => new AppMetrics({ service: 'fhir-proxy', clientApps: CLIENT_APPS, maxBufferedRequests: 1, sink: (l) => void lines.push(l) });

beforeAll(async () => {
  h = await startHarness({ metrics: recorder() });
  labelled = await startHarness({
    metrics: recorder(),
    labels: { policy: POLICY, apps: APPS, consentCacheTtlMs: 0 },
    confidentialClientIds: [CONFIDENTIAL_CLIENT, CLIENTS.payer],
  });
  const client = new HealthLakeClient({ baseUrl: labelled.server.baseUrl, region: REGION, credentials: CREDENTIALS, maxRetries: 0 });
  for (const r of CONSENT_SEED) {
    const res = await client.request({ method: 'PUT', path: `${String(r.resourceType)}/${String(r.id)}`, body: r });
    if (res.status >= 300) throw new Error(`seed failed: ${String(r.resourceType)}/${String(r.id)} ${res.status}`);
  }
});
afterAll(async () => {
  await h.close();
  await labelled.close();
});

/** The EMF documents one proxy call wrote. */
async function emfOf(run: () => Promise<{ status: number }>): Promise<{ status: number; docs: Emf[] }> {
  const start = lines.length;
  const { status } = await run();
  return { status, docs: lines.slice(start).map((l) => JSON.parse(l) as Emf) };
}

/** A call with a real token (the harness's authorizer), its token kept for the scan. */
function call(spec: CallSpec) {
  return emfOf(async () => {
    const token = h.issuer.sign(spec.claims ?? patientClaims());
    secrets.add(token);
    const allowed = await h.authorizer(authorizerEvent(bearer(token)));
    const event = h.event(spec, allowed.context as Record<string, string>);
    secrets.add(event.requestContext.requestId);
    const r = await h.proxy(event);
    return { status: r.statusCode };
  });
}

/** A call as an app of the consent scenarios (authorizer context built directly), by default to the labelled proxy. */
function callAs(who: Parameters<typeof authorizerContext>[0], spec: CallSpec, harness: Harness = labelled) {
  return emfOf(async () => {
    const event = harness.event(spec, authorizerContext(who));
    secrets.add(event.requestContext.requestId);
    const r = await harness.proxy(event);
    return { status: r.statusCode };
  });
}

/** The one request's figures: `{ Requests, Errors, DistinctPatients, Reason? }` and its dimensions. */
function summary(docs: readonly Emf[]) {
  expect(docs.length).toBeGreaterThanOrEqual(1);
  const main = docs.find((d) => d.Requests !== undefined)!;
  const denial = docs.find((d) => d.Reason !== undefined);
  expect(docs.filter((d) => d.Requests !== undefined)).toHaveLength(1);
  expect(main.Requests).toBe(1);
  return {
    clientId: main.ClientId,
    appId: main.AppId,
    errors: main.Errors,
    patients: main.DistinctPatients,
    reason: denial?.Reason,
    denials: denial?.Denials,
  };
}

const PATIENT_SCOPE = 'launch/patient patient/Observation.rs patient/Patient.rs';
const PORTAL_SELF = { clientId: CLIENTS.portal, scope: PATIENT_SCOPE, patient: PATIENT_A, fhirUser: `Patient/${PATIENT_A}` };

describe('proxy: one metrics record per request', () => {
  test('an allowed read: Requests 1 under the app, its patient counted once per hour', async () => {
    const first = await call({ method: 'GET', path: `Observation/${SEED_IDS.obsAVitals}` });
    expect(first.status).toBe(200);
    expect(summary(first.docs)).toEqual({ clientId: PUBLIC_CLIENT, appId: 'patient-app', errors: 0, patients: 1, reason: undefined, denials: undefined });
    const again = await call({ method: 'GET', path: `Patient/${PATIENT_A}` });
    expect(again.status).toBe(200);
    expect(summary(again.docs).patients).toBe(0);
    const labelledRead = await callAs(PORTAL_SELF, { method: 'GET', path: `Observation/${SEED_IDS.obsAVitals}` });
    expect(labelledRead.status).toBe(200);
    expect(summary(labelledRead.docs)).toMatchObject({ clientId: CLIENTS.portal, appId: 'portal', patients: 1, reason: undefined });
    for (const d of first.docs) expect(d).toMatchObject({ service: 'fhir-proxy' });
  });

  test('scope: a type the token has no scope for', async () => {
    const r = await call({ method: 'GET', path: `Condition/${SEED_IDS.condA}`, claims: patientClaims(PATIENT_A, PATIENT_SCOPE) });
    expect(r.status).toBe(403);
    expect(summary(r.docs)).toMatchObject({ clientId: PUBLIC_CLIENT, reason: 'scope', denials: 1 });
  });

  test('compartment: another patient, by name and by a resource of theirs', async () => {
    const named = await call({ method: 'GET', path: `Patient/${PATIENT_B}` });
    expect(named.status).toBe(403);
    expect(summary(named.docs).reason).toBe('compartment');
    const theirs = await call({ method: 'GET', path: `Observation/${SEED_IDS.obsBVitals}` });
    expect(theirs.status).toBe(404);
    expect(summary(theirs.docs).reason).toBe('compartment');
    const search = await call({ method: 'GET', path: 'Observation', query: { subject: [`Patient/${PATIENT_B}`] } });
    expect(search.status).toBe(403);
    expect(summary(search.docs).reason).toBe('compartment');
  });

  test('label: an app not cleared for the record', async () => {
    const r = await callAs({ clientId: CLIENTS.thirdParty, scope: PATIENT_SCOPE, patient: PATIENT_A, fhirUser: `Patient/${PATIENT_A}` }, { method: 'GET', path: `Observation/${IDS.obsPsy}` });
    expect(r.status).toBe(404);
    expect(summary(r.docs)).toMatchObject({ clientId: CLIENTS.thirdParty, appId: 'third-party', reason: 'label' });
  });

  test('consent: the patient\'s Consent denies the caregiver; a malformed Consent releases nothing', async () => {
    const caregiver = { clientId: CLIENTS.portal, scope: PATIENT_SCOPE, patient: PATIENT_A, fhirUser: 'RelatedPerson/rp-2', labels: 'behavioral-health' };
    const denied = await callAs(caregiver, { method: 'GET', path: `Observation/${IDS.obsPsy}` });
    expect(denied.status).toBe(404);
    expect(summary(denied.docs)).toMatchObject({ appId: 'portal', reason: 'consent' });
    const payer = { clientId: CLIENTS.payer, sub: CLIENTS.payer, scope: 'system/Observation.rs system/Patient.rs' };
    const withheld = await callAs(payer, { method: 'GET', path: `Observation/${SEED_IDS.obsBVitals}` });
    expect(withheld.status).toBe(403);
    expect(summary(withheld.docs)).toMatchObject({ appId: 'payer', reason: 'consent' });
    // Label first: the payer is not cleared for PSY, whatever B's Consent says.
    const psy = await callAs(payer, { method: 'GET', path: `Observation/${IDS.obsBPsy}` });
    expect(summary(psy.docs)).toMatchObject({ appId: 'payer', reason: 'label' });
  });

  test('errors: the consent service is down (503)', async () => {
    labelled.server.faults.failConsentSearch = true;
    try {
      const r = await callAs(PORTAL_SELF, { method: 'GET', path: `Observation/${IDS.obsPsy}` });
      expect(r.status).toBe(503);
      expect(summary(r.docs)).toMatchObject({ appId: 'portal', errors: 1, reason: undefined });
    } finally {
      labelled.server.faults.failConsentSearch = false;
    }
  });

  test('neither: a resource that does not exist is no denial', async () => {
    const r = await call({ method: 'GET', path: 'Observation/does-not-exist' });
    expect(r.status).toBe(404);
    expect(summary(r.docs)).toMatchObject({ errors: 0, reason: undefined });
  });

  test('a client id the recorder does not know is unregistered; no context is unregistered too', async () => {
    const stranger = await callAs({ ...PORTAL_SELF, clientId: 'someone-else' }, { method: 'GET', path: `Observation/${SEED_IDS.obsAVitals}` }, h);
    expect(summary(stranger.docs)).toMatchObject({ clientId: UNREGISTERED, appId: UNREGISTERED });
    const anonymous = await emfOf(async () => ({ status: (await h.proxy(h.event({ method: 'GET', path: `Observation/${SEED_IDS.obsAVitals}` }))).statusCode }));
    expect(anonymous.status).toBe(401);
    expect(summary(anonymous.docs)).toMatchObject({ clientId: UNREGISTERED, reason: 'invalid-token' });
  });

  test('a search spanning patients counts each patient released, never names one', async () => {
    // A client that has touched no patient yet this hour.
    const claims = { client_id: CONFIDENTIAL_CLIENT, scope: 'openid fhirUser user/Observation.rs', fhirUser: `Practitioner/${SEED_IDS.practitioner}`, patient: undefined };
    const r = await call({ method: 'GET', path: 'Observation', claims });
    expect(r.status).toBe(200);
    expect(summary(r.docs)).toMatchObject({ clientId: CONFIDENTIAL_CLIENT, appId: 'backend-service', patients: 2 });
    // The same patients again within the hour: none is new.
    const again = await call({ method: 'GET', path: 'Observation', claims });
    expect(summary(again.docs).patients).toBe(0);
  });
});

describe('proxy: no PHI in any EMF line', () => {
  test('no line holds a patient id, name, resource id, token, request id or query text', () => {
    expect(lines.length).toBeGreaterThan(10);
    const forbidden = [
      PATIENT_A, PATIENT_B, 'Alpha', 'Ann', 'Bravo', 'Ben', 'Carter', 'Dana', '555-0100', 'Example Clinic',
      ...Object.values(SEED_IDS), ...Object.values(IDS), ...CONSENT_SEED.map((r) => String(r.id)),
      'rp-2', 'RelatedPerson', 'Practitioner', 'Patient/', 'Observation', '8867-4', 'does-not-exist', 'behavioral-health', 'jti-1',
      ...secrets,
    ];
    const all = lines.join('\n');
    expect(forbidden.filter((s) => all.includes(s))).toEqual([]);
    // Every key and every string value is a dimension or a name of the EMF envelope.
    for (const line of lines) {
      const doc = JSON.parse(line) as Emf;
      const cw = doc._aws.CloudWatchMetrics[0];
      const keys = new Set(['_aws', ...cw.Dimensions.flat(), ...cw.Metrics.map((m) => m.Name)]);
      expect(Object.keys(doc).filter((k) => !keys.has(k))).toEqual([]);
      for (const k of cw.Metrics.map((m) => m.Name)) expect(typeof doc[k]).toBe('number');
      const strings = cw.Dimensions.flat().map((k) => doc[k]);
      for (const v of strings) expect([...Object.keys(CLIENT_APPS), ...Object.values(CLIENT_APPS), UNREGISTERED, 'fhir-proxy', 'scope', 'compartment', 'consent', 'label', 'invalid-token', 'other']).toContain(v);
    }
  });
});
