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
import { NagPack } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { compliancePacksOf, createCompliancePacks, gateSetupOf } from '../../policies';
import { CONTROL_TOWER_PACK_NAME, CONTROL_TOWER_PACKAGE, ControlTowerRun, lastControlTowerRun } from '../../policies/compliance/control-tower';
import { acknowledgementFor, isObserved, observePack, PackRun, RuleEvaluation, RuleLevel, runObserved, runOf, unobservePack } from '../../policies/compliance/observe';
import { DERIVED_ACKNOWLEDGEMENT_METADATA_KEY } from '../../policies/compliance/shared-acknowledgements';
import { toolVersions } from './versions';
import { normalizeRuleId } from '../../policies/compliance/rule-ids';
import { logicalIdOf } from '../../policies/compliance/rules/common/cfn';
import { synthDate } from '../../policies/compliance/registered-apps';

/** File name of the evidence in the cloud assembly directory. */
export const COMPLIANCE_EVIDENCE_FILE = 'compliance-evidence.json';

/** Version of the evidence file format. */
export const COMPLIANCE_EVIDENCE_SCHEMA_VERSION = 1;

export type { AppliedAcknowledgement, EvaluationResult, RuleEvaluation, RuleLevel } from '../../policies/compliance/observe';

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
  /** Recorded by the gate itself (`policies/compliance/shared-acknowledgements.ts`): passed on from a gate rule's acknowledgement, or a known limitation of an AWS rule. */
  readonly derived?: { readonly from?: { readonly rule: string; readonly at: string }; readonly limitation?: string };
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
  /** The kit, aws-cdk-lib, cdk-nag, constructs, Node.js (and the cross-check and cfn-guard when it ran), as the synth used them. */
  readonly tools?: Record<string, string>;
  /** Optional cross-checks of the gate (the AWS Control Tower controls): whether each ran, and why not. */
  readonly crossChecks?: CrossCheckEvidence[];
  /** Present when evidence could not be collected at all. */
  readonly error?: string;
}

/** An optional cross-check of the gate. */
export interface CrossCheckEvidence {
  readonly name: string;
  readonly ran: boolean;
  readonly version?: string;
  /** Why it did not run. */
  readonly reason?: string;
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
      evidence = evidenceOf(root, this.packs.map((pack) => runOf(pack, root)), lastControlTowerRun(root));
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
      out.push({ key, id: acknowledgementId(key), reason: typeof reason === 'string' ? reason : '' });
    }
  }
  return out;
}

/**
 * `Annotation::HIPAA.Security-X` → `HIPAA.Security-X`; `CloudFormation-Validate::W3010` → `W3010`:
 * the one normaliser of `policies/compliance/rule-ids.ts`, which the gate's `acknowledge` uses too.
 */
export const acknowledgementId: (key: string) => string = normalizeRuleId;

/**
 * Runs each pack over `root` with every rule call observed, and returns the evidence. The packs'
 * own logic decides violations and acknowledgements; this only records what each rule returned.
 * The packs are left as they were.
 */
export function collectComplianceEvidence(root: IConstruct, packs: readonly NagPack[], controlTower?: ControlTowerRun): ComplianceEvidence {
  const runs: PackRun[] = [];
  for (const pack of packs) {
    const observed = isObserved(pack);
    try {
      runs.push(runObserved(pack, root));
    } finally {
      if (!observed) unobservePack(pack);
    }
  }
  return evidenceOf(root, runs, controlTower);
}

/**
 * The AWS Control Tower run as pack evidence: each control run evaluates every resource of its
 * types (that is how the controls select what they check), compliant unless it reported the
 * resource; a reported resource is acknowledged the way CDK decides it (`AWS.ControlTower::<rule>`
 * on the resource or an ancestor).
 */
function controlTowerEvidence(root: IConstruct, run: ControlTowerRun, suppressedBy: Map<string, Set<string>>): PackEvidence {
  const byTemplate = new Map<string, CfnResource>();
  visit(root, (c) => {
    if (!CfnResource.isCfnResource(c)) return;
    try {
      byTemplate.set(`${Stack.of(c).templateFile}\u0000${logicalIdOf(c)}`, c);
    } catch {
      // Not in a template.
    }
  });
  let violations = 0;
  const rules: RuleEvidence[] = run.rules.map((rule) => {
    const evaluations: RuleEvaluation[] = [];
    let notApplicable = 0;
    for (const [template, resources] of run.resources) {
      for (const [logicalId, type] of resources) {
        if (!rule.types.includes(type)) {
          notApplicable++;
          continue;
        }
        const key = `${template}\u0000${logicalId}`;
        const node = byTemplate.get(key);
        const resource = node?.node.path ?? `${template}/${logicalId}`;
        if (!run.violations.get(rule.name)?.has(key)) {
          evaluations.push({ resource, result: 'compliant' });
          continue;
        }
        const ack = node ? acknowledgementFor(node, rule.name, CONTROL_TOWER_PACK_NAME) : undefined;
        if (ack) {
          const k = `${ack.at}\u0000${ack.key}`;
          if (!suppressedBy.has(k)) suppressedBy.set(k, new Set());
          suppressedBy.get(k)!.add(resource);
        } else violations++;
        evaluations.push({ resource, result: 'non-compliant', ...(ack ? { acknowledged: { id: ack.id, reason: ack.reason, at: ack.at } } : {}) });
      }
    }
    return {
      id: rule.name,
      level: 'error',
      info: `[${rule.controlId}]: ${rule.displayName}`,
      explanation: rule.remediation,
      citations: [],
      notApplicable,
      evaluations,
    };
  });
  return { name: CONTROL_TOWER_PACK_NAME, rules, violations };
}

/** The evidence file's contents from the packs' runs over `root`. */
function evidenceOf(root: IConstruct, runs: readonly PackRun[], controlTower?: ControlTowerRun): ComplianceEvidence {
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
  if (controlTower) packEvidence.push(controlTowerEvidence(root, controlTower, suppressedBy));
  const setup = gateSetupOf(root);
  const crossChecks: CrossCheckEvidence[] = setup ? [{
    name: CONTROL_TOWER_PACK_NAME,
    ran: controlTower !== undefined,
    ...(controlTower ? { version: controlTower.version } : { reason: setup.controlTower.reason ?? 'it did not run over this app' }),
  }] : [];
  const tools = { ...toolVersions(), ...(controlTower ? { [CONTROL_TOWER_PACKAGE]: controlTower.version, ...(controlTower.guardVersion ? { 'cfn-guard': controlTower.guardVersion } : {}) } : {}) };

  const resources: ResourceEvidence[] = [];
  const acknowledgements: AcknowledgementEvidence[] = [];
  visit(root, (c) => {
    const marks = c.node.metadata.filter((m) => m.type === DERIVED_ACKNOWLEDGEMENT_METADATA_KEY).map((m) => m.data as { id?: string; from?: { rule: string; at: string }; limitation?: string });
    for (const ack of ownAcknowledgements(c)) {
      const used = suppressedBy.get(`${c.node.path}\u0000${ack.key}`);
      const mark = marks.find((m) => m?.id === ack.key);
      const derived = mark ? { ...(mark.from ? { from: mark.from } : {}), ...(mark.limitation ? { limitation: mark.limitation } : {}) } : undefined;
      acknowledgements.push({ key: ack.key, id: ack.id, reason: ack.reason, at: c.node.path, suppressed: used ? [...used] : [], ...(derived ? { derived } : {}) });
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
  return {
    schemaVersion: COMPLIANCE_EVIDENCE_SCHEMA_VERSION,
    generatedAt: new Date().toISOString(),
    ...(today ? { synthDate: today } : {}),
    packs: packEvidence,
    resources,
    acknowledgements,
    tools,
    ...(crossChecks.length > 0 ? { crossChecks } : {}),
  };
}

function visit(c: IConstruct, fn: (c: IConstruct) => void): void {
  fn(c);
  for (const child of c.node.children) visit(child, fn);
}
