/**
 * The WAF drift guard: checks that an API Gateway stage is still protected by the web ACL the
 * kit deployed, and that the web ACL still blocks what it must and logs with redaction.
 *
 * Three independent checks, each one WAF API call:
 * - association (`GetWebACLForResource` on the stage): `NotAssociated`, `DifferentWebAcl`;
 * - the expected web ACL (`GetWebACL` by name, id and scope): `WebAclDeleted`,
 *   `RuleGroupMissing`, `RuleGroupNotBlocking`, `RateRuleMissing`;
 * - its logging (`GetLoggingConfiguration`): `LoggingRemoved`, `RedactionRemoved`.
 *
 * A call that errors (throttling after the SDK's retries, access denied, an internal error) makes
 * its check FAILED: the drift kinds it covers are unknown, reported as such, and never published
 * as "no drift" (their metrics are left out and `WafGuardCheckFailed` is 1). Only WAF's
 * `WAFNonexistentItemException` is an answer rather than a failure: "no association", "no such
 * web ACL", "no logging configuration".
 *
 * Optional remediation re-associates the expected web ACL (`AssociateWebACL`) when the stage
 * has none or another one; the drift is still reported (and alarmed) so a person looks at why.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { LoggingConfiguration, Rule, WAFV2Client, WebACL } from '@aws-sdk/client-wafv2';
import {
  AssociateWebACLCommand, GetLoggingConfigurationCommand, GetWebACLCommand, GetWebACLForResourceCommand,
} from '@aws-sdk/client-wafv2';
import {
  CHECK_FAILED_METRIC, COUNT_EXCEPTION, DRIFT_KINDS, DriftKind, REDACTED_HEADERS, REQUIRED_MANAGED_RULE_GROUPS,
  STAGE_ARN_DIMENSION, driftMetricName,
} from './expectations';

/** Options of {@link createWafGuard}. */
export interface WafGuardOptions {
  readonly client: WAFV2Client;
  /** Publishes the metrics; without it (the command line) nothing is published. */
  readonly cloudwatch?: CloudWatchClient;
  /** `arn:aws:apigateway:<region>::/restapis/<api>/stages/<stage>` */
  readonly stageArn: string;
  readonly expectedWebAclArn: string;
  readonly expectedWebAclName: string;
  readonly expectedWebAclId: string;
  readonly scope: 'REGIONAL';
  /** Re-associate the expected web ACL when the stage has none or another one. */
  readonly remediate: boolean;
  /** CloudWatch namespace of the metrics. */
  readonly namespace: string;
  /**
   * AWS managed rule groups that must be present and blocking.
   *
   * @default REQUIRED_MANAGED_RULE_GROUPS
   */
  readonly requiredRuleGroups?: readonly string[];
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** One drift found, with what was seen. */
export interface DriftFinding {
  readonly kind: DriftKind;
  readonly detail: string;
}

/** The checks the guard runs (plus the two actions it may take). */
export type GuardCheckName = 'Association' | 'WebAcl' | 'Logging' | 'Remediation' | 'Metrics';

/** A check that could not run: its drift kinds are unknown. */
export interface FailedCheck {
  readonly check: GuardCheckName;
  /** The WAF or CloudWatch operation that failed. */
  readonly operation: string;
  /** The error name, e.g. `ThrottlingException`, `AccessDeniedException`. */
  readonly error: string;
  readonly message: string;
  /** Drift kinds this failure leaves undetermined. */
  readonly undetermined: readonly DriftKind[];
}

export type RemediationOutcome = 'disabled' | 'not-needed' | 'reassociated' | 'failed' | 'impossible';

/** The result of one run. */
export interface GuardReport {
  readonly checkedAt: string;
  readonly stageArn: string;
  readonly expectedWebAclArn: string;
  /** The web ACL the stage was found associated with (absent when none, or the check failed). */
  readonly associatedWebAclArn?: string;
  readonly drift: readonly DriftFinding[];
  readonly failed: readonly FailedCheck[];
  /** Drift kinds actually determined this run (published as 0/1). */
  readonly determined: readonly DriftKind[];
  readonly remediation: RemediationOutcome;
  /** True only when every check ran and found no drift. */
  readonly ok: boolean;
}

export interface WafGuard {
  check(): Promise<GuardReport>;
}

const ASSOCIATION_KINDS: readonly DriftKind[] = ['NotAssociated', 'DifferentWebAcl'];
const WEB_ACL_KINDS: readonly DriftKind[] = ['WebAclDeleted', 'RuleGroupMissing', 'RuleGroupNotBlocking', 'RateRuleMissing'];
const LOGGING_KINDS: readonly DriftKind[] = ['LoggingRemoved', 'RedactionRemoved'];

interface CheckResult {
  readonly drift: DriftFinding[];
  readonly failed?: FailedCheck;
  readonly associatedWebAclArn?: string;
}

function errorName(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; Code?: unknown; code?: unknown };
    for (const v of [e.name, e.Code, e.code]) if (typeof v === 'string' && v !== 'Error' && v !== '') return v;
  }
  return 'Error';
}

function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : typeof err === 'object' && err && 'message' in err ? String((err as { message: unknown }).message) : String(err);
  return message.slice(0, 500);
}

function isNonexistent(err: unknown): boolean {
  return errorName(err) === 'WAFNonexistentItemException';
}

function failure(check: GuardCheckName, operation: string, err: unknown, undetermined: readonly DriftKind[], hint?: string): FailedCheck {
  const message = errorMessage(err);
  return { check, operation, error: errorName(err), message: hint ? `${message} (${hint})` : message, undetermined };
}

/** True for `{ Block: {} }` and nothing else. */
function blocks(action: Rule['Action']): boolean {
  return action !== undefined && action.Block !== undefined && action.Count === undefined && action.Allow === undefined
    && action.Captcha === undefined && action.Challenge === undefined;
}

function managedGroupName(rule: Rule): string | undefined {
  const statement = rule.Statement?.ManagedRuleGroupStatement;
  return statement?.VendorName === 'AWS' ? statement.Name : undefined;
}

function hasBlockingBodySizeRule(rules: readonly Rule[]): boolean {
  return rules.some((r) => blocks(r.Action) && r.Statement?.SizeConstraintStatement?.FieldToMatch?.Body !== undefined);
}

/** The drift in a web ACL's rules (top-level rules, as WAF evaluates managed groups only there). */
export function ruleDrift(acl: WebACL, requiredRuleGroups: readonly string[] = REQUIRED_MANAGED_RULE_GROUPS): DriftFinding[] {
  const rules = acl.Rules ?? [];
  const findings: DriftFinding[] = [];
  const ownBodySizeRule = hasBlockingBodySizeRule(rules);
  for (const group of requiredRuleGroups) {
    const rule = rules.find((r) => managedGroupName(r) === group);
    if (!rule) {
      findings.push({ kind: 'RuleGroupMissing', detail: `${group} is not in the web ACL` });
      continue;
    }
    const override = rule.OverrideAction;
    if (!override || override.None === undefined || override.Count !== undefined) {
      findings.push({ kind: 'RuleGroupNotBlocking', detail: `${group} (rule "${rule.Name}") has override action ${override?.Count !== undefined ? 'Count' : 'missing'}` });
    }
    const statement = rule.Statement!.ManagedRuleGroupStatement!;
    for (const o of statement.RuleActionOverrides ?? []) {
      const use = o.ActionToUse;
      const weakened = !use || use.Count !== undefined || use.Allow !== undefined;
      if (!weakened) continue;
      const excepted = group === COUNT_EXCEPTION.group && o.Name === COUNT_EXCEPTION.rule && ownBodySizeRule;
      if (!excepted) {
        findings.push({ kind: 'RuleGroupNotBlocking', detail: `${group} rule ${o.Name ?? '?'} is overridden to ${use?.Allow !== undefined ? 'Allow' : 'Count'}${o.Name === COUNT_EXCEPTION.rule ? ' and the web ACL has no blocking body-size rule of its own' : ''}` });
      }
    }
    for (const excluded of statement.ExcludedRules ?? []) {
      findings.push({ kind: 'RuleGroupNotBlocking', detail: `${group} rule ${excluded.Name ?? '?'} is excluded (counted, not blocked)` });
    }
  }
  const rateRules = rules.filter((r) => r.Statement?.RateBasedStatement !== undefined);
  if (rateRules.length === 0) findings.push({ kind: 'RateRuleMissing', detail: 'the web ACL has no rate-based rule' });
  else if (!rateRules.some((r) => blocks(r.Action))) {
    findings.push({ kind: 'RateRuleMissing', detail: `no rate-based rule blocks (${rateRules.map((r) => r.Name).join(', ')} only count)` });
  }
  return findings;
}

/** The drift in a logging configuration (`undefined`: there is none). */
export function loggingDrift(config: LoggingConfiguration | undefined): DriftFinding[] {
  if (!config) return [{ kind: 'LoggingRemoved', detail: 'the web ACL has no logging configuration' }];
  const findings: DriftFinding[] = [];
  if ((config.LogDestinationConfigs ?? []).length === 0) {
    findings.push({ kind: 'LoggingRemoved', detail: 'the logging configuration has no destination' });
  }
  const filter = config.LoggingFilter;
  if (filter && (filter.DefaultBehavior === 'DROP' || (filter.Filters ?? []).some((f) => f.Behavior === 'DROP'))) {
    findings.push({ kind: 'LoggingRemoved', detail: 'a logging filter drops requests from the log' });
  }
  const redacted = new Set((config.RedactedFields ?? []).map((f) => f.SingleHeader?.Name?.toLowerCase()).filter((n): n is string => !!n));
  for (const header of REDACTED_HEADERS) {
    if (!redacted.has(header)) findings.push({ kind: 'RedactionRemoved', detail: `the ${header} header is no longer redacted from the logs` });
  }
  return findings;
}

/** Builds the guard. Nothing is called until `check()`. */
export function createWafGuard(options: WafGuardOptions): WafGuard {
  const { client, stageArn, expectedWebAclArn } = options;
  const requiredRuleGroups = options.requiredRuleGroups ?? REQUIRED_MANAGED_RULE_GROUPS;
  const now = options.now ?? (() => new Date());

  async function checkAssociation(): Promise<CheckResult> {
    try {
      const out = await client.send(new GetWebACLForResourceCommand({ ResourceArn: stageArn }));
      const arn = out.WebACL?.ARN;
      if (!arn) return { drift: [{ kind: 'NotAssociated', detail: 'the stage has no web ACL' }] };
      if (arn !== expectedWebAclArn) {
        return { associatedWebAclArn: arn, drift: [{ kind: 'DifferentWebAcl', detail: `the stage is protected by ${out.WebACL?.Name ?? '?'} (${arn}), not the expected web ACL` }] };
      }
      return { associatedWebAclArn: arn, drift: [] };
    } catch (err) {
      if (isNonexistent(err)) return { drift: [{ kind: 'NotAssociated', detail: 'WAF reports no web ACL for the stage (or no such stage)' }] };
      const hint = errorName(err) === 'AccessDeniedException'
        ? 'the guard may read only the expected web ACL, so this can also mean the stage is associated with a different one'
        : undefined;
      return { drift: [], failed: failure('Association', 'GetWebACLForResource', err, ASSOCIATION_KINDS, hint) };
    }
  }

  async function checkWebAcl(): Promise<CheckResult> {
    try {
      const out = await client.send(new GetWebACLCommand({ Name: options.expectedWebAclName, Id: options.expectedWebAclId, Scope: options.scope }));
      if (!out.WebACL) return { drift: [{ kind: 'WebAclDeleted', detail: 'WAF returned no web ACL' }] };
      return { drift: ruleDrift(out.WebACL, requiredRuleGroups) };
    } catch (err) {
      if (isNonexistent(err)) return { drift: [{ kind: 'WebAclDeleted', detail: `web ACL ${options.expectedWebAclName} (${options.expectedWebAclId}) no longer exists` }] };
      return { drift: [], failed: failure('WebAcl', 'GetWebACL', err, WEB_ACL_KINDS) };
    }
  }

  async function checkLogging(): Promise<CheckResult> {
    try {
      const out = await client.send(new GetLoggingConfigurationCommand({ ResourceArn: expectedWebAclArn }));
      return { drift: loggingDrift(out.LoggingConfiguration) };
    } catch (err) {
      if (isNonexistent(err)) return { drift: loggingDrift(undefined) };
      return { drift: [], failed: failure('Logging', 'GetLoggingConfiguration', err, LOGGING_KINDS) };
    }
  }

  async function remediate(drift: readonly DriftFinding[], failed: FailedCheck[]): Promise<RemediationOutcome> {
    if (!options.remediate) return 'disabled';
    if (!drift.some((d) => d.kind === 'NotAssociated' || d.kind === 'DifferentWebAcl')) return 'not-needed';
    if (drift.some((d) => d.kind === 'WebAclDeleted')) return 'impossible';
    try {
      await client.send(new AssociateWebACLCommand({ WebACLArn: expectedWebAclArn, ResourceArn: stageArn }));
      return 'reassociated';
    } catch (err) {
      failed.push(failure('Remediation', 'AssociateWebACL', err, []));
      return 'failed';
    }
  }

  async function publish(report: Omit<GuardReport, 'ok'>, failed: FailedCheck[]): Promise<void> {
    if (!options.cloudwatch) return;
    const timestamp = new Date(report.checkedAt);
    const dimensions = [{ Name: STAGE_ARN_DIMENSION, Value: stageArn }];
    const found = new Set(report.drift.map((d) => d.kind));
    const metricData = report.determined.map((kind) => ({
      MetricName: driftMetricName(kind), Dimensions: dimensions, Timestamp: timestamp, Unit: 'Count' as const, Value: found.has(kind) ? 1 : 0,
    }));
    metricData.push({ MetricName: CHECK_FAILED_METRIC, Dimensions: dimensions, Timestamp: timestamp, Unit: 'Count' as const, Value: failed.length > 0 ? 1 : 0 });
    try {
      await options.cloudwatch.send(new PutMetricDataCommand({ Namespace: options.namespace, MetricData: metricData }));
    } catch (err) {
      failed.push(failure('Metrics', 'PutMetricData', err, []));
    }
  }

  return {
    async check(): Promise<GuardReport> {
      const checkedAt = now().toISOString();
      const results = await Promise.all([checkAssociation(), checkWebAcl(), checkLogging()]);
      const drift = results.flatMap((r) => r.drift);
      const failed: FailedCheck[] = results.flatMap((r) => (r.failed ? [r.failed] : []));
      const undetermined = new Set(failed.flatMap((f) => f.undetermined));
      const determined = DRIFT_KINDS.filter((k) => !undetermined.has(k));
      const remediation = await remediate(drift, failed);
      const partial = { checkedAt, stageArn, expectedWebAclArn, associatedWebAclArn: results[0].associatedWebAclArn, drift, failed, determined, remediation };
      await publish(partial, failed);
      return { ...partial, ok: drift.length === 0 && failed.length === 0 };
    },
  };
}
