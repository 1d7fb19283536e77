/**
 * Lambda entry point of the WAF drift guard: wires the environment to {@link createWafGuard}.
 * Run every 5 minutes by an EventBridge schedule, and on demand (`aws lambda invoke`; the event
 * is ignored). Returns the report; drift and failed checks are also logged.
 *
 * The environment is the contract of `environment.ts` ({@link WafGuardEnvironment}, written by
 * `FhirFirewall`, parsed here by {@link parseWafGuardEnvironment}).
 *
 * A configuration error fails the invocation (Lambda retries it, then the dead-letter queue
 * receives the event) and the guard publishes nothing, which the `WafGuardCheckFailed` alarm
 * treats as a failed check.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { WAFV2Client } from '@aws-sdk/client-wafv2';
import { parseWafGuardEnvironment } from './environment';
import { GuardReport, WafGuard, createWafGuard } from './guard';

const logger = new Logger({ serviceName: 'waf-guard' });

/** Builds the guard from the environment; throws naming the variable at fault. */
export function guardFromEnvironment(env: NodeJS.ProcessEnv, clients?: { waf?: WAFV2Client; cloudwatch?: CloudWatchClient }): WafGuard {
  const s = parseWafGuardEnvironment(env);
  return createWafGuard({
    client: clients?.waf ?? new WAFV2Client({}),
    cloudwatch: clients?.cloudwatch ?? new CloudWatchClient({}),
    stageArns: s.stageArns,
    expectedWebAclArn: s.webAclArn,
    expectedWebAclName: s.webAclName,
    expectedWebAclId: s.webAclId,
    scope: s.webAclScope,
    remediate: s.remediate,
    namespace: s.metricNamespace,
    requiredRuleGroups: s.requiredRuleGroups,
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
  // Association drift and failures name their stage; the per-stage outcomes are in `stages`.
  if (report.drift.length > 0) logger.error('WAF drift detected', { drift: report.drift, remediation: report.remediation, stages: report.stages.map((s) => ({ stageArn: s.stageArn, remediation: s.remediation })) });
  if (report.failed.length > 0) logger.error('WAF guard checks failed', { failed: report.failed, stageArns: report.stageArns });
  if (report.ok) logger.info('No WAF drift', { stageArns: report.stageArns, webAclArn: report.expectedWebAclArn });
  return report;
}
