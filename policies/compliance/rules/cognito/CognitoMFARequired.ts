import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { cfnProperties, isCfnType } from '../common/cfn';

/**
 * The user pool requires MFA for every user: `MfaConfiguration: ON`. `OPTIONAL`, `OFF`, absent
 * or unresolved is a finding.
 * @param node the CfnResource to check
 */
export function CognitoMFARequired(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Cognito::UserPool')) return NagRuleCompliance.NOT_APPLICABLE;
  return cfnProperties(node).MfaConfiguration === 'ON' ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
