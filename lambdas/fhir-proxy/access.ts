/**
 * Who is calling and what their token lets them see: the caller from the SMART authorizer's
 * context, the ONE scope context a request is evaluated in, and the per-resource visibility check
 * the proxy applies to everything it returns (and to stored versions before a write).
 *
 * Pure: no I/O. The rules themselves (which context wins, compartments, restrictions) are
 * documented at the top of `authorize.ts`.
 */
import { valuesAt } from '../shared/fhir/patient-compartment';
import { isObject, type JsonObject } from '../shared/json';
import { ResourceView, type NestedView } from '../shared/fhir/resource-view';
import { mayHoldNested, replaceNested, TooDeep } from '../shared/fhir/walk';
import { markRedacted } from './labels';
import { isValidId, parseReference, type LocalReference } from '../shared/fhir/references';
import { isFhirResourceType } from '../shared/fhir-resource-types';
import type { IssueType } from '../shared/operation-outcome';
import type { DenialReason } from '../shared/app-metrics';
import { findGrants, parseScopes, type Permission, type ResourceGrant, type ScopeContext, type ScopeRestriction, type ScopeSet } from '../shared/smart-scopes';

/** The SMART authorizer's context (`event.requestContext.authorizer`), parsed. */
export interface Caller {
  readonly sub: string;
  readonly clientId: string;
  readonly scopes: ScopeSet;
  /** The launch patient (`patient` claim); undefined when absent. */
  readonly patient?: string;
  /** The `fhirUser` claim as sent (relative or absolute); undefined when absent. */
  readonly fhirUser?: string;
  readonly tier: string;
  readonly jti: string;
  /** Security-label codes the caller is cleared for (used by the consent/labels layer). */
  readonly labels: readonly string[];
}

/**
 * Why a request is refused, stated where it is refused (the per-app metrics' `Reason`,
 * `trace.ts`): a {@link DenialReason}, or `withheld`, an answer withheld whole after the proxy
 * decided on what it had seen (`proxy.ts`), whose reason is the guard's first deny, else a
 * patient outside the caller's compartment, else `other`.
 */
export type RefusalReason = DenialReason | 'withheld';

/** The reasons the label and Consent guard refuses for (`guard.ts`). */
export type GuardReason = Extract<DenialReason, 'label' | 'consent'>;

/**
 * A refusal: why, status, a constant message, and the patients the request named (for the
 * audit). `reason` is required: every refusal states it where it is decided, never from its text.
 */
export interface Denial {
  readonly kind: 'deny';
  readonly reason: RefusalReason;
  readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 412 | 422;
  readonly code: IssueType;
  readonly message: string;
  readonly patientIds: readonly string[];
}

/** A refusal for `reason`: status, constant message, the patients the request named, and its issue code. */
export function refuse(
  reason: RefusalReason,
  status: Denial['status'],
  message: string,
  patientIds: readonly string[] = [],
  code: IssueType = status === 401 ? 'login' : status === 404 ? 'not-found' : status === 412 ? 'conflict' : 'forbidden',
): Denial {
  return { kind: 'deny', reason, status, code, message, patientIds };
}

/**
 * The reason of a refusal made because the caller is confined, to a patient's compartment or by
 * granular scope restrictions (conditional writes, PATCH): `compartment` when a patient is in
 * context, else `scope`.
 */
export function confinedReason(access: Access): DenialReason {
  return access.patientId !== undefined ? 'compartment' : 'scope';
}

/** The settings the access decisions depend on. */
export interface AccessOptions {
  /**
   * Types outside the Patient compartment (Medication, Practitioner, Organization, Location, …)
   * that a compartment-confined caller may read and search. Never writable by such a caller.
   */
  readonly readableNonCompartmentTypes: ReadonlySet<string>;
  /** Client ids of confidential clients: the only ones whose `system/` grants count. */
  readonly confidentialClientIds: ReadonlySet<string>;
  /** Absolute bases under which a reference is local (the public base and the datastore URL). */
  readonly referenceBaseUrls: readonly string[];
}

/** The context a request is evaluated in (exactly one per token, see `authorize.ts`). */
export interface Access {
  readonly kind: 'access';
  readonly caller: Caller;
  readonly context: ScopeContext;
  /** Only the grants of {@link context}. */
  readonly grants: readonly ResourceGrant[];
  /** Set when every resource must be in this patient's compartment. */
  readonly patientId?: string;
  /**
   * The caller's `fhirUser` resolved once, in every context: a reference to a resource on this
   * server (relative, or under {@link AccessOptions.referenceBaseUrls}). Absent when there is no
   * `fhirUser` or it names a resource on another server, which never counts as anyone here.
   */
  readonly user?: LocalReference;
  readonly options: AccessOptions;
  /**
   * Security labels and Consent (`guard.ts`): consulted for every resource the caller would
   * otherwise see or write. Absent only in tests of the scope rules alone.
   */
  readonly guard?: ResourceGuard;
}

/** Security-label and Consent checks on one resource, after the scope and compartment checks. */
export interface ResourceGuard {
  /** Whether the caller may see the resource, and the copy to return when elements were removed (or why not). */
  view(
    resource: Record<string, unknown>,
    patients: readonly string[],
  ): { readonly visible: true; readonly resource?: Record<string, unknown> } | { readonly visible: false; readonly reason: GuardReason };
  /** Why the caller may not write the resource (a label on it or in it, or Consent), or undefined when it may. */
  writeRefusal(resource: Record<string, unknown>, patients: readonly string[]): GuardReason | undefined;
  /** True when patients' Consents are evaluated (their patient must then be known before a write). */
  readonly loadsConsents?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Caller

const CONTEXT_FIELDS = ['sub', 'clientId', 'scope', 'patient', 'fhirUser', 'tier', 'jti', 'labels'] as const;

/**
 * Parses the authorizer context. Undefined (→ 401) when it is missing, not an object, a field is
 * not a string, or `sub`, `clientId`, `scope` or `jti` is empty: a request that did not pass
 * the SMART authorizer never gets further.
 */
export function callerFromAuthorizer(authorizer: unknown): Caller | undefined {
  if (!isObject(authorizer)) return undefined;
  const ctx = authorizer;
  const values: Record<string, string> = {};
  for (const field of CONTEXT_FIELDS) {
    const value = ctx[field];
    if (value === undefined || value === null) values[field] = '';
    else if (typeof value === 'string' && value.length <= 8192) values[field] = value;
    else return undefined;
  }
  if (!values.sub || !values.clientId || !values.scope || !values.jti) return undefined;
  return {
    sub: values.sub,
    clientId: values.clientId,
    scopes: parseScopes(values.scope),
    ...(values.patient ? { patient: values.patient } : {}),
    ...(values.fhirUser ? { fhirUser: values.fhirUser } : {}),
    tier: values.tier,
    jti: values.jti,
    labels: values.labels.split(' ').filter((l) => l !== ''),
  };
}

/**
 * `fhirUser` types of providers: their `user/` grants are not confined to a compartment, and they
 * hold the Consent actor role `PROV` (`consent.ts`).
 */
export const PROVIDER_USER_TYPES: ReadonlySet<string> = new Set(['Practitioner', 'PractitionerRole']);

/**
 * Chooses the one context of the token (patient, else user, else system) and checks its
 * precondition; see the rule at the top of `authorize.ts`.
 */
export function resolveAccess(caller: Caller, options: AccessOptions): Access | Denial {
  const grants = caller.scopes.grants;
  const of = (context: ScopeContext) => grants.filter((g) => g.context === context);
  const user = caller.fhirUser ? parseReference(caller.fhirUser, { baseUrls: options.referenceBaseUrls }) : undefined;
  const withUser = user ? { user } : {};
  const patientGrants = of('patient');
  if (patientGrants.length > 0) {
    if (!isValidId(caller.patient)) return refuse('scope', 403, 'Patient-context scopes need a patient in context');
    return { kind: 'access', caller, context: 'patient', grants: patientGrants, patientId: caller.patient, ...withUser, options };
  }
  const userGrants = of('user');
  if (userGrants.length > 0) {
    if (!user) return refuse('scope', 403, 'User-context scopes need a fhirUser on this server');
    if (user.resourceType === 'Patient') return { kind: 'access', caller, context: 'user', grants: userGrants, patientId: user.id, user, options };
    if (!PROVIDER_USER_TYPES.has(user.resourceType)) return refuse('scope', 403, 'User-context scopes are not supported for this fhirUser type');
    return { kind: 'access', caller, context: 'user', grants: userGrants, user, options };
  }
  const systemGrants = of('system');
  if (systemGrants.length > 0) {
    if (!options.confidentialClientIds.has(caller.clientId)) return refuse('scope', 403, 'System scopes need a confidential client');
    return { kind: 'access', caller, context: 'system', grants: systemGrants, ...withUser, options };
  }
  return refuse('scope', 403, 'No FHIR resource scope');
}

// ---------------------------------------------------------------------------------------------
// Grants and restrictions

/** True when access is unconditional for these grants (no restriction, no compartment). */
export function isUnrestricted(grants: readonly ResourceGrant[]): boolean {
  return grants.some((g) => g.restrictions.length === 0);
}

/**
 * Element paths behind the granular-restriction parameters the proxy can check on a resource.
 * A restriction on any other parameter matches nothing (fail closed).
 */
const RESTRICTION_PATHS: Readonly<Record<string, readonly string[]>> = {
  category: ['category'],
  code: ['code'],
  status: ['status'],
  type: ['type'],
  class: ['class'],
  intent: ['intent'],
  priority: ['priority'],
  'clinical-status': ['clinicalStatus'],
  'verification-status': ['verificationStatus'],
  _security: ['meta.security'],
  _tag: ['meta.tag'],
};

function isCheckableRestriction(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(RESTRICTION_PATHS, name);
}

/** Token match of `code` or `system|code` against a code, Coding or CodeableConcept. */
function tokenMatches(value: unknown, restriction: string): boolean {
  const bar = restriction.indexOf('|');
  const system = bar < 0 ? undefined : restriction.slice(0, bar);
  const code = bar < 0 ? restriction : restriction.slice(bar + 1);
  if (typeof value === 'string') return system === undefined && value === code;
  if (value === null || typeof value !== 'object') return false;
  const v = value as { system?: unknown; code?: unknown; coding?: unknown };
  if (Array.isArray(v.coding)) return v.coding.some((c) => tokenMatches(c, restriction));
  return v.code === code && (system === undefined || v.system === system);
}

function restrictionMatches(resource: unknown, r: ScopeRestriction): boolean {
  if (!isCheckableRestriction(r.name)) return false;
  const paths = RESTRICTION_PATHS[r.name];
  return paths.some((p) => valuesAt(resource, p).some((v) => tokenMatches(v, r.value)));
}

/** True when every restriction of the grant holds for the resource. */
function grantCovers(grant: ResourceGrant, resource: unknown): boolean {
  return grant.restrictions.every((r) => restrictionMatches(resource, r));
}

// ---------------------------------------------------------------------------------------------
// Compartment membership

/**
 * Strict membership, from the compartment patients of a resource of a compartment type: in
 * `patientId`'s compartment and in no other patient's. (A Patient's own id is among its
 * patients, so a Patient linking to another patient is not; reads of a Patient check its id
 * alone, see {@link see}.)
 */
function onlyInCompartmentOf(patients: readonly string[], patientId: string): boolean {
  return patients.length > 0 && patients.every((id) => id === patientId);
}

/**
 * Whether the caller may see a resource, and the patients the resource links to (computed once
 * for both); when it may not, why.
 */
export type Sight =
  | {
      readonly visible: true;
      readonly patients: readonly string[];
      /** The copy to return instead of the resource (labelled elements removed), when there is one. */
      readonly resource?: Record<string, unknown>;
    }
  | { readonly visible: false; readonly patients: readonly string[]; readonly reason: DenialReason; readonly resource?: undefined };

/** A resource nested too deeply to be decided. */
const NOTHING: Sight = { visible: false, patients: [], reason: 'other' };

/**
 * May the caller see (or act on) this resource, with any of `perms`? The type needs a grant of
 * the access context whose restrictions hold for the resource, and a confined caller only sees
 * resources in the compartment of its patient alone (a Patient: only itself, links to other
 * patients ignored), plus the configured readable types outside the compartment
 * (`allowNonCompartment`, for reads only); then the guard (labels, Consent) decides.
 *
 * The whole resource: every resource nested in it (`contained[]`, a Bundle's entries,
 * `shared/fhir/walk.ts`) is decided exactly as if it were read on its own, with the same
 * `perms`; one the caller may not see is removed from the copy returned, which is marked
 * `REDACTED` (the container stays visible: it was decided on its own elements). A resource
 * nested too deeply is not visible. Returns the patients of the resource and of every nested
 * resource released. `grantCache` (type → grants) saves the grant lookup when many resources of
 * a few types are checked with the same `perms`; `patients`: the resource's own compartment
 * patients, when the caller has already computed them.
 */
export function see(
  access: Access,
  resource: unknown,
  perms: readonly Permission[],
  allowNonCompartment = true,
  grantCache: Map<string, ResourceGrant[]> = new Map(),
  patients?: readonly string[],
): Sight {
  const view = viewOf(access, resource);
  return view ? seeView(access, view, perms, allowNonCompartment, grantCache, patients) : NOTHING;
}

function viewOf(access: Access, resource: unknown): ResourceView | undefined {
  try {
    return ResourceView.of(resource, access.options.referenceBaseUrls);
  } catch (e) {
    if (e instanceof TooDeep) return undefined;
    throw e;
  }
}

function seeView(
  access: Access,
  view: ResourceView,
  perms: readonly Permission[],
  allowNonCompartment: boolean,
  grantCache: Map<string, ResourceGrant[]>,
  patients?: readonly string[],
): Sight {
  const own = seeOwn(access, view, perms, allowNonCompartment, grantCache, patients ?? view.patients);
  if (!own.visible || !mayHoldNested(view.resource)) return own;
  let nested: readonly NestedView[];
  try {
    nested = view.nested;
  } catch (e) {
    if (e instanceof TooDeep) return { visible: false, patients: own.patients, reason: 'other' };
    throw e;
  }
  if (nested.length === 0) return own;
  const released = new Set(own.patients);
  const decided = new Map<NestedView['slot'], JsonObject | undefined>();
  let changed = false;
  for (const n of nested) {
    const sight = seeView(access, n.view, perms, true, grantCache);
    if (!sight.visible) {
      decided.set(n.slot, undefined);
      changed = true;
      continue;
    }
    for (const p of sight.patients) released.add(p);
    decided.set(n.slot, sight.resource ?? n.view.resource);
    if (sight.resource !== undefined) changed = true;
  }
  if (!changed) return { visible: true, patients: [...released], ...(own.resource ? { resource: own.resource } : {}) };
  const container = own.resource ?? view.resource;
  const copy = replaceNested(
    container,
    nested.map((n) => ({ slot: n.slot, resource: n.view.resource })),
    (n) => decided.get(n.slot),
  );
  const anyRemoved = [...decided.values()].some((r) => r === undefined);
  return { visible: true, patients: [...released], resource: anyRemoved ? markRedacted(copy) : copy };
}

/** The checks on the resource's own elements (grants, compartment, guard), nested resources aside. */
function seeOwn(
  access: Access,
  view: ResourceView,
  perms: readonly Permission[],
  allowNonCompartment: boolean,
  grantCache: Map<string, ResourceGrant[]>,
  patients: readonly string[],
): Sight {
  const type = view.type;
  const resource = view.resource;
  let grants = grantCache.get(type);
  if (grants === undefined) {
    grants = isFhirResourceType(type) ? findGrants(access.grants, { resourceType: type, permission: perms }) : [];
    grantCache.set(type, grants);
  }
  const compartment = view.inCompartmentType;
  if (grants.length === 0) return { visible: false, patients, reason: 'scope' };
  let covered = false;
  for (const g of grants) {
    if (g.restrictions.length === 0 || grantCovers(g, resource)) {
      covered = true;
      break;
    }
  }
  if (!covered) return { visible: false, patients, reason: 'scope' };
  const patientId = access.patientId;
  let visible: boolean;
  if (patientId === undefined) visible = true;
  else if (!compartment) visible = allowNonCompartment && access.options.readableNonCompartmentTypes.has(type);
  else if (type === 'Patient') visible = resource.id === patientId;
  else visible = onlyInCompartmentOf(patients, patientId);
  if (!visible) return { visible: false, patients, reason: 'compartment' };
  if (!access.guard) return { visible: true, patients };
  const guarded = access.guard.view(resource, patients);
  if (!guarded.visible) return { visible: false, patients, reason: guarded.reason };
  return guarded.resource !== undefined && guarded.resource !== resource ? { visible: true, patients, resource: guarded.resource } : { visible: true, patients };
}

/**
 * Why a written body's references may not be sent, if they may not: a reference written as a
 * search (`Patient?identifier=…`) is resolved by the server after every check here, so it could
 * file the data under any patient. Refused, in any element and any nested resource, for a
 * compartment-confined caller (reason `compartment`) and whenever Consent is evaluated (the
 * patient whose Consent decides must be known before the write; reason `consent`).
 */
export function conditionalReferenceRefusal(access: Access, body: unknown): Denial | undefined {
  const view = viewOf(access, body);
  return view === undefined ? undefined : conditionalIn(access, view);
}

/** {@link conditionalReferenceRefusal} on a view (its conditional references are computed once per view). */
function conditionalIn(access: Access, view: ResourceView): Denial | undefined {
  if (access.patientId === undefined && !access.guard?.loadsConsents) return undefined;
  let conditional: boolean;
  try {
    conditional = view.hasConditionalReference;
  } catch (e) {
    if (!(e instanceof TooDeep)) throw e;
    conditional = true;
  }
  if (!conditional) return undefined;
  return refuse(access.patientId !== undefined ? 'compartment' : 'consent', 403, 'Conditional references are not allowed for this token');
}

/**
 * Why `resource` may not be written (a create or update body, a PATCH result), or undefined when
 * it may. `patients`: its compartment patients (`compartmentPatientIds`), when the caller has
 * already computed them. The whole body is decided, on one view of it: it may hold no conditional
 * reference ({@link conditionalReferenceRefusal}, refused with its own text), and every resource
 * nested in it must be in no other patient's compartment (a confined caller writes no nested
 * Patient) and carry no label the caller may not write. A nested resource needs no grant of its
 * own type: it is written as part of the container the caller holds a grant for. Everything but a
 * conditional reference is refused with the compartment or scope-restriction text, and the reason
 * of the first check that failed: `scope` (no grant covers it), `compartment` (another patient's,
 * or a nested Patient), `label` or `consent` (the guard), `other` (nested too deeply to decide).
 */
export function writeRefusal(access: Access, resource: unknown, perm: Permission, patients: readonly string[] = []): Denial | undefined {
  const view = viewOf(access, resource);
  const refused = (reason: DenialReason): Denial =>
    refuse(reason, 403, access.patientId !== undefined ? 'Resource must be in the patient compartment' : 'Scope restrictions do not cover the resource', patients);
  if (!view) return refused('other');
  const conditional = conditionalIn(access, view);
  if (conditional) return { ...conditional, patientIds: patients };
  const reason = unwritable(access, view, perm, patients.length > 0 ? patients : undefined);
  return reason === undefined ? undefined : refused(reason);
}

/** Why the body may not be written ({@link writeRefusal}), or undefined. */
function unwritable(access: Access, view: ResourceView, perm: Permission, patients: readonly string[] | undefined): DenialReason | undefined {
  const type = view.type;
  if (!isFhirResourceType(type)) return 'scope';
  const grants = findGrants(access.grants, { resourceType: type, permission: perm });
  if (grants.length === 0 || !grants.some((g) => grantCovers(g, view.resource))) return 'scope';
  patients ??= view.patients;
  // A Patient's own id is among its patients: one linking to another patient is not writable.
  if (access.patientId !== undefined && !(view.inCompartmentType && onlyInCompartmentOf(patients, access.patientId))) return 'compartment';
  const guarded = access.guard?.writeRefusal(view.resource, patients);
  if (guarded) return guarded;
  try {
    return nestedUnwritable(access, view);
  } catch (e) {
    if (e instanceof TooDeep) return 'other';
    throw e;
  }
}

/** Why a resource nested in a written body may not be written, or undefined (first refused, in order). */
function nestedUnwritable(access: Access, container: ResourceView): DenialReason | undefined {
  for (const n of container.nested) {
    const view = n.view;
    if (!isFhirResourceType(view.type)) return 'other';
    if (access.patientId !== undefined) {
      if (view.type === 'Patient') return 'compartment';
      if (view.inCompartmentType && view.patients.some((p) => p !== access.patientId)) return 'compartment';
    }
    const guarded = access.guard?.writeRefusal(view.resource, view.patients);
    if (guarded) return guarded;
    const inner = nestedUnwritable(access, view);
    if (inner) return inner;
  }
  return undefined;
}
