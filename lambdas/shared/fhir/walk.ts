/**
 * The one bounded walker over FHIR JSON: every resource inside a body, and every element inside a
 * resource, with ONE depth limit ({@link MAX_DEPTH}) for every walk the kit makes.
 *
 * Nested resources (the enforcement rule of `shared/DESIGN.md`: the proxy decides on what it has
 * seen whole): a resource holds other resources in exactly these slots, and only these:
 * - `contained[]` of any resource;
 * - `entry[].resource` of a Bundle (a search result, or a stored document, collection, message…);
 * - `parameter[].resource` of a Parameters resource, and the same inside `parameter[].part[]`.
 * {@link nestedResources} lists a resource's direct nested resources with their slot, and
 * {@link walkResources} visits a body's resources depth first (the body itself first). Element
 * walks ({@link isNestedSlot}) skip those slots: a nested resource is decided on its own.
 *
 * Depth: a body nested deeper than {@link MAX_DEPTH} (objects and arrays both count) is refused
 * whole by every caller (`TooDeep`), never half walked.
 */
import { isObject, type JsonObject } from '../json';

/** The deepest a JSON body may nest (objects and arrays), in every walk. */
export const MAX_DEPTH = 64;

/** Thrown when a walk goes past {@link MAX_DEPTH}: the caller refuses the body whole. */
export class TooDeep extends Error {
  constructor() {
    super('FHIR JSON nested too deeply');
    this.name = 'TooDeep';
  }
}

/** Where a nested resource sits in its container. */
export type NestedSlot =
  | { readonly kind: 'contained'; readonly index: number }
  | { readonly kind: 'entry'; readonly index: number }
  /** `path`: indexes through `parameter[]` then `part[]`… to the parameter holding it. */
  | { readonly kind: 'parameter'; readonly path: readonly number[] };

export interface Nested {
  readonly slot: NestedSlot;
  readonly resource: JsonObject;
}

/** True for a JSON object with a string `resourceType`. */
export function isResource(value: unknown): value is JsonObject & { resourceType: string } {
  return isObject(value) && typeof value.resourceType === 'string';
}

/**
 * The element key of a resource that holds nested resources (`contained` and a Bundle's `entry`
 * on the resource itself; a Parameters' `resource` at any depth, i.e. `parameter[].resource` and
 * `part[].resource`): element walks skip it, because each nested resource is decided on its own.
 * The rest of a parameter (its `value[x]`, extensions) belongs to the Parameters and is walked.
 * `depth` is the depth of the object the key is on (0: the resource itself).
 */
export function isNestedSlot(resource: JsonObject, key: string, depth: number): boolean {
  if (resource.resourceType === 'Parameters') return key === 'resource' && depth > 0;
  if (depth !== 0) return false;
  return key === 'contained' || (key === 'entry' && resource.resourceType === 'Bundle');
}

/**
 * False when `resource` cannot hold a nested resource (no `contained`, not a Bundle or a
 * Parameters): a cheap test before {@link nestedResources}, from the same slots.
 */
export function mayHoldNested(resource: JsonObject): boolean {
  return resource.contained !== undefined || resource.resourceType === 'Bundle' || resource.resourceType === 'Parameters';
}

/** The resources directly nested in `resource` (not their own nested ones), in document order. */
export function nestedResources(resource: JsonObject): Nested[] {
  const out: Nested[] = [];
  const contained = resource.contained;
  if (Array.isArray(contained)) {
    contained.forEach((r, index) => {
      if (isResource(r)) out.push({ slot: { kind: 'contained', index }, resource: r });
    });
  }
  if (resource.resourceType === 'Bundle' && Array.isArray(resource.entry)) {
    resource.entry.forEach((e, index) => {
      if (isObject(e) && isResource(e.resource)) out.push({ slot: { kind: 'entry', index }, resource: e.resource });
    });
  }
  if (resource.resourceType === 'Parameters' && Array.isArray(resource.parameter)) {
    const visit = (params: unknown[], path: number[]): void => {
      if (path.length > MAX_DEPTH) throw new TooDeep();
      params.forEach((p, i) => {
        if (!isObject(p)) return;
        const here = [...path, i];
        if (isResource(p.resource)) out.push({ slot: { kind: 'parameter', path: here }, resource: p.resource });
        if (Array.isArray(p.part)) visit(p.part, here);
      });
    };
    visit(resource.parameter, []);
  }
  return out;
}

/**
 * Visits `body` (when it is a resource) and every resource nested in it, recursively, depth first,
 * each with its nesting level (0: the body). Throws {@link TooDeep} past {@link MAX_DEPTH}.
 */
export function walkResources(body: unknown, visit: (resource: JsonObject, level: number) => void, level = 0): void {
  if (!isResource(body)) return;
  if (level > MAX_DEPTH) throw new TooDeep();
  visit(body, level);
  for (const n of nestedResources(body)) walkResources(n.resource, visit, level + 1);
}

/**
 * A copy of `container` with its nested resources replaced (`replace` returns the new resource,
 * or undefined to remove it). Returns the container itself when nothing changed. Emptied
 * `contained`/`entry` lists are dropped; an entry whose resource is removed goes whole.
 */
export function replaceNested(container: JsonObject, nested: readonly Nested[], replace: (n: Nested) => JsonObject | undefined): JsonObject {
  let out: JsonObject | undefined;
  const contained = Array.isArray(container.contained) ? [...container.contained] : undefined;
  const entries = Array.isArray(container.entry) ? [...container.entry] : undefined;
  const params = Array.isArray(container.parameter) ? (JSON.parse(JSON.stringify(container.parameter)) as unknown[]) : undefined;
  const REMOVED = Symbol('removed');
  let changedContained = false;
  let changedEntries = false;
  let changedParams = false;
  for (const n of nested) {
    const next = replace(n);
    if (next === n.resource) continue;
    const slot = n.slot;
    if (slot.kind === 'contained' && contained) {
      contained[slot.index] = next ?? REMOVED;
      changedContained = true;
    } else if (slot.kind === 'entry' && entries) {
      entries[slot.index] = next === undefined ? REMOVED : { ...(entries[slot.index] as JsonObject), resource: next };
      changedEntries = true;
    } else if (slot.kind === 'parameter' && params) {
      let list: unknown[] = params;
      let p: JsonObject | undefined;
      for (let i = 0; i < slot.path.length; i++) {
        p = list[slot.path[i]] as JsonObject;
        if (i < slot.path.length - 1) list = p.part as unknown[];
      }
      if (p) {
        if (next === undefined) delete p.resource;
        else p.resource = next;
        changedParams = true;
      }
    }
  }
  if (changedContained && contained) {
    out = { ...(out ?? container) };
    const kept = contained.filter((r) => r !== REMOVED);
    if (kept.length > 0) out.contained = kept;
    else delete out.contained;
  }
  if (changedEntries && entries) {
    out = { ...(out ?? container) };
    const kept = entries.filter((e) => e !== REMOVED);
    if (kept.length > 0) out.entry = kept;
    else delete out.entry;
  }
  if (changedParams && params) {
    out = { ...(out ?? container), parameter: params };
  }
  return out ?? container;
}

/**
 * Visits every element value of `resource` that is an object or an array, skipping the
 * nested-resource slots ({@link isNestedSlot}): each property value (with its key), and each
 * object or array item of a list (with the list's key, so `performer[0]` is visited as
 * `performer`). `visit` returns true to stop early. Throws {@link TooDeep} past
 * {@link MAX_DEPTH}. Returns true when a visit stopped the walk.
 */
export function someElement(resource: JsonObject, visit: (key: string, value: object, parent: JsonObject | unknown[]) => boolean): boolean {
  const walk = (node: unknown, depth: number, key: string): boolean => {
    if (depth > MAX_DEPTH) throw new TooDeep();
    if (Array.isArray(node)) {
      for (const v of node) {
        if (v === null || typeof v !== 'object') continue;
        if (visit(key, v, node) || walk(v, depth + 1, key)) return true;
      }
      return false;
    }
    if (!isObject(node)) return false;
    for (const k in node) {
      if (!Object.prototype.hasOwnProperty.call(node, k)) continue;
      const v = node[k];
      if (v === null || typeof v !== 'object') continue;
      if (isNestedSlot(resource, k, depth)) continue;
      if (visit(k, v, node) || walk(v, depth + 1, k)) return true;
    }
    return false;
  };
  return walk(resource, 0, '');
}
