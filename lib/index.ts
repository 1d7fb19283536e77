export * from './config';
export * from './fhir-keys';
export * from './segmented-network';
export * from './fhir-datastore';
export * from './compliant-function';
export * from '../policies/compliance/healthlake-actions';
// The import records the compliance gate reads (FHIR.HIPAA-ImportedResourceAttested).
export {
  IMPORT_ACKNOWLEDGEMENT_IDS, IMPORTED_RESOURCE_KINDS, IMPORTED_RESOURCE_METADATA_KEY, IMPORTED_RESOURCE_RULE_ID, importRecordsFor, importRecordsOf, markImportedUse, recordImport,
} from '../policies/compliance/imported-resources';
export type { ImportedResourceKind, ImportedResourceRecord } from '../policies/compliance/imported-resources';
export * from './audit-trail';
export * from './smart-identity';
export * from './smart-app-registry';
export * from './fhir-gateway';
export * from './fhir-firewall';
export * from './app-monitoring';
export * from './zero-trust-fhir-stack';
// What the constructs' props take: the team's app registry and label policy (validated when
// made), and the shapes of the environment contracts' settings.
export { AppRegistryDocument, AppRegistryError, loadAppRegistry, TIER_DEFAULTS } from '../policies/app-registry';
export type { AppThrottle, RegisteredApp, RiskTier } from '../policies/app-registry';
export { LabelPolicyDocument, LabelPolicyError } from '../policies/label-policy';
export type { LabelPolicy } from '../policies/label-policy';
export type { ApiLifecycle, ApiVersionStatus } from '../lambdas/shared/api-lifecycle';
