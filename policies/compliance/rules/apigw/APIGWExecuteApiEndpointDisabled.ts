import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { appResources, asBoolean, cfnProperties, isCfnType, renderReferences, renderTokenReferences } from '../common/cfn';

/**
 * A REST API served through a custom domain has its default `execute-api` endpoint disabled
 * (`DisableExecuteApiEndpoint: true`), so that WAF, the TLS policy and the domain's controls
 * cannot be bypassed. Applies when an `AWS::ApiGateway::BasePathMapping` or
 * `BasePathMappingV2` anywhere in the app names this API (by reference); otherwise not
 * applicable. An unresolved `DisableExecuteApiEndpoint` is a finding.
 * @param node the CfnResource to check
 */
export function APIGWExecuteApiEndpointDisabled(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::ApiGateway::RestApi')) return NagRuleCompliance.NOT_APPLICABLE;
  const apiKey = `«${node.node.path}»`;
  const mapped = ['AWS::ApiGateway::BasePathMapping', 'AWS::ApiGateway::BasePathMappingV2']
    .flatMap((type) => appResources(node, type))
    .some((mapping) => {
      const fromTemplate = renderReferences(mapping, cfnProperties(mapping).RestApiId);
      const fromToken = renderTokenReferences(mapping, (mapping as unknown as { restApiId?: unknown }).restApiId);
      return fromTemplate === apiKey || fromToken === apiKey;
    });
  if (!mapped) return NagRuleCompliance.NOT_APPLICABLE;
  return asBoolean(cfnProperties(node).DisableExecuteApiEndpoint) === true ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
