import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asNumber, asString, cfnProperties, isCfnType } from '../common/cfn';

/** Longest time an authorizer decision may be cached, in seconds. */
export const MAX_AUTHORIZER_TTL_SECONDS = 300;

/** The identity source that keys the authorizer cache on the bearer token. */
export const AUTHORIZATION_IDENTITY_SOURCE = 'method.request.header.Authorization';

/**
 * The API Gateway authorizer caches decisions for at most 300 seconds
 * (`AuthorizerResultTtlInSeconds`; absent means the service default of 300) and is keyed on
 * the bearer token: `IdentitySource` includes `method.request.header.Authorization`.
 * Findings: `ResultTtl` (above 300 or unresolved), `IdentitySource` (absent, unresolved, or
 * without the Authorization header).
 * @param node the CfnResource to check
 */
export function APIGWAuthorizerCaching(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::ApiGateway::Authorizer')) return NagRuleCompliance.NOT_APPLICABLE;
  const props = cfnProperties(node);
  const findings: string[] = [];
  if (props.AuthorizerResultTtlInSeconds !== undefined) {
    const ttl = asNumber(props.AuthorizerResultTtlInSeconds);
    if (ttl === undefined || ttl > MAX_AUTHORIZER_TTL_SECONDS) findings.push('ResultTtl');
  }
  const sources = asString(props.IdentitySource)?.split(',').map((s) => s.trim().toLowerCase()) ?? [];
  if (!sources.includes(AUTHORIZATION_IDENTITY_SOURCE.toLowerCase())) findings.push('IdentitySource');
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : findings;
}
