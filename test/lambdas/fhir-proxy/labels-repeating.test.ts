/** Inline label redaction (`redactInline`): repeating primitives stay aligned with their `_` lists, lists of complex values lose only the labelled item. */
import type { JsonObject } from '../../../lambdas/shared/json';
import { ACT_CODE_SYSTEM, INLINE_LABEL_EXTENSION, OBSERVATION_VALUE_SYSTEM, redactInline } from '../../../lambdas/fhir-proxy/labels';

const coding = (code: string) => ({ system: ACT_CODE_SYSTEM, code });
const label = (code: string) => ({ url: INLINE_LABEL_EXTENSION, valueCoding: coding(code) });
/** An element (or `_x` sibling) carrying an inline label, with other content. */
const labelled = (code: string, extra: JsonObject = {}): JsonObject => ({ ...extra, extension: [label(code)] });
const REDACTED_MARK = { system: OBSERVATION_VALUE_SYSTEM, code: 'REDACTED', display: 'redacted' };

const none = (): boolean => false;
/** Allows every label but PSY. */
const noPsy = (labels: unknown[]): boolean => !labels.some((c) => (c as { code?: unknown } | null)?.code === 'PSY');

function redact(resource: JsonObject, allowed: (labels: unknown[]) => boolean = none): { resource: JsonObject; removed: number } {
  const before = JSON.stringify(resource);
  const out = redactInline(resource, allowed);
  if (out === undefined) throw new Error('refused whole');
  expect(JSON.stringify(resource)).toBe(before); // the input is never changed
  return out;
}
const name0 = (r: JsonObject): JsonObject => (r.name as JsonObject[])[0];

describe('repeating primitive (given / _given)', () => {
  test('the labelled index goes from both lists; the lists stay aligned', () => {
    const patient = { resourceType: 'Patient', id: 'p', name: [{ family: 'F', given: ['A', 'B', 'C'], _given: [null, labelled('PSY'), { id: 'g3' }] }] };
    const out = redact(patient);
    expect(out.removed).toBe(1);
    expect(name0(out.resource)).toEqual({ family: 'F', given: ['A', 'C'], _given: [null, { id: 'g3' }] });
  });

  test('a _given left with only nulls is dropped; given keeps the other items', () => {
    const patient = { resourceType: 'Patient', name: [{ family: 'F', given: ['A', 'B', 'C'], _given: [labelled('PSY'), null, null] }] };
    const out = redact(patient);
    expect(out.removed).toBe(1);
    expect(name0(out.resource)).toEqual({ family: 'F', given: ['B', 'C'] });
  });

  test('_given before given in the object: same result', () => {
    const patient = { resourceType: 'Patient', name: [{ _given: [null, labelled('PSY')], family: 'F', given: ['A', 'B'] }] };
    const out = redact(patient);
    expect(name0(out.resource)).toEqual({ family: 'F', given: ['A'] });
  });

  test('every item removed: both given and _given are dropped', () => {
    const patient = { resourceType: 'Patient', name: [{ family: 'F', given: ['A', 'B'], _given: [labelled('PSY'), labelled('ETH')] }] };
    const out = redact(patient);
    expect(out.removed).toBe(2);
    expect(name0(out.resource)).toEqual({ family: 'F' });
  });

  test('a value present only as an extension (null in given) goes the same way', () => {
    const patient = { resourceType: 'Patient', name: [{ given: [null, 'B', 'C'], _given: [labelled('PSY'), null, { id: 'c' }] }] };
    expect(name0(redact(patient).resource)).toEqual({ given: ['B', 'C'], _given: [null, { id: 'c' }] });
  });

  test('only the labels the predicate refuses are removed', () => {
    const patient = { resourceType: 'Patient', name: [{ given: ['A', 'B', 'C'], _given: [labelled('ETH'), labelled('PSY'), labelled('ETH')] }] };
    const out = redact(patient, noPsy);
    expect(out.removed).toBe(1);
    expect(name0(out.resource)).toEqual({ given: ['A', 'C'], _given: [labelled('ETH'), labelled('ETH')] });
  });

  test('the predicate receives the valueCodings of the inline labels (null for a malformed one)', () => {
    const seen: unknown[][] = [];
    const patient = {
      resourceType: 'Patient',
      name: [{ given: ['A'], _given: [{ extension: [label('PSY'), { url: 'https://x/other', valueString: 'o' }, { url: INLINE_LABEL_EXTENSION, valueString: 'bad' }] }] }],
    };
    redact(patient, (labels) => {
      seen.push(labels);
      return true;
    });
    expect(seen).toEqual([[coding('PSY'), null]]);
  });

  test('a list in a nested list (name[1].given / name[1]._given)', () => {
    const first = { use: 'official', family: 'A', given: ['x'], _given: [{ id: 'x' }] };
    const patient = { resourceType: 'Patient', name: [first, { use: 'nickname', family: 'B', given: ['y', 'z'], _given: [labelled('PSY'), null] }] };
    const out = redact(patient);
    const names = out.resource.name as JsonObject[];
    expect(names).toHaveLength(2);
    expect(names[0]).toBe(first);
    expect(names[1]).toEqual({ use: 'nickname', family: 'B', given: ['z'] });
  });
});

describe('single primitive (birthDate / _birthDate)', () => {
  test('a labelled _birthDate removes birthDate with it', () => {
    const patient = { resourceType: 'Patient', id: 'p', gender: 'female', birthDate: '1970-01-01', _birthDate: labelled('PSY') };
    const out = redact(patient);
    expect(out.removed).toBe(1);
    expect(out.resource).not.toHaveProperty('birthDate');
    expect(out.resource).not.toHaveProperty('_birthDate');
    expect(out.resource).toMatchObject({ resourceType: 'Patient', id: 'p', gender: 'female' });
  });

  test('same when _birthDate comes first', () => {
    const patient = { resourceType: 'Patient', _birthDate: labelled('PSY'), birthDate: '1970-01-01', gender: 'female' };
    const out = redact(patient);
    expect(out.resource).not.toHaveProperty('birthDate');
    expect(out.resource).not.toHaveProperty('_birthDate');
  });

  test('an allowed label keeps both', () => {
    const patient = { resourceType: 'Patient', birthDate: '1970-01-01', _birthDate: labelled('ETH') };
    const out = redact(patient, noPsy);
    expect(out.removed).toBe(0);
    expect(out.resource).toBe(patient);
  });
});

describe('list of complex values', () => {
  test('a labelled telecom item is removed alone', () => {
    const t0 = { system: 'phone', value: '111' };
    const t2 = { system: 'email', value: 'e@x' };
    const patient = { resourceType: 'Patient', telecom: [t0, labelled('PSY', { system: 'phone', value: '222' }), t2], gender: 'male' };
    const out = redact(patient);
    expect(out.removed).toBe(1);
    expect(out.resource.telecom).toEqual([t0, t2]);
    expect((out.resource.telecom as unknown[])[0]).toBe(t0);
    expect(out.resource.gender).toBe('male');
  });

  test('every item removed: the list is dropped', () => {
    const patient = { resourceType: 'Patient', telecom: [labelled('PSY', { value: '1' }), labelled('PSY', { value: '2' })] };
    const out = redact(patient);
    expect(out.removed).toBe(2);
    expect(out.resource).not.toHaveProperty('telecom');
  });

  test('a labelled item deeper in a list (contact[0].telecom[0])', () => {
    const patient = { resourceType: 'Patient', contact: [{ name: { family: 'C' }, telecom: [labelled('PSY', { value: '1' }), { value: '2' }] }] };
    const out = redact(patient);
    expect(out.resource.contact).toEqual([{ name: { family: 'C' }, telecom: [{ value: '2' }] }]);
  });

  test('a labelled single complex element is removed', () => {
    const patient = { resourceType: 'Patient', maritalStatus: labelled('PSY', { text: 'M' }), gender: 'other' };
    const out = redact(patient);
    expect(out.resource).not.toHaveProperty('maritalStatus');
    expect(out.removed).toBe(1);
  });
});

describe('the resource as a whole', () => {
  test('removed counts every removed element; REDACTED is added to meta.security once, other meta kept', () => {
    const patient = {
      resourceType: 'Patient',
      meta: { versionId: '4', security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
      birthDate: '1970-01-01',
      _birthDate: labelled('PSY'),
      telecom: [labelled('PSY', { value: '1' }), { value: '2' }],
      name: [{ given: ['A', 'B'], _given: [null, labelled('PSY')] }],
    };
    const out = redact(patient);
    expect(out.removed).toBe(3);
    expect(out.resource.meta).toEqual({
      versionId: '4',
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }, REDACTED_MARK],
    });
  });

  test('a resource already marked REDACTED is not marked twice', () => {
    const patient = { resourceType: 'Patient', meta: { security: [{ system: OBSERVATION_VALUE_SYSTEM, code: 'REDACTED' }] }, telecom: [labelled('PSY'), { value: '2' }] };
    const out = redact(patient);
    expect((out.resource.meta as JsonObject).security).toEqual([{ system: OBSERVATION_VALUE_SYSTEM, code: 'REDACTED' }]);
  });

  test('a resource without meta gets one with the REDACTED marker', () => {
    const out = redact({ resourceType: 'Patient', telecom: [labelled('PSY')] });
    expect(out.resource).toEqual({ resourceType: 'Patient', meta: { security: [REDACTED_MARK] } });
  });

  test('nothing refused: the resource itself, removed 0, no marker', () => {
    const patient = { resourceType: 'Patient', name: [{ given: ['A'], _given: [labelled('ETH')] }], telecom: [{ value: '1' }] };
    const out = redact(patient, noPsy);
    expect(out).toEqual({ resource: patient, removed: 0 });
    expect(out.resource).toBe(patient);
  });

  test('contained resources are left untouched (decided on their own)', () => {
    const contained = [{ resourceType: 'Observation', id: 'c', valueString: 's', _valueString: labelled('PSY'), note: [labelled('PSY', { text: 'n' })] }];
    const alone = { resourceType: 'Observation', status: 'final', contained };
    const out = redact(alone);
    expect(out.removed).toBe(0);
    expect(out.resource).toBe(alone);

    const withOwn = { resourceType: 'Observation', status: 'final', contained, note: [labelled('PSY', { text: 'own' }), { text: 'kept' }] };
    const out2 = redact(withOwn);
    expect(out2.removed).toBe(1);
    expect(out2.resource.note).toEqual([{ text: 'kept' }]);
    expect(out2.resource.contained).toBe(contained);
  });

  test('Bundle entries are left untouched (decided on their own)', () => {
    const entry = [{ resource: { resourceType: 'Patient', telecom: [labelled('PSY')] } }];
    const bundle = { resourceType: 'Bundle', type: 'collection', entry };
    const out = redact(bundle);
    expect(out.resource).toBe(bundle);
    expect(out.removed).toBe(0);
  });

  test('too deep a resource is refused whole (undefined)', () => {
    let node: JsonObject = { valueString: 'leaf' };
    for (let i = 0; i < 100; i++) node = { url: 'https://x/e', extension: [node] };
    expect(redactInline({ resourceType: 'Patient', extension: [node] }, none)).toBeUndefined();
    expect(redactInline({ resourceType: 'Patient', extension: [node] }, () => true)).toBeUndefined();
  });
});
