/**
 * PATCH while security labels are enforced: the result of a patch is checked like a PUT body
 * before the patch is forwarded. Pure: no I/O.
 *
 * - JSON Patch (`application/json-patch+json`, RFC 6902) is applied locally with
 *   `fast-json-patch` (every operation validated, the stored resource never mutated, a path or
 *   `from` with a token naming an Object.prototype member, e.g. `__proto__` or `constructor`,
 *   refused) to the stored version the label gate read and
 *   checked. A patch that does not apply (a failed `test`, a path that does not resolve, an index
 *   out of bounds, a malformed operation) is 422 with a constant text: nothing of the resource or
 *   the patch is echoed. The result must keep the resource type and id, and passes the same write
 *   guard as a PUT body (`writeRefusal` of `access.ts`: the grants cover it, a confined caller's
 *   patient compartment, and the label/Consent guard: no label the caller may not write, no inline
 *   label it may not see). The proxy then forwards the PATCH pinned with `If-Match` to the version
 *   it was applied to, so what HealthLake stores is the result that was checked (or HealthLake
 *   answers 412 and nothing is written).
 * - FHIRPath Patch (a `Parameters` body) is not evaluated: a sound FHIRPath evaluator would be
 *   needed to know its result. While labels are enforced it is refused (422, "use JSON Patch"),
 *   directly and in batch/transaction entries (which can only carry FHIRPath Patch here: a Bundle
 *   entry's `resource` is a FHIR resource, and a `Binary`-wrapped JSON Patch is not accepted).
 */
import { applyPatch } from 'fast-json-patch';
import { refuse, writeRefusal, type Access, type Denial } from './access';
import { hasReservedKey, isSafeJsonPointer, type JsonPatchOperation } from './request';
import { isObject, type JsonObject } from '../shared/json';

/** The constant texts of PATCH refusals. */
export const PATCH_ERRORS = {
  fhirPathPatch: 'FHIRPath Patch cannot be checked while security labels are enforced; use JSON Patch (application/json-patch+json)',
  notApplicable: 'The patch could not be applied to the current version of the resource',
  identity: 'The patch must not change the resource type or id',
  notWritable: 'The patched resource has labels or elements the caller may not write',
  missing: 'Resource not found',
} as const;

/**
 * Applies a JSON Patch to a copy of `resource`; undefined when any operation fails (the
 * reason is not returned: it may quote the resource).
 */
export function applyJsonPatch(resource: JsonObject, operations: readonly JsonPatchOperation[]): JsonObject | undefined {
  // `fast-json-patch` walks a path with `obj[token]`: a token naming a member of Object.prototype
  // (`/constructor`, `/code/toString`) reaches `Object` or a built-in function, not the resource
  // (`copy` from `/constructor` puts a function in the result; `__proto__` alone is banned by the
  // library). Such tokens, and such property names in the values, are refused here whatever the
  // caller checked.
  if (!operations.every((op) => isSafeJsonPointer(op.path) && (op.from === undefined || isSafeJsonPointer(op.from)))) return undefined;
  if (hasReservedKey(operations)) return undefined;
  try {
    // The operations are copied too: `applyPatch` may place their values in the result.
    const result = applyPatch(resource, structuredClone(operations) as never, true, false, true).newDocument as unknown;
    return isObject(result) ? result : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The resource a JSON Patch would leave, checked as a PUT body is: applies, keeps type and id,
 * and may be written (`writeRefusal`: grants, compartment, labels and Consent for `correct`).
 * Returns the result or a refusal (a write refusal keeps the reason `writeRefusal` found).
 */
export function patchedResource(
  access: Access,
  stored: JsonObject,
  target: { readonly resourceType: string; readonly id: string },
  operations: readonly JsonPatchOperation[],
): { readonly resource: JsonObject } | Denial {
  const result = applyJsonPatch(stored, operations);
  if (result === undefined) return refuse('other', 422, PATCH_ERRORS.notApplicable, [], 'processing');
  if (result.resourceType !== target.resourceType || result.id !== target.id) return refuse('other', 422, PATCH_ERRORS.identity, [], 'processing');
  const refused = writeRefusal(access, result, 'u');
  if (refused) return refuse(refused.reason, 403, PATCH_ERRORS.notWritable);
  return { resource: result };
}
