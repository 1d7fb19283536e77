/**
 * Reads what the report needs from a synthesized cloud assembly (`cdk.out`): the manifest, each
 * stack's template and construct metadata (acknowledgements, public-route markers, deployment
 * environment), the construct tree, CDK's validation report and the compliance evidence.
 *
 * Nothing here throws on a missing or unreadable file: the problem is recorded in `problems`
 * and the report says what it could not read.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { COMPLIANCE_EVIDENCE_FILE, ComplianceEvidence } from './evidence';

export const VALIDATION_REPORT_FILE = 'validation-report.json';

export interface CfnTemplate {
  readonly Description?: string;
  readonly Resources?: Record<string, CfnResourceJson>;
  readonly [key: string]: unknown;
}

export interface CfnResourceJson {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly [key: string]: unknown;
}

export interface MetadataEntry {
  readonly type: string;
  readonly data?: unknown;
}

/** One resource of a synthesized template. */
export interface ResourceInfo {
  /** Artifact id of the stack. */
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  /** Construct path (no leading slash), when the template or metadata gives it. */
  readonly path?: string;
  readonly properties: Record<string, unknown>;
  readonly deletionPolicy?: string;
}

export interface StackArtifact {
  /** Artifact id (the hierarchical id for stacks in stages). */
  readonly id: string;
  readonly displayName: string;
  /** `aws://account/region` (`unknown-account`/`unknown-region` when env-agnostic). */
  readonly environment: string;
  /** Template file, relative to the assembly root. */
  readonly templateFile: string;
  /** SHA-256 (hex) and size of the template file as read. */
  readonly templateSha256?: string;
  readonly templateBytes?: number;
  readonly template: CfnTemplate;
  /** Construct metadata by construct path (no leading slash). */
  readonly metadata: ReadonlyMap<string, readonly MetadataEntry[]>;
}

// --- validation-report.json -------------------------------------------------------------------

export interface ViolatingConstructJson {
  readonly constructPath?: string;
  readonly constructFqn?: string;
  readonly cloudFormationResource?: { readonly templatePath?: string; readonly logicalId?: string; readonly propertyPaths?: string[] };
}

export interface ViolationJson {
  readonly ruleName: string;
  readonly description?: string;
  readonly suggestedFix?: string;
  readonly severity?: string;
  readonly ruleMetadata?: Record<string, string>;
  readonly violatingConstructs?: ViolatingConstructJson[];
}

export interface SuppressedViolationJson extends ViolationJson {
  readonly acknowledgedId?: string;
  readonly reason?: string;
  readonly acknowledgedAt?: string;
}

export interface PluginReportJson {
  readonly pluginName: string;
  readonly pluginVersion?: string;
  readonly conclusion?: string;
  readonly violations?: ViolationJson[];
  readonly suppressedViolations?: SuppressedViolationJson[];
  /** `error`: why the plugin failed without a finding (it threw; CDK fails the synth). */
  readonly metadata?: { readonly error?: string };
}

export interface ValidationReportJson {
  readonly version?: string;
  readonly title?: string;
  readonly pluginReports?: PluginReportJson[];
}

// --- tree.json -------------------------------------------------------------------------------

export interface TreeNodeJson {
  readonly id: string;
  readonly path: string;
  readonly constructInfo?: { readonly fqn?: string; readonly version?: string };
  readonly children?: Record<string, TreeNodeJson>;
}

/** Everything the report reads from `cdk.out`. */
export interface CloudAssemblyInput {
  readonly directory: string;
  /** False when there is no `manifest.json`: the synth did not produce an assembly. */
  readonly manifestFound: boolean;
  readonly stacks: StackArtifact[];
  readonly resources: ResourceInfo[];
  readonly validationReport?: ValidationReportJson;
  readonly evidence?: ComplianceEvidence;
  /** Construct fqn by path, from `tree.json`. */
  readonly constructTypes: ReadonlyMap<string, string>;
  /** SHA-256 (hex) and size of the evidence and validation report files, by file name. */
  readonly fileHashes: ReadonlyMap<string, { readonly sha256: string; readonly bytes: number }>;
  /** What could not be read, for the report's notices. */
  readonly problems: string[];
}

function readJson<T>(file: string, problems: string[], what: string): T | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (err) {
    problems.push(`${what} (${path.basename(file)}) could not be read: ${(err as Error).message}`);
    return undefined;
  }
}

interface ManifestJson {
  readonly version?: string;
  readonly artifacts?: Record<string, {
    readonly type: string;
    readonly environment?: string;
    readonly displayName?: string;
    readonly properties?: Record<string, unknown>;
    readonly metadata?: Record<string, MetadataEntry[]>;
    readonly additionalMetadataFile?: string;
  }>;
}

const stripSlash = (p: string): string => (p.startsWith('/') ? p.slice(1) : p);

function readStacks(dir: string, root: string, problems: string[], depth = 0): StackArtifact[] {
  const manifest = readJson<ManifestJson>(path.join(dir, 'manifest.json'), problems, 'the cloud assembly manifest');
  if (!manifest) return [];
  const stacks: StackArtifact[] = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'aws:cloudformation:stack') {
      const templateFile = String(artifact.properties?.templateFile ?? `${id}.template.json`);
      const template = readJson<CfnTemplate>(path.join(dir, templateFile), problems, `the template of stack ${id}`) ?? {};
      const hash = hashFile(path.join(dir, templateFile));
      const metadata = new Map<string, MetadataEntry[]>();
      const add = (entries: Record<string, MetadataEntry[]> | undefined): void => {
        for (const [p, list] of Object.entries(entries ?? {})) {
          const key = stripSlash(p);
          metadata.set(key, [...(metadata.get(key) ?? []), ...(Array.isArray(list) ? list : [])]);
        }
      };
      add(artifact.metadata);
      if (artifact.additionalMetadataFile) {
        add(readJson<Record<string, MetadataEntry[]>>(path.join(dir, artifact.additionalMetadataFile), problems, `the construct metadata of stack ${id}`));
      }
      stacks.push({
        id,
        displayName: artifact.displayName ?? id,
        environment: artifact.environment ?? 'aws://unknown-account/unknown-region',
        templateFile: path.relative(root, path.join(dir, templateFile)).split(path.sep).join('/'),
        ...(hash ? { templateSha256: hash.sha256, templateBytes: hash.bytes } : {}),
        template,
        metadata,
      });
    } else if (artifact.type === 'cdk:cloud-assembly' && depth < 8) {
      const sub = String(artifact.properties?.directoryName ?? '');
      if (sub) stacks.push(...readStacks(path.join(dir, sub), root, problems, depth + 1));
    }
  }
  return stacks;
}

/** SHA-256 (hex) and size of a file; `undefined` when it cannot be read. */
export function hashFile(file: string): { sha256: string; bytes: number } | undefined {
  try {
    const bytes = fs.readFileSync(file);
    return { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  } catch {
    return undefined;
  }
}

function resourcesOf(stack: StackArtifact): ResourceInfo[] {
  const pathByLogicalId = new Map<string, string>();
  for (const [p, entries] of stack.metadata) {
    for (const e of entries) if (e.type === 'aws:cdk:logicalId' && typeof e.data === 'string') pathByLogicalId.set(e.data, p);
  }
  return Object.entries(stack.template.Resources ?? {}).map(([logicalId, r]) => {
    const fromTemplate = r.Metadata?.['aws:cdk:path'];
    const p = typeof fromTemplate === 'string' ? fromTemplate : pathByLogicalId.get(logicalId);
    return {
      stack: stack.id,
      logicalId,
      type: String(r.Type),
      path: p,
      properties: (r.Properties ?? {}) as Record<string, unknown>,
      deletionPolicy: r.DeletionPolicy,
    };
  });
}

function readTree(dir: string, problems: string[]): Map<string, string> {
  const types = new Map<string, string>();
  const tree = readJson<{ tree?: TreeNodeJson }>(path.join(dir, 'tree.json'), problems, 'the construct tree');
  const walk = (node: TreeNodeJson | undefined, depth: number): void => {
    if (!node || depth > 200) return;
    if (node.constructInfo?.fqn) types.set(node.path, node.constructInfo.fqn);
    for (const child of Object.values(node.children ?? {})) walk(child, depth + 1);
  };
  walk(tree?.tree, 0);
  return types;
}

/** Reads `cdk.out` (or another assembly directory). */
export function readCloudAssembly(directory: string): CloudAssemblyInput {
  const dir = path.resolve(directory);
  const problems: string[] = [];
  const manifestFound = fs.existsSync(path.join(dir, 'manifest.json'));
  const stacks = manifestFound ? readStacks(dir, dir, problems) : [];
  const validationReport = readJson<ValidationReportJson>(path.join(dir, VALIDATION_REPORT_FILE), problems, 'the validation report');
  const evidence = readJson<ComplianceEvidence>(path.join(dir, COMPLIANCE_EVIDENCE_FILE), problems, 'the compliance evidence');
  if (evidence?.error) problems.push(`the compliance evidence could not be collected at synth: ${evidence.error}`);
  for (const pack of evidence?.packs ?? []) if (pack.error) problems.push(`the evidence run of ${pack.name} failed: ${pack.error}`);
  const fileHashes = new Map<string, { sha256: string; bytes: number }>();
  for (const file of [COMPLIANCE_EVIDENCE_FILE, VALIDATION_REPORT_FILE]) {
    const hash = hashFile(path.join(dir, file));
    if (hash) fileHashes.set(file, hash);
  }
  return {
    directory: dir,
    manifestFound,
    stacks,
    resources: stacks.flatMap(resourcesOf),
    validationReport,
    evidence,
    constructTypes: manifestFound ? readTree(dir, problems) : new Map(),
    fileHashes,
    problems,
  };
}

/** Metadata entries of `type` at exactly `constructPath`, in any stack. */
export function metadataAt(input: CloudAssemblyInput, constructPath: string, type: string): MetadataEntry[] {
  const out: MetadataEntry[] = [];
  for (const stack of input.stacks) for (const e of stack.metadata.get(constructPath) ?? []) if (e.type === type) out.push(e);
  return out;
}
