import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { cfnProperties, isCfnType } from '../common/cfn';

/**
 * The trail delivers to CloudWatch Logs, where the kit's metric filters and alarms watch it:
 * both `CloudWatchLogsLogGroupArn` and `CloudWatchLogsRoleArn` are set (references or literals).
 * @param node the CfnResource to check
 */
export function CloudTrailCloudWatchLogs(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::CloudTrail::Trail')) return NagRuleCompliance.NOT_APPLICABLE;
  const props = cfnProperties(node);
  const set = (v: unknown) => v !== undefined && v !== '';
  return set(props.CloudWatchLogsLogGroupArn) && set(props.CloudWatchLogsRoleArn)
    ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}
