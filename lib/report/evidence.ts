/**
 * Compliance evidence: what every rule of the compliance packs evaluated at synth time, and with
 * what result. The validation report CDK writes lists only violations; the reviewer's report also
 * needs what passed, what was acknowledged (and why) and which rules found nothing to check.
 *
 * {@link recordComplianceEvidence} registers {@link ComplianceEvidencePlugin} on an app. At synth
 * time, after the templates are written, it runs fresh instances of the packs over the construct
 * tree, records each rule × `CfnResource` result, and writes `compliance-evidence.json` next to
 * `manifest.json`. It never reports a violation itself (the packs registered by
 * `applyCompliancePacks` remain the gate) and never throws: a failure is written into the file.
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
import { createCompliancePacks } from '../../policies';
import { extractControlIds } from '../../policies/citations';
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
  private readonly packs: () => NagPack[];

  /** @param packs fresh pack instances to evaluate @default - `createCompliancePacks()` */
  constructor(packs: () => NagPack[] = () => createCompliancePacks()) {
    this.packs = packs;
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const root = (context as IPolicyValidationContext & { readonly appConstruct?: IConstruct }).appConstruct;
    const outdir = assemblyDirectory(root, context);
    let evidence: ComplianceEvidence;
    try {
      if (!root) throw new Error('the validation context carries no construct tree (appConstruct)');
      evidence = collectComplianceEvidence(root, this.packs());
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

/** Registers {@link ComplianceEvidencePlugin} on `app` (once). */
export function recordComplianceEvidence(app: IConstruct, packs?: () => NagPack[]): void {
  if (RECORDING.has(app)) return;
  RECORDING.add(app);
  Validations.of(app).addPlugins(new ComplianceEvidencePlugin(packs));
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

/** `Annotation::HIPAA.Security-X` → `HIPAA.Security-X`; `CloudFormation-Validate::W3010` → `W3010`. */
export function acknowledgementId(key: string): string {
  const bracket = key.indexOf('[');
  const head = bracket < 0 ? key : key.slice(0, bracket);
  const ns = head.lastIndexOf('::');
  return ns < 0 ? key : key.slice(ns + 2);
}

/**
 * The acknowledgement that suppresses `ruleId` on `resource`, the way cdk-nag decides it: the
 * resource or the nearest ancestor carrying that exact id (`annotation::` prefix ignored).
 */
function acknowledgementFor(resource: IConstruct, ruleId: string): { key: string; id: string; reason: string; at: string } | undefined {
  for (let c: IConstruct | undefined = resource; c; c = c.node.scope) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data || typeof entry.data !== 'object') continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        if (key.replace(/^annotation::/i, '') === ruleId) return { key, id: ruleId, reason: String(reason), at: c.node.path };
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

/**
 * Runs each pack over `root` with every rule call observed, and returns the evidence. The packs'
 * own logic decides violations and acknowledgements; this only records what each rule returned.
 */
export function collectComplianceEvidence(root: IConstruct, packs: readonly NagPack[]): ComplianceEvidence {
  const suppressedBy = new Map<string, Set<string>>(); // `${at}\u0000${key}` → resource paths
  const packEvidence: PackEvidence[] = [];

  for (const pack of packs) {
    const rules = new Map<string, MutableRule>();
    const target = pack as unknown as { applyRule(params: IApplyRule): void };
    const original = target.applyRule;
    const packName = pack.readPackName || pack.name;
    target.applyRule = function observedApplyRule(this: NagPack, params: IApplyRule): void {
      const suffix = params.ruleSuffixOverride ? params.ruleSuffixOverride : params.rule.name;
      const ruleId = `${packName}-${suffix}`;
      let rule = rules.get(ruleId);
      if (!rule) {
        rule = { id: ruleId, level: levelOf(params.level), info: params.info, explanation: params.explanation, citations: extractControlIds(params.info), notApplicable: 0, evaluations: [] };
        rules.set(ruleId, rule);
      }
      const current = rule;
      const node = params.node;
      const record = (result: EvaluationResult, findingId: string, extra: { finding?: string; error?: string }): void => {
        const ack = result === 'compliant' ? undefined : acknowledgementFor(node, findingId);
        if (ack) {
          const k = `${ack.at}\u0000${ack.key}`;
          if (!suppressedBy.has(k)) suppressedBy.set(k, new Set());
          suppressedBy.get(k)!.add(node.node.path);
        }
        current.evaluations.push({
          resource: node.node.path,
          result,
          ...extra,
          ...(ack ? { acknowledged: { id: ack.id, reason: ack.reason, at: ack.at } } : {}),
        });
      };
      const observed = (n: CfnResource): NagRuleResult => {
        let result: NagRuleResult;
        try {
          result = params.rule(n);
        } catch (err) {
          record('error', ruleId, { error: String((err as Error)?.message ?? err) });
          throw err;
        }
        if (result === NagRuleCompliance.NOT_APPLICABLE) current.notApplicable++;
        else if (result === NagRuleCompliance.COMPLIANT) record('compliant', ruleId, {});
        else if (result === NagRuleCompliance.NON_COMPLIANT) record('non-compliant', ruleId, {});
        else if (Array.isArray(result)) {
          if (result.length === 0) record('compliant', ruleId, {});
          for (const finding of result) record('non-compliant', `${ruleId}[${finding}]`, { finding: String(finding) });
        } else current.notApplicable++; // UNKNOWN and anything else: nothing decided
        return result;
      };
      original.call(this, { ...params, ruleSuffixOverride: suffix, rule: observed });
    };
    try {
      const report = pack.validateScope(root);
      packEvidence.push({ name: packName, rules: [...rules.values()], violations: report.violations.reduce((n, v) => n + v.violatingResources.length, 0) });
    } catch (err) {
      packEvidence.push({ name: packName, rules: [...rules.values()], violations: 0, error: String((err as Error)?.message ?? err) });
    } finally {
      // Remove the own property: the prototype's method is used again.
      delete (target as Partial<typeof target>).applyRule;
    }
  }

  const resources: ResourceEvidence[] = [];
  const acknowledgements: AcknowledgementEvidence[] = [];
  visit(root, (c) => {
    for (const ack of ownAcknowledgements(c)) {
      const used = suppressedBy.get(`${c.node.path}\u0000${ack.key}`);
      acknowledgements.push({ key: ack.key, id: ack.id, reason: ack.reason, at: c.node.path, suppressed: used ? [...used] : [] });
    }
    if (CfnResource.isCfnResource(c)) {
      const stack = Stack.of(c);
      resources.push({ path: c.node.path, stack: stack.artifactId, logicalId: String(stack.resolve(c.logicalId)), type: c.cfnResourceType });
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
