/**
 * Lambda entry point of the WAF drift guard: wires the environment to {@link createWafGuard}.
 * Run every 5 minutes by an EventBridge schedule, and on demand (`aws lambda invoke`; the event
 * is ignored). Returns the report; drift and failed checks are also logged.
 *
 * Environment (set by the `FhirFirewall` construct):
 * - `STAGE_ARN`: the protected API Gateway stage.
 * - `WEB_ACL_ARN`, `WEB_ACL_NAME`, `WEB_ACL_ID`, `WEB_ACL_SCOPE` (`REGIONAL`): the expected web ACL.
 * - `REMEDIATE`: `true` to re-associate the expected web ACL on drift, else `false`.
 * - `METRIC_NAMESPACE`: CloudWatch namespace of the drift metrics.
 * - `REQUIRED_RULE_GROUPS` (optional): comma-separated AWS managed rule groups that must block
 *   (default: the four the compliance pack requires).
 *
 * A configuration error fails the invocation (Lambda retries it, then the dead-letter queue
 * receives the event) and the guard publishes nothing, which the `WafGuardCheckFailed` alarm
 * treats as a failed check.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { WAFV2Client } from '@aws-sdk/client-wafv2';
import { requiredEnv } from '../shared/env';
import { parseStageArn, parseWebAclArn } from './expectations';
import { GuardReport, WafGuard, createWafGuard } from './guard';

const logger = new Logger({ serviceName: 'waf-guard' });

/** Builds the guard from the environment; throws naming the variable at fault. */
export function guardFromEnvironment(env: NodeJS.ProcessEnv, clients?: { waf?: WAFV2Client; cloudwatch?: CloudWatchClient }): WafGuard {
  const stageArn = requiredEnv(env, 'STAGE_ARN');
  if (!parseStageArn(stageArn)) throw new Error('STAGE_ARN is not an API Gateway stage ARN');
  const webAclArn = requiredEnv(env, 'WEB_ACL_ARN');
  if (!parseWebAclArn(webAclArn)) throw new Error('WEB_ACL_ARN is not a REGIONAL web ACL ARN');
  const scope = requiredEnv(env, 'WEB_ACL_SCOPE');
  if (scope !== 'REGIONAL') throw new Error('WEB_ACL_SCOPE must be REGIONAL');
  const remediate = requiredEnv(env, 'REMEDIATE');
  if (remediate !== 'true' && remediate !== 'false') throw new Error('REMEDIATE must be true or false');
  const groups = env.REQUIRED_RULE_GROUPS?.split(',').map((g) => g.trim()).filter((g) => g !== '');
  return createWafGuard({
    client: clients?.waf ?? new WAFV2Client({}),
    cloudwatch: clients?.cloudwatch ?? new CloudWatchClient({}),
    stageArn,
    expectedWebAclArn: webAclArn,
    expectedWebAclName: requiredEnv(env, 'WEB_ACL_NAME'),
    expectedWebAclId: requiredEnv(env, 'WEB_ACL_ID'),
    scope,
    remediate: remediate === 'true',
    namespace: requiredEnv(env, 'METRIC_NAMESPACE'),
    requiredRuleGroups: groups && groups.length > 0 ? groups : undefined,
  });
}

let guard: WafGuard | undefined;

export async function handler(): Promise<GuardReport> {
  if (!guard) {
    try {
      guard = guardFromEnvironment(process.env);
    } catch (err) {
      logger.error('WAF guard configuration is invalid', { error: err instanceof Error ? err.message : 'unknown' });
      throw err;
    }
  }
  const report = await guard.check();
  if (report.drift.length > 0) logger.error('WAF drift detected', { drift: report.drift, remediation: report.remediation, stageArn: report.stageArn });
  if (report.failed.length > 0) logger.error('WAF guard checks failed', { failed: report.failed, stageArn: report.stageArn });
  if (report.ok) logger.info('No WAF drift', { stageArn: report.stageArn, webAclArn: report.expectedWebAclArn });
  return report;
}
