/**
 * FHIR R4 ids and literal references: the one parser the proxy uses to decide what a
 * `Reference.reference` points at.
 *
 * @see https://hl7.org/fhir/R4/datatypes.html#id
 * @see https://hl7.org/fhir/R4/references.html#literal
 */
import { isFhirResourceType, type FhirResourceType } from '../fhir-resource-types';

/** The R4 `id` datatype: 1 to 64 of `A-Z a-z 0-9 - .` (also used for version ids). */
export const FHIR_ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * True for a valid R4 id that is also safe as a URL path segment. R4 allows ids made only of
 * dots, but `.` and `..` are dot-segments that a URL parser removes (`Patient/..` would become
 * the type or base URL), so ids made only of dots are refused everywhere in the kit.
 */
export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && FHIR_ID_PATTERN.test(value) && !/^\.+$/.test(value);
}

/** A literal reference that points at a resource on this server. */
export interface LocalReference {
  readonly resourceType: FhirResourceType;
  readonly id: string;
  /** Present for version-specific references (`Type/id/_history/vid`). */
  readonly versionId?: string;
}

export interface ReferenceOptions {
  /**
   * Absolute base URLs (e.g. the public `https://fhir.example.org/r4` and the datastore endpoint)
   * under which an absolute reference counts as local. An absolute reference under any other
   * base points at another server and is never treated as local.
   * @default - none: only relative references are local
   */
  readonly baseUrls?: readonly string[];
}

const RELATIVE = /^([A-Z][A-Za-z]{0,63})\/([^/]+)(?:\/_history\/([^/]+))?$/;

/**
 * Normalizes a base URL for comparison: lower-case scheme and host, default port dropped, no
 * trailing slash. Returns undefined when `url` is not an absolute http(s) URL.
 */
export function normalizeBaseUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  if (parsed.search || parsed.hash || parsed.username || parsed.password) return undefined;
  const path = parsed.pathname.replace(/\/+$/, '');
  return `${parsed.protocol}//${parsed.host}${path}`;
}

/**
 * Parses a literal reference (`Patient/123`, `Patient/123/_history/2`, or an absolute URL under
 * one of `options.baseUrls`). Returns undefined for everything that does not identify a local
 * resource: contained references (`#p1`), `urn:uuid:`/`urn:oid:` references, conditional
 * references (`Patient?identifier=…`), absolute references to other servers, unknown resource
 * types and invalid ids. Logical references (`Reference.identifier` only) are not literal
 * references and are not handled here.
 */
export function parseReference(reference: unknown, options: ReferenceOptions = {}): LocalReference | undefined {
  if (typeof reference !== 'string' || reference.length === 0 || reference.length > 4096) return undefined;
  // The same few references (the patient, the practitioner) recur across a response: each is
  // parsed once per list of bases. The results are frozen, so sharing them is safe.
  const bases = options.baseUrls ?? NO_BASES;
  let cache = PARSED.get(bases);
  if (cache === undefined) PARSED.set(bases, (cache = new Map()));
  const hit = cache.get(reference);
  if (hit !== undefined) return hit === NOT_LOCAL ? undefined : hit;
  const parsed = parseUncached(reference, bases);
  if (cache.size >= PARSED_LIMIT) cache.clear();
  cache.set(reference, parsed ?? NOT_LOCAL);
  return parsed;
}

const NO_BASES: readonly string[] = [];
const NOT_LOCAL = Object.freeze({}) as LocalReference;
/** Parsed references per list of bases (a list no longer used is collected with its cache). */
const PARSED = new WeakMap<readonly string[], Map<string, LocalReference>>();
const PARSED_LIMIT = 4096;

function parseUncached(reference: string, baseUrls: readonly string[]): LocalReference | undefined {
  const match = RELATIVE.exec(reference) ?? RELATIVE.exec(relativeToBase(reference, baseUrls) ?? '');
  if (!match) return undefined;
  const [, type, id, versionId] = match;
  if (!isFhirResourceType(type) || !isValidId(id)) return undefined;
  if (versionId !== undefined && !isValidId(versionId)) return undefined;
  return Object.freeze(versionId === undefined ? { resourceType: type, id } : { resourceType: type, id, versionId });
}

/**
 * The normalized form of each list of bases, kept per list: callers pass the same constant list
 * (the proxy's public and datastore bases) for every reference, so each base is parsed once
 * rather than once per absolute reference. Lists are readonly; a list no longer used is collected.
 */
const NORMALIZED_BASES = new WeakMap<readonly string[], readonly string[]>();

function normalizedBases(baseUrls: readonly string[]): readonly string[] {
  let bases = NORMALIZED_BASES.get(baseUrls);
  if (bases === undefined) {
    bases = baseUrls.map(normalizeBaseUrl).filter((b): b is string => b !== undefined);
    NORMALIZED_BASES.set(baseUrls, bases);
  }
  return bases;
}

/** For an absolute reference under one of `baseUrls`, the part after the base; else undefined. */
function relativeToBase(reference: string, baseUrls: readonly string[]): string | undefined {
  if (baseUrls.length === 0 || !/^https?:\/\//i.test(reference)) return undefined;
  const normalized = normalizeBaseUrl(reference);
  if (normalized === undefined) return undefined;
  for (const b of normalizedBases(baseUrls)) {
    if (normalized.startsWith(`${b}/`)) return normalized.slice(b.length + 1);
  }
  return undefined;
}
