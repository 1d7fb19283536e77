/** One resource as the enforcement point sees it: own patients, nested views, conditional references. */
import type { JsonObject } from '../../../../lambdas/shared/json';
import { isConditionalReference, ResourceView } from '../../../../lambdas/shared/fhir/resource-view';
import { MAX_DEPTH, TooDeep } from '../../../../lambdas/shared/fhir/walk';

const BASES = ['https://fhir.example.org/r4'];
const view = (resource: JsonObject, bases: readonly string[] = BASES): ResourceView => {
  const v = ResourceView.of(resource, bases);
  if (!v) throw new Error('not a resource');
  return v;
};
const ref = (reference: string) => ({ reference });
const obs = (extra: JsonObject): JsonObject => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...extra });

describe('ResourceView.of', () => {
  test('a view of a resource, undefined for anything else', () => {
    const r = obs({ id: 'o' });
    const v = view(r);
    expect(v.resource).toBe(r);
    expect(v.type).toBe('Observation');
    expect(v.level).toBe(0);
    expect(ResourceView.of({ id: 'o' }, BASES)).toBeUndefined();
    expect(ResourceView.of({ resourceType: 3 }, BASES)).toBeUndefined();
    expect(ResourceView.of([r], BASES)).toBeUndefined();
    expect(ResourceView.of(null, BASES)).toBeUndefined();
  });

  test(`a view past level MAX_DEPTH (${MAX_DEPTH}) cannot be built`, () => {
    expect(() => new ResourceView({ resourceType: 'Basic' }, BASES, MAX_DEPTH + 1)).toThrow(TooDeep);
    expect(new ResourceView({ resourceType: 'Basic' }, BASES, MAX_DEPTH).level).toBe(MAX_DEPTH);
  });
});

describe('patients', () => {
  test('the compartment patients of the resource itself, not of its nested resources', () => {
    const r = obs({
      subject: ref('Patient/p1'),
      performer: [ref('Practitioner/d1'), ref('Patient/p3')],
      contained: [obs({ id: 'c', subject: ref('Patient/p2') })],
    });
    expect(view(r).patients).toEqual(['p1', 'p3']);
  });

  test('absolute references count only under the given bases', () => {
    const r = obs({ subject: ref('https://fhir.example.org/r4/Patient/p9') });
    expect(view(r).patients).toEqual(['p9']);
    expect(view(r, ['https://other.example.org/r4']).patients).toEqual([]);
  });

  test('a Patient is its own patient; a type outside the compartment has none', () => {
    expect(view({ resourceType: 'Patient', id: 'p1' }).patients).toEqual(['p1']);
    const med = view({ resourceType: 'Medication', id: 'm', subject: ref('Patient/p1') });
    expect(med.inCompartmentType).toBe(false);
    expect(med.patients).toEqual([]);
    expect(view(obs({})).inCompartmentType).toBe(true);
  });

  test('security is meta.security as stored', () => {
    const security = [{ system: 's', code: 'R' }];
    expect(view(obs({ meta: { security } })).security).toBe(security);
    expect(view(obs({})).security).toBeUndefined();
    expect(view(obs({ meta: 'x' })).security).toBeUndefined();
  });
});

describe('nested views', () => {
  test('one view per nested resource, with its slot and level; memoised', () => {
    const c = { resourceType: 'Patient', id: 'c' };
    const e = obs({ id: 'e', contained: [{ resourceType: 'Patient', id: 'ec' }] });
    const bundle = { resourceType: 'Bundle', type: 'collection', contained: [c], entry: [{ resource: e }] };
    const v = view(bundle);
    const nested = v.nested;
    expect(nested.map((n) => [n.slot, n.view.type, n.view.level])).toEqual([
      [{ kind: 'contained', index: 0 }, 'Patient', 1],
      [{ kind: 'entry', index: 0 }, 'Observation', 1],
    ]);
    expect(nested[0].view.resource).toBe(c);
    expect(nested[1].view.resource).toBe(e);
    expect(nested[1].view.nested.map((n) => [n.view.resource.id, n.view.level])).toEqual([['ec', 2]]);
    expect(v.nested).toBe(nested);
  });

  test('nested views share the bases', () => {
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: obs({ subject: ref('https://fhir.example.org/r4/Patient/p5') }) }] };
    expect(view(bundle).nested[0].view.patients).toEqual(['p5']);
  });

  test('a chain of nested resources past MAX_DEPTH throws TooDeep when walked', () => {
    let r: JsonObject = { resourceType: 'Patient', id: 'leaf' };
    for (let i = 0; i < MAX_DEPTH + 2; i++) r = obs({ id: `o${i}`, contained: [r] });
    expect(() => view(r).allPatients()).toThrow(TooDeep);
  });
});

describe('isConditionalReference', () => {
  test.each([
    ['Patient?identifier=http://x|1', true],
    ['Patient?', true],
    ['?', true],
    ['Patient/p1', false],
    ['https://fhir.example.org/r4/Patient/p1', false],
    ['#c1', false],
    ['urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0', false],
    ['', false],
  ])('%s → %s', (reference, want) => {
    expect(isConditionalReference(reference)).toBe(want);
  });

  test.each([[undefined], [null], [42], [{ reference: 'Patient?x' }], [['Patient?x']]])('not a string (%p) → false', (value) => {
    expect(isConditionalReference(value)).toBe(false);
  });
});

describe('hasConditionalReference', () => {
  test('in subject', () => {
    const v = view(obs({ subject: ref('Patient?identifier=x|1') }));
    expect(v.hasOwnConditionalReference).toBe(true);
    expect(v.hasConditionalReference).toBe(true);
  });

  test('in an item of the performer list', () => {
    const v = view(obs({ subject: ref('Patient/p1'), performer: [ref('Practitioner/d1'), ref('Practitioner?identifier=n|2')] }));
    expect(v.hasOwnConditionalReference).toBe(true);
    expect(v.hasConditionalReference).toBe(true);
  });

  test('in an extension valueReference', () => {
    const v = view(obs({ extension: [{ url: 'https://x/ext', valueString: 'a' }, { url: 'https://x/ref', valueReference: ref('Patient?name=smith') }] }));
    expect(v.hasOwnConditionalReference).toBe(true);
  });

  test('deep inside an element (component[].extension[].valueReference)', () => {
    const v = view(obs({ component: [{ code: { text: 'c' }, extension: [{ url: 'u', valueReference: ref('Device?identifier=d') }] }] }));
    expect(v.hasConditionalReference).toBe(true);
  });

  test('in a contained resource: not its own, but the resource has one', () => {
    const v = view(obs({ subject: ref('#c'), contained: [obs({ id: 'c', subject: ref('Patient?identifier=x') })] }));
    expect(v.hasOwnConditionalReference).toBe(false);
    expect(v.hasConditionalReference).toBe(true);
    expect(v.nested[0].view.hasOwnConditionalReference).toBe(true);
  });

  test('in a resource of a nested Bundle entry', () => {
    const inner = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: obs({ id: 'ok', subject: ref('Patient/p1') }) }, { resource: obs({ subject: ref('Patient?identifier=x') }) }] };
    const outer = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: inner }] };
    const v = view(outer);
    expect(v.hasOwnConditionalReference).toBe(false);
    expect(v.nested[0].view.hasOwnConditionalReference).toBe(false);
    expect(v.hasConditionalReference).toBe(true);
  });

  test('none: literal, contained, urn references; "?" outside a reference element', () => {
    const r = obs({
      subject: ref('Patient/p1'),
      performer: [ref('#c'), ref('urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0')],
      identifier: [{ system: 'https://x?y', value: 'a?b' }],
      valueString: 'Patient?identifier=x',
      contained: [{ resourceType: 'Practitioner', id: 'c' }],
    });
    const v = view(r);
    expect(v.hasOwnConditionalReference).toBe(false);
    expect(v.hasConditionalReference).toBe(false);
    const bundle = { resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'self', url: 'https://x/Observation?subject=p1' }], entry: [{ fullUrl: 'https://x/Observation/1', resource: r }] };
    expect(view(bundle).hasConditionalReference).toBe(false);
  });

  test('in a Parameters resource: a parameter valueReference is its own element, a parameter resource is nested', () => {
    const nested = view({ resourceType: 'Parameters', parameter: [{ name: 'r', resource: obs({ subject: ref('Patient?identifier=x') }) }] });
    expect(nested.hasOwnConditionalReference).toBe(false);
    expect(nested.hasConditionalReference).toBe(true);
    // Only parameter[].resource (and part[].resource) holds a nested resource; the other values of
    // parameter[] are elements of the Parameters itself ("any reference of this resource itself").
    const own = view({ resourceType: 'Parameters', parameter: [{ name: 'subject', valueReference: ref('Patient?identifier=x|1') }] });
    expect(own.hasOwnConditionalReference).toBe(true);
  });

  test('a too deep resource throws TooDeep', () => {
    let node: JsonObject = ref('Patient/p1');
    for (let i = 0; i < 100; i++) node = { extension: [node] };
    expect(() => view(obs({ extension: [node] })).hasOwnConditionalReference).toThrow(TooDeep);
  });
});

describe('allPatients', () => {
  test('the patients of the resource and of every resource nested in it, recursively, once each', () => {
    const r = {
      resourceType: 'Bundle',
      type: 'collection',
      contained: [obs({ subject: ref('Patient/p4') })],
      entry: [
        { resource: { resourceType: 'Patient', id: 'p1' } },
        { resource: obs({ subject: ref('Patient/p2'), contained: [obs({ subject: ref('Patient/p3') }), obs({ subject: ref('Patient/p1') })] }) },
        { resource: { resourceType: 'Medication', id: 'm' } },
      ],
    };
    expect([...view(r).allPatients()]).toEqual(['p4', 'p1', 'p2', 'p3']);
    expect(view(r).patients).toEqual([]);
  });

  test('adds to the set given', () => {
    const out = new Set(['p0']);
    const got = view(obs({ subject: ref('Patient/p1') })).allPatients(out);
    expect(got).toBe(out);
    expect([...out]).toEqual(['p0', 'p1']);
  });
});
