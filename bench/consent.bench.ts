/**
 * Consent and label figures: a 1,000-entry search Bundle of one patient (a third of it labelled
 * PSY, R or SUD) through the whole proxy with `policies/labels.json` and 20 Consent resources
 * (nested provisions on labels, actors, purposes; cached, as after the first request of a
 * container) against the proxy's unlabelled filtering of the same Bundle (no label policy, no
 * Consent), interleaved in one run as `proxy.bench.ts` does. Also the guard alone: evaluating
 * the 20 Consents for the 1,000 resources.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { StdoutAuditSink } from '../lambdas/fhir-proxy/audit';
import { ConsentCache, consentsByPatient } from '../lambdas/fhir-proxy/consent';
import { guardApps, RequestGuard } from '../lambdas/fhir-proxy/guard';
import { LabelIndex } from '../lambdas/fhir-proxy/labels';
import { callerFromAuthorizer, resolveAccess, type Access } from '../lambdas/fhir-proxy/access';
import { createProxy, type FhirProxy } from '../lambdas/fhir-proxy/proxy';
import { loadLabelPolicy } from '../policies/label-policy';
import { fmt, median, timeRuns } from './stats';

const DATASTORE = 'https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const CONF = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const APP = { system: 'https://fhir.example.org/sid/smart-app', value: 'portal' };

function observation(i: number): Record<string, unknown> {
  const security = i % 3 === 0 ? [{ system: ACT, code: ['PSY', 'SUD', 'HIV'][i % 9 === 0 ? 0 : i % 9 === 3 ? 1 : 2] }, { system: CONF, code: 'R' }] : undefined;
  return {
    resourceType: 'Observation',
    id: `obs-${i}`,
    meta: { versionId: '1', lastUpdated: '2024-01-02T10:00:00.000Z', ...(security ? { security } : {}) },
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
    subject: { reference: 'Patient/pat-a' },
    // Dates spread over 2019–2026 (one a day), so the Consents' dataPeriod (from 2023) splits them.
    effectiveDateTime: new Date(Date.UTC(2019, 0, 1) + i * 2.9 * 86_400_000).toISOString(),
    valueQuantity: { value: 60 + (i % 40), unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

function consents(): Record<string, unknown>[] {
  return Array.from({ length: 20 }, (_, i) => ({
    resourceType: 'Consent',
    id: `consent-${i}`,
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    patient: { reference: 'Patient/pat-a' },
    provision: {
      type: 'permit',
      period: { start: '2020-01-01' },
      provision: [
        { type: 'deny', securityLabel: [{ system: ACT, code: i % 2 ? 'HIV' : 'STD' }], provision: [{ type: 'permit', actor: [{ reference: { reference: 'Patient/pat-a' } }] }] },
        { type: 'deny', actor: [{ reference: { identifier: { system: APP.system, value: `other-app-${i}` } } }] },
        { type: 'permit', purpose: [{ code: 'PATRQT' }], securityLabel: [{ system: ACT, code: 'SUD' }], dataPeriod: { start: '2023-01-01' } },
      ],
    },
  }));
}

const bundleText = JSON.stringify({
  resourceType: 'Bundle',
  type: 'searchset',
  total: 1000,
  entry: Array.from({ length: 1000 }, (_, i) => ({ fullUrl: `${DATASTORE}Observation/obs-${i}`, resource: observation(i), search: { mode: 'match' } })),
});
const consentText = JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: consents().map((resource) => ({ resource, search: { mode: 'match' } })) });

function stubFetch(): typeof fetch {
  return (async (url: string | URL) => {
    const body = String(url).includes('/Consent?') ? consentText : bundleText;
    return new Response(body, { status: 200, headers: { 'content-type': 'application/fhir+json' } });
  }) as unknown as typeof fetch;
}

const CONTEXT = { sub: 'user-a', clientId: 'portal-client', scope: 'launch/patient patient/Observation.rs', patient: 'pat-a', fhirUser: 'Patient/pat-a', tier: 'low', jti: 'j', labels: '' };

function event(): APIGatewayProxyEvent {
  return {
    httpMethod: 'GET', path: '/r4/Observation', resource: '/r4/{proxy+}', pathParameters: { proxy: 'Observation' },
    multiValueQueryStringParameters: null, queryStringParameters: null, headers: {}, multiValueHeaders: {}, body: null, isBase64Encoded: false, stageVariables: null,
    requestContext: { requestId: 'bench', identity: { sourceIp: '203.0.113.1' }, authorizer: CONTEXT } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

function proxy(labelled: boolean): FhirProxy {
  const policy = loadLabelPolicy();
  return createProxy({
    fhirBaseUrl: DATASTORE, region: 'us-east-1', credentials: CREDENTIALS, fetch: stubFetch(), publicBaseUrl: 'https://fhir.example.org/r4',
    audit: new StdoutAuditSink(() => undefined), validator: false, maxRetries: 0,
    ...(labelled ? { labels: { policy, apps: [{ clientId: 'portal-client', appId: 'portal', identifier: APP, labels: ['N', 'R', 'PSY', 'SUD', 'HIV'] }] } } : {}),
  });
}

export async function run(): Promise<void> {
  const withLabels = proxy(true);
  const plain = proxy(false);
  const ev = event();
  const a = JSON.parse((await withLabels(ev)).body) as { entry?: unknown[] };
  const b = JSON.parse((await plain(ev)).body) as { entry?: unknown[] };
  if ((b.entry ?? []).length === 0 || (a.entry ?? []).length === 0) throw new Error('bench setup: proxy answer is wrong');

  // Guard alone: 1,000 resources × 20 Consents, consents already loaded.
  const index = new LabelIndex(loadLabelPolicy());
  const parsed = consentsByPatient(JSON.parse(consentText).entry.map((e: { resource: unknown }) => e.resource), ['pat-a'], []);
  const cache = new ConsentCache({ ttlMs: 60_000, fetch: async () => parsed });
  const caller = callerFromAuthorizer(CONTEXT)!;
  const access = resolveAccess(caller, { readableNonCompartmentTypes: new Set(), confidentialClientIds: new Set(), referenceBaseUrls: [] }) as Access;
  const apps = guardApps(index, [{ clientId: 'portal-client', appId: 'portal', identifier: APP, labels: ['N', 'R', 'PSY', 'SUD', 'HIV'] }]);
  const resources = (JSON.parse(bundleText).entry as Array<{ resource: Record<string, unknown> }>).map((e) => e.resource);
  const guardRuns = await timeRuns(async () => {
    const guard = new RequestGuard({ index, apps, consents: cache, now: Date.now() }, access);
    await guard.load(['pat-a']);
    for (const r of resources) guard.view(r, ['pat-a']);
  }, 40, 5);

  const rounds = 30;
  const labelledRuns: number[] = [];
  const plainRuns: number[] = [];
  const ratios: number[] = [];
  await timeRuns(() => withLabels(ev), 10, 0);
  await timeRuns(() => plain(ev), 10, 0);
  for (let i = 0; i < rounds; i++) {
    const l = await timeRuns(() => withLabels(ev), 5, 1);
    const p = await timeRuns(() => plain(ev), 5, 1);
    labelledRuns.push(...l);
    plainRuns.push(...p);
    ratios.push(median(l) / median(p));
  }
  console.log(`1,000-entry search Bundle of one patient, 20 Consent resources (cached), ${(a.entry ?? []).length} entries returned; ${rounds} interleaved rounds of 5 calls:`);
  console.log(`  proxy with labels + Consent (policies/labels.json)        ${fmt(median(labelledRuns))} median`);
  console.log(`  proxy without a label policy (built-in check), same Bundle ${fmt(median(plainRuns))} median (${(b.entry ?? []).length} returned)`);
  console.log(`  ratio                                                      ${median(ratios).toFixed(2)}× (median of per-round ratios)`);
  console.log(`  guard alone: 20 Consents × 1,000 resources                 ${fmt(median(guardRuns))} median`);
}
