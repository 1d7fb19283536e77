/**
 * FHIR R4 Consent (scope `patient-privacy`): parsing, evaluation against one request and one
 * resource, and a per-patient cache. Evaluation is pure; the cache takes a fetch function.
 *
 * Which consents apply: `status` `active`, `scope` patient-privacy
 * (`http://terminology.hl7.org/CodeSystem/consentscope`), and a root `provision.period` that
 * contains now (an expired or not-yet-valid consent does not apply). Other scopes (research,
 * treatment, ADR) and inactive statuses are ignored. A scope `patient-privacy` without a system is
 * undetermined: the consent's denies apply, none of its permits do.
 *
 * UNDETERMINED NEVER WIDENS. Every criterion below is evaluated to one of three outcomes: it
 * holds, it does not, or it cannot be told (a missing system or value, a malformed element, a
 * reference under an unknown base, no date, …). An undetermined criterion counts as matching for
 * a deny and as not matching for a permit. A provision matched only thanks to such a criterion (a
 * deny, or a provision without a type) still denies, but no permit below it can apply: its
 * conditions include the undetermined one.
 *
 * Codings (the rule for every coded criterion): they hold when both systems are present and
 * equal and the codes are equal; they are undetermined when the codes are equal and either
 * system is absent; otherwise they do not hold. So a permit naming a code without a system never
 * applies, and a resource code without a system never satisfies a permit (it does a deny).
 *
 * A provision matches a request and resource when every criterion it states holds:
 * - `period` contains now;
 * - `actor[]`: one actor names the caller and its role holds (below);
 *   - `reference.identifier` in the app registry's system (the caller app's): its value is the
 *     app's (else it does not hold). In any other system or none it may name the user (an NPI)
 *     or the app elsewhere: undetermined;
 *   - `reference.reference`, local (relative, or under the datastore or configured public base):
 *     holds when it is the user's `fhirUser` `Type/id`. Group, Organization, CareTeam,
 *     HealthcareService, Person and Device actors may have the caller as a member or alias
 *     (membership is not resolved): undetermined. A Practitioner and a PractitionerRole may be
 *     the same person: undetermined. A local reference of the user's type but another id, or of
 *     an unrelated type, does not hold. When the request says its user is on another server
 *     (`userElsewhere`), any person actor is undetermined;
 *   - a reference under another base is undetermined when its type could be the caller (as
 *     above), otherwise does not hold; `urn:`, contained (`#`), conditional or malformed
 *     references are undetermined;
 *   - `actor.role` only ever narrows a permit (a deny applies whenever the reference names the
 *     caller or may): v3-RoleClass `PAT` ↔ a Patient `fhirUser`, `PROV` ↔ a Practitioner or
 *     PractitionerRole `fhirUser`; extra-security-role-type `humanuser` ↔ a token with a `fhirUser`
 *     on this server, `datasubject` ↔ the `fhirUser` is the Consent's patient; v3-ParticipationType
 *     recipients (`IRCP`, `PRCP`, `REFB`, `REFT`, `TRC`) ↔ a read, authors (`AUT`, `ENT`, `INF`) ↔
 *     a write, any other participation does not hold. Other v3-RoleClass codes and v3-RoleCode
 *     relationships describe the actor the reference names (`GUARD`, `MTH`, …): not evaluated.
 *     A role without a system, or in any other system (other security role types included), is
 *     undetermined;
 * - `purpose`: the request's purpose of use (a v3-ActReason code from the label policy; codes are
 *   compared exactly, specialisations are not inferred); a request without one is undetermined;
 * - `class`: `http://hl7.org/fhir/resource-types`: the resource type (`Resource` covers every
 *   resource, `DomainResource` all but Bundle, Binary and Parameters); `urn:ietf:rfc:3986`: a
 *   profile the resource declares in `meta.profile` (versions ignored), else undetermined (it may
 *   conform without saying so); MIME types, format codes, other systems: undetermined; no system:
 *   undetermined for the resource's type or anything not a resource type, no for another type;
 * - `code`: a Coding of the resource's `code` or `category` holds. A Coding elsewhere in the
 *   resource (R4: "if this code is found in an instance") may be what the consent means:
 *   undetermined, as is any code when a `code`/`category` concept is text only or has a Coding
 *   without a code;
 * - `securityLabel`: one of the resource's known labels (system and code); a confidentiality
 *   level above the one named is undetermined (a deny on `R` covers `V`, a permit on `R` does not).
 *   A resource label that could not be read (no system, malformed) is undetermined against a
 *   label with its code (any label when it has none); a well-formed label of another system does
 *   not hold. A permit names (unlocks) only the labels it states exactly as the resource carries;
 * - `dataPeriod`: the resource's clinical date, as the interval its precision denotes (`2024` is
 *   the whole year; a Period is its start to its end, open ends unbounded): inside holds, disjoint
 *   does not, overlapping is undetermined. The first of `effective[x]`, `occurrence[x]`,
 *   `performed[x]`, `onset[x]`, `period`, `authoredOn`, `recordedDate`, `date`, `created`,
 *   `issued` the resource has is its date; one that is malformed or not a date (an `onsetAge`, a
 *   `Timing`) makes it undetermined, as does having none;
 * - `data[]`: one entry, by its `meaning` (R4 consent-data-meaning; the reference D is compared as
 *   a local `Type/id`: relative, or under the datastore or configured public base; a D under
 *   another base is undetermined unless its type differs; a version-specific D holds only for the
 *   resource at that version, and is undetermined for another or an unknown one):
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
 *   - a resource without an id (a create) is undetermined for every meaning;
 * - `action` (consentaction): `access`, `use` or `disclose` for reads, `correct` for writes;
 *   `collect` is undetermined for writes (a create collects); a code without a system is
 *   undetermined; another system does not hold.
 *
 * Decision of one consent: the root provision's `type` is the base; `policyRule` (v3-ActCode)
 * gives the base when the root has no type: `OPTIN`/`OPTINR` (the patient agrees, restrictions
 * are the deny provisions) → permit, `OPTOUT`/`OPTOUTE` (the patient refuses, exceptions are the
 * permit provisions) → deny (also without a system: undetermined, so deny); a root type and a
 * policyRule that disagree → deny; a Consent with a policyRule and no provision applies that base
 * to everything. Other policy rules (HIPAA authorizations, state or agency forms, …) name
 * regulations the proxy does not evaluate: they give no base and the provisions alone decide. A
 * matching nested provision overrides its parent (recursively, most specific wins); among the
 * matching provisions of one level, deny overrides permit. Across consents: deny overrides
 * permit. No decision → the label policy's default for the resource's labels.
 *
 * A Consent that is malformed (wrong shapes, unknown provision type, unparseable periods) makes
 * the whole patient's consent state `unavailable`, which fails closed for labelled data.
 */
import { FHIR_RESOURCE_TYPES_SYSTEM, isFhirResourceType } from '../shared/fhir-resource-types';
import { isValidId, parseReference } from '../shared/fhir/references';
import { ACT_CODE_SYSTEM, CONFIDENTIALITY_RANK, CONFIDENTIALITY_SYSTEM, inlineLabels, UNKNOWN_LABEL, type LabelRule } from './labels';
import { PROVIDER_USER_TYPES } from './access';
import { isObject, type JsonObject } from '../shared/json';

export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';
export const ROLE_CLASS_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-RoleClass';
export const SECURITY_ROLE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/extra-security-role-type';
export const PARTICIPATION_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
export const ROLE_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
export const CONSENT_ACTION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentaction';
export const ACT_REASON_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
/** `provision.class` system for profiles (canonical URLs), as in R4 consent-content-class. */
export const URI_SYSTEM = 'urn:ietf:rfc:3986';

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
  /** The version of a version-specific local reference (`Type/id/_history/vid`). */
  readonly version?: string;
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
  /** The codes of `action` (see {@link actionCodings} for their systems). */
  readonly actions: readonly string[];
  /** The codings of `action`; when absent, {@link actions} are taken as codes without a system. */
  readonly actionCodings?: readonly Code[];
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
  /** Applies, but its scope is only undetermined patient-privacy (a code without a system): denies only. */
  readonly uncertain?: boolean;
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

const OTHER_SERVER_TAIL = /\/([A-Z][A-Za-z]{0,63})\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** The resource type of an absolute http(s) reference that is not local (another server), if it ends in `Type/id`. */
function otherServerType(reference: string): string | undefined {
  if (!/^https?:\/\//i.test(reference)) return undefined;
  const m = OTHER_SERVER_TAIL.exec(reference);
  return m && isFhirResourceType(m[1]) ? m[1] : undefined;
}

function provision(value: unknown, field: string, depth: number, baseUrls: readonly string[]): Provision {
  if (!isObject(value) || depth > 16) fail(field);
  if (value.type !== undefined && value.type !== 'permit' && value.type !== 'deny') fail(`${field}.type`);
  const actors = list(value.actor, `${field}.actor`).map((a, i): Actor => {
    const ref = isObject(a) ? a.reference : undefined;
    if (!isObject(ref)) fail(`${field}.actor[${i}].reference`);
    const roles = (a as JsonObject).role === undefined ? [] : concepts([(a as JsonObject).role], `${field}.actor[${i}].role`);
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
    const local = parseReference(ref, { baseUrls });
    return {
      reference: ref,
      ...(local ? { key: `${local.resourceType}/${local.id}` } : {}),
      ...(local?.versionId !== undefined ? { version: local.versionId } : {}),
      meaning: meaning as DataMeaning,
    };
  });
  const actionCodings = concepts(value.action, `${field}.action`);
  return {
    ...(value.type !== undefined ? { type: value.type as 'permit' | 'deny' } : {}),
    ...(value.period !== undefined ? { period: period(value.period, `${field}.period`) } : {}),
    actors,
    actions: actionCodings.map((c) => c.code),
    actionCodings,
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

/**
 * The base decision of a `policyRule` (see the module comment); undefined when it gives none. An
 * opt-out code without a system may be the v3-ActCode one: deny; an opt-in one gives nothing.
 */
function policyBase(value: unknown): 'permit' | 'deny' | undefined {
  if (value === undefined) return undefined;
  let base: 'permit' | 'deny' | undefined;
  for (const c of concepts([value], 'policyRule')) {
    if (c.system === undefined && OPT_OUT.has(c.code)) return 'deny';
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
  const privacy = scopes.some((c) => c.code === 'patient-privacy' && c.system === CONSENT_SCOPE_SYSTEM);
  const maybePrivacy = !privacy && scopes.some((c) => c.code === 'patient-privacy' && c.system === undefined);
  const applies = resource.status === 'active' && (privacy || maybePrivacy);
  const base = policyBase(resource.policyRule);
  return {
    id: resource.id as string,
    patientId: patientRef.id,
    applies,
    ...(applies && maybePrivacy ? { uncertain: true } : {}),
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
  /**
   * The token has a `fhirUser` that is not a resource on this server: who the user is here
   * cannot be told, so every person actor (Patient, Practitioner, …) is undetermined.
   */
  readonly userElsewhere?: boolean;
  /** v3-ActReason code (empty: none, undetermined). */
  readonly purposeOfUse: string;
  readonly write: boolean;
  /** Epoch ms. */
  readonly now: number;
}

/**
 * What Consent criteria look at in a resource. Built by {@link resourceFacts}; a fact that is
 * absent is undetermined (never a reason for a permit to apply).
 */
export interface ResourceFacts {
  readonly resourceType: string;
  readonly id?: string;
  /** `meta.versionId`, for version-specific `data` references. */
  readonly versionId?: string;
  /** The resource's label rules; {@link UNKNOWN_LABEL} among them when a label could not be read. */
  readonly labels: readonly LabelRule[];
  /**
   * With an unknown label: the label Codings (`meta.security`, inline labels) that could not be
   * read because they have no system (`{ code }`) or are malformed (`{}`). Absent: any unknown
   * label may be any label.
   */
  readonly unreadLabels?: readonly { readonly system?: string; readonly code?: string }[];
  /** Codings of `code` and `category`. */
  readonly codes: readonly Code[];
  /** Every `code`/`category` concept has Codings and each has a code (else any code is undetermined). */
  readonly codesComplete?: boolean;
  /** Every other Coding in the resource (for a deny: "if this code is found in an instance"). */
  readonly mentions?: () => readonly Code[];
  /** `meta.profile` canonicals (versions dropped), for `class` in `urn:ietf:rfc:3986`. */
  readonly profiles?: readonly string[];
  /**
   * Clinical date (epoch ms): the start of the interval it denotes (`-Infinity` for a Period
   * without a start), when the resource has a readable one.
   */
  readonly date?: number;
  /** The end of that interval (`Infinity` for a Period without an end); absent: `date` itself. */
  readonly dateEnd?: number;
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
   * Security-label codes named by the deciding provision or its ancestors, exactly (system and
   * code) as the resource carries them. An opt-in label (42 CFR Part 2, say) is only unlocked by
   * a permit that names it.
   */
  readonly labels: readonly string[];
}

/**
 * Where a resource's clinical date is, in order: a choice element (`effective[x]`, …) or a plain
 * one, and the kind a plain one has. The first present decides.
 */
const DATE_ELEMENTS: ReadonlyArray<readonly [name: string, kind: 'choice' | 'date' | 'period']> = [
  ['effective', 'choice'],
  ['occurrence', 'choice'],
  ['performed', 'choice'],
  ['onset', 'choice'],
  ['period', 'period'],
  ['authoredOn', 'date'],
  ['recordedDate', 'date'],
  ['date', 'date'],
  ['created', 'date'],
  ['issued', 'date'],
];

/** The interval a date or Period denotes; undefined when it cannot be read. */
function dateInterval(value: unknown, kind: 'date' | 'period'): { start: number; end: number } | undefined {
  if (kind === 'date') {
    const start = parseDate(value);
    const end = parseDate(value, true);
    return start !== undefined && end !== undefined ? { start, end } : undefined;
  }
  if (!isObject(value) || (value.start === undefined && value.end === undefined)) return undefined;
  const start = value.start === undefined ? -Infinity : parseDate(value.start);
  const end = value.end === undefined ? Infinity : parseDate(value.end, true);
  return start !== undefined && end !== undefined ? { start, end } : undefined;
}

/** The resource's clinical date interval (see the module comment); undefined when undetermined. */
function clinicalInterval(resource: JsonObject): { start: number; end: number } | undefined {
  for (const [name, kind] of DATE_ELEMENTS) {
    if (kind !== 'choice') {
      if (resource[name] !== undefined) return dateInterval(resource[name], kind);
      continue;
    }
    const keys = Object.keys(resource).filter((k) => k.startsWith(name) && /^[A-Z]/.test(k.slice(name.length)));
    if (keys.length === 0) continue;
    if (keys.length > 1) return undefined;
    const suffix = keys[0].slice(name.length);
    if (suffix === 'DateTime' || suffix === 'Instant') return dateInterval(resource[keys[0]], 'date');
    if (suffix === 'Period') return dateInterval(resource[keys[0]], 'period');
    return undefined; // an Age, Range, string, Timing, …: not a date
  }
  return undefined;
}

/** A Coding-like node as a Code; `null` when it is one but has no (string) code; undefined when it is not one. */
function asCoding(node: unknown): Code | null | undefined {
  if (!isObject(node)) return undefined;
  if (typeof node.code === 'string') return { code: node.code, ...(typeof node.system === 'string' ? { system: node.system } : {}) };
  return node.system !== undefined || node.display !== undefined ? null : undefined;
}

/** Codings of `code` and `category` and whether they are complete (see {@link ResourceFacts.codesComplete}). */
function primaryCodes(resource: JsonObject): { codes: Code[]; complete: boolean } {
  const codes: Code[] = [];
  let complete = true;
  for (const field of ['code', 'category']) {
    const v = resource[field];
    if (v === undefined) continue;
    for (const cc of Array.isArray(v) ? v : [v]) {
      if (!isObject(cc) || !Array.isArray(cc.coding) || cc.coding.length === 0) {
        complete = false;
        continue;
      }
      for (const c of cc.coding) {
        const code = asCoding(c);
        if (code) codes.push(code);
        else complete = false;
        if (code && isObject(c) && c.system !== undefined && typeof c.system !== 'string') complete = false;
      }
    }
  }
  return { codes, complete };
}

/** Every Coding in a resource outside `code` and `category` (bounded; too deep a resource adds a wildcard). */
function otherCodings(resource: JsonObject): Code[] {
  const out: Code[] = [];
  const visit = (node: unknown, depth: number): void => {
    if (depth > 64) {
      out.push({ code: '' }); // unreadable: see codeMatch
      return;
    }
    if (Array.isArray(node)) {
      for (const v of node) if (v !== null && typeof v === 'object') visit(v, depth + 1);
      return;
    }
    if (!isObject(node)) return;
    const c = asCoding(node);
    if (c) out.push(c);
    for (const key in node) {
      if (depth === 0 && (key === 'code' || key === 'category')) continue;
      const v = node[key];
      if (v !== null && typeof v === 'object') visit(v, depth + 1);
    }
  };
  visit(resource, 0);
  return out;
}

/** Label Codings of a resource that cannot be read as labels: without a system, or malformed. */
function unreadLabelCodings(resource: JsonObject): { system?: string; code?: string }[] {
  const out: { system?: string; code?: string }[] = [];
  const add = (c: unknown): void => {
    if (!isObject(c) || typeof c.code !== 'string' || (c.system !== undefined && typeof c.system !== 'string')) out.push({});
    else if (c.system === undefined) out.push({ code: c.code });
  };
  const meta = resource.meta;
  if (isObject(meta) && meta.security !== undefined) {
    if (Array.isArray(meta.security)) meta.security.forEach(add);
    else out.push({});
  }
  const visit = (node: unknown, depth: number): void => {
    if (depth > 64) {
      out.push({});
      return;
    }
    if (Array.isArray(node)) {
      for (const v of node) if (v !== null && typeof v === 'object') visit(v, depth + 1);
      return;
    }
    if (!isObject(node)) return;
    inlineLabels(node)?.forEach(add);
    for (const key in node) {
      const v = node[key];
      if (v !== null && typeof v === 'object') visit(v, depth + 1);
    }
  };
  visit(resource, 0);
  return out;
}

/**
 * The facts of a resource for Consent matching. `baseUrls`: bases under which its absolute
 * references are local (the references themselves are only read when a provision needs them).
 */
export function resourceFacts(resource: JsonObject, labels: readonly LabelRule[], baseUrls: readonly string[] = []): ResourceFacts {
  const { codes, complete } = primaryCodes(resource);
  const interval = clinicalInterval(resource);
  const meta = isObject(resource.meta) ? resource.meta : undefined;
  const profiles =
    meta?.profile === undefined ? [] : Array.isArray(meta.profile) && meta.profile.every((p) => typeof p === 'string') ? (meta.profile as string[]).map(canonical) : undefined;
  let links: ResourceLinks | undefined;
  let mentions: Code[] | undefined;
  return {
    resourceType: String(resource.resourceType),
    ...(typeof resource.id === 'string' ? { id: resource.id } : {}),
    ...(typeof meta?.versionId === 'string' ? { versionId: meta.versionId } : {}),
    labels,
    ...(labels.includes(UNKNOWN_LABEL) ? { unreadLabels: unreadLabelCodings(resource) } : { unreadLabels: [] }),
    codes,
    codesComplete: complete,
    mentions: () => (mentions ??= otherCodings(resource)),
    ...(profiles !== undefined ? { profiles } : {}),
    ...(interval !== undefined ? { date: interval.start, dateEnd: interval.end } : {}),
    links: () => (links ??= resourceLinks(resource, baseUrls)),
  };
}

/** A canonical URL without its `|version`. */
function canonical(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}

/** What a Reference-like node refers to: a local `Type/id`, or opaque; undefined when it is not one. */
function referenceOf(node: JsonObject, baseUrls: readonly string[]): { key?: string; opaque: boolean } | undefined {
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
export function resourceLinks(resource: JsonObject, baseUrls: readonly string[] = []): ResourceLinks {
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

/** The better of two outcomes of alternatives (OR): yes, then unknown, then no. */
function either(a: Match, b: Match): Match {
  return a === 'yes' || b === 'yes' ? 'yes' : a === 'unknown' || b === 'unknown' ? 'unknown' : 'no';
}

/** The worse of two outcomes of conditions (AND): no, then unknown, then yes. */
function both(a: Match, b: Match): Match {
  return a === 'no' || b === 'no' ? 'no' : a === 'unknown' || b === 'unknown' ? 'unknown' : 'yes';
}

/** OR over a list (no for an empty one), stopping at the first yes. */
function any<T>(items: readonly T[], one: (item: T) => Match): Match {
  let m: Match = 'no';
  for (const item of items) {
    m = either(m, one(item));
    if (m === 'yes') return m;
  }
  return m;
}

function inPeriod(p: Period | undefined, t: number): boolean {
  return p === undefined || ((p.start === undefined || p.start <= t) && (p.end === undefined || t <= p.end));
}

/** The Coding rule (module comment): both systems and the codes equal; codes equal and a system missing is undetermined. */
function codingMatch(wanted: Code, have: { readonly system?: string; readonly code: string }): Match {
  if (wanted.code !== have.code) return 'no';
  if (wanted.system === undefined || have.system === undefined) return 'unknown';
  return wanted.system === have.system ? 'yes' : 'no';
}

/** `provision.code` against the resource (see the module comment). */
function codeMatch(w: Code, facts: ResourceFacts): Match {
  let m = any(facts.codes, (h) => codingMatch(w, h));
  if (m === 'yes') return m;
  if (facts.codesComplete !== true || facts.mentions === undefined) return 'unknown';
  // Found elsewhere in the instance: what the consent means, perhaps; never enough for a permit.
  if (m === 'no') m = any(facts.mentions(), (h) => (h.code === '' ? 'unknown' : codingMatch(w, h) === 'no' ? 'no' : 'unknown'));
  return m;
}

/** `provision.class` against the resource (see the module comment). */
function classMatch(c: Code, facts: ResourceFacts): Match {
  const type = facts.resourceType;
  if (c.system === FHIR_RESOURCE_TYPES_SYSTEM) {
    if (c.code === 'Resource') return 'yes';
    if (c.code === 'DomainResource') return type === 'Bundle' || type === 'Binary' || type === 'Parameters' ? 'no' : 'yes';
    return c.code === type ? 'yes' : 'no';
  }
  if (c.system === URI_SYSTEM) return facts.profiles?.includes(canonical(c.code)) ? 'yes' : 'unknown';
  if (c.system === undefined && c.code !== type && isFhirResourceType(c.code)) return 'no';
  return 'unknown'; // no system, a MIME type, a format code, another system
}

/** `provision.securityLabel` against the resource (see the module comment). */
function labelMatch(w: Code, facts: ResourceFacts): Match {
  const wantedRank = w.system === undefined || w.system === CONFIDENTIALITY_SYSTEM ? CONFIDENTIALITY_RANK[w.code] : undefined;
  let m: Match = 'no';
  for (const l of facts.labels) {
    if (l === UNKNOWN_LABEL) {
      // Treated as the highest confidentiality, but not a label the resource carries.
      if (wantedRank !== undefined) m = either(m, 'unknown');
      if (facts.unreadLabels === undefined) m = either(m, 'unknown');
      continue;
    }
    m = either(m, codingMatch(w, l));
    if (m === 'no' && wantedRank !== undefined && l.kind === 'confidentiality' && l.system === CONFIDENTIALITY_SYSTEM && CONFIDENTIALITY_RANK[l.code] > wantedRank) m = 'unknown';
    if (m === 'yes') return m;
  }
  if (facts.labels.includes(UNKNOWN_LABEL)) {
    for (const u of facts.unreadLabels ?? []) if (u.code === undefined || u.code === w.code) m = either(m, 'unknown');
  }
  return m;
}

/** The codes of a provision's labels that the resource carries exactly (system and code). */
function namedLabels(p: Provision, facts: ResourceFacts): string[] {
  return p.securityLabels.filter((w) => facts.labels.some((l) => l !== UNKNOWN_LABEL && codingMatch(w, l) === 'yes')).map((w) => w.code);
}

/** `provision.purpose` against the request's purpose of use (v3-ActReason). */
function purposeMatch(c: Code, req: ConsentRequest): Match {
  if (!req.purposeOfUse) return 'unknown';
  return codingMatch(c, { system: ACT_REASON_SYSTEM, code: req.purposeOfUse });
}

const READ_ACTIONS = new Set(['access', 'use', 'disclose']);

/** `provision.action` (consentaction) against the request. */
function actionMatch(c: Code, req: ConsentRequest): Match {
  const does: Match = req.write ? (c.code === 'correct' ? 'yes' : c.code === 'collect' ? 'unknown' : 'no') : READ_ACTIONS.has(c.code) ? 'yes' : 'no';
  if (does === 'no') return 'no';
  if (c.system === undefined) return 'unknown';
  return c.system === CONSENT_ACTION_SYSTEM ? does : 'no';
}

/** Participations of the caller: it receives what it reads, it authors what it writes. */
const RECIPIENT_PARTICIPATIONS = new Set(['IRCP', 'PRCP', 'REFB', 'REFT', 'TRC']);
const AUTHOR_PARTICIPATIONS = new Set(['AUT', 'ENT', 'INF']);

/** Whether one role coding of an actor holds for the caller (see the module comment). */
function roleMatch(r: Code, req: ConsentRequest, patientId: string): Match {
  const type = req.user?.resourceType;
  const holds = (b: boolean): Match => (b ? 'yes' : 'no');
  switch (r.system) {
    case ROLE_CLASS_SYSTEM:
      if (r.code === 'PAT') return holds(type === 'Patient');
      if (r.code === 'PROV') return holds(type !== undefined && PROVIDER_USER_TYPES.has(type));
      return 'yes'; // describes the actor the reference names
    case SECURITY_ROLE_SYSTEM:
      if (r.code === 'humanuser') return holds(req.user !== undefined);
      if (r.code === 'datasubject') return holds(type === 'Patient' && req.user?.id === patientId);
      return 'unknown';
    case PARTICIPATION_TYPE_SYSTEM:
      if (RECIPIENT_PARTICIPATIONS.has(r.code)) return holds(!req.write);
      if (AUTHOR_PARTICIPATIONS.has(r.code)) return holds(req.write);
      return 'no';
    case ROLE_CODE_SYSTEM:
      return 'yes'; // a relationship: describes the actor the reference names
    default:
      return 'unknown'; // no system, or one the proxy does not know
  }
}

/** Actor types that may have the caller as a member or alias (membership is not resolved). */
const COLLECTIVE_ACTORS = new Set(['Group', 'Organization', 'CareTeam', 'HealthcareService', 'Person', 'Device']);
/** Actor types that name a person (who a user on another server is here cannot be told). */
const PERSON_ACTORS = new Set(['Patient', 'Practitioner', 'PractitionerRole', 'RelatedPerson', 'Person']);

/** Whether an actor's `reference.identifier` names the caller. */
function identifierNames(id: Code, req: ConsentRequest): Match {
  const app = req.appIdentifier;
  if (app !== undefined && id.system === app.system) return id.code === app.value ? 'yes' : 'no';
  return 'unknown'; // another system (an NPI, say) or none: it may name the user, or the app elsewhere
}

/** Whether an actor's `reference.reference` names the caller. */
function referenceNames(a: Actor & { reference: string }, req: ConsentRequest): Match {
  const type = a.key !== undefined ? a.key.slice(0, a.key.indexOf('/')) : otherServerType(a.reference);
  if (type === undefined) return 'unknown'; // urn:, contained, conditional, malformed
  const user = req.user;
  if (a.key !== undefined && user !== undefined && a.key === `${user.resourceType}/${user.id}`) return 'yes';
  if (COLLECTIVE_ACTORS.has(type)) return 'unknown';
  if (req.userElsewhere && PERSON_ACTORS.has(type)) return 'unknown';
  if (user === undefined) return 'no';
  const sameType = type === user.resourceType;
  const sameProvider = PROVIDER_USER_TYPES.has(type) && PROVIDER_USER_TYPES.has(user.resourceType);
  if (!sameType && !sameProvider) return 'no';
  // Another id of the user's type here is someone else; anything else may be the same person.
  return a.key !== undefined && sameType ? 'no' : 'unknown';
}

function actorMatches(p: Provision, req: ConsentRequest, patientId: string): Match {
  return any(p.actors, (a) => {
    let named: Match = a.identifier !== undefined ? identifierNames(a.identifier, req) : 'no';
    if (named !== 'yes' && a.reference !== undefined) named = either(named, referenceNames(a as Actor & { reference: string }, req));
    if (named === 'no') return 'no';
    // A role that does not hold or cannot be told: a deny still applies, a permit does not.
    const role = a.roles.reduce<Match>((m, r) => both(m, roleMatch(r, req, patientId)), 'yes');
    return role === 'yes' ? named : 'unknown';
  });
}

/** One `data` entry against the resource (see the module comment). */
function dataMatches(d: DataReference, facts: ResourceFacts): Match {
  if (facts.id === undefined) return 'unknown';
  const self = `${facts.resourceType}/${facts.id}`;
  let isSelf: Match;
  if (d.key !== undefined) isSelf = d.key !== self ? 'no' : d.version === undefined || d.version === facts.versionId ? 'yes' : 'unknown';
  else {
    const type = otherServerType(d.reference);
    isSelf = type !== undefined && type !== facts.resourceType ? 'no' : 'unknown'; // another server: maybe an alias
  }
  if (isSelf === 'yes') return 'yes';
  switch (d.meaning) {
    case 'instance':
      return isSelf;
    case 'related':
      return 'unknown'; // whether D refers to this resource is not known (D is not read)
    case 'dependents': {
      const links = facts.links?.();
      if (!links || d.key === undefined) return 'unknown';
      if (links.references.has(d.key)) return d.version === undefined ? 'yes' : 'unknown';
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

/** `dataPeriod` against the resource's clinical date interval. */
function dataPeriodMatch(p: Period, facts: ResourceFacts): Match {
  if (facts.date === undefined || Number.isNaN(facts.date)) return 'unknown';
  const start = facts.date;
  const end = facts.dateEnd ?? facts.date;
  const ps = p.start ?? -Infinity;
  const pe = p.end ?? Infinity;
  if (end < ps || start > pe) return 'no';
  return ps <= start && end <= pe ? 'yes' : 'unknown';
}

/** Every criterion of the provision (AND): no when one fails, unknown when one cannot be told. */
function matches(p: Provision, req: ConsentRequest, facts: ResourceFacts, patientId: string): Match {
  if (!inPeriod(p.period, req.now)) return 'no';
  const criteria: Array<() => Match> = [];
  const actions = p.actionCodings ?? p.actions.map((code) => ({ code }));
  if (actions.length > 0) criteria.push(() => any(actions, (c) => actionMatch(c, req)));
  if (p.purposes.length > 0) criteria.push(() => any(p.purposes, (c) => purposeMatch(c, req)));
  if (p.classes.length > 0) criteria.push(() => any(p.classes, (c) => classMatch(c, facts)));
  if (p.codes.length > 0) criteria.push(() => any(p.codes, (c) => codeMatch(c, facts)));
  if (p.securityLabels.length > 0) criteria.push(() => any(p.securityLabels, (c) => labelMatch(c, facts)));
  if (p.dataPeriod !== undefined) criteria.push(() => dataPeriodMatch(p.dataPeriod!, facts));
  if (p.actors.length > 0) criteria.push(() => actorMatches(p, req, patientId));
  if (p.data.length > 0) criteria.push(() => any(p.data, (d) => dataMatches(d, facts)));
  let result: Match = 'yes';
  for (const criterion of criteria) {
    result = both(result, criterion());
    if (result === 'no') return 'no';
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
  const labels = p.securityLabels.length > 0 ? [...named, ...namedLabels(p, facts)] : named;
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
  // Resources with the same facts (as far as these consents look at them) get the same decision:
  // it is computed once per request and kind of resource (see `factsKey`).
  const key = factsKey(facts, needsOf(consents), required);
  if (key === undefined) return evaluateAll(consents, req, facts, required);
  let byRequest = MEMO.get(consents);
  if (!byRequest) MEMO.set(consents, (byRequest = new WeakMap()));
  let memo = byRequest.get(req);
  if (!memo) byRequest.set(req, (memo = new Map()));
  const hit = memo.get(key);
  if (hit !== undefined) return hit ?? undefined;
  const decision = evaluateAll(consents, req, facts, required);
  if (memo.size < MEMO_LIMIT) memo.set(key, decision ?? null);
  return decision;
}

/**
 * The resource criteria of a patient's consents, each distinct one once (computed once per
 * consent list): a decision depends on a resource only through their outcomes, the resource's
 * labels (which ones a provision names) and, for `data`, its identity.
 */
interface ConsentNeeds {
  readonly codes: readonly Code[];
  readonly classes: readonly Code[];
  readonly labels: readonly Code[];
  readonly periods: readonly Period[];
  readonly data: boolean;
}

const NEEDS = new WeakMap<readonly ParsedConsent[], ConsentNeeds>();
/** Per consent list, per request: fact key → decision (null: none decides). */
const MEMO = new WeakMap<readonly ParsedConsent[], WeakMap<ConsentRequest, Map<string, ConsentDecision | null>>>();
/** Most kinds of resource remembered per request (a bound on memory, not on correctness). */
const MEMO_LIMIT = 4096;

function needsOf(consents: readonly ParsedConsent[]): ConsentNeeds {
  let needs = NEEDS.get(consents);
  if (needs) return needs;
  const seen = new Set<string>();
  const codes: Code[] = [];
  const classes: Code[] = [];
  const labels: Code[] = [];
  const periods: Period[] = [];
  let data = false;
  const add = <T>(kind: string, list: T[], item: T): void => {
    const k = `${kind}${JSON.stringify(item)}`;
    if (!seen.has(k)) {
      seen.add(k);
      list.push(item);
    }
  };
  const visit = (p: Provision): void => {
    for (const c of p.codes) add('c', codes, c);
    for (const c of p.classes) add('k', classes, c);
    for (const c of p.securityLabels) add('l', labels, c);
    if (p.dataPeriod) add('d', periods, p.dataPeriod);
    data ||= p.data.length > 0;
    p.provisions.forEach(visit);
  };
  for (const c of consents) if (c.provision) visit(c.provision);
  NEEDS.set(consents, (needs = { codes, classes, labels, periods, data }));
  return needs;
}

const MATCH_CHAR: Readonly<Record<Match, string>> = { yes: 'y', no: 'n', unknown: 'u' };

/**
 * What a decision can depend on in `facts`, as a string: the outcome of every distinct resource
 * criterion of the consents and the resource's labels. Undefined when a criterion reads the
 * resource's identity (`data`): no two resources then share a decision. Everything else a
 * decision reads (actor, purpose, action, time) is the request's, the same for all its resources.
 */
function factsKey(facts: ResourceFacts, needs: ConsentNeeds, required: readonly string[]): string | undefined {
  if (needs.data) return undefined;
  let key = `${required.join(',')}|`;
  for (const l of facts.labels) key += `${l.system}#${l.code},`;
  key += '|';
  for (const c of needs.codes) key += MATCH_CHAR[codeMatch(c, facts)];
  for (const c of needs.classes) key += MATCH_CHAR[classMatch(c, facts)];
  for (const c of needs.labels) key += MATCH_CHAR[labelMatch(c, facts)];
  for (const p of needs.periods) key += MATCH_CHAR[dataPeriodMatch(p, facts)];
  return key;
}

function evaluateAll(
  consents: readonly ParsedConsent[],
  req: ConsentRequest,
  facts: ResourceFacts,
  required: readonly string[],
): ConsentDecision | undefined {
  let permit: ConsentDecision | undefined;
  let naming: ConsentDecision | undefined;
  for (const c of consents) {
    if (!inForce(c, req.now)) continue;
    const d = evaluateProvision(c.provision ?? EMPTY_PROVISION, rootType(c), req, facts, c, 'provision', [], c.uncertain === true);
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
