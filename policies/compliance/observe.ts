/**
 * What each rule of a nag pack decided on each resource, as the pack itself decided it.
 *
 * cdk-nag reports violations only. The gate needs more: the `FHIR.HIPAA` pack's
 * `ResourceEvaluated` rule asks which rules evaluated a resource at all, and the reviewer's
 * evidence (`lib/report/evidence.ts`) records what passed and what was acknowledged. Both read
 * the same observation: {@link observePack} wraps a pack's own `validateScope` and `applyRule`
 * so that every rule × `CfnResource` result is recorded while the pack runs. The pack's results
 * are unchanged: each rule is called once, by the pack's own `applyRule`, and what it returns or
 * throws is passed on.
 */
import { CfnResource, PolicyValidationPluginReport } from 'aws-cdk-lib';
import { IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { extractControlIds } from './citations';
import { acknowledgementMatches, acknowledgementsRecordedOn } from './rule-ids';

export type EvaluationResult = 'compliant' | 'non-compliant' | 'error';
export type RuleLevel = 'error' | 'warning' | 'info';

/** An acknowledgement that applied to one evaluation (found on the resource or an ancestor). */
export interface AppliedAcknowledgement {
  /** The acknowledged id as the pack reports it, namespace removed (`HIPAA.Security-X`, `AwsSolutions-IAM5[Resource::*]`). */
  readonly id: string;
  readonly reason: string;
  /** Construct path the acknowledgement is recorded on. */
  readonly at: string;
}

/** One rule's result on one resource. Not-applicable results are only counted. */
export interface RuleEvaluation {
  /** Construct path of the `CfnResource`. */
  readonly resource: string;
  readonly result: EvaluationResult;
  /** Granular finding (`Resource::*`) of a rule that reports findings; the violation id is `<rule>[<finding>]`. */
  readonly finding?: string;
  /** Present when a non-compliant result is acknowledged. */
  readonly acknowledged?: AppliedAcknowledgement;
  /** Why the rule could not decide (it threw). */
  readonly error?: string;
}

/** One rule of a pack and everything it evaluated in one run. */
export interface ObservedRule {
  /** `<pack>-<RuleName>`, e.g. `FHIR.HIPAA-LogGroupRetention`. */
  readonly id: string;
  readonly level: RuleLevel;
  /** The finding's message (for HIPAA rules ending with `(Control IDs: …)`). */
  readonly info: string;
  readonly explanation: string;
  /** 45 CFR citations parsed from `info`; empty for packs that cite none. */
  readonly citations: string[];
  /** Resources for which the rule returned NOT_APPLICABLE. */
  notApplicable: number;
  /** Every applicable result, in tree order. */
  readonly evaluations: RuleEvaluation[];
}

/** One `validateScope` of one pack, as observed. */
export interface PackRun {
  readonly root: IConstruct;
  readonly name: string;
  readonly rules: Map<string, ObservedRule>;
  /** `${at}\u0000${key}` of an acknowledgement → the resources whose finding it suppressed. */
  readonly suppressedBy: Map<string, Set<string>>;
  /** Violations reported (one per resource), counted before CDK moves acknowledged ones out. */
  violations: number;
  error?: string;
}

interface RuleObserver {
  /** The rule function of the current call. */
  check: (node: CfnResource) => NagRuleResult;
  /** Calls `check` and records its result; passes the result (or the error) on unchanged. */
  readonly observed: (node: CfnResource) => NagRuleResult;
}

interface Observation {
  /** The run in progress, with the wrapper each rule's calls go through (by rule suffix). */
  current?: { run: PackRun; observers: Map<string, RuleObserver> };
  /** The last finished run. */
  last?: PackRun;
  /** Restores the pack's own methods. */
  remove(): void;
}

const OBSERVATIONS = new WeakMap<NagPack, Observation>();

/** True when `pack` is observed. */
export function isObserved(pack: NagPack): boolean {
  return OBSERVATIONS.has(pack);
}

/**
 * Observes `pack` (once; calling it again is harmless): every `validateScope` (which `validate`
 * calls) records each rule's result per resource.
 */
export function observePack(pack: NagPack): void {
  if (OBSERVATIONS.has(pack)) return;
  const target = pack as unknown as { applyRule(params: IApplyRule): void; validateScope(scope: IConstruct): PolicyValidationPluginReport };
  const originalApplyRule = target.applyRule;
  const originalValidateScope = target.validateScope;
  const observation: Observation = {
    remove: () => {
      // Remove the own properties: the prototype's methods are used again.
      delete (target as Partial<typeof target>).applyRule;
      delete (target as Partial<typeof target>).validateScope;
      OBSERVATIONS.delete(pack);
    },
  };
  target.validateScope = function observedValidateScope(this: NagPack, scope: IConstruct): PolicyValidationPluginReport {
    const run: PackRun = { root: scope, name: pack.readPackName || pack.name, rules: new Map(), suppressedBy: new Map(), violations: 0 };
    const outer = observation.current;
    observation.current = { run, observers: new Map() };
    try {
      const report = originalValidateScope.call(this, scope);
      run.violations = report.violations.reduce((n, v) => n + v.violatingResources.length, 0);
      return report;
    } catch (err) {
      run.error = String((err as Error)?.message ?? err);
      throw err;
    } finally {
      observation.current = outer;
      observation.last = run;
    }
  };
  target.applyRule = function observedApplyRule(this: NagPack, params: IApplyRule): void {
    const current = observation.current;
    if (!current) return originalApplyRule.call(this, params);
    const suffix = params.ruleSuffixOverride ? params.ruleSuffixOverride : params.rule.name;
    let observer = current.observers.get(suffix);
    if (!observer) {
      const ruleId = `${current.run.name}-${suffix}`;
      const rule: ObservedRule = { id: ruleId, level: levelOf(params.level), info: params.info, explanation: params.explanation, citations: extractControlIds(params.info), notApplicable: 0, evaluations: [] };
      current.run.rules.set(ruleId, rule);
      observer = ruleObserver(current.run, rule);
      current.observers.set(suffix, observer);
    }
    // Built once per rule (not per call): this runs for every rule × resource of the gate.
    observer.check = params.rule;
    originalApplyRule.call(this, { ruleSuffixOverride: suffix, info: params.info, explanation: params.explanation, level: params.level, node: params.node, rule: observer.observed });
  };
  OBSERVATIONS.set(pack, observation);
}

/** Stops observing `pack` (its own methods are used again). */
export function unobservePack(pack: NagPack): void {
  OBSERVATIONS.get(pack)?.remove();
}

/** The pack's last observed run over `root`, if it has run on exactly that root. */
export function lastRun(pack: NagPack, root: IConstruct): PackRun | undefined {
  const last = OBSERVATIONS.get(pack)?.last;
  return last && last.root === root ? last : undefined;
}

/** Runs an observed pack over `root` (a failure is recorded in the run, not thrown). */
export function runObserved(pack: NagPack, root: IConstruct): PackRun {
  observePack(pack);
  try {
    pack.validateScope(root);
  } catch {
    // Recorded in the run.
  }
  return OBSERVATIONS.get(pack)!.last!;
}

/** The run of `pack` over `root`: its last one, else a new observed run. */
export function runOf(pack: NagPack, root: IConstruct): PackRun {
  return lastRun(pack, root) ?? runObserved(pack, root);
}

/** Construct path → the ids of the rules of `runs` that evaluated it (any result but not-applicable). */
export function evaluatedRules(runs: readonly PackRun[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const run of runs) {
    for (const rule of run.rules.values()) {
      for (const e of rule.evaluations) {
        let set = out.get(e.resource);
        if (!set) out.set(e.resource, (set = new Set()));
        set.add(rule.id);
      }
    }
  }
  return out;
}

function levelOf(level: NagMessageLevel): RuleLevel {
  return level === NagMessageLevel.ERROR ? 'error' : level === NagMessageLevel.WARN ? 'warning' : 'info';
}

/**
 * The acknowledgement that suppresses `ruleId` of the pack `pack` on `resource`, the way the gate
 * decides it (`acknowledgementMatches`): the resource or the nearest ancestor carrying that exact
 * id, bare (`Annotation::`, cleared by cdk-nag) or under the pack's namespace (cleared by CDK).
 */
export function acknowledgementFor(resource: IConstruct, ruleId: string, pack: string): { key: string; id: string; reason: string; at: string } | undefined {
  for (let c: IConstruct | undefined = resource; c; c = c.node.scope) {
    for (const { key, reason } of acknowledgementsRecordedOn(c)) {
      if (acknowledgementMatches(key, ruleId, pack)) return { key, id: ruleId, reason: typeof reason === 'string' ? reason : '', at: c.node.path };
    }
  }
  return undefined;
}

function ruleObserver(run: PackRun, rule: ObservedRule): RuleObserver {
  const record = (node: CfnResource, result: EvaluationResult, findingId: string, extra: { finding?: string; error?: string }): void => {
    const ack = result === 'compliant' ? undefined : acknowledgementFor(node, findingId, run.name);
    if (ack) {
      const k = `${ack.at}\u0000${ack.key}`;
      if (!run.suppressedBy.has(k)) run.suppressedBy.set(k, new Set());
      run.suppressedBy.get(k)!.add(node.node.path);
    }
    rule.evaluations.push({
      resource: node.node.path,
      result,
      ...extra,
      ...(ack ? { acknowledged: { id: ack.id, reason: ack.reason, at: ack.at } } : {}),
    });
  };
  const observer: RuleObserver = {
    check: () => NagRuleCompliance.NOT_APPLICABLE,
    observed: (node: CfnResource): NagRuleResult => {
      let result: NagRuleResult;
      try {
        result = observer.check(node);
      } catch (err) {
        record(node, 'error', rule.id, { error: String((err as Error)?.message ?? err) });
        throw err;
      }
      if (result === NagRuleCompliance.NOT_APPLICABLE) rule.notApplicable++;
      else if (result === NagRuleCompliance.COMPLIANT) record(node, 'compliant', rule.id, {});
      else if (result === NagRuleCompliance.NON_COMPLIANT) record(node, 'non-compliant', rule.id, {});
      else if (Array.isArray(result)) {
        if (result.length === 0) record(node, 'compliant', rule.id, {});
        for (const finding of result) record(node, 'non-compliant', `${rule.id}[${finding}]`, { finding: String(finding) });
      } else rule.notApplicable++; // UNKNOWN and anything else: nothing decided
      return result;
    },
  };
  return observer;
}
