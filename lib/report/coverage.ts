/**
 * Section 5, every resource accounted for: each resource of every stack is evaluated by some
 * rule (the evidence says which) or listed, with its construct path and type, as evaluated by
 * none. Resources of a type that can carry PHI or run code that the gate's baseline rules did not
 * evaluate are the `FHIR.HIPAA-ResourceEvaluated` outcomes, shown with how each stands.
 */
import { COVERED_RESOURCE_TYPES } from '../../policies/compliance/coverage';
import { CloudAssemblyInput } from './cloud-assembly';
import { cmp } from './cfn';
import { ComplianceEvidence } from './evidence';
import { refOf } from './inventory';
import { Coverage, ResourceRef } from './model';
import { OutcomeModel } from './outcomes';

export const RESOURCE_EVALUATED_RULE = 'FHIR.HIPAA-ResourceEvaluated';

export function buildCoverage(input: CloudAssemblyInput, evidence: ComplianceEvidence | undefined, model: OutcomeModel): Coverage {
  const resources = input.resources;
  if (!evidence) {
    return { known: false, resources: resources.length, evaluated: 0, evaluatedByNone: [], byType: [], baselineGaps: [] };
  }
  const evaluated = new Set<string>();
  for (const o of model.outcomes) {
    if (o.rule !== RESOURCE_EVALUATED_RULE) evaluated.add(o.resource);
  }
  const refs: ResourceRef[] = resources.map(refOf);
  const byNone = refs.filter((r) => !evaluated.has(r.path));
  const types = new Map<string, { resources: number; evaluated: number }>();
  for (const r of refs) {
    const t = types.get(r.type ?? '?') ?? { resources: 0, evaluated: 0 };
    t.resources++;
    if (evaluated.has(r.path)) t.evaluated++;
    types.set(r.type ?? '?', t);
  }
  const byPath = new Map(refs.map((r) => [r.path, r]));
  const baselineGaps = model.outcomes
    .filter((o) => o.rule === RESOURCE_EVALUATED_RULE && o.status !== 'compliant')
    .map((o) => ({
      resource: byPath.get(o.resource) ?? { path: o.resource },
      status: o.status === 'acknowledged' ? 'acknowledged' as const : 'violated' as const,
      ...(o.acknowledgement && o.status === 'acknowledged' ? { reason: o.acknowledgement.reason } : {}),
      ...(o.message ? { detail: o.message } : {}),
    }))
    .sort((a, b) => cmp(a.resource.path, b.resource.path));
  return {
    known: true,
    resources: refs.length,
    evaluated: refs.length - byNone.length,
    evaluatedByNone: byNone.sort((a, b) => cmp(a.type ?? '', b.type ?? '') || cmp(a.path, b.path)),
    byType: [...types.entries()]
      .map(([type, t]) => ({ type, ...t, canHoldPhiOrRunCode: COVERED_RESOURCE_TYPES.includes(type) }))
      .sort((a, b) => Number(b.canHoldPhiOrRunCode) - Number(a.canHoldPhiOrRunCode) || cmp(a.type, b.type)),
    baselineGaps,
  };
}
