/** Small helpers for parsed JSON, shared by every Lambda (no imports: bundles stay small). */

/** A parsed JSON object. */
export type JsonObject = Record<string, unknown>;

/** True for a JSON object: not `null`, not an array, not a primitive. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
