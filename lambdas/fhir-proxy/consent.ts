/**
 * FHIR R4 Consent (scope `patient-privacy`): parsing, evaluation against one request and one
 * resource, and a per-patient cache. Evaluation is pure; the cache takes a fetch function.
 *
 * Which consents apply: `status` `active`, `scope` patient-privacy
 * (`http://terminology.hl7.org/CodeSystem/consentscope`), and a root `provision.period` that
 * contains now (an expired or not-yet-valid consent does not apply). Other scopes (research,
 * treatment, ADR) and inactive statuses are ignored.
 *
 * A provision matches a request and resource when every criterion it states holds:
 * - `period` contains now;
 * - `actor[].reference`: an Identifier equal to the app's registry identifier, or a reference
 *   equal to the user's `fhirUser` (roles are not distinguished);
 * - `purpose`: the request's purpose of use (from the label policy);
 * - `class`: the resource type (`http://hl7.org/fhir/resource-types`, or no system);
 * - `code`: a Coding of the resource's `code` or `category`;
 * - `securityLabel`: one of the resource's known labels (system and code);
 * - `dataPeriod`: the resource's clinical date;
 * - `data[].reference`: the resource itself;
 * - `action`: `access`, `use` or `disclose` for reads, `correct` for writes.
 * A criterion whose value cannot be determined for the resource (no date, say) counts as
 * matching for a deny and not matching for a permit: unknowns never widen.
 *
 * Decision of one consent: the root provision's `type` is the base; a matching nested provision
 * overrides its parent (recursively, most specific wins); among the matching provisions of one
 * level, deny overrides permit. Across consents: deny overrides permit. No decision → the label
 * policy's default for the resource's labels.
 *
 * A Consent that is malformed (wrong shapes, unknown provision type, unparseable periods) makes
 * the whole patient's consent state `unavailable`, which fails closed for labelled data.
 */
import { isValidId, parseReference } from '../shared/fhir/references';
import { CONFIDENTIALITY_RANK, type LabelRule } from './labels';

export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';
export const RESOURCE_TYPES_SYSTEM = 'http://hl7.org/fhir/resource-types';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface Code {
  readonly system?: string;
  readonly code: string;
}

export interface Period {
  readonly start?: number;
  readonly end?: number;
}

export interface Provision {
  readonly type?: 'permit' | 'deny';
  readonly period?: Period;
  readonly actors: ReadonlyArray<{ readonly reference?: string; readonly identifier?: Code }>;
  readonly actions: readonly string[];
  readonly securityLabels: readonly Code[];
  readonly purposes: readonly Code[];
  readonly classes: readonly Code[];
  readonly codes: readonly Code[];
  readonly dataPeriod?: Period;
  readonly data: readonly string[];
  readonly provisions: readonly Provision[];
}

export interface ParsedConsent {
  readonly id: string;
  readonly patientId: string;
  /** Applies at all: active and patient-privacy. */
  readonly applies: boolean;
  readonly provision?: Provision;
}

/** A patient's consent state: the parsed consents, or unavailable (read or parse failed). */
export type PatientConsents = { readonly kind: 'consents'; readonly consents: readonly ParsedConsent[] } | { readonly kind: 'unavailable' };

export class ConsentParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsentParseError';
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

const DATE = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

/** A FHIR date/dateTime as epoch ms: the start of the period it denotes (or its end with `end`). */
export function parseDate(value: unknown, end = false): number | undefined {
  if (typeof value !== 'string' || !DATE.test(value)) return undefined;
  let text = value;
  if (/^\d{4}$/.test(text)) text = end ? `${text}-12-31T23:59:59.999Z` : `${text}-01-01T00:00:00Z`;
  else if (/^\d{4}-\d{2}$/.test(text)) {
    if (end) {
      const [y, m] = text.split('-').map(Number);
      return Date.UTC(y, m, 1) - 1;
    }
    text = `${text}-01T00:00:00Z`;
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(text)) text = end ? `${text}T23:59:59.999Z` : `${text}T00:00:00Z`;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function fail(field: string): never {
  throw new ConsentParseError(field);
}

function list(value: unknown, field: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(field);
  return value;
}

function coding(value: unknown, field: string): Code {
  if (!isObject(value) || typeof value.code !== 'string' || (value.system !== undefined && typeof value.system !== 'string')) fail(field);
  return value.system === undefined ? { code: value.code as string } : { system: value.system as string, code: value.code as string };
}

function concepts(value: unknown, field: string): Code[] {
  return list(value, field).flatMap((cc, i) => list(isObject(cc) ? cc.coding : fail(`${field}[${i}]`), `${field}[${i}].coding`).map((c, j) => coding(c, `${field}[${i}].coding[${j}]`)));
}

function period(value: unknown, field: string): Period | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) fail(field);
  const start = value.start === undefined ? undefined : parseDate(value.start);
  const end = value.end === undefined ? undefined : parseDate(value.end, true);
  if ((value.start !== undefined && start === undefined) || (value.end !== undefined && end === undefined)) fail(field);
  return { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) };
}

function provision(value: unknown, field: string, depth: number): Provision {
  if (!isObject(value) || depth > 16) fail(field);
  if (value.type !== undefined && value.type !== 'permit' && value.type !== 'deny') fail(`${field}.type`);
  const actors = list(value.actor, `${field}.actor`).map((a, i) => {
    const ref = isObject(a) ? a.reference : undefined;
    if (!isObject(ref)) fail(`${field}.actor[${i}].reference`);
    const out: { reference?: string; identifier?: Code } = {};
    if (typeof ref.reference === 'string') out.reference = ref.reference;
    if (isObject(ref.identifier) && typeof ref.identifier.value === 'string') {
      out.identifier = { ...(typeof ref.identifier.system === 'string' ? { system: ref.identifier.system } : {}), code: ref.identifier.value };
    }
    if (!out.reference && !out.identifier) fail(`${field}.actor[${i}].reference`);
    return out;
  });
  const data = list(value.data, `${field}.data`).map((d, i) => {
    const ref = isObject(d) && isObject(d.reference) ? d.reference.reference : undefined;
    if (typeof ref !== 'string') fail(`${field}.data[${i}].reference`);
    return ref;
  });
  return {
    ...(value.type !== undefined ? { type: value.type as 'permit' | 'deny' } : {}),
    ...(value.period !== undefined ? { period: period(value.period, `${field}.period`) } : {}),
    actors,
    actions: concepts(value.action, `${field}.action`).map((c) => c.code),
    securityLabels: list(value.securityLabel, `${field}.securityLabel`).map((c, i) => coding(c, `${field}.securityLabel[${i}]`)),
    purposes: list(value.purpose, `${field}.purpose`).map((c, i) => coding(c, `${field}.purpose[${i}]`)),
    classes: list(value.class, `${field}.class`).map((c, i) => coding(c, `${field}.class[${i}]`)),
    codes: concepts(value.code, `${field}.code`),
    ...(value.dataPeriod !== undefined ? { dataPeriod: period(value.dataPeriod, `${field}.dataPeriod`) } : {}),
    data,
    provisions: list(value.provision, `${field}.provision`).map((p, i) => provision(p, `${field}.provision[${i}]`, depth + 1)),
  };
}

/**
 * Parses one Consent. Throws {@link ConsentParseError} (naming the field, never a value) when it
 * is malformed. `baseUrls`: bases under which `patient` references are local.
 */
export function parseConsent(resource: unknown, baseUrls: readonly string[] = []): ParsedConsent {
  if (!isObject(resource) || resource.resourceType !== 'Consent') fail('resourceType');
  if (!isValidId(resource.id)) fail('id');
  const patientRef = isObject(resource.patient) ? parseReference(resource.patient.reference, { baseUrls }) : undefined;
  if (!patientRef || patientRef.resourceType !== 'Patient') fail('patient');
  if (typeof resource.status !== 'string') fail('status');
  const scopes = isObject(resource.scope) ? concepts([resource.scope], 'scope') : fail('scope');
  const privacy = scopes.some((c) => c.code === 'patient-privacy' && (c.system === undefined || c.system === CONSENT_SCOPE_SYSTEM));
  const applies = resource.status === 'active' && privacy;
  return {
    id: resource.id as string,
    patientId: patientRef.id,
    applies,
    ...(resource.provision !== undefined ? { provision: provision(resource.provision, 'provision', 0) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** Who asks, why, and for what. */
export interface ConsentRequest {
  /** The app's registry identifier (Consent actors name apps by it). */
  readonly appIdentifier?: { readonly system: string; readonly value: string };
  /** The user's `fhirUser`, as `Type/id`. */
  readonly fhirUser?: string;
  /** v3-ActReason code. */
  readonly purposeOfUse: string;
  readonly write: boolean;
  /** Epoch ms. */
  readonly now: number;
}

/** What Consent criteria look at in a resource. */
export interface ResourceFacts {
  readonly resourceType: string;
  readonly id?: string;
  readonly labels: readonly LabelRule[];
  /** Codings of `code` and `category`. */
  readonly codes: readonly Code[];
  /** Clinical date (epoch ms), when the resource has one. */
  readonly date?: number;
}

export interface ConsentDecision {
  readonly decision: 'permit' | 'deny';
  /** `Consent/<id>#provision.provision[1]`. */
  readonly rule: string;
  readonly consentId: string;
  /**
   * Security-label codes named by the deciding provision or its ancestors. An opt-in label
   * (42 CFR Part 2, say) is only unlocked by a permit that names it.
   */
  readonly labels: readonly string[];
}

const READ_ACTIONS = new Set(['access', 'use', 'disclose']);
const DATE_PATHS = ['effectiveDateTime', 'effectiveInstant', 'issued', 'recordedDate', 'authoredOn', 'onsetDateTime', 'performedDateTime', 'occurrenceDateTime', 'date', 'created'];
const PERIOD_PATHS = ['effectivePeriod', 'period', 'performedPeriod', 'occurrencePeriod'];

/** The facts of a resource for Consent matching. */
export function resourceFacts(resource: Json, labels: readonly LabelRule[]): ResourceFacts {
  const codes: Code[] = [];
  for (const field of ['code', 'category']) {
    const v = resource[field];
    for (const cc of Array.isArray(v) ? v : [v]) {
      if (!isObject(cc) || !Array.isArray(cc.coding)) continue;
      for (const c of cc.coding) if (isObject(c) && typeof c.code === 'string') codes.push({ code: c.code, ...(typeof c.system === 'string' ? { system: c.system } : {}) });
    }
  }
  let date: number | undefined;
  for (const p of DATE_PATHS) {
    date = parseDate(resource[p]);
    if (date !== undefined) break;
  }
  if (date === undefined) {
    for (const p of PERIOD_PATHS) {
      const v = resource[p];
      if (isObject(v)) date = parseDate(v.start) ?? parseDate(v.end);
      if (date !== undefined) break;
    }
  }
  return {
    resourceType: String(resource.resourceType),
    ...(typeof resource.id === 'string' ? { id: resource.id } : {}),
    labels,
    codes,
    ...(date !== undefined ? { date } : {}),
  };
}

function inPeriod(p: Period | undefined, t: number): boolean {
  return p === undefined || ((p.start === undefined || p.start <= t) && (p.end === undefined || t <= p.end));
}

function codeMatches(wanted: Code, have: Code): boolean {
  return wanted.code === have.code && (wanted.system === undefined || have.system === undefined || wanted.system === have.system);
}

function matches(p: Provision, req: ConsentRequest, facts: ResourceFacts): boolean {
  const deny = p.type === 'deny';
  if (!inPeriod(p.period, req.now)) return false;
  if (p.actors.length > 0) {
    const ok = p.actors.some(
      (a) =>
        (a.identifier !== undefined &&
          req.appIdentifier !== undefined &&
          a.identifier.code === req.appIdentifier.value &&
          (a.identifier.system === undefined || a.identifier.system === req.appIdentifier.system)) ||
        (a.reference !== undefined && req.fhirUser !== undefined && (a.reference === req.fhirUser || a.reference.endsWith(`/${req.fhirUser}`))),
    );
    if (!ok) return false;
  }
  if (p.actions.length > 0) {
    const ok = p.actions.some((a) => (req.write ? a === 'correct' : READ_ACTIONS.has(a)));
    if (!ok) return false;
  }
  if (p.purposes.length > 0 && !p.purposes.some((c) => c.code === req.purposeOfUse)) return false;
  if (p.classes.length > 0 && !p.classes.some((c) => c.code === facts.resourceType && (c.system === undefined || c.system === RESOURCE_TYPES_SYSTEM))) return false;
  if (p.codes.length > 0 && !p.codes.some((w) => facts.codes.some((h) => codeMatches(w, h)))) return false;
  if (p.securityLabels.length > 0) {
    // Exact for a permit; a deny on a confidentiality level also covers the levels above it.
    const ok = p.securityLabels.some((w) =>
      facts.labels.some((l) => {
        if (l.code === w.code && (w.system === undefined || w.system === l.system)) return true;
        return deny && l.kind === 'confidentiality' && w.system === l.system && CONFIDENTIALITY_RANK[w.code] !== undefined && CONFIDENTIALITY_RANK[l.code] >= CONFIDENTIALITY_RANK[w.code];
      }),
    );
    if (!ok) return false;
  }
  if (p.dataPeriod !== undefined) {
    if (facts.date === undefined) {
      if (!deny) return false;
    } else if (!inPeriod(p.dataPeriod, facts.date)) return false;
  }
  if (p.data.length > 0) {
    const self = facts.id === undefined ? undefined : `${facts.resourceType}/${facts.id}`;
    if (self === undefined ? !deny : !p.data.some((d) => d === self || d.endsWith(`/${self}`))) return false;
  }
  return true;
}

function evaluateProvision(
  p: Provision,
  req: ConsentRequest,
  facts: ResourceFacts,
  consentId: string,
  path: string,
  named: readonly string[],
): ConsentDecision | undefined {
  if (!matches(p, req, facts)) return undefined;
  const labels = p.securityLabels.length > 0 ? [...named, ...p.securityLabels.map((c) => c.code)] : named;
  let permit: ConsentDecision | undefined;
  for (let i = 0; i < p.provisions.length; i++) {
    const child = evaluateProvision(p.provisions[i], req, facts, consentId, `${path}.provision[${i}]`, labels);
    if (child?.decision === 'deny') return child;
    if (child?.decision === 'permit') permit ??= child;
  }
  if (permit) return permit;
  return p.type ? { decision: p.type, rule: `Consent/${consentId}#${path}`, consentId, labels } : undefined;
}

/** Is a consent in force now (applies, and its root period contains now)? */
export function inForce(consent: ParsedConsent, now: number): boolean {
  return consent.applies && consent.provision !== undefined && inPeriod(consent.provision.period, now);
}

/** The decision of a patient's consents for one resource, or undefined when none decides. */
/**
 * The decision of a patient's consents for one resource, or undefined when none decides. Any
 * deny wins; among permits, the first naming every code of `required` (opt-in labels) is
 * preferred over one that does not.
 */
export function evaluateConsents(
  consents: readonly ParsedConsent[],
  req: ConsentRequest,
  facts: ResourceFacts,
  required: readonly string[] = [],
): ConsentDecision | undefined {
  let permit: ConsentDecision | undefined;
  let naming: ConsentDecision | undefined;
  for (const c of consents) {
    if (!inForce(c, req.now)) continue;
    const d = evaluateProvision(c.provision as Provision, req, facts, c.id, 'provision', []);
    if (d?.decision === 'deny') return d;
    if (d?.decision === 'permit') {
      permit ??= d;
      if (required.every((code) => d.labels.includes(code))) naming ??= d;
    }
  }
  return naming ?? permit;
}

// ---------------------------------------------------------------------------------------------
// Cache

/** Reads the Consent resources of some patients (a Bundle's resources) or throws. */
export type ConsentFetcher = (patientIds: readonly string[]) => Promise<Map<string, PatientConsents>>;

export interface ConsentCacheOptions {
  /** At most 60 000: the delay before a consent change takes effect. */
  readonly ttlMs: number;
  readonly fetch: ConsentFetcher;
  /** @default 10000 patients */
  readonly maxEntries?: number;
  readonly clock?: () => number;
}

/**
 * Consents per patient, cached for `ttlMs` (failures are not cached). Concurrent misses for the
 * same patients share nothing; the cache is per Lambda container.
 */
export class ConsentCache {
  private readonly entries = new Map<string, { at: number; value: PatientConsents }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;

  constructor(private readonly options: ConsentCacheOptions) {
    if (!(options.ttlMs >= 0 && options.ttlMs <= 60_000)) throw new Error('ConsentCache: ttlMs must be between 0 and 60000');
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.clock = options.clock ?? Date.now;
  }

  async get(patientIds: Iterable<string>): Promise<Map<string, PatientConsents>> {
    const now = this.clock();
    const out = new Map<string, PatientConsents>();
    const missing: string[] = [];
    for (const id of new Set(patientIds)) {
      const hit = this.entries.get(id);
      if (hit && now - hit.at < this.ttlMs) out.set(id, hit.value);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    let fetched: Map<string, PatientConsents>;
    try {
      fetched = await this.options.fetch(missing);
    } catch {
      fetched = new Map();
    }
    for (const id of missing) {
      const value = fetched.get(id) ?? { kind: 'unavailable' };
      out.set(id, value);
      if (value.kind === 'consents' && this.ttlMs > 0) {
        if (this.entries.size >= this.maxEntries) this.entries.clear();
        this.entries.set(id, { at: now, value });
      }
    }
    return out;
  }
}

/**
 * Groups the Consent resources of a search Bundle by patient. Any malformed Consent makes its
 * patient (or, when its patient cannot be told, every asked patient) unavailable.
 */
export function consentsByPatient(resources: readonly unknown[], asked: readonly string[], baseUrls: readonly string[]): Map<string, PatientConsents> {
  const lists = new Map<string, ParsedConsent[]>(asked.map((id) => [id, []]));
  const broken = new Set<string>();
  for (const r of resources) {
    try {
      const c = parseConsent(r, baseUrls);
      if (!lists.has(c.patientId)) continue; // not asked for (cannot happen with a correct server)
      lists.get(c.patientId)!.push(c);
    } catch {
      const ref = isObject(r) && isObject(r.patient) ? parseReference(r.patient.reference, { baseUrls }) : undefined;
      if (ref && lists.has(ref.id)) broken.add(ref.id);
      else for (const id of asked) broken.add(id);
    }
  }
  const out = new Map<string, PatientConsents>();
  for (const [id, consents] of lists) out.set(id, broken.has(id) ? { kind: 'unavailable' } : { kind: 'consents', consents });
  return out;
}
