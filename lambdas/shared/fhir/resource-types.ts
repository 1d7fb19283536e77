/**
 * FHIR R4 (4.0.1) resource types for the FHIR modules under `lambdas/shared/fhir/`.
 *
 * The list itself lives in `lambdas/shared/fhir-resource-types.ts` (one list for the whole kit,
 * shared with the SMART scope grammar); this module only re-exports it under the names the
 * proxy modules use, so there is exactly one copy of the 146 names.
 *
 * @see https://hl7.org/fhir/R4/resourcelist.html
 */
import { FHIR_R4_RESOURCE_TYPES, isFhirResourceType, type FhirResourceType } from '../fhir-resource-types';

export { FHIR_R4_RESOURCE_TYPES };

/** A FHIR R4 resource type name, e.g. `Observation`. */
export type ResourceType = FhirResourceType;

/** True when `name` is exactly (case-sensitively) one of the 146 R4 resource type names. */
export function isResourceType(name: string): name is ResourceType {
  return isFhirResourceType(name);
}
