/** The one bounded walker: nested resources (slots, order, depth), replacing them, and element walks. */
import type { JsonObject } from '../../../../lambdas/shared/json';
import { MAX_DEPTH, nestedResources, replaceNested, someElement, TooDeep, walkResources, type Nested } from '../../../../lambdas/shared/fhir/walk';

const patient = (id: string): JsonObject => ({ resourceType: 'Patient', id });
const obs = (id: string, extra: JsonObject = {}): JsonObject => ({ resourceType: 'Observation', id, ...extra });

/** `count` resources nested in one another, alternating Bundle entries and contained (levels 0 … count-1). */
function chain(count: number): JsonObject {
  let r: JsonObject = { resourceType: 'Basic', id: `r${count - 1}` };
  for (let i = count - 2; i >= 0; i--) {
    r = i % 2 === 0 ? { resourceType: 'Bundle', id: `r${i}`, type: 'collection', entry: [{ resource: r }] } : { resourceType: 'Basic', id: `r${i}`, contained: [r] };
  }
  return r;
}

/** `depth` objects nested under `a` below a resource. */
function deepObject(depth: number): JsonObject {
  let node: JsonObject = { leaf: true };
  for (let i = 0; i < depth; i++) node = { a: node };
  return { resourceType: 'Basic', ...node };
}

describe('nestedResources', () => {
  test('contained resources with their index; non-resources are ignored', () => {
    const a = patient('a');
    const b = obs('b');
    const r = obs('o', { contained: [a, { id: 'no-type' }, { resourceType: 5 }, null, 'x', b] });
    const got = nestedResources(r);
    expect(got).toEqual([
      { slot: { kind: 'contained', index: 0 }, resource: a },
      { slot: { kind: 'contained', index: 5 }, resource: b },
    ]);
    expect(got[0].resource).toBe(a);
    expect(got[1].resource).toBe(b);
  });

  test('Bundle entries: entry[].resource with the entry index; entries without a resource are ignored', () => {
    const a = patient('a');
    const b = obs('b');
    const bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [{ fullUrl: 'urn:1', resource: a }, { fullUrl: 'urn:2' }, { resource: { notA: 'resource' } }, null, { resource: b, search: { mode: 'include' } }],
    };
    expect(nestedResources(bundle)).toEqual([
      { slot: { kind: 'entry', index: 0 }, resource: a },
      { slot: { kind: 'entry', index: 4 }, resource: b },
    ]);
  });

  test('a Bundle lists its contained resources first, then its entries', () => {
    const c = patient('c');
    const e = obs('e');
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: e }], contained: [c] };
    expect(nestedResources(bundle).map((n) => n.slot)).toEqual([
      { kind: 'contained', index: 0 },
      { kind: 'entry', index: 0 },
    ]);
  });

  test('an element called entry or parameter on another type holds no nested resource', () => {
    expect(nestedResources({ resourceType: 'List', status: 'current', mode: 'working', entry: [{ resource: patient('x'), item: { reference: 'Patient/x' } }] })).toEqual([]);
    expect(nestedResources({ resourceType: 'Basic', parameter: [{ name: 'p', resource: patient('x') }] })).toEqual([]);
    expect(nestedResources({ resourceType: 'Basic', entry: [{ resource: patient('x') }] })).toEqual([]);
  });

  test('Parameters: parameter[].resource and part[] nesting, with the index path to each', () => {
    const r1 = patient('r1');
    const r2 = obs('r2');
    const r3 = obs('r3');
    const r4 = patient('r4');
    const params = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'a', resource: r1 },
        {
          name: 'b',
          valueString: 'x',
          part: [
            { name: 'c', resource: r2 },
            { name: 'd', part: [{ name: 'skip', valueInteger: 1 }, { name: 'e', resource: r3 }] },
          ],
        },
        { name: 'f', resource: { not: 'a resource' } },
        'junk',
        { name: 'g', resource: r4, part: [{ name: 'h', valueBoolean: true }] },
      ],
    };
    expect(nestedResources(params)).toEqual([
      { slot: { kind: 'parameter', path: [0] }, resource: r1 },
      { slot: { kind: 'parameter', path: [1, 0] }, resource: r2 },
      { slot: { kind: 'parameter', path: [1, 1, 1] }, resource: r3 },
      { slot: { kind: 'parameter', path: [4] }, resource: r4 },
    ]);
  });

  test('only direct nested resources, not their own nested ones', () => {
    const inner = patient('inner');
    const mid = obs('mid', { contained: [inner] });
    expect(nestedResources(obs('top', { contained: [mid] })).map((n) => n.resource)).toEqual([mid]);
  });
});

describe('walkResources', () => {
  test('the body first, then its nested resources depth first, each with its level', () => {
    const body = {
      resourceType: 'Bundle',
      id: 'B',
      type: 'collection',
      contained: [patient('C1')],
      entry: [{ resource: obs('E1', { contained: [patient('E1c')] }) }, { resource: obs('E2') }],
    };
    const seen: [string, number][] = [];
    walkResources(body, (r, level) => seen.push([r.id as string, level]));
    expect(seen).toEqual([
      ['B', 0],
      ['C1', 1],
      ['E1', 1],
      ['E1c', 2],
      ['E2', 1],
    ]);
  });

  test('Parameters resources are walked too', () => {
    const seen: string[] = [];
    walkResources({ resourceType: 'Parameters', id: 'P', parameter: [{ name: 'x', part: [{ name: 'y', resource: patient('Y') }] }] }, (r) => seen.push(r.id as string));
    expect(seen).toEqual(['P', 'Y']);
  });

  test('a body that is not a resource is not visited', () => {
    const visit = jest.fn();
    walkResources({ id: 'no-type' }, visit);
    walkResources([patient('a')], visit);
    walkResources(null, visit);
    walkResources('Patient', visit);
    expect(visit).not.toHaveBeenCalled();
  });

  test(`a chain nested down to level MAX_DEPTH (${MAX_DEPTH}) is walked whole`, () => {
    const levels: number[] = [];
    walkResources(chain(MAX_DEPTH + 1), (_r, level) => levels.push(level));
    expect(levels).toHaveLength(MAX_DEPTH + 1);
    expect(levels[levels.length - 1]).toBe(MAX_DEPTH);
  });

  test('one level deeper (contained and Bundle entries alternating) throws TooDeep', () => {
    expect(() => walkResources(chain(MAX_DEPTH + 2), () => undefined)).toThrow(TooDeep);
  });

  test('a deep chain of contained resources only throws TooDeep', () => {
    let r: JsonObject = patient('leaf');
    for (let i = 0; i < MAX_DEPTH + 5; i++) r = obs(`o${i}`, { contained: [r] });
    expect(() => walkResources(r, () => undefined)).toThrow(TooDeep);
  });
});

describe('replaceNested', () => {
  test('removing a contained resource keeps the others; the container is not changed', () => {
    const a = patient('a');
    const b = patient('b');
    const container = obs('o', { status: 'final', contained: [a, b] });
    const out = replaceNested(container, nestedResources(container), (n) => (n.resource === a ? undefined : n.resource));
    expect(out).toEqual(obs('o', { status: 'final', contained: [b] }));
    expect(out).not.toBe(container);
    expect(container.contained).toEqual([a, b]);
  });

  test('removing every contained resource drops the emptied list', () => {
    const container = obs('o', { status: 'final', contained: [patient('a'), patient('b')] });
    const out = replaceNested(container, nestedResources(container), () => undefined);
    expect(out).toEqual(obs('o', { status: 'final' }));
    expect('contained' in out).toBe(false);
  });

  test('replacing a contained resource puts the new one at its index', () => {
    const a = patient('a');
    const b = patient('b');
    const b2 = patient('b2');
    const container = obs('o', { contained: [a, b] });
    const out = replaceNested(container, nestedResources(container), (n) => (n.resource === b ? b2 : n.resource));
    expect(out.contained).toEqual([a, b2]);
  });

  test('an entry whose resource is removed goes whole; the other entries stay as they were', () => {
    const a = obs('a');
    const b = obs('b');
    const bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: 2,
      entry: [
        { fullUrl: 'https://x/Observation/a', resource: a, search: { mode: 'match' } },
        { fullUrl: 'https://x/Observation/b', resource: b, search: { mode: 'match' } },
      ],
    };
    const out = replaceNested(bundle, nestedResources(bundle), (n) => (n.resource === a ? undefined : n.resource));
    expect(out).toEqual({
      resourceType: 'Bundle',
      type: 'searchset',
      total: 2,
      entry: [{ fullUrl: 'https://x/Observation/b', resource: b, search: { mode: 'match' } }],
    });
    expect(bundle.entry).toHaveLength(2);
  });

  test('removing every entry drops the entry list and keeps the rest of the Bundle', () => {
    const bundle = { resourceType: 'Bundle', type: 'searchset', total: 2, entry: [{ resource: obs('a') }, { resource: obs('b') }] };
    const out = replaceNested(bundle, nestedResources(bundle), () => undefined);
    expect(out).toEqual({ resourceType: 'Bundle', type: 'searchset', total: 2 });
  });

  test('replacing an entry resource keeps the entry fields and the other entries', () => {
    const a = obs('a');
    const b = obs('b');
    const b2 = obs('b', { note: [{ text: 'redacted copy' }] });
    const bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [
        { fullUrl: 'urn:a', resource: a, search: { mode: 'match' } },
        { fullUrl: 'urn:b', resource: b, search: { mode: 'include' } },
      ],
    };
    const out = replaceNested(bundle, nestedResources(bundle), (n) => (n.resource === b ? b2 : n.resource));
    expect(out.entry).toEqual([
      { fullUrl: 'urn:a', resource: a, search: { mode: 'match' } },
      { fullUrl: 'urn:b', resource: b2, search: { mode: 'include' } },
    ]);
    expect(bundle.entry[1].resource).toBe(b);
  });

  test('contained and entries of one Bundle are replaced together', () => {
    const c = patient('c');
    const e = obs('e');
    const bundle = { resourceType: 'Bundle', type: 'collection', contained: [c], entry: [{ resource: e }, { resource: obs('f') }] };
    const out = replaceNested(bundle, nestedResources(bundle), (n) => (n.resource === c || n.resource === e ? undefined : n.resource));
    expect(out).toEqual({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: obs('f') }] });
  });

  test('a parameter resource is replaced at its path, inside part[]; the others are kept; the container is not changed', () => {
    const r1 = patient('r1');
    const r2 = obs('r2');
    const r2b = obs('r2b');
    const params = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'a', resource: r1 },
        { name: 'b', part: [{ name: 'c', valueString: 's' }, { name: 'd', resource: r2 }] },
      ],
    };
    const out = replaceNested(params, nestedResources(params), (n) => (n.resource === r2 ? r2b : n.resource));
    expect(out).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'a', resource: r1 },
        { name: 'b', part: [{ name: 'c', valueString: 's' }, { name: 'd', resource: r2b }] },
      ],
    });
    expect(params.parameter[1].part![1].resource).toBe(r2);
  });

  test('a removed parameter resource leaves its parameter without the resource', () => {
    const params = { resourceType: 'Parameters', parameter: [{ name: 'a', resource: patient('r1') }, { name: 'b', valueString: 'kept' }] };
    const out = replaceNested(params, nestedResources(params), () => undefined);
    expect(out).toEqual({ resourceType: 'Parameters', parameter: [{ name: 'a' }, { name: 'b', valueString: 'kept' }] });
    expect(params.parameter[0].resource).toEqual(patient('r1'));
  });

  test('the container itself (same object) when nothing changes', () => {
    const bundle = { resourceType: 'Bundle', type: 'collection', contained: [patient('c')], entry: [{ resource: obs('e') }] };
    expect(replaceNested(bundle, nestedResources(bundle), (n) => n.resource)).toBe(bundle);
    const params = { resourceType: 'Parameters', parameter: [{ name: 'a', resource: patient('r1') }] };
    expect(replaceNested(params, nestedResources(params), (n) => n.resource)).toBe(params);
    const plain = obs('o');
    expect(replaceNested(plain, [], () => undefined)).toBe(plain);
  });

  test('replace is called once per nested resource, with its slot', () => {
    const bundle = { resourceType: 'Bundle', type: 'collection', contained: [patient('c')], entry: [{ resource: obs('e') }] };
    const calls: Nested[] = [];
    replaceNested(bundle, nestedResources(bundle), (n) => {
      calls.push(n);
      return n.resource;
    });
    expect(calls.map((n) => n.slot)).toEqual([
      { kind: 'contained', index: 0 },
      { kind: 'entry', index: 0 },
    ]);
  });
});

describe('someElement', () => {
  const visits = (resource: JsonObject): [string, unknown][] => {
    const out: [string, unknown][] = [];
    someElement(resource, (key, value) => {
      out.push([key, value]);
      return false;
    });
    return out;
  };

  test('visits object and array values with their key, list items with the list key; primitives and nulls are not visited', () => {
    const coding = { system: 's', code: 'c' };
    const code = { coding: [coding], text: 't' };
    const performer0 = { reference: 'Practitioner/1' };
    const r = { resourceType: 'Observation', status: 'final', code, performer: [performer0, 'str', null], note: null };
    expect(visits(r)).toEqual([
      ['code', code],
      ['coding', [coding]],
      ['coding', coding],
      ['performer', r.performer],
      ['performer', performer0],
    ]);
  });

  test('finds performer[1].reference as a "performer" item, and stops at the first true', () => {
    const r = obs('o', { performer: [{ reference: 'Practitioner/1' }, { reference: 'Patient?identifier=x' }], subject: { reference: 'Patient/p' } });
    const seen: string[] = [];
    const stopped = someElement(r, (key, value) => {
      seen.push(key);
      return key === 'performer' && !Array.isArray(value) && (value as JsonObject).reference === 'Patient?identifier=x';
    });
    expect(stopped).toBe(true);
    // performer list, performer[0], performer[1]: stopped there, subject never visited.
    expect(seen).toEqual(['performer', 'performer', 'performer']);
  });

  test('returns false when no visit stops it', () => {
    expect(someElement(obs('o', { subject: { reference: 'Patient/p' } }), () => false)).toBe(false);
  });

  test('skips contained at depth 0', () => {
    const r = obs('o', { contained: [patient('c')], subject: { reference: '#c' } });
    expect(visits(r).map(([k]) => k)).toEqual(['subject']);
  });

  test('skips a Bundle entry list at depth 0, but walks its other elements', () => {
    const r = { resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'self', url: 'u' }], entry: [{ resource: obs('e', { subject: {} }) }] };
    expect(visits(r).map(([k]) => k)).toEqual(['link', 'link']);
  });

  test('walks an element called entry on a non-Bundle (List.entry[].item)', () => {
    const item = { reference: 'Patient?identifier=x' };
    const r = { resourceType: 'List', status: 'current', mode: 'working', entry: [{ item }] };
    const found = someElement(r, (key, value) => key === 'item' && value === item);
    expect(found).toBe(true);
  });

  test('an element called contained below depth 0 is walked', () => {
    const inner = { x: 1 };
    const r = obs('o', { extension: [{ url: 'u', contained: inner }] });
    expect(someElement(r, (key, value) => key === 'contained' && value === inner)).toBe(true);
  });

  test('own properties only', () => {
    const proto = { inherited: { reference: 'Patient?x' } };
    const r = Object.assign(Object.create(proto) as JsonObject, { resourceType: 'Basic' });
    expect(someElement(r, (key) => key === 'inherited')).toBe(false);
  });

  test('throws TooDeep on a 100-deep object, not on a 30-deep one', () => {
    expect(() => someElement(deepObject(100), () => false)).toThrow(TooDeep);
    expect(someElement(deepObject(30), () => false)).toBe(false);
  });

  test('throws TooDeep on deeply nested arrays', () => {
    let node: unknown = [{ leaf: true }];
    for (let i = 0; i < 100; i++) node = [node];
    expect(() => someElement({ resourceType: 'Basic', a: node }, () => false)).toThrow(TooDeep);
  });
});
