import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { parseApiLifecycle } from '../../../../lambdas/shared/api-lifecycle';
import { cfnProperties, isCfnType, isObject } from '../common/cfn';

/** Months between a deprecation notice and the sunset, at the least (the guidance: 6 to 12). */
export const MIN_DEPRECATION_NOTICE_MONTHS = 6;

/**
 * A function that serves an API version (its `API_LIFECYCLE` variable, which FhirGateway writes
 * for the FHIR proxy and the SMART façade from `apiLifecycle`) follows the lifecycle rules:
 * - `ShortNotice`: a deprecated version's sunset is less than {@link MIN_DEPRECATION_NOTICE_MONTHS}
 *   calendar months after the deprecation notice, so third-party apps may be broken without
 *   warning (acknowledge with the reason, e.g. a security fix that cannot wait);
 * - `RetiredVersionServed`: a retired version's routes still exist (remove the stage and its
 *   routes; the proxy answers 410 meanwhile);
 * - `Malformed`: the variable is not a valid lifecycle.
 * Not applicable to a function without the variable, or with an unresolved one.
 * @param node the CfnResource to check
 */
export function LambdaApiVersionLifecycle(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Lambda::Function')) return NagRuleCompliance.NOT_APPLICABLE;
  const env = cfnProperties(node).Environment;
  const variables = isObject(env) && isObject(env.Variables) ? env.Variables : undefined;
  const raw = variables?.API_LIFECYCLE;
  if (raw === undefined) return NagRuleCompliance.NOT_APPLICABLE;
  if (typeof raw !== 'string') return NagRuleCompliance.NOT_APPLICABLE;
  let lifecycle;
  try {
    lifecycle = parseApiLifecycle(JSON.parse(raw));
  } catch {
    return ['Malformed'];
  }
  if (lifecycle.status === 'retired') return ['RetiredVersionServed'];
  if (lifecycle.status === 'deprecated' && lifecycle.deprecatedAt !== undefined && lifecycle.sunsetAt !== undefined) {
    const notice = new Date(Date.parse(lifecycle.deprecatedAt));
    const earliest = Date.UTC(notice.getUTCFullYear(), notice.getUTCMonth() + MIN_DEPRECATION_NOTICE_MONTHS, notice.getUTCDate(), notice.getUTCHours(), notice.getUTCMinutes(), notice.getUTCSeconds());
    if (Date.parse(lifecycle.sunsetAt) < earliest) return ['ShortNotice'];
  }
  return NagRuleCompliance.COMPLIANT;
}
