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
  /** An `AWS::CloudFormation::Stack` of a CDK nested stack: the nested stack's artifact id. */
  readonly nestedStack?: string;
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
  /** A nested stack's: the parent stack's id and the logical id of its `AWS::CloudFormation::Stack` there. */
  readonly nestedIn?: { readonly stack: string; readonly logicalId: string };
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
      const stack: StackArtifact = {
        id,
        displayName: artifact.displayName ?? id,
        environment: artifact.environment ?? 'aws://unknown-account/unknown-region',
        templateFile: path.relative(root, path.join(dir, templateFile)).split(path.sep).join('/'),
        ...(hash ? { templateSha256: hash.sha256, templateBytes: hash.bytes } : {}),
        template,
        metadata,
      };
      stacks.push(stack, ...nestedStacks(stack, metadata, dir, root, problems));
    } else if (artifact.type === 'cdk:cloud-assembly' && depth < 8) {
      const sub = String(artifact.properties?.directoryName ?? '');
      if (sub) stacks.push(...readStacks(path.join(dir, sub), root, problems, depth + 1));
    }
  }
  return stacks;
}

/**
 * The nested stacks of `parent` (`AWS::CloudFormation::Stack` resources whose template CDK wrote
 * into the assembly, {@link nestedTemplateFile}), recursively, each as a stack of its own: its
 * template, and the construct metadata under its construct path, which CDK writes into the
 * parent's metadata and which moves from the parent to it. Its id is the template's name without
 * `.nested.template.json` (what `Stack.of(construct).artifactId` says for a construct in it).
 */
function nestedStacks(parent: StackArtifact, parentMetadata: Map<string, MetadataEntry[]>, dir: string, root: string, problems: string[], depth = 0): StackArtifact[] {
  const out: StackArtifact[] = [];
  for (const [logicalId, r] of Object.entries(parent.template.Resources ?? {})) {
    const file = r.Type === 'AWS::CloudFormation::Stack' ? nestedTemplateFile(r, dir) : undefined;
    // Its construct path from the template, else (path metadata off) from the construct metadata.
    const resourcePath = r.Metadata?.['aws:cdk:path']
      ?? [...parentMetadata].find(([, entries]) => entries.some((e) => e.type === 'aws:cdk:logicalId' && e.data === logicalId))?.[0];
    if (r.Type !== 'AWS::CloudFormation::Stack' || typeof file !== 'string' || !file.endsWith('.nested.template.json') || depth >= 8) continue;
    const template = readJson<CfnTemplate>(path.join(dir, file), problems, `the template of nested stack ${file}`) ?? {};
    const hash = hashFile(path.join(dir, file));
    // `<parent>/<id>.NestedStack/<id>.NestedStackResource` is the resource of the nested stack `<parent>/<id>`.
    const stackPath = typeof resourcePath === 'string' ? /^(.*)\.NestedStack\/[^/]*\.NestedStackResource$/.exec(resourcePath)?.[1] : undefined;
    const metadata = new Map<string, MetadataEntry[]>();
    if (stackPath) {
      for (const [p, entries] of [...parentMetadata]) {
        if (p !== stackPath && !p.startsWith(`${stackPath}/`)) continue;
        metadata.set(p, entries);
        parentMetadata.delete(p);
      }
    }
    const nested: StackArtifact = {
      id: file.slice(0, -'.nested.template.json'.length),
      displayName: stackPath ?? `${parent.displayName} (nested ${file})`,
      environment: parent.environment,
      templateFile: path.relative(root, path.join(dir, file)).split(path.sep).join('/'),
      ...(hash ? { templateSha256: hash.sha256, templateBytes: hash.bytes } : {}),
      template,
      metadata,
      nestedIn: { stack: parent.id, logicalId },
    };
    out.push(nested, ...nestedStacks(nested, metadata, dir, root, problems, depth + 1));
  }
  return out;
}

/**
 * The template file (in `dir`) of a nested stack's `AWS::CloudFormation::Stack`: its
 * `Metadata['aws:asset:path']` (written when asset metadata is on, as under the CDK CLI), else
 * the file asset of the assembly's asset manifests whose object key ends its `TemplateURL`.
 */
function nestedTemplateFile(r: { Metadata?: Record<string, unknown>; Properties?: unknown }, dir: string): string | undefined {
  const file = r.Metadata?.['aws:asset:path'];
  if (typeof file === 'string') return file;
  const url = JSON.stringify((r.Properties as Record<string, unknown> | undefined)?.TemplateURL ?? '');
  for (const manifest of fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.assets.json')) : []) {
    let files: Record<string, { source?: { path?: unknown }; destinations?: Record<string, { objectKey?: unknown }> }> = {};
    try {
      files = (JSON.parse(fs.readFileSync(path.join(dir, manifest), 'utf8')) as { files?: typeof files }).files ?? {};
    } catch {
      continue;
    }
    for (const asset of Object.values(files)) {
      const source = asset.source?.path;
      if (typeof source !== 'string' || !source.endsWith('.nested.template.json')) continue;
      if (Object.values(asset.destinations ?? {}).some((d) => typeof d.objectKey === 'string' && url.includes(`/${d.objectKey}"`))) return source;
    }
  }
  return undefined;
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

function resourcesOf(stack: StackArtifact, nestedBy: ReadonlyMap<string, string>): ResourceInfo[] {
  const pathByLogicalId = new Map<string, string>();
  for (const [p, entries] of stack.metadata) {
    for (const e of entries) if (e.type === 'aws:cdk:logicalId' && typeof e.data === 'string') pathByLogicalId.set(e.data, p);
  }
  return Object.entries(stack.template.Resources ?? {}).map(([logicalId, r]) => {
    const fromTemplate = r.Metadata?.['aws:cdk:path'];
    const p = typeof fromTemplate === 'string' ? fromTemplate : pathByLogicalId.get(logicalId);
    const nested = nestedBy.get(`${stack.id}\u0000${logicalId}`);
    return {
      stack: stack.id,
      logicalId,
      type: String(r.Type),
      path: p,
      properties: (r.Properties ?? {}) as Record<string, unknown>,
      deletionPolicy: r.DeletionPolicy,
      ...(nested ? { nestedStack: nested } : {}),
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
  // The nested stack each `AWS::CloudFormation::Stack` deploys, by `<parent id>\u0000<logical id>`.
  const nestedBy = new Map(stacks.flatMap((s) => (s.nestedIn ? [[`${s.nestedIn.stack}\u0000${s.nestedIn.logicalId}`, s.id] as const] : [])));
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
    resources: stacks.flatMap((s) => resourcesOf(s, nestedBy)),
    validationReport,
    evidence,
    constructTypes: manifestFound ? readTree(dir, problems) : new Map(),
    fileHashes,
    problems,
  };
}

/**
 * Every metadata entry of `type` in the assembly, with the construct path it is recorded on
 * (`/Stack/…`) and its stack's display name, in stack order then construct order.
 */
export function metadataOfType(input: CloudAssemblyInput, type: string): Array<{ stack: string; at: string; data: unknown }> {
  const out: Array<{ stack: string; at: string; data: unknown }> = [];
  for (const stack of input.stacks) {
    for (const [at, entries] of stack.metadata) for (const e of entries) if (e.type === type) out.push({ stack: stack.displayName, at, data: e.data });
  }
  return out;
}

/** Metadata entries of `type` at exactly `constructPath`, in any stack. */
export function metadataAt(input: CloudAssemblyInput, constructPath: string, type: string): MetadataEntry[] {
  const out: MetadataEntry[] = [];
  for (const stack of input.stacks) for (const e of stack.metadata.get(constructPath) ?? []) if (e.type === type) out.push(e);
  return out;
}
