import type { ApiLifecycle } from '../lambdas/shared/api-lifecycle';

/**
 * Construct metadata `FhirGateway` records for the reviewer's report: the API versions it was
 * configured with (every one, retired included), which of them have a stage, and each
 * version's public FHIR base path.
 */
export const API_VERSIONS_METADATA_KEY = 'zero-trust-fhir:api-versions';

/** One API version as {@link API_VERSIONS_METADATA_KEY} records it. */
export interface ApiVersionRecord extends ApiLifecycle {
  /** Whether the version has a stage (and routes): false for a retired version. */
  readonly served: boolean;
  /** The public FHIR base path of the version, e.g. `/v2/r4` (the host is the custom domain or the execute-api endpoint). */
  readonly fhirBasePath: string;
}

/** What {@link API_VERSIONS_METADATA_KEY} records. */
export interface ApiVersionsMetadata {
  /** In configuration order. */
  readonly versions: readonly ApiVersionRecord[];
  /** The version new apps should use (the last active one, else the last deprecated one). */
  readonly current: string;
}

/** The default when no versions are configured: one version, `v1`, active. */
export const DEFAULT_API_VERSIONS: readonly ApiLifecycle[] = Object.freeze([{ version: 'v1', status: 'active' as const }]);
