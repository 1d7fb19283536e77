/**
 * Section 2, the HIPAA Security Rule matrix, from the reconciled outcomes: for each citation of
 * the catalogue (and any other a rule cites), the rules that cite it and what they found.
 *
 * A citation whose rules all passed is `met` when it is a technical safeguard (164.312), and
 * `technical-evidence` when configuration can show only part of it: the administrative safeguards
 * of 164.308, 164.314 and 164.316 are policies, procedures, people and contracts (log-in
 * monitoring, business associate contracts), which no rule over templates can establish.
 */
import { citationTitle, HIPAA_CITATION_IDS, isHipaaCitation } from '../../policies/compliance/citations';
import { FHIR_HIPAA_RULES, fhirHipaaRuleId } from '../../policies/compliance/fhir-hipaa-checks';
import { cmp } from './cfn';
import { ControlStatus, Finding, MatrixRow, MatrixRule } from './model';
import { OutcomeModel } from './outcomes';

export const STATUS_RANK: Record<ControlStatus, number> = { violated: 0, acknowledged: 1, met: 2, 'technical-evidence': 3, 'not-evaluated': 4, unknown: 5, 'not-covered': 6 };

function worst(statuses: ControlStatus[], empty: ControlStatus): ControlStatus {
  return statuses.length === 0 ? empty : statuses.reduce((a, b) => (STATUS_RANK[b] < STATUS_RANK[a] ? b : a));
}

/** True for a safeguard configuration can evidence only in part (administrative, organizational, documentation). */
export function isPartlyTechnical(citation: string): boolean {
  return /^164\.(308|314|316)\(/.test(citation);
}

export function buildMatrix(model: OutcomeModel, findings: readonly Finding[], withEvidence: boolean): MatrixRow[] {
  const citations = new Set<string>(HIPAA_CITATION_IDS);
  for (const { rule } of model.rules.values()) for (const c of rule.citations) citations.add(c);
  for (const f of findings) for (const c of f.citations) if (/^164\./.test(c)) citations.add(c);
  const ordered = [...HIPAA_CITATION_IDS, ...[...citations].filter((c) => !isHipaaCitation(c)).sort()];

  // Outcomes by base rule id.
  const byRule = new Map<string, typeof model.outcomes>();
  for (const o of model.outcomes) {
    if (!byRule.has(o.rule)) byRule.set(o.rule, []);
    byRule.get(o.rule)!.push(o);
  }

  return ordered.map((citation) => {
    const rules: MatrixRule[] = [];
    if (withEvidence) {
      for (const { pack, rule } of model.rules.values()) {
        if (!rule.citations.includes(citation)) continue;
        rules.push(matrixRule(rule.id, pack, rule.level, byRule.get(rule.id) ?? [], rule.notApplicable));
      }
    } else {
      // No evidence: only the violations are known.
      const violatedRules = new Map<string, Finding[]>();
      for (const f of findings) {
        if (f.severity === 'fatal' || !f.citations.includes(citation)) continue;
        const id = baseOf(f.ruleId);
        violatedRules.set(id, [...(violatedRules.get(id) ?? []), f]);
      }
      for (const [ruleId, list] of violatedRules) {
        rules.push({ ruleId, pack: list[0].pack, level: list[0].severity, status: 'violated', met: [], acknowledged: [], violated: list.map((f) => f.resource.path), notApplicable: 0 });
      }
      for (const rule of FHIR_HIPAA_RULES) {
        const id = fhirHipaaRuleId(rule);
        if (rule.citations.includes(citation as never) && !violatedRules.has(id)) {
          rules.push({ ruleId: id, pack: 'FHIR.HIPAA', level: rule.level === 'Error' ? 'error' : 'warning', status: 'unknown', met: [], acknowledged: [], violated: [], notApplicable: 0 });
        }
      }
    }
    let status = worst(rules.map((r) => r.status), withEvidence ? 'not-covered' : 'unknown');
    if (status === 'met' && isPartlyTechnical(citation)) status = 'technical-evidence';
    return {
      citation,
      title: isHipaaCitation(citation) ? citationTitle(citation) : '(not in policies/compliance/citations.ts)',
      inCatalogue: isHipaaCitation(citation),
      status,
      rules: rules.sort((a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status] || cmp(a.ruleId, b.ruleId)),
    };
  });
}

function baseOf(ruleId: string): string {
  const i = ruleId.indexOf('[');
  return i < 0 ? ruleId : ruleId.slice(0, i);
}

function matrixRule(ruleId: string, pack: string, level: string, outcomes: readonly OutcomeModel['outcomes'][number][], notApplicable: number): MatrixRule {
  const met: string[] = [];
  const violated: string[] = [];
  const acknowledged: MatrixRule['acknowledged'] = [];
  for (const o of outcomes) {
    if (o.status === 'compliant') met.push(o.resource);
    else if (o.status === 'acknowledged' && o.acknowledgement) {
      acknowledged.push({ resource: o.resource, id: o.ruleId, reason: o.acknowledgement.reason, acknowledgedAt: o.acknowledgement.at });
    } else violated.push(o.ruleId !== ruleId ? `${o.resource} [${o.ruleId.slice(ruleId.length + 1, -1)}]` : o.resource);
  }
  const status: ControlStatus = violated.length > 0 ? 'violated' : acknowledged.length > 0 ? 'acknowledged' : met.length > 0 ? 'met' : 'not-evaluated';
  return { ruleId, pack, level, status, met: [...new Set(met)], acknowledged, violated, notApplicable };
}
