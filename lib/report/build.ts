/**
 * Builds the reviewer's {@link ComplianceReport} from a read cloud assembly (`cdk.out`) and the
 * policies: the gate's verdict and findings come from CDK's validation report; what each rule
 * evaluated, passed and had acknowledged comes from the compliance evidence; acknowledgements and
 * their reasons come from the construct metadata; the rest from the templates.
 */
import * as path from 'path';
import { Validations } from 'aws-cdk-lib';
import { citationTitle, HIPAA_CITATION_IDS, isHipaaCitation } from '../../policies/citations';
import { DEPLOYMENT_ENVIRONMENT_METADATA_KEY } from '../../policies/environment';
import { acknowledgedRuleId, FHIR_HIPAA_RULES, fhirHipaaRuleId, NON_WAIVABLE_IN_PRODUCTION } from '../../policies/fhir-hipaa-checks';
import { repoFileLabel } from '../../policies/schema-errors';
import { buildAppsSection, bundledPolicies, DocumentSource, sourceName } from './apps';
import { CloudAssemblyInput, PluginReportJson, ResourceInfo, ViolationJson } from './cloud-assembly';
import { cmp } from './cfn';
import { extractControlIds } from '../../policies/citations';
import { buildDataFlow } from './data-flow';
import { acknowledgementId, ComplianceEvidence, RuleEvidence } from './evidence';
import { buildInventory, refOf, StackIndex } from './inventory';
import {
  AcknowledgementRow,
  COMPLIANCE_REPORT_SCHEMA_VERSION,
  ComplianceReport,
  CONTROL_STATUSES,
  ControlStatus,
  Finding,
  MatrixRow,
  MatrixRule,
  normalizeSeverity,
  PackSummary,
  ResourceRef,
  Severity,
  SeverityCounts,
  StackSummary,
  Verdict,
  zeroCounts,
} from './model';

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
}


const STATUS_RANK: Record<ControlStatus, number> = { violated: 0, acknowledged: 1, met: 2, 'not-evaluated': 3, unknown: 4, 'not-covered': 5 };

function worst(statuses: ControlStatus[], empty: ControlStatus): ControlStatus {
  return statuses.length === 0 ? empty : statuses.reduce((a, b) => (STATUS_RANK[b] < STATUS_RANK[a] ? b : a));
}

interface Context {
  readonly input: CloudAssemblyInput;
  readonly evidence?: ComplianceEvidence;
  readonly index: StackIndex;
  readonly byPath: Map<string, ResourceInfo>;
  readonly rules: Map<string, { pack: string; rule: RuleEvidence }>;
  readonly pluginReports: PluginReportJson[];
  /** `${rule}\u0000${path}` of acknowledgements the gate refused (fatal). */
  readonly refused: Set<string>;
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

function fixFor(ctx: Context, pack: string, ruleId: string, violation: ViolationJson, severity: Severity): string {
  if (violation.suggestedFix) return violation.suggestedFix;
  const base = acknowledgedRuleId(ruleId);
  const fhir = FHIR_RULES.get(base);
  const remedy = fhir ? `${remedyOf(fhir.cause)} (policies/RULES.md: ${base})` : ctx.rules.get(base)?.rule.explanation;
  if (severity === 'fatal' && /non-waivable/.test(violation.description ?? '')) {
    return `Remove the acknowledgement: this rule cannot be waived in production. ${remedy ?? ''}`.trim();
  }
  if (remedy) return remedy;
  return pack === 'CloudFormation-Validate' ? 'Correct the template property the rule names (see the message).' : `See the ${pack} documentation for ${base}.`;
}

function acknowledgeHint(ctx: Context, ruleId: string, p: string, severity: Severity): string | undefined {
  if (severity === 'fatal') return undefined;
  const env = stackOfPath(ctx, p)?.deploymentEnvironment;
  if (env === 'production' && NON_WAIVABLE_IN_PRODUCTION.includes(acknowledgedRuleId(ruleId))) return undefined;
  return `Validations.of(<${p}>).acknowledge({ id: '${ruleId}', reason: '<how the control is met another way>' })`;
}

function buildFindings(ctx: Context): Finding[] {
  const findings: Finding[] = [];
  for (const report of ctx.pluginReports) {
    for (const v of report.violations ?? []) {
      const severity = normalizeSeverity(v.severity);
      const rule = ctx.rules.get(acknowledgedRuleId(v.ruleName))?.rule;
      const citations = extractControlIds(v.description ?? '');
      const targets = v.violatingConstructs && v.violatingConstructs.length > 0 ? v.violatingConstructs : [{ constructPath: '' }];
      for (const c of targets) {
        const p = c.constructPath ?? '';
        const ref = resourceRef(ctx, p);
        const cfn = c.cloudFormationResource;
        const hint = acknowledgeHint(ctx, v.ruleName, p, severity);
        findings.push({
          pack: report.pluginName,
          ruleId: v.ruleName,
          severity,
          resource: { ...ref, ...(cfn?.logicalId && cfn.logicalId !== 'N/A' && !ref.logicalId ? { logicalId: cfn.logicalId } : {}) },
          message: v.description ?? '',
          fix: fixFor(ctx, report.pluginName, v.ruleName, v, severity),
          ...(hint ? { acknowledge: hint } : {}),
          citations: citations.length > 0 ? citations : rule?.citations ?? [],
        });
      }
    }
  }
  const order: Record<Severity, number> = { fatal: 0, error: 1, warning: 2, info: 3 };
  return findings.sort((a, b) => order[a.severity] - order[b.severity] || cmp(a.pack, b.pack) || cmp(a.ruleId, b.ruleId) || cmp(a.resource.path, b.resource.path));
}

function packOfRule(ctx: Context, id: string, key: string): string {
  const known = ctx.rules.get(acknowledgedRuleId(id));
  if (known) return known.pack;
  for (const p of ctx.evidence?.packs ?? []) if (id.startsWith(`${p.name}-`)) return p.name;
  for (const r of ctx.pluginReports) if (id.startsWith(`${r.pluginName}-`)) return r.pluginName;
  const ns = key.includes('::') ? key.slice(0, key.indexOf('::')) : '';
  if (!ns || ns.toLowerCase() === 'annotation') return 'unknown';
  // CDK namespaces a plugin's rules by its name with spaces as dashes ('CloudFormation Validate').
  return ctx.pluginReports.find((r) => r.pluginName.replace(/\s+/g, '-') === ns)?.pluginName ?? ns.replace(/-/g, ' ');
}

function buildAcknowledgements(ctx: Context): AcknowledgementRow[] {
  // Every acknowledgement in the construct metadata (per stack) and in the evidence (whole tree).
  const seen = new Map<string, { key: string; reason: string; at: string }>();
  for (const s of ctx.input.stacks) {
    for (const [p, entries] of s.metadata) {
      for (const e of entries) {
        if (e.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !e.data || typeof e.data !== 'object') continue;
        for (const [key, reason] of Object.entries(e.data as Record<string, unknown>)) seen.set(`${p}\u0000${key}`, { key, reason: String(reason), at: p });
      }
    }
  }
  for (const a of ctx.evidence?.acknowledgements ?? []) {
    if (!seen.has(`${a.at}\u0000${a.key}`)) seen.set(`${a.at}\u0000${a.key}`, { key: a.key, reason: a.reason, at: a.at });
  }
  const evidencePacks = new Set((ctx.evidence?.packs ?? []).map((p) => p.name));
  const rows: AcknowledgementRow[] = [];
  for (const { key, reason, at } of seen.values()) {
    const id = acknowledgementId(key);
    const pack = packOfRule(ctx, id, key);
    const appliesTo = new Set<string>();
    const fromEvidence = ctx.evidence?.acknowledgements.find((a) => a.at === at && a.key === key);
    for (const p of fromEvidence?.suppressed ?? []) appliesTo.add(p);
    for (const report of ctx.pluginReports) {
      for (const sv of report.suppressedViolations ?? []) {
        if (sv.acknowledgedAt === at && (sv.acknowledgedId === key || sv.acknowledgedId === id)) {
          for (const c of sv.violatingConstructs ?? []) if (c.constructPath) appliesTo.add(c.constructPath);
        }
      }
    }
    // Known to match nothing when the pack's results are all known: it is in the evidence, or it
    // reported findings (a plugin that reported nothing may not have run).
    const reported = ctx.pluginReports.some((r) => r.pluginName === pack);
    const matched = appliesTo.size > 0 ? true : evidencePacks.has(pack) || reported ? false : undefined;
    const rule = ctx.rules.get(acknowledgedRuleId(id))?.rule;
    rows.push({
      pack,
      ruleId: id,
      key,
      resource: resourceRef(ctx, at),
      reason,
      appliesTo: [...appliesTo],
      ...(matched !== undefined ? { matched } : {}),
      refused: ctx.refused.has(`${acknowledgedRuleId(id)}\u0000${at}`),
      ...(rule ? { rule: { message: rule.info, explanation: rule.explanation, level: rule.level, citations: rule.citations } } : {}),
    });
  }
  return rows.sort((a, b) => cmp(a.pack, b.pack) || cmp(a.ruleId, b.ruleId) || cmp(a.resource.path, b.resource.path));
}

function buildMatrix(ctx: Context, findings: Finding[]): MatrixRow[] {
  const citations = new Set<string>(HIPAA_CITATION_IDS);
  for (const { rule } of ctx.rules.values()) for (const c of rule.citations) citations.add(c);
  for (const f of findings) for (const c of f.citations) if (/^164\./.test(c)) citations.add(c);
  const ordered = [...HIPAA_CITATION_IDS, ...[...citations].filter((c) => !isHipaaCitation(c)).sort()];

  return ordered.map((citation) => {
    const rules: MatrixRule[] = [];
    if (ctx.evidence) {
      for (const { pack, rule } of ctx.rules.values()) {
        if (!rule.citations.includes(citation)) continue;
        const met: string[] = [];
        const violated: string[] = [];
        const acknowledged: MatrixRule['acknowledged'] = [];
        for (const e of rule.evaluations) {
          if (e.result === 'compliant') met.push(e.resource);
          else if (e.acknowledged && !ctx.refused.has(`${rule.id}\u0000${e.acknowledged.at}`)) {
            acknowledged.push({ resource: e.resource, id: e.acknowledged.id, reason: e.acknowledged.reason, acknowledgedAt: e.acknowledged.at });
          } else violated.push(e.finding ? `${e.resource} [${e.finding}]` : e.resource);
        }
        const status: ControlStatus = violated.length > 0 ? 'violated' : acknowledged.length > 0 ? 'acknowledged' : met.length > 0 ? 'met' : 'not-evaluated';
        rules.push({ ruleId: rule.id, pack, level: rule.level, status, met: [...new Set(met)], acknowledged, violated, notApplicable: rule.notApplicable });
      }
    } else {
      // No evidence: only the violations are known.
      const byRule = new Map<string, Finding[]>();
      for (const f of findings) if (f.citations.includes(citation)) byRule.set(acknowledgedRuleId(f.ruleId), [...(byRule.get(acknowledgedRuleId(f.ruleId)) ?? []), f]);
      for (const [ruleId, list] of byRule) {
        rules.push({ ruleId, pack: list[0].pack, level: list[0].severity, status: 'violated', met: [], acknowledged: [], violated: list.map((f) => f.resource.path), notApplicable: 0 });
      }
      for (const rule of FHIR_HIPAA_RULES) {
        const id = fhirHipaaRuleId(rule);
        if (rule.citations.includes(citation as never) && !byRule.has(id)) {
          rules.push({ ruleId: id, pack: 'FHIR.HIPAA', level: rule.level === 'Error' ? 'error' : 'warning', status: 'unknown', met: [], acknowledged: [], violated: [], notApplicable: 0 });
        }
      }
    }
    const status = worst(rules.map((r) => r.status), ctx.evidence ? 'not-covered' : 'unknown');
    return {
      citation,
      title: isHipaaCitation(citation) ? citationTitle(citation) : '(not in policies/citations.ts)',
      inCatalogue: isHipaaCitation(citation),
      status,
      rules: rules.sort((a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status] || cmp(a.ruleId, b.ruleId)),
    };
  });
}

function evidenceMatchesTemplates(input: CloudAssemblyInput, evidence: ComplianceEvidence): string[] {
  const inEvidence = new Set(evidence.resources.map((r) => `${r.stack}\u0000${r.logicalId}`));
  const inTemplates = new Set(input.resources.map((r) => `${r.stack}\u0000${r.logicalId}`));
  const stacks = new Set(input.stacks.map((s) => s.id));
  const missing = [...inTemplates].filter((k) => !inEvidence.has(k));
  const extra = evidence.resources.filter((r) => stacks.has(r.stack) && !inTemplates.has(`${r.stack}\u0000${r.logicalId}`)).map((r) => `${r.stack}\u0000${r.logicalId}`);
  return [...missing, ...extra].map((k) => k.replace('\u0000', '/'));
}

function crossCheck(ctx: Context): string[] {
  const notices: string[] = [];
  for (const pack of ctx.evidence?.packs ?? []) {
    const expected = new Set<string>();
    for (const rule of pack.rules) {
      for (const e of rule.evaluations) {
        if (e.result === 'compliant' || e.acknowledged) continue;
        expected.add(`${e.finding ? `${rule.id}[${e.finding}]` : rule.id} @ ${e.resource}`);
      }
    }
    const reported = new Set<string>();
    const report = ctx.pluginReports.find((r) => r.pluginName === pack.name);
    for (const v of report?.violations ?? []) {
      if (normalizeSeverity(v.severity) === 'fatal') continue;
      for (const c of v.violatingConstructs ?? []) reported.add(`${v.ruleName} @ ${c.constructPath ?? ''}`);
    }
    const onlyEvidence = [...expected].filter((x) => !reported.has(x));
    const onlyReport = [...reported].filter((x) => !expected.has(x));
    if (onlyEvidence.length + onlyReport.length > 0) {
      notices.push(`${pack.name}: the evidence and the validation report disagree (${[...onlyEvidence.map((x) => `evidence only: ${x}`), ...onlyReport.map((x) => `report only: ${x}`)].slice(0, 5).join('; ')}).`);
    }
  }
  return notices;
}

function verdictOf(input: CloudAssemblyInput, reports: PluginReportJson[], counts: SeverityCounts): { verdict: Verdict; reason: string } {
  if (!input.manifestFound) return { verdict: 'no-assembly', reason: 'cdk.out holds no cloud assembly: the synth failed before writing templates (see its output).' };
  if (!input.validationReport) return { verdict: 'unchecked', reason: 'No validation report: no compliance pack ran at synth (call applyCompliancePacks(app)).' };
  const failed = reports.filter((r) => r.conclusion === 'failure').map((r) => r.pluginName);
  const total = counts.fatal + counts.error + counts.warning + counts.info;
  if (failed.length > 0) return { verdict: 'fail', reason: `${total} unacknowledged finding${total === 1 ? '' : 's'}; the gate failed in ${failed.join(', ')}.` };
  return { verdict: 'pass', reason: total === 0 ? 'Every compliance pack passed: no unacknowledged finding.' : `The gate passed; ${total} finding${total === 1 ? '' : 's'} below the failing level remain.` };
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
  const rules = new Map<string, { pack: string; rule: RuleEvidence }>();
  for (const pack of evidence?.packs ?? []) for (const rule of pack.rules) rules.set(rule.id, { pack: pack.name, rule });
  const pluginReports = input.validationReport?.pluginReports ?? [];
  const refused = new Set<string>();
  for (const r of pluginReports) {
    for (const v of r.violations ?? []) {
      if (normalizeSeverity(v.severity) !== 'fatal') continue;
      for (const c of v.violatingConstructs ?? []) refused.add(`${acknowledgedRuleId(v.ruleName)}\u0000${c.constructPath ?? ''}`);
    }
  }
  const ctx: Context = { input, evidence, index, byPath, rules, pluginReports, refused };

  const findings = buildFindings(ctx);
  const acknowledgements = buildAcknowledgements(ctx);
  const hipaaMatrix = buildMatrix(ctx, findings);
  notices.push(...crossCheck(ctx));
  const unmatched = acknowledgements.filter((a) => a.matched === false);
  if (unmatched.length > 0) {
    notices.push(`${unmatched.length} acknowledgement${unmatched.length === 1 ? '' : 's'} matched no finding in this synth (stale, or placed on the wrong construct): ${unmatched.slice(0, 5).map((a) => `${a.ruleId} on ${a.resource.path}`).join('; ')}.`);
  }

  // Counts.
  const violations = zeroCounts();
  for (const f of findings) violations[f.severity]++;
  const packNames = [...new Set([...(evidence?.packs ?? []).map((p) => p.name), ...pluginReports.map((r) => r.pluginName)])];
  const byPack: PackSummary[] = packNames.map((name) => {
    const report = pluginReports.find((r) => r.pluginName === name);
    const counts = zeroCounts();
    for (const f of findings) if (f.pack === name) counts[f.severity]++;
    const pack = evidence?.packs.find((p) => p.name === name);
    let acknowledged = 0;
    for (const sv of report?.suppressedViolations ?? []) acknowledged += Math.max(1, sv.violatingConstructs?.length ?? 0);
    let rulesApplied = 0;
    let compliant = 0;
    for (const rule of pack?.rules ?? []) {
      if (rule.evaluations.length > 0) rulesApplied++;
      for (const e of rule.evaluations) {
        if (e.result === 'compliant') compliant++;
        else if (e.acknowledged && !refused.has(`${rule.id}\u0000${e.acknowledged.at}`)) acknowledged++;
      }
    }
    // CDK leaves a plugin that passed with nothing suppressed out of the validation report.
    const conclusion: PackSummary['conclusion'] = report?.conclusion === 'failure' ? 'failure' : report || input.validationReport ? 'success' : 'not-reported';
    return { pack: name, conclusion, violations: counts, acknowledged, ...(pack ? { rules: pack.rules.length, rulesApplied, compliant } : {}) };
  });
  const controls = Object.fromEntries(CONTROL_STATUSES.map((s) => [s, hipaaMatrix.filter((m) => m.status === s).length])) as Record<ControlStatus, number>;
  const stacks = input.stacks.map(stackSummary);
  const { verdict, reason } = verdictOf(input, pluginReports, violations);

  // The gate judged expiry on the synth date; judging on another day could contradict it.
  const today = options.today ?? (evidence?.synthDate ? new Date(`${evidence.synthDate}T00:00:00Z`) : new Date());
  // The registry and label policy the app bundled into its FHIR proxy, unless files are given.
  const bundled = bundledPolicies(input);
  for (const [what, list] of [['app registries', bundled.registries], ['label policies', bundled.labelPolicies]] as const) {
    if (new Set(list.map((b) => JSON.stringify(b.document))).size > 1) {
      notices.push(`The app bundles ${list.length} different ${what} (${list.map((b) => b.at).join(', ')}); section 5 shows the one in ${list[0].at}.`);
    }
  }
  const registry: DocumentSource | undefined = options.registryFile !== undefined ? { file: options.registryFile } : bundled.registries[0] && { bundled: bundled.registries[0] };
  const labelPolicyFile = options.labelPolicyFile ?? (options.registryFile ? path.join(path.dirname(options.registryFile), 'labels.json') : undefined);
  const labelPolicy: DocumentSource | undefined = labelPolicyFile !== undefined ? { file: labelPolicyFile } : bundled.labelPolicies[0] && { bundled: bundled.labelPolicies[0] };
  return {
    schemaVersion: COMPLIANCE_REPORT_SCHEMA_VERSION,
    title: 'Compliance report: zero-trust SMART on FHIR',
    generatedAt: (options.generatedAt ?? new Date()).toISOString(),
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
      environments: [...new Set(stacks.map((s) => s.deploymentEnvironment).filter((e): e is string => e !== undefined))],
      counts: { violations, acknowledged: byPack.reduce((n, p) => n + p.acknowledged, 0), byPack, controls },
    },
    hipaaMatrix,
    findings,
    acknowledgements,
    apps: buildAppsSection({
      registry,
      labelPolicy,
      today,
      appClientsInApp: index.ofType('AWS::Cognito::UserPoolClient').length,
      displayName,
    }),
    dataFlow: buildDataFlow(index),
    inventory: buildInventory(input, index),
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
