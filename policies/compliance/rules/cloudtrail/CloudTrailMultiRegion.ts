import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asBoolean, cfnProperties, isCfnType } from '../common/cfn';

/**
 * The trail records every region: `IsMultiRegionTrail: true`. Absent or unresolved is a finding.
 * @param node the CfnResource to check
 */
export function CloudTrailMultiRegion(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::CloudTrail::Trail')) return NagRuleCompliance.NOT_APPLICABLE;
  return asBoolean(cfnProperties(node).IsMultiRegionTrail) === true ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
