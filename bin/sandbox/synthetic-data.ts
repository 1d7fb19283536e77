/**
 * The sandbox's data: three synthetic patients in the style of Synthea's output (numbered given
 * and family names, a visit with vital signs and labs, a condition, a medication, an allergy, an
 * immunization), a practitioner and an organization. Nothing here is, or is derived from, real
 * patient data: every resource is tagged `HTEST` ("test health data", v3-ActReason) in
 * `meta.tag`, and every identifier is in the sandbox's own system.
 *
 * The sign-in users of the Cognito stand-in are these patients (`custom:patient` and
 * `custom:fhirUser` as an administrator would set them).
 */
import type { StandinUser } from './cognito-standin';

export type SyntheticResource = { resourceType: string; id: string } & Record<string, unknown>;

/** The `meta.tag` on every synthetic resource. */
export const SYNTHETIC_TAG = Object.freeze({
  system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  code: 'HTEST',
  display: 'test health data',
});

const IDENTIFIER_SYSTEM = 'https://sandbox.zero-trust-fhir.example.org/sid/synthetic-mrn';
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const UCUM = 'http://unitsofmeasure.org';
const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

export const PRACTITIONER_ID = 'synthetic-practitioner-1';
export const ORGANIZATION_ID = 'synthetic-organization-1';

interface SyntheticPatient {
  readonly id: string;
  readonly username: string;
  readonly given: string;
  readonly family: string;
  readonly gender: 'female' | 'male';
  readonly birthDate: string;
  readonly city: string;
  readonly visit: string;
  readonly vitals: { readonly heightCm: number; readonly weightKg: number; readonly systolic: number; readonly diastolic: number; readonly heartRate: number };
  readonly lab: { readonly loinc: string; readonly display: string; readonly value: number; readonly unit: string };
  readonly condition: { readonly snomed: string; readonly display: string; readonly onset: string };
  readonly medication: { readonly rxnorm: string; readonly display: string };
  readonly allergy: { readonly snomed: string; readonly display: string };
}

const PATIENTS: readonly SyntheticPatient[] = [
  {
    id: 'synthetic-patient-1',
    username: 'aurelia',
    given: 'Aurelia512',
    family: 'Kessler738',
    gender: 'female',
    birthDate: '1978-04-12',
    city: 'Springfield',
    visit: '2025-03-04T09:30:00Z',
    vitals: { heightCm: 165.2, weightKg: 71.4, systolic: 142, diastolic: 91, heartRate: 76 },
    lab: { loinc: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma', value: 212, unit: 'mg/dL' },
    condition: { snomed: '59621000', display: 'Essential hypertension', onset: '2019-06-18' },
    medication: { rxnorm: '314076', display: 'lisinopril 10 MG Oral Tablet' },
    allergy: { snomed: '91935009', display: 'Allergy to peanut' },
  },
  {
    id: 'synthetic-patient-2',
    username: 'dashawn',
    given: 'Dashawn301',
    family: 'Okuneva707',
    gender: 'male',
    birthDate: '1990-09-30',
    city: 'Riverton',
    visit: '2025-02-11T14:00:00Z',
    vitals: { heightCm: 180.1, weightKg: 94.2, systolic: 128, diastolic: 82, heartRate: 68 },
    lab: { loinc: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', value: 6.1, unit: '%' },
    condition: { snomed: '714628002', display: 'Prediabetes', onset: '2023-11-02' },
    medication: { rxnorm: '860975', display: 'metformin hydrochloride 500 MG Oral Tablet' },
    allergy: { snomed: '294505008', display: 'Allergy to amoxicillin' },
  },
  {
    id: 'synthetic-patient-3',
    username: 'mei',
    given: 'Mei88',
    family: 'Lindgren255',
    gender: 'female',
    birthDate: '2012-02-03',
    city: 'Lakeside',
    visit: '2025-01-22T11:15:00Z',
    vitals: { heightCm: 148.0, weightKg: 39.5, systolic: 104, diastolic: 66, heartRate: 88 },
    lab: { loinc: '718-7', display: 'Hemoglobin [Mass/volume] in Blood', value: 12.9, unit: 'g/dL' },
    condition: { snomed: '195967001', display: 'Asthma', onset: '2016-08-09' },
    medication: { rxnorm: '745679', display: '200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler' },
    allergy: { snomed: '300916003', display: 'Latex allergy' },
  },
];

function tagged(resource: SyntheticResource): SyntheticResource {
  return { ...resource, meta: { tag: [{ ...SYNTHETIC_TAG }] } };
}

function quantity(value: number, unit: string): Record<string, unknown> {
  return { value, unit, system: UCUM, code: unit };
}

function observation(p: SyntheticPatient, suffix: string, category: 'vital-signs' | 'laboratory', loinc: string, display: string, value: Record<string, unknown>): SyntheticResource {
  return {
    resourceType: 'Observation',
    id: `${p.id}-${suffix}`,
    status: 'final',
    category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: category }] }],
    code: { coding: [{ system: LOINC, code: loinc, display }], text: display },
    subject: { reference: `Patient/${p.id}` },
    encounter: { reference: `Encounter/${p.id}-visit` },
    effectiveDateTime: p.visit,
    issued: p.visit.replace(/T.*/, 'T18:00:00Z'),
    performer: [{ reference: `Practitioner/${PRACTITIONER_ID}` }],
    ...value,
  };
}

function patientResources(p: SyntheticPatient): SyntheticResource[] {
  const subject = { reference: `Patient/${p.id}` };
  return [
    {
      resourceType: 'Patient',
      id: p.id,
      identifier: [{ system: IDENTIFIER_SYSTEM, value: `SYN-${p.id.slice(-1).padStart(6, '0')}` }],
      name: [{ use: 'official', family: p.family, given: [p.given] }],
      gender: p.gender,
      birthDate: p.birthDate,
      address: [{ line: ['1 Synthetic Way'], city: p.city, state: 'MA', postalCode: '00000', country: 'US' }],
      generalPractitioner: [{ reference: `Practitioner/${PRACTITIONER_ID}` }],
      managingOrganization: { reference: `Organization/${ORGANIZATION_ID}` },
    },
    {
      resourceType: 'Encounter',
      id: `${p.id}-visit`,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
      type: [{ coding: [{ system: SNOMED, code: '162673000', display: 'General examination of patient' }], text: 'General examination' }],
      subject,
      participant: [{ individual: { reference: `Practitioner/${PRACTITIONER_ID}` } }],
      period: { start: p.visit, end: p.visit.replace(/T(\d\d)/, (_m, h: string) => `T${String(Number(h) + 1).padStart(2, '0')}`) },
      serviceProvider: { reference: `Organization/${ORGANIZATION_ID}` },
    },
    observation(p, 'height', 'vital-signs', '8302-2', 'Body Height', { valueQuantity: quantity(p.vitals.heightCm, 'cm') }),
    observation(p, 'weight', 'vital-signs', '29463-7', 'Body Weight', { valueQuantity: quantity(p.vitals.weightKg, 'kg') }),
    observation(p, 'heart-rate', 'vital-signs', '8867-4', 'Heart rate', { valueQuantity: quantity(p.vitals.heartRate, '/min') }),
    observation(p, 'blood-pressure', 'vital-signs', '85354-9', 'Blood pressure panel with all children optional', {
      component: [
        { code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }] }, valueQuantity: quantity(p.vitals.systolic, 'mm[Hg]') },
        { code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic blood pressure' }] }, valueQuantity: quantity(p.vitals.diastolic, 'mm[Hg]') },
      ],
    }),
    observation(p, 'lab', 'laboratory', p.lab.loinc, p.lab.display, { valueQuantity: quantity(p.lab.value, p.lab.unit) }),
    {
      resourceType: 'Condition',
      id: `${p.id}-condition`,
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
      verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis' }] }],
      code: { coding: [{ system: SNOMED, code: p.condition.snomed, display: p.condition.display }], text: p.condition.display },
      subject,
      encounter: { reference: `Encounter/${p.id}-visit` },
      onsetDateTime: p.condition.onset,
      recordedDate: p.condition.onset,
    },
    {
      resourceType: 'MedicationRequest',
      id: `${p.id}-medication`,
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: { coding: [{ system: RXNORM, code: p.medication.rxnorm, display: p.medication.display }], text: p.medication.display },
      subject,
      encounter: { reference: `Encounter/${p.id}-visit` },
      authoredOn: p.visit,
      requester: { reference: `Practitioner/${PRACTITIONER_ID}` },
    },
    {
      resourceType: 'AllergyIntolerance',
      id: `${p.id}-allergy`,
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
      verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code: 'confirmed' }] },
      type: 'allergy',
      criticality: 'low',
      code: { coding: [{ system: SNOMED, code: p.allergy.snomed, display: p.allergy.display }], text: p.allergy.display },
      patient: subject,
      recordedDate: p.condition.onset,
    },
    {
      resourceType: 'Immunization',
      id: `${p.id}-immunization`,
      status: 'completed',
      vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140', display: 'Influenza, seasonal, injectable, preservative free' }] },
      patient: subject,
      encounter: { reference: `Encounter/${p.id}-visit` },
      occurrenceDateTime: p.visit,
      primarySource: true,
    },
  ];
}

/** Every synthetic resource, each tagged `HTEST`. */
export const SYNTHETIC_RESOURCES: readonly SyntheticResource[] = Object.freeze(
  [
    {
      resourceType: 'Organization',
      id: ORGANIZATION_ID,
      active: true,
      name: 'Synthetic Community Health Center',
      address: [{ line: ['100 Synthetic Plaza'], city: 'Springfield', state: 'MA', postalCode: '00000', country: 'US' }],
    },
    {
      resourceType: 'Practitioner',
      id: PRACTITIONER_ID,
      active: true,
      name: [{ family: 'Rempel203', given: ['Jonah114'], prefix: ['Dr.'] }],
    },
    ...PATIENTS.flatMap(patientResources),
  ].map(tagged),
);

/** The synthetic patients' ids, in order. */
export const SYNTHETIC_PATIENT_IDS: readonly string[] = PATIENTS.map((p) => p.id);

/** The sign-in users of the Cognito stand-in: one per synthetic patient. */
export const SYNTHETIC_USERS: readonly StandinUser[] = PATIENTS.map((p) => ({
  username: p.username,
  displayName: `${p.given} ${p.family} (Patient/${p.id})`,
  patient: p.id,
  fhirUser: `Patient/${p.id}`,
}));
