/** Consent: parsing, provision evaluation tables, the cache; property: adding a deny provision never widens. */
import fc from 'fast-check';
import { ConsentCache, ConsentParseError, evaluateConsents, parseConsent, resourceFacts, resourceLinks, type ConsentRequest, type ResourceFacts } from '../../../lambdas/fhir-proxy/consent';
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

/** A resolved user from `Type/id`. */
const as = (ref: string) => ({ resourceType: ref.split('/')[0], id: ref.split('/')[1] });
const req = (over: Partial<ConsentRequest> = {}): ConsentRequest => ({ user: as('Practitioner/pr1'), purposeOfUse: 'TREAT', write: false, now: NOW, ...over });
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

describe('data.meaning (R4 consent-data-meaning)', () => {
  const BASE = 'https://fhir.example.org/r4';
  // The resource evaluated: Observation/o1 of Practitioner/pr9, part of Encounter/e1.
  const observation = (extra: Record<string, unknown> = {}) => ({
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    subject: { reference: 'Patient/p1' },
    encounter: { reference: `${BASE}/Encounter/e1` },
    performer: [{ reference: 'Practitioner/pr9/_history/2' }],
    ...extra,
  });
  const of = (resource: Record<string, unknown>) => resourceFacts(resource, index.read(undefined).rules, [BASE]);
  const data = (type: 'permit' | 'deny', meaning: string, reference: string) => consent({ provision: [{ type, data: [{ meaning, reference: { reference } }] }] });

  test.each([
    // [meaning, D, permit decides, deny decides]
    ['instance: the resource itself', 'instance', 'Observation/o1', 'permit', 'deny'],
    ['instance: another resource', 'instance', 'Encounter/e1', undefined, undefined],
    ['related: the resource itself', 'related', 'Observation/o1', 'permit', 'deny'],
    ['related: another resource (what D refers to is not known)', 'related', 'Encounter/e1', undefined, 'deny'],
    ['dependents: the resource refers to D', 'dependents', 'Encounter/e1', 'permit', 'deny'],
    ['dependents: the resource does not refer to D', 'dependents', 'Encounter/e2', undefined, undefined],
    ['authoredby: D performed it (versioned reference)', 'authoredby', 'Practitioner/pr9', 'permit', 'deny'],
    ['authoredby: someone else did', 'authoredby', 'Practitioner/pr1', undefined, undefined],
    ['authoredby: the subject is not an author', 'authoredby', 'Patient/p1', undefined, undefined],
  ])('%s', (_n, meaning, reference, permit, deny) => {
    expect(decide(data('permit', meaning, reference), of(observation()))).toBe(permit);
    expect(decide(data('deny', meaning, reference), of(observation()))).toBe(deny);
  });

  test('an absolute D is local only under a known base; elsewhere a permit does not match it', () => {
    const absolute = data('permit', 'instance', `${BASE}/Observation/o1`);
    expect(evaluateConsents([parseConsent(absolute, [BASE])], req(), of(observation()))?.decision).toBe('permit');
    expect(evaluateConsents([parseConsent(absolute)], req(), of(observation()))).toBeUndefined();
    expect(evaluateConsents([parseConsent(data('deny', 'instance', `${BASE}/Observation/o1`))], req(), of(observation()))?.decision).toBe('deny');
  });

  test('undetermined references: a deny applies, a permit does not', () => {
    // A logical (identifier-only) reference could be D.
    const logical = of(observation({ basedOn: [{ identifier: { system: 'urn:x', value: '1' } }] }));
    expect(decide(data('deny', 'dependents', 'ServiceRequest/s1'), logical)).toBe('deny');
    expect(decide(data('permit', 'dependents', 'ServiceRequest/s1'), logical)).toBeUndefined();
    // No authorship element, or one that is not a local literal reference.
    for (const r of [observation({ performer: undefined }), observation({ performer: [{ display: 'Dr X' }] }), observation({ performer: [{ reference: 'https://other.example.org/Practitioner/pr1' }] })]) {
      expect(decide(data('deny', 'authoredby', 'Practitioner/pr1'), of(r))).toBe('deny');
      expect(decide(data('permit', 'authoredby', 'Practitioner/pr1'), of(r))).toBeUndefined();
    }
    // performer[].actor (Procedure, Immunization, …) and recorder count as authorship.
    const procedure = of({ resourceType: 'Procedure', id: 'pc1', recorder: { reference: 'Practitioner/pr2' }, performer: [{ actor: { reference: 'Practitioner/pr1' } }] });
    expect(decide(data('permit', 'authoredby', 'Practitioner/pr1'), procedure)).toBe('permit');
    expect(decide(data('permit', 'authoredby', 'Practitioner/pr2'), procedure)).toBe('permit');
    // Facts without references (a caller that did not provide them): undetermined.
    const bare = { ...of(observation()), links: undefined };
    expect(decide(data('deny', 'dependents', 'Encounter/e2'), bare)).toBe('deny');
    expect(decide(data('permit', 'dependents', 'Encounter/e1'), bare)).toBeUndefined();
  });

  test('references are read anywhere in the resource, contained ones included, and only when needed', () => {
    const links = resourceLinks({ resourceType: 'Observation', id: 'o1', contained: [{ resourceType: 'Specimen', id: 's', subject: { reference: 'Patient/p2' } }], specimen: { reference: '#s' } }, [BASE]);
    expect([...links.references]).toEqual(['Patient/p2']);
    expect(links.opaque).toBe(false);
    let read = 0;
    const f = of(observation());
    const counted = { ...f, links: () => (read++, f.links!()) };
    decide(consent({ type: 'permit', provision: [{ type: 'deny', securityLabel: [{ system: ACT, code: 'PSY' }] }] }), counted);
    decide(data('deny', 'instance', 'Observation/o1'), counted);
    expect(read).toBe(0);
  });

  test.each([
    ['no meaning', { type: 'permit', data: [{ reference: { reference: 'Observation/o1' } }] }],
    ['unknown meaning', { type: 'permit', data: [{ meaning: 'everything', reference: { reference: 'Observation/o1' } }] }],
  ])('malformed: %s', (_n, provision) => {
    expect(() => parseConsent(consent(provision))).toThrow(ConsentParseError);
  });
});

describe('actor.role narrows a permit, never a deny', () => {
  const ROLE_CLASS = 'http://terminology.hl7.org/CodeSystem/v3-RoleClass';
  const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
  const SECURITY_ROLE = 'http://terminology.hl7.org/CodeSystem/extra-security-role-type';
  const actor = (system: string, code: string, reference = 'Practitioner/pr1') => [{ role: { coding: [{ system, code }] }, reference: { reference } }];
  test.each([
    ['PROV for a Practitioner: permit', 'permit', actor(ROLE_CLASS, 'PROV'), req(), 'permit'],
    ['PAT for a Practitioner: no permit', 'permit', actor(ROLE_CLASS, 'PAT'), req(), undefined],
    ['PAT for a Practitioner: the deny still applies', 'deny', actor(ROLE_CLASS, 'PAT'), req(), 'deny'],
    ['PRCP (participation, not checkable): by reference', 'permit', actor(PARTICIPATION, 'PRCP'), req(), 'permit'],
    ['humanuser without a user: no permit', 'permit', actor(SECURITY_ROLE, 'humanuser'), req({ user: undefined, appIdentifier: APP }), undefined],
    ['datasubject, the patient: permit', 'permit', actor(SECURITY_ROLE, 'datasubject', 'Patient/p1'), req({ user: as('Patient/p1') }), 'permit'],
    ['datasubject, someone else named as the actor: no permit', 'permit', actor(SECURITY_ROLE, 'datasubject', 'RelatedPerson/r1'), req({ user: as('RelatedPerson/r1') }), undefined],
    ['PROV on the app identifier, a Patient user: no permit', 'permit', [{ role: { coding: [{ system: ROLE_CLASS, code: 'PROV' }] }, reference: { identifier: APP } }], req({ user: as('Patient/p1'), appIdentifier: APP }), undefined],
  ])('%s', (_n, type, actors, r, want) => {
    expect(decide(consent({ provision: [{ type, actor: actors }] }), facts([]), r)).toBe(want);
  });

  test('a role that fails makes the deny above an exception final', () => {
    const c = consent({ type: 'permit', provision: [{ type: 'deny', actor: actor(ROLE_CLASS, 'PAT'), provision: [{ type: 'permit', securityLabel: [{ system: ACT, code: 'HIV' }] }] }] });
    expect(decide(c, facts(['HIV']))).toBe('deny');
  });

  test('malformed role', () => {
    expect(() => parseConsent(consent({ type: 'permit', actor: [{ role: 'PROV', reference: { reference: 'Practitioner/pr1' } }] }))).toThrow(ConsentParseError);
  });
});

describe('actor references are compared as local Type/id, never by suffix', () => {
  const BASE = 'https://fhir.example.org/r4';
  const decideAt = (c: unknown, r = req()) => evaluateConsents([parseConsent(c, [BASE])], r, facts([]))?.decision;
  const actor = (reference: string) => [{ reference: { reference } }];
  test.each([
    ['foreign-base actor on a permit: no permit', 'permit', 'https://other.example.org/r4/Practitioner/pr1', undefined],
    ['foreign-base actor on a deny: still denies (undetermined)', 'deny', 'https://other.example.org/r4/Practitioner/pr1', 'deny'],
    ['configured-base actor on a permit: permit', 'permit', `${BASE}/Practitioner/pr1`, 'permit'],
    ['configured-base actor on a deny: deny', 'deny', `${BASE}/Practitioner/pr1`, 'deny'],
    ['configured-base actor, versioned: permit', 'permit', `${BASE}/Practitioner/pr1/_history/3`, 'permit'],
    ['relative actor naming another practitioner: no match', 'deny', 'Practitioner/pr10', undefined],
    ['configured-base actor naming another id that ends alike: no match', 'deny', `${BASE}/Practitioner/xpr1`, undefined],
  ])('%s', (_n, type, reference, want) => {
    expect(decideAt(consent({ provision: [{ type, actor: actor(reference) }] }))).toBe(want);
  });

  test('a foreign-base actor keeps the exceptions below its deny from applying', () => {
    const c = consent({ type: 'permit', provision: [{ type: 'deny', actor: actor('https://other.example.org/r4/Practitioner/pr1'), provision: [{ type: 'permit', securityLabel: [{ system: ACT, code: 'HIV' }] }] }] });
    expect(evaluateConsents([parseConsent(c, [BASE])], req(), facts(['HIV']))?.decision).toBe('deny');
  });

  test('the parsed actor carries its local key only when it is local', () => {
    const parsed = parseConsent(consent({ type: 'permit', actor: [...actor(`${BASE}/Practitioner/pr1`), ...actor('https://other.example.org/r4/Practitioner/pr1')] }), [BASE]);
    expect(parsed.provision?.actors.map((a) => a.key)).toEqual(['Practitioner/pr1', undefined]);
  });
});

describe('undetermined criteria never let a permit below them apply', () => {
  test('a deny matched only because the resource is undated keeps its exceptions from applying', () => {
    const c = consent({ type: 'permit', provision: [{ type: 'deny', dataPeriod: { start: '2025-01-01' }, provision: [{ type: 'permit', actor: [{ reference: { reference: 'Practitioner/pr1' } }] }] }] });
    expect(decide(c, facts([]))).toBe('permit'); // dated 2024: outside the deny, the root permits
    expect(decide(c, facts([], { date: undefined }))).toBe('deny');
    expect(decide(c, facts([], { date: Date.parse('2025-03-01') }))).toBe('permit'); // inside: pr1's exception
  });

  test('a provision without a type matched on an undetermined criterion still lets its denies apply', () => {
    const c = consent({ type: 'permit', provision: [{ dataPeriod: { start: '2025-01-01' }, provision: [{ type: 'deny', securityLabel: [{ system: ACT, code: 'PSY' }] }] }] });
    expect(decide(c, facts(['PSY'], { date: undefined }))).toBe('deny');
  });
});

describe('policyRule gives the base decision', () => {
  const rule = (code: string, system = ACT) => ({ policyRule: { coding: [{ system, code }] } });
  test.each([
    ['OPTOUT, root without type: deny', { provision: [] }, rule('OPTOUT'), 'deny', 'Consent/c1#policyRule'],
    ['OPTOUTE with an exception for pr1: permit for pr1', { provision: [{ type: 'permit', actor: [{ reference: { reference: 'Practitioner/pr1' } }] }] }, rule('OPTOUTE'), 'permit', 'Consent/c1#provision.provision[0]'],
    ['OPTIN, root without type: permit', {}, rule('OPTIN'), 'permit', 'Consent/c1#policyRule'],
    ['OPTINR with a restriction on PSY: deny for PSY', { provision: [{ type: 'deny', securityLabel: [{ system: ACT, code: 'PSY' }] }] }, rule('OPTINR'), 'deny', 'Consent/c1#provision.provision[0]'],
    ['OPTOUT but the root says permit: deny', { type: 'permit' }, rule('OPTOUT'), 'deny', 'Consent/c1#policyRule'],
    ['OPTIN but the root says deny: deny', { type: 'deny' }, rule('OPTIN'), 'deny', 'Consent/c1#provision'],
    ['another policy (hipaa-auth): no base', {}, rule('hipaa-auth', 'http://terminology.hl7.org/CodeSystem/consentpolicycodes'), undefined, undefined],
  ])('%s', (_n, provision, extra, want, ruleName) => {
    const d = evaluateConsents([parseConsent(consent(provision, extra))], req(), facts(['PSY']));
    expect(d?.decision).toBe(want);
    expect(d?.rule).toBe(ruleName);
  });

  test('a policyRule without any provision applies its base to everything', () => {
    const { provision: _p, ...noProvision } = consent({});
    void _p;
    expect(evaluateConsents([parseConsent({ ...noProvision, ...rule('OPTOUT') })], req(), facts([]))?.decision).toBe('deny');
    expect(evaluateConsents([parseConsent(noProvision)], req(), facts([]))).toBeUndefined();
  });

  test('a malformed policyRule makes the Consent malformed', () => {
    expect(() => parseConsent(consent({}, { policyRule: 'OPTOUT' }))).toThrow(ConsentParseError);
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
        const before = decide(consent(root), facts(labels), req({ user: as(who) }));
        // Insert the deny provision anywhere in the tree.
        const copy = structuredClone(root);
        let node = copy;
        for (const i of path) {
          if (!node.provision || node.provision.length === 0) break;
          node = node.provision[i % node.provision.length];
        }
        node.provision = [...(node.provision ?? []), extra];
        const after = decide(consent(copy), facts(labels), req({ user: as(who) }));
        if (before !== 'permit') expect(after).not.toBe('permit');
      }),
      { numRuns: 300 },
    );
  });
});

describe('property: knowing less about a resource never widens', () => {
  const ROLE_CLASS = 'http://terminology.hl7.org/CodeSystem/v3-RoleClass';
  const prov: fc.Arbitrary<any> = fc.letrec((tie) => ({
    p: fc.record(
      {
        type: fc.constantFrom('permit', 'deny'),
        securityLabel: fc.subarray(['PSY', 'HIV'], { minLength: 1 }).map((cs) => cs.map((code) => ({ system: ACT, code }))),
        actor: fc.constantFrom('PROV', 'PAT', 'PRCP').map((role) => [{ role: { coding: [{ system: ROLE_CLASS, code: role }] }, reference: { reference: 'Practitioner/pr1' } }]),
        dataPeriod: fc.constantFrom({ start: '2023-01-01' }, { end: '2023-12-31' }),
        data: fc.subarray(
          [
            { meaning: 'instance', reference: { reference: 'Observation/o1' } },
            { meaning: 'related', reference: { reference: 'Encounter/e1' } },
            { meaning: 'dependents', reference: { reference: 'Encounter/e1' } },
            { meaning: 'authoredby', reference: { reference: 'Practitioner/pr9' } },
          ],
          { minLength: 1 },
        ),
        provision: fc.array(tie('p'), { maxLength: 2 }),
      },
      { requiredKeys: ['type'] },
    ),
  })).p;
  const resource = { resourceType: 'Observation', id: 'o1', encounter: { reference: 'Encounter/e1' }, performer: [{ reference: 'Practitioner/pr9' }], effectiveDateTime: '2024-01-01' };
  test('dropping the date, the references or the id never turns a non-permit into a permit', () => {
    fc.assert(
      fc.property(prov, fc.subarray(['PSY', 'HIV']), fc.constantFrom('date', 'links', 'id'), fc.constantFrom('OPTIN', 'OPTOUT', undefined), (root, labels, drop, policy) => {
        const c = consent(root, policy ? { policyRule: { coding: [{ system: ACT, code: policy }] } } : {});
        const rules = index.read(labels.map((code) => ({ system: ACT, code }))).rules;
        const full = resourceFacts(resource, rules);
        const less: ResourceFacts = drop === 'date' ? { ...full, date: undefined } : drop === 'links' ? { ...full, links: undefined } : { ...full, id: undefined };
        if (decide(c, full) !== 'permit') expect(decide(c, less)).not.toBe('permit');
        if (decide(c, full) === 'deny') expect(decide(c, less)).toBe('deny');
      }),
      { numRuns: 400 },
    );
  });
});
