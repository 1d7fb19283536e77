import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { isWildcardEverything } from '../../../../lambdas/shared/smart-scopes';
import { asList, cfnProperties, isCfnType } from '../common/cfn';
import { smartGrantOf } from '../common/scopes';

/**
 * The app client holds no wildcard-everything SMART scope: no `AllowedOAuthScopes` entry that
 * the SMART grammar reads as every resource type with every permission (`user/*.cruds`,
 * `system/*.*`, `patient/*.*`, …). Findings: `Scope::<scope>`, `ScopesUnresolved`.
 * @param node the CfnResource to check
 */
export function CognitoClientNoWildcardScopes(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Cognito::UserPoolClient')) return NagRuleCompliance.NOT_APPLICABLE;
  const scopes = asList(cfnProperties(node).AllowedOAuthScopes);
  if (scopes === undefined) return ['ScopesUnresolved'];
  const findings: string[] = [];
  for (const scope of scopes) {
    if (typeof scope !== 'string') {
      findings.push('ScopesUnresolved');
      continue;
    }
    const grant = smartGrantOf(scope);
    if (grant && isWildcardEverything(grant)) findings.push(`Scope::${scope}`);
  }
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : [...new Set(findings)];
}
