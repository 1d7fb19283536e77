import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asList, asNumber, asString, cfnProperties, isCfnType, isObject } from '../common/cfn';

/**
 * The stage throttles every method: a `MethodSettings` entry for `HttpMethod: '*'` and
 * `ResourcePath: '/*'` with `ThrottlingRateLimit` and `ThrottlingBurstLimit` both literal
 * numbers above zero. Unresolved values are a finding.
 * @param node the CfnResource to check
 */
export function APIGWStageThrottling(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::ApiGateway::Stage')) return NagRuleCompliance.NOT_APPLICABLE;
  const settings = asList(cfnProperties(node).MethodSettings) ?? [];
  const ok = settings.some((s) => isObject(s)
    && asString(s.HttpMethod) === '*' && asString(s.ResourcePath) === '/*'
    && (asNumber(s.ThrottlingRateLimit) ?? 0) > 0 && (asNumber(s.ThrottlingBurstLimit) ?? 0) > 0);
  return ok ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
