import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { parseApiVersions, type ApiLifecycle } from '../../../../lambdas/shared/api-lifecycle';
import { cfnProperties, isCfnType, isObject, stackResources } from '../common/cfn';

/** Months between a deprecation notice and the sunset, at the least (the guidance: 6 to 12). */
export const MIN_DEPRECATION_NOTICE_MONTHS = 6;

/**
 * A function that serves the API versions (its `API_VERSIONS` variable, which FhirGateway writes
 * for the FHIR proxy and the SMART façade from `apiVersions`) follows the lifecycle rules:
 * - `ShortNotice`: a deprecated version's sunset is less than {@link MIN_DEPRECATION_NOTICE_MONTHS}
 *   calendar months after the deprecation notice, so third-party apps may be broken without
 *   warning (acknowledge with the reason, e.g. a security fix that cannot wait);
 * - `RetiredVersionServed`: a retired version's routes still exist: an API Gateway stage of the
 *   stack is named after it (remove the stage; FhirGateway creates none for a retired version);
 * - `Malformed`: the variable is not a valid list of versions.
 * Not applicable to a function without the variable, or with an unresolved one.
 * @param node the CfnResource to check
 */
export function LambdaApiVersionLifecycle(node: CfnResource): NagRuleResult {
  if (!isCfnType(node, 'AWS::Lambda::Function')) return NagRuleCompliance.NOT_APPLICABLE;
  const env = cfnProperties(node).Environment;
  const variables = isObject(env) && isObject(env.Variables) ? env.Variables : undefined;
  const raw = variables?.API_VERSIONS;
  if (raw === undefined || typeof raw !== 'string') return NagRuleCompliance.NOT_APPLICABLE;
  let versions: readonly ApiLifecycle[];
  try {
    versions = parseApiVersions(JSON.parse(raw));
  } catch {
    return ['Malformed'];
  }
  const findings = new Set<string>();
  const staged = stageNames(node);
  for (const v of versions) {
    if (v.status === 'retired' && staged.has(v.version)) findings.add('RetiredVersionServed');
    if (v.status === 'deprecated' && v.deprecatedAt !== undefined && v.sunsetAt !== undefined) {
      const notice = new Date(Date.parse(v.deprecatedAt));
      const earliest = Date.UTC(notice.getUTCFullYear(), notice.getUTCMonth() + MIN_DEPRECATION_NOTICE_MONTHS, notice.getUTCDate(), notice.getUTCHours(), notice.getUTCMinutes(), notice.getUTCSeconds());
      if (Date.parse(v.sunsetAt) < earliest) findings.add('ShortNotice');
    }
  }
  return findings.size > 0 ? [...findings] : NagRuleCompliance.COMPLIANT;
}

/** The names of the API Gateway stages in the stack of `node` (resolved names only). */
function stageNames(node: CfnResource): Set<string> {
  const names = new Set<string>();
  for (const stage of stackResources(node, 'AWS::ApiGateway::Stage')) {
    const name = cfnProperties(stage).StageName;
    if (typeof name === 'string') names.add(name);
  }
  return names;
}
