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

/** The text of a file; throws the error `toError` makes of `<label>: cannot be read (<code>)`. */
function readText(file: string, label: string, toError: (message: string) => Error): string {
  try {
    return readFileSync(path.resolve(file), 'utf8');
  } catch (err) {
    throw toError(`${label}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** `text` parsed; throws the error `toError` makes of `<label>: is not valid JSON (…)`. */
function parseJson(text: string, label: string, toError: (message: string) => Error): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw toError(`${label}: is not valid JSON (${err instanceof Error ? err.message : 'parse error'})`);
  }
}

/**
 * Reads and parses a JSON file.
 * @throws the error `toError` makes of `<label>: cannot be read (<code>)` or `<label>: is not valid JSON (…)`
 */
export function readJsonFile(file: string, label: string, toError: (message: string) => Error): unknown {
  return parseJson(readText(file, label, toError), label, toError);
}

/** How a team's file is named in messages: relative to the kit, else to the working directory, else absolute. */
function teamFileLabel(file: string): string {
  const kit = repoFileLabel(file);
  return path.isAbsolute(kit) ? repoFileLabel(file, process.cwd()) : kit;
}

/** A JSON file a team supplies, read: how messages name it, its text (bundled as it is) and its content. */
export interface SuppliedJsonFile {
  readonly label: string;
  readonly text: string;
  readonly document: unknown;
}

/**
 * Reads a JSON file a team supplies (absolute, or relative to the directory `cdk synth` runs in).
 * @throws the error `toError` makes of `<file>: cannot be read (<code>)` or `<file>: is not valid JSON (…)`
 */
export function readSuppliedJsonFile(file: string, toError: (message: string) => Error): SuppliedJsonFile {
  const label = teamFileLabel(file);
  const text = readText(file, label, toError);
  return { label, text, document: parseJson(text, label, toError) };
}

/**
 * A deep copy of a JSON document given as an object (fields holding `undefined` dropped).
 * @throws the error `toError` makes of `<source>: is not a JSON document` (a function, a cycle, a BigInt)
 */
export function plainJsonCopy(value: unknown, source: string, toError: (message: string) => Error): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) throw toError(`${source}: is not a JSON document`);
  return JSON.parse(text) as unknown;
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
