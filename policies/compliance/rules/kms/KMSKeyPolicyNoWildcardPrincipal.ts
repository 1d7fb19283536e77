import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asList, cfnProperties, definedKeys, isCfnType, isIntrinsic, isObject, statementLabel } from '../common/cfn';
import { statementsOf } from '../common/iam';

/**
 * No key policy statement allows a wildcard principal (`"*"`, `{ AWS: "*" }`) without a
 * `Condition`. An unresolved `KeyPolicy` is not applicable (nothing to read); an unresolved
 * principal is not a wildcard. Findings: `Statement::<Sid|index>`.
 * @param node the CfnResource to check
 */
export function KMSKeyPolicyNoWildcardPrincipal(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::KMS::Key')) return NagRuleCompliance.NOT_APPLICABLE;
  const policy = cfnProperties(node).KeyPolicy;
  if (!isObject(policy) || isIntrinsic(policy)) return NagRuleCompliance.NOT_APPLICABLE;
  const findings: string[] = [];
  statementsOf(policy).forEach((st, i) => {
    if (st.Effect !== 'Allow') return;
    const conditioned = isObject(st.Condition) && definedKeys(st.Condition).length > 0;
    if (!conditioned && (isWildcardPrincipal(st.Principal) || st.NotPrincipal !== undefined)) {
      findings.push(`Statement::${statementLabel(st, i)}`);
    }
  });
  return findings.length === 0 ? NagRuleCompliance.COMPLIANT : findings;
}

function isWildcardPrincipal(principal: unknown): boolean {
  if (principal === '*') return true;
  if (!isObject(principal)) return false;
  return Object.values(principal).some((v) => (asList(v) ?? []).includes('*'));
}
