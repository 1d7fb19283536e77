import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asBoolean, cfnProperties, isCfnType } from '../common/cfn';

/**
 * Refresh tokens of the app client can be revoked: `EnableTokenRevocation` is not `false`
 * (absent means the service default, on). An unresolved value is a finding.
 * @param node the CfnResource to check
 */
export function CognitoClientTokenRevocation(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Cognito::UserPoolClient')) return NagRuleCompliance.NOT_APPLICABLE;
  const value = cfnProperties(node).EnableTokenRevocation;
  if (value === undefined) return NagRuleCompliance.COMPLIANT;
  return asBoolean(value) === true ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
