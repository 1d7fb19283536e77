/**
 * Consent: parsing, provision evaluation tables, the cache; undetermined criteria (a table per
 * criterion: never a permit, always a deny); properties: adding a deny provision, knowing less, or
 * stripping systems and values from a resource's Codings never widens.
 */
import fc from 'fast-check';
import { ConsentCache, ConsentParseError, evaluateConsents, parseConsent, resourceFacts, resourceLinks, type ConsentRequest, type ResourceFacts } from '../../../lambdas/fhir-proxy/consent';
import { LabelIndex, UNKNOWN_LABEL } from '../../../lambdas/fhir-proxy/labels';
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


describe('undetermined never widens: every criterion, against a permit and a deny', () => {
  const BASE = 'https://fhir.example.org/r4';
  const LOINC = 'http://loinc.org';
  const SNOMED = 'http://snomed.info/sct';
  const CONF = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
  const REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
  const ACTION = 'http://terminology.hl7.org/CodeSystem/consentaction';
  const TYPES = 'http://hl7.org/fhir/resource-types';
  const ROLE_CLASS = 'http://terminology.hl7.org/CodeSystem/v3-RoleClass';
  const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
  const ROLE_CODE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
  const SECURITY_ROLE = 'http://terminology.hl7.org/CodeSystem/extra-security-role-type';
  const LIPID = 'http://hl7.org/fhir/StructureDefinition/lipidprofile';
  const INLINE = 'http://hl7.org/fhir/uv/security-label-ds4p/StructureDefinition/extension-inline-sec-label';
  const U = [undefined, 'deny'] as const; // undetermined: no permit, the deny applies
  const YES = ['permit', 'deny'] as const;
  const NO = [undefined, undefined] as const;

  /** Observation/o1 of patient p1, LOINC 1234-5, dated 2024-03-01, performed by pr9. */
  const obs = (extra: Record<string, unknown> = {}) => ({
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    code: { coding: [{ system: LOINC, code: '1234-5' }] },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2024-03-01T10:00:00Z',
    performer: [{ reference: 'Practitioner/pr9' }],
    ...extra,
  });
  /** The facts as the guard builds them: the label policy's reading, with the unknown label when there is one. */
  const of = (resource: Record<string, unknown>) => {
    const meta = resource.meta as { security?: unknown } | undefined;
    const set = index.read(meta?.security);
    return resourceFacts(resource, set.unknown ? [...set.rules, UNKNOWN_LABEL] : set.rules, [BASE]);
  };
  const cc = (...coding: unknown[]) => [{ coding }];
  const run = (criterion: Record<string, unknown>, resource: Record<string, unknown>, r: ConsentRequest) =>
    (['permit', 'deny'] as const).map((type) => evaluateConsents([parseConsent(consent({ provision: [{ type, ...criterion }] }), [BASE])], r, of(resource))?.decision);

  type Row = [name: string, criterion: Record<string, unknown>, resource: Record<string, unknown>, want: readonly [string | undefined, string | undefined], request?: Partial<ConsentRequest>];
  const table: Record<string, Row[]> = {
    code: [
      ['resource Coding without a system (the known bug)', { code: cc({ system: LOINC, code: '1234-5' }) }, obs({ code: { coding: [{ code: '1234-5' }] } }), U],
      ['provision Coding without a system', { code: cc({ code: '1234-5' }) }, obs(), U],
      ['both without a system', { code: cc({ code: '1234-5' }) }, obs({ code: { coding: [{ code: '1234-5' }] } }), U],
      ['resource Coding without a code', { code: cc({ system: LOINC, code: '1234-5' }) }, obs({ code: { coding: [{ system: LOINC }] } }), U],
      ['resource concept with text only', { code: cc({ system: LOINC, code: '1234-5' }) }, obs({ code: { text: 'HbA1c' } }), U],
      ['resource Coding with a malformed system', { code: cc({ system: LOINC, code: '1234-5' }) }, obs({ code: { coding: [{ system: 42, code: '1234-5' }] } }), U],
      ['malformed category', { code: cc({ system: LOINC, code: '1234-5' }) }, obs({ code: { coding: [{ system: LOINC, code: '9-9' }] }, category: 'lab' }), U],
      ['found elsewhere in the instance (component.code)', { code: cc({ system: LOINC, code: '1234-5' }) }, obs({ code: { coding: [{ system: LOINC, code: '9-9' }] }, component: [{ code: { coding: [{ system: LOINC, code: '1234-5' }] } }] }), U],
      ['found elsewhere without a system (valueCodeableConcept)', { code: cc({ system: SNOMED, code: '77386006' }) }, obs({ valueCodeableConcept: { coding: [{ code: '77386006' }] } }), U],
      ['same system and code', { code: cc({ system: LOINC, code: '1234-5' }) }, obs(), YES],
      ['same system and code in category', { code: cc({ system: 'urn:cat', code: 'laboratory' }) }, obs({ category: [{ coding: [{ system: 'urn:cat', code: 'laboratory' }] }] }), YES],
      ['same code, another system', { code: cc({ system: SNOMED, code: '1234-5' }) }, obs(), NO],
      ['another code', { code: cc({ system: LOINC, code: '9-9' }) }, obs(), NO],
    ],
    class: [
      ['the resource type without a system', { class: [{ code: 'Observation' }] }, obs(), U],
      ['a profile the resource does not declare', { class: [{ system: 'urn:ietf:rfc:3986', code: LIPID }] }, obs(), U],
      ['a profile without a system, even declared', { class: [{ code: LIPID }] }, obs({ meta: { profile: [LIPID] } }), U],
      ['a MIME type', { class: [{ system: 'urn:ietf:bcp:13', code: 'application/hl7-cda+xml' }] }, obs(), U],
      ['an unknown system', { class: [{ system: 'urn:example:classes', code: 'Observation' }] }, obs(), U],
      ['malformed meta.profile', { class: [{ system: 'urn:ietf:rfc:3986', code: LIPID }] }, obs({ meta: { profile: LIPID } }), U],
      ['a declared profile (version ignored)', { class: [{ system: 'urn:ietf:rfc:3986', code: LIPID }] }, obs({ meta: { profile: [`${LIPID}|4.0.1`] } }), YES],
      ['the resource type', { class: [{ system: TYPES, code: 'Observation' }] }, obs(), YES],
      ['Resource covers every type', { class: [{ system: TYPES, code: 'Resource' }] }, obs(), YES],
      ['another type', { class: [{ system: TYPES, code: 'Condition' }] }, obs(), NO],
      ['another type without a system', { class: [{ code: 'Condition' }] }, obs(), NO],
    ],
    securityLabel: [
      ['provision label without a system', { securityLabel: [{ code: 'PSY' }] }, obs({ meta: { security: [{ system: ACT, code: 'PSY' }] } }), U],
      ['resource label without a system', { securityLabel: [{ system: ACT, code: 'PSY' }] }, obs({ meta: { security: [{ code: 'PSY' }] } }), U],
      ['resource label without a code', { securityLabel: [{ system: ACT, code: 'PSY' }] }, obs({ meta: { security: [{ system: ACT }] } }), U],
      ['resource label not a Coding', { securityLabel: [{ system: ACT, code: 'PSY' }] }, obs({ meta: { security: ['PSY'] } }), U],
      ['meta.security not a list', { securityLabel: [{ system: ACT, code: 'PSY' }] }, obs({ meta: { security: { system: ACT, code: 'PSY' } } }), U],
      [
        'inline label without a system next to an unknown label',
        { securityLabel: [{ system: ACT, code: 'PSY' }] },
        obs({ meta: { security: [{ system: 'urn:example:labels', code: 'SECRET' }] }, note: [{ text: 'x', extension: [{ url: INLINE, valueCoding: { code: 'PSY' } }] }] }),
        U,
      ],
      ['a confidentiality above the one named', { securityLabel: [{ system: CONF, code: 'R' }] }, obs({ meta: { security: [{ system: CONF, code: 'V' }] } }), U],
      ['V against an unknown label (read as V, not carried)', { securityLabel: [{ system: CONF, code: 'V' }] }, obs({ meta: { security: [{ system: 'urn:example:labels', code: 'SECRET' }] } }), U],
      ['the label, exactly', { securityLabel: [{ system: ACT, code: 'PSY' }] }, obs({ meta: { security: [{ system: ACT, code: 'PSY' }] } }), YES],
      ['a well-formed label of another system', { securityLabel: [{ system: ACT, code: 'PSY' }] }, obs({ meta: { security: [{ system: 'urn:example:labels', code: 'SECRET' }] } }), NO],
      ['another label', { securityLabel: [{ system: ACT, code: 'PSY' }] }, obs({ meta: { security: [{ system: ACT, code: 'HIV' }] } }), NO],
    ],
    purpose: [
      ['purpose without a system', { purpose: [{ code: 'TREAT' }] }, obs(), U],
      ['a request without a purpose', { purpose: [{ system: REASON, code: 'TREAT' }] }, obs(), U, { purposeOfUse: '' }],
      ['the purpose', { purpose: [{ system: REASON, code: 'TREAT' }] }, obs(), YES],
      ['another purpose', { purpose: [{ system: REASON, code: 'HPAYMT' }] }, obs(), NO],
      ['the code in another system', { purpose: [{ system: 'urn:example:purposes', code: 'TREAT' }] }, obs(), NO],
    ],
    action: [
      ['action without a system', { action: cc({ code: 'access' }) }, obs(), U],
      ['collect, for a write (a create collects)', { action: cc({ system: ACTION, code: 'collect' }) }, obs(), U, { write: true }],
      ['access, for a read', { action: cc({ system: ACTION, code: 'access' }) }, obs(), YES],
      ['correct, for a write', { action: cc({ system: ACTION, code: 'correct' }) }, obs(), YES, { write: true }],
      ['correct, for a read', { action: cc({ system: ACTION, code: 'correct' }) }, obs(), NO],
      ['access in another system', { action: cc({ system: 'urn:example:actions', code: 'access' }) }, obs(), NO],
    ],
    actor: [
      ['identifier without a system, the app value', { actor: [{ reference: { identifier: { value: APP.value } } }] }, obs(), U, { appIdentifier: APP }],
      ['identifier of another system (an NPI may be the user)', { actor: [{ reference: { identifier: { system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567890' } } }] }, obs(), U, { appIdentifier: APP }],
      ['identifier, the request has no app identifier', { actor: [{ reference: { identifier: APP } }] }, obs(), U],
      ['reference under another base (any id)', { actor: [{ reference: { reference: 'https://other.example.org/r4/Practitioner/x7' } }] }, obs(), U],
      ['urn:uuid reference', { actor: [{ reference: { reference: 'urn:uuid:8d3d7e5c-1b1e-4a5e-9f7a-0c0c0c0c0c0c' } }] }, obs(), U],
      ['conditional reference', { actor: [{ reference: { reference: 'Practitioner?identifier=urn:npi|1' } }] }, obs(), U],
      ['contained reference', { actor: [{ reference: { reference: '#who' } }] }, obs(), U],
      ['Organization (membership not resolved)', { actor: [{ reference: { reference: 'Organization/org1' } }] }, obs(), U],
      ['Group (membership not resolved)', { actor: [{ reference: { reference: 'Group/g1' } }] }, obs(), U],
      ['CareTeam (membership not resolved)', { actor: [{ reference: { reference: 'CareTeam/t1' } }] }, obs(), U],
      ['PractitionerRole for a Practitioner user', { actor: [{ reference: { reference: 'PractitionerRole/r1' } }] }, obs(), U],
      ['Practitioner for a PractitionerRole user', { actor: [{ reference: { reference: 'Practitioner/pr1' } }] }, obs(), U, { user: as('PractitionerRole/r1') }],
      ['a user on another server', { actor: [{ reference: { reference: 'Patient/p1' } }] }, obs(), U, { user: undefined, userElsewhere: true }],
      ['role without a system', { actor: [{ role: { coding: [{ code: 'PROV' }] }, reference: { reference: 'Practitioner/pr1' } }] }, obs(), U],
      ['role in an unknown system', { actor: [{ role: { coding: [{ system: 'urn:example:roles', code: 'reader' }] }, reference: { reference: 'Practitioner/pr1' } }] }, obs(), U],
      ['an unchecked security role type', { actor: [{ role: { coding: [{ system: SECURITY_ROLE, code: 'dataprocessor' }] }, reference: { reference: 'Practitioner/pr1' } }] }, obs(), U],
      ['author participation on a read', { actor: [{ role: { coding: [{ system: PARTICIPATION, code: 'AUT' }] }, reference: { reference: 'Practitioner/pr1' } }] }, obs(), U],
      ['the user', { actor: [{ reference: { reference: 'Practitioner/pr1' } }] }, obs(), YES],
      ['the user, recipient participation on a read', { actor: [{ role: { coding: [{ system: PARTICIPATION, code: 'PRCP' }] }, reference: { reference: 'Practitioner/pr1' } }] }, obs(), YES],
      ['the user, author participation on a write', { actor: [{ role: { coding: [{ system: PARTICIPATION, code: 'AUT' }] }, reference: { reference: 'Practitioner/pr1' } }] }, obs(), YES, { write: true }],
      ['the user, a relationship describing them', { actor: [{ role: { coding: [{ system: ROLE_CODE, code: 'FAMMEMB' }] }, reference: { reference: 'Practitioner/pr1' } }] }, obs(), YES],
      ['the app', { actor: [{ reference: { identifier: APP } }] }, obs(), YES, { appIdentifier: APP }],
      ['the user, PROV', { actor: [{ role: { coding: [{ system: ROLE_CLASS, code: 'PROV' }] }, reference: { reference: 'Practitioner/pr1' } }] }, obs(), YES],
      ['another app of the registry', { actor: [{ reference: { identifier: { ...APP, value: 'other' } } }] }, obs(), NO, { appIdentifier: APP }],
      ['another practitioner here', { actor: [{ reference: { reference: 'Practitioner/pr2' } }] }, obs(), NO],
      ['a patient on another server, for a practitioner', { actor: [{ reference: { reference: 'https://other.example.org/r4/Patient/p1' } }] }, obs(), NO],
    ],
    data: [
      ['D under another base, the same type', { data: [{ meaning: 'instance', reference: { reference: 'https://other.example.org/r4/Observation/o9' } }] }, obs(), U],
      ['D as urn:uuid', { data: [{ meaning: 'instance', reference: { reference: 'urn:uuid:8d3d7e5c-1b1e-4a5e-9f7a-0c0c0c0c0c0c' } }] }, obs(), U],
      ['version-specific D, another version', { data: [{ meaning: 'instance', reference: { reference: 'Observation/o1/_history/2' } }] }, obs({ meta: { versionId: '3' } }), U],
      ['version-specific D, version unknown', { data: [{ meaning: 'instance', reference: { reference: 'Observation/o1/_history/2' } }] }, obs(), U],
      ['a resource without an id', { data: [{ meaning: 'instance', reference: { reference: 'Observation/o1' } }] }, obs({ id: undefined }), U],
      ['related: another resource', { data: [{ meaning: 'related', reference: { reference: 'Encounter/e1' } }] }, obs(), U],
      ['authoredby: an author that is a logical reference', { data: [{ meaning: 'authoredby', reference: { reference: 'Practitioner/pr9' } }] }, obs({ performer: [{ identifier: { value: 'x' } }] }), U],
      ['version-specific D at that version', { data: [{ meaning: 'instance', reference: { reference: 'Observation/o1/_history/3' } }] }, obs({ meta: { versionId: '3' } }), YES],
      ['D under another base, another type', { data: [{ meaning: 'instance', reference: { reference: 'https://other.example.org/r4/Encounter/o1' } }] }, obs(), NO],
    ],
    dataPeriod: [
      ['no date', { dataPeriod: { start: '2024-01-01' } }, obs({ effectiveDateTime: undefined }), U],
      ['a year straddling the start', { dataPeriod: { start: '2024-06-01' } }, obs({ effectiveDateTime: '2024' }), U],
      ['a Period overlapping the start', { dataPeriod: { start: '2024-01-01' } }, obs({ effectiveDateTime: undefined, effectivePeriod: { start: '2023-12-01', end: '2024-02-01' } }), U],
      ['an open Period overlapping the end', { dataPeriod: { start: '2024-01-01', end: '2024-12-31' } }, obs({ effectiveDateTime: undefined, effectivePeriod: { start: '2024-02-01' } }), U],
      ['a malformed effective date (issued is not used instead)', { dataPeriod: { start: '2024-01-01' } }, obs({ effectiveDateTime: 'yesterday', issued: '2024-03-01T00:00:00Z' }), U],
      ['an effective Timing', { dataPeriod: { start: '2024-01-01' } }, obs({ effectiveDateTime: undefined, effectiveTiming: { event: ['2024-03-01'] } }), U],
      ['onset as an age', { dataPeriod: { start: '2024-01-01' } }, { resourceType: 'Condition', id: 'c1', onsetAge: { value: 40 }, recordedDate: '2024-03-01' }, U],
      ['inside', { dataPeriod: { start: '2024-01-01', end: '2024-12-31' } }, obs(), YES],
      ['a whole year inside', { dataPeriod: { start: '2024-01-01', end: '2024-12-31' } }, obs({ effectiveDateTime: '2024' }), YES],
      ['disjoint', { dataPeriod: { start: '2025-01-01' } }, obs(), NO],
    ],
  };

  describe.each(Object.keys(table))('%s', (criterion) => {
    // A rest parameter: jest would take a fifth declared parameter of a 4-element row for `done`.
    test.each(table[criterion])('%s', (...row: Row) => {
      const [, c, resource, want, over] = row;
      expect(run(c, resource, req(over))).toEqual([...want]);
    });
  });

  test('an undetermined deny keeps the exceptions below it from applying', () => {
    const c = consent({
      type: 'permit',
      provision: [{ type: 'deny', code: cc({ system: LOINC, code: '1234-5' }), provision: [{ type: 'permit', actor: [{ reference: { reference: 'Practitioner/pr1' } }] }] }],
    });
    const decideOf = (resource: Record<string, unknown>) => evaluateConsents([parseConsent(c)], req(), of(resource))?.decision;
    expect(decideOf(obs())).toBe('permit'); // determined: pr1's exception
    expect(decideOf(obs({ code: { coding: [{ code: '1234-5' }] } }))).toBe('deny');
    expect(decideOf(obs({ code: { text: 'HbA1c' } }))).toBe('deny');
    expect(decideOf(obs({ code: { coding: [{ system: LOINC, code: '9-9' }] } }))).toBe('permit'); // determined miss: the root
  });

  test('scope patient-privacy without a system: its denies apply, its permits do not', () => {
    const scope = { scope: { coding: [{ code: 'patient-privacy' }] } };
    expect(evaluateConsents([parseConsent(consent({ type: 'permit' }, scope))], req(), of(obs()))).toBeUndefined();
    expect(evaluateConsents([parseConsent(consent({ type: 'deny' }, scope))], req(), of(obs()))?.decision).toBe('deny');
    expect(evaluateConsents([parseConsent(consent({ type: 'permit', provision: [{ type: 'deny', code: cc({ system: LOINC, code: '1234-5' }) }] }, scope))], req(), of(obs()))?.decision).toBe('deny');
    expect(parseConsent(consent({ type: 'permit' }, { scope: { coding: [{ system: 'urn:example:scopes', code: 'patient-privacy' }] } })).applies).toBe(false);
  });

  test('policyRule without a system: opt-out denies, opt-in gives no base', () => {
    const { provision: _p, ...bare } = consent({});
    void _p;
    expect(evaluateConsents([parseConsent({ ...bare, policyRule: { coding: [{ code: 'OPTOUT' }] } })], req(), of(obs()))?.decision).toBe('deny');
    expect(evaluateConsents([parseConsent({ ...bare, policyRule: { coding: [{ code: 'OPTIN' }] } })], req(), of(obs()))).toBeUndefined();
  });

  test('a permit names (unlocks) only the labels it states exactly', () => {
    const labels = [{ system: ACT, code: 'PSY' }, { system: ACT, code: 'SUD' }];
    const c = consent({ provision: [{ type: 'permit', securityLabel: [{ system: ACT, code: 'PSY' }, { system: 'urn:example:labels', code: 'SUD' }, { code: 'SUD' }] }] });
    const d = evaluateConsents([parseConsent(c)], req(), of(obs({ meta: { security: labels } })), ['SUD']);
    expect(d).toMatchObject({ decision: 'permit', labels: ['PSY'] });
  });

  test('hand-built facts without the newer facts are undetermined, not permitted', () => {
    const bare: ResourceFacts = { resourceType: 'Observation', id: 'o1', labels: [], codes: [{ system: LOINC, code: '1234-5' }], date: NOW };
    expect(decide(consent({ provision: [{ type: 'permit', code: cc({ system: LOINC, code: '1234-5' }) }] }), bare)).toBe('permit');
    expect(decide(consent({ provision: [{ type: 'permit', code: cc({ system: LOINC, code: '9-9' }) }] }), bare)).toBeUndefined();
    expect(decide(consent({ provision: [{ type: 'deny', code: cc({ system: LOINC, code: '9-9' }) }] }), bare)).toBe('deny');
    expect(decide(consent({ provision: [{ type: 'deny', class: [{ system: 'urn:ietf:rfc:3986', code: LIPID }] }] }), bare)).toBe('deny');
    expect(decide(consent({ provision: [{ type: 'deny', securityLabel: [{ system: ACT, code: 'PSY' }] }] }), { ...bare, labels: [UNKNOWN_LABEL] })).toBe('deny');
  });
});

describe("property: stripping systems and values from a resource's Codings never widens", () => {
  const LOINC = 'http://loinc.org';
  const SNOMED = 'http://snomed.info/sct';
  const codingArb = fc.record({ system: fc.constantFrom(LOINC, SNOMED), code: fc.constantFrom('1', '2', '3') });
  const labelArb = fc.constantFrom('PSY', 'HIV', 'SUD').map((code) => ({ system: ACT, code }));
  const criterionCoding = fc.record({ system: fc.constantFrom(LOINC, SNOMED, undefined), code: fc.constantFrom('1', '2', '3') }).map((c) => (c.system === undefined ? { code: c.code } : c));
  const prov: fc.Arbitrary<any> = fc.letrec((tie) => ({
    p: fc.record(
      {
        type: fc.constantFrom('permit', 'deny'),
        code: fc.array(criterionCoding, { minLength: 1, maxLength: 2 }).map((coding) => [{ coding }]),
        securityLabel: fc.array(fc.oneof(labelArb, fc.constantFrom('PSY', 'HIV').map((code) => ({ code }))), { minLength: 1, maxLength: 2 }),
        actor: fc.constantFrom([{ reference: { reference: 'Practitioner/pr1' } }], [{ reference: { reference: 'Practitioner/pr2' } }]),
        provision: fc.array(tie('p'), { maxLength: 2 }),
      },
      { requiredKeys: ['type'] },
    ),
  })).p;
  /** What stripping does to one Coding: nothing, drop the system, drop the code, drop both, or make it not a Coding. */
  const strip = fc.constantFrom('keep', 'system', 'code', 'both', 'junk');
  const apply = (c: Record<string, unknown>, how: string): unknown => {
    if (how === 'system') return { code: c.code };
    if (how === 'code') return { system: c.system };
    if (how === 'both') return { display: 'x' };
    if (how === 'junk') return 'x';
    return c;
  };
  const of = (resource: Record<string, unknown>) => {
    const set = index.read((resource.meta as { security?: unknown } | undefined)?.security);
    return resourceFacts(resource, set.unknown ? [...set.rules, UNKNOWN_LABEL] : set.rules);
  };
  test('for any consent, resource and stripping', () => {
    fc.assert(
      fc.property(
        prov,
        fc.array(codingArb, { minLength: 1, maxLength: 3 }),
        fc.array(codingArb, { maxLength: 2 }),
        fc.array(labelArb, { maxLength: 2 }),
        fc.array(strip, { minLength: 7, maxLength: 7 }),
        fc.boolean(),
        fc.constantFrom('OPTIN', 'OPTOUT', undefined),
        (root, code, category, security, hows, textOnly, policy) => {
          const resource = (codes: unknown[], cats: unknown[], labels: unknown[], text: boolean) => ({
            resourceType: 'Observation',
            id: 'o1',
            ...(labels.length > 0 ? { meta: { security: labels } } : {}),
            code: text ? { text: 'something' } : { coding: codes },
            ...(cats.length > 0 ? { category: [{ coding: cats }] } : {}),
          });
          let k = 0;
          const next = (c: Record<string, unknown>) => apply(c, hows[k++ % hows.length]);
          const full = of(resource(code, category, security, false));
          const stripped = of(resource(code.map(next), category.map(next), security.map(next), textOnly));
          const c = consent(root, policy ? { policyRule: { coding: [{ system: ACT, code: policy }] } } : {});
          const r = req();
          const before = decide(c, full, r);
          const after = decide(c, stripped, r);
          if (before !== 'permit') expect(after).not.toBe('permit');
          if (before === 'deny') expect(after).toBe('deny');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('property: the per-request decision memo never conflates two resources', () => {
  // Consents with every resource criterion the memo keys on (codes, classes, labels, dataPeriod);
  // resources that differ in each. A decision through a request whose memo was filled by other
  // resources must equal the decision through a fresh request (an empty memo).
  const LOINC = 'http://loinc.org';
  const prov: fc.Arbitrary<any> = fc.letrec((tie) => ({
    p: fc.record(
      {
        type: fc.constantFrom('permit', 'deny'),
        securityLabel: fc.subarray(['PSY', 'HIV', 'SUD'], { minLength: 1 }).map((cs) => cs.map((code) => ({ system: ACT, code }))),
        code: fc.subarray(['1-1', '2-2'], { minLength: 1 }).map((cs) => cs.map((code) => ({ coding: [{ system: LOINC, code }] }))),
        class: fc.constantFrom([{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }], [{ system: 'http://hl7.org/fhir/resource-types', code: 'Condition' }]),
        dataPeriod: fc.constantFrom({ start: '2023-01-01' }, { end: '2023-06-30' }, { start: '2022-01-01', end: '2022-12-31' }),
        provision: fc.array(tie('p'), { maxLength: 2 }),
      },
      { requiredKeys: ['type'] },
    ),
  })).p;
  const resourceFactsArb = fc.record({
    labels: fc.subarray(['PSY', 'HIV', 'SUD']),
    type: fc.constantFrom('Observation', 'Condition'),
    code: fc.constantFrom(undefined, '1-1', '2-2', 'no-system'),
    date: fc.constantFrom(undefined, '2021-05-01', '2022-07-01', '2023-03-01', '2023', '2024-01-01'),
  });
  const toFacts = (r: { labels: string[]; type: string; code?: string; date?: string }): ResourceFacts => {
    const resource: Record<string, unknown> = {
      resourceType: r.type,
      id: 'x',
      ...(r.code ? { code: { coding: [r.code === 'no-system' ? { code: '1-1' } : { system: LOINC, code: r.code }] } } : {}),
      ...(r.date ? { [r.type === 'Observation' ? 'effectiveDateTime' : 'onsetDateTime']: r.date } : {}),
    };
    return resourceFacts(resource, index.read(r.labels.map((code) => ({ system: ACT, code }))).rules);
  };
  test('memoised decisions equal fresh ones', () => {
    fc.assert(
      fc.property(fc.array(prov, { minLength: 1, maxLength: 3 }), fc.array(resourceFactsArb, { minLength: 2, maxLength: 8 }), fc.subarray(['PSY', 'SUD']), (roots, resources, required) => {
        const consents = roots.map((root, i) => parseConsent(consent(root, { id: `c${i}` })));
        const shared = req();
        for (const r of resources) {
          const memoised = evaluateConsents(consents, shared, toFacts(r), required);
          const fresh = evaluateConsents(consents, req(), toFacts(r), required);
          expect(memoised).toEqual(fresh);
        }
      }),
      { numRuns: 300 },
    );
  });
});
