import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { isWildcardEverything, isWildcardType } from '../../../../lambdas/shared/smart-scopes';
import { asList, cfnProperties, isCfnType } from '../common/cfn';
import { smartGrantOf } from '../common/scopes';

/**
 * The app client's scopes name resource types: an `AllowedOAuthScopes` entry on every type
 * (`patient/*.read`, `user/*.rs`) without every permission is a warning (the everything form is
 * CognitoClientNoWildcardScopes' error). Unresolved scopes are left to that rule.
 * Findings: `Scope::<scope>`.
 * @param node the CfnResource to check
 */
export function CognitoClientWildcardTypeScopes(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Cognito::UserPoolClient')) return NagRuleCompliance.NOT_APPLICABLE;
  const scopes = asList(cfnProperties(node).AllowedOAuthScopes) ?? [];
  const findings = scopes
    .filter((s): s is string => typeof s === 'string')
    .filter((s) => {
      const grant = smartGrantOf(s);
      return grant !== undefined && isWildcardType(grant) && !isWildcardEverything(grant);
    })
    .map((s) => `Scope::${s}`);
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : findings;
}
