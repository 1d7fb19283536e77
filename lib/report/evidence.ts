/**
 * Compliance evidence: what every rule of the compliance packs evaluated at synth time, and with
 * what result. The validation report CDK writes lists only violations; the reviewer's report also
 * needs what passed, what was acknowledged (and why) and which rules found nothing to check.
 *
 * {@link recordComplianceEvidence} registers {@link ComplianceEvidencePlugin} on an app and
 * observes the gate's own pack instances (those `applyCompliancePacks` registered): each rule ×
 * `CfnResource` result is recorded while the gate evaluates it, so the packs run once per synth.
 * The plugin, which runs after them, writes `compliance-evidence.json` next to `manifest.json`
 * (a pack that has not run on the tree by then is run by the plugin). It never reports a
 * violation itself (the packs remain the gate) and never throws: a failure is written into the file.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  App,
  CfnResource,
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
  Stack,
  Stage,
  Validations,
} from 'aws-cdk-lib';
import { IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { compliancePacksOf, createCompliancePacks } from '../../policies';
import { extractControlIds } from '../../policies/citations';
import { acknowledgementMatches, normalizeRuleId } from '../../policies/rule-ids';
import { logicalIdOf } from '../../policies/rules/common/cfn';
import { synthDate } from '../../policies/registered-apps';

/** File name of the evidence in the cloud assembly directory. */
export const COMPLIANCE_EVIDENCE_FILE = 'compliance-evidence.json';

/** Version of the evidence file format. */
export const COMPLIANCE_EVIDENCE_SCHEMA_VERSION = 1;

export type EvaluationResult = 'compliant' | 'non-compliant' | 'error';
export type RuleLevel = 'error' | 'warning' | 'info';

/** An acknowledgement that applied to one evaluation (found on the resource or an ancestor). */
export interface AppliedAcknowledgement {
  /** The acknowledged id as recorded, namespace removed (`HIPAA.Security-X`, `AwsSolutions-IAM5[Resource::*]`). */
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

/** One rule of a pack and everything it evaluated. */
export interface RuleEvidence {
  /** `<pack>-<RuleName>`, e.g. `FHIR.HIPAA-LogGroupRetention`. */
  readonly id: string;
  readonly level: RuleLevel;
  /** The finding's message (for HIPAA rules ending with `(Control IDs: …)`). */
  readonly info: string;
  readonly explanation: string;
  /** 45 CFR citations parsed from `info`; empty for packs that cite none. */
  readonly citations: string[];
  /** Resources for which the rule returned NOT_APPLICABLE. */
  readonly notApplicable: number;
  /** Every applicable result, in tree order. */
  readonly evaluations: RuleEvaluation[];
}

export interface PackEvidence {
  readonly name: string;
  readonly rules: RuleEvidence[];
  /** Violations the pack reported in the evidence run (should equal the gate's). */
  readonly violations: number;
  /** Present when running the pack failed. */
  readonly error?: string;
}

/** A `CfnResource` of the construct tree. */
export interface ResourceEvidence {
  readonly path: string;
  /** Artifact id of the stack whose template holds it. */
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
}

/** An acknowledgement recorded anywhere in the tree, and which evaluations it suppressed. */
export interface AcknowledgementEvidence {
  /** The metadata key as recorded, e.g. `Annotation::HIPAA.Security-S3BucketReplicationEnabled`. */
  readonly key: string;
  /** `key` without the namespace. */
  readonly id: string;
  readonly reason: string;
  /** Construct path it is recorded on. */
  readonly at: string;
  /** Resources whose finding it suppressed in the packs this plugin ran (empty: none, or another plugin's rule). */
  readonly suppressed: string[];
}

/** The contents of `compliance-evidence.json`. */
export interface ComplianceEvidence {
  readonly schemaVersion: number;
  readonly generatedAt: string;
  /**
   * The synth date (`YYYY-MM-DD`) the rules judged dates against (`synthDate`: context
   * `zeroTrustFhir:today`, else the UTC date); the report judges app assessments on it too.
   * Absent when the context value was invalid (the rule that reads it then failed the synth).
   */
  readonly synthDate?: string;
  readonly packs: PackEvidence[];
  readonly resources: ResourceEvidence[];
  readonly acknowledgements: AcknowledgementEvidence[];
  /** Present when evidence could not be collected at all. */
  readonly error?: string;
}

/** Plugin name (never appears in the validation report: it reports no violations). */
export const COMPLIANCE_EVIDENCE_PLUGIN_NAME = 'ComplianceEvidence';

/**
 * Records {@link ComplianceEvidence} during synth. Register it with
 * {@link recordComplianceEvidence}, on the app that `applyCompliancePacks` gates.
 */
export class ComplianceEvidencePlugin implements IPolicyValidationPlugin {
  public readonly name = COMPLIANCE_EVIDENCE_PLUGIN_NAME;
  public readonly version = String(COMPLIANCE_EVIDENCE_SCHEMA_VERSION);
  public readonly ruleIds: string[] = [];
  private readonly packs: readonly NagPack[];

  /**
   * @param packs the pack instances whose results are recorded; observed from now on. Those that
   * have not run on the tree when this plugin runs are run by it.
   */
  constructor(packs: readonly NagPack[]) {
    this.packs = packs;
    for (const pack of packs) observePack(pack);
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const root = (context as IPolicyValidationContext & { readonly appConstruct?: IConstruct }).appConstruct;
    const outdir = assemblyDirectory(root, context);
    let evidence: ComplianceEvidence;
    try {
      if (!root) throw new Error('the validation context carries no construct tree (appConstruct)');
      evidence = evidenceOf(root, this.packs.map((pack) => lastRun(pack, root) ?? runObserved(pack, root)));
    } catch (err) {
      evidence = { schemaVersion: COMPLIANCE_EVIDENCE_SCHEMA_VERSION, generatedAt: new Date().toISOString(), packs: [], resources: [], acknowledgements: [], error: String((err as Error)?.message ?? err) };
    }
    if (outdir) {
      try {
        fs.writeFileSync(path.join(outdir, COMPLIANCE_EVIDENCE_FILE), JSON.stringify(evidence));
      } catch (err) {
        console.error(`compliance evidence: cannot write ${path.join(outdir, COMPLIANCE_EVIDENCE_FILE)}: ${(err as Error).message}`);
      }
    }
    return { success: true, violations: [] };
  }
}

/**
 * Registers {@link ComplianceEvidencePlugin} on `app` (once), after the packs already registered.
 * @param packs the packs to record @default - the gate's instances registered by
 * `applyCompliancePacks(app)`; fresh `createCompliancePacks()` (run by the plugin) when there are none
 */
export function recordComplianceEvidence(app: IConstruct, packs?: readonly NagPack[]): void {
  if (RECORDING.has(app)) return;
  RECORDING.add(app);
  Validations.of(app).addPlugins(new ComplianceEvidencePlugin(packs ?? compliancePacksOf(app) ?? createCompliancePacks()));
}

const RECORDING = new WeakSet<IConstruct>();

function assemblyDirectory(root: IConstruct | undefined, context: IPolicyValidationContext): string | undefined {
  if (root && App.isApp(root)) return root.outdir;
  if (root && Stage.isStage(root)) return root.outdir;
  const first = context.templatePaths[0];
  return first ? path.dirname(first) : undefined;
}

/** The acknowledgements recorded on one construct (not its ancestors). */
function ownAcknowledgements(construct: IConstruct): Array<{ key: string; id: string; reason: string }> {
  const out: Array<{ key: string; id: string; reason: string }> = [];
  for (const entry of construct.node.metadata) {
    if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data || typeof entry.data !== 'object') continue;
    for (const [key, reason] of Object.entries(entry.data as Record<string, unknown>)) {
      out.push({ key, id: acknowledgementId(key), reason: String(reason) });
    }
  }
  return out;
}

/**
 * `Annotation::HIPAA.Security-X` → `HIPAA.Security-X`; `CloudFormation-Validate::W3010` → `W3010`:
 * the one normaliser of `policies/rule-ids.ts`, which the gate's `acknowledge` uses too.
 */
export const acknowledgementId: (key: string) => string = normalizeRuleId;

/**
 * The acknowledgement that suppresses `ruleId` of the pack `pack` on `resource`, the way the gate
 * decides it (`acknowledgementMatches`): the resource or the nearest ancestor carrying that exact
 * id, bare (`Annotation::`, cleared by cdk-nag) or under the pack's namespace (cleared by CDK).
 */
function acknowledgementFor(resource: IConstruct, ruleId: string, pack: string): { key: string; id: string; reason: string; at: string } | undefined {
  for (let c: IConstruct | undefined = resource; c; c = c.node.scope) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data || typeof entry.data !== 'object') continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        if (acknowledgementMatches(key, ruleId, pack)) return { key, id: ruleId, reason: String(reason), at: c.node.path };
      }
    }
  }
  return undefined;
}

function levelOf(level: NagMessageLevel): RuleLevel {
  return level === NagMessageLevel.ERROR ? 'error' : level === NagMessageLevel.WARN ? 'warning' : 'info';
}

interface MutableRule {
  id: string;
  level: RuleLevel;
  info: string;
  explanation: string;
  citations: string[];
  notApplicable: number;
  evaluations: RuleEvaluation[];
}

/** One `validateScope` of one pack, as observed. */
interface PackRun {
  readonly root: IConstruct;
  readonly name: string;
  readonly rules: Map<string, MutableRule>;
  /** By rule suffix: the wrapper each call of that rule goes through. */
  readonly observers: Map<string, RuleObserver>;
  /** `${at}\u0000${key}` of an acknowledgement → the resources whose finding it suppressed. */
  readonly suppressedBy: Map<string, Set<string>>;
  violations: number;
  error?: string;
}

interface Observation {
  /** The run in progress. */
  current?: PackRun;
  /** The last finished run. */
  last?: PackRun;
  /** Restores the pack's own methods. */
  remove(): void;
}

const OBSERVATIONS = new WeakMap<NagPack, Observation>();

/**
 * Observes `pack` (once): every `validateScope` (which `validate` calls) records each rule's result
 * per resource, as the pack itself decides it. The pack's results are unchanged: the rule is called
 * once, by the pack's own `applyRule`, and what it returns or throws is passed on.
 */
function observePack(pack: NagPack): Observation {
  const existing = OBSERVATIONS.get(pack);
  if (existing) return existing;
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
    const run: PackRun = { root: scope, name: pack.readPackName || pack.name, rules: new Map(), observers: new Map(), suppressedBy: new Map(), violations: 0 };
    observation.current = run;
    try {
      const report = originalValidateScope.call(this, scope);
      // Counted now: CDK later moves violations acknowledged on an ancestor out of this report.
      run.violations = report.violations.reduce((n, v) => n + v.violatingResources.length, 0);
      return report;
    } catch (err) {
      run.error = String((err as Error)?.message ?? err);
      throw err;
    } finally {
      observation.current = undefined;
      observation.last = run;
    }
  };
  target.applyRule = function observedApplyRule(this: NagPack, params: IApplyRule): void {
    const run = observation.current;
    if (!run) return originalApplyRule.call(this, params);
    const suffix = params.ruleSuffixOverride ? params.ruleSuffixOverride : params.rule.name;
    let observer = run.observers.get(suffix);
    if (!observer) {
      const ruleId = `${run.name}-${suffix}`;
      const rule: MutableRule = { id: ruleId, level: levelOf(params.level), info: params.info, explanation: params.explanation, citations: extractControlIds(params.info), notApplicable: 0, evaluations: [] };
      run.rules.set(ruleId, rule);
      observer = ruleObserver(run, rule);
      run.observers.set(suffix, observer);
    }
    // Built once per rule (not per call): this runs for every rule × resource of the gate.
    observer.check = params.rule;
    originalApplyRule.call(this, { ruleSuffixOverride: suffix, info: params.info, explanation: params.explanation, level: params.level, node: params.node, rule: observer.observed });
  };
  OBSERVATIONS.set(pack, observation);
  return observation;
}

interface RuleObserver {
  /** The rule function of the current call. */
  check: (node: CfnResource) => NagRuleResult;
  /** Calls `check` and records its result; passes the result (or the error) on unchanged. */
  readonly observed: (node: CfnResource) => NagRuleResult;
}

function ruleObserver(run: PackRun, rule: MutableRule): RuleObserver {
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

/** The pack's last observed run over `root`, if it has run on it. */
function lastRun(pack: NagPack, root: IConstruct): PackRun | undefined {
  const last = OBSERVATIONS.get(pack)?.last;
  return last && last.root === root ? last : undefined;
}

/** Runs an observed pack over `root` (a failure is recorded in the run, not thrown). */
function runObserved(pack: NagPack, root: IConstruct): PackRun {
  const observation = observePack(pack);
  try {
    pack.validateScope(root);
  } catch {
    // Recorded in the run.
  }
  return observation.last!;
}

/**
 * Runs each pack over `root` with every rule call observed, and returns the evidence. The packs'
 * own logic decides violations and acknowledgements; this only records what each rule returned.
 * The packs are left as they were.
 */
export function collectComplianceEvidence(root: IConstruct, packs: readonly NagPack[]): ComplianceEvidence {
  const runs: PackRun[] = [];
  for (const pack of packs) {
    const observed = OBSERVATIONS.has(pack);
    try {
      runs.push(runObserved(pack, root));
    } finally {
      if (!observed) OBSERVATIONS.get(pack)?.remove();
    }
  }
  return evidenceOf(root, runs);
}

/** The evidence file's contents from the packs' runs over `root`. */
function evidenceOf(root: IConstruct, runs: readonly PackRun[]): ComplianceEvidence {
  const suppressedBy = new Map<string, Set<string>>();
  for (const run of runs) {
    for (const [k, paths] of run.suppressedBy) {
      if (!suppressedBy.has(k)) suppressedBy.set(k, new Set());
      for (const p of paths) suppressedBy.get(k)!.add(p);
    }
  }
  const packEvidence: PackEvidence[] = runs.map((run) => ({
    name: run.name,
    rules: [...run.rules.values()],
    violations: run.error !== undefined ? 0 : run.violations,
    ...(run.error !== undefined ? { error: run.error } : {}),
  }));

  const resources: ResourceEvidence[] = [];
  const acknowledgements: AcknowledgementEvidence[] = [];
  visit(root, (c) => {
    for (const ack of ownAcknowledgements(c)) {
      const used = suppressedBy.get(`${c.node.path}\u0000${ack.key}`);
      acknowledgements.push({ key: ack.key, id: ack.id, reason: ack.reason, at: c.node.path, suppressed: used ? [...used] : [] });
    }
    if (CfnResource.isCfnResource(c)) {
      resources.push({ path: c.node.path, stack: Stack.of(c).artifactId, logicalId: logicalIdOf(c), type: c.cfnResourceType });
    }
  });

  let today: string | undefined;
  try {
    today = synthDate(root);
  } catch {
    today = undefined;
  }
  return { schemaVersion: COMPLIANCE_EVIDENCE_SCHEMA_VERSION, generatedAt: new Date().toISOString(), ...(today ? { synthDate: today } : {}), packs: packEvidence, resources, acknowledgements };
}

function visit(c: IConstruct, fn: (c: IConstruct) => void): void {
  fn(c);
  for (const child of c.node.children) visit(child, fn);
}
