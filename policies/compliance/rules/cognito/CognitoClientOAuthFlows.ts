import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asBoolean, asList, cfnProperties, isCfnType } from '../common/cfn';
import { smartGrantOf } from '../common/scopes';

/**
 * The app client uses only the authorization code grant, or `client_credentials` for a backend
 * client: `client_credentials` needs a client secret (`GenerateSecret: true`) and only `system/`
 * resource scopes (read with the SMART grammar). (`implicit` is reported by
 * CognitoClientNoImplicitFlow.) Findings: `Flow::<flow>` (any other flow), `ClientCredentials::NoSecret`,
 * `ClientCredentials::Scope::<scope>`, `FlowsUnresolved`, `ScopesUnresolved`.
 * @param node the CfnResource to check
 */
export function CognitoClientOAuthFlows(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Cognito::UserPoolClient')) return NagRuleCompliance.NOT_APPLICABLE;
  const props = cfnProperties(node);
  const flows = asList(props.AllowedOAuthFlows);
  if (flows === undefined || flows.some((f) => typeof f !== 'string')) return ['FlowsUnresolved'];
  const findings: string[] = [];
  for (const flow of flows as string[]) {
    if (flow !== 'code' && flow !== 'client_credentials' && flow !== 'implicit') findings.push(`Flow::${flow}`);
  }
  if (flows.includes('client_credentials')) {
    if (asBoolean(props.GenerateSecret) !== true) findings.push('ClientCredentials::NoSecret');
    const scopes = asList(props.AllowedOAuthScopes);
    if (scopes === undefined || scopes.some((s) => typeof s !== 'string')) findings.push('ScopesUnresolved');
    else {
      for (const scope of scopes as string[]) {
        if (smartGrantOf(scope)?.context !== 'system') findings.push(`ClientCredentials::Scope::${scope}`);
      }
    }
  }
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : findings;
}
