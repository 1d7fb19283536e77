/**
 * The per-request security-label and Consent guard (`ResourceGuard` of `access.ts`): decides,
 * for each resource the scope and compartment checks let through, whether the caller's label
 * clearance and the patient's Consent allow it, removes inline-labelled elements the caller may
 * not see, and counts every decision for the audit.
 *
 * Order for one resource (labels from `labels.ts`, consents from `consent.ts`):
 * 1. every label needing clearance must be cleared (app and user; patient self-access per the
 *    policy); an unknown or malformed label is held to `UNKNOWN_LABEL` (confidentiality `V`);
 * 2. for each patient the resource belongs to: consents unavailable (unreadable, malformed, not
 *    loaded) → the resource is withheld, labelled or not (unknown consent releases nothing of
 *    that patient; the proxy answers 503 for an outage, `consentUnknown`); otherwise
 *    the consents decide (deny overrides permit); when none decides, any opt-in label
 *    (`noConsent: deny`, not waived by self-access) withholds it, else the general default;
 * 3. inline labels: each labelled element is decided as in 1–2 with its own labels added;
 *    refused elements are removed and the copy is marked `REDACTED`.
 * Writes: the written resource must pass 1–2 (with `correct` as the consent action) and carry
 * no inline label the caller would not see.
 */
import { compartmentPatientIds } from '../shared/fhir/patient-compartment';
import type { Access, GuardReason, ResourceGuard } from './access';
import { evaluateConsents, resourceFacts, type ConsentCache, type ConsentRequest, type PatientConsents, type ResourceFacts } from './consent';
import { clearanceGap, hasInlineLabels, redactInline, UNKNOWN_LABEL, type Clearance, type LabelIndex, type LabelSet } from './labels';
import { isObject, type JsonObject } from '../shared/json';
import { TooDeep, walkResources } from '../shared/fhir/walk';

/** An app as the guard sees it (from the app registry, keyed by Cognito client id). */
export interface AppClearance {
  readonly clientId: string;
  readonly appId: string;
  readonly identifier: { readonly system: string; readonly value: string };
  readonly labels: readonly string[];
}

/** An app as the guard uses it: its label grants expanded once, when the proxy is created. */
export interface GuardApp extends AppClearance {
  readonly cleared: ReadonlySet<string>;
}

/** The registered apps by client id, each with its label grants expanded (once, not per request). */
export function guardApps(index: LabelIndex, apps: readonly AppClearance[]): Map<string, GuardApp> {
  return new Map(apps.map((a) => [a.clientId, { ...a, cleared: index.expand(a.labels) }]));
}

/** One counted decision, for the audit. */
export interface GuardDecision {
  readonly patientId?: string;
  readonly decision: 'permit' | 'deny';
  /** The rule that decided: `Consent/<id>#provision…`, `label:PSY:user`, `default:SUD:opt-in`, … */
  readonly rule: string;
  /** The id of the Consent that decided, when one did (whatever prefixes the rule carries). */
  readonly consentId?: string;
  readonly count: number;
}

/** A decision on one resource or element; a deny states its reason (the rule's kind). */
type Outcome =
  | { readonly permit: true; readonly rule: string; readonly consentId?: string }
  | {
      readonly permit: false;
      readonly rule: string;
      /** The Consent that decided, when one did. */
      readonly consentId?: string;
      /** `label`: a label the caller is not cleared for (or an element too deep to redact); `consent`: Consent, its state or the opt-in defaults. */
      readonly reason: GuardReason;
    };

export interface GuardContext {
  readonly index: LabelIndex;
  /** From {@link guardApps}. */
  readonly apps: ReadonlyMap<string, GuardApp>;
  /** Undefined when consent enforcement is off. */
  readonly consents?: ConsentCache;
  readonly now: number;
}

/** Shared, never mutated: the common outcomes and consent states (no allocation per resource). */
const NO_CONSENTS: Extract<PatientConsents, { kind: 'consents' }> = { kind: 'consents', consents: [] };
const UNAVAILABLE: PatientConsents = { kind: 'unavailable' };
const GENERAL_OPT_IN: Outcome = { permit: false, rule: 'default:general:opt-in', reason: 'consent' };
const GENERAL_OPT_OUT: Outcome = { permit: true, rule: 'default:general:opt-out' };
const LABELS_OPT_OUT: Outcome = { permit: true, rule: 'default:labels:opt-out' };
const NO_LABELS: ReadonlySet<string> = new Set();

export class RequestGuard implements ResourceGuard {
  private readonly clearance: Clearance;
  private readonly selfId?: string;
  private readonly request: ConsentRequest;
  private readonly writeRequest: ConsentRequest;
  private readonly loaded = new Map<string, PatientConsents>();
  private readonly counts: Array<{ patientId?: string; decision: 'permit' | 'deny'; rule: string; consentId?: string; count: number }> = [];
  private readonly byRule = new Map<string, [Map<string, GuardDecision & { count: number }> | undefined, Map<string, GuardDecision & { count: number }> | undefined]>();

  private readonly baseUrls: readonly string[];

  /** `access`: the resolved access (its caller, patient in context and resolved `fhirUser`). */
  constructor(
    private readonly ctx: GuardContext,
    access: Pick<Access, 'caller' | 'patientId' | 'user' | 'options'>,
  ) {
    const caller = access.caller;
    const patientId = access.patientId;
    const user = access.user;
    this.baseUrls = access.options.referenceBaseUrls;
    const app = ctx.apps.get(caller.clientId);
    const systemToken = caller.sub === caller.clientId;
    this.clearance = {
      app: app?.cleared ?? NO_LABELS,
      ...(systemToken ? {} : { user: ctx.index.expand(caller.labels) }),
    };
    // Only a fhirUser on this server (resolved by resolveAccess) can be the patient themself.
    if (user?.resourceType === 'Patient' && patientId !== undefined && user.id === patientId) this.selfId = patientId;
    const policy = ctx.index.policy.purposeOfUse;
    const purpose = this.selfId !== undefined ? policy.self : (app && policy.apps[app.appId]) || policy.default;
    this.request = {
      ...(app ? { appIdentifier: app.identifier } : {}),
      ...(user ? { user: { resourceType: user.resourceType, id: user.id } } : {}),
      // A fhirUser on another server is nobody here, but not "no user": Consent actors are undetermined for it.
      ...(!user && caller.fhirUser ? { userElsewhere: true } : {}),
      purposeOfUse: purpose,
      write: false,
      now: ctx.now,
    };
    this.writeRequest = { ...this.request, write: true };
  }

  /** True when Consents are evaluated, so the patients of a body need their Consents loaded. */
  get loadsConsents(): boolean {
    return this.ctx.consents !== undefined;
  }

  /** Loads the Consents of every patient the bodies' resources belong to (nothing when Consents are not evaluated). */
  async loadFor(...bodies: unknown[]): Promise<void> {
    if (!this.loadsConsents) return;
    const ids = new Set<string>();
    for (const body of bodies) this.patientsIn(body, ids);
    await this.load(ids);
  }

  /** Loads (from the cache or HealthLake) the consents of these patients. */
  async load(patientIds: Iterable<string>): Promise<void> {
    if (!this.ctx.consents) return;
    const wanted = [...new Set(patientIds)].filter((id) => !this.loaded.has(id));
    if (wanted.length === 0) return;
    const got = await this.ctx.consents.get(wanted);
    for (const [id, state] of got) this.loaded.set(id, state);
  }

  /**
   * The patients of every resource in a body: the body, its `contained[]`, the entries of a
   * Bundle, the resources of a Parameters, recursively (the one walker, `shared/fhir/walk.ts`).
   * A body nested too deeply contributes nothing (it is refused whole when it is decided).
   */
  patientsIn(body: unknown, out: Set<string> = new Set()): Set<string> {
    try {
      walkResources(body, (resource) => {
        for (const id of compartmentPatientIds(resource, { baseUrls: this.baseUrls })) out.add(id);
      });
    } catch (e) {
      if (!(e instanceof TooDeep)) throw e;
    }
    return out;
  }

  /**
   * Set when a resource was withheld because a patient's consent state is unknown: `outage`
   * when the Consents could not be read (the proxy answers 503 with `Retry-After`), `malformed`
   * when one could not be evaluated. Nothing of such a patient is released.
   */
  get consentUnknown(): 'outage' | 'malformed' | undefined {
    return this.unknownConsent;
  }

  private unknownConsent?: 'outage' | 'malformed';

  /**
   * The reason of the first deny this request (`label` or `consent`), undefined when none: why an
   * answer the proxy withheld whole was withheld (`trace.ts`, a `withheld` refusal).
   */
  get firstDenial(): GuardReason | undefined {
    return this.firstDeny;
  }

  private firstDeny?: GuardReason;

  decisions(): GuardDecision[] {
    return this.counts.map((d) => ({ ...d }));
  }

  private record(patients: readonly string[], outcome: Outcome): void {
    if (!outcome.permit) this.firstDeny ??= outcome.reason;
    // Keyed by the rule string itself, then the decision, then the patient: no key is built per
    // resource (most outcomes are shared constants, and their strings hash once).
    let pair = this.byRule.get(outcome.rule);
    if (pair === undefined) this.byRule.set(outcome.rule, (pair = [undefined, undefined]));
    const side = outcome.permit ? 1 : 0;
    const byPatient = (pair[side] ??= new Map());
    const record = (p: string | undefined): void => {
      const found = byPatient.get(p ?? '');
      if (found) {
        found.count++;
        return;
      }
      const entry = {
        ...(p !== undefined ? { patientId: p } : {}),
        decision: outcome.permit ? ('permit' as const) : ('deny' as const),
        rule: outcome.rule,
        ...(outcome.consentId !== undefined ? { consentId: outcome.consentId } : {}),
        count: 1,
      };
      byPatient.set(p ?? '', entry);
      this.counts.push(entry);
    };
    if (patients.length === 0) record(undefined);
    else for (const p of patients) record(p);
  }

  private decide(set: LabelSet, resource: JsonObject, patients: readonly string[], write: boolean): Outcome {
    const self = this.selfId !== undefined && patients.length > 0 && patients.every((p) => p === this.selfId);
    for (const rule of set.rules) {
      const gap = clearanceGap(rule, this.clearance, self);
      if (gap) return { permit: false, rule: `label:${rule.code}:${gap}-not-cleared`, reason: 'label' };
    }
    if (set.unknown && clearanceGap(UNKNOWN_LABEL, this.clearance, false)) return { permit: false, rule: 'label:unknown:not-cleared', reason: 'label' };
    let permitBy: Outcome | undefined;
    // The same for every patient of the resource: computed at most once, when first needed.
    let facts: ResourceFacts | undefined;
    let required: string[] | undefined;
    let byDefault: Outcome | undefined;
    for (const patientId of patients) {
      const state: PatientConsents = this.ctx.consents ? (this.loaded.get(patientId) ?? UNAVAILABLE) : NO_CONSENTS;
      if (state.kind === 'unavailable') {
        // Unknown consent releases nothing of the patient, labelled or not (their Consent may deny all).
        const reason = (state as { reason?: unknown }).reason === 'malformed' ? 'malformed' : 'outage';
        if (this.unknownConsent !== 'outage') this.unknownConsent = reason;
        return { permit: false, rule: 'consent:unavailable', reason: 'consent' };
      }
      const consents = state;
      if (consents.consents.length > 0) {
        facts ??= resourceFacts(resource, set.unknown ? [...set.rules, UNKNOWN_LABEL] : set.rules, this.baseUrls);
        const needed = (required ??= this.optIn(set, self));
        const d = evaluateConsents(consents.consents, write ? this.writeRequest : this.request, facts, needed);
        if (d?.decision === 'deny') return { permit: false, rule: d.rule, consentId: d.consentId, reason: 'consent' };
        // A permit unlocks an opt-in label only when it names that label (specific consent).
        if (d?.decision === 'permit' && needed.every((code) => d.labels.includes(code))) {
          permitBy ??= { permit: true, rule: d.rule, consentId: d.consentId };
          continue;
        }
      }
      byDefault ??= this.byDefault(set, self);
      if (!byDefault.permit) return byDefault;
      permitBy ??= byDefault;
    }
    if (patients.length === 0) return { permit: true, rule: set.labelled ? 'label:cleared' : 'default:general:no-patient' };
    return permitBy ?? GENERAL_OPT_OUT;
  }

  /** Codes of the opt-in labels of a set that self-access does not waive. */
  private optIn(set: LabelSet, self: boolean): string[] {
    const rules = set.unknown ? [...set.rules, UNKNOWN_LABEL] : set.rules;
    return rules.filter((r) => r.noConsent === 'deny' && !(self && r.selfAccess !== 'none') && r !== UNKNOWN_LABEL).map((r) => r.code);
  }

  private byDefault(set: LabelSet, self: boolean): Outcome {
    const rules = set.unknown ? [...set.rules, UNKNOWN_LABEL] : set.rules;
    for (const r of rules) {
      if (r.noConsent === 'deny' && !(self && r.selfAccess !== 'none')) return { permit: false, rule: `default:${r === UNKNOWN_LABEL ? 'unknown' : r.code}:opt-in`, reason: 'consent' };
    }
    if (!set.labelled && this.ctx.index.policy.general.noConsent === 'deny' && !self) return GENERAL_OPT_IN;
    return set.labelled ? LABELS_OPT_OUT : GENERAL_OPT_OUT;
  }

  private security(resource: JsonObject): unknown {
    return isObject(resource.meta) ? resource.meta.security : undefined;
  }

  /**
   * Runs `fn` (filtering one upstream response) knowing whether that response's text can hold
   * inline labels at all: when it cannot, resources are not walked element by element. Outside
   * this call every resource is walked.
   */
  public withInlineLabelHint<T>(mayHaveInlineLabels: boolean, fn: () => T): T {
    const previous = this.inlineLabelsPossible;
    this.inlineLabelsPossible = mayHaveInlineLabels;
    try {
      return fn();
    } finally {
      this.inlineLabelsPossible = previous;
    }
  }

  private inlineLabelsPossible = true;

  view(resource: JsonObject, patients: readonly string[]): { visible: true; resource?: JsonObject } | { visible: false; reason: GuardReason } {
    const set = this.ctx.index.read(this.security(resource));
    const outcome = this.decide(set, resource, patients, false);
    this.record(patients, outcome);
    if (!outcome.permit) return { visible: false, reason: outcome.reason };
    if (!set.inline && (!this.inlineLabelsPossible || !hasInlineLabels(resource))) return { visible: true };
    const redacted = redactInline(resource, (codings) => {
      const own = this.ctx.index.read(codings, false);
      const merged: LabelSet = { rules: [...set.rules, ...own.rules], unknown: set.unknown || own.unknown, inline: true, labelled: true };
      const element = this.decide(merged, resource, patients, false);
      if (!element.permit) this.record(patients, { ...element, rule: `element:${element.rule}` });
      return element.permit;
    });
    if (!redacted) {
      this.record(patients, { permit: false, rule: 'element:too-deep', reason: 'label' });
      return { visible: false, reason: 'label' };
    }
    return { visible: true, resource: redacted.resource };
  }

  writeRefusal(resource: JsonObject, patients: readonly string[]): GuardReason | undefined {
    const set = this.ctx.index.read(this.security(resource));
    const outcome = this.decide(set, resource, patients, true);
    this.record(patients, { ...outcome, rule: `write:${outcome.rule}` });
    if (!outcome.permit) return outcome.reason;
    if (!hasInlineLabels(resource)) return undefined;
    let refused: GuardReason | undefined;
    const redacted = redactInline(resource, (codings) => {
      const own = this.ctx.index.read(codings, false);
      const element = this.decide({ rules: [...set.rules, ...own.rules], unknown: set.unknown || own.unknown, inline: true, labelled: true }, resource, patients, true);
      if (!element.permit) refused ??= element.reason;
      return element.permit;
    });
    if (redacted !== undefined && redacted.removed === 0) return undefined;
    // Too deep to redact: as for a read, a label matter.
    const reason = refused ?? 'label';
    this.record(patients, { permit: false, rule: 'write:element:not-cleared', reason });
    return reason;
  }
}

/** The access with a guard attached. */
export function guarded(access: Access, guard: RequestGuard): Access {
  return { ...access, guard };
}
