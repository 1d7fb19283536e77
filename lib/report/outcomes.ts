/**
 * The one reconciliation of the report's two sources of rule results, from which every section
 * and count is derived:
 *
 * - the compliance evidence (`compliance-evidence.json`): what each rule of the observed packs
 *   decided on each resource, acknowledgements included;
 * - CDK's validation report (`validation-report.json`): what the gate reported (violations,
 *   acknowledged violations, `fatal` refusals), for every plugin, the ones without evidence too.
 *
 * Each rule × resource becomes one {@link Outcome}: `compliant`, `acknowledged` or `violated`.
 * Where the sources disagree the worse result wins (a violation in either is a violation) and a
 * notice says so; an acknowledgement the gate refused (no reason, or non-waivable in production)
 * never acknowledges anything. Acknowledgement ids are read by `policies/compliance/rule-ids.ts` only, the
 * same code the gate uses.
 */
import { Validations } from 'aws-cdk-lib';
import { extractControlIds } from '../../policies/compliance/citations';
import { GUARD_REGISTRY_NAMESPACE, DERIVED_ACKNOWLEDGEMENT_METADATA_KEY } from '../../policies/compliance/shared-acknowledgements';
import { acknowledgementMatches, baseRuleId, isAnnotationNamespace, normalizeRuleId, parseRuleId, pluginNamespace } from '../../policies/compliance/rule-ids';
import { CloudAssemblyInput, metadataOfType, PluginReportJson, ViolationJson } from './cloud-assembly';
import { cmp } from './cfn';
import { ComplianceEvidence, RuleEvidence } from './evidence';
import { AcknowledgementRow, AcknowledgementStatus, normalizeSeverity, Severity } from './model';

/** A recorded acknowledgement: the metadata key, its reason, the construct it is on. */
export interface RecordedAcknowledgement {
  readonly key: string;
  readonly reason: string;
  readonly at: string;
}

/** One rule's result on one resource, reconciled. */
export interface Outcome {
  readonly pack: string;
  /** The rule id as the pack reports it (granular `Rule[finding]` where it reports findings). */
  readonly ruleId: string;
  /** The rule without its finding. */
  readonly rule: string;
  /** Construct path of the resource. */
  readonly resource: string;
  status: 'compliant' | 'acknowledged' | 'violated';
  /** For a violation: from the validation report, else the rule's level. */
  severity: Severity;
  /** The acknowledgement that covers it (when `acknowledged`), or that the gate refused (then `violated`). */
  acknowledgement?: RecordedAcknowledgement;
  /** Why the gate refused the acknowledgement. */
  refusal?: string;
  /** The violation's message in the validation report. */
  message?: string;
  suggestedFix?: string;
  controlId?: string;
  /** The evidence shows it violated; the validation report does not. */
  onlyInEvidence?: boolean;
}

/** A `fatal` violation: the gate refused an acknowledgement. */
export interface Refusal {
  readonly pack: string;
  readonly ruleName: string;
  /** The construct the refused acknowledgement is on. */
  readonly at: string;
  readonly description: string;
}

/** The reconciled results. */
export interface OutcomeModel {
  readonly outcomes: Outcome[];
  readonly refusals: Refusal[];
  readonly acknowledgements: AcknowledgementRow[];
  /** Rules by id (`<pack>-<Rule>`, base id), with their pack, from the evidence. */
  readonly rules: ReadonlyMap<string, { readonly pack: string; readonly rule: RuleEvidence }>;
  /** Packs whose every result is in the evidence. */
  readonly packsWithEvidence: ReadonlySet<string>;
  readonly notices: string[];
}

const outcomeKey = (pack: string, ruleId: string, resource: string): string => `${pack}\u0000${ruleId}\u0000${resource}`;

function levelSeverity(level: string | undefined): Severity {
  return level === 'warning' ? 'warning' : level === 'info' ? 'info' : 'error';
}

/** Every acknowledgement in the construct metadata (per stack) and in the evidence (the whole tree). */
export function recordedAcknowledgements(input: CloudAssemblyInput, evidence: ComplianceEvidence | undefined): RecordedAcknowledgement[] {
  const seen = new Map<string, RecordedAcknowledgement>();
  for (const { at: p, data } of metadataOfType(input, Validations.ACKNOWLEDGED_RULES_METADATA_KEY)) {
    if (!data || typeof data !== 'object') continue;
    for (const [key, reason] of Object.entries(data as Record<string, unknown>)) {
      seen.set(`${p}\u0000${key}`, { key, reason: typeof reason === 'string' ? reason : '', at: p });
    }
  }
  for (const a of evidence?.acknowledgements ?? []) {
    if (!seen.has(`${a.at}\u0000${a.key}`)) seen.set(`${a.at}\u0000${a.key}`, { key: a.key, reason: typeof a.reason === 'string' ? a.reason : '', at: a.at });
  }
  return [...seen.values()];
}

/** The gate's derived acknowledgements, by `${at}\u0000${key}` (construct metadata, and the evidence for those recorded while validating). */
function derivedMarks(input: CloudAssemblyInput, evidence: ComplianceEvidence | undefined): Map<string, AcknowledgementRow['derived']> {
  const out = new Map<string, AcknowledgementRow['derived']>();
  for (const a of evidence?.acknowledgements ?? []) if (a.derived) out.set(`${a.at}\u0000${a.key}`, a.derived);
  for (const { at: p, data } of metadataOfType(input, DERIVED_ACKNOWLEDGEMENT_METADATA_KEY)) {
    if (!data || typeof data !== 'object') continue;
    const d = data as { id?: unknown; from?: { rule?: unknown; at?: unknown }; limitation?: unknown };
    if (typeof d.id !== 'string') continue;
    out.set(`${p}\u0000${d.id}`, {
      ...(d.from && typeof d.from.rule === 'string' && typeof d.from.at === 'string' ? { from: { rule: d.from.rule, at: d.from.at } } : {}),
      ...(typeof d.limitation === 'string' ? { limitation: d.limitation } : {}),
    });
  }
  return out;
}

/** The plugin a namespace names (CDK writes a plugin's name with spaces as dashes). */
function pluginOfNamespace(namespace: string, known: readonly string[]): string {
  return known.find((name) => pluginNamespace(name) === namespace) ?? namespace.replace(/-/g, ' ');
}

/** Builds the reconciled outcomes (see the module comment). */
export function reconcile(input: CloudAssemblyInput, evidence: ComplianceEvidence | undefined): OutcomeModel {
  const notices: string[] = [];
  const reports: PluginReportJson[] = input.validationReport?.pluginReports ?? [];
  const pluginNames = [...new Set([...(evidence?.packs ?? []).map((p) => p.name), ...reports.map((r) => r.pluginName)])];
  const rules = new Map<string, { pack: string; rule: RuleEvidence }>();
  for (const pack of evidence?.packs ?? []) for (const rule of pack.rules) rules.set(rule.id, { pack: pack.name, rule });
  const packsWithEvidence = new Set((evidence?.packs ?? []).filter((p) => !p.error).map((p) => p.name));
  const records = recordedAcknowledgements(input, evidence);
  const recordFor = (pack: string, ruleId: string, at: string, hint?: string): RecordedAcknowledgement | undefined => {
    const candidates = records.filter((r) => r.at === at && acknowledgementMatches(r.key, ruleId, pack));
    return candidates.find((r) => r.key === hint) ?? candidates[0];
  };

  // Refusals: the gate's fatal findings, one per refused acknowledgement.
  const refusals: Refusal[] = [];
  for (const report of reports) {
    for (const v of report.violations ?? []) {
      if (normalizeSeverity(v.severity) !== 'fatal') continue;
      for (const c of v.violatingConstructs ?? []) refusals.push({ pack: report.pluginName, ruleName: v.ruleName, at: c.constructPath ?? '', description: v.description ?? '' });
    }
  }
  const refusalOf = (record: RecordedAcknowledgement): string | undefined => {
    if (record.reason.trim() === '') return 'No reason is given: the gate does not accept an acknowledgement without one.';
    const id = normalizeRuleId(record.key);
    const hit = refusals.find((r) => r.at === record.at && (normalizeRuleId(r.ruleName) === id || baseRuleId(r.ruleName) === baseRuleId(id)));
    return hit ? hit.description : undefined;
  };

  // 1. The evidence: every evaluated rule × resource.
  const outcomes = new Map<string, Outcome>();
  for (const pack of evidence?.packs ?? []) {
    for (const rule of pack.rules) {
      for (const e of rule.evaluations) {
        const ruleId = e.finding ? `${rule.id}[${e.finding}]` : rule.id;
        const key = outcomeKey(pack.name, ruleId, e.resource);
        if (e.result === 'compliant') {
          if (!outcomes.has(key)) outcomes.set(key, { pack: pack.name, ruleId, rule: rule.id, resource: e.resource, status: 'compliant', severity: levelSeverity(rule.level) });
          continue;
        }
        const outcome: Outcome = { pack: pack.name, ruleId, rule: rule.id, resource: e.resource, status: 'violated', severity: levelSeverity(rule.level) };
        if (e.acknowledged) {
          const record = recordFor(pack.name, ruleId, e.acknowledged.at) ?? { key: e.acknowledged.id, reason: e.acknowledged.reason, at: e.acknowledged.at };
          outcome.acknowledgement = record;
          const refusal = refusalOf(record);
          if (refusal) outcome.refusal = refusal;
          else outcome.status = 'acknowledged';
        }
        outcomes.set(key, outcome);
      }
    }
  }

  // 2. The validation report: what the gate reported, for every plugin.
  const disagreements: string[] = [];
  const reported = new Set<string>();
  for (const report of reports) {
    const pack = report.pluginName;
    for (const v of report.violations ?? []) {
      const severity = normalizeSeverity(v.severity);
      if (severity === 'fatal') continue;
      for (const c of targets(v)) {
        const key = outcomeKey(pack, v.ruleName, c);
        reported.add(key);
        const existing = outcomes.get(key);
        const details = { message: v.description, suggestedFix: v.suggestedFix, controlId: v.ruleMetadata?.ControlId };
        if (existing) {
          if (existing.status !== 'violated') disagreements.push(`${v.ruleName} @ ${c}: the gate reported it, the evidence shows it ${existing.status}`);
          Object.assign(existing, { status: 'violated', severity, ...clean(details) });
        } else {
          outcomes.set(key, { pack, ruleId: v.ruleName, rule: baseRuleId(v.ruleName), resource: c, status: 'violated', severity, ...clean(details) });
        }
      }
    }
    for (const sv of report.suppressedViolations ?? []) {
      for (const c of targets(sv)) {
        const key = outcomeKey(pack, sv.ruleName, c);
        const existing = outcomes.get(key);
        const record = records.find((r) => r.at === sv.acknowledgedAt && r.key === sv.acknowledgedId)
          ?? { key: sv.acknowledgedId ?? sv.ruleName, reason: sv.reason ?? '', at: sv.acknowledgedAt ?? '' };
        const refusal = refusalOf(record);
        const details = { message: sv.description, suggestedFix: sv.suggestedFix, controlId: sv.ruleMetadata?.ControlId };
        if (existing && existing.status === 'violated' && !existing.refusal && !refusal) {
          // CDK cleared what the evidence saw unacknowledged: the gate's own decision, shown as such.
          Object.assign(existing, { status: 'acknowledged', acknowledgement: record, ...clean(details) });
        } else if (!existing) {
          outcomes.set(key, {
            pack, ruleId: sv.ruleName, rule: baseRuleId(sv.ruleName), resource: c, status: refusal ? 'violated' : 'acknowledged',
            severity: normalizeSeverity(sv.severity), acknowledgement: record, ...(refusal ? { refusal } : {}), ...clean(details),
          });
        }
      }
    }
  }
  // What only the evidence shows: the gate passed a resource its own pack found violated.
  for (const [key, o] of outcomes) {
    if (o.status !== 'violated' || o.refusal || reported.has(key) || !packsWithEvidence.has(o.pack)) continue;
    o.onlyInEvidence = true;
    disagreements.push(`${o.ruleId} @ ${o.resource}: the evidence shows it violated, the validation report does not`);
  }
  if (disagreements.length > 0) {
    notices.push(`The evidence and the validation report disagree on ${disagreements.length} result${disagreements.length === 1 ? '' : 's'}; the report counts each as violated (${disagreements.slice(0, 5).join('; ')}${disagreements.length > 5 ? '; …' : ''}).`);
  }

  // 3. Each recorded acknowledgement and what became of it.
  const derived = derivedMarks(input, evidence);
  const all = [...outcomes.values()];
  const acknowledgements: AcknowledgementRow[] = records.map((record) => {
    const parsed = parseRuleId(record.key);
    const id = parsed.ruleName;
    const pack = packOf(id, parsed.namespace, pluginNames, rules);
    const covers = all.filter((o) => o.status === 'acknowledged' && o.acknowledgement?.at === record.at && o.acknowledgement.key === record.key).map((o) => o.resource);
    const refusal = refusalOf(record);
    let status: AcknowledgementStatus;
    if (refusal) status = 'refused';
    else if (covers.length > 0) status = 'in-use';
    else if (parsed.namespace === GUARD_REGISTRY_NAMESPACE) status = 'outside';
    else if (packsWithEvidence.has(pack)) status = 'unused';
    else status = 'not-checked';
    const rule = rules.get(parsed.rule)?.rule;
    const mark = derived.get(`${record.at}\u0000${record.key}`);
    return {
      pack,
      ruleId: id,
      key: record.key,
      resource: { path: record.at },
      reason: record.reason,
      status,
      appliesTo: [...new Set(covers)],
      covers: covers.length,
      ...(status === 'in-use' ? { matched: true } : status === 'unused' ? { matched: false } : {}),
      refused: refusal !== undefined,
      ...(refusal ? { refusal } : {}),
      ...(mark ? { derived: mark } : {}),
      ...(rule ? { rule: { message: rule.info, explanation: rule.explanation, level: rule.level, citations: rule.citations } } : {}),
    };
  }).sort((a, b) => cmp(a.pack, b.pack) || cmp(a.ruleId, b.ruleId) || cmp(a.resource.path, b.resource.path));

  return { outcomes: all, refusals, acknowledgements, rules, packsWithEvidence, notices };
}

function targets(v: ViolationJson): string[] {
  const list = (v.violatingConstructs ?? []).map((c) => c.constructPath ?? '');
  return list.length > 0 ? list : [''];
}

function clean<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}

/** The pack an acknowledged id belongs to: its nag prefix, its namespace's plugin, else `unknown`. */
function packOf(id: string, namespace: string | undefined, plugins: readonly string[], rules: ReadonlyMap<string, { pack: string }>): string {
  const known = rules.get(baseRuleId(id));
  if (known) return known.pack;
  const byPrefix = plugins.find((p) => id.startsWith(`${p}-`)) ?? ['FHIR.HIPAA', 'HIPAA.Security', 'AwsSolutions'].find((p) => id.startsWith(`${p}-`));
  if (byPrefix) return byPrefix;
  if (namespace === undefined || isAnnotationNamespace(namespace)) return 'unknown';
  return pluginOfNamespace(namespace, plugins);
}

/** The citations of a violation: from its message (`(Control IDs: …)`), else its rule's. */
export function citationsOf(message: string | undefined, rule: RuleEvidence | undefined): string[] {
  const fromMessage = extractControlIds(message ?? '');
  return fromMessage.length > 0 ? fromMessage : rule?.citations ?? [];
}
