/**
 * What a platform team brings instead of letting the kit create it (customer-managed keys, a VPC,
 * a Cognito user pool), and how the kit keeps from vouching for it.
 *
 * The compliance rules that hold the kit's own keys, VPC and user pool to their settings
 * (rotation, retention, key policies; no route out, the default security group closed; MFA,
 * threat protection, deletion protection, the pre-token trigger) read the CloudFormation
 * template. An imported resource is not in it: the rules cannot see it and would pass in
 * silence. So every import:
 * - records what it is and what must hold of it as construct metadata
 *   ({@link IMPORTED_RESOURCE_METADATA_KEY}) on the construct that imported it, for the report
 *   and for a rule that reads it;
 * - raises a warning on that construct, with one id per kind of import
 *   ({@link IMPORT_ACKNOWLEDGEMENT_IDS}), that lists exactly those settings and stays until
 *   someone who checked them acknowledges it by name with a reason:
 *   `acknowledge(construct, 'ZeroTrustFhir-ImportedUserPool', 'how it was checked')`.
 */
import { Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** Construct metadata type of an import record ({@link ImportedResourceRecord}). */
export const IMPORTED_RESOURCE_METADATA_KEY = 'zero-trust-fhir:imported-resource';

/** The kinds of resource a team can bring. */
export type ImportedResourceKind = 'keys' | 'vpc' | 'user-pool';

/** The id of each kind's warning: what `acknowledge(construct, id, reason)` names. */
export const IMPORT_ACKNOWLEDGEMENT_IDS: Readonly<Record<ImportedResourceKind, string>> = {
  keys: 'ZeroTrustFhir-ImportedKeys',
  vpc: 'ZeroTrustFhir-ImportedVpc',
  'user-pool': 'ZeroTrustFhir-ImportedUserPool',
};

/** What an import recorded on its construct. */
export interface ImportedResourceRecord {
  readonly kind: ImportedResourceKind;
  /** The imported resources (key ARNs, VPC and subnet ids, user pool ARN); may hold tokens. */
  readonly resources: readonly string[];
  /** What must hold of them that the kit cannot check at synth, one sentence each. */
  readonly requirements: readonly string[];
  /** The compliance rules that would check those settings on a resource the kit created, and cannot see this one. */
  readonly rulesThatCannotSee: readonly string[];
  /** The id to acknowledge once the requirements were checked. */
  readonly acknowledgementId: string;
}

/**
 * Records an import on `scope` (metadata and a warning to acknowledge), and returns the record.
 * The warning names the construct path and the id, so the synth output says what to do.
 */
export function recordImport(
  scope: IConstruct,
  kind: ImportedResourceKind,
  details: Pick<ImportedResourceRecord, 'resources' | 'requirements' | 'rulesThatCannotSee'>,
): ImportedResourceRecord {
  const record: ImportedResourceRecord = { kind, ...details, acknowledgementId: IMPORT_ACKNOWLEDGEMENT_IDS[kind] };
  scope.node.addMetadata(IMPORTED_RESOURCE_METADATA_KEY, record);
  Validations.of(scope).addWarning(
    record.acknowledgementId,
    `${scope.node.path}: imported ${kind === 'keys' ? 'KMS keys' : kind === 'vpc' ? 'VPC' : 'user pool'}; the kit cannot check at synth that ${details.requirements.join(' ')} `
      + `(${details.rulesThatCannotSee.join(', ')} do not see imported resources). Check them, then acknowledge with the reason: `
      + `acknowledge(<this construct or its stack>, '${record.acknowledgementId}', '<how you checked>').`,
  );
  return record;
}

/** The import records on `scope` itself (not its children). */
export function importRecordsOf(scope: IConstruct): ImportedResourceRecord[] {
  return scope.node.metadata.filter((m) => m.type === IMPORTED_RESOURCE_METADATA_KEY).map((m) => m.data as ImportedResourceRecord);
}
