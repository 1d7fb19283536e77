/** Consent: parsing, provision evaluation tables, the cache; property: adding a deny provision never widens. */
import fc from 'fast-check';
import { ConsentCache, ConsentParseError, evaluateConsents, parseConsent, type ConsentRequest, type ResourceFacts } from '../../../lambdas/fhir-proxy/consent';
import { LabelIndex } from '../../../lambdas/fhir-proxy/labels';
import { loadLabelPolicy } from '../../../policies/label-policy';

const index = new LabelIndex(loadLabelPolicy());
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const NOW = Date.parse('2025-06-01T00:00:00Z');
const APP = { system: 'https://fhir.example.org/sid/smart-app', value: 'payer' };

function consent(provision: unknown, extra: Record<string, unknown> = {}) {
  return {
    resourceType: 'Consent',
    id: 'c1',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    patient: { reference: 'Patient/p1' },
    provision,
    ...extra,
  };
}

function facts(labels: string[], extra: Partial<ResourceFacts> = {}): ResourceFacts {
  return { resourceType: 'Observation', id: 'o1', labels: index.read(labels.map((code) => ({ system: ACT, code }))).rules, codes: [], date: Date.parse('2024-01-01'), ...extra };
}

const req = (over: Partial<ConsentRequest> = {}): ConsentRequest => ({ fhirUser: 'Practitioner/pr1', purposeOfUse: 'TREAT', write: false, now: NOW, ...over });
const decide = (c: unknown, f = facts([]), r = req()) => evaluateConsents([parseConsent(c)], r, f)?.decision;

describe('evaluation', () => {
  test.each([
    ['root permit', { type: 'permit' }, facts([]), req(), 'permit'],
    ['root deny', { type: 'deny' }, facts([]), req(), 'deny'],
    ['nested deny on a label overrides the root', { type: 'permit', provision: [{ type: 'deny', securityLabel: [{ system: ACT, code: 'PSY' }] }] }, facts(['PSY']), req(), 'deny'],
    ['nested deny does not touch other data', { type: 'permit', provision: [{ type: 'deny', securityLabel: [{ system: ACT, code: 'PSY' }] }] }, facts(['HIV']), req(), 'permit'],
    ['deeper permit overrides the deny above it', { type: 'permit', provision: [{ type: 'deny', securityLabel: [{ system: ACT, code: 'PSY' }], provision: [{ type: 'permit', actor: [{ reference: { reference: 'Practitioner/pr1' } }] }] }] }, facts(['PSY']), req(), 'permit'],
    ['conflict at one level: deny wins', { provision: [{ type: 'permit', actor: [{ reference: { reference: 'Practitioner/pr1' } }] }, { type: 'deny', actor: [{ reference: { reference: 'Practitioner/pr1' } }] }] }, facts([]), req(), 'deny'],
    ['actor by app identifier', { type: 'permit', provision: [{ type: 'deny', actor: [{ reference: { identifier: APP } }] }] }, facts([]), req({ appIdentifier: APP }), 'deny'],
    ['purpose of use', { provision: [{ type: 'deny', purpose: [{ code: 'HPAYMT' }] }] }, facts([]), req({ purposeOfUse: 'HPAYMT' }), 'deny'],
    ['other purpose', { provision: [{ type: 'deny', purpose: [{ code: 'HPAYMT' }] }] }, facts([]), req(), undefined],
    ['class (resource type)', { provision: [{ type: 'deny', class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Condition' }] }] }, facts([]), req(), undefined],
    ['data period outside', { provision: [{ type: 'permit', dataPeriod: { start: '2025-01-01' } }] }, facts([]), req(), undefined],
    ['data period, undated resource: a deny still applies', { provision: [{ type: 'deny', dataPeriod: { start: '2025-01-01' } }] }, facts([], { date: undefined }), req(), 'deny'],
    ['expired consent does not apply', { type: 'deny', period: { end: '2024-12-31' } }, facts([]), req(), undefined],
    ['provision period not started', { type: 'permit', provision: [{ type: 'deny', period: { start: '2030-01-01' } }] }, facts([]), req(), 'permit'],
    ['deny on R covers V', { provision: [{ type: 'deny', securityLabel: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] }] }, { ...facts([]), labels: index.read([{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'V' }]).rules }, req(), 'deny'],
  ])('%s', (_n, provision, f, r, want) => {
    expect(decide(consent(provision), f, r)).toBe(want);
  });

  test('inactive or non-privacy consents do not apply', () => {
    expect(decide(consent({ type: 'deny' }, { status: 'inactive' }))).toBeUndefined();
    expect(decide(consent({ type: 'deny' }, { scope: { coding: [{ code: 'research' }] } }))).toBeUndefined();
  });

  test('the deciding rule names the provision', () => {
    const d = evaluateConsents([parseConsent(consent({ type: 'permit', provision: [{ type: 'permit' }, { type: 'deny', securityLabel: [{ system: ACT, code: 'PSY' }] }] }))], req(), facts(['PSY']));
    expect(d).toMatchObject({ decision: 'deny', rule: 'Consent/c1#provision.provision[1]', labels: ['PSY'] });
  });

  test.each([
    ['unknown provision type', consent({ type: 'maybe' })],
    ['bad period', consent({ type: 'permit', period: { end: 'yesterday' } })],
    ['actor without reference', consent({ type: 'permit', actor: [{ role: {} }] })],
    ['no patient', { ...consent({ type: 'permit' }), patient: undefined }],
    ['provision not an object', consent(['permit'])],
  ])('malformed: %s', (_n, c) => {
    expect(() => parseConsent(c)).toThrow(ConsentParseError);
  });
});

describe('cache', () => {
  test('cached for the TTL, refetched after; failures are not cached', async () => {
    let now = 0;
    let calls = 0;
    let fail = true;
    const cache = new ConsentCache({
      ttlMs: 60_000,
      clock: () => now,
      fetch: async (ids) => {
        calls++;
        if (fail) throw new Error('down');
        return new Map(ids.map((id) => [id, { kind: 'consents' as const, consents: [] }]));
      },
    });
    expect((await cache.get(['p1'])).get('p1')).toEqual({ kind: 'unavailable' });
    fail = false;
    expect((await cache.get(['p1'])).get('p1')?.kind).toBe('consents');
    await cache.get(['p1']);
    expect(calls).toBe(2);
    now = 60_000;
    await cache.get(['p1']);
    expect(calls).toBe(3);
    expect(() => new ConsentCache({ ttlMs: 61_000, fetch: async () => new Map() })).toThrow();
  });
});

describe('property: adding a deny provision never widens', () => {
  const labelCodes = ['PSY', 'HIV', 'SUD'];
  const actors = ['Practitioner/pr1', 'Practitioner/pr2'];
  const prov: fc.Arbitrary<any> = fc.letrec((tie) => ({
    p: fc.record(
      {
        type: fc.constantFrom('permit', 'deny'),
        securityLabel: fc.subarray(labelCodes, { minLength: 1 }).map((cs) => cs.map((code) => ({ system: ACT, code }))),
        actor: fc.subarray(actors, { minLength: 1 }).map((as) => as.map((reference) => ({ reference: { reference } }))),
        provision: fc.array(tie('p'), { maxLength: 2 }),
      },
      { requiredKeys: ['type'] },
    ),
  })).p;
  test('for any consent, resource and caller', () => {
    fc.assert(
      // The added provision is a deny without exceptions of its own (a deny holding nested
      // permits is a permit too, and may rightly widen).
      fc.property(prov, prov.map((p) => ({ ...p, type: 'deny', provision: [] })), fc.array(fc.nat({ max: 3 }), { maxLength: 3 }), fc.subarray(labelCodes), fc.constantFrom(...actors), (root, extra, path, labels, who) => {
        const before = decide(consent(root), facts(labels), req({ fhirUser: who }));
        // Insert the deny provision anywhere in the tree.
        const copy = structuredClone(root);
        let node = copy;
        for (const i of path) {
          if (!node.provision || node.provision.length === 0) break;
          node = node.provision[i % node.provision.length];
        }
        node.provision = [...(node.provision ?? []), extra];
        const after = decide(consent(copy), facts(labels), req({ fhirUser: who }));
        if (before !== 'permit') expect(after).not.toBe('permit');
      }),
      { numRuns: 300 },
    );
  });
});
