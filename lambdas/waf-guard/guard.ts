/**
 * The WAF drift guard: checks that every API Gateway stage of the API (one per live API version)
 * is still protected by the web ACL the kit deployed, and that the web ACL still blocks what it
 * must and logs with redaction.
 *
 * Independent checks, each one WAF API call:
 * - association, once per stage (`GetWebACLForResource` on the stage): `NotAssociated`,
 *   `DifferentWebAcl`;
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
 * Optional remediation re-associates the expected web ACL (`AssociateWebACL`) with each stage
 * that has none or another one; the drift is still reported (and alarmed) so a person looks at why.
 *
 * Metrics are published per stage (dimension `StageArn`): a stage's association drift kinds are
 * its own; the web ACL and logging kinds, shared by every stage, are published under each; its
 * `WafGuardCheckFailed` is 1 when its association check, its re-association, or a shared check
 * failed. A stage's undetermined kinds are left out, never published as 0.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { LoggingConfiguration, Rule, WAFV2Client, WebACL } from '@aws-sdk/client-wafv2';
import {
  AssociateWebACLCommand, GetLoggingConfigurationCommand, GetWebACLCommand, GetWebACLForResourceCommand,
} from '@aws-sdk/client-wafv2';
import { awsErrorName } from '../shared/aws-error';
import { putMetricDataInBatches } from '../shared/put-metric-data';
import {
  AUTHORIZE_EXEMPTION, AUTHORIZE_MAX_QUERY_STRING_BYTES, CHECK_FAILED_METRIC, COUNT_EXCEPTION, DRIFT_KINDS, DriftKind, LABEL_EXCEPTIONS,
  REDACTED_HEADERS, REQUIRED_MANAGED_RULE_GROUPS, STAGE_ARN_DIMENSION, driftMetricName,
} from './expectations';

/** Options of {@link createWafGuard}. */
export interface WafGuardOptions {
  readonly client: WAFV2Client;
  /** Publishes the metrics; without it (the command line) nothing is published. */
  readonly cloudwatch?: CloudWatchClient;
  /**
   * The stages to check, `arn:aws:apigateway:<region>::/restapis/<api>/stages/<stage>`, one or
   * more, no duplicates. Give this or `stageArn`.
   */
  readonly stageArns?: readonly string[];
  /** The one-stage form of `stageArns` (the command line). */
  readonly stageArn?: string;
  readonly expectedWebAclArn: string;
  readonly expectedWebAclName: string;
  readonly expectedWebAclId: string;
  readonly scope: 'REGIONAL';
  /** Re-associate the expected web ACL with a stage that has none or another one. */
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
  /** The stage, for association drift (`NotAssociated`, `DifferentWebAcl`); absent for the web ACL's. */
  readonly stageArn?: string;
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
  /** The stage, for a stage's association check or re-association; absent for a shared check. */
  readonly stageArn?: string;
}

export type RemediationOutcome = 'disabled' | 'not-needed' | 'reassociated' | 'failed' | 'impossible';

/** One stage's part of a run: what its metrics report. */
export interface StageReport {
  readonly stageArn: string;
  /** The web ACL the stage was found associated with (absent when none, or the check failed). */
  readonly associatedWebAclArn?: string;
  /** The stage's association drift, and the web ACL's and logging's (shared by every stage). */
  readonly drift: readonly DriftFinding[];
  /** Drift kinds determined for this stage (published as 0/1 under its `StageArn`). */
  readonly determined: readonly DriftKind[];
  /** Its association check, its re-association or a shared check failed (`WafGuardCheckFailed`). */
  readonly checkFailed: boolean;
  readonly remediation: RemediationOutcome;
}

/** The result of one run. */
export interface GuardReport {
  readonly checkedAt: string;
  /** The first (or only) stage checked. */
  readonly stageArn: string;
  /** Every stage checked, in order. */
  readonly stageArns: readonly string[];
  readonly expectedWebAclArn: string;
  /** The web ACL the first stage was found associated with (absent when none, or the check failed); see `stages`. */
  readonly associatedWebAclArn?: string;
  /** Every drift found: each stage's association drift (naming the stage), then the web ACL's. */
  readonly drift: readonly DriftFinding[];
  readonly failed: readonly FailedCheck[];
  /** Drift kinds determined for every stage this run. */
  readonly determined: readonly DriftKind[];
  /**
   * Over all stages: `failed` if a re-association failed, else `impossible` if one was needed
   * but the web ACL is gone, else `reassociated` if any stage was, else `not-needed`.
   */
  readonly remediation: RemediationOutcome;
  /** Per stage, in the order of `stageArns`. */
  readonly stages: readonly StageReport[];
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

function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : typeof err === 'object' && err && 'message' in err ? String((err as { message: unknown }).message) : String(err);
  return message.slice(0, 500);
}

function isNonexistent(err: unknown): boolean {
  return awsErrorName(err) === 'WAFNonexistentItemException';
}

function failure(check: GuardCheckName, operation: string, err: unknown, undetermined: readonly DriftKind[], hint?: string): FailedCheck {
  const message = errorMessage(err);
  return { check, operation, error: awsErrorName(err), message: hint ? `${message} (${hint})` : message, undetermined };
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

type Statement = NonNullable<Rule['Statement']>;
type FieldToMatch = NonNullable<NonNullable<Statement['ByteMatchStatement']>['FieldToMatch']>;

/** The one part of the request a field-to-match names (`undefined` for none or several). */
function onlyField(field: FieldToMatch | undefined): string | undefined {
  const keys = field ? Object.entries(field).filter(([, v]) => v !== undefined).map(([k]) => k) : [];
  return keys.length === 1 ? keys[0] : undefined;
}

/** No text transformation at all (absent, or only `NONE`). */
function untransformed(transformations: readonly { Type?: string }[] | undefined): boolean {
  return (transformations ?? []).every((t) => t.Type === 'NONE');
}

/** A byte-match search string as the API returns it (a blob) or CloudFormation spells it (a string). */
function searchString(value: Uint8Array | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : new TextDecoder().decode(value);
}

/** `GET` (exactly, untransformed) AND the raw path matching `AUTHORIZE_EXEMPTION.uriPathRegex`. */
function isAuthorizeRoute(statement: Statement | undefined): boolean {
  const parts = statement?.AndStatement?.Statements ?? [];
  if (parts.length !== 2) return false;
  const method = parts.find((p) => p.ByteMatchStatement !== undefined)?.ByteMatchStatement;
  const path = parts.find((p) => p.RegexMatchStatement !== undefined)?.RegexMatchStatement;
  return method !== undefined && path !== undefined
    && onlyField(method.FieldToMatch) === 'Method' && method.PositionalConstraint === 'EXACTLY'
    && searchString(method.SearchString as Uint8Array | string | undefined) === AUTHORIZE_EXEMPTION.method && untransformed(method.TextTransformations)
    && onlyField(path.FieldToMatch) === 'UriPath' && path.RegexString === AUTHORIZE_EXEMPTION.uriPathRegex && untransformed(path.TextTransformations);
}

function matchesLabel(statement: Statement | undefined, label: string): boolean {
  const match = statement?.LabelMatchStatement;
  return match !== undefined && match.Scope === 'LABEL' && match.Key === label;
}

/**
 * A blocking rule that re-blocks `label`: the label alone, or the label AND NOT the authorization
 * route ({@link AUTHORIZE_EXEMPTION}, exactly), evaluated after the group that adds the label
 * (a label match sees only labels of rules evaluated before it).
 */
function reblocksLabel(rule: Rule, label: string, groupPriority: number | undefined): boolean {
  if (!blocks(rule.Action) || groupPriority === undefined || rule.Priority === undefined || rule.Priority <= groupPriority) return false;
  if (matchesLabel(rule.Statement, label)) return true;
  const parts = rule.Statement?.AndStatement?.Statements ?? [];
  return parts.length === 2
    && parts.some((p) => matchesLabel(p, label))
    && parts.some((p) => isAuthorizeRoute(p.NotStatement?.Statement));
}

/** A blocking size rule on the whole query string, untransformed, of at most `AUTHORIZE_MAX_QUERY_STRING_BYTES`. */
function hasBlockingQueryStringSizeRule(rules: readonly Rule[]): boolean {
  return rules.some((r) => {
    const size = r.Statement?.SizeConstraintStatement;
    return blocks(r.Action) && size !== undefined && onlyField(size.FieldToMatch) === 'QueryString'
      && size.ComparisonOperator === 'GT' && size.Size !== undefined && size.Size <= AUTHORIZE_MAX_QUERY_STRING_BYTES
      && untransformed(size.TextTransformations);
  });
}

/**
 * Whether a required group's rule overridden to Count is excepted: `undefined` if it is, else
 * what the web ACL lacks for it to be ('' for a rule that is never excepted).
 * {@link COUNT_EXCEPTION} needs the web ACL's own body-size rule; each of
 * {@link LABEL_EXCEPTIONS} a rule re-blocking its label (and perhaps a query-string size rule).
 */
function countLacks(group: string, name: string | undefined, groupRule: Rule, rules: readonly Rule[]): string | undefined {
  if (group === COUNT_EXCEPTION.group && name === COUNT_EXCEPTION.rule) {
    return hasBlockingBodySizeRule(rules) ? undefined : 'no blocking body-size rule of its own';
  }
  const exception = LABEL_EXCEPTIONS.find((e) => e.group === group && e.rule === name);
  if (!exception) return '';
  const lacks: string[] = [];
  if (!rules.some((r) => reblocksLabel(r, exception.label, groupRule.Priority))) {
    lacks.push(`no blocking rule after the group on its label ${exception.label} (sparing at most ${AUTHORIZE_EXEMPTION.method} ${AUTHORIZE_EXEMPTION.uriPathRegex})`);
  }
  if (exception.needsQueryStringSizeRule && !hasBlockingQueryStringSizeRule(rules)) {
    lacks.push(`no blocking query-string size rule of at most ${AUTHORIZE_MAX_QUERY_STRING_BYTES} bytes`);
  }
  return lacks.length === 0 ? undefined : lacks.join(', and ');
}

/** The drift in a web ACL's rules (top-level rules, as WAF evaluates managed groups only there). */
export function ruleDrift(acl: WebACL, requiredRuleGroups: readonly string[] = REQUIRED_MANAGED_RULE_GROUPS): DriftFinding[] {
  const rules = acl.Rules ?? [];
  const findings: DriftFinding[] = [];
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
      if (use && use.Count === undefined && use.Allow === undefined) continue;
      // Only Count can be excepted: an Allow override ends the evaluation, so no later rule re-blocks.
      if (use?.Allow !== undefined) {
        findings.push({ kind: 'RuleGroupNotBlocking', detail: `${group} rule ${o.Name ?? '?'} is overridden to Allow` });
        continue;
      }
      const lacks = countLacks(group, o.Name, rule, rules);
      if (lacks !== undefined) {
        findings.push({ kind: 'RuleGroupNotBlocking', detail: `${group} rule ${o.Name ?? '?'} is overridden to Count${lacks === '' ? '' : ` and the web ACL has ${lacks}`}` });
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

/** The stages of `options`; throws when there are none, both forms, or duplicates. */
function stagesOf(options: WafGuardOptions): readonly string[] {
  if (options.stageArns !== undefined && options.stageArn !== undefined) throw new Error('createWafGuard: give stageArns or stageArn, not both');
  const stages = options.stageArns ?? (options.stageArn !== undefined ? [options.stageArn] : []);
  if (stages.length === 0) throw new Error('createWafGuard: stageArns must list at least one stage');
  if (new Set(stages).size !== stages.length) throw new Error('createWafGuard: stageArns lists a stage twice');
  return stages;
}

const ASSOCIATION_DRIFT = new Set<DriftKind>(ASSOCIATION_KINDS);

/** The most telling of the stages' outcomes (see `GuardReport.remediation`). */
function overallRemediation(outcomes: readonly RemediationOutcome[]): RemediationOutcome {
  for (const o of ['disabled', 'failed', 'impossible', 'reassociated'] as const) if (outcomes.includes(o)) return o;
  return 'not-needed';
}

/** CloudWatch takes at most 1000 metrics per PutMetricData call. */
const METRICS_PER_CALL = 1000;

/** Builds the guard. Nothing is called until `check()`. */
export function createWafGuard(options: WafGuardOptions): WafGuard {
  const { client, expectedWebAclArn } = options;
  const stageArns = stagesOf(options);
  const requiredRuleGroups = options.requiredRuleGroups ?? REQUIRED_MANAGED_RULE_GROUPS;
  const now = options.now ?? (() => new Date());

  async function checkAssociation(stageArn: string): Promise<CheckResult> {
    const found = (kind: DriftKind, detail: string): DriftFinding => ({ kind, detail, stageArn });
    try {
      const out = await client.send(new GetWebACLForResourceCommand({ ResourceArn: stageArn }));
      const arn = out.WebACL?.ARN;
      if (!arn) return { drift: [found('NotAssociated', 'the stage has no web ACL')] };
      if (arn !== expectedWebAclArn) {
        return { associatedWebAclArn: arn, drift: [found('DifferentWebAcl', `the stage is protected by ${out.WebACL?.Name ?? '?'} (${arn}), not the expected web ACL`)] };
      }
      return { associatedWebAclArn: arn, drift: [] };
    } catch (err) {
      if (isNonexistent(err)) return { drift: [found('NotAssociated', 'WAF reports no web ACL for the stage (or no such stage)')] };
      const hint = awsErrorName(err) === 'AccessDeniedException'
        ? 'the guard may read only the expected web ACL, so this can also mean the stage is associated with a different one'
        : undefined;
      return { drift: [], failed: { ...failure('Association', 'GetWebACLForResource', err, ASSOCIATION_KINDS, hint), stageArn } };
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

  async function remediate(stageArn: string, drift: readonly DriftFinding[], failed: FailedCheck[]): Promise<RemediationOutcome> {
    if (!options.remediate) return 'disabled';
    if (!drift.some((d) => ASSOCIATION_DRIFT.has(d.kind))) return 'not-needed';
    if (drift.some((d) => d.kind === 'WebAclDeleted')) return 'impossible';
    try {
      await client.send(new AssociateWebACLCommand({ WebACLArn: expectedWebAclArn, ResourceArn: stageArn }));
      return 'reassociated';
    } catch (err) {
      failed.push({ ...failure('Remediation', 'AssociateWebACL', err, []), stageArn });
      return 'failed';
    }
  }

  async function publish(checkedAt: string, stages: readonly StageReport[], failed: FailedCheck[]): Promise<void> {
    if (!options.cloudwatch) return;
    const timestamp = new Date(checkedAt);
    const metricData = stages.flatMap((stage) => {
      const dimensions = [{ Name: STAGE_ARN_DIMENSION, Value: stage.stageArn }];
      const found = new Set(stage.drift.map((d) => d.kind));
      const datum = (name: string, value: boolean) => ({ MetricName: name, Dimensions: dimensions, Timestamp: timestamp, Unit: 'Count' as const, Value: value ? 1 : 0 });
      return [...stage.determined.map((kind) => datum(driftMetricName(kind), found.has(kind))), datum(CHECK_FAILED_METRIC, stage.checkFailed)];
    });
    const refused = await putMetricDataInBatches(options.cloudwatch, options.namespace, metricData, METRICS_PER_CALL);
    if (refused) failed.push(failure('Metrics', 'PutMetricData', refused.error, []));
  }

  return {
    async check(): Promise<GuardReport> {
      const checkedAt = now().toISOString();
      const [associations, shared] = await Promise.all([
        Promise.all(stageArns.map(checkAssociation)),
        Promise.all([checkWebAcl(), checkLogging()]),
      ]);
      const sharedDrift = shared.flatMap((r) => r.drift);
      const failed: FailedCheck[] = [...associations, ...shared].flatMap((r) => (r.failed ? [r.failed] : []));
      const remediations = await Promise.all(stageArns.map((arn, i) => remediate(arn, [...associations[i].drift, ...sharedDrift], failed)));
      const stages: StageReport[] = stageArns.map((stageArn, i) => {
        const own = failed.filter((f) => f.stageArn === undefined || f.stageArn === stageArn);
        const undetermined = new Set(own.flatMap((f) => f.undetermined));
        return {
          stageArn,
          ...(associations[i].associatedWebAclArn !== undefined ? { associatedWebAclArn: associations[i].associatedWebAclArn } : {}),
          drift: [...associations[i].drift, ...sharedDrift],
          determined: DRIFT_KINDS.filter((k) => !undetermined.has(k)),
          checkFailed: own.length > 0,
          remediation: remediations[i],
        };
      });
      await publish(checkedAt, stages, failed);
      const drift = [...associations.flatMap((r) => r.drift), ...sharedDrift];
      return {
        checkedAt,
        stageArn: stageArns[0],
        stageArns,
        expectedWebAclArn,
        associatedWebAclArn: associations[0].associatedWebAclArn,
        drift,
        failed,
        determined: DRIFT_KINDS.filter((k) => stages.every((st) => st.determined.includes(k))),
        remediation: overallRemediation(remediations),
        stages,
        ok: drift.length === 0 && failed.length === 0,
      };
    },
  };
}
