/**
 * Who is calling and what their token lets them see: the caller from the SMART authorizer's
 * context, the ONE scope context a request is evaluated in, and the per-resource visibility check
 * the proxy applies to everything it returns (and to stored versions before a write).
 *
 * Pure: no I/O. The rules themselves (which context wins, compartments, restrictions) are
 * documented at the top of `authorize.ts`.
 */
import { compartmentPatientIds, isCompartmentType, valuesAt } from '../shared/fhir/patient-compartment';
import { isObject } from '../shared/json';
import { isValidId, parseReference, type LocalReference } from '../shared/fhir/references';
import { isFhirResourceType } from '../shared/fhir-resource-types';
import type { IssueType } from '../shared/operation-outcome';
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

/** A refusal: status, a constant message, and the patients the request named (for the audit). */
export interface Denial {
  readonly kind: 'deny';
  readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 412 | 422;
  readonly code: IssueType;
  readonly message: string;
  readonly patientIds: readonly string[];
}

export function deny(
  status: Denial['status'],
  message: string,
  patientIds: readonly string[] = [],
  code: IssueType = status === 401 ? 'login' : status === 404 ? 'not-found' : status === 412 ? 'conflict' : 'forbidden',
): Denial {
  return { kind: 'deny', status, code, message, patientIds };
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
  /** Whether the caller may see the resource, and the copy to return when elements were removed. */
  view(resource: Record<string, unknown>, patients: readonly string[]): { readonly visible: boolean; readonly resource?: Record<string, unknown> };
  /** Whether the caller may write the resource (every label on it and in it visible to them). */
  canWrite(resource: Record<string, unknown>, patients: readonly string[]): boolean;
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
    if (!isValidId(caller.patient)) return deny(403, 'Patient-context scopes need a patient in context');
    return { kind: 'access', caller, context: 'patient', grants: patientGrants, patientId: caller.patient, ...withUser, options };
  }
  const userGrants = of('user');
  if (userGrants.length > 0) {
    if (!user) return deny(403, 'User-context scopes need a fhirUser on this server');
    if (user.resourceType === 'Patient') return { kind: 'access', caller, context: 'user', grants: userGrants, patientId: user.id, user, options };
    if (!PROVIDER_USER_TYPES.has(user.resourceType)) return deny(403, 'User-context scopes are not supported for this fhirUser type');
    return { kind: 'access', caller, context: 'user', grants: userGrants, user, options };
  }
  const systemGrants = of('system');
  if (systemGrants.length > 0) {
    if (!options.confidentialClientIds.has(caller.clientId)) return deny(403, 'System scopes need a confidential client');
    return { kind: 'access', caller, context: 'system', grants: systemGrants, ...withUser, options };
  }
  return deny(403, 'No FHIR resource scope');
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
  const paths = RESTRICTION_PATHS[r.name];
  if (!paths || !isCheckableRestriction(r.name)) return false;
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

/** Whether the caller may see a resource, and the patients the resource links to (computed once for both). */
export interface Sight {
  readonly visible: boolean;
  readonly patients: readonly string[];
  /** The copy to return instead of the resource (labelled elements removed), when there is one. */
  readonly resource?: Record<string, unknown>;
}

const NOTHING: Sight = { visible: false, patients: [] };

/**
 * May the caller see (or act on) this resource, with any of `perms`? The type needs a grant of
 * the access context whose restrictions hold for the resource, and a confined caller only sees
 * resources in the compartment of its patient alone (a Patient: only itself, links to other
 * patients ignored), plus the configured readable types outside the compartment
 * (`allowNonCompartment`, for reads only); then the guard (labels, Consent) decides. Returns the
 * resource's compartment patients too. `grantCache` (type → grants) saves the grant lookup when
 * many resources of a few types are checked with the same `perms`; `patients`: the resource's
 * compartment patients (`compartmentPatientIds`), when the caller has already computed them.
 */
export function see(
  access: Access,
  resource: unknown,
  perms: readonly Permission[],
  allowNonCompartment = true,
  grantCache?: Map<string, ResourceGrant[]>,
  patients?: readonly string[],
): Sight {
  if (!isObject(resource)) return NOTHING;
  const type = resource.resourceType;
  if (typeof type !== 'string') return NOTHING;
  let grants = grantCache?.get(type);
  if (grants === undefined) {
    grants = isFhirResourceType(type) ? findGrants(access.grants, { resourceType: type, permission: perms }) : [];
    grantCache?.set(type, grants);
  }
  const compartment = isCompartmentType(type);
  patients ??= compartment ? compartmentPatientIds(resource, { baseUrls: access.options.referenceBaseUrls }) : [];
  if (grants.length === 0) return { visible: false, patients };
  let covered = false;
  for (const g of grants) {
    if (g.restrictions.length === 0 || grantCovers(g, resource)) {
      covered = true;
      break;
    }
  }
  if (!covered) return { visible: false, patients };
  const patientId = access.patientId;
  let visible: boolean;
  if (patientId === undefined) visible = true;
  else if (!compartment) visible = allowNonCompartment && access.options.readableNonCompartmentTypes.has(type);
  else if (type === 'Patient') visible = (resource as { id?: unknown }).id === patientId;
  else visible = onlyInCompartmentOf(patients, patientId);
  if (!visible || !access.guard) return { visible, patients };
  const guarded = access.guard.view(resource as Record<string, unknown>, patients);
  if (!guarded.visible) return { visible: false, patients };
  return guarded.resource !== undefined && guarded.resource !== resource ? { visible: true, patients, resource: guarded.resource } : { visible: true, patients };
}

/**
 * May a confined caller write this resource (create or update body)? `patients`: its compartment
 * patients (`compartmentPatientIds`), when the caller has already computed them.
 */
export function canWrite(access: Access, resource: unknown, perm: Permission, patients?: readonly string[]): boolean {
  if (!isObject(resource)) return false;
  const type = resource.resourceType;
  if (typeof type !== 'string' || !isFhirResourceType(type)) return false;
  const grants = findGrants(access.grants, { resourceType: type, permission: perm });
  if (grants.length === 0 || !grants.some((g) => grantCovers(g, resource))) return false;
  patients ??= isCompartmentType(type) ? compartmentPatientIds(resource, { baseUrls: access.options.referenceBaseUrls }) : [];
  // A Patient's own id is among its patients: one linking to another patient is not writable.
  if (access.patientId !== undefined && !(isCompartmentType(type) && onlyInCompartmentOf(patients, access.patientId))) return false;
  if (!access.guard) return true;
  return access.guard.canWrite(resource as Record<string, unknown>, patients);
}
