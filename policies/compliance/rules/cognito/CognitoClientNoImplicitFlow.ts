import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asList, cfnProperties, isCfnType } from '../common/cfn';

/**
 * The app client never uses the OAuth implicit grant (tokens in the URL fragment, no PKCE, no
 * client authentication): `AllowedOAuthFlows` does not include `implicit`. An unresolved
 * `AllowedOAuthFlows` (or entry) is a finding.
 * @param node the CfnResource to check
 */
export function CognitoClientNoImplicitFlow(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Cognito::UserPoolClient')) return NagRuleCompliance.NOT_APPLICABLE;
  const flows = asList(cfnProperties(node).AllowedOAuthFlows);
  if (flows === undefined) return NagRuleCompliance.NON_COMPLIANT;
  return flows.some((f) => typeof f !== 'string' || f === 'implicit') ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
}
