import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { isProduction } from '../../environment';
import { asBoolean, cfnProperties, isCfnType, isObject } from '../common/cfn';

/**
 * In a `production` stack (see `setDeploymentEnvironment`) users cannot sign themselves up:
 * `AdminCreateUserConfig.AllowAdminCreateUserOnly: true`. Not applicable outside production.
 * Absent or unresolved is a finding.
 * @param node the CfnResource to check
 */
export function CognitoNoSelfSignUp(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Cognito::UserPool')) return NagRuleCompliance.NOT_APPLICABLE;
  if (!isProduction(node)) return NagRuleCompliance.NOT_APPLICABLE;
  const config = cfnProperties(node).AdminCreateUserConfig;
  return isObject(config) && asBoolean(config.AllowAdminCreateUserOnly) === true
    ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
