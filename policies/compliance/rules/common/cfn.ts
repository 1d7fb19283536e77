/**
 * Helpers shared by the FHIR.HIPAA rules: reading a resource's CloudFormation as it will be
 * synthesized, following references between resources, and coercing values without throwing.
 *
 * Rules read the *rendered* CloudFormation (`_toCloudFormation()` resolved in the resource's
 * stack), not the L1 class fields, for three reasons: the same rule then works on typed L1s,
 * on generic `CfnResource`s and on `CfnInclude`d templates; property overrides are seen; and
 * names are the CloudFormation ones that the AWS documentation and the reviewer use.
 * References resolve to `{ Ref }` / `{ "Fn::GetAtt" }`, which {@link referencedResource} follows.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CfnResource, Reference, Stack, Token, Tokenization, IResolvable } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** A plain JSON object. */
export type Json = Record<string, unknown>;

/** One resource entry of the synthesized template. */
export interface TemplateEntry {
  readonly Type: string;
  readonly Properties: Json;
  readonly DeletionPolicy?: unknown;
  readonly UpdateReplacePolicy?: unknown;
}

/** Memo of rendered entries and per-stack indexes, alive during {@link withCfnCache}. */
interface CfnCache {
  readonly entries: Map<CfnResource, TemplateEntry | undefined>;
  /** Logical ids: computing one hashes the construct path (and, for a Deployment, the whole API). */
  readonly logicalIds: Map<CfnResource, string>;
  readonly stacks: Map<Stack, { readonly all: CfnResource[]; readonly byLogicalId: Map<string, CfnResource> }>;
  readonly apps: Map<IConstruct, CfnResource[]>;
}
let cache: CfnCache | undefined;

/**
 * Runs `fn` with rendered templates and resource indexes memoised (a pack run renders each
 * resource once instead of once per rule). The tree must not change while `fn` runs.
 */
export function withCfnCache<T>(fn: () => T): T {
  const previous = cache;
  cache = { entries: new Map(), logicalIds: new Map(), stacks: new Map(), apps: new Map() };
  try {
    return fn();
  } finally {
    cache = previous;
  }
}

/**
 * The resource's template entry with every token resolved in its own stack; `undefined` when
 * the resource is not synthesized (`shouldSynthesize()` false) or cannot be rendered.
 */
export function templateEntry(node: CfnResource): TemplateEntry | undefined {
  if (cache?.entries.has(node)) return cache.entries.get(node);
  const entry = renderEntry(node);
  cache?.entries.set(node, entry);
  return entry;
}

/** `Resources` of the templates CDK has just synthesized, by template file name (see {@link withSynthesizedTemplates}). */
let synthesized: Map<string, Json> | undefined;

/**
 * Runs `fn` reading each resource's entry from the templates CDK has already written (the
 * validation context's `templatePaths`) instead of resolving the resource again: the same JSON,
 * without a second resolution of every token. Resources not found there are rendered as usual.
 */
export function withSynthesizedTemplates<T>(templatePaths: readonly string[], fn: () => T): T {
  const previous = synthesized;
  const map = new Map<string, Json>();
  for (const file of templatePaths) {
    try {
      const template = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
      if (isObject(template.Resources)) map.set(path.basename(file), template.Resources);
    } catch {
      // Unreadable template: its resources are rendered from the construct tree instead.
    }
  }
  synthesized = map;
  try {
    return fn();
  } finally {
    synthesized = previous;
  }
}

function synthesizedEntry(node: CfnResource): unknown {
  if (!synthesized || synthesized.size === 0) return undefined;
  try {
    return synthesized.get(Stack.of(node).templateFile)?.[logicalIdOf(node)];
  } catch {
    return undefined;
  }
}

function renderEntry(node: CfnResource): TemplateEntry | undefined {
  const fromTemplate = synthesizedEntry(node);
  if (isObject(fromTemplate)) return toTemplateEntry(node, fromTemplate);
  let rendered: unknown;
  try {
    const stack = Stack.of(node);
    rendered = stack.resolve((node as unknown as { _toCloudFormation(): unknown })._toCloudFormation());
  } catch {
    return undefined;
  }
  const resources = isObject(rendered) ? rendered.Resources : undefined;
  if (!isObject(resources)) return undefined;
  const entry = Object.values(resources)[0];
  if (!isObject(entry)) return undefined;
  return toTemplateEntry(node, entry);
}

function toTemplateEntry(node: CfnResource, entry: Json): TemplateEntry {
  return {
    Type: typeof entry.Type === 'string' ? entry.Type : node.cfnResourceType,
    Properties: isObject(entry.Properties) ? entry.Properties : {},
    DeletionPolicy: entry.DeletionPolicy,
    UpdateReplacePolicy: entry.UpdateReplacePolicy,
  };
}

/** The resource's resolved CloudFormation `Properties` (`{}` when it has none). */
export function cfnProperties(node: CfnResource): Json {
  return templateEntry(node)?.Properties ?? {};
}

/** True when `node` is a CfnResource of one of `types` (typed L1 or generic). */
export function isCfnType(node: IConstruct, ...types: string[]): boolean {
  return CfnResource.isCfnResource(node) && types.includes(node.cfnResourceType);
}

/** The resource's logical id in its stack (memoised during {@link withCfnCache}). */
export function logicalIdOf(node: CfnResource): string {
  const cached = cache?.logicalIds.get(node);
  if (cached !== undefined) return cached;
  const id = Stack.of(node).resolve(node.logicalId) as string;
  cache?.logicalIds.set(node, id);
  return id;
}

/** Every CfnResource of `type` (any type when omitted) in the same stack as `node` (nested stacks excluded). */
export function stackResources(node: IConstruct, type?: string): CfnResource[] {
  const all = stackIndex(Stack.of(node)).all;
  return type === undefined ? all : all.filter((c) => c.cfnResourceType === type);
}

function stackIndex(stack: Stack): { readonly all: CfnResource[]; readonly byLogicalId: Map<string, CfnResource> } {
  const cached = cache?.stacks.get(stack);
  if (cached) return cached;
  const all = stack.node.findAll().filter((c): c is CfnResource => CfnResource.isCfnResource(c) && Stack.of(c) === stack);
  const index = { all, byLogicalId: new Map(all.map((r) => [logicalIdOf(r), r] as const)) };
  cache?.stacks.set(stack, index);
  return index;
}

/** Every CfnResource of `type` in the whole app that `node` belongs to. */
export function appResources(node: IConstruct, type: string): CfnResource[] {
  const root = node.node.root;
  let all = cache?.apps.get(root);
  if (!all) {
    all = root.node.findAll().filter((c): c is CfnResource => CfnResource.isCfnResource(c));
    cache?.apps.set(root, all);
  }
  return all.filter((c) => c.cfnResourceType === type);
}

/** The resource with logical id `logicalId` in `node`'s stack. */
export function resourceByLogicalId(node: IConstruct, logicalId: string): CfnResource | undefined {
  return stackIndex(Stack.of(node)).byLogicalId.get(logicalId);
}

/** The logical id a resolved `{ Ref }` or `{ "Fn::GetAtt" }` points at (pseudo parameters excluded). */
export function referencedLogicalId(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  if (definedKeys(value).length !== 1) return undefined;
  if (typeof value.Ref === 'string') return value.Ref.startsWith('AWS::') ? undefined : value.Ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

/** The attribute name of a resolved `{ "Fn::GetAtt" }` (`undefined` for `{ Ref }`). */
export function referencedAttribute(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[1] === 'string') return getAtt[1];
  if (typeof getAtt === 'string' && getAtt.includes('.')) return getAtt.slice(getAtt.indexOf('.') + 1);
  return undefined;
}

/**
 * The resource in `node`'s stack that a resolved reference points at; with `type`, only when it
 * is of that type.
 */
export function referencedResource(node: IConstruct, value: unknown, type?: string): CfnResource | undefined {
  const id = referencedLogicalId(value);
  if (id === undefined) return undefined;
  const target = resourceByLogicalId(node, id);
  if (target && type !== undefined && target.cfnResourceType !== type) return undefined;
  return target;
}

/**
 * The `AWS::Logs::LogGroup` in `node`'s stack that a log group ARN value names: a reference to it
 * (`{ Fn::GetAtt: [G, Arn] }`), or the `Fn::Join` of `…:log-group:` and a `{ Ref }` to it (what
 * the `@aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard` flag emits).
 */
export function referencedLogGroup(node: IConstruct, value: unknown): CfnResource | undefined {
  const direct = referencedResource(node, value, 'AWS::Logs::LogGroup');
  if (direct) return direct;
  if (!isObject(value) || !Array.isArray(value['Fn::Join'])) return undefined;
  const [separator, parts] = value['Fn::Join'] as [unknown, unknown];
  if (separator !== '' || !Array.isArray(parts)) return undefined;
  const markerIndex = parts.findIndex((p) => typeof p === 'string' && p.endsWith(':log-group:'));
  if (markerIndex < 0 || markerIndex !== parts.length - 2) return undefined;
  return referencedResource(node, parts[parts.length - 1], 'AWS::Logs::LogGroup');
}

/** True when a resolved value is (or points at) `target`: `{ Ref }`/`{ Fn::GetAtt }` to it. */
export function refersTo(value: unknown, target: CfnResource): boolean {
  const id = referencedLogicalId(value);
  return id !== undefined && logicalIdOf(target) === id;
}

/** The keys of an object whose values are defined (rendered L1 objects keep `undefined` members). */
export function definedKeys(value: Json): string[] {
  return Object.keys(value).filter((k) => value[k] !== undefined);
}

/** True for a plain (non-array) object. */
export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True for a resolved CloudFormation intrinsic (`{ Ref }`, `{ "Fn::…" }`, `{ Condition }`). */
export function isIntrinsic(value: unknown): boolean {
  if (!isObject(value)) return false;
  const keys = definedKeys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' || keys[0].startsWith('Fn::'));
}

/** The value when it is a literal string, else `undefined`. */
export function asString(value: unknown): string | undefined {
  return typeof value === 'string' && !Token.isUnresolved(value) ? value : undefined;
}

/** Literal `true`/`false` (CloudFormation also takes the strings `"true"`/`"false"`), else `undefined`. */
export function asBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'TRUE' || value === 'True') return true;
  if (value === 'false' || value === 'FALSE' || value === 'False') return false;
  return undefined;
}

/** A literal number (or numeric string), else `undefined`. */
export function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}

/** Intrinsics that produce a list, or that may produce anything (`Fn::If`). */
const LIST_INTRINSICS = ['Fn::Split', 'Fn::GetAZs', 'Fn::Cidr', 'Fn::If', 'Fn::FindInMap', 'Fn::Transform', 'Fn::ForEach'];

/**
 * A list: arrays as they are, a single value (a literal or a scalar intrinsic such as
 * `Ref`/`Fn::GetAtt`/`Fn::Join`) as a one-item list, absent as `[]`; `undefined` when the list
 * itself is an unresolved list intrinsic (`Fn::Split`, `Fn::If`, …). Items may still be intrinsics.
 */
export function asList(value: unknown): unknown[] | undefined {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  if (isIntrinsic(value) && LIST_INTRINSICS.includes(definedKeys(value as Json)[0])) return undefined;
  return [value];
}

/** `Sid` of a policy statement or its index, for stable finding names. */
export function statementLabel(statement: unknown, index: number): string {
  const sid = isObject(statement) ? asString(statement.Sid) : undefined;
  return sid && /^[A-Za-z0-9_-]+$/.test(sid) ? sid : String(index);
}

/**
 * Renders a resolved value (a string, or `Ref`/`GetAtt`/`Join`/`Sub`/`ImportValue` over them)
 * as one string in which each reference to a resource of `node`'s stack becomes
 * `«<construct path>»` (`«<path>.<Attr>»` for GetAtt) and each pseudo parameter `«AWS::Region»`.
 * `undefined` when some part cannot be rendered (`Fn::If`, `Fn::Split`, …).
 */
export function renderReferences(node: IConstruct, value: unknown, depth = 0): string | undefined {
  if (depth > 20) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (!isObject(value)) return undefined;
  if (typeof value.Ref === 'string') {
    if (value.Ref.startsWith('AWS::')) return `«${value.Ref}»`;
    const target = resourceByLogicalId(node, value.Ref);
    return `«${target ? target.node.path : `?${value.Ref}`}»`;
  }
  if (value['Fn::GetAtt'] !== undefined) {
    const id = referencedLogicalId(value);
    const attr = referencedAttribute(value);
    if (id === undefined) return undefined;
    const target = resourceByLogicalId(node, id);
    return `«${target ? target.node.path : `?${id}`}.${attr ?? ''}»`;
  }
  const join = value['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    const parts = join[1].map((p) => renderReferences(node, p, depth + 1));
    return parts.every((p) => p !== undefined) ? parts.join(join[0]) : undefined;
  }
  const sub = value['Fn::Sub'];
  if (typeof sub === 'string' || (Array.isArray(sub) && typeof sub[0] === 'string')) {
    const template = typeof sub === 'string' ? sub : (sub[0] as string);
    const vars = Array.isArray(sub) && isObject(sub[1]) ? sub[1] : {};
    let failed = false;
    const out = template.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, name: string) => {
      if (bang) return `\${${name}}`;
      if (name in vars) {
        const r = renderReferences(node, vars[name], depth + 1);
        if (r === undefined) failed = true;
        return r ?? '';
      }
      const [id, attr] = name.split('.', 2);
      return renderReferences(node, attr ? { 'Fn::GetAtt': [id, attr] } : { Ref: id }, depth + 1) ?? '';
    });
    return failed ? undefined : out;
  }
  if (value['Fn::ImportValue'] !== undefined) {
    const inner = renderReferences(node, value['Fn::ImportValue'], depth + 1);
    return inner === undefined ? undefined : `«import:${inner}»`;
  }
  return undefined;
}

/**
 * Like {@link renderReferences} but from an unresolved token string (a typed L1's field), which
 * still knows the construct it points at even across stacks: each `Reference` token becomes
 * `«<construct path>»` / `«<path>.<Attr>»`. `undefined` when `value` is not a string.
 */
export function renderTokenReferences(node: IConstruct, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (!Token.isUnresolved(value)) return value;
  const fragments = Tokenization.reverseString(value);
  const stack = Stack.of(node);
  const mapped = fragments.mapTokens({
    mapToken: (t: IResolvable) => {
      if (Reference.isReference(t) && CfnResource.isCfnResource(t.target)) {
        return t.displayName === 'Ref' ? `«${t.target.node.path}»` : `«${t.target.node.path}.${t.displayName}»`;
      }
      const resolved = stack.resolve(t);
      return renderReferences(node, resolved) ?? '«?»';
    },
  });
  return mapped.join({ join: (left: unknown, right: unknown) => `${String(left)}${String(right)}` }) as string;
}
