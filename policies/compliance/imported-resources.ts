/**
 * What a platform team brings instead of letting the kit create it (customer-managed keys, a VPC,
 * a Cognito user pool), and how the compliance gate keeps the kit from vouching for it.
 *
 * The compliance rules that hold the kit's own keys, VPC and user pool to their settings
 * (rotation, retention, key policies; no route out, the default security group closed; MFA,
 * threat protection, deletion protection, the pre-token trigger) read the CloudFormation
 * template. An imported resource is not in it: the rules cannot see it and would pass in
 * silence. So every import records what it is and what must hold of it as construct metadata
 * ({@link IMPORTED_RESOURCE_METADATA_KEY}, an {@link ImportedResourceRecord}):
 * - on the construct that imported it ({@link recordImport}), for the report;
 * - on at least one `CfnResource` the kit builds on it ({@link markImportedUse}): the user pool's
 *   managed-login domain, the kit's HealthLake interface endpoint in the imported VPC, and, for
 *   imported keys (which create no resource), the resources encrypted with them (the HealthLake
 *   datastore with `data`, the trail with `audit`, the flow-log group with `logs`).
 *
 * `FHIR.HIPAA-ImportedResourceAttested` reads the record on such a resource (or on its L2 parent
 * when it is the L2's default child) and reports it, one granular finding per kind
 * (`[keys]`, `[vpc]`, `[user-pool]`; {@link IMPORT_ACKNOWLEDGEMENT_IDS}) naming the
 * requirements to check. The synth fails until someone who checked them acknowledges the finding
 * with a reason: `acknowledge(stack, 'FHIR.HIPAA-ImportedResourceAttested[user-pool]', 'how, when,
 * by whom')`. The gate is the one place to acknowledge: an import raises no separate warning.
 *
 * A marker the gate reads (like `public-routes.ts`): `lib/` writes it, `policies/` never imports
 * `lib/`.
 */
import { CfnResource, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** Construct metadata type of an import record ({@link ImportedResourceRecord}). */
export const IMPORTED_RESOURCE_METADATA_KEY = 'zero-trust-fhir:imported-resource';

/** The kinds of resource a team can bring. */
export type ImportedResourceKind = 'keys' | 'vpc' | 'user-pool';

/** Every kind, in the order findings are reported. */
export const IMPORTED_RESOURCE_KINDS: readonly ImportedResourceKind[] = ['keys', 'vpc', 'user-pool'];

/** The rule that reports imports: `FHIR.HIPAA-ImportedResourceAttested`. */
export const IMPORTED_RESOURCE_RULE_ID = 'FHIR.HIPAA-ImportedResourceAttested';

/** The finding of each kind: what `acknowledge(construct, id, reason)` names. */
export const IMPORT_ACKNOWLEDGEMENT_IDS: Readonly<Record<ImportedResourceKind, string>> = {
  keys: `${IMPORTED_RESOURCE_RULE_ID}[keys]`,
  vpc: `${IMPORTED_RESOURCE_RULE_ID}[vpc]`,
  'user-pool': `${IMPORTED_RESOURCE_RULE_ID}[user-pool]`,
};

/** What an import recorded. */
export interface ImportedResourceRecord {
  readonly kind: ImportedResourceKind;
  /** The imported resources (key ARNs, VPC and subnet ids, user pool ARN); may hold tokens. */
  readonly resources: readonly string[];
  /** What must hold of them that the kit cannot check at synth, one sentence each. */
  readonly requirements: readonly string[];
  /** The compliance rules that would check those settings on a resource the kit created, and cannot see this one. */
  readonly rulesThatCannotSee: readonly string[];
  /** The finding to acknowledge once the requirements were checked ({@link IMPORT_ACKNOWLEDGEMENT_IDS}). */
  readonly acknowledgementId: string;
}

/**
 * Records an import on `scope` (the construct that imported it) and returns the record. The
 * gate sees it only on a `CfnResource`: mark one with {@link markImportedUse}.
 */
export function recordImport(
  scope: IConstruct,
  kind: ImportedResourceKind,
  details: Pick<ImportedResourceRecord, 'resources' | 'requirements' | 'rulesThatCannotSee'>,
): ImportedResourceRecord {
  const record: ImportedResourceRecord = { kind, ...details, acknowledgementId: IMPORT_ACKNOWLEDGEMENT_IDS[kind] };
  scope.node.addMetadata(IMPORTED_RESOURCE_METADATA_KEY, record);
  return record;
}

/**
 * Copies the import records of `from` (when it is a construct that holds any; of `kind` only when
 * given) onto `resource`, the `CfnResource` (or L2 whose default child it is) built on the imported
 * resource, where `FHIR.HIPAA-ImportedResourceAttested` reports them. A record already on
 * `resource` is not copied twice. Returns the records copied.
 *
 * `markImportedUse(datastore.resource, props.keys, 'keys')`: a datastore encrypted with imported
 * keys carries their record; with the kit's own keys (no record) nothing happens.
 */
export function markImportedUse(resource: IConstruct, from: unknown, kind?: ImportedResourceKind): ImportedResourceRecord[] {
  if (!isConstruct(from)) return [];
  const present = importRecordsOf(resource);
  const copied: ImportedResourceRecord[] = [];
  for (const record of importRecordsOf(from)) {
    if (kind !== undefined && record.kind !== kind) continue;
    if (present.includes(record) || copied.includes(record)) continue;
    resource.node.addMetadata(IMPORTED_RESOURCE_METADATA_KEY, record);
    copied.push(record);
  }
  return copied;
}

/** The import records on `scope` itself (not its children), well-formed ones only. */
export function importRecordsOf(scope: IConstruct): ImportedResourceRecord[] {
  return scope.node.metadata
    .filter((m) => m.type === IMPORTED_RESOURCE_METADATA_KEY && isRecord(m.data))
    .map((m) => m.data as ImportedResourceRecord);
}

/**
 * The import records the gate reads on a `CfnResource`: its own, and its L2 parent's when it is
 * that L2's default child (`Resource`); the same record once.
 */
export function importRecordsFor(node: CfnResource): ImportedResourceRecord[] {
  const parent = node.node.scope;
  const records = importRecordsOf(node);
  if (parent && parent.node.defaultChild === node) {
    for (const r of importRecordsOf(parent)) if (!records.includes(r)) records.push(r);
  }
  return records;
}

/** What a kind is, in a finding: `KMS keys`, `VPC`, `user pool`. */
export function importedKindLabel(kind: ImportedResourceKind): string {
  return kind === 'keys' ? 'KMS keys' : kind === 'vpc' ? 'VPC' : 'user pool';
}

/** A record's resources as a finding shows them: literal values, `<deploy-time value>` for a token. */
export function shownResources(record: ImportedResourceRecord): string {
  return record.resources.map((r) => (typeof r === 'string' && !Token.isUnresolved(r) ? r : '<deploy-time value>')).join(', ');
}

function isConstruct(value: unknown): value is IConstruct {
  return typeof value === 'object' && value !== null && 'node' in value
    && typeof (value as IConstruct).node === 'object' && Array.isArray((value as IConstruct).node?.metadata);
}

function isRecord(data: unknown): data is ImportedResourceRecord {
  if (typeof data !== 'object' || data === null) return false;
  const r = data as Partial<ImportedResourceRecord>;
  const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
  return IMPORTED_RESOURCE_KINDS.includes(r.kind as ImportedResourceKind) && strings(r.resources) && strings(r.requirements) && strings(r.rulesThatCannotSee);
}
