import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asList, cfnProperties, isCfnType, isObject } from '../common/cfn';

/** True when a response-parameter map sets `Access-Control-Allow-Origin` to `'*'`. */
export function allowsAnyOrigin(parameters: unknown): boolean {
  if (!isObject(parameters)) return false;
  return Object.entries(parameters).some(([name, value]) =>
    /\.header\.access-control-allow-origin$/i.test(name)
    && typeof value === 'string' && /^'?\s*\*\s*'?$/.test(value.trim()));
}

/**
 * No response lets any origin read it: no `Access-Control-Allow-Origin` response parameter with
 * the value `'*'` in an `AWS::ApiGateway::Method`'s `MethodResponses` or
 * `Integration.IntegrationResponses` (the CORS preflight mock included), or in an
 * `AWS::ApiGateway::GatewayResponse`. Unresolved values are not `'*'` and pass.
 * @param node the CfnResource to check
 */
export function APIGWNoCORSWildcard(node: CfnResource): NagRuleResult {
  if (isCfnType(node, 'AWS::ApiGateway::GatewayResponse')) {
    return allowsAnyOrigin(cfnProperties(node).ResponseParameters) ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  }
  if (!isCfnType(node, 'AWS::ApiGateway::Method')) return NagRuleCompliance.NOT_APPLICABLE;
  const props = cfnProperties(node);
  const methodResponses = asList(props.MethodResponses) ?? [];
  const integrationResponses = isObject(props.Integration) ? asList(props.Integration.IntegrationResponses) ?? [] : [];
  const wildcard = [...methodResponses, ...integrationResponses]
    .some((r) => isObject(r) && allowsAnyOrigin(r.ResponseParameters));
  return wildcard ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
}
