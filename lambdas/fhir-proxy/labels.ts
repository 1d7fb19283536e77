/**
 * DS4P security labels: what a resource's `meta.security` (and its inline element labels) says,
 * and whether a caller's grants clear it. Pure: no I/O.
 *
 * Labels recognised (each must be listed in the label policy, `policies/labels.json`):
 * - confidentiality (`http://terminology.hl7.org/CodeSystem/v3-Confidentiality`), a hierarchy
 *   U < L < M < N < R < V: a grant of `R` clears `R` and everything below it, `V` clears all.
 *   A resource without one has the policy's `defaultConfidentiality`.
 * - sensitivity (`ETH`, `PSY`, `HIV`, `SUD`, `STD`, `SDV`, … from v3-ActCode): each needs its own
 *   grant.
 * - handling / obligation codes (`NODSCLCD`, …, v3-ActCode): usually need no grant but may make
 *   the category opt-in (`noConsent: "deny"`).
 * `PROCESSINLINELABEL` (v3-ActCode) and `REDACTED` (v3-ObservationValue) are markers, not labels.
 *
 * Clearance: a label that needs clearance is cleared when the APP (its registry `labels`) AND,
 * for a token with an end user, the USER (the token's `labels` claim) hold a grant unlocking it
 * (`policy.grants` maps a grant name to label codes; a grant that is itself a label code
 * unlocks that code). Patient self-access (the patient's own data) is per label:
 * `none` (the patient needs grants like anyone), `cleared-apps` (the user side is waived, the
 * app must still be cleared: 42 CFR Part 2 re-disclosure through third-party apps), `any-app`
 * (both sides waived).
 *
 * THE UNKNOWN-LABEL RULE: a `meta.security` (or inline label) that is not an array of Codings, or
 * a Coding whose system and code are not in the policy, makes the resource (or element) "unknown":
 * it is treated as confidentiality `V` with no patient self-access and an opt-in consent default.
 * It is shown only to a caller whose app AND user are both cleared for `V` (a system token: its
 * app), and then only when a Consent explicitly permits it or does not deny it as opt-in demands.
 */
import { isObject, type JsonObject } from '../shared/json';
import { isNestedSlot, MAX_DEPTH, someElement, TooDeep } from '../shared/fhir/walk';

export const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const OBSERVATION_VALUE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue';
export const INLINE_LABEL_EXTENSION = 'http://hl7.org/fhir/uv/security-label-ds4p/StructureDefinition/extension-inline-sec-label';
export const PROCESS_INLINE_LABEL = 'PROCESSINLINELABEL';
export const REDACTED = 'REDACTED';

/** Confidentiality ranks (HL7 v3 Confidentiality is a hierarchy). */
/** Null-prototype: a code read from data (`constructor`, `__proto__`) is never found on `Object.prototype`. */
export const CONFIDENTIALITY_RANK: Readonly<Record<string, number>> = Object.freeze(Object.assign(Object.create(null) as Record<string, number>, { U: 0, L: 1, M: 2, N: 3, R: 4, V: 5 }));

export type LabelKind = 'confidentiality' | 'sensitivity' | 'handling';
export type SelfAccess = 'none' | 'cleared-apps' | 'any-app';
export type ConsentDefault = 'permit' | 'deny';

export interface LabelRule {
  readonly code: string;
  readonly kind: LabelKind;
  /** The Coding system: v3-Confidentiality for confidentiality, v3-ActCode otherwise, unless set. */
  readonly system: string;
  /** Whether a grant is needed to see data carrying the label. */
  readonly clearance: boolean;
  readonly selfAccess: SelfAccess;
  /** What applies when no Consent of the patient decides: opt-out (`permit`) or opt-in (`deny`). */
  readonly noConsent: ConsentDefault;
  readonly description?: string;
}

export interface LabelPolicy {
  /** Confidentiality of a resource without one. */
  readonly defaultConfidentiality: string;
  /** Unlabelled data: the no-consent default and patient self-access. */
  readonly general: { readonly noConsent: ConsentDefault };
  readonly labels: readonly LabelRule[];
  /** Grant name (token `labels` claim value or registry `labels` value) → label codes it unlocks. */
  readonly grants: Readonly<Record<string, readonly string[]>>;
  /** Purpose of use of a request (v3-ActReason codes), for Consent `provision.purpose`. */
  readonly purposeOfUse: {
    readonly default: string;
    /** A patient reading or writing their own data. */
    readonly self: string;
    /** By registry app id. */
    readonly apps: Readonly<Record<string, string>>;
  };
  readonly consent: {
    /** Read the patients' Consent resources and apply them. */
    readonly enforce: boolean;
    /** How long a patient's consents are cached: the delay before a change takes effect (≤ 60). */
    readonly cacheTtlSeconds: number;
  };
}

/**
 * The built-in policy when none is configured: confidentiality up to `N` needs no grant, every
 * other label is unknown (so withheld from all but `V`-cleared apps and users), no consent
 * lookup, opt-out for unlabelled data.
 */
export const RESTRICTIVE_LABEL_POLICY: LabelPolicy = Object.freeze({
  defaultConfidentiality: 'N',
  general: { noConsent: 'permit' as const },
  labels: [
    ...(['U', 'L', 'M', 'N'] as const).map((code) => ({
      code,
      kind: 'confidentiality' as const,
      system: CONFIDENTIALITY_SYSTEM,
      clearance: false,
      selfAccess: 'any-app' as const,
      noConsent: 'permit' as const,
    })),
    ...(['R', 'V'] as const).map((code) => ({
      code,
      kind: 'confidentiality' as const,
      system: CONFIDENTIALITY_SYSTEM,
      clearance: true,
      selfAccess: 'none' as const,
      noConsent: 'deny' as const,
    })),
  ],
  grants: {},
  purposeOfUse: { default: 'TREAT', self: 'PATRQT', apps: {} },
  consent: { enforce: false, cacheTtlSeconds: 60 },
});

/** The rule an unknown or malformed label is held to (see the module comment). */
export const UNKNOWN_LABEL: LabelRule = Object.freeze({
  code: 'V',
  kind: 'confidentiality',
  system: CONFIDENTIALITY_SYSTEM,
  clearance: true,
  selfAccess: 'none',
  noConsent: 'deny',
  description: 'unknown or malformed label',
});

export function defaultSystem(kind: LabelKind): string {
  return kind === 'confidentiality' ? CONFIDENTIALITY_SYSTEM : ACT_CODE_SYSTEM;
}

/** What a set of labels means for a caller. */
export interface LabelSet {
  /** Every known label (confidentiality included, defaulted when absent). */
  readonly rules: readonly LabelRule[];
  /** An unknown or malformed label was present. */
  readonly unknown: boolean;
  /** `PROCESSINLINELABEL` was present. */
  readonly inline: boolean;
  /** Anything above the default confidentiality, any sensitivity or handling label, or unknown. */
  readonly labelled: boolean;
}

/** A compiled policy: lookups by system|code. */
export class LabelIndex {
  private readonly bySystemCode = new Map<string, LabelRule>();
  readonly defaultConfidentiality: LabelRule;
  readonly defaultRank: number;
  private readonly unlabelled: LabelSet;

  constructor(readonly policy: LabelPolicy) {
    for (const rule of policy.labels) this.bySystemCode.set(`${rule.system}|${rule.code}`, rule);
    const conf = this.bySystemCode.get(`${CONFIDENTIALITY_SYSTEM}|${policy.defaultConfidentiality}`);
    if (!conf) throw new Error(`label policy: defaultConfidentiality ${policy.defaultConfidentiality} is not a listed confidentiality label`);
    this.defaultConfidentiality = conf;
    this.defaultRank = CONFIDENTIALITY_RANK[conf.code] ?? 3;
    this.unlabelled = { rules: [conf], unknown: false, inline: false, labelled: false };
  }

  rule(system: unknown, code: unknown): LabelRule | undefined {
    if (typeof system !== 'string' || typeof code !== 'string') return undefined;
    return this.bySystemCode.get(`${system}|${code}`);
  }

  isLabelCode(code: string): boolean {
    return this.policy.labels.some((r) => r.code === code);
  }

  /** The labels of a `meta.security`-like list of Codings. */
  read(security: unknown, withDefault = true): LabelSet {
    if (security === undefined) return withDefault ? this.unlabelled : { rules: [], unknown: false, inline: false, labelled: false };
    if (!Array.isArray(security)) return { rules: withDefault ? [this.defaultConfidentiality] : [], unknown: true, inline: false, labelled: true };
    const rules: LabelRule[] = [];
    let unknown = false;
    let inline = false;
    let conf: LabelRule | undefined;
    for (const coding of security) {
      if (!isObject(coding)) {
        unknown = true;
        continue;
      }
      const { system, code } = coding as { system?: unknown; code?: unknown };
      if (system === ACT_CODE_SYSTEM && code === PROCESS_INLINE_LABEL) {
        inline = true;
        continue;
      }
      if (system === OBSERVATION_VALUE_SYSTEM && code === REDACTED) continue;
      const rule = this.rule(system, code);
      if (!rule) {
        unknown = true;
        continue;
      }
      if (rule.kind === 'confidentiality') {
        if (conf === undefined || rank(rule) > rank(conf)) conf = rule;
      } else if (!rules.includes(rule)) rules.push(rule);
    }
    if (conf === undefined && withDefault) conf = this.defaultConfidentiality;
    if (conf !== undefined) rules.unshift(conf);
    const labelled = unknown || rules.some((r) => r.kind !== 'confidentiality' || rank(r) > this.defaultRank);
    return { rules, unknown, inline, labelled };
  }

  /** The label codes a list of grant names unlocks. */
  expand(grants: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (const g of grants) {
      const mapped = Object.prototype.hasOwnProperty.call(this.policy.grants, g) ? this.policy.grants[g] : undefined;
      if (mapped) for (const c of mapped) out.add(c);
      else if (this.isLabelCode(g)) out.add(g);
    }
    return out;
  }
}

function rank(rule: LabelRule): number {
  return CONFIDENTIALITY_RANK[rule.code] ?? 5;
}

/** True when `codes` (expanded grants) clear `rule`: confidentiality by hierarchy, others exactly. */
export function clears(codes: ReadonlySet<string>, rule: LabelRule): boolean {
  if (rule.kind !== 'confidentiality') return codes.has(rule.code);
  const needed = rank(rule);
  for (const c of codes) if (CONFIDENTIALITY_RANK[c] !== undefined && CONFIDENTIALITY_RANK[c] >= needed) return true;
  return false;
}

/** A caller's clearance: what its app and (when there is one) its user hold. */
export interface Clearance {
  readonly app: ReadonlySet<string>;
  /** Undefined for a token without an end user (client credentials). */
  readonly user?: ReadonlySet<string>;
}

/**
 * Is the caller cleared for this label? `self`: the data is the calling patient's own.
 * Returns the failing side for the audit, or undefined when cleared.
 */
export function clearanceGap(rule: LabelRule, clearance: Clearance, self: boolean): 'app' | 'user' | undefined {
  if (!rule.clearance) return undefined;
  const waiveUser = self && rule.selfAccess !== 'none';
  const waiveApp = self && rule.selfAccess === 'any-app';
  if (!waiveApp && !clears(clearance.app, rule)) return 'app';
  if (!waiveUser && clearance.user !== undefined && !clears(clearance.user, rule)) return 'user';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Inline (element-level) labels

/**
 * The inline security labels of an element (DS4P `extension-inline-sec-label`, `valueCoding`),
 * or undefined when it has none. A malformed inline label yields a Coding that is never known.
 */
export function inlineLabels(element: unknown): unknown[] | undefined {
  if (!isObject(element) || !Array.isArray(element.extension)) return undefined;
  let out: unknown[] | undefined;
  for (const ext of element.extension) {
    if (!isObject(ext) || ext.url !== INLINE_LABEL_EXTENSION) continue;
    (out ??= []).push(isObject(ext.valueCoding) ? ext.valueCoding : null);
  }
  return out;
}

/**
 * True when any element of `resource` carries an inline label (the resources nested in it are
 * not looked at: each is decided on its own, `shared/fhir/walk.ts`). Too deep a resource counts
 * as labelled, so the redaction that follows refuses it whole.
 */
export function hasInlineLabels(resource: JsonObject): boolean {
  try {
    return someElement(resource, (key, value) => key === 'extension' && Array.isArray(value) && value.some((e) => isObject(e) && e.url === INLINE_LABEL_EXTENSION));
  } catch (e) {
    if (e instanceof TooDeep) return true;
    throw e;
  }
}

/**
 * A copy of `resource` without the elements whose inline labels `allowed` refuses, or the
 * resource itself when nothing is removed. Too deep a resource (past `MAX_DEPTH`) is refused
 * whole (undefined). The resources nested in it (`contained`, Bundle entries) are left as they
 * are: each is decided on its own.
 *
 * Primitives carry their labels in the `_name` sibling (R4 JSON): a labelled single primitive
 * goes with its sibling (`name` and `_name`); in a repeating primitive, item `i` of `name` goes
 * with item `i` of `_name`, so the two lists stay aligned (an `_name` left with only nulls is
 * dropped, and so is a list left empty). A labelled item of a list of complex values goes alone.
 */
export function redactInline(resource: JsonObject, allowed: (labels: unknown[]) => boolean): { resource: JsonObject; removed: number } | undefined {
  let removed = 0;
  const refused = (v: unknown): boolean => {
    const labels = inlineLabels(v);
    if (labels && !allowed(labels)) {
      removed++;
      return true;
    }
    return false;
  };
  const visitArray = (node: unknown[], depth: number): unknown[] => {
    let out: unknown[] | undefined;
    node.forEach((v, i) => {
      if (refused(v)) {
        out ??= node.slice(0, i);
        return;
      }
      const next = v !== null && typeof v === 'object' ? visit(v, depth + 1) : v;
      if (out === undefined && next !== v) out = node.slice(0, i);
      out?.push(next);
    });
    return out ?? node;
  };
  const visit = (node: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new TooDeep();
    if (Array.isArray(node)) return visitArray(node, depth);
    if (!isObject(node)) return node;
    let out: JsonObject | undefined;
    const set = (key: string, value: unknown): void => {
      out ??= { ...node };
      if (value === undefined) delete out[key];
      else out[key] = value;
    };
    for (const key of Object.keys(node)) {
      if ((depth === 0 && key === 'meta') || isNestedSlot(resource, key, depth)) continue;
      const v = node[key];
      if (v === null || typeof v !== 'object') continue;
      if (key.startsWith('_') && key.length > 1 && Array.isArray(v)) {
        const [values, siblings] = alignedRedaction(node[key.slice(1)], v, depth, visit, refused);
        if (siblings !== v) set(key, siblings);
        if (values !== node[key.slice(1)]) set(key.slice(1), values);
        continue;
      }
      if (refused(v)) {
        set(key, undefined);
        if (key.startsWith('_')) set(key.slice(1), undefined);
        continue;
      }
      const next = visit(v, depth + 1);
      if (next === v) continue;
      set(key, Array.isArray(next) && next.length === 0 ? undefined : next);
    }
    return out ?? node;
  };
  let result: JsonObject;
  try {
    result = visit(resource, 0) as JsonObject;
  } catch (e) {
    if (e instanceof TooDeep) return undefined;
    throw e;
  }
  if (removed === 0) return { resource, removed: 0 };
  return { resource: markRedacted(result), removed };
}

/**
 * A repeating primitive (`values`, e.g. `given`) and its `_` sibling list (`siblings`): the items
 * whose sibling is refused are removed from both lists at the same index. Returns the new lists
 * (undefined: drop the element), or the ones given when nothing changed.
 */
function alignedRedaction(
  values: unknown,
  siblings: unknown[],
  depth: number,
  visit: (node: unknown, depth: number) => unknown,
  refused: (v: unknown) => boolean,
): [unknown, unknown[] | undefined] {
  const drop = new Set<number>();
  let changed = false;
  const kept: unknown[] = [];
  siblings.forEach((s, i) => {
    if (refused(s)) {
      drop.add(i);
      changed = true;
      return;
    }
    const next = s !== null && typeof s === 'object' ? visit(s, depth + 1) : s;
    if (next !== s) changed = true;
    kept.push(next);
  });
  if (!changed) return [values, siblings];
  const newValues = Array.isArray(values) ? values.filter((_v, i) => !drop.has(i)) : drop.size > 0 ? undefined : values;
  const newSiblings = kept.every((s) => s === null) ? undefined : kept;
  return [Array.isArray(newValues) && newValues.length === 0 ? undefined : newValues, newSiblings];
}

/** `resource` with the `REDACTED` security marker (v3-ObservationValue) in `meta.security`, added once. */
export function markRedacted(resource: JsonObject): JsonObject {
  const meta = isObject(resource.meta) ? resource.meta : {};
  const security = Array.isArray(meta.security) ? meta.security : [];
  if (security.some((c) => isObject(c) && c.system === OBSERVATION_VALUE_SYSTEM && c.code === REDACTED)) return resource;
  return { ...resource, meta: { ...meta, security: [...security, { system: OBSERVATION_VALUE_SYSTEM, code: REDACTED, display: 'redacted' }] } };
}
