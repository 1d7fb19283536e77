/**
 * `_elements` and `_summary`, applied by the proxy AFTER it has decided on the whole resources.
 *
 * R4 lets a server answer such a request with a reduced copy that drops every non-mandatory
 * element, `subject`, `category` and `meta` included: deciding on that copy would find no patient
 * and no label. So these parameters never reach HealthLake ({@link withoutProjection}); the proxy
 * fetches whole resources, decides (`access.ts` `see`), and only then projects what it releases
 * ({@link projectBody}), with R4 semantics:
 * - `_summary=true`: the elements marked summary in the base definition, plus mandatory ones;
 * - `_summary=text`: `text`, `id`, `meta` and the mandatory elements;
 * - `_summary=data`: everything but `text`;
 * - `_summary=false`: the whole resource (no projection);
 * - `_summary=count`: no resources, only `total`, counted by the proxy over what the caller may
 *   see (withheld records are never counted: `proxy.ts` pages through the whole result);
 * - `_elements=a,b` (or `Type.a`): those top-level elements, plus `id`, `meta` and the mandatory
 *   elements (R4: a server SHOULD return mandatory elements); unknown names are ignored.
 * A projected resource carries the `SUBSETTED` tag (v3-ObservationValue) in `meta.tag`. The
 * resources of a search Bundle (matches and includes) are projected; the Bundle itself is not.
 * `_summary` and `_elements` together, or either twice, are refused (400).
 */
import { isObject, type JsonObject } from '../shared/json';
import { ELEMENT_TABLE } from '../shared/fhir/summary-elements';
import { refuse, type Denial } from './access';
import { OBSERVATION_VALUE_SYSTEM } from './labels';
import type { SearchParam } from './request';

export const SUBSETTED = 'SUBSETTED';
const PROJECTION_PARAMS: ReadonlySet<string> = new Set(['_elements', '_summary']);
const SUMMARY_MODES: ReadonlySet<string> = new Set(['true', 'text', 'data', 'count', 'false']);
const ELEMENT_NAME = /^(?:([A-Z][A-Za-z]{0,63})\.)?([a-z][A-Za-z0-9]{0,63})$/;

export type Projection =
  | { readonly kind: 'summary'; readonly mode: 'true' | 'text' | 'data' }
  | { readonly kind: 'count' }
  /** Element names by resource type (`*`: every type). */
  | { readonly kind: 'elements'; readonly names: ReadonlyMap<string, ReadonlySet<string>> };

/** The request's projection (undefined: none), or a refusal for a malformed one. */
export function projectionOf(params: readonly SearchParam[]): Projection | Denial | undefined {
  const found = params.filter((p) => PROJECTION_PARAMS.has(p.name));
  if (found.length === 0) return undefined;
  if (found.length > 1) return refuse('other', 400, 'Use one _summary or _elements parameter', [], 'invalid');
  const p = found[0];
  if (p.name === '_summary') {
    if (!SUMMARY_MODES.has(p.value)) return refuse('other', 400, 'Invalid _summary value', [], 'invalid');
    if (p.value === 'false') return undefined;
    if (p.value === 'count') return { kind: 'count' };
    return { kind: 'summary', mode: p.value as 'true' | 'text' | 'data' };
  }
  const names = new Map<string, Set<string>>();
  for (const raw of p.value.split(',')) {
    const m = ELEMENT_NAME.exec(raw.trim());
    if (!m) return refuse('other', 400, 'Invalid _elements value', [], 'invalid');
    const type = m[1] ?? '*';
    let set = names.get(type);
    if (!set) names.set(type, (set = new Set()));
    set.add(m[2]);
  }
  return { kind: 'elements', names };
}

/** The parameters without `_elements` and `_summary`: what is forwarded to HealthLake. */
export function withoutProjection(params: readonly SearchParam[]): readonly SearchParam[] {
  return params.some((p) => PROJECTION_PARAMS.has(p.name)) ? params.filter((p) => !PROJECTION_PARAMS.has(p.name)) : params;
}

/** Element names of the definition table (`value[x]` → `value`, choice). */
interface TypeElements {
  readonly mandatory: readonly string[];
  readonly summary: readonly string[];
}
const TABLE_CACHE = new Map<string, TypeElements>();

function elementsOf(type: string): TypeElements {
  let found = TABLE_CACHE.get(type);
  if (!found) {
    const row = Object.prototype.hasOwnProperty.call(ELEMENT_TABLE, type) ? ELEMENT_TABLE[type] : ['', ''];
    const split = (s: string) => s.split(' ').filter((n) => n !== '');
    found = { mandatory: split(row[0]), summary: split(row[1]) };
    TABLE_CACHE.set(type, found);
  }
  return found;
}

/** True when JSON property `key` is element `name` (a choice `value[x]` is `valueQuantity`, …; `_x` goes with `x`). */
function isElement(key: string, name: string): boolean {
  const k = key.startsWith('_') ? key.slice(1) : key;
  if (!name.endsWith('[x]')) return k === name;
  const base = name.slice(0, -3);
  return k.length > base.length && k.startsWith(base) && k.charCodeAt(base.length) >= 65 && k.charCodeAt(base.length) <= 90;
}

function keeps(key: string, names: readonly string[]): boolean {
  for (const n of names) if (isElement(key, n)) return true;
  return false;
}

/** Per projection, per resource type: JSON key → kept (every resource of a type shares its keys). */
const KEPT = new WeakMap<Projection, Map<string, Map<string, boolean>>>();

function keptKeys(projection: Exclude<Projection, { kind: 'count' }>, type: string): Map<string, boolean> {
  let byType = KEPT.get(projection);
  if (!byType) KEPT.set(projection, (byType = new Map()));
  let keys = byType.get(type);
  if (!keys) {
    if (byType.size >= 256) byType.clear();
    byType.set(type, (keys = new Map()));
  }
  return keys;
}

/** Whether a projection keeps JSON property `key` of a resource of `type`. */
function kept(projection: Exclude<Projection, { kind: 'count' }>, type: string, key: string): boolean {
  const table = elementsOf(type);
  if (projection.kind === 'summary') {
    if (projection.mode === 'data') return key !== 'text' && key !== '_text';
    if (projection.mode === 'text') return ['text', 'id', 'meta'].some((n) => isElement(key, n)) || keeps(key, table.mandatory);
    return keeps(key, table.summary) || keeps(key, table.mandatory);
  }
  const asked = [...(projection.names.get('*') ?? []), ...(projection.names.get(type) ?? [])];
  return key === 'id' || key === 'meta' || keeps(key, asked) || keeps(key, table.mandatory);
}

/** One released resource, projected (a new object marked `SUBSETTED`), or the resource itself. */
export function projectResource(resource: JsonObject, projection: Projection): JsonObject {
  if (projection.kind === 'count') return resource;
  const type = typeof resource.resourceType === 'string' ? resource.resourceType : '';
  const keys = keptKeys(projection, type);
  const out: JsonObject = { resourceType: resource.resourceType };
  for (const key of Object.keys(resource)) {
    if (key === 'resourceType') continue;
    let keep = keys.get(key);
    if (keep === undefined) {
      keep = kept(projection, type, key);
      if (keys.size < 1024) keys.set(key, keep);
    }
    if (!keep) continue;
    // A stored own `__proto__` property is copied as data, never as a prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: resource[key], enumerable: true, writable: true, configurable: true });
    else out[key] = resource[key];
  }
  const meta = isObject(out.meta) ? out.meta : {};
  const tags = Array.isArray(meta.tag) ? meta.tag : [];
  const marked = tags.some((t) => isObject(t) && t.system === OBSERVATION_VALUE_SYSTEM && t.code === SUBSETTED);
  out.meta = marked ? meta : { ...meta, tag: [...tags, { system: OBSERVATION_VALUE_SYSTEM, code: SUBSETTED, display: 'subsetted' }] };
  return out;
}

/**
 * A released response body projected: a Bundle's entry resources (not the Bundle), or the single
 * resource. OperationOutcomes are never projected.
 */
export function projectBody(body: unknown, projection: Projection | undefined): unknown {
  if (projection === undefined || !isObject(body)) return body;
  if (body.resourceType === 'OperationOutcome') return body;
  if (body.resourceType === 'Bundle' && (body.type === 'searchset' || body.type === 'history')) {
    if (!Array.isArray(body.entry)) return body;
    return {
      ...body,
      entry: body.entry.map((e) =>
        isObject(e) && isObject(e.resource) && e.resource.resourceType !== 'OperationOutcome' ? { ...e, resource: projectResource(e.resource, projection) } : e,
      ),
    };
  }
  return projectResource(body, projection);
}
