import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { cfnProperties, isCfnType } from '../common/cfn';

/**
 * The user pool cannot be deleted by accident: `DeletionProtection: ACTIVE`. Absent (`INACTIVE`)
 * or unresolved is a finding.
 * @param node the CfnResource to check
 */
export function CognitoDeletionProtection(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Cognito::UserPool')) return NagRuleCompliance.NOT_APPLICABLE;
  return cfnProperties(node).DeletionProtection === 'ACTIVE' ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
