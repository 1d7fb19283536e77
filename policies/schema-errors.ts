/**
 * How the kit's JSON files (the app registry, the label policy) are read and report errors: the
 * file named relative to the repository, read and parse failures, schema errors with the field
 * path written as a reader would (`redirectUris[0]`, `grants.behavioral-health[0]`) and a short
 * message, and at most {@link MAX_REPORTED_ERRORS} problems listed, so an invalid entry fails the
 * synth naming the file and the field.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';

/** Problems listed in one error; the rest are counted (`… and N more problems`). */
export const MAX_REPORTED_ERRORS = 10;

const ajv = new Ajv({ allErrors: true, strict: true });

/** Compiles a JSON Schema with the kit's settings (every error, strict mode). */
export function compileSchema(schema: object): ValidateFunction {
  return ajv.compile(schema);
}

/** The repository root: the directory above `policies/`. */
const REPO_ROOT = path.dirname(__dirname);

/**
 * How a file is named in messages: relative to `baseDir`, with `/`, when it is inside it;
 * otherwise its absolute path.
 * @param baseDir @default - the repository root
 */
export function repoFileLabel(file: string, baseDir: string = REPO_ROOT): string {
  const absolute = path.resolve(file);
  const relative = path.relative(baseDir, absolute);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative.split(path.sep).join('/') : absolute;
}

/**
 * Reads and parses a JSON file.
 * @throws the error `toError` makes of `<label>: cannot be read (<code>)` or `<label>: is not valid JSON (…)`
 */
export function readJsonFile(file: string, label: string, toError: (message: string) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(path.resolve(file), 'utf8');
  } catch (err) {
    throw toError(`${label}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw toError(`${label}: is not valid JSON (${err instanceof Error ? err.message : 'parse error'})`);
  }
}

/**
 * Throws the error `toError` makes of the problems, one a line, at most
 * {@link MAX_REPORTED_ERRORS} of them and a count of the rest; returns when there are none.
 */
export function throwIfProblems(messages: readonly string[], label: string, toError: (message: string) => Error): void {
  if (messages.length === 0) return;
  const shown = messages.slice(0, MAX_REPORTED_ERRORS);
  if (messages.length > shown.length) shown.push(`${label}: … and ${messages.length - shown.length} more problems`);
  throw toError(shown.join('\n'));
}

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
