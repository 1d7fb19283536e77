import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { deploymentEnvironmentOf } from '../../environment';
import { cfnProperties, isCfnType, isObject } from '../common/cfn';

/**
 * A HealthLake datastore in a `sandbox` stack (see `setDeploymentEnvironment`) is created
 * preloaded with HealthLake's synthetic (Synthea) patients (`PreloadDataConfig.PreloadDataType:
 * SYNTHEA`): a sandbox holds synthetic data only, and a datastore without the preload is one that
 * real data could be loaded into. Not applicable outside sandbox (FhirDatastore refuses the
 * preload there).
 * @param node the CfnResource to check
 */
export function HealthLakeSandboxSyntheticData(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::HealthLake::FHIRDatastore')) return NagRuleCompliance.NOT_APPLICABLE;
  if (deploymentEnvironmentOf(node) !== 'sandbox') return NagRuleCompliance.NOT_APPLICABLE;
  const preload = cfnProperties(node).PreloadDataConfig;
  return isObject(preload) && preload.PreloadDataType === 'SYNTHEA' ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
