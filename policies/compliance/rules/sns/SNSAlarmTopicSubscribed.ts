import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { isProduction } from '../../environment';
import { appResources, asList, cfnProperties, isCfnType, isObject, renderReferences, renderTokenReferences } from '../common/cfn';

/** CloudWatch alarm types whose `AlarmActions` notify a topic. */
const ALARM_TYPES = ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm'];

/**
 * In a `production` stack (see `setDeploymentEnvironment`), an SNS topic that a CloudWatch alarm
 * notifies (`AlarmActions` of an `AWS::CloudWatch::Alarm` or `CompositeAlarm` anywhere in the app
 * names it: AuditTrail's `alarmTopic`, which the trail, WAF drift and per-app alarms use) has a
 * subscriber: a literal, non-empty `Subscription` list on the topic, or an
 * `AWS::SNS::Subscription` in the app whose `TopicArn` is a reference to it (across stacks too).
 * Not applicable outside production or to a topic no alarm names. A subscription whose topic is
 * given as a literal ARN, or an unresolved `Subscription` list, proves nothing: finding.
 * @param node the CfnResource to check
 */
export function SNSAlarmTopicSubscribed(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::SNS::Topic')) return NagRuleCompliance.NOT_APPLICABLE;
  if (!isProduction(node)) return NagRuleCompliance.NOT_APPLICABLE;
  const alarmed = ALARM_TYPES.some((type) => appResources(node, type).some((alarm) =>
    namesTopic(alarm, asList(cfnProperties(alarm).AlarmActions), (alarm as unknown as { alarmActions?: unknown }).alarmActions, node)));
  if (!alarmed) return NagRuleCompliance.NOT_APPLICABLE;
  const inline = cfnProperties(node).Subscription;
  if (Array.isArray(inline) && inline.some(isObject)) return NagRuleCompliance.COMPLIANT;
  const subscribed = appResources(node, 'AWS::SNS::Subscription').some((s) =>
    namesTopic(s, [cfnProperties(s).TopicArn], [(s as unknown as { topicArn?: unknown }).topicArn], node));
  return subscribed ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}

/**
 * Whether one of `values` (as synthesized in `holder`'s stack) or `tokens` (the typed L1 field,
 * which still knows its target across stacks) is a reference to `topic` (`Ref` is its ARN).
 */
function namesTopic(holder: CfnResource, values: unknown[] | undefined, tokens: unknown, topic: CfnResource): boolean {
  const wanted = [`«${topic.node.path}»`, `«${topic.node.path}.TopicArn»`];
  const rendered = (values ?? []).map((v) => renderReferences(holder, v));
  if (Array.isArray(tokens)) rendered.push(...tokens.map((t) => renderTokenReferences(holder, t)));
  return rendered.some((r) => r !== undefined && wanted.includes(r));
}
