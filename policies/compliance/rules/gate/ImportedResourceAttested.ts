import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import {
  IMPORT_ACKNOWLEDGEMENT_IDS, IMPORTED_RESOURCE_KINDS, importedKindLabel, importRecordsFor, shownResources, type ImportedResourceKind,
} from '../../imported-resources';

/**
 * A resource the kit built on something a platform team brought (imported KMS keys, a VPC, a
 * Cognito user pool: `FhirKeys.fromKeys`, `SegmentedNetwork.fromVpc`, `SmartIdentity`'s
 * `userPool`) carries the import's record (`policies/compliance/imported-resources.ts`, on the
 * resource or on the L2 whose default child it is). The rules that would check the imported
 * resource's settings read only the template, where it is not; so each import is a finding, one
 * granular id per kind (`[keys]`, `[vpc]`, `[user-pool]`), until someone who checked the
 * requirements it lists acknowledges it with a reason. Not applicable to a resource without a
 * record.
 * @param node the CfnResource to check
 */
export function ImportedResourceAttested(node: CfnResource): NagRuleResult {
  const kinds = importedKinds(node);
  return kinds.length === 0 ? NagRuleCompliance.NOT_APPLICABLE : kinds;
}

/** The finding's detail: what was imported, what to check, which rules cannot see it, and how to acknowledge. */
export function describeImportedResourceAttested(node: CfnResource, finding: string | undefined): string | undefined {
  const records = importRecordsFor(node).filter((r) => r.kind === finding);
  if (records.length === 0) return undefined;
  const kind = finding as ImportedResourceKind;
  const requirements = unique(records.flatMap((r) => r.requirements));
  const blind = unique(records.flatMap((r) => r.rulesThatCannotSee));
  return `Imported ${importedKindLabel(kind)} (${records.map(shownResources).join('; ')}): the kit cannot check at synth that ${requirements.join(' ')}`
    + `${blind.length > 0 ? ` (${blind.join(', ')} do not see imported resources)` : ''}. `
    + `Check them, then acknowledge with how, when and by whom: acknowledge(<this resource or its stack>, '${IMPORT_ACKNOWLEDGEMENT_IDS[kind]}', '<reason>').`;
}

/** The kinds of import recorded on the resource, in {@link IMPORTED_RESOURCE_KINDS}'s order. */
function importedKinds(node: CfnResource): ImportedResourceKind[] {
  const present = new Set(importRecordsFor(node).map((r) => r.kind));
  return IMPORTED_RESOURCE_KINDS.filter((k) => present.has(k));
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
