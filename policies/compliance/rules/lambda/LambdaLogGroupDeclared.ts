import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { cfnProperties, isCfnType, isObject, logicalIdOf, stackResources } from '../common/cfn';

/**
 * The Lambda function logs to a log group of the template: `LoggingConfig.LogGroup` is set, or an
 * `AWS::Logs::LogGroup` of the same stack references the function (its `/aws/lambda/<name>`
 * group). Otherwise Lambda creates `/aws/lambda/<name>` itself on the first invocation: never
 * expiring, encrypted with an AWS-owned key, outside every rule that checks log groups (the
 * report's inventory shows it as an implicit group).
 * @param node the CfnResource to check
 */
export function LambdaLogGroupDeclared(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Lambda::Function')) return NagRuleCompliance.NOT_APPLICABLE;
  const loggingConfig = cfnProperties(node).LoggingConfig;
  if (isObject(loggingConfig) && loggingConfig.LogGroup !== undefined) return NagRuleCompliance.COMPLIANT;
  const id = logicalIdOf(node);
  const declared = stackResources(node, 'AWS::Logs::LogGroup').some((group) => references(cfnProperties(group), id));
  return declared ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}

/** True when `value` holds a `Ref`, `Fn::GetAtt` or `${id}` of `Fn::Sub` naming `logicalId`. */
function references(value: unknown, logicalId: string, depth = 0): boolean {
  if (depth > 64) return false;
  if (Array.isArray(value)) return value.some((v) => references(v, logicalId, depth + 1));
  if (!isObject(value)) return false;
  for (const [k, v] of Object.entries(value)) {
    if (k === 'Ref' && v === logicalId) return true;
    if (k === 'Fn::GetAtt' && ((Array.isArray(v) && v[0] === logicalId) || (typeof v === 'string' && v.split('.')[0] === logicalId))) return true;
    if (k === 'Fn::Sub') {
      const text = Array.isArray(v) ? v[0] : v;
      if (typeof text === 'string' && new RegExp(`\\$\\{${logicalId}(\\.[A-Za-z0-9.]+)?\\}`).test(text)) return true;
    }
    if (references(v, logicalId, depth + 1)) return true;
  }
  return false;
}
