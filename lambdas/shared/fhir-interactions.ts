/**
 * The FHIR R4 RESTful interactions the kit distinguishes. One list, shared by the SMART scope
 * grammar (which permission an interaction needs), the FHIR proxy (which interaction a request
 * is) and the audit writer (the BALP subtype).
 *
 * @see https://hl7.org/fhir/R4/http.html
 */
export const FHIR_INTERACTIONS = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'history-type',
  'history-system',
  'create',
  'search-type',
  'search-system',
  'capabilities',
  'batch',
  'transaction',
  'operation',
] as const;

export type FhirInteraction = (typeof FHIR_INTERACTIONS)[number];

export function isFhirInteraction(value: string): value is FhirInteraction {
  return (FHIR_INTERACTIONS as readonly string[]).includes(value);
}
