import { CfnDeletionPolicy, CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { isCfnType } from '../common/cfn';

/**
 * The KMS key survives stack deletion and replacement (deleting it makes everything it encrypted
 * unreadable): `DeletionPolicy` is `Retain` (or `RetainExceptOnCreate`) and
 * `UpdateReplacePolicy` is `Retain`, read from `node.cfnOptions` (the L2's
 * `removalPolicy: RemovalPolicy.RETAIN`, its default).
 * @param node the CfnResource to check
 */
export function KMSKeyRetained(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::KMS::Key')) return NagRuleCompliance.NOT_APPLICABLE;
  const { deletionPolicy, updateReplacePolicy } = node.cfnOptions;
  const deletionRetained = deletionPolicy === CfnDeletionPolicy.RETAIN || deletionPolicy === CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE;
  return deletionRetained && updateReplacePolicy === CfnDeletionPolicy.RETAIN
    ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
