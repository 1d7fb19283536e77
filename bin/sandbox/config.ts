/**
 * The sandbox's configuration, and its refusal to run with anything but a sandbox one.
 *
 * The environment is read from every place the reference app reads it, and from the sandbox's
 * own switches; if ANY of them names something other than `sandbox`, the sandbox refuses to
 * start (no flag overrides a staging or production configuration):
 * - `cdk.json` context: `zeroTrustFhir.environment` (the object, or its JSON text) and
 *   `zeroTrustFhir:environment` (the colon form); `--cdk-json <file>` reads another file;
 * - `-c zeroTrustFhir:environment=<name>`, `--environment <name>`;
 * - the `ZERO_TRUST_FHIR_ENVIRONMENT` environment variable.
 *
 * From the same configuration: `authorizerCacheTtlSeconds` (default 60, as the reference app),
 * overridable with `--authorizer-cache-ttl <seconds>`. Ports (`--port`, default 8787;
 * `--cognito-port`, default 8788; 0 for a free one) and the sandbox app's redirect URIs
 * (`--redirect-uri <url>`, repeatable, or `SANDBOX_REDIRECT_URIS`, space-separated) are the
 * sandbox's own. `--audit-json` prints whole AuditEvents instead of one line each.
 *
 * Pure apart from reading the cdk.json file; loads nothing heavy, so a refusal is immediate.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_CONTEXT_KEY } from '../../policies/compliance/kit-config';

export const DEFAULT_PORT = 8787;
export const DEFAULT_COGNITO_PORT = 8788;
export const DEFAULT_REDIRECT_URIS: readonly string[] = Object.freeze([
  'http://localhost:3000/',
  'http://localhost:3000/callback',
  'http://127.0.0.1:3000/',
  'http://127.0.0.1:3000/callback',
]);
/** The reference app's default (`authorizerCacheTtlSeconds`). */
export const DEFAULT_AUTHORIZER_CACHE_TTL_SECONDS = 60;
export const ENVIRONMENT_VARIABLE = 'ZERO_TRUST_FHIR_ENVIRONMENT';
/** The kit's context key (`zeroTrustFhir`): the sandbox must read the environment where the synth does. */
const CONTEXT_KEY = CONFIG_CONTEXT_KEY;
const DEFAULT_CDK_JSON = path.join(__dirname, '..', '..', 'cdk.json');

export interface SandboxConfiguration {
  readonly port: number;
  readonly cognitoPort: number;
  readonly redirectUris: readonly string[];
  readonly authorizerCacheTtlSeconds: number;
  readonly auditJson: boolean;
  /** Where the environment was read, each saying `sandbox` (for the banner). */
  readonly environmentSources: readonly string[];
}

/** The sandbox will not start: the message says why and what to do. */
export class SandboxRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxRefused';
  }
}

interface EnvironmentClaim {
  readonly source: string;
  readonly value: unknown;
}

function usage(problem: string): SandboxRefused {
  return new SandboxRefused(
    `${problem}\nUsage: npm run sandbox -- [--port <n>] [--cognito-port <n>] [--redirect-uri <url>]... [--authorizer-cache-ttl <seconds>] [--audit-json] [--cdk-json <file>] [--environment sandbox]`,
  );
}

function port(name: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || n > 65535) throw usage(`${name} must be a port number (0 for a free one), got ${JSON.stringify(text ?? null)}.`);
  return n;
}

/** The `zeroTrustFhir` context of a cdk.json: the environment claims and `authorizerCacheTtlSeconds`. */
function readCdkJson(file: string): { claims: EnvironmentClaim[]; cacheTtl: unknown } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    if (file === DEFAULT_CDK_JSON) return { claims: [], cacheTtl: undefined };
    throw usage(`--cdk-json ${file}: the file cannot be read.`);
  }
  let context: Record<string, unknown>;
  try {
    const parsed = JSON.parse(text) as { context?: unknown };
    context = parsed.context !== null && typeof parsed.context === 'object' ? (parsed.context as Record<string, unknown>) : {};
  } catch {
    throw new SandboxRefused(`${file} is not valid JSON: the sandbox cannot tell which environment it is configured for.`);
  }
  const label = path.relative(process.cwd(), file) || file;
  const claims: EnvironmentClaim[] = [];
  let object: unknown = context[CONTEXT_KEY];
  if (typeof object === 'string') {
    try {
      object = JSON.parse(object);
    } catch {
      throw new SandboxRefused(`${label} context "${CONTEXT_KEY}" is not a JSON object: the sandbox cannot tell which environment it is configured for.`);
    }
  }
  const fields = object !== null && typeof object === 'object' && !Array.isArray(object) ? (object as Record<string, unknown>) : {};
  if (fields.environment !== undefined) claims.push({ source: `${label} context ${CONTEXT_KEY}.environment`, value: fields.environment });
  const colon = context[`${CONTEXT_KEY}:environment`];
  if (colon !== undefined && colon !== null) claims.push({ source: `${label} context ${CONTEXT_KEY}:environment`, value: colon });
  const cacheTtl = context[`${CONTEXT_KEY}:authorizerCacheTtlSeconds`] ?? fields.authorizerCacheTtlSeconds;
  return { claims, cacheTtl };
}

function cacheTtlSeconds(source: string, value: unknown): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 300) throw usage(`${source} must be a whole number of seconds from 0 to 300.`);
  return n;
}

/**
 * Reads the command line and the environment.
 * @throws SandboxRefused for a staging or production configuration, or a malformed option
 */
export function resolveSandboxConfiguration(argv: readonly string[], env: NodeJS.ProcessEnv): SandboxConfiguration {
  let cdkJson = DEFAULT_CDK_JSON;
  let portValue = DEFAULT_PORT;
  let cognitoPortValue = DEFAULT_COGNITO_PORT;
  const redirectUris: string[] = [];
  let cacheTtlFlag: number | undefined;
  let auditJson = false;
  const claims: EnvironmentClaim[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const [name, inline] = arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw usage(`${name} needs a value.`);
      return next;
    };
    switch (name) {
      case '--port':
        portValue = port('--port', value());
        break;
      case '--cognito-port':
        cognitoPortValue = port('--cognito-port', value());
        break;
      case '--redirect-uri':
        redirectUris.push(value());
        break;
      case '--authorizer-cache-ttl':
        cacheTtlFlag = cacheTtlSeconds('--authorizer-cache-ttl', value());
        break;
      case '--audit-json':
        auditJson = true;
        break;
      case '--cdk-json':
        cdkJson = path.resolve(value());
        break;
      case '--environment':
        claims.push({ source: '--environment', value: value() });
        break;
      case '-c':
      case '--context': {
        const pair = value();
        const m = /^([^=]+)=(.*)$/.exec(pair);
        if (!m) throw usage(`${name} takes key=value, got ${JSON.stringify(pair)}.`);
        if (m[1] === `${CONTEXT_KEY}:environment`) claims.push({ source: `-c ${m[1]}`, value: m[2] });
        else if (m[1] === `${CONTEXT_KEY}:authorizerCacheTtlSeconds`) cacheTtlFlag = cacheTtlSeconds(`-c ${m[1]}`, m[2]);
        else throw usage(`-c ${m[1]} is not read by the sandbox (only ${CONTEXT_KEY}:environment and ${CONTEXT_KEY}:authorizerCacheTtlSeconds).`);
        break;
      }
      default:
        throw usage(`Unknown option ${JSON.stringify(arg)}.`);
    }
  }
  const fromFile = readCdkJson(cdkJson);
  claims.unshift(...fromFile.claims);
  if (env[ENVIRONMENT_VARIABLE] !== undefined && env[ENVIRONMENT_VARIABLE] !== '') claims.push({ source: `${ENVIRONMENT_VARIABLE}`, value: env[ENVIRONMENT_VARIABLE] });

  const wrong = claims.filter((c) => c.value !== 'sandbox');
  if (wrong.length > 0) {
    const list = wrong.map((c) => `${c.source} is ${JSON.stringify(c.value)}`).join('; ');
    throw new SandboxRefused(
      `The sandbox refuses to start: ${list}. It runs only with a sandbox configuration (environment "sandbox"): ` +
        'it holds synthetic data only and stands in for Cognito and HealthLake, so it must never be mistaken for, or pointed at, a staging or production setup. ' +
        `Run it from a checkout configured for sandbox, or give it one with --cdk-json <file>.`,
    );
  }

  const envUris = (env.SANDBOX_REDIRECT_URIS ?? '').split(/\s+/).filter((u) => u !== '');
  return {
    port: portValue,
    cognitoPort: cognitoPortValue,
    redirectUris: redirectUris.length > 0 ? redirectUris : envUris.length > 0 ? envUris : [...DEFAULT_REDIRECT_URIS],
    authorizerCacheTtlSeconds:
      cacheTtlFlag ?? (fromFile.cacheTtl === undefined ? DEFAULT_AUTHORIZER_CACHE_TTL_SECONDS : cacheTtlSeconds(`${CONTEXT_KEY}.authorizerCacheTtlSeconds`, fromFile.cacheTtl)),
    auditJson,
    environmentSources: claims.length > 0 ? claims.map((c) => c.source) : ['default (no environment configured: sandbox)'],
  };
}
