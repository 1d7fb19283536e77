import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { cfnProperties, isCfnType, isObject } from '../common/cfn';

/**
 * The HealthLake datastore is encrypted with a customer-managed KMS key:
 * `SseConfiguration.KmsEncryptionConfig.CmkType` is `CUSTOMER_MANAGED_KMS_KEY` and `KmsKeyId`
 * is set. An unresolved `CmkType` is a finding; `KmsKeyId` may be a reference.
 * @param node the CfnResource to check
 */
export function HealthLakeCMKEncryption(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::HealthLake::FHIRDatastore')) return NagRuleCompliance.NOT_APPLICABLE;
  const sse = cfnProperties(node).SseConfiguration;
  const kms = isObject(sse) ? sse.KmsEncryptionConfig : undefined;
  if (!isObject(kms)) return NagRuleCompliance.NON_COMPLIANT;
  if (kms.CmkType !== 'CUSTOMER_MANAGED_KMS_KEY') return NagRuleCompliance.NON_COMPLIANT;
  if (kms.KmsKeyId === undefined || kms.KmsKeyId === null || kms.KmsKeyId === '') return NagRuleCompliance.NON_COMPLIANT;
  return NagRuleCompliance.COMPLIANT;
}
