import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { cfnProperties, isCfnType } from '../common/cfn';

/**
 * The app client does not reveal whether a user exists: `PreventUserExistenceErrors: ENABLED`.
 * `LEGACY`, absent or unresolved is a finding.
 * @param node the CfnResource to check
 */
export function CognitoClientUserExistenceErrors(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Cognito::UserPoolClient')) return NagRuleCompliance.NOT_APPLICABLE;
  return cfnProperties(node).PreventUserExistenceErrors === 'ENABLED' ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
