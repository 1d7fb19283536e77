import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { cfnProperties, isCfnType, isObject } from '../common/cfn';

/**
 * The user pool is on the Plus feature plan with threat protection enforced:
 * `UserPoolTier: PLUS` and `UserPoolAddOns.AdvancedSecurityMode: ENFORCED` (the CloudFormation
 * name of standard threat protection; the L2 sets it from `standardThreatProtectionMode`).
 * When `UserPoolAddOns.AdvancedSecurityAdditionalFlows.CustomAuthMode` is set it must be
 * `ENFORCED` too. Findings: `UserPoolTier`, `AdvancedSecurityMode`, `CustomAuthMode`
 * (absent or unresolved values are findings).
 * @param node the CfnResource to check
 */
export function CognitoThreatProtection(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Cognito::UserPool')) return NagRuleCompliance.NOT_APPLICABLE;
  const props = cfnProperties(node);
  const findings: string[] = [];
  if (props.UserPoolTier !== 'PLUS') findings.push('UserPoolTier');
  const addOns = isObject(props.UserPoolAddOns) ? props.UserPoolAddOns : {};
  if (addOns.AdvancedSecurityMode !== 'ENFORCED') findings.push('AdvancedSecurityMode');
  const additional = addOns.AdvancedSecurityAdditionalFlows;
  if (additional !== undefined && !(isObject(additional) && (additional.CustomAuthMode === undefined || additional.CustomAuthMode === 'ENFORCED'))) {
    findings.push('CustomAuthMode');
  }
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : findings;
}
