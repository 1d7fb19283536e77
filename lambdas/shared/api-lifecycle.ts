/**
 * The lifecycle of one public API version (`/r4` under a stage per version): active, deprecated
 * (a notice date and a sunset date), retired. Used by the FHIR proxy and the SMART façade:
 *
 * - a deprecated version answers every response with `Deprecation` (RFC 9745: `@<epoch
 *   seconds>` of the notice), `Sunset` (RFC 8594: the HTTP-date of the end) and, when migration
 *   notes are configured, `Link: <notes>; rel="deprecation"`; its CapabilityStatement and SMART
 *   discovery document say so too;
 * - from the sunset date on, and for a retired version, every request is answered
 *   `410 Gone` with an OperationOutcome naming the successor.
 *
 * Pure: no I/O. The configuration is validated once ({@link parseApiLifecycle}).
 */
import { isObject } from './json';

/** Extension on a deprecated version's CapabilityStatement: `valueDateTime` is the sunset date. */
export const API_DEPRECATION_EXTENSION = 'https://zero-trust-fhir.example.org/fhir/StructureDefinition/api-version-sunset';

export type ApiVersionStatus = 'active' | 'deprecated' | 'retired';

export interface ApiLifecycle {
  /** The version's name, e.g. `v1` (the API Gateway stage). */
  readonly version: string;
  readonly status: ApiVersionStatus;
  /** The date the deprecation was announced (ISO 8601 date or date-time). Required when deprecated. */
  readonly deprecatedAt?: string;
  /** The date the version stops answering (ISO 8601). Required when deprecated. */
  readonly sunsetAt?: string;
  /** The version that replaces this one, e.g. `v2` (named in the 410 answer). */
  readonly successor?: string;
  /** The migration notes (absolute https URL), linked with `rel="deprecation"`. */
  readonly migrationNotesUrl?: string;
}

/** What a request to the version gets at a given time. */
export type LifecycleState =
  | { readonly kind: 'active' }
  | { readonly kind: 'deprecated'; readonly headers: Readonly<Record<string, string>> }
  | { readonly kind: 'gone'; readonly message: string; readonly headers: Readonly<Record<string, string>> };

const VERSION = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function date(value: unknown, field: string): number {
  if (typeof value !== 'string' || !DATE.test(value) || Number.isNaN(Date.parse(value))) {
    throw new Error(`API lifecycle: ${field} must be an ISO 8601 date (e.g. 2027-06-30)`);
  }
  return Date.parse(value);
}

/** Validates a lifecycle configuration (from a construct prop or the handler's environment). */
export function parseApiLifecycle(value: unknown): ApiLifecycle {
  if (!isObject(value)) throw new Error('API lifecycle: must be an object');
  const { version, status, deprecatedAt, sunsetAt, successor, migrationNotesUrl } = value;
  if (typeof version !== 'string' || !VERSION.test(version)) throw new Error('API lifecycle: version must be a name like v1');
  if (status !== 'active' && status !== 'deprecated' && status !== 'retired') throw new Error('API lifecycle: status must be active, deprecated or retired');
  if (status === 'deprecated') {
    if (deprecatedAt === undefined || sunsetAt === undefined) throw new Error(`API lifecycle: a deprecated version (${version}) needs deprecatedAt and sunsetAt`);
    if (date(sunsetAt, 'sunsetAt') <= date(deprecatedAt, 'deprecatedAt')) throw new Error(`API lifecycle: ${version} sunsetAt must be after deprecatedAt`);
  } else {
    if (deprecatedAt !== undefined) date(deprecatedAt, 'deprecatedAt');
    if (sunsetAt !== undefined) date(sunsetAt, 'sunsetAt');
  }
  if (successor !== undefined && (typeof successor !== 'string' || !VERSION.test(successor))) throw new Error('API lifecycle: successor must be a version name like v2');
  if (migrationNotesUrl !== undefined && (typeof migrationNotesUrl !== 'string' || !/^https:\/\/[^\s<>"]+$/.test(migrationNotesUrl))) {
    throw new Error('API lifecycle: migrationNotesUrl must be an absolute https URL');
  }
  return {
    version,
    status,
    ...(deprecatedAt !== undefined ? { deprecatedAt: deprecatedAt as string } : {}),
    ...(sunsetAt !== undefined ? { sunsetAt: sunsetAt as string } : {}),
    ...(successor !== undefined ? { successor: successor as string } : {}),
    ...(migrationNotesUrl !== undefined ? { migrationNotesUrl: migrationNotesUrl as string } : {}),
  };
}

/** The deprecation headers of a version (none when it has no notice). */
export function deprecationHeaders(l: ApiLifecycle): Record<string, string> {
  const out: Record<string, string> = {};
  if (l.deprecatedAt !== undefined && l.status !== 'active') out.Deprecation = `@${Math.floor(Date.parse(l.deprecatedAt) / 1000)}`;
  if (l.sunsetAt !== undefined && l.status !== 'active') out.Sunset = new Date(Date.parse(l.sunsetAt)).toUTCString();
  if (l.migrationNotesUrl !== undefined && l.status !== 'active') out.Link = `<${l.migrationNotesUrl}>; rel="deprecation"; type="text/html"`;
  return out;
}

const ACTIVE: LifecycleState = Object.freeze({ kind: 'active' });

/** A lifecycle's two non-active states and its sunset instant, built once per lifecycle (the handlers parse theirs once per container). */
interface Derived {
  readonly sunset: number | undefined;
  readonly deprecated: LifecycleState;
  readonly gone: LifecycleState;
}
const DERIVED = new WeakMap<ApiLifecycle, Derived>();

function derived(l: ApiLifecycle): Derived {
  let d = DERIVED.get(l);
  if (d === undefined) {
    const headers = Object.freeze(deprecationHeaders(l));
    const successor = l.successor !== undefined ? `; use API version ${l.successor}` : '';
    d = {
      sunset: l.sunsetAt !== undefined ? Date.parse(l.sunsetAt) : undefined,
      deprecated: Object.freeze({ kind: 'deprecated', headers }),
      gone: Object.freeze({ kind: 'gone', message: `API version ${l.version} has been retired${successor}`, headers }),
    };
    DERIVED.set(l, d);
  }
  return d;
}

/** The version's state at `now`: active, deprecated (with its headers), or gone (410). */
export function lifecycleState(l: ApiLifecycle | undefined, now: Date): LifecycleState {
  if (l === undefined || l.status === 'active') return ACTIVE;
  const d = derived(l);
  return l.status === 'retired' || (d.sunset !== undefined && now.getTime() >= d.sunset) ? d.gone : d.deprecated;
}

/** A deprecation notice for documents that describe the API (CapabilityStatement, discovery). */
export function deprecationNotice(l: ApiLifecycle): string {
  const successor = l.successor !== undefined ? `; use API version ${l.successor}` : '';
  return `API version ${l.version} is deprecated (announced ${l.deprecatedAt}) and ends on ${l.sunsetAt}${successor}`;
}

/** The placeholder a versioned base URL template carries for the API version (the stage). */
export const VERSION_PLACEHOLDER = '{version}';

/**
 * Validates the list of API versions served side by side (a stage per version): at least one,
 * names unique, each a valid lifecycle, a successor naming a listed version that is not retired,
 * and no version its own successor.
 */
export function parseApiVersions(value: unknown): ApiLifecycle[] {
  if (!Array.isArray(value) || value.length === 0) throw new Error('API lifecycle: the versions must be a non-empty list');
  if (value.length > 20) throw new Error('API lifecycle: at most 20 versions');
  const versions = value.map((v, i) => {
    try {
      return parseApiLifecycle(v);
    } catch (err) {
      throw new Error(`API lifecycle: versions[${i}]: ${(err as Error).message.replace(/^API lifecycle: /, '')}`);
    }
  });
  const byName = new Map<string, ApiLifecycle>();
  for (const v of versions) {
    if (byName.has(v.version)) throw new Error(`API lifecycle: version ${v.version} is listed twice`);
    byName.set(v.version, v);
  }
  for (const v of versions) {
    if (v.successor === undefined) continue;
    const next = byName.get(v.successor);
    if (v.successor === v.version) throw new Error(`API lifecycle: ${v.version} names itself as its successor`);
    if (next === undefined) throw new Error(`API lifecycle: the successor of ${v.version} (${v.successor}) is not a listed version`);
    if (next.status === 'retired') throw new Error(`API lifecycle: the successor of ${v.version} (${v.successor}) is retired`);
  }
  if (!versions.some((v) => v.status !== 'retired')) throw new Error('API lifecycle: at least one version must be active or deprecated');
  return versions;
}

/** What is wrong with a list of versions (for an environment check), or undefined when it is valid. */
export function apiVersionsProblem(value: unknown): string | undefined {
  try {
    parseApiVersions(value);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^API lifecycle: /, '');
  }
}

/**
 * The lifecycle of the version a request reached (its API Gateway stage). No list: `single`, the
 * one version's lifecycle whatever the stage (`undefined`: active). A stage that is not listed:
 * `'unlisted'` (the caller answers 404).
 */
export function lifecycleOfStage(versions: readonly ApiLifecycle[] | undefined, stage: unknown, single?: ApiLifecycle): ApiLifecycle | 'unlisted' | undefined {
  if (versions === undefined || versions.length === 0) return single;
  const found = typeof stage === 'string' ? versions.find((v) => v.version === stage) : undefined;
  return found ?? 'unlisted';
}

/** The version a new app should use: the last active one listed, else the last deprecated one. */
export function currentVersion(versions: readonly ApiLifecycle[]): ApiLifecycle {
  const active = versions.filter((v) => v.status === 'active');
  if (active.length > 0) return active[active.length - 1];
  const live = versions.filter((v) => v.status !== 'retired');
  if (live.length === 0) throw new Error('API lifecycle: no version is active or deprecated');
  return live[live.length - 1];
}

/** A base URL for one version: `{version}` in the template replaced by the version's name. */
export function versionedUrl(template: string, version: string | undefined): string {
  return template.split(VERSION_PLACEHOLDER).join(version ?? '');
}
