/** Reading a Lambda's environment at cold start: each error names the variable at fault. */
import { isObject, JsonObject } from './json';

/** The variable's value; throws when it is unset or empty. */
export function requiredEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/**
 * A variable holding a JSON object whose values are objects (such as `CLIENTS`: one entry per
 * app client); throws naming the variable, or the entry, that is not.
 */
export function objectOfObjectsEnv(env: NodeJS.ProcessEnv, name: string): Record<string, JsonObject> {
  const parsed: unknown = JSON.parse(requiredEnv(env, name));
  if (!isObject(parsed)) throw new Error(`${name} must be a JSON object`);
  for (const [key, value] of Object.entries(parsed)) {
    if (!isObject(value)) throw new Error(`${name}.${key} must be an object`);
  }
  return parsed as Record<string, JsonObject>;
}
