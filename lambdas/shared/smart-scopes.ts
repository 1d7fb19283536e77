/**
 * The one SMART App Launch scope grammar of the project (SMART App Launch 2.2, FHIR R4).
 *
 * Used by the SMART authorizer, the FHIR proxy, the Cognito pre-token trigger and the cdk-nag
 * policy rules, so it is pure (no AWS or Node imports) and cheap: one pass per scope, no regular
 * expression backtracking on attacker-controlled text.
 *
 * Grammar accepted (case-sensitive throughout):
 * ```
 * resource-scope = context "/" type "." permissions [ "?" restriction *( "&" restriction ) ]
 * context        = "patient" / "user" / "system"
 * type           = <an R4 resource type name> / "*"
 * permissions    = "read" / "write" / "*"                        ; SMART v1
 *                / ["c"] ["r"] ["u"] ["d"] ["s"]  (non-empty)     ; SMART v2, in this order only
 * restriction    = name "=" ( code / system "|" code )            ; SMART v2 only
 * special        = "launch" / "launch/patient" / "launch/encounter" / "openid" / "fhirUser"
 *                / "profile" / "offline_access" / "online_access"
 * ```
 * v1 permissions map onto v2 meaning: `.read` = `rs`, `.write` = `cud`, `.*` = `cruds`. Write
 * never implies read.
 *
 * Fail-safe rule: anything malformed, unknown, out of order or over a limit is dropped and
 * reported in {@link ScopeSet.rejected} with a reason. A rejected scope never contributes a
 * permission, so a parsing mistake can only narrow access, never broaden it.
 *
 * @see https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 */
import type { FhirInteraction } from './fhir-interactions';
import { isFhirResourceType } from './fhir-resource-types';

// ---------------------------------------------------------------------------------------------
// Types (contract)
// ---------------------------------------------------------------------------------------------

/** Whose data a resource scope reaches: the launch patient, the signed-in user, or a backend. */
export type ScopeContext = 'patient' | 'user' | 'system';

/** SMART v2 permission letters: create, read, update, delete, search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

/** One v2 granular restriction, `name=value` (value is `code` or `system|code`, not decoded). */
export interface ScopeRestriction {
  readonly name: string;
  readonly value: string;
}

/** An accepted resource scope. */
export interface ResourceGrant {
  /** The scope's original text. */
  readonly scope: string;
  readonly context: ScopeContext;
  /** An R4 resource type name, or `*` for every type. */
  readonly resourceType: string;
  /** What the scope allows, in v2 terms (v1 scopes are mapped, see the module comment). */
  readonly permissions: ReadonlySet<Permission>;
  /** v2 granular restrictions, ANDed; empty means unrestricted. */
  readonly restrictions: readonly ScopeRestriction[];
  readonly version: 1 | 2;
}

/** A scope that was dropped, with a human-readable reason (safe to log: no token content). */
export interface RejectedScope {
  readonly scope: string;
  readonly reason: string;
}

/** The non-resource scopes SMART defines that this project understands. */
export type SpecialScope =
  | 'launch'
  | 'launch/patient'
  | 'launch/encounter'
  | 'openid'
  | 'fhirUser'
  | 'profile'
  | 'offline_access'
  | 'online_access';

/** The result of parsing a whole scope string or list. */
export interface ScopeSet {
  /** Accepted resource scopes, de-duplicated by text, in input order (each also a {@link ParsedGrant}). */
  readonly grants: readonly ResourceGrant[];
  readonly launch: boolean;
  readonly launchPatient: boolean;
  readonly launchEncounter: boolean;
  readonly openid: boolean;
  readonly fhirUser: boolean;
  readonly profile: boolean;
  readonly offlineAccess: boolean;
  readonly onlineAccess: boolean;
  /** Every dropped scope with its reason. */
  readonly rejected: readonly RejectedScope[];
}

/** {@link parseScope} result: an accepted resource grant. */
export interface ParsedGrant extends ResourceGrant {
  readonly kind: 'grant';
}

/** {@link parseScope} result: one of the {@link SpecialScope}s. */
export interface ParsedSpecial {
  readonly kind: 'special';
  readonly scope: string;
  readonly special: SpecialScope;
}

/** {@link parseScope} result: a dropped scope. */
export interface ParsedRejected extends RejectedScope {
  readonly kind: 'rejected';
}

/** Discriminated on `kind`. */
export type ParsedScope = ParsedGrant | ParsedSpecial | ParsedRejected;

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

/** The v2 permission letters in their one allowed order. */
export const PERMISSIONS: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];

/** The contexts a resource scope may name. */
export const SCOPE_CONTEXTS: readonly ScopeContext[] = ['patient', 'user', 'system'];

/** At most this many scopes are read from one input; the rest are reported as rejected. */
export const MAX_SCOPES = 200;

/** Longest scope accepted, in characters (also Cognito's limit for a custom scope name). */
export const MAX_SCOPE_LENGTH = 256;

/**
 * The SMART scopes Cognito cannot hold (no resource server, not an OIDC scope it knows) and the
 * kit grants by other means: `fhirUser` (the pre-token trigger's claim), `offline_access` and
 * `online_access` (the app client's refresh-token lifetime). The façade's authorization endpoint
 * takes them out of a request, the token response states them back, the app clients and the
 * drift guard leave them out of Cognito's allowed scopes.
 */
export const SCOPES_WITHOUT_COGNITO_SCOPE: readonly SpecialScope[] = Object.freeze(['fhirUser', 'offline_access', 'online_access'] as const);

/** Longest rejected-scope text echoed back in {@link RejectedScope.scope}. */
const MAX_ECHO_LENGTH = 256;

const SPECIAL_SCOPES: ReadonlyMap<string, SpecialScope> = new Map<string, SpecialScope>(
  (
    [
      'launch',
      'launch/patient',
      'launch/encounter',
      'openid',
      'fhirUser',
      'profile',
      'offline_access',
      'online_access',
    ] as const
  ).map((s) => [s, s]),
);

const V1_PERMISSIONS: ReadonlyMap<string, readonly Permission[]> = new Map<string, readonly Permission[]>([
  ['read', ['r', 's']],
  ['write', ['c', 'u', 'd']],
  ['*', ['c', 'r', 'u', 'd', 's']],
]);

const CONTEXTS: ReadonlySet<string> = new Set<string>(SCOPE_CONTEXTS);

// ---------------------------------------------------------------------------------------------
// Parsing one scope
// ---------------------------------------------------------------------------------------------

function reject(scope: string, reason: string): ParsedRejected {
  const echoed = scope.length > MAX_ECHO_LENGTH ? `${scope.slice(0, MAX_ECHO_LENGTH)}…` : scope;
  return { kind: 'rejected', scope: echoed, reason };
}

/** Printable ASCII without space (0x21–0x7E): the only characters any scope may contain. */
function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Parses v2 permission letters. Returns the set, or a reason when the text is not a non-empty,
 * in-order (`c r u d s`), repetition-free subset of `cruds`.
 */
function parseV2Permissions(text: string): Permission[] | string {
  if (text.length === 0) return 'empty permissions';
  const out: Permission[] = [];
  let next = 0; // index into PERMISSIONS of the first letter still allowed
  for (let i = 0; i < text.length; i++) {
    const idx = PERMISSIONS.indexOf(text[i] as Permission);
    if (idx < 0) return `unknown permission "${text}"`;
    if (idx < next) return `permissions out of order or repeated "${text}" (v2 letters must be a subset of "cruds" in that order)`;
    out.push(PERMISSIONS[idx]);
    next = idx + 1;
  }
  return out;
}

const RESTRICTION_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

/** Characters allowed in a restriction's system or code: printable ASCII minus `"&=?#|,\`. */
function isRestrictionValuePart(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"' || ch === '\\' || ch === '&' || ch === '=' || ch === '?' || ch === '#' || ch === '|' || ch === ',') {
      return false;
    }
  }
  return true; // printable ASCII is checked once for the whole scope
}

function parseRestrictions(query: string): ScopeRestriction[] | string {
  if (query.length === 0) return 'empty restriction after "?"';
  if (query.includes('?')) return 'more than one "?"';
  const out: ScopeRestriction[] = [];
  for (const pair of query.split('&')) {
    if (pair.length === 0) return 'empty restriction (stray "&")';
    const eq = pair.indexOf('=');
    if (eq < 0) return `restriction "${pair}" has no "="`;
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (name.length === 0) return 'restriction with an empty name';
    if (!RESTRICTION_NAME.test(name)) return `restriction name "${name}" is not a search parameter name`;
    if (value.length === 0) return `restriction "${name}" has an empty value`;
    const bar = value.indexOf('|');
    const valid =
      bar < 0
        ? isRestrictionValuePart(value)
        : isRestrictionValuePart(value.slice(0, bar)) && isRestrictionValuePart(value.slice(bar + 1));
    if (!valid) return `restriction "${name}" value is not "code" or "system|code"`;
    out.push({ name, value });
  }
  return out;
}

function parseResourceScope(scope: string): ParsedGrant | ParsedRejected {
  const slash = scope.indexOf('/');
  const context = scope.slice(0, slash);
  if (!CONTEXTS.has(context)) return reject(scope, `unknown context "${context}" (expected patient, user or system)`);

  const q = scope.indexOf('?', slash + 1);
  const body = q < 0 ? scope.slice(slash + 1) : scope.slice(slash + 1, q);
  const dot = body.indexOf('.');
  if (dot < 0) return reject(scope, 'missing "." before the permissions');
  const resourceType = body.slice(0, dot);
  const permissionText = body.slice(dot + 1);
  if (resourceType !== '*' && !isFhirResourceType(resourceType)) {
    return reject(scope, `unknown resource type "${resourceType}" (expected an R4 type name or "*")`);
  }

  let version: 1 | 2;
  let permissions: readonly Permission[];
  const v1 = V1_PERMISSIONS.get(permissionText);
  if (v1) {
    version = 1;
    permissions = v1;
  } else {
    const v2 = parseV2Permissions(permissionText);
    if (typeof v2 === 'string') return reject(scope, v2);
    version = 2;
    permissions = v2;
  }

  let restrictions: readonly ScopeRestriction[] = [];
  if (q >= 0) {
    if (version === 1) return reject(scope, 'granular restrictions ("?") are only allowed on v2 scopes');
    const parsed = parseRestrictions(scope.slice(q + 1));
    if (typeof parsed === 'string') return reject(scope, parsed);
    restrictions = Object.freeze(parsed.map((r) => Object.freeze(r)));
  }

  return Object.freeze({
    kind: 'grant' as const,
    scope,
    context: context as ScopeContext,
    resourceType,
    permissions: new Set(permissions),
    restrictions,
    version,
  });
}

/**
 * Parses one scope. Never throws.
 *
 * @returns `kind: 'grant'` (also a {@link ResourceGrant}), `kind: 'special'`, or
 *   `kind: 'rejected'` (also a {@link RejectedScope}) for anything not exactly in the grammar.
 */
export function parseScope(scope: string): ParsedScope {
  if (typeof scope !== 'string') return reject(String(scope), 'not a string');
  if (scope.length === 0) return reject(scope, 'empty scope');
  if (scope.length > MAX_SCOPE_LENGTH) return reject(scope, `longer than ${MAX_SCOPE_LENGTH} characters`);
  if (!isPrintableAscii(scope)) return reject(scope, 'contains whitespace, control or non-ASCII characters');
  const special = SPECIAL_SCOPES.get(scope);
  if (special) return { kind: 'special', scope, special };
  if (!scope.includes('/')) return reject(scope, 'unknown scope');
  if (scope.startsWith('launch/')) return reject(scope, 'unknown launch context scope');
  return parseResourceScope(scope);
}

/** Type guard for an accepted resource grant. */
export function isParsedGrant(parsed: ParsedScope): parsed is ParsedGrant {
  return parsed.kind === 'grant';
}

// ---------------------------------------------------------------------------------------------
// Parsing a scope set
// ---------------------------------------------------------------------------------------------

/** Splits on spaces (RFC 6749 scope-token separator, %x20), stopping after `limit + 1` tokens. */
function tokenize(input: string, limit: number): { tokens: string[]; more: boolean } {
  const tokens: string[] = [];
  let i = 0;
  const n = input.length;
  while (i < n) {
    while (i < n && input.charCodeAt(i) === 0x20) i++;
    if (i >= n) break;
    let j = i;
    while (j < n && input.charCodeAt(j) !== 0x20) j++;
    if (tokens.length === limit) return { tokens, more: true };
    tokens.push(input.slice(i, j));
    i = j;
  }
  return { tokens, more: false };
}

/**
 * Parses a space-separated scope string (as in a token's `scope` claim) or a list of scopes (as in
 * Cognito's pre-token event). Never throws.
 *
 * Bounds: at most {@link MAX_SCOPES} scopes are read, each at most {@link MAX_SCOPE_LENGTH}
 * characters; anything beyond is rejected. In a string, only spaces separate scopes (a tab or
 * newline makes the scope around it malformed); in a list, an item containing a space is
 * rejected rather than split. Duplicate grants (same text) are kept once.
 */
export function parseScopes(input: string | readonly string[]): ScopeSet {
  let items: readonly unknown[];
  let more = false;
  if (typeof input === 'string') {
    const t = tokenize(input, MAX_SCOPES);
    items = t.tokens;
    more = t.more;
  } else if (Array.isArray(input)) {
    items = input.length > MAX_SCOPES ? input.slice(0, MAX_SCOPES) : input;
    more = input.length > MAX_SCOPES;
  } else {
    items = [];
  }

  const grants: ResourceGrant[] = [];
  const rejected: RejectedScope[] = [];
  const seen = new Set<string>();
  const flags = new Set<SpecialScope>();

  for (const item of items) {
    if (typeof item !== 'string') {
      rejected.push({ scope: String(item).slice(0, MAX_ECHO_LENGTH), reason: 'not a string' });
      continue;
    }
    const parsed = item.includes(' ') ? reject(item, 'contains whitespace') : parseScope(item);
    if (parsed.kind === 'grant') {
      if (seen.has(parsed.scope)) continue;
      seen.add(parsed.scope);
      grants.push(parsed);
    } else if (parsed.kind === 'special') {
      flags.add(parsed.special);
    } else {
      rejected.push({ scope: parsed.scope, reason: parsed.reason });
    }
  }
  if (typeof input !== 'string' && !Array.isArray(input)) {
    rejected.push({ scope: '', reason: 'scopes are neither a string nor a list' });
  }
  if (more) {
    rejected.push({ scope: '…', reason: `more than ${MAX_SCOPES} scopes; the rest were ignored` });
  }

  return Object.freeze({
    grants: Object.freeze(grants),
    launch: flags.has('launch'),
    launchPatient: flags.has('launch/patient'),
    launchEncounter: flags.has('launch/encounter'),
    openid: flags.has('openid'),
    fhirUser: flags.has('fhirUser'),
    profile: flags.has('profile'),
    offlineAccess: flags.has('offline_access'),
    onlineAccess: flags.has('online_access'),
    rejected: Object.freeze(rejected),
  });
}

// ---------------------------------------------------------------------------------------------
// Interactions and queries
// ---------------------------------------------------------------------------------------------

const INTERACTION_PERMISSION: Readonly<Record<FhirInteraction, Permission | undefined>> = {
  read: 'r',
  vread: 'r',
  'history-instance': 'r',
  'search-type': 's',
  'search-system': 's',
  'history-type': 's',
  'history-system': 's',
  create: 'c',
  update: 'u',
  patch: 'u',
  delete: 'd',
  capabilities: undefined,
  batch: undefined,
  transaction: undefined,
  operation: undefined,
};

/**
 * The SMART permission a FHIR interaction needs on its resource type.
 *
 * - `r`: read, vread, history-instance; `s`: search-type, search-system, history-type,
 *   history-system; `c`: create; `u`: update, patch; `d`: delete.
 * - `undefined` for `capabilities` (public: the CapabilityStatement needs no permission) and for
 *   `batch`, `transaction` and `operation`: those are NOT allowed by this answer; the FHIR proxy
 *   decides them per entry (each entry is its own interaction) or per operation definition.
 *   Use {@link permissionRequirement} to tell the two cases apart.
 */
export function permissionFor(interaction: FhirInteraction): Permission | undefined {
  return INTERACTION_PERMISSION[interaction];
}

/** What an interaction requires, distinguishing "nothing" from "decided per entry/operation". */
export type PermissionRequirement =
  | { readonly kind: 'permission'; readonly permission: Permission }
  | { readonly kind: 'none' }
  | { readonly kind: 'per-entry' };

/** Like {@link permissionFor}, but says why there is no single permission. */
export function permissionRequirement(interaction: FhirInteraction): PermissionRequirement {
  const permission = INTERACTION_PERMISSION[interaction];
  if (permission) return { kind: 'permission', permission };
  return interaction === 'capabilities' ? { kind: 'none' } : { kind: 'per-entry' };
}

/**
 * The grants (of a set, or of a list of grants) that allow `permission` on `resourceType`
 * (optionally only in one context). Several permissions: a grant allowing any of them, or with
 * `all`, every one of them. A `*` grant matches every type. Asking for `resourceType: '*'` (e.g. a
 * system-wide search) matches only `*` grants: a grant on one type does not cover all types.
 * Restrictions are returned with the grants; callers must apply them.
 */
export function findGrants(
  from: ScopeSet | readonly ResourceGrant[],
  q: {
    readonly resourceType: string;
    readonly permission: Permission | readonly Permission[];
    /** With several permissions: require every one (default: any one). */
    readonly all?: boolean;
    readonly context?: ScopeContext;
  },
): ResourceGrant[] {
  const grants: readonly ResourceGrant[] = 'grants' in from ? from.grants : from;
  const wanted = typeof q.permission === 'string' ? [q.permission] : q.permission;
  return grants.filter(
    (g) =>
      (g.resourceType === '*' || g.resourceType === q.resourceType) &&
      (q.all ? wanted.every((p) => g.permissions.has(p)) : wanted.some((p) => g.permissions.has(p))) &&
      (q.context === undefined || g.context === q.context),
  );
}

/** True when the set holds at least one resource grant. */
export function hasFhirScope(set: ScopeSet): boolean {
  return set.grants.length > 0;
}

/** The contexts named by the set's grants. */
export function contextsOf(set: ScopeSet): ReadonlySet<ScopeContext> {
  return new Set(set.grants.map((g) => g.context));
}

/**
 * True for a `*` type grant with every permission, e.g. `user/*.cruds` or `system/*.*`.
 * Granular restrictions are not considered: `user/*.cruds?_security=N` also counts.
 */
export function isWildcardEverything(grant: ResourceGrant): boolean {
  return grant.resourceType === '*' && PERMISSIONS.every((p) => grant.permissions.has(p));
}

/** True for a grant on every resource type, e.g. `patient/*.read` (restrictions not considered). */
export function isWildcardType(grant: ResourceGrant): boolean {
  return grant.resourceType === '*';
}

/** The grant's permissions as canonical v2 letters, e.g. `rs`. */
export function permissionLetters(grant: Pick<ResourceGrant, 'permissions'>): string {
  return PERMISSIONS.filter((p) => grant.permissions.has(p)).join('');
}

/** The grant written as a canonical v2 scope, e.g. `patient/Observation.rs?category=laboratory`. */
export function toV2Scope(grant: ResourceGrant): string {
  const base = `${grant.context}/${grant.resourceType}.${permissionLetters(grant)}`;
  return grant.restrictions.length === 0
    ? base
    : `${base}?${grant.restrictions.map((r) => `${r.name}=${r.value}`).join('&')}`;
}

// ---------------------------------------------------------------------------------------------
// Cognito representation
// ---------------------------------------------------------------------------------------------

/** The Cognito resource servers that carry SMART scopes. */
export const COGNITO_RESOURCE_SERVERS = ['patient', 'user', 'system', 'launch'] as const;
export type CognitoResourceServer = (typeof COGNITO_RESOURCE_SERVERS)[number];

const COGNITO_SCOPE_NAME = /^[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]{1,256}$/;

/**
 * True when `name` is a valid Cognito custom scope name: 1–256 characters from
 * `[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]` (printable ASCII without space, `"`, `/` and `\`).
 */
export function isCognitoScopeName(name: string): boolean {
  return typeof name === 'string' && COGNITO_SCOPE_NAME.test(name);
}

/**
 * Splits a SMART scope into the Cognito resource server and custom scope name that represent
 * it (`patient/Observation.rs` → `patient` + `Observation.rs`; `launch/patient` → `launch` +
 * `patient`). Returns `undefined` for scopes Cognito cannot hold as a custom scope: malformed
 * ones, the non-resource-server scopes (`launch`, `openid`, `fhirUser`, `profile`,
 * `offline_access`, `online_access`), and granular restrictions whose value has a system URL
 * (a `/` is not allowed in a scope name; use the code without a system).
 */
export function toCognitoScope(
  scope: string,
): { readonly resourceServer: CognitoResourceServer; readonly scopeName: string } | undefined {
  const parsed = parseScope(scope);
  const slash = scope.indexOf('/');
  if (parsed.kind === 'rejected' || slash < 0) return undefined;
  if (parsed.kind === 'special' && parsed.special !== 'launch/patient' && parsed.special !== 'launch/encounter') {
    return undefined;
  }
  const scopeName = scope.slice(slash + 1);
  if (!isCognitoScopeName(scopeName)) return undefined;
  return { resourceServer: scope.slice(0, slash) as CognitoResourceServer, scopeName };
}

/** Joins a Cognito resource server id and scope name back into the scope text tokens carry. */
export function fromCognitoScope(resourceServer: CognitoResourceServer, scopeName: string): string {
  return `${resourceServer}/${scopeName}`;
}
