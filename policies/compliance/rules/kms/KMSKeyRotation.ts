import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { asBoolean, asString, cfnProperties, isCfnType } from '../common/cfn';

/**
 * A symmetric KMS key rotates its key material: `EnableKeyRotation: true`. Keys whose literal
 * `KeySpec` is not `SYMMETRIC_DEFAULT` (asymmetric, HMAC: AWS cannot rotate them) are not
 * applicable; an unresolved `KeySpec` or `EnableKeyRotation` is a finding unless rotation is on.
 * @param node the CfnResource to check
 */
export function KMSKeyRotation(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::KMS::Key')) return NagRuleCompliance.NOT_APPLICABLE;
  const props = cfnProperties(node);
  if (asBoolean(props.EnableKeyRotation) === true) return NagRuleCompliance.COMPLIANT;
  const spec = props.KeySpec === undefined ? 'SYMMETRIC_DEFAULT' : asString(props.KeySpec);
  if (spec !== undefined && spec !== 'SYMMETRIC_DEFAULT') return NagRuleCompliance.NOT_APPLICABLE;
  return NagRuleCompliance.NON_COMPLIANT;
}
