/**
 * The WAF drift guard's environment contract: {@link WafGuardEnvironment}, written by
 * `FhirFirewall` ({@link wafGuardEnvironment}) and parsed by the handler
 * ({@link parseWafGuardEnvironment}). Writer errors name the setting, parser errors the variable
 * (`lambdas/shared/environment.ts`).
 *
 * | setting | variable | written as |
 * |---|---|---|
 * | `stageArns` | `STAGE_ARNS` | the protected API Gateway stages (one per live API version), space-separated; the parser also reads the one-stage `STAGE_ARN` of earlier releases when `STAGE_ARNS` is absent |
 * | `webAclArn`, `webAclName`, `webAclId` | `WEB_ACL_ARN`, `WEB_ACL_NAME`, `WEB_ACL_ID` | the expected web ACL |
 * | `webAclScope` | `WEB_ACL_SCOPE` | `REGIONAL` (the only scope a REST API stage takes) |
 * | `remediate` | `REMEDIATE` | `true` to re-associate the expected web ACL on drift, else `false` |
 * | `metricNamespace` | `METRIC_NAMESPACE` | CloudWatch namespace of the drift metrics |
 * | `requiredRuleGroups` | `REQUIRED_RULE_GROUPS` | comma-separated AWS managed rule groups that must block; absent: the four the compliance pack requires |
 */
import {
  checked, type Check, optionalText, readBoolean, readList, requiredText, writeList, writer,
  EnvironmentSettingError, EnvironmentVariableError, type EnvironmentWriterOptions,
} from '../shared/environment';
import { parseStageArn, parseWebAclArn } from './expectations';

/** Everything the WAF drift guard reads from its environment. */
export interface WafGuardEnvironment {
  /** Every stage the web ACL protects (one or more, no duplicates). */
  readonly stageArns: readonly string[];
  readonly webAclArn: string;
  readonly webAclName: string;
  readonly webAclId: string;
  readonly webAclScope: 'REGIONAL';
  readonly remediate: boolean;
  readonly metricNamespace: string;
  /** @default - the four managed rule groups the compliance pack requires */
  readonly requiredRuleGroups?: readonly string[];
}

const stageArn: Check<string> = (v) => (typeof v === 'string' && parseStageArn(v) ? undefined : 'is not an API Gateway stage ARN');
const stageArnList: Check<readonly string[]> = (v) => {
  if (!Array.isArray(v) || v.length === 0) return 'must list at least one API Gateway stage ARN';
  const bad = v.findIndex((arn) => stageArn(arn) !== undefined);
  if (bad >= 0) return `entry ${bad + 1} is not an API Gateway stage ARN`;
  const dup = v.findIndex((arn, i) => v.indexOf(arn) !== i);
  return dup >= 0 ? `entry ${dup + 1} repeats an earlier stage` : undefined;
};
const webAclArn: Check<string> = (v) => (typeof v === 'string' && parseWebAclArn(v) ? undefined : 'is not a REGIONAL web ACL ARN');
const name: Check<string> = (v) => (typeof v === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(v) ? undefined : 'must be 1–128 letters, digits, - or _');
const namespace: Check<string> = (v) => (typeof v === 'string' && /^[^:\s][^:]{0,254}$/.test(v) ? undefined : 'must be a CloudWatch namespace');
const ruleGroups: Check<readonly string[]> = (v) =>
  Array.isArray(v) && v.every((g) => typeof g === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(g)) ? undefined : 'must be a list of managed rule group names';

/**
 * The variables of `settings`.
 * @throws EnvironmentSettingError naming the setting that is invalid
 */
export function wafGuardEnvironment(settings: WafGuardEnvironment, options: EnvironmentWriterOptions = {}): Record<string, string> {
  const w = writer(options);
  const s = settings;
  for (const setting of ['webAclArn', 'webAclName', 'webAclId', 'metricNamespace'] as const) {
    if (typeof s[setting] !== 'string' || s[setting] === '') throw new EnvironmentSettingError(setting, 'is required');
  }
  if (!Array.isArray(s.stageArns) || s.stageArns.length === 0) throw new EnvironmentSettingError('stageArns', 'must list at least one API Gateway stage ARN');
  // In the construct every ARN is a token: only literal ones are checked and compared.
  s.stageArns.forEach((arn, i) => {
    w.check('stageArns', arn, (v) => (stageArn(v) === undefined ? undefined : `entry ${i + 1} is not an API Gateway stage ARN`));
    w.check('stageArns', arn, (v) => (s.stageArns.indexOf(v) === i ? undefined : `entry ${i + 1} repeats an earlier stage`));
  });
  w.check('webAclArn', s.webAclArn, webAclArn);
  w.check('webAclName', s.webAclName, name);
  w.check('webAclId', s.webAclId, name);
  if (s.webAclScope !== 'REGIONAL') throw new EnvironmentSettingError('webAclScope', 'must be REGIONAL');
  if (typeof s.remediate !== 'boolean') throw new EnvironmentSettingError('remediate', 'must be true or false');
  w.check('metricNamespace', s.metricNamespace, namespace);
  if (s.requiredRuleGroups !== undefined) w.check('requiredRuleGroups', s.requiredRuleGroups, ruleGroups);
  const out: Record<string, string> = {
    STAGE_ARNS: writeList(s.stageArns),
    WEB_ACL_ARN: s.webAclArn,
    WEB_ACL_NAME: s.webAclName,
    WEB_ACL_ID: s.webAclId,
    WEB_ACL_SCOPE: s.webAclScope,
    REMEDIATE: s.remediate ? 'true' : 'false',
    METRIC_NAMESPACE: s.metricNamespace,
  };
  if (s.requiredRuleGroups?.length) out.REQUIRED_RULE_GROUPS = s.requiredRuleGroups.join(',');
  out.POWERTOOLS_SERVICE_NAME = 'waf-guard';
  return out;
}

/**
 * The settings in `env`.
 * @throws EnvironmentVariableError naming the variable that is missing or invalid
 */
export function parseWafGuardEnvironment(env: NodeJS.ProcessEnv): WafGuardEnvironment {
  const text = (variable: string, check: Check<string>): string => checked(variable, requiredText(env, variable), check);
  const scope = requiredText(env, 'WEB_ACL_SCOPE');
  if (scope !== 'REGIONAL') throw new EnvironmentVariableError('WEB_ACL_SCOPE', 'must be REGIONAL');
  if (env.REMEDIATE === undefined || env.REMEDIATE === '') throw new EnvironmentVariableError('REMEDIATE', 'is not set');
  const groups = readList(env, 'REQUIRED_RULE_GROUPS');
  return {
    stageArns: readStageArns(env),
    webAclArn: text('WEB_ACL_ARN', webAclArn).trim(),
    webAclName: text('WEB_ACL_NAME', name),
    webAclId: text('WEB_ACL_ID', name),
    webAclScope: 'REGIONAL',
    remediate: readBoolean(env, 'REMEDIATE', false),
    metricNamespace: text('METRIC_NAMESPACE', namespace),
    ...(groups.length > 0 ? { requiredRuleGroups: checked('REQUIRED_RULE_GROUPS', groups, ruleGroups) } : {}),
  };
}

/** `STAGE_ARNS`, or (when it is absent) the one-stage `STAGE_ARN` of earlier releases. */
function readStageArns(env: NodeJS.ProcessEnv): string[] {
  if (optionalText(env, 'STAGE_ARNS') === undefined && optionalText(env, 'STAGE_ARN') !== undefined) {
    return [checked('STAGE_ARN', requiredText(env, 'STAGE_ARN'), stageArn).trim()];
  }
  requiredText(env, 'STAGE_ARNS');
  return checked('STAGE_ARNS', readList(env, 'STAGE_ARNS'), stageArnList);
}
