import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asBoolean, asList, cfnProperties, isCfnType, isIntrinsic, isObject } from '../common/cfn';

/**
 * Full request/response logging (data trace) is off: no `MethodSettings` entry of an
 * `AWS::ApiGateway::Stage`, and neither `StageDescription.DataTraceEnabled` nor a
 * `StageDescription.MethodSettings` entry of an `AWS::ApiGateway::Deployment`, sets
 * `DataTraceEnabled` to true. An unresolved `DataTraceEnabled`, `MethodSettings` or
 * `StageDescription` is a finding.
 * @param node the CfnResource to check
 */
export function APIGWNoDataTrace(node: CfnResource): NagRuleResult {
  if (isCfnType(node, 'AWS::ApiGateway::Stage')) {
    return settingsTrace(cfnProperties(node).MethodSettings) ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  }
  if (isCfnType(node, 'AWS::ApiGateway::Deployment')) {
    const description = cfnProperties(node).StageDescription;
    if (description === undefined) return NagRuleCompliance.COMPLIANT;
    if (!isObject(description) || isIntrinsic(description)) return NagRuleCompliance.NON_COMPLIANT;
    return traces(description.DataTraceEnabled) || settingsTrace(description.MethodSettings)
      ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  }
  return NagRuleCompliance.NOT_APPLICABLE;
}

/** True when the value is true or unresolved (absent is off). */
function traces(value: unknown): boolean {
  return value !== undefined && asBoolean(value) !== false;
}

function settingsTrace(value: unknown): boolean {
  const settings = asList(value);
  if (settings === undefined) return true;
  return settings.some((s) => !isObject(s) || traces(s.DataTraceEnabled));
}
