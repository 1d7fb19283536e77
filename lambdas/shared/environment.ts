/**
 * The pieces every handler's environment contract (`lambdas/<function>/environment.ts`) is built
 * from. Each contract is one `XxxEnvironment` interface with three functions:
 *
 * - `xxxEnvironment(settings, options)`: the writer, called by the construct. It checks the
 *   settings (an {@link EnvironmentSettingError} names the setting, which is the construct's prop
 *   name: `maxBodyBytes: must be a whole number from 1 to 10485760`) and returns the variables.
 * - `parseXxxEnvironment(env)`: the parser, called by the handler's `index.ts` at cold start. Every
 *   error names the variable: `MAX_BODY_BYTES: must be a whole number from 1 to 10485760`.
 * - the two agree: `parseXxxEnvironment(xxxEnvironment(s))` gives `s` back (the tests hold them to it).
 *
 * No CDK import: the handlers bundle these modules. The construct passes what it knows of the CDK
 * in {@link EnvironmentWriterOptions} (how to write JSON holding tokens, which values are tokens).
 */
import { isObject } from './json';

/** What the construct tells a writer about values it cannot see yet (CDK tokens). */
export interface EnvironmentWriterOptions {
  /**
   * Writes a JSON value that may hold tokens (client ids, ARNs).
   * @default JSON.stringify
   */
  readonly toJson?: (value: unknown) => string;
  /**
   * True for a value that is only known at deployment (a CDK token): the writer does not check it.
   * @default - nothing is a token
   */
  readonly isUnresolved?: (value: unknown) => boolean;
}

/** A setting a writer refused; the message starts with the setting's name. */
export class EnvironmentSettingError extends Error {
  constructor(
    /** The setting (the construct's prop). */
    public readonly setting: string,
    problem: string,
  ) {
    super(`${setting}: ${problem}`);
    this.name = 'EnvironmentSettingError';
  }
}

/** A variable a parser refused; the message starts with the variable's name. */
export class EnvironmentVariableError extends Error {
  constructor(
    public readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'EnvironmentVariableError';
  }
}

/** A check of one setting's value: the problem, or `undefined` when the value is fine. */
export type Check<T> = (value: T) => string | undefined;

/** Resolved writer options. */
export interface Writer {
  readonly toJson: (value: unknown) => string;
  readonly isUnresolved: (value: unknown) => boolean;
  /** Throws {@link EnvironmentSettingError} when `check` finds a problem with a value that is not a token. */
  check<T>(setting: string, value: T, check: Check<T>): void;
}

export function writer(options: EnvironmentWriterOptions = {}): Writer {
  const isUnresolved = options.isUnresolved ?? (() => false);
  return {
    toJson: options.toJson ?? ((value) => JSON.stringify(value)),
    isUnresolved,
    check<T>(setting: string, value: T, check: Check<T>): void {
      if (isUnresolved(value)) return;
      const problem = check(value);
      if (problem !== undefined) throw new EnvironmentSettingError(setting, problem);
    },
  };
}

/** The variable's text, `undefined` when unset or empty. */
export function optionalText(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** The variable's text; throws naming it when unset or empty. */
export function requiredText(env: NodeJS.ProcessEnv, name: string): string {
  const value = optionalText(env, name);
  if (value === undefined) throw new EnvironmentVariableError(name, 'is not set');
  return value;
}

/** The variable's JSON value, `undefined` when unset or empty; throws naming it when not JSON. */
export function optionalJson(env: NodeJS.ProcessEnv, name: string): unknown {
  const text = optionalText(env, name);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new EnvironmentVariableError(name, 'is not valid JSON');
  }
}

/** Runs `check` on a parsed value; throws naming the variable. */
export function checked<T>(name: string, value: T, check: Check<T>): T {
  const problem = check(value);
  if (problem !== undefined) throw new EnvironmentVariableError(name, problem);
  return value;
}

/** A list written one item after the other, separated by spaces (items never hold a space). */
export function writeList(items: readonly string[]): string {
  return items.join(' ');
}

/** A space- (or comma-) separated list; empty when unset. */
export function readList(env: NodeJS.ProcessEnv, name: string): string[] {
  return (optionalText(env, name) ?? '').split(/[\s,]+/).filter((v) => v !== '');
}

/** A whole number from `min` to `max`. */
export function wholeNumber(min: number, max: number): Check<number> {
  return (value) => (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? undefined : `must be a whole number from ${min} to ${max}`);
}

/** A whole-number variable, `undefined` when unset; throws naming it when not a number in range. */
export function optionalWholeNumber(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const text = optionalText(env, name);
  if (text === undefined) return undefined;
  return checked(name, /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN, wholeNumber(min, max));
}

/** `true` or `false`. */
export function readBoolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const text = optionalText(env, name);
  if (text === undefined) return fallback;
  if (text !== 'true' && text !== 'false') throw new EnvironmentVariableError(name, 'must be true or false');
  return text === 'true';
}

/** An absolute https URL (no space, quote or angle bracket). */
/** An exact browser origin: `https://host[:port]`, lower-case host, never `*`. */
export const BROWSER_ORIGIN = /^https:\/\/[a-z0-9.-]+(:\d{1,5})?$/;

/** A list of exact browser origins ({@link BROWSER_ORIGIN}): the CORS allow-list of the gateway, the proxy and the façade. */
export const checkOrigins: Check<readonly string[]> = (origins) => {
  if (!Array.isArray(origins)) return 'must be a list of origins';
  const bad = origins.find((o) => typeof o !== 'string' || !BROWSER_ORIGIN.test(o));
  return bad === undefined ? undefined : `${JSON.stringify(String(bad)).slice(0, 80)} is not an exact https origin (https://host[:port]); "*" is never allowed`;
};

export const httpsUrl: Check<string> = (value) => (typeof value === 'string' && /^https:\/\/[^\s<>"]+$/.test(value) ? undefined : 'must be an absolute https URL');

/** An absolute https URL, or http on the loopback host (a local FHIR server in tests). */
export const httpsOrLoopbackUrl: Check<string> = (value) =>
  typeof value === 'string' && (/^https:\/\/[^\s<>"]+$/.test(value) || /^http:\/\/(127\.0\.0\.1|localhost)(:\d{1,5})?(\/[^\s<>"]*)?$/.test(value))
    ? undefined
    : 'must be an absolute https URL (http only on 127.0.0.1 or localhost)';

/** A JSON object whose values are objects (one entry per client, say); the problem names the entry. */
export function objectOfObjects(value: unknown): string | undefined {
  if (!isObject(value)) return 'must be a JSON object';
  for (const [key, entry] of Object.entries(value)) if (!isObject(entry)) return `${key} must be an object`;
  return undefined;
}

/** Adds `name` → `text` to `out` when `text` is defined. */
export function put(out: Record<string, string>, name: string, text: string | undefined): void {
  if (text !== undefined) out[name] = text;
}

// ------------------------------------------------------------------------------------------------
// Compact client lists: one entry per registered app, so they set how many apps a stack holds
// ------------------------------------------------------------------------------------------------

/**
 * A Cognito app client id in a compact client list: Cognito's alphabet (`[\w+]+`) and `.`/`-` (the
 * sandbox's and the tests' stand-in ids), at most 128 characters; never `=`, `,` or a space.
 */
export const CLIENT_ID = /^[\w+.-]{1,128}$/;

/** A text field of a compact client list (a tier, a usage key): printable ASCII without `,` or `=`, at most 128 characters. */
export const FIELD_TEXT = /^[\x21-\x2b\x2d-\x3c\x3e-\x7e]{1,128}$/;

/** One entry of a compact client list: the client id (a CDK token when written by a construct) and its positional fields. */
export type ClientListEntry = readonly [clientId: string, fields: ReadonlyArray<string | undefined>];

/**
 * A client list as it is written into a variable. Lambda counts every byte of its 4 KB of
 * environment (a JSON quote twice, escaped), and these lists grow by one entry per registered app,
 * so they are written compactly rather than as JSON: `<client id>=<field>,<field>`, the entries
 * separated by one space, a field that is not given left empty and trailing empty fields left out
 * (`c1=low,app-a c2=,app-b c3=`). A client id may be a CDK token: the construct's text is then
 * joined around it at deployment.
 */
export function writeClientList(entries: Iterable<ClientListEntry>): string {
  const written: string[] = [];
  for (const [clientId, fields] of entries) {
    const values = fields.map((f) => f ?? '');
    while (values.length > 0 && values[values.length - 1] === '') values.pop();
    written.push(`${clientId}=${values.join(',')}`);
  }
  return written.join(' ');
}

/**
 * A compact client list ({@link writeClientList}): each client id → its fields, `''` for a field not
 * given, always `fieldNames.length` of them. Throws naming the variable when the text is JSON (the
 * format of kit versions before the compact lists: the function and its environment come from
 * different kit versions), when an entry is not `<client id>=<fields>`, has too many fields, or
 * names a client already listed. The fields' values are the contract's to check.
 */
export function parseClientList(variable: string, text: string, fieldNames: readonly string[]): Map<string, string[]> {
  const format = `<client id>=${fieldNames.join(',')}`;
  if (/^\s*[[{]/.test(text)) {
    throw new EnvironmentVariableError(variable, `is JSON, the format of earlier kit versions: deploy the function with the construct of its own kit version, which writes "${format} …"`);
  }
  const clients = new Map<string, string[]>();
  for (const entry of text.split(/\s+/).filter((e) => e !== '')) {
    const eq = entry.indexOf('=');
    const clientId = eq < 0 ? entry : entry.slice(0, eq);
    if (eq < 0 || !CLIENT_ID.test(clientId)) throw new EnvironmentVariableError(variable, `${JSON.stringify(entry).slice(0, 80)} is not ${format}`);
    const fields = eq === entry.length - 1 ? [] : entry.slice(eq + 1).split(',');
    if (fields.length > fieldNames.length) throw new EnvironmentVariableError(variable, `${clientId} has ${fields.length} fields, at most ${fieldNames.length}: ${format}`);
    if (clients.has(clientId)) throw new EnvironmentVariableError(variable, `lists ${clientId} twice`);
    clients.set(clientId, [...fields, ...new Array<string>(fieldNames.length - fields.length).fill('')]);
  }
  return clients;
}

/** A client → app map (the proxy's `APP_CLIENT_IDS`, the metrics' `APP_METRICS_APPS`) as a compact client list: `<client id>=<app id> …`. */
export function writeClientApps(map: Readonly<Record<string, string>>): string {
  return writeClientList(Object.entries(map).map(([clientId, appId]) => [clientId, [appId]]));
}

/** The client → app map of a compact client list whose field `field` is the app id (`''`: the entry is left out). */
export function clientAppsOf(clients: ReadonlyMap<string, readonly string[]>, field: number): Record<string, string> {
  return Object.fromEntries([...clients].filter(([, fields]) => fields[field] !== '').map(([clientId, fields]) => [clientId, fields[field]]));
}

/** Whether two string maps hold the same entries (in any order). */
export function sameEntries(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && b[k] === a[k]);
}

/** A Cognito user pool id (`<region>_<id>`). */
export const userPoolId: Check<string> = (value) =>
  typeof value === 'string' && /^[a-z]{2}-(?:gov-)?[a-z]+-\d_[A-Za-z0-9]+$/.test(value) ? undefined : 'must be a Cognito user pool id (<region>_<id>)';

/** A DynamoDB table name. */
export const tableName: Check<string> = (value) => (typeof value === 'string' && /^[A-Za-z0-9_.-]{3,255}$/.test(value) ? undefined : 'must be a DynamoDB table name');
