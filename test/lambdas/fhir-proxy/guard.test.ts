/** The request guard: work done once per proxy or once per resource, not per request or per patient. */
import * as consentModule from '../../../lambdas/fhir-proxy/consent';
import { ConsentCache, parseConsent } from '../../../lambdas/fhir-proxy/consent';
import { guardApps, RequestGuard } from '../../../lambdas/fhir-proxy/guard';
import { LabelIndex } from '../../../lambdas/fhir-proxy/labels';
import type { Access } from '../../../lambdas/fhir-proxy/access';
import { parseScopes } from '../../../lambdas/shared/smart-scopes';
import { APPS, CLIENTS, POLICY } from '../../e2e/fixtures/consent-seed';

const NOW = Date.parse('2025-06-01T00:00:00Z');

function access(clientId: string, labels: string[], user?: Access['user']): Pick<Access, 'caller' | 'patientId' | 'user' | 'options'> {
  return {
    caller: { sub: 'user-1', clientId, scopes: parseScopes('user/Observation.rs'), tier: 'standard', jti: 'j', labels },
    ...(user ? { user } : {}),
    options: { readableNonCompartmentTypes: new Set(), confidentialClientIds: new Set(), referenceBaseUrls: ['https://fhir.example.org/r4'] },
  };
}

afterEach(() => jest.restoreAllMocks());

test('app label grants are expanded once, when the apps are prepared, not per request', () => {
  const index = new LabelIndex(POLICY);
  const apps = guardApps(index, APPS);
  expect(apps.get(CLIENTS.portal)?.cleared.has('PSY')).toBe(true);
  const expand = jest.spyOn(index, 'expand');
  for (let i = 0; i < 3; i++) new RequestGuard({ index, apps, now: NOW }, access(CLIENTS.portal, ['behavioral-health']));
  // Only the user's labels, once per request.
  expect(expand).toHaveBeenCalledTimes(3);
  for (const [labels] of expand.mock.calls) expect(labels).toEqual(['behavioral-health']);
});

test('a resource of several patients: its Consent facts are computed once, not per patient', async () => {
  const index = new LabelIndex(POLICY);
  const consentOf = (patient: string) =>
    parseConsent({
      resourceType: 'Consent',
      id: `c-${patient}`,
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      patient: { reference: `Patient/${patient}` },
      provision: { type: 'permit' },
    });
  const consents = new ConsentCache({
    ttlMs: 0,
    fetch: async (ids) => new Map(ids.map((id) => [id, { kind: 'consents' as const, consents: [consentOf(id)] }])),
  });
  const guard = new RequestGuard({ index, apps: guardApps(index, APPS), consents, now: NOW }, access(CLIENTS.clinician, [], { resourceType: 'Practitioner', id: 'prac-1' }));
  await guard.load(['p1', 'p2', 'p3']);
  const facts = jest.spyOn(consentModule, 'resourceFacts');
  const resource = { resourceType: 'Observation', id: 'o1', subject: { reference: 'Patient/p1' }, performer: [{ reference: 'Patient/p2' }, { reference: 'Patient/p3' }] };
  expect(guard.view(resource, ['p1', 'p2', 'p3']).visible).toBe(true);
  expect(facts).toHaveBeenCalledTimes(1);
  expect(guard.decisions().map((d) => d.patientId)).toEqual(['p1', 'p2', 'p3']);
});
