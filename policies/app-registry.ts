/**
 * The third-party app registry: `policies/apps.json`, validated against `policies/apps.schema.json`
 * (structure, with ajv) and then by the cross-field rules below (what JSON Schema cannot say).
 *
 * Every error names the file, the app (id and index) and the field, so a bad entry fails the
 * synth with a message a reviewer can act on:
 * `policies/apps.json: app "acme-portal" (apps[2]): field "redirectUris[0]": must use https`.
 *
 * Rules beyond the schema:
 * - `redirectUris`: absolute, `https:` (or `http:` on `localhost` / `127.0.0.1` only), no
 *   fragment, no user info, no wildcard; at least one unless the app is a confidential client
 *   holding only `system/` resource scopes (client credentials, no browser).
 * - `scopes`: each accepted by the SMART grammar (`lambdas/shared/smart-scopes.ts`) with nothing
 *   rejected; a resource scope must be representable as a Cognito custom scope (so granular
 *   restrictions use codes without a system URL: Cognito scope names cannot contain `/`);
 *   `system/` scopes only for `confidential` clients; `fhirUser` needs `openid`.
 * - dates are real calendar dates; `securityAssessment.expires` is after `securityAssessment.date`.
 * - `id` and `identifier` (system + value) are unique across the registry.
 * - `throttle` fields not given take the tier's defaults ({@link TIER_DEFAULTS}).
 * - `maxPatientsPerHour` (optional, 1–1,000,000): the distinct patients per hour the app should
 *   need; absent, the tier's default ({@link maxPatientsPerHour}). `AppMonitoring` alarms above it.
 */
import * as path from 'node:path';
import { parseScope, toCognitoScope } from '../lambdas/shared/smart-scopes';
import schema from './apps.schema.json';
import { compileSchema, describeSchemaError, fieldPath, plainJsonCopy, readJsonFile, readSuppliedJsonFile, repoFileLabel, throwIfProblems } from './schema-errors';

export type RiskTier = 'low' | 'medium' | 'high';

export interface AppThrottle {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Token-bucket size (requests). */
  readonly burstLimit: number;
  /** Requests per day. */
  readonly quotaPerDay: number;
}

export interface RegisteredApp {
  readonly id: string;
  readonly name: string;
  readonly vendor: string;
  /** The app's business identifier; FHIR Consent provisions name it as actor. */
  readonly identifier: { readonly system: string; readonly value: string };
  readonly tier: RiskTier;
  readonly clientType: 'public' | 'confidential';
  readonly redirectUris: readonly string[];
  /** SMART scopes as they appear in tokens. */
  readonly scopes: readonly string[];
  readonly baa?: { readonly reference: string; readonly signed?: string };
  readonly securityAssessment: { readonly date: string; readonly reviewer: string; readonly expires: string };
  /** Usage-plan limits, tier defaults applied to fields the registry leaves out. */
  readonly throttle: AppThrottle;
  /** Security-label codes the app is cleared for (empty when none). */
  readonly labels: readonly string[];
  /**
   * Distinct patients per hour the app should need, as registered.
   * @default - the tier's `maxPatientsPerHour` ({@link maxPatientsPerHour} applies it)
   */
  readonly maxPatientsPerHour?: number;
  /**
   * The environments the app may be registered in; an app for sandbox only never reaches a
   * staging or production registry (`SmartAppRegistry` fails the synth).
   * @default - any environment
   */
  readonly environments?: readonly ('sandbox' | 'staging' | 'production')[];
  /**
   * The API versions the app uses (`v1`, `v2`, …), as recorded when it was registered or
   * migrated. `FhirGateway` fails the synth when one is not a version it was given or is retired;
   * the reviewer's report calls out an app on a deprecated version with its sunset date.
   * @default - not recorded
   */
  readonly apiVersions?: readonly string[];
}

export interface TierSettings {
  /** Access-token lifetime (≤ 60). */
  readonly accessTokenMinutes: number;
  /** ID-token lifetime (≤ 60). */
  readonly idTokenMinutes: number;
  /** Refresh-token lifetime (only used where `offline_access` is registered). */
  readonly refreshTokenDays: number;
  /** Default usage-plan limits. */
  readonly throttle: AppThrottle;
  /**
   * Default distinct patients per hour an app should need. The sample registry's tiers follow
   * what an app reaches: a patient-facing app (low) sees its user's own record, about one patient
   * an hour, so 5 leaves room for a family's proxies; a clinician app (medium) a day's panel; a
   * backend or population app (high) many, and should register its own figure.
   */
  readonly maxPatientsPerHour: number;
}

/**
 * Token lifetimes and default throttling by risk tier: the higher the risk, the shorter the
 * tokens and the lower the limits. Every access and ID token lives at most 60 minutes (the
 * `FHIR.HIPAA-CognitoClientTokenValidity` ceiling).
 */
export const TIER_DEFAULTS: Readonly<Record<RiskTier, TierSettings>> = Object.freeze({
  low: Object.freeze({
    accessTokenMinutes: 60,
    idTokenMinutes: 60,
    refreshTokenDays: 30,
    throttle: Object.freeze({ rateLimit: 50, burstLimit: 100, quotaPerDay: 100_000 }),
    maxPatientsPerHour: 5,
  }),
  medium: Object.freeze({
    accessTokenMinutes: 30,
    idTokenMinutes: 30,
    refreshTokenDays: 7,
    throttle: Object.freeze({ rateLimit: 20, burstLimit: 40, quotaPerDay: 50_000 }),
    maxPatientsPerHour: 50,
  }),
  high: Object.freeze({
    accessTokenMinutes: 15,
    idTokenMinutes: 15,
    refreshTokenDays: 1,
    throttle: Object.freeze({ rateLimit: 5, burstLimit: 10, quotaPerDay: 10_000 }),
    maxPatientsPerHour: 500,
  }),
});

/** An invalid registry. The message names the file, the app and the field. */
export class AppRegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppRegistryError';
  }
}

/** The registry file this module reads by default: `apps.json` next to it. */
export const DEFAULT_APP_REGISTRY_FILE = path.join(__dirname, 'apps.json');

const DEFAULT_LABEL = 'policies/apps.json';

const validateSchema = compileSchema(schema);

// ---------------------------------------------------------------------------------------------
// Error formatting
// ---------------------------------------------------------------------------------------------

function appLabel(apps: unknown, index: number): string {
  const app = Array.isArray(apps) ? (apps[index] as unknown) : undefined;
  const id = app !== null && typeof app === 'object' ? (app as Record<string, unknown>).id : undefined;
  const safeId = typeof id === 'string' && /^[\x20-\x7e]{1,64}$/.test(id) ? id : undefined;
  return safeId !== undefined ? `app "${safeId}" (apps[${index}])` : `app apps[${index}]`;
}

function format(fileLabel: string, apps: unknown, index: number | undefined, field: string, message: string): string {
  const where = index === undefined ? '' : ` ${appLabel(apps, index)}:`;
  const what = field === '' ? '' : ` field "${field}":`;
  return `${fileLabel}:${where}${what} ${message}`;
}

// ---------------------------------------------------------------------------------------------
// Cross-field checks
// ---------------------------------------------------------------------------------------------

interface RawApp {
  id: string;
  name: string;
  vendor: string;
  identifier: { system: string; value: string };
  tier: RiskTier;
  clientType: 'public' | 'confidential';
  redirectUris: string[];
  scopes: string[];
  baa?: { reference: string; signed?: string };
  securityAssessment: { date: string; reviewer: string; expires: string };
  throttle?: Partial<AppThrottle>;
  maxPatientsPerHour?: number;
  environments?: ('sandbox' | 'staging' | 'production')[];
  apiVersions?: string[];
  labels?: string[];
}

/** True for a real calendar date written `YYYY-MM-DD` (`2027-02-29` is not one). */
export function isCalendarDate(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1']);

/** Why a redirect URI is not acceptable, or `undefined` when it is. */
function redirectUriProblem(uri: string): string | undefined {
  if (uri.includes('#')) return 'must not contain a fragment';
  if (uri.includes('*')) return 'must not contain a wildcard';
  if (/[\s\x00-\x1f\x7f]/.test(uri)) return 'must not contain whitespace or control characters';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute URI';
  }
  if (url.protocol === 'http:') {
    if (!LOOPBACK_HOSTS.has(url.hostname)) return 'must use https (http only on localhost or 127.0.0.1)';
  } else if (url.protocol !== 'https:') {
    return 'must use https';
  }
  if (url.username !== '' || url.password !== '') return 'must not contain user information';
  return undefined;
}

function checkApp(app: RawApp, problems: Array<{ field: string; message: string }>): void {
  const add = (field: string, message: string): void => {
    problems.push({ field, message });
  };

  app.redirectUris.forEach((uri, i) => {
    const problem = redirectUriProblem(uri);
    if (problem) add(`redirectUris[${i}]`, problem);
  });

  let systemScopes = 0;
  let otherResourceScopes = 0;
  const special = new Set<string>();
  app.scopes.forEach((scope, i) => {
    const field = `scopes[${i}]`;
    const parsed = parseScope(scope);
    if (parsed.kind === 'rejected') {
      add(field, `"${parsed.scope}" is not a valid SMART scope: ${parsed.reason}`);
      return;
    }
    if (parsed.kind === 'special') {
      special.add(parsed.special);
      return;
    }
    if (!toCognitoScope(scope)) {
      add(field, `"${scope}" cannot be a Cognito scope name (granular restriction values must be codes without a system URL: no "/")`);
    }
    if (parsed.context === 'system') {
      systemScopes++;
      if (app.clientType !== 'confidential') add(field, 'system/ scopes are only for confidential clients');
    } else {
      otherResourceScopes++;
    }
  });
  if (special.has('fhirUser') && !special.has('openid')) add('scopes', '"fhirUser" requires "openid"');

  const backendOnly = app.clientType === 'confidential' && systemScopes > 0 && otherResourceScopes === 0 && special.size === 0;
  if (app.redirectUris.length === 0 && !backendOnly) {
    add('redirectUris', 'at least one redirect URI is required (only a confidential client holding system/ scopes alone may have none)');
  }

  if (app.baa?.signed !== undefined && !isCalendarDate(app.baa.signed)) add('baa.signed', 'is not a calendar date (YYYY-MM-DD)');
  const { date, expires } = app.securityAssessment;
  const dateOk = isCalendarDate(date);
  const expiresOk = isCalendarDate(expires);
  if (!dateOk) add('securityAssessment.date', 'is not a calendar date (YYYY-MM-DD)');
  if (!expiresOk) add('securityAssessment.expires', 'is not a calendar date (YYYY-MM-DD)');
  if (dateOk && expiresOk && expires <= date) add('securityAssessment.expires', 'must be after securityAssessment.date');
}

function toRegisteredApp(app: RawApp): RegisteredApp {
  const defaults = TIER_DEFAULTS[app.tier].throttle;
  return Object.freeze({
    id: app.id,
    name: app.name,
    vendor: app.vendor,
    identifier: Object.freeze({ system: app.identifier.system, value: app.identifier.value }),
    tier: app.tier,
    clientType: app.clientType,
    redirectUris: Object.freeze([...app.redirectUris]),
    scopes: Object.freeze([...app.scopes]),
    ...(app.baa
      ? { baa: Object.freeze({ reference: app.baa.reference, ...(app.baa.signed !== undefined ? { signed: app.baa.signed } : {}) }) }
      : {}),
    securityAssessment: Object.freeze({ ...app.securityAssessment }),
    throttle: Object.freeze({
      rateLimit: app.throttle?.rateLimit ?? defaults.rateLimit,
      burstLimit: app.throttle?.burstLimit ?? defaults.burstLimit,
      quotaPerDay: app.throttle?.quotaPerDay ?? defaults.quotaPerDay,
    }),
    labels: Object.freeze([...(app.labels ?? [])]),
    ...(app.maxPatientsPerHour !== undefined ? { maxPatientsPerHour: app.maxPatientsPerHour } : {}),
    ...(app.environments !== undefined ? { environments: Object.freeze([...app.environments]) } : {}),
    ...(app.apiVersions !== undefined ? { apiVersions: Object.freeze([...app.apiVersions]) } : {}),
  });
}

/** The distinct patients per hour `app` should need: as registered, else its tier's default. */
export function maxPatientsPerHour(app: Pick<RegisteredApp, 'tier' | 'maxPatientsPerHour'>): number {
  return app.maxPatientsPerHour ?? TIER_DEFAULTS[app.tier].maxPatientsPerHour;
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/**
 * Validates a parsed registry document and returns its apps (tier defaults applied).
 *
 * @param json the parsed content of the registry file
 * @param fileLabel how error messages name the file @default 'policies/apps.json'
 * @throws AppRegistryError naming the file, the app and the field of every problem found
 *   (at most 10 are listed, one per line)
 */
export function parseAppRegistry(json: unknown, fileLabel: string = DEFAULT_LABEL): RegisteredApp[] {
  const apps = json !== null && typeof json === 'object' ? (json as Record<string, unknown>).apps : undefined;
  const messages: string[] = [];

  if (!validateSchema(json)) {
    for (const err of validateSchema.errors ?? []) {
      const { segments, message } = describeSchemaError(err);
      const inApp = segments[0] === 'apps' && segments.length >= 2 && /^\d+$/.test(segments[1]);
      const index = inApp ? Number(segments[1]) : undefined;
      const field = inApp ? fieldPath(segments.slice(2)) : fieldPath(segments);
      messages.push(format(fileLabel, apps, index, field, message));
    }
  } else {
    const list = (json as { apps: RawApp[] }).apps;
    const ids = new Map<string, number>();
    const identifiers = new Map<string, number>();
    list.forEach((app, index) => {
      const problems: Array<{ field: string; message: string }> = [];
      checkApp(app, problems);
      const firstId = ids.get(app.id);
      if (firstId !== undefined) problems.push({ field: 'id', message: `duplicate id (also apps[${firstId}])` });
      else ids.set(app.id, index);
      const key = `${app.identifier.system}|${app.identifier.value}`;
      const firstIdentifier = identifiers.get(key);
      if (firstIdentifier !== undefined) {
        problems.push({ field: 'identifier', message: `duplicate identifier (also apps[${firstIdentifier}])` });
      } else identifiers.set(key, index);
      for (const p of problems) messages.push(format(fileLabel, list, index, p.field, p.message));
    });
  }

  throwIfProblems(messages, fileLabel, (m) => new AppRegistryError(m));
  return (json as { apps: RawApp[] }).apps.map(toRegisteredApp);
}

/**
 * Reads and validates a registry file.
 *
 * @param file @default - `apps.json` next to this module (`policies/apps.json`)
 * @throws AppRegistryError when the file cannot be read, is not JSON, or is invalid
 */
export function loadAppRegistry(file: string = DEFAULT_APP_REGISTRY_FILE): RegisteredApp[] {
  const label = repoFileLabel(file);
  return parseAppRegistry(readJsonFile(file, label, (m) => new AppRegistryError(m)), label);
}

/**
 * Construct metadata type under which `FhirGateway` records the registry it bundled into the FHIR
 * proxy's asset (`{ source, document }`, {@link BundledAppRegistry}): the reviewer's report reads
 * the registry the stack actually deployed from it, not a file of the kit.
 */
export const BUNDLED_APP_REGISTRY_METADATA_KEY = 'zero-trust-fhir:bundled-app-registry';

/** What {@link BUNDLED_APP_REGISTRY_METADATA_KEY} records. */
export interface BundledAppRegistry {
  /** How the registry was supplied, e.g. `config/apps.json` or `apps (ZeroTrustFhirStack)`. */
  readonly source: string;
  /** The registry document exactly as bundled (parsed `apps.json`). */
  readonly document: unknown;
}

const APP_REGISTRY_DOCUMENT = Symbol.for('zero-trust-fhir.AppRegistryDocument');

/**
 * The app registry a team supplies, validated (schema and cross-field rules, as
 * {@link parseAppRegistry}) when it is made: a file in the team's repository
 * ({@link AppRegistryDocument.fromFile}), the content of one as an object
 * ({@link AppRegistryDocument.fromObject}), parsed entries ({@link AppRegistryDocument.fromApps}),
 * or the kit's sample (`policies/apps.json`, {@link AppRegistryDocument.sample}), the documented
 * default. `SmartAppRegistry` creates one Cognito client per app of it, and `FhirGateway` writes
 * {@link json}, exactly, into the FHIR proxy's asset (`/var/task/apps.json`).
 */
export class AppRegistryDocument {
  /** True for an {@link AppRegistryDocument} (of any copy of the kit), not a path or a plain object. */
  public static isAppRegistryDocument(x: unknown): x is AppRegistryDocument {
    return x !== null && typeof x === 'object' && (x as Record<symbol, unknown>)[APP_REGISTRY_DOCUMENT] === true;
  }

  /** The kit's sample registry, `policies/apps.json`: the default when a team gives none. */
  public static sample(): AppRegistryDocument {
    return AppRegistryDocument.fromFile(DEFAULT_APP_REGISTRY_FILE);
  }

  /**
   * A registry file (`apps.json` format, `policies/apps.schema.json`), absolute or relative to the
   * directory `cdk synth` runs in. It is bundled byte for byte.
   * @throws AppRegistryError when the file cannot be read, is not JSON, or is invalid (naming the file, the app and the field)
   */
  public static fromFile(file: string): AppRegistryDocument {
    if (typeof file !== 'string' || file.trim() === '') throw new AppRegistryError('AppRegistryDocument.fromFile: give the path of an apps.json file');
    const { label, text, document } = readSuppliedJsonFile(file, (m) => new AppRegistryError(m));
    return new AppRegistryDocument(label, parseAppRegistry(document, label), text, document);
  }

  /**
   * A registry given as the content of an `apps.json` (`{ apps: [...] }`).
   * @param source how messages and the reviewer's report name it @default 'app registry'
   * @throws AppRegistryError naming `source`, the app and the field of every problem
   */
  public static fromObject(document: unknown, source: string = 'app registry'): AppRegistryDocument {
    const copy = plainJsonCopy(document, source, (m) => new AppRegistryError(m));
    return new AppRegistryDocument(source, parseAppRegistry(copy, source), `${JSON.stringify(copy, undefined, 2)}\n`, copy);
  }

  /**
   * A registry of parsed entries (what `loadAppRegistry()` returns), validated again as a document.
   * @param source @default 'apps'
   */
  public static fromApps(apps: readonly RegisteredApp[], source: string = 'apps'): AppRegistryDocument {
    if (!Array.isArray(apps)) throw new AppRegistryError(`${source}: must be a list of registered apps`);
    return AppRegistryDocument.fromObject({ apps }, source);
  }

  /** The apps, validated, with tier defaults applied. */
  public readonly apps: readonly RegisteredApp[];

  private constructor(
    /** How the registry was supplied (a file label, or the `source` given). */
    public readonly source: string,
    apps: readonly RegisteredApp[],
    /** The text bundled into the FHIR proxy's asset. */
    public readonly json: string,
    /** The parsed document (what the reviewer's report reads back from the construct metadata). */
    public readonly document: unknown,
  ) {
    this.apps = Object.freeze([...apps]);
    Object.defineProperty(this, APP_REGISTRY_DOCUMENT, { value: true });
  }

  /** The app with this id; `undefined` when the registry has none. */
  public app(id: string): RegisteredApp | undefined {
    return this.apps.find((a) => a.id === id);
  }

  /** What the construct metadata records of this registry. */
  public toMetadata(): BundledAppRegistry {
    return { source: this.source, document: this.document };
  }
}

/** `YYYY-MM-DD` of `today` in UTC. */
function isoDate(today: Date): string {
  return today.toISOString().slice(0, 10);
}

/**
 * True when an assessment that `expires` (`YYYY-MM-DD`, the last day it is valid) has expired on
 * `today` (`YYYY-MM-DD`): the expiry day itself is still covered. The one expiry test, used by the
 * report and by `FHIR.HIPAA-CognitoClientAppAssessment`.
 */
export function assessmentExpiredOn(expires: string, today: string): boolean {
  return today > expires;
}

/** True when `today` (UTC date) is after the app's `securityAssessment.expires`. */
export function assessmentExpired(app: RegisteredApp, today: Date): boolean {
  return assessmentExpiredOn(app.securityAssessment.expires, isoDate(today));
}

