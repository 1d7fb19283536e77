import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asList, asString, cfnProperties, isCfnType, isObject } from '../common/cfn';

/**
 * The trail records data events (who read or wrote which object or record, not only control
 * plane calls): an `EventSelectors` entry with at least one `DataResources` entry, or an
 * `AdvancedEventSelectors` entry with a `resources.type` field selector. Unresolved selectors
 * are a finding.
 * @param node the CfnResource to check
 */
export function CloudTrailDataEvents(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::CloudTrail::Trail')) return NagRuleCompliance.NOT_APPLICABLE;
  const props = cfnProperties(node);
  const basic = (asList(props.EventSelectors) ?? []).some((s) => isObject(s) && (asList(s.DataResources) ?? []).length > 0);
  const advanced = (asList(props.AdvancedEventSelectors) ?? []).some((s) => isObject(s)
    && (asList(s.FieldSelectors) ?? []).some((f) => isObject(f) && asString(f.Field) === 'resources.type'));
  return basic || advanced ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
