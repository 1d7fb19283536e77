import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asList, cfnProperties, definedKeys, isCfnType, isIntrinsic, isObject } from '../common/cfn';
import { statementsOf } from '../common/iam';

/**
 * The key policy has a statement that limits `kms:CreateGrant` to grants for AWS resources made
 * through AWS services, the statement AWS Control Tower's CT.KMS.PR.3 asks for: `Deny`,
 * `kms:CreateGrant`, principal `*` (or `{ AWS: '*' }`), resource `*`, and only the condition
 * `BoolIfExists` with `kms:GrantIsForAWSResource` and `aws:PrincipalIsAWSService` both `false`.
 * An unresolved `KeyPolicy` is a finding (the statement cannot be shown).
 * @param node the CfnResource to check
 */
export function KMSKeyCreateGrantRestricted(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::KMS::Key')) return NagRuleCompliance.NOT_APPLICABLE;
  const policy = cfnProperties(node).KeyPolicy;
  if (!isObject(policy) || isIntrinsic(policy)) return NagRuleCompliance.NON_COMPLIANT;
  return statementsOf(policy).some(limitsCreateGrant) ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}

function limitsCreateGrant(st: Record<string, unknown>): boolean {
  if (st.Effect !== 'Deny') return false;
  const actions = asList(st.Action);
  if (!actions || actions.length === 0 || !actions.every((a) => typeof a === 'string' && a.toLowerCase() === 'kms:creategrant')) return false;
  const principal = st.Principal;
  const everyone = principal === '*' || (isObject(principal) && definedKeys(principal).length === 1 && (asList(principal.AWS) ?? []).length === 1 && asList(principal.AWS)![0] === '*');
  if (!everyone) return false;
  const resources = asList(st.Resource);
  if (!resources || !resources.every((r) => r === '*')) return false;
  const condition = st.Condition;
  if (!isObject(condition) || definedKeys(condition).length !== 1 || !isObject(condition.BoolIfExists)) return false;
  const bool = condition.BoolIfExists;
  const keys = definedKeys(bool).map((k) => k.toLowerCase());
  if (keys.length !== 2 || !keys.includes('kms:grantisforawsresource') || !keys.includes('aws:principalisawsservice')) return false;
  return definedKeys(bool).every((k) => String(bool[k]).toLowerCase() === 'false');
}
