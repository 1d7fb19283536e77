/**
 * Filters what HealthLake returns before it reaches the caller: every resource in a response
 * (search matches, `_include`/`_revinclude`/`:iterate` results, history versions, `$everything`
 * output, operation results) is checked with {@link see}; what fails is removed, `total` is
 * dropped when it may count removed resources, and OperationOutcomes are rebuilt from constant
 * texts. Collects the patients whose data is disclosed, for the audit.
 *
 * Pure: no I/O. Mutates nothing it is given; returns new objects where it changes something.
 */
import type { Permission } from '../shared/smart-scopes';
import { operationOutcome, type IssueSeverity, type IssueType, type OperationOutcome } from '../shared/operation-outcome';
import type { ResourceGrant } from '../shared/smart-scopes';
import { see, type Access } from './access';
import { compartmentPatientIds } from '../shared/fhir/patient-compartment';
import { isObject, type JsonObject } from '../shared/json';
import { MAX_DEPTH } from '../shared/fhir/walk';

/** Collects the patient ids of disclosed resources. */
export class PatientCollector {
  readonly ids = new Set<string>();

  constructor(private readonly baseUrls: readonly string[]) {}

  add(resource: unknown): void {
    for (const id of compartmentPatientIds(resource, { baseUrls: this.baseUrls })) this.ids.add(id);
  }

  addIds(ids: Iterable<string>): void {
    for (const id of ids) this.ids.add(id);
  }
}

const SEVERITIES = new Set(['fatal', 'error', 'warning', 'information']);
/** Element paths only: no quotes, spaces or function calls that could carry a value. */
const SAFE_EXPRESSION = /^[A-Za-z][A-Za-z0-9_]*(\[[0-9]{1,6}\])?(\.[A-Za-z][A-Za-z0-9_]*(\[x\]|\[[0-9]{1,6}\])?)*$/;

/**
 * An OperationOutcome from HealthLake rebuilt with a constant diagnostics text: only each
 * issue's severity, code and plain element-path expressions are kept.
 */
export function sanitizeOutcome(body: unknown, diagnostics: string): OperationOutcome {
  const issues = isObject(body) && body.resourceType === 'OperationOutcome' && Array.isArray(body.issue) ? body.issue : [];
  const kept = issues.filter(isObject).map((issue) => ({
    severity: (SEVERITIES.has(issue.severity as string) ? issue.severity : 'error') as IssueSeverity,
    code: (typeof issue.code === 'string' && /^[a-z-]{1,32}$/.test(issue.code) ? issue.code : 'processing') as IssueType,
    diagnostics,
    expression: (Array.isArray(issue.expression) ? issue.expression : []).filter(
      (e): e is string => typeof e === 'string' && e.length <= 200 && SAFE_EXPRESSION.test(e),
    ),
  }));
  return operationOutcome(kept.length > 0 ? kept : [{ severity: 'error', code: 'processing', diagnostics }]);
}

export interface BundleFilterOptions {
  readonly perms: readonly Permission[];
  /** Keep `total` when nothing matching was removed (the search was narrowed exactly). */
  readonly exactTotal: boolean;
  /** Keep entries without a resource (deleted versions in a history). */
  readonly keepEmptyEntries: boolean;
}

/**
 * A Bundle with every entry the caller may not see removed. Returns the new Bundle, or
 * undefined when `body` is not a Bundle.
 */
export function filterBundle(access: Access, body: unknown, options: BundleFilterOptions, patients: PatientCollector): JsonObject | undefined {
  if (!isObject(body) || body.resourceType !== 'Bundle') return undefined;
  const entries = Array.isArray(body.entry) ? body.entry : [];
  const kept: unknown[] = [];
  let removedMatches = 0;
  let keptMatches = 0;
  const grantCache = new Map<string, ResourceGrant[]>();
  for (const entry of entries) {
    if (!isObject(entry)) continue;
    const resource = entry.resource;
    const search = isObject(entry.search) ? entry.search : undefined;
    if (resource === undefined) {
      if (options.keepEmptyEntries) kept.push(entry);
      else removedMatches++;
      continue;
    }
    if (isObject(resource) && resource.resourceType === 'OperationOutcome') continue; // search.mode outcome
    const sight = see(access, resource, options.perms, true, grantCache);
    if (sight.visible) {
      patients.addIds(sight.patients);
      kept.push(sight.resource !== undefined ? { ...entry, resource: sight.resource } : entry);
      if (search?.mode !== 'include') keptMatches++;
    } else if (search?.mode !== 'include') {
      removedMatches++;
    }
  }
  const out: JsonObject = { ...body, entry: kept };
  if (kept.length === 0) delete out.entry;
  // With security labels and Consent, a total larger than what the caller was shown may count
  // withheld resources (a page, or `_summary=count`): it is kept only when it is exactly that.
  const guardedTotal = access.guard !== undefined && body.type === 'searchset' && out.total !== keptMatches;
  if (!options.exactTotal || removedMatches > 0 || guardedTotal) delete out.total;
  return out;
}

/**
 * The result of an operation: a Bundle (entries filtered), Parameters (parameters whose
 * resource may not be seen are removed, recursively), an OperationOutcome (sanitized), or a
 * single resource (undefined when it may not be seen).
 */
export function filterOperationResult(access: Access, body: unknown, perms: readonly Permission[], patients: PatientCollector): unknown {
  if (!isObject(body)) return undefined;
  if (body.resourceType === 'Bundle') {
    return filterBundle(access, body, { perms, exactTotal: false, keepEmptyEntries: false }, patients);
  }
  if (body.resourceType === 'OperationOutcome') return sanitizeOutcome(body, 'Operation outcome');
  if (body.resourceType === 'Parameters') return filterParameters(access, body, perms, patients, 0);
  const sight = see(access, body, perms);
  if (!sight.visible) return undefined;
  patients.addIds(sight.patients);
  return sight.resource ?? body;
}

function filterParameters(access: Access, params: JsonObject, perms: readonly Permission[], patients: PatientCollector, depth: number): JsonObject {
  const list = Array.isArray(params.parameter) ? params.parameter : [];
  const kept: unknown[] = [];
  for (const p of list) {
    if (!isObject(p) || depth > MAX_DEPTH) continue;
    let next: JsonObject = p;
    if (p.resource !== undefined) {
      const r = filterOperationResult(access, p.resource, perms, patients);
      if (r === undefined) continue;
      next = { ...next, resource: r };
    }
    if (Array.isArray(p.part)) next = { ...next, part: (filterParameters(access, { parameter: p.part }, perms, patients, depth + 1).parameter as unknown[]) ?? [] };
    kept.push(next);
  }
  return { ...params, parameter: kept };
}
