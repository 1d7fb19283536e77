/**
 * Builds the reviewer's {@link ComplianceReport} from a read cloud assembly (`cdk.out`), once:
 * the rule results of the compliance evidence and CDK's validation report are reconciled into
 * outcomes (`outcomes.ts`), and the verdict, the findings, the matrix, the acknowledgements, the
 * coverage, the inventory's marks and every count are derived from those outcomes; the rest comes
 * from the templates and the construct metadata.
 */
import * as path from 'path';
import { DEPLOYMENT_ENVIRONMENT_METADATA_KEY } from '../../policies/compliance/environment';
import { FHIR_HIPAA_RULES, fhirHipaaRuleId, NON_WAIVABLE_IN_PRODUCTION } from '../../policies/compliance/fhir-hipaa-checks';
import { baseRuleId } from '../../policies/compliance/rule-ids';
import { repoFileLabel } from '../../policies/schema-errors';
import { buildAppsSection, bundledPolicies, DocumentSource, recordedMonitors, sourceName } from './apps';
import { CloudAssemblyInput, ResourceInfo } from './cloud-assembly';
import { cmp } from './cfn';
import { buildCoverage } from './coverage';
import { buildDataFlow } from './data-flow';
import { buildEnvironmentsSection } from './environments';
import { COMPLIANCE_EVIDENCE_FILE, ComplianceEvidence } from './evidence';
import { buildInventory, MarkOf, refOf, StackIndex } from './inventory';
import { recordedApiVersions, withUsage } from './lifecycle';
import { buildMatrix } from './matrix';
import {
  AcknowledgementCounts,
  COMPLIANCE_REPORT_SCHEMA_VERSION,
  ComplianceReport,
  CONTROL_STATUSES,
  ControlStatus,
  Finding,
  PackSummary,
  ResourceRef,
  ReviewedFile,
  ReviewScope,
  Severity,
  StackSummary,
  Verdict,
  zeroCounts,
} from './model';
import { citationsOf, Outcome, OutcomeModel, reconcile } from './outcomes';
import { SCOPE, SIGN_OFF } from './scope';
import { sectionNumber } from './text';
import { VALIDATION_REPORT_FILE } from './cloud-assembly';
import { kitVersion, KIT_PACKAGE_NAME, toolVersions } from './versions';

export interface BuildReportOptions {
  /**
   * The date app assessments are judged against.
   * @default - the synth date recorded in the compliance evidence (the date the gate's
   * CognitoClientAppAssessment rule used), else now
   */
  readonly today?: Date;
  /** @default - now */
  readonly generatedAt?: Date;
  /**
   * Show this registry file instead of the one the synthesized app bundled.
   * @default - the registry the app bundled into its FHIR proxy (construct metadata); none when it bundles none
   */
  readonly registryFile?: string;
  /**
   * Show this label policy file instead of the one the synthesized app bundled.
   * @default - `labels.json` next to `registryFile` when one is given, else the policy the app bundled; none when it bundles none
   */
  readonly labelPolicyFile?: string;
  /** Files are shown relative to this directory. @default - the repository root */
  readonly baseDir?: string;
  /**
   * The kit's git commit, for "What was reviewed".
   * @default - none (`writeComplianceReport` reads it from the kit's checkout)
   */
  readonly kitCommit?: { readonly commit: string; readonly dirty: boolean };
}

interface Context {
  readonly input: CloudAssemblyInput;
  readonly evidence?: ComplianceEvidence;
  readonly byPath: Map<string, ResourceInfo>;
  readonly model: OutcomeModel;
}

function resourceRef(ctx: Context, p: string): ResourceRef {
  const r = ctx.byPath.get(p) ?? ctx.byPath.get(`${p}/Resource`);
  if (r) return { ...refOf(r), path: p };
  const ev = ctx.evidence?.resources.find((x) => x.path === p);
  if (ev) return { path: p, stack: ev.stack, logicalId: ev.logicalId, type: ev.type };
  const fqn = ctx.input.constructTypes.get(p);
  return fqn ? { path: p, type: fqn } : { path: p };
}

function stackOfPath(ctx: Context, p: string): StackSummary | undefined {
  let best: CloudAssemblyInput['stacks'][number] | undefined;
  for (const s of ctx.input.stacks) {
    if ((p === s.displayName || p.startsWith(`${s.displayName}/`)) && (!best || s.displayName.length > best.displayName.length)) best = s;
  }
  return best ? stackSummary(best) : undefined;
}

function stackSummary(s: CloudAssemblyInput['stacks'][number]): StackSummary {
  const env = (s.metadata.get(s.displayName) ?? []).find((e) => e.type === DEPLOYMENT_ENVIRONMENT_METADATA_KEY)?.data;
  return {
    id: s.id,
    displayName: s.displayName,
    ...(typeof s.template.Description === 'string' ? { description: s.template.Description } : {}),
    environment: s.environment,
    ...(typeof env === 'string' ? { deploymentEnvironment: env } : {}),
    resourceCount: Object.keys(s.template.Resources ?? {}).length,
    templateFile: s.templateFile,
  };
}

const FHIR_RULES = new Map(FHIR_HIPAA_RULES.map((r) => [fhirHipaaRuleId(r), r]));

function remedyOf(cause: string): string {
  const at = cause.indexOf(': ');
  const remedy = at < 0 ? cause : cause.slice(at + 2);
  return remedy.charAt(0).toUpperCase() + remedy.slice(1);
}

function fixFor(ctx: Context, o: { pack: string; ruleId: string; suggestedFix?: string; refusal?: string }, fatal: boolean): string {
  if (o.suggestedFix) return o.suggestedFix;
  const base = baseRuleId(o.ruleId);
  const fhir = FHIR_RULES.get(base);
  const remedy = fhir ? `${remedyOf(fhir.cause)} (policies/compliance/RULES.md: ${base})` : ctx.model.rules.get(base)?.rule.explanation || undefined;
  if (fatal) return `Give the acknowledgement a reason, or remove it and fix the finding${/non-waivable/.test(o.refusal ?? '') ? ': this rule cannot be waived in production' : ''}. ${remedy ?? ''}`.trim();
  if (remedy) return remedy;
  return o.pack === 'CloudFormation Validate' ? 'Correct the template property the rule names (see the message).' : `See the ${o.pack} documentation for ${base}.`;
}

function namespaceOf(pack: string): string | undefined {
  return ['FHIR.HIPAA', 'HIPAA.Security', 'AwsSolutions'].includes(pack) ? undefined : pack.replace(/ /g, '-');
}

function acknowledgeHint(ctx: Context, o: Outcome): string | undefined {
  const env = stackOfPath(ctx, o.resource)?.deploymentEnvironment;
  if (env === 'production' && NON_WAIVABLE_IN_PRODUCTION.includes(o.rule)) return undefined;
  const ns = namespaceOf(o.pack);
  return `acknowledge(<${o.resource}>, '${ns ? `${ns}::` : ''}${o.ruleId}', '<how the control is met another way>')`;
}

/** One finding per violated outcome, and one per refused acknowledgement (fatal). */
function buildFindings(ctx: Context): Finding[] {
  const findings: Finding[] = [];
  for (const o of ctx.model.outcomes) {
    if (o.status !== 'violated') continue;
    const rule = ctx.model.rules.get(o.rule)?.rule;
    const ref = resourceRef(ctx, o.resource);
    const message = o.message ?? (rule ? `${rule.info}` : '');
    const refused = o.refusal && o.acknowledgement ? ` Its acknowledgement on ${o.acknowledgement.at} is refused: ${o.refusal.split('. ')[0]}.` : '';
    const hint = o.refusal ? undefined : acknowledgeHint(ctx, o);
    findings.push({
      pack: o.pack,
      ruleId: o.ruleId,
      severity: o.severity,
      resource: ref,
      message: `${message}${refused}`,
      fix: fixFor(ctx, o, false),
      ...(hint ? { acknowledge: hint } : {}),
      citations: citationsOf(message, rule),
      ...(o.controlId ? { controlId: o.controlId } : {}),
      ...(o.onlyInEvidence ? { onlyInEvidence: true } : {}),
    });
  }
  for (const r of ctx.model.refusals) {
    const rule = ctx.model.rules.get(baseRuleId(r.ruleName))?.rule;
    findings.push({
      pack: r.pack,
      ruleId: r.ruleName,
      severity: 'fatal',
      resource: resourceRef(ctx, r.at),
      message: r.description,
      fix: fixFor(ctx, { pack: r.pack, ruleId: r.ruleName, refusal: r.description }, true),
      citations: citationsOf(r.description, rule),
    });
  }
  const order: Record<Severity, number> = { fatal: 0, error: 1, warning: 2, info: 3 };
  return findings.sort((a, b) => order[a.severity] - order[b.severity] || cmp(a.pack, b.pack) || cmp(a.ruleId, b.ruleId) || cmp(a.resource.path, b.resource.path));
}

function evidenceMatchesTemplates(input: CloudAssemblyInput, evidence: ComplianceEvidence): string[] {
  const inEvidence = new Set(evidence.resources.map((r) => `${r.stack}\u0000${r.logicalId}`));
  const inTemplates = new Set(input.resources.map((r) => `${r.stack}\u0000${r.logicalId}`));
  const stacks = new Set(input.stacks.map((s) => s.id));
  const missing = [...inTemplates].filter((k) => !inEvidence.has(k));
  const extra = evidence.resources.filter((r) => stacks.has(r.stack) && !inTemplates.has(`${r.stack}\u0000${r.logicalId}`)).map((r) => `${r.stack}\u0000${r.logicalId}`);
  return [...missing, ...extra].map((k) => k.replace('\u0000', '/'));
}

/**
 * The verdict, from the model only: FAIL while any finding stands (any severity: the gate fails on
 * warnings too) or any plugin failed the gate; PASS only with a validation report and none of
 * either. So PASS can never stand beside a violated citation.
 */
function verdictOf(input: CloudAssemblyInput, findings: readonly Finding[], byPack: readonly PackSummary[]): { verdict: Verdict; reason: string } {
  if (!input.manifestFound) return { verdict: 'no-assembly', reason: 'cdk.out holds no cloud assembly: the synth failed before writing templates (see its output).' };
  if (!input.validationReport) return { verdict: 'unchecked', reason: 'No validation report: no compliance pack ran at synth (call applyCompliancePacks(app)).' };
  const failed = byPack.filter((p) => p.conclusion === 'failure').map((p) => p.pack);
  const n = findings.length;
  if (n > 0 || failed.length > 0) {
    const where = [...new Set([...failed, ...findings.map((f) => f.pack)])];
    const crashed = byPack.filter((p) => p.conclusion === 'failure' && p.notRun !== undefined);
    if (n === 0 && crashed.length > 0) {
      return { verdict: 'fail', reason: `${crashed.map((p) => `${p.pack} failed to run (${p.notRun})`).join('; ')}: the gate fails until every pack runs.` };
    }
    return { verdict: 'fail', reason: `${n} unacknowledged finding${n === 1 ? '' : 's'} (${where.join(', ')}): the gate fails until each is fixed or acknowledged with a reason.` };
  }
  const ran = byPack.filter((p) => !p.notRun).map((p) => p.pack);
  return { verdict: 'pass', reason: `Every finding of ${ran.length > 0 ? ran.join(', ') : 'the packs'} is fixed or acknowledged with a reason.` };
}

function packSummaries(ctx: Context, findings: readonly Finding[]): PackSummary[] {
  const reports = ctx.input.validationReport?.pluginReports ?? [];
  const crossChecks = ctx.evidence?.crossChecks ?? [];
  const names = [...new Set([...(ctx.evidence?.packs ?? []).map((p) => p.name), ...reports.map((r) => r.pluginName), ...crossChecks.map((c) => c.name)])];
  return names.map((name) => {
    const report = reports.find((r) => r.pluginName === name);
    const pack = ctx.evidence?.packs.find((p) => p.name === name);
    const cross = crossChecks.find((c) => c.name === name);
    const counts = zeroCounts();
    for (const f of findings) if (f.pack === name) counts[f.severity]++;
    const acknowledged = ctx.model.outcomes.filter((o) => o.pack === name && o.status === 'acknowledged').length;
    let rulesApplied = 0;
    let compliant = 0;
    for (const rule of pack?.rules ?? []) {
      if (rule.evaluations.length > 0) rulesApplied++;
      compliant += rule.evaluations.filter((e) => e.result === 'compliant').length;
    }
    // CDK leaves a plugin that passed with nothing suppressed out of the validation report.
    // A plugin that crashed is a failure of the gate (CDK fails the synth), whatever else was
    // recorded: its error replaces "not run".
    const crashed = report?.conclusion === 'failure' && (report.violations ?? []).length === 0 ? report.metadata?.error ?? 'the plugin failed without a finding' : undefined;
    const notRun = crashed ?? (cross && !cross.ran ? cross.reason ?? 'not run' : undefined);
    const conclusion: PackSummary['conclusion'] = report?.conclusion === 'failure' ? 'failure' : notRun ? 'not-reported' : report || ctx.input.validationReport ? 'success' : 'not-reported';
    const version = report?.pluginVersion ?? cross?.version;
    return {
      pack: name, conclusion, violations: counts, acknowledged,
      ...(pack ? { rules: pack.rules.length, rulesApplied, compliant } : {}),
      ...(version ? { version } : {}),
      ...(notRun ? { notRun } : {}),
    };
  });
}

function acknowledgementCounts(ctx: Context): AcknowledgementCounts {
  const rows = ctx.model.acknowledgements;
  const count = (s: string): number => rows.filter((r) => r.status === s).length;
  return { total: rows.length, inUse: count('in-use'), refused: count('refused'), unused: count('unused'), notChecked: count('not-checked'), outside: count('outside') };
}

/** What was reviewed: the kit, the tools the synth used, every template and its SHA-256. */
function reviewScope(ctx: Context, environments: string[], generatedAt: string, options: BuildReportOptions): ReviewScope {
  const tools = { ...toolVersions(), ...(ctx.evidence?.tools ?? {}) };
  delete tools[KIT_PACKAGE_NAME];
  const files: ReviewedFile[] = ctx.input.stacks.map((s) => ({ file: s.templateFile, sha256: s.templateSha256 ?? '', bytes: s.templateBytes ?? 0, stack: s.displayName }));
  for (const file of [COMPLIANCE_EVIDENCE_FILE, VALIDATION_REPORT_FILE]) {
    const h = ctx.input.fileHashes.get(file);
    if (h) files.push({ file, sha256: h.sha256, bytes: h.bytes });
  }
  return {
    kit: {
      name: KIT_PACKAGE_NAME,
      version: ctx.evidence?.tools?.[KIT_PACKAGE_NAME] ?? kitVersion(),
      ...(options.kitCommit ? { commit: options.kitCommit.commit, dirty: options.kitCommit.dirty } : {}),
    },
    tools,
    files,
    environments,
    ...(ctx.evidence ? { synthesizedAt: ctx.evidence.generatedAt } : {}),
    ...(ctx.evidence?.synthDate ? { synthDate: ctx.evidence.synthDate } : {}),
    generatedAt,
  };
}

/** Builds the report. */
export function buildComplianceReport(input: CloudAssemblyInput, options: BuildReportOptions = {}): ComplianceReport {
  const displayName = (file: string): string => repoFileLabel(file, options.baseDir);
  const notices = [...input.problems];

  let evidence = input.evidence && !input.evidence.error ? input.evidence : undefined;
  if (evidence && input.manifestFound) {
    const diff = evidenceMatchesTemplates(input, evidence);
    if (diff.length > 0) {
      notices.push(`The compliance evidence does not match the templates (${diff.length} resources differ, e.g. ${diff.slice(0, 3).join(', ')}): it is from another synth and was ignored.`);
      evidence = undefined;
    }
  }
  if (!evidence && input.manifestFound) {
    notices.push('No compliance evidence (compliance-evidence.json): the matrix shows violations only; what passed is unknown. Register recordComplianceEvidence(app).');
  }

  const index = new StackIndex(input.resources);
  const byPath = new Map<string, ResourceInfo>();
  for (const r of input.resources) if (r.path) byPath.set(r.path, r);
  const model = reconcile(input, evidence);
  notices.push(...model.notices);
  const ctx: Context = { input, evidence, byPath, model };

  const findings = buildFindings(ctx);
  const hipaaMatrix = buildMatrix(model, findings, evidence !== undefined);
  const acknowledgements = model.acknowledgements.map((a) => ({ ...a, resource: resourceRef(ctx, a.resource.path) }));
  const unused = acknowledgements.filter((a) => a.status === 'unused');
  if (unused.length > 0) {
    notices.push(`${unused.length} acknowledgement${unused.length === 1 ? '' : 's'} matched no finding in this synth (stale, or placed on the wrong construct): ${unused.slice(0, 5).map((a) => `${a.ruleId} on ${a.resource.path}`).join('; ')}.`);
  }
  const coverage = buildCoverage(input, evidence, model);

  // Every count from the model.
  const violations = zeroCounts();
  for (const f of findings) violations[f.severity]++;
  const byPack = packSummaries(ctx, findings);
  const controls = Object.fromEntries(CONTROL_STATUSES.map((s) => [s, hipaaMatrix.filter((m) => m.status === s).length])) as Record<ControlStatus, number>;
  const stacks = input.stacks.map(stackSummary);
  const environments = [...new Set(stacks.map((s) => s.deploymentEnvironment).filter((e): e is string => e !== undefined))];
  const { verdict, reason } = verdictOf(input, findings, byPack);
  const generatedAt = (options.generatedAt ?? new Date()).toISOString();

  // The inventory's marks: the gate's own outcomes, never a judgement of the inventory's.
  const outcomesByRule = new Map<string, Outcome[]>();
  for (const o of model.outcomes) {
    const k = `${o.rule}\u0000${o.resource}`;
    outcomesByRule.set(k, [...(outcomesByRule.get(k) ?? []), o]);
  }
  const mark: MarkOf = (rule, p) => {
    const list = outcomesByRule.get(`${rule}\u0000${p}`);
    if (!list || list.length === 0) return undefined;
    const violated = list.find((o) => o.status === 'violated');
    if (violated) return { rule, status: 'violated' };
    const acked = list.find((o) => o.status === 'acknowledged');
    if (acked) return { rule, status: 'acknowledged', ...(acked.acknowledgement ? { reason: acked.acknowledgement.reason } : {}) };
    return { rule, status: 'compliant' };
  };

  // The gate judged expiry on the synth date; judging on another day could contradict it.
  const today = options.today ?? (evidence?.synthDate ? new Date(`${evidence.synthDate}T00:00:00Z`) : new Date());
  // The registry and label policy the app bundled into its FHIR proxy, unless files are given.
  const bundled = bundledPolicies(input);
  for (const [what, list] of [['app registries', bundled.registries], ['label policies', bundled.labelPolicies]] as const) {
    if (new Set(list.map((b) => JSON.stringify(b.document))).size > 1) {
      notices.push(`The app bundles ${list.length} different ${what} (${list.map((b) => b.at).join(', ')}); section ${sectionNumber('apps')} shows the one in ${list[0].at}.`);
    }
  }
  const registry: DocumentSource | undefined = options.registryFile !== undefined ? { file: options.registryFile } : bundled.registries[0] && { bundled: bundled.registries[0] };
  const labelPolicyFile = options.labelPolicyFile ?? (options.registryFile ? path.join(path.dirname(options.registryFile), 'labels.json') : undefined);
  const labelPolicy: DocumentSource | undefined = labelPolicyFile !== undefined ? { file: labelPolicyFile } : bundled.labelPolicies[0] && { bundled: bundled.labelPolicies[0] };
  const recordedVersions = recordedApiVersions(input);
  notices.push(...recordedVersions.problems);
  const apps = buildAppsSection({
    registry,
    labelPolicy,
    today,
    appClientsInApp: index.ofType('AWS::Cognito::UserPoolClient').length,
    displayName,
    monitors: recordedMonitors(input),
    apiVersions: recordedVersions,
  });
  return {
    schemaVersion: COMPLIANCE_REPORT_SCHEMA_VERSION,
    title: 'Compliance report: zero-trust SMART on FHIR',
    generatedAt,
    review: reviewScope(ctx, environments, generatedAt, options),
    sources: {
      cdkOut: displayName(input.directory),
      manifest: input.manifestFound,
      validationReport: input.validationReport !== undefined,
      evidence: evidence !== undefined,
      ...(evidence ? { evidenceGeneratedAt: evidence.generatedAt } : {}),
      appRegistry: sourceName(registry, displayName, 'app registry'),
      labelPolicy: sourceName(labelPolicy, displayName, 'label policy'),
    },
    notices,
    summary: {
      verdict,
      verdictReason: reason,
      stacks,
      environments,
      counts: {
        violations,
        acknowledged: model.outcomes.filter((o) => o.status === 'acknowledged').length,
        acknowledgements: acknowledgementCounts(ctx),
        byPack,
        controls,
        resources: { total: coverage.resources, evaluated: coverage.evaluated, evaluatedByNone: coverage.evaluatedByNone.length },
      },
    },
    scope: SCOPE,
    hipaaMatrix,
    findings,
    acknowledgements,
    coverage,
    apps,
    apiVersions: withUsage(recordedVersions, apps.apps),
    environments: buildEnvironmentsSection(input, stacks, environments),
    dataFlow: buildDataFlow(index),
    inventory: buildInventory(input, index, mark),
    signOff: SIGN_OFF,
  };
}

/** Exit status for `--fail-on`: 1 when findings at or above the level exist (or no assembly), else 0. */
export function exitCodeFor(report: ComplianceReport, failOn: 'error' | 'warning' | 'none'): number {
  if (failOn === 'none') return 0;
  if (report.summary.verdict === 'no-assembly' || report.summary.verdict === 'unchecked') return 1;
  const c = report.summary.counts.violations;
  const n = c.fatal + c.error + (failOn === 'warning' ? c.warning : 0);
  return n > 0 ? 1 : 0;
}
