import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { cfnProperties, isCfnType } from '../common/cfn';

/**
 * The CloudWatch log group is encrypted with a customer-managed KMS key: `KmsKeyId` is set
 * (a reference or a literal ARN).
 * @param node the CfnResource to check
 */
export function LogGroupCMKEncryption(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Logs::LogGroup')) return NagRuleCompliance.NOT_APPLICABLE;
  const key = cfnProperties(node).KmsKeyId;
  return key !== undefined && key !== '' ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
