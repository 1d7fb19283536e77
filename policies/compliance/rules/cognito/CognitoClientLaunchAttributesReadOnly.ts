import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asList, cfnProperties, isCfnType } from '../common/cfn';

/** The user attributes that carry the SMART launch context; only the kit may write them. */
export const LAUNCH_CONTEXT_ATTRIBUTES = ['custom:fhirUser', 'custom:patient'] as const;

/**
 * The app client cannot write the SMART launch-context attributes (`custom:fhirUser`,
 * `custom:patient`), which would let a user pick whose record they see: `WriteAttributes` is set
 * and names neither. An absent `WriteAttributes` means every attribute is writable and is a
 * finding. Findings: `WriteAttributesAbsent`, `WriteAttribute::<name>`, `WriteAttributesUnresolved`.
 * @param node the CfnResource to check
 */
export function CognitoClientLaunchAttributesReadOnly(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Cognito::UserPoolClient')) return NagRuleCompliance.NOT_APPLICABLE;
  const value = cfnProperties(node).WriteAttributes;
  if (value === undefined) return ['WriteAttributesAbsent'];
  const list = asList(value);
  if (list === undefined || list.some((a) => typeof a !== 'string')) return ['WriteAttributesUnresolved'];
  const writable = new Set((list as string[]).map((a) => a.toLowerCase()));
  const findings = LAUNCH_CONTEXT_ATTRIBUTES.filter((a) => writable.has(a.toLowerCase())).map((a) => `WriteAttribute::${a}`);
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : findings;
}
