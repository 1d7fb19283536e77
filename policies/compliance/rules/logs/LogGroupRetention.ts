import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { MIN_RETENTION_DAYS } from '../../kit-config';
import { asNumber, cfnProperties, isCfnType } from '../common/cfn';

/**
 * The CloudWatch log group keeps its events for at least six years (2192 days,
 * 45 CFR 164.316(b)(2)(i)): `RetentionInDays` absent (never expire) or at least 2192.
 * An unresolved value is a finding.
 * @param node the CfnResource to check
 */
export function LogGroupRetention(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Logs::LogGroup')) return NagRuleCompliance.NOT_APPLICABLE;
  const value = cfnProperties(node).RetentionInDays;
  if (value === undefined) return NagRuleCompliance.COMPLIANT;
  const days = asNumber(value);
  return days !== undefined && days >= MIN_RETENTION_DAYS ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
