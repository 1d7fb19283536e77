/**
 * How the kit's JSON files (the app registry, the label policy) report schema errors: the field
 * path written as a reader would (`redirectUris[0]`, `grants.behavioral-health[0]`) and a short
 * message, so an invalid entry fails the synth naming the file and the field.
 */
import type { ErrorObject } from 'ajv';

/** `redirectUris/0` segments → `redirectUris[0]`; `a`, `b` → `a.b`. */
export function fieldPath(segments: readonly string[]): string {
  let out = '';
  for (const s of segments) {
    if (/^\d+$/.test(s)) out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

/** An ajv error as the path segments of the field at fault and a message about it. */
export function describeSchemaError(err: ErrorObject): { segments: string[]; message: string } {
  const segments = err.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties':
      return { segments: [...segments, String(params.additionalProperty)], message: 'unknown field' };
    case 'required':
      return { segments: [...segments, String(params.missingProperty)], message: 'is required' };
    case 'enum':
      return { segments, message: `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}` };
    default:
      return { segments, message: err.message ?? 'is invalid' };
  }
}
