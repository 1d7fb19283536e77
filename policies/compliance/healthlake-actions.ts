/**
 * The HealthLake FHIR data-plane IAM actions (service prefix `healthlake`), split by what they
 * do. `FhirDatastore.grantFhirAccess` grants from these lists and nothing else; the endpoint
 * policy and the FHIR.HIPAA rules use the same lists.
 *
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_awshealthlake.html
 */
export const HEALTHLAKE_READ_ACTIONS = [
  'healthlake:ReadResource',
  'healthlake:SearchWithGet',
  'healthlake:SearchWithPost',
  'healthlake:GetCapabilities',
] as const;

export const HEALTHLAKE_WRITE_ACTIONS = ['healthlake:CreateResource', 'healthlake:UpdateResource', 'healthlake:DeleteResource'] as const;

export const HEALTHLAKE_DATA_ACTIONS = [...HEALTHLAKE_READ_ACTIONS, ...HEALTHLAKE_WRITE_ACTIONS] as const;
