import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asString, cfnProperties, isCfnType } from '../common/cfn';

/**
 * True for a security policy whose minimum is TLS 1.2: `TLS_1_2`, or an enhanced policy
 * (`SecurityPolicy_TLS13_…`, and the TLS 1.2-minimum `SecurityPolicy_TLS12_…`).
 */
export function isTls12OrLaterPolicy(policy: string): boolean {
  return policy === 'TLS_1_2' || policy.startsWith('SecurityPolicy_TLS13_') || policy.startsWith('SecurityPolicy_TLS12_');
}

/**
 * The API Gateway custom domain (`AWS::ApiGateway::DomainName`, `AWS::ApiGateway::DomainNameV2`)
 * sets a `SecurityPolicy` with TLS 1.2 or later. Absent (the service's legacy default) or
 * unresolved is a finding.
 * @param node the CfnResource to check
 */
export function APIGWDomainTLSPolicy(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::ApiGateway::DomainName', 'AWS::ApiGateway::DomainNameV2')) return NagRuleCompliance.NOT_APPLICABLE;
  const policy = asString(cfnProperties(node).SecurityPolicy);
  return policy !== undefined && isTls12OrLaterPolicy(policy) ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
