/**
 * Write targets: the stored version of an update, patch or delete target (or an instance
 * operation's target) is read and checked for the caller BEFORE the write is forwarded, and the
 * write is pinned to the version checked (`If-Match`), so a change in between makes HealthLake
 * answer 412 instead of acting on an unchecked version. One path for single requests and
 * batch/transaction entries (`pipeline.ts`).
 */
import { isValidId } from '../shared/fhir/references';
import { isObject, type JsonObject } from '../shared/json';
import type { OperationOutcomeIssueInput } from '../shared/operation-outcome';
import type { Permission } from '../shared/smart-scopes';
import { refuse, see, type Access, type Denial } from './access';
import type { Plan } from './authorize';
import type { ProxyContext } from './context';
import type { HealthLakeResponse } from './healthlake-client';
import { PATCH_ERRORS, patchedResource } from './patch';
import type { Trace } from './trace';
import { compartmentPatientIds } from '../shared/fhir/patient-compartment';

/** A write target to read and check before the write is forwarded (see {@link targetCheck}). */
export interface TargetCheck {
  readonly resourceType: string;
  readonly id: string;
  readonly perms: readonly Permission[];
  /** Pin the write to the version checked (`If-Match`). */
  readonly pin: boolean;
  /** A missing or deleted target: refused 404 with this message, or (undefined) passed unpinned. */
  readonly missing?: string;
}

/** A write target that passed its check: the version to pin, if pinned, and the stored resource checked. */
export interface CheckedTarget {
  readonly ifMatch?: string;
  readonly stored?: JsonObject;
}

export function isDenial(value: unknown): value is Denial {
  return isObject(value) && value.kind === 'deny';
}

/**
 * The stored-version check a plan needs before it is forwarded, one path for both sources:
 * - the scope rules' precheck (a confined or restricted caller's update, delete or instance
 *   operation): a missing or deleted target is 404; pinned when the plan says so, and with labels
 *   enforced a delete too (a label added in between must not be deleted unchecked);
 * - with labels enforced, the write target of an update, patch or delete the scope rules did
 *   not precheck (an unconfined caller): conditional writes are refused (their target is
 *   unknown), and so is FHIRPath Patch (its result cannot be computed here, `patch.ts`); a
 *   missing or deleted target passes unpinned for update (update-as-create: the body already
 *   passed the write guard in `authorize`) and delete (nothing to delete), a PATCH of it is 404;
 *   the write is always pinned.
 * Returns undefined when there is nothing to check, or a refusal.
 */
export function targetCheck(strictLabels: boolean, plan: Plan): TargetCheck | Denial | undefined {
  const p = plan.precheck;
  if (p) return { resourceType: p.resourceType, id: p.id, perms: p.perms, pin: p.pinVersion || (strictLabels && p.perms.includes('d')), missing: 'Resource not found' };
  if (!strictLabels) return undefined;
  const request = plan.request;
  if (request.interaction !== 'update' && request.interaction !== 'patch' && request.interaction !== 'delete') return undefined;
  if (request.conditional || request.id === undefined) return refuse('label', 403, 'Conditional writes are not allowed while security labels are enforced');
  if (request.interaction === 'patch' && request.patch.format !== 'json-patch') return refuse('label', 422, PATCH_ERRORS.fhirPathPatch, [], 'not-supported');
  return {
    resourceType: request.resourceType,
    id: request.id,
    perms: [request.interaction === 'delete' ? 'd' : 'u'],
    pin: true,
    ...(request.interaction === 'patch' ? { missing: PATCH_ERRORS.missing } : {}),
  };
}

/**
 * Reads and checks a write target: the stored version must be the type and id asked for and
 * visible to the caller WHOLE (404 if not, like a missing one: no existence oracle; 403 when
 * elements or nested resources of it would be removed), and with labels enforced writable by
 * it (labels and Consent for `correct`), so a write can neither overwrite nor strip them. Then
 * the write is pinned to the version read: its version must be known (409) and agree with the
 * client's `If-Match` (412). Returns the target checked, a refusal, or an upstream error.
 */
export async function checkTarget(
  ctx: ProxyContext,
  access: Access,
  trace: Trace,
  check: TargetCheck,
  clientIfMatch: string | undefined,
): Promise<CheckedTarget | Denial | HealthLakeResponse> {
  const stored = await ctx.client.request({ method: 'GET', path: `${check.resourceType}/${check.id}` });
  if (stored.status === 404 || stored.status === 410) return check.missing !== undefined ? refuse('other', 404, check.missing) : {};
  if (stored.status !== 200) return stored;
  const body = isObject(stored.body) && stored.body.resourceType === check.resourceType && stored.body.id === check.id ? stored.body : undefined;
  if (!body) {
    trace.patients.add(stored.body);
    return refuse('other', 404, 'Resource not found');
  }
  // Its patients, computed once: for the audit, its Consents and the checks.
  const patients = compartmentPatientIds(body, { baseUrls: access.options.referenceBaseUrls });
  trace.patients.addIds(patients);
  await trace.guard?.loadFor(body);
  const sight = see(access, body, check.perms, false, undefined, patients);
  if (!sight.visible) return refuse(sight.reason, 404, 'Resource not found');
  if (sight.resource !== undefined) return refuse('label', 403, 'The resource has elements the caller may not change');
  const guarded = ctx.strictLabels ? access.guard?.writeRefusal(body, sight.patients) : undefined;
  if (guarded) return refuse(guarded, 403, 'The resource has labels the caller may not change');
  if (!check.pin) return { stored: body };
  const ifMatch = pinnedVersion(body, stored, clientIfMatch);
  return isDenial(ifMatch) ? ifMatch : { ifMatch, stored: body };
}

/**
 * The `If-Match` pinning a write to the stored version read (`meta.versionId`, else the weak
 * ETag): 409 when it cannot be determined, 412 when the client's own `If-Match` disagrees.
 */
function pinnedVersion(body: JsonObject, stored: HealthLakeResponse, clientIfMatch: string | undefined): string | Denial {
  const meta = isObject(body.meta) ? body.meta : {};
  const versionId = typeof meta.versionId === 'string' ? meta.versionId : /^W\/"([^"]+)"$/.exec(stored.headers.etag ?? '')?.[1];
  if (!isValidId(versionId)) return refuse('other', 409, 'Stored version could not be determined', [], 'conflict');
  const ifMatch = `W/"${versionId}"`;
  if (clientIfMatch !== undefined && clientIfMatch !== ifMatch) return refuse('other', 412, 'Version conflict');
  return ifMatch;
}

/**
 * With labels enforced, the write that follows a checked target: for a JSON Patch, the patched
 * result checked as a PUT body (`patch.ts`) and validated like one. Returns issues (422), a
 * refusal, or undefined.
 */
export function gatedWrite(
  ctx: ProxyContext,
  access: Access,
  plan: Plan,
  target: CheckedTarget | undefined,
  trace: Trace,
  validate: (targets: Plan['validate']) => OperationOutcomeIssueInput[],
  prefix?: string,
): Denial | OperationOutcomeIssueInput[] | undefined {
  const request = plan.request;
  if (!ctx.strictLabels || request.interaction !== 'patch') return undefined;
  if (!target?.stored || request.patch.format !== 'json-patch' || request.id === undefined) return refuse('label', 422, PATCH_ERRORS.fhirPathPatch, [], 'not-supported');
  const result = patchedResource(access, target.stored, { resourceType: request.resourceType, id: request.id }, request.patch.operations);
  if (isDenial(result)) return result;
  trace.patients.add(result.resource);
  const issues = validate([{ resource: result.resource, ...(prefix ? { prefix } : {}) }]);
  return issues.length > 0 ? issues : undefined;
}
