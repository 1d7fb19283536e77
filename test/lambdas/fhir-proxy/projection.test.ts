/** `_summary` / `_elements`: parsed, stripped before forwarding, and applied to released resources only. */
import type { JsonObject } from '../../../lambdas/shared/json';
import { projectBody, projectionOf, projectResource, SUBSETTED, withoutProjection, type Projection } from '../../../lambdas/fhir-proxy/projection';

const OBSERVATION_VALUE = 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue';
const SUBSETTED_TAG = { system: OBSERVATION_VALUE, code: 'SUBSETTED', display: 'subsetted' };
const p = (name: string, value: string) => ({ name, value });

const summary = (mode: 'true' | 'text' | 'data'): Projection => ({ kind: 'summary', mode });
const elements = (value: string): Projection => {
  const got = projectionOf([p('_elements', value)]);
  if (got === undefined || got.kind !== 'elements') throw new Error(`not an _elements projection: ${JSON.stringify(got)}`);
  return got;
};
const keys = (o: unknown): string[] => Object.keys(o as JsonObject).sort();

function observation(): JsonObject {
  return {
    resourceType: 'Observation',
    id: 'o1',
    meta: { versionId: '3', security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }], tag: [{ system: 'urn:t', code: 'x' }] },
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">hr 60</div>' },
    language: 'en',
    extension: [{ url: 'https://x/ext', valueString: 'e' }],
    status: 'final',
    _status: { extension: [{ url: 'https://x/status-note', valueString: 's' }] },
    category: [{ coding: [{ code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2024-01-01',
    _effectiveDateTime: { id: 'eff' },
    issued: '2024-01-02T00:00:00Z',
    _issued: { id: 'iss' },
    valueQuantity: { value: 60, unit: '/min' },
    interpretation: [{ text: 'normal' }],
    note: [{ text: 'a clinical note' }],
    bodySite: { text: 'wrist' },
  };
}

describe('projectionOf', () => {
  test('none: no projection parameter', () => {
    expect(projectionOf([])).toBeUndefined();
    expect(projectionOf([p('_count', '10'), p('subject', 'Patient/p1')])).toBeUndefined();
  });

  test.each(['true', 'text', 'data'] as const)('_summary=%s', (mode) => {
    expect(projectionOf([p('subject', 'Patient/p1'), p('_summary', mode)])).toEqual({ kind: 'summary', mode });
  });

  test('_summary=count', () => {
    expect(projectionOf([p('_summary', 'count')])).toEqual({ kind: 'count' });
  });

  test('_summary=false: no projection', () => {
    expect(projectionOf([p('_summary', 'false')])).toBeUndefined();
  });

  test.each(['TRUE', 'True', '', 'yes', 'true ', 'true,text', 'counts', 'constructor', '__proto__'])('_summary=%p is refused (400)', (value) => {
    expect(projectionOf([p('_summary', value)])).toMatchObject({ kind: 'deny', status: 400, code: 'invalid' });
  });

  test.each([
    ['_summary and _elements', [p('_summary', 'true'), p('_elements', 'subject')]],
    ['_summary twice', [p('_summary', 'true'), p('_summary', 'true')]],
    ['_summary=false and _elements', [p('_summary', 'false'), p('_elements', 'subject')]],
    ['_elements twice', [p('_elements', 'subject'), p('_elements', 'code')]],
  ])('%s is refused (400)', (_n, params) => {
    expect(projectionOf(params)).toMatchObject({ kind: 'deny', status: 400, code: 'invalid' });
  });

  test('_elements: names for every type, and Type.name for one type', () => {
    const got = elements('subject, Observation.code,Patient.birthDate,code,valueQuantity');
    if (got.kind !== 'elements') throw new Error('elements');
    const asObject = Object.fromEntries([...got.names].map(([t, s]) => [t, [...s].sort()]));
    expect(asObject).toEqual({ '*': ['code', 'subject', 'valueQuantity'], Observation: ['code'], Patient: ['birthDate'] });
  });

  test('_elements: a 64-character name is accepted', () => {
    expect(projectionOf([p('_elements', 'a'.repeat(64))])).toMatchObject({ kind: 'elements' });
  });

  test.each([
    'Subject',
    'observation.subject',
    'Observation.Subject',
    'Observation.',
    '.subject',
    'subject.reference',
    'Observation.subject.reference',
    'value[x]',
    '_status',
    '1abc',
    'sub-ject',
    'subject,',
    '',
    'subject,,code',
    'a'.repeat(65),
    'subject;code',
  ])('_elements=%p is refused (400)', (value) => {
    expect(projectionOf([p('_elements', value)])).toMatchObject({ kind: 'deny', status: 400, code: 'invalid' });
  });
});

describe('withoutProjection', () => {
  test('drops _summary and _elements, keeps the rest in order', () => {
    const params = [p('subject', 'Patient/p1'), p('_summary', 'true'), p('_count', '5'), p('_elements', 'code'), p('_sort', 'date')];
    expect(withoutProjection(params)).toEqual([p('subject', 'Patient/p1'), p('_count', '5'), p('_sort', 'date')]);
    expect(params).toHaveLength(5);
  });

  test('the same list when there is nothing to drop', () => {
    const params = [p('subject', 'Patient/p1'), p('_summary_x', 'true')];
    expect(withoutProjection(params)).toBe(params);
  });
});

describe('projectResource', () => {
  test('_summary=true: summary and mandatory elements (choice value[x] and effective[x] with their _ siblings); drops text, note, …', () => {
    const r = observation();
    const out = projectResource(r, summary('true'));
    expect(keys(out)).toEqual(
      ['resourceType', 'id', 'meta', 'status', '_status', 'code', 'subject', 'effectiveDateTime', '_effectiveDateTime', 'issued', '_issued', 'valueQuantity'].sort(),
    );
    expect(out.valueQuantity).toBe(r.valueQuantity);
    expect(out.subject).toBe(r.subject);
    expect(out).not.toHaveProperty('text');
    expect(out).not.toHaveProperty('note');
    expect(out).not.toHaveProperty('category');
  });

  test('_summary=true keeps every value[x] choice (valueString, valueCodeableConcept) but not a non-choice look-alike', () => {
    const base = { resourceType: 'Observation', status: 'final', code: { text: 'c' } };
    expect(projectResource({ ...base, valueString: 'x', _valueString: { id: 'v' } }, summary('true'))).toMatchObject({ valueString: 'x', _valueString: { id: 'v' } });
    expect(projectResource({ ...base, valueCodeableConcept: { text: 'y' } }, summary('true'))).toMatchObject({ valueCodeableConcept: { text: 'y' } });
    // `value` + lower-case is not a choice of value[x]; `values` is no Observation element.
    expect(projectResource({ ...base, values: 1, valuequantity: 2 }, summary('true'))).not.toHaveProperty('values');
    expect(projectResource({ ...base, values: 1, valuequantity: 2 }, summary('true'))).not.toHaveProperty('valuequantity');
    expect(projectResource({ ...base, value0: 1 }, summary('true'))).not.toHaveProperty('value0');
  });

  test('_summary=true also keeps mandatory elements that are not summary (Appointment.participant)', () => {
    const appt = { resourceType: 'Appointment', id: 'a', status: 'booked', participant: [{ actor: { reference: 'Patient/p1' }, status: 'accepted' }], comment: 'c', start: '2024-01-01T10:00:00Z' };
    const out = projectResource(appt, summary('true'));
    expect(keys(out)).toEqual(['resourceType', 'id', 'meta', 'status', 'participant', 'start'].sort());
    expect(out.participant).toBe(appt.participant);
  });

  test('_summary=text: text, id, meta and the mandatory elements only', () => {
    const r = observation();
    const out = projectResource(r, summary('text'));
    expect(keys(out)).toEqual(['resourceType', 'id', 'meta', 'text', 'status', '_status', 'code'].sort());
    expect(out.text).toBe(r.text);
  });

  test('_summary=data: everything but text', () => {
    const r = observation();
    const out = projectResource(r, summary('data'));
    expect(keys(out)).toEqual(keys(r).filter((k) => k !== 'text'));
    expect(out.note).toBe(r.note);
  });

  test('_elements=subject: id, meta, subject, plus mandatory status and code', () => {
    const out = projectResource(observation(), elements('subject'));
    expect(keys(out)).toEqual(['resourceType', 'id', 'meta', 'subject', 'status', '_status', 'code'].sort());
  });

  test('_elements keeps an element with its _ sibling, and a choice asked by its full name', () => {
    const out = projectResource(observation(), elements('issued,valueQuantity'));
    expect(out).toMatchObject({ issued: '2024-01-02T00:00:00Z', _issued: { id: 'iss' }, valueQuantity: { value: 60, unit: '/min' } });
    expect(out).not.toHaveProperty('effectiveDateTime');
    expect(out).not.toHaveProperty('_effectiveDateTime');
  });

  test('_elements=Type.name applies to that type only', () => {
    const projection = elements('Patient.birthDate,Observation.issued');
    const obs = projectResource(observation(), projection);
    expect(obs).toHaveProperty('issued');
    expect(obs).not.toHaveProperty('subject');
    const patient = projectResource({ resourceType: 'Patient', id: 'p1', birthDate: '1970-01-01', _birthDate: { id: 'b' }, issued: 'x', gender: 'other' }, projection);
    expect(keys(patient)).toEqual(['resourceType', 'id', 'meta', 'birthDate', '_birthDate'].sort());
  });

  test('the SUBSETTED tag is appended under meta.tag; the rest of meta (security labels) is kept; the input is not changed', () => {
    const r = observation();
    const before = JSON.parse(JSON.stringify(r));
    const out = projectResource(r, summary('true'));
    expect(out.meta).toEqual({
      versionId: '3',
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
      tag: [{ system: 'urn:t', code: 'x' }, SUBSETTED_TAG],
    });
    expect(SUBSETTED).toBe('SUBSETTED');
    expect(r).toEqual(before);
    expect(out).not.toBe(r);
  });

  test('the SUBSETTED tag is added once', () => {
    const once = projectResource(observation(), summary('true'));
    const twice = projectResource(once, summary('true'));
    expect((twice.meta as JsonObject).tag).toEqual([{ system: 'urn:t', code: 'x' }, SUBSETTED_TAG]);
    const tagged = { resourceType: 'Patient', id: 'p', meta: { tag: [{ system: OBSERVATION_VALUE, code: 'SUBSETTED' }] }, photo: [{}] };
    expect(projectResource(tagged, summary('true')).meta).toEqual({ tag: [{ system: OBSERVATION_VALUE, code: 'SUBSETTED' }] });
  });

  test('a resource without meta gets one with the tag (even where meta is not kept)', () => {
    expect(projectResource({ resourceType: 'Patient', id: 'p', gender: 'other' }, summary('text'))).toEqual({ resourceType: 'Patient', id: 'p', meta: { tag: [SUBSETTED_TAG] } });
  });

  test('a SUBSETTED code under another system is no marker', () => {
    const r = { resourceType: 'Patient', id: 'p', meta: { tag: [{ system: 'urn:other', code: 'SUBSETTED' }] } };
    expect((projectResource(r, summary('data')).meta as JsonObject).tag).toEqual([{ system: 'urn:other', code: 'SUBSETTED' }, SUBSETTED_TAG]);
  });

  test('an own __proto__ property (JSON.parse) is copied as data, never as the prototype', () => {
    const parsed = JSON.parse('{"resourceType":"Observation","id":"o","status":"final","code":{"text":"c"},"__proto__":{"polluted":true}}') as JsonObject;
    expect(Object.prototype.hasOwnProperty.call(parsed, '__proto__')).toBe(true);
    const out = projectResource(parsed, summary('data'));
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect((out as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ polluted: true });
    expect(JSON.parse(JSON.stringify(out))).toMatchObject({ id: 'o', status: 'final' });
  });

  test('_summary=count leaves a resource as it is', () => {
    const r = observation();
    expect(projectResource(r, { kind: 'count' })).toBe(r);
  });
});

describe('projectBody', () => {
  const outcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'warning', code: 'informational' }], text: { status: 'generated', div: '<div/>' } };

  test('a searchset: match and include resources projected, an OperationOutcome entry and the Bundle itself not', () => {
    const match = observation();
    const include = { resourceType: 'Patient', id: 'p1', text: { status: 'generated', div: '<div/>' }, name: [{ family: 'F' }], photo: [{ url: 'x' }] };
    const bundle = {
      resourceType: 'Bundle',
      id: 'b',
      meta: { lastUpdated: '2024-01-01T00:00:00Z' },
      type: 'searchset',
      total: 2,
      link: [{ relation: 'self', url: 'https://x/Observation?_summary=true' }],
      entry: [
        { fullUrl: 'https://x/Observation/o1', resource: match, search: { mode: 'match' } },
        { fullUrl: 'https://x/Patient/p1', resource: include, search: { mode: 'include' } },
        { resource: outcome, search: { mode: 'outcome' } },
      ],
    };
    const out = projectBody(bundle, summary('true')) as JsonObject & { entry: JsonObject[] };
    expect(out).toMatchObject({ resourceType: 'Bundle', id: 'b', type: 'searchset', total: 2, link: bundle.link, meta: { lastUpdated: '2024-01-01T00:00:00Z' } });
    expect(out.meta).toEqual(bundle.meta);
    expect(out.entry).toHaveLength(3);
    expect(out.entry[0]).toEqual({ fullUrl: 'https://x/Observation/o1', resource: projectResource(match, summary('true')), search: { mode: 'match' } });
    expect(out.entry[0].resource).not.toHaveProperty('note');
    expect(out.entry[1].resource).toEqual({ resourceType: 'Patient', id: 'p1', name: [{ family: 'F' }], meta: { tag: [SUBSETTED_TAG] } });
    expect(out.entry[1].search).toEqual({ mode: 'include' });
    expect(out.entry[2]).toBe(bundle.entry[2]);
    expect(bundle.entry[0].resource).toBe(match);
    expect(match).toHaveProperty('note');
  });

  test('a history Bundle: entry resources projected; an entry without a resource (a delete) kept', () => {
    const deleted = { request: { method: 'DELETE', url: 'Observation/o2' }, response: { status: '204' } };
    const history = {
      resourceType: 'Bundle',
      type: 'history',
      entry: [{ resource: observation(), request: { method: 'PUT', url: 'Observation/o1' }, response: { status: '200' } }, deleted],
    };
    const out = projectBody(history, elements('subject')) as JsonObject & { entry: JsonObject[] };
    expect(keys(out.entry[0].resource)).toEqual(['resourceType', 'id', 'meta', 'subject', 'status', '_status', 'code'].sort());
    expect(out.entry[0].request).toEqual({ method: 'PUT', url: 'Observation/o1' });
    expect(out.entry[1]).toBe(deleted);
  });

  test('an OperationOutcome body is never projected', () => {
    expect(projectBody(outcome, summary('true'))).toBe(outcome);
    expect(projectBody(outcome, elements('issue'))).toBe(outcome);
  });

  test('a single resource is projected', () => {
    const r = observation();
    expect(projectBody(r, summary('text'))).toEqual(projectResource(r, summary('text')));
    expect(projectBody(r, summary('text'))).not.toHaveProperty('subject');
  });

  test('no projection, or no object: the body as it is', () => {
    const r = observation();
    expect(projectBody(r, undefined)).toBe(r);
    expect(projectBody('text', summary('true'))).toBe('text');
    expect(projectBody(null, summary('true'))).toBeNull();
    const empty = { resourceType: 'Bundle', type: 'searchset', total: 0 };
    expect(projectBody(empty, summary('true'))).toBe(empty);
  });
});
