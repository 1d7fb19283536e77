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
 * - `actor[]`: one actor whose `reference` is an Identifier equal to the app's registry
 *   identifier, or a local reference (relative, or under the datastore or configured public
 *   base) equal to the user's `fhirUser`; a reference under another base that ends in the
 *   `fhirUser` is undetermined (below). `actor.role` only ever narrows a
 *   permit: the roles the proxy can check (v3-RoleClass `PAT` ↔ a Patient `fhirUser`, `PROV` ↔ a
 *   Practitioner or PractitionerRole `fhirUser`; extra-security-role-type `humanuser` ↔ a token
 *   with a `fhirUser` on this server, `datasubject` ↔ the `fhirUser` is the Consent's patient) must hold for a permit
 *   actor to match; when one does not hold it is undetermined (below). Every other role
 *   (v3-ParticipationType `PRCP`, `IRCP`, `AUT`, `CST`, v3-RoleCode relationships, …) says how the
 *   actor takes part, which the proxy cannot know: it is not evaluated, the reference decides.
 *   Group or Organization actors are matched by reference only (membership is not resolved);
 * - `purpose`: the request's purpose of use (from the label policy);
 * - `class`: the resource type (`http://hl7.org/fhir/resource-types`, or no system);
 * - `code`: a Coding of the resource's `code` or `category`;
 * - `securityLabel`: one of the resource's known labels (system and code); a confidentiality
 *   level above the one named is undetermined (a deny on `R` covers `V`, a permit on `R` does not);
 * - `dataPeriod`: the resource's clinical date;
 * - `data[]`: one entry, by its `meaning` (R4 consent-data-meaning; the reference D is compared as
 *   a local `Type/id`: relative, or under the datastore or configured public base):
 *   - `instance`: the resource is D;
 *   - `related` (D and the instances D refers to): the resource is D; D itself is not read, so for
 *     any other resource it is undetermined;
 *   - `dependents` (D and the instances that refer to D): the resource is D, or one of its literal
 *     references (anywhere in it, contained resources included, versions ignored) is D; a logical
 *     (identifier-only), `urn:` or conditional reference in it makes a miss undetermined;
 *   - `authoredby` (instances authored by D): one of the resource's authorship elements refers to
 *     D: `author`, `recorder`, `asserter`, `requester`, `performer` (or `performer[].actor`),
 *     `sender`, `enterer`, `informationSource`, `resultsInterpreter`. A resource with none of them,
 *     or one that is not a literal local reference, is undetermined; Provenance is not consulted;
 * - `action`: `access`, `use` or `disclose` for reads, `correct` for writes.
 *
 * UNDETERMINED NEVER WIDENS: a criterion that cannot be determined for the resource (no date, a
 * `related` reference, an unresolvable author, …) counts as matching for a deny and as not
 * matching for a permit. A provision matched only thanks to such a criterion (a deny, or a
 * provision without a type) still denies, but no permit below it can apply: its conditions
 * include the undetermined one.
 *
 * Decision of one consent: the root provision's `type` is the base; `policyRule` (v3-ActCode)
 * gives the base when the root has no type: `OPTIN`/`OPTINR` (the patient agrees, restrictions
 * are the deny provisions) → permit, `OPTOUT`/`OPTOUTE` (the patient refuses, exceptions are the
 * permit provisions) → deny; a root type and a policyRule that disagree → deny; a Consent with a
 * policyRule and no provision applies that base to everything. Other policy rules (HIPAA
 * authorizations, state or agency forms, …) name regulations the proxy does not evaluate: they
 * give no base and the provisions alone decide. A matching nested provision overrides its parent
 * (recursively, most specific wins); among the matching provisions of one level, deny overrides
 * permit. Across consents: deny overrides permit. No decision → the label policy's default for
 * the resource's labels.
 *
 * A Consent that is malformed (wrong shapes, unknown provision type, unparseable periods) makes
 * the whole patient's consent state `unavailable`, which fails closed for labelled data.
 */
import { FHIR_RESOURCE_TYPES_SYSTEM } from '../shared/fhir-resource-types';
import { isValidId, parseReference } from '../shared/fhir/references';
import { ACT_CODE_SYSTEM, CONFIDENTIALITY_RANK, type LabelRule } from './labels';
import { PROVIDER_USER_TYPES } from './access';
import { isObject } from '../shared/json';

export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';
export const ROLE_CLASS_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-RoleClass';
export const SECURITY_ROLE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/extra-security-role-type';

type Json = Record<string, unknown>;

export interface Code {
  readonly system?: string;
  readonly code: string;
}

export interface Period {
  readonly start?: number;
  readonly end?: number;
}

/** A Consent data reference: the reference as written, its local `Type/id` when it is one, and its meaning. */
export interface DataReference {
  readonly reference: string;
  readonly key?: string;
  readonly meaning: DataMeaning;
}

/** R4 consent-data-meaning (http://hl7.org/fhir/consent-data-meaning). */
export type DataMeaning = 'instance' | 'related' | 'dependents' | 'authoredby';
const MEANINGS: ReadonlySet<string> = new Set(['instance', 'related', 'dependents', 'authoredby']);

export interface Actor {
  readonly reference?: string;
  /** The local `Type/id` of {@link reference}, when it is one (relative, or under a configured base). */
  readonly key?: string;
  readonly identifier?: Code;
  /** The codings of `actor.role`. */
  readonly roles: readonly Code[];
}

export interface Provision {
  readonly type?: 'permit' | 'deny';
  readonly period?: Period;
  readonly actors: readonly Actor[];
  readonly actions: readonly string[];
  readonly securityLabels: readonly Code[];
  readonly purposes: readonly Code[];
  readonly classes: readonly Code[];
  readonly codes: readonly Code[];
  readonly dataPeriod?: Period;
  readonly data: readonly DataReference[];
  readonly provisions: readonly Provision[];
}

export interface ParsedConsent {
  readonly id: string;
  readonly patientId: string;
  /** Applies at all: active and patient-privacy. */
  readonly applies: boolean;
  /** The base decision `policyRule` gives (OPTIN/OPTINR permit, OPTOUT/OPTOUTE deny), if any. */
  readonly base?: 'permit' | 'deny';
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
function parseDate(value: unknown, end = false): number | undefined {
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

/** `Type/id` of a local literal reference (version dropped), else undefined. */
function localKey(reference: unknown, baseUrls: readonly string[]): string | undefined {
  const ref = parseReference(reference, { baseUrls });
  return ref ? `${ref.resourceType}/${ref.id}` : undefined;
}

function provision(value: unknown, field: string, depth: number, baseUrls: readonly string[]): Provision {
  if (!isObject(value) || depth > 16) fail(field);
  if (value.type !== undefined && value.type !== 'permit' && value.type !== 'deny') fail(`${field}.type`);
  const actors = list(value.actor, `${field}.actor`).map((a, i): Actor => {
    const ref = isObject(a) ? a.reference : undefined;
    if (!isObject(ref)) fail(`${field}.actor[${i}].reference`);
    const roles = (a as Json).role === undefined ? [] : concepts([(a as Json).role], `${field}.actor[${i}].role`);
    const out: { reference?: string; key?: string; identifier?: Code; roles: Code[] } = { roles };
    if (typeof ref.reference === 'string') {
      out.reference = ref.reference;
      const key = localKey(ref.reference, baseUrls);
      if (key !== undefined) out.key = key;
    }
    if (isObject(ref.identifier) && typeof ref.identifier.value === 'string') {
      out.identifier = { ...(typeof ref.identifier.system === 'string' ? { system: ref.identifier.system } : {}), code: ref.identifier.value };
    }
    if (!out.reference && !out.identifier) fail(`${field}.actor[${i}].reference`);
    return out;
  });
  const data = list(value.data, `${field}.data`).map((d, i): DataReference => {
    const ref = isObject(d) && isObject(d.reference) ? d.reference.reference : undefined;
    if (typeof ref !== 'string') fail(`${field}.data[${i}].reference`);
    const meaning = isObject(d) ? d.meaning : undefined;
    if (typeof meaning !== 'string' || !MEANINGS.has(meaning)) fail(`${field}.data[${i}].meaning`);
    const key = localKey(ref, baseUrls);
    return { reference: ref, ...(key !== undefined ? { key } : {}), meaning: meaning as DataMeaning };
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
    provisions: list(value.provision, `${field}.provision`).map((p, i) => provision(p, `${field}.provision[${i}]`, depth + 1, baseUrls)),
  };
}

const OPT_IN = new Set(['OPTIN', 'OPTINR']);
const OPT_OUT = new Set(['OPTOUT', 'OPTOUTE']);

/** The base decision of a `policyRule` (see the module comment); undefined when it gives none. */
function policyBase(value: unknown): 'permit' | 'deny' | undefined {
  if (value === undefined) return undefined;
  let base: 'permit' | 'deny' | undefined;
  for (const c of concepts([value], 'policyRule')) {
    if (c.system !== ACT_CODE_SYSTEM) continue;
    if (OPT_OUT.has(c.code)) return 'deny'; // a rule that also says opt-in is contradictory: deny
    if (OPT_IN.has(c.code)) base = 'permit';
  }
  return base;
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
  const base = policyBase(resource.policyRule);
  return {
    id: resource.id as string,
    patientId: patientRef.id,
    applies,
    ...(base !== undefined ? { base } : {}),
    ...(resource.provision !== undefined ? { provision: provision(resource.provision, 'provision', 0, baseUrls) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** Who asks, why, and for what. */
export interface ConsentRequest {
  /** The app's registry identifier (Consent actors name apps by it). */
  readonly appIdentifier?: { readonly system: string; readonly value: string };
  /**
   * The user: the `fhirUser` claim resolved to a resource on this server (`resolveAccess`).
   * Absent without a `fhirUser`, or when it names a resource on another server.
   */
  readonly user?: { readonly resourceType: string; readonly id: string };
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
  /**
   * The resource's references, for `data.meaning` `dependents` and `authoredby`: computed only
   * when such a provision is evaluated. Absent: every such criterion is undetermined.
   */
  readonly links?: () => ResourceLinks;
}

/** The references of a resource, as Consent `data` meanings need them. */
export interface ResourceLinks {
  /** `Type/id` of every local literal reference in the resource (contained resources included). */
  readonly references: ReadonlySet<string>;
  /** Some reference could not be told: logical (identifier only), `urn:`, conditional or foreign. */
  readonly opaque: boolean;
  /** `Type/id` of the local literal references of its authorship elements ({@link AUTHOR_ELEMENTS}). */
  readonly authors: ReadonlySet<string>;
  /** The authors are known: it has an authorship element, and every one is a local literal reference. */
  readonly authorsKnown: boolean;
}

/** Elements naming who authored a resource (`authoredby`); `performer` may be a Reference or hold `actor`. */
export const AUTHOR_ELEMENTS = ['author', 'recorder', 'asserter', 'requester', 'performer', 'sender', 'enterer', 'informationSource', 'resultsInterpreter'] as const;

export interface ConsentDecision {
  readonly decision: 'permit' | 'deny';
  /** `Consent/<id>#provision.provision[1]` (`#policyRule` when the base decided). */
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

/**
 * The facts of a resource for Consent matching. `baseUrls`: bases under which its absolute
 * references are local (the references themselves are only read when a provision needs them).
 */
export function resourceFacts(resource: Json, labels: readonly LabelRule[], baseUrls: readonly string[] = []): ResourceFacts {
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
  let links: ResourceLinks | undefined;
  return {
    resourceType: String(resource.resourceType),
    ...(typeof resource.id === 'string' ? { id: resource.id } : {}),
    labels,
    codes,
    ...(date !== undefined ? { date } : {}),
    links: () => (links ??= resourceLinks(resource, baseUrls)),
  };
}

/** What a Reference-like node refers to: a local `Type/id`, or opaque; undefined when it is not one. */
function referenceOf(node: Json, baseUrls: readonly string[]): { key?: string; opaque: boolean } | undefined {
  if (typeof node.reference === 'string') {
    if (node.reference.startsWith('#')) return { opaque: false }; // contained: inside this resource
    const key = localKey(node.reference, baseUrls);
    return key !== undefined ? { key, opaque: false } : { opaque: true };
  }
  // A logical reference (identifier only). Anything else holding a single Identifier is counted
  // too: over-counting only makes more criteria undetermined, which never widens.
  if (node.resourceType === undefined && isObject(node.identifier)) return { opaque: true };
  return undefined;
}

/** The references of a resource (see {@link ResourceLinks}); too deep a resource is all opaque. */
export function resourceLinks(resource: Json, baseUrls: readonly string[] = []): ResourceLinks {
  const references = new Set<string>();
  let opaque = false;
  const visit = (node: unknown, depth: number): void => {
    if (depth > 64) {
      opaque = true;
      return;
    }
    if (Array.isArray(node)) {
      for (const v of node) if (v !== null && typeof v === 'object') visit(v, depth + 1);
      return;
    }
    if (!isObject(node)) return;
    const ref = referenceOf(node, baseUrls);
    if (ref?.key !== undefined) references.add(ref.key);
    if (ref?.opaque) opaque = true;
    for (const key in node) {
      const v = node[key];
      if (v !== null && typeof v === 'object') visit(v, depth + 1);
    }
  };
  visit(resource, 0);
  const authors = new Set<string>();
  let found = false;
  let authorsKnown = true;
  for (const element of AUTHOR_ELEMENTS) {
    const value = resource[element];
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      const node = isObject(item) && element === 'performer' && isObject(item.actor) ? item.actor : item;
      const ref = isObject(node) ? referenceOf(node, baseUrls) : undefined;
      found = true;
      if (ref?.key !== undefined) authors.add(ref.key);
      else authorsKnown = false;
    }
  }
  return { references, opaque, authors, authorsKnown: found && authorsKnown };
}

/** A criterion's outcome: holds, does not, or cannot be told (see UNDETERMINED in the module comment). */
type Match = 'yes' | 'no' | 'unknown';

function inPeriod(p: Period | undefined, t: number): boolean {
  return p === undefined || ((p.start === undefined || p.start <= t) && (p.end === undefined || t <= p.end));
}

function codeMatches(wanted: Code, have: Code): boolean {
  return wanted.code === have.code && (wanted.system === undefined || have.system === undefined || wanted.system === have.system);
}

/**
 * Whether the roles of an actor that the proxy can check hold for the caller: undefined when none
 * of its roles can be checked (see the module comment).
 */
function roleHolds(roles: readonly Code[], req: ConsentRequest, patientId: string): boolean | undefined {
  let result: boolean | undefined;
  const type = req.user?.resourceType;
  for (const r of roles) {
    let holds: boolean | undefined;
    if (r.system === ROLE_CLASS_SYSTEM && r.code === 'PAT') holds = type === 'Patient';
    else if (r.system === ROLE_CLASS_SYSTEM && r.code === 'PROV') holds = type !== undefined && PROVIDER_USER_TYPES.has(type);
    else if (r.system === SECURITY_ROLE_SYSTEM && r.code === 'humanuser') holds = req.user !== undefined;
    else if (r.system === SECURITY_ROLE_SYSTEM && r.code === 'datasubject') holds = type === 'Patient' && req.user?.id === patientId;
    if (holds !== undefined) result = (result ?? true) && holds;
  }
  return result;
}

/**
 * Whether an actor names the caller: its identifier is the app's, or its reference is the
 * user's `fhirUser` as a local `Type/id` (exactly). A reference that is not local (under another
 * base) but ends in `/<fhirUser>` may name the same person on another server: undetermined, so a
 * deny still applies and a permit does not.
 */
function actorNames(a: Actor, req: ConsentRequest): Match {
  if (
    a.identifier !== undefined &&
    req.appIdentifier !== undefined &&
    a.identifier.code === req.appIdentifier.value &&
    (a.identifier.system === undefined || a.identifier.system === req.appIdentifier.system)
  ) {
    return 'yes';
  }
  if (a.reference === undefined || req.user === undefined) return 'no';
  const user = `${req.user.resourceType}/${req.user.id}`;
  if (a.key !== undefined) return a.key === user ? 'yes' : 'no';
  return a.reference.endsWith(`/${user}`) ? 'unknown' : 'no';
}

function actorMatches(p: Provision, req: ConsentRequest, patientId: string): Match {
  let best: Match = 'no';
  for (const a of p.actors) {
    const named = actorNames(a, req);
    if (named === 'no') continue;
    if (named === 'unknown') {
      best = 'unknown';
      continue;
    }
    // A checkable role that does not hold: a deny still applies, a permit does not.
    if (a.roles.length === 0 || roleHolds(a.roles, req, patientId) !== false) return 'yes';
    best = 'unknown';
  }
  return best;
}

/** One `data` entry against the resource (`self` = its `Type/id`, when it has an id). */
function dataMatches(d: DataReference, self: string | undefined, facts: ResourceFacts): Match {
  if (self === undefined) return 'unknown';
  // A reference that is not local (another base, say) may still be an alias of this one.
  const isSelf: Match = d.key !== undefined ? (d.key === self ? 'yes' : 'no') : d.reference.endsWith(`/${self}`) ? 'unknown' : 'no';
  if (isSelf === 'yes') return 'yes';
  switch (d.meaning) {
    case 'instance':
      return isSelf;
    case 'related':
      return 'unknown'; // whether D refers to this resource is not known (D is not read)
    case 'dependents': {
      const links = facts.links?.();
      if (!links || d.key === undefined) return 'unknown';
      if (links.references.has(d.key)) return 'yes';
      return links.opaque || isSelf === 'unknown' ? 'unknown' : 'no';
    }
    case 'authoredby': {
      const links = facts.links?.();
      if (!links || d.key === undefined) return 'unknown';
      if (links.authors.has(d.key)) return 'yes';
      return links.authorsKnown ? 'no' : 'unknown';
    }
  }
}

/** Every criterion of the provision (AND): no when one fails, unknown when one cannot be told. */
function matches(p: Provision, req: ConsentRequest, facts: ResourceFacts, patientId: string): Match {
  if (!inPeriod(p.period, req.now)) return 'no';
  let result: Match = 'yes';
  if (p.actors.length > 0) {
    const m = actorMatches(p, req, patientId);
    if (m === 'no') return 'no';
    if (m === 'unknown') result = 'unknown';
  }
  if (p.actions.length > 0 && !p.actions.some((a) => (req.write ? a === 'correct' : READ_ACTIONS.has(a)))) return 'no';
  if (p.purposes.length > 0 && !p.purposes.some((c) => c.code === req.purposeOfUse)) return 'no';
  if (p.classes.length > 0 && !p.classes.some((c) => c.code === facts.resourceType && (c.system === undefined || c.system === FHIR_RESOURCE_TYPES_SYSTEM))) return 'no';
  if (p.codes.length > 0 && !p.codes.some((w) => facts.codes.some((h) => codeMatches(w, h)))) return 'no';
  if (p.securityLabels.length > 0) {
    // Exact, or (undetermined) a confidentiality level above the one named.
    let m: Match = 'no';
    for (const w of p.securityLabels) {
      for (const l of facts.labels) {
        if (l.code === w.code && (w.system === undefined || w.system === l.system)) m = 'yes';
        else if (m === 'no' && l.kind === 'confidentiality' && w.system === l.system && CONFIDENTIALITY_RANK[w.code] !== undefined && CONFIDENTIALITY_RANK[l.code] >= CONFIDENTIALITY_RANK[w.code]) m = 'unknown';
      }
    }
    if (m === 'no') return 'no';
    if (m === 'unknown') result = 'unknown';
  }
  if (p.dataPeriod !== undefined) {
    if (facts.date === undefined) result = 'unknown';
    else if (!inPeriod(p.dataPeriod, facts.date)) return 'no';
  }
  if (p.data.length > 0) {
    const self = facts.id === undefined ? undefined : `${facts.resourceType}/${facts.id}`;
    let m: Match = 'no';
    for (const d of p.data) {
      const one = dataMatches(d, self, facts);
      if (one === 'yes') {
        m = 'yes';
        break;
      }
      if (one === 'unknown') m = 'unknown';
    }
    if (m === 'no') return 'no';
    if (m === 'unknown') result = 'unknown';
  }
  return result;
}

/**
 * The decision of one provision and its nested ones. `type` is the provision's effective type
 * (the root's may come from `policyRule`); `uncertain`: an ancestor matched only on an
 * undetermined criterion, so no permit can apply below it.
 */
function evaluateProvision(
  p: Provision,
  type: 'permit' | 'deny' | undefined,
  req: ConsentRequest,
  facts: ResourceFacts,
  consent: ParsedConsent,
  path: string,
  named: readonly string[],
  uncertain: boolean,
): ConsentDecision | undefined {
  const m = matches(p, req, facts, consent.patientId);
  if (m === 'no') return undefined;
  const unsure = uncertain || m === 'unknown';
  if (unsure && type === 'permit' && !p.provisions.some(hasDeny)) return undefined;
  const labels = p.securityLabels.length > 0 ? [...named, ...p.securityLabels.map((c) => c.code)] : named;
  let permit: ConsentDecision | undefined;
  for (let i = 0; i < p.provisions.length; i++) {
    const child = p.provisions[i];
    const d = evaluateProvision(child, child.type, req, facts, consent, `${path}.provision[${i}]`, labels, unsure);
    if (d?.decision === 'deny') return d;
    if (d?.decision === 'permit') permit ??= d;
  }
  if (permit) return permit;
  if (type === undefined || (type === 'permit' && unsure)) return undefined;
  const rule = path === 'provision' && p.type !== type ? `Consent/${consent.id}#policyRule` : `Consent/${consent.id}#${path}`;
  return { decision: type, rule, consentId: consent.id, labels };
}

/** Whether a provision or one below it denies (worth descending into when a permit cannot apply). */
function hasDeny(p: Provision): boolean {
  return p.type === 'deny' || p.provisions.some(hasDeny);
}

/** The root provision of a consent: the one written, or for a policyRule alone an empty one. */
const EMPTY_PROVISION: Provision = { actors: [], actions: [], securityLabels: [], purposes: [], classes: [], codes: [], data: [], provisions: [] };

/** The root's effective type: its own, else the policyRule's base; when they disagree, deny. */
function rootType(consent: ParsedConsent): 'permit' | 'deny' | undefined {
  const own = consent.provision?.type;
  if (own === 'deny' || consent.base === 'deny') return 'deny';
  return own ?? consent.base;
}

/** Is a consent in force now (applies, and its root period contains now)? */
function inForce(consent: ParsedConsent, now: number): boolean {
  return consent.applies && (consent.provision !== undefined || consent.base !== undefined) && inPeriod(consent.provision?.period, now);
}

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
    const d = evaluateProvision(c.provision ?? EMPTY_PROVISION, rootType(c), req, facts, c, 'provision', [], false);
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
