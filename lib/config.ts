import * as logs from 'aws-cdk-lib/aws-logs';
import { IConstruct } from 'constructs';
import { isCalendarDate } from '../policies/app-registry';
import { parseApiVersions, type ApiLifecycle } from '../lambdas/shared/api-lifecycle';
import {
  CONFIG_CONTEXT_KEY, contextKey, DEPLOYMENT_ENVIRONMENTS, kitContextValue, MIN_RETENTION_DAYS, type DeploymentEnvironment,
} from '../policies/compliance/kit-config';

// The deployment environments, the log-retention floor and the kit's context keys are defined
// on the policies side (the compliance gate reads them; `policies/` never imports `lib/`).
export { CONFIG_CONTEXT_KEY, contextKey, DEPLOYMENT_ENVIRONMENTS, kitContextValue, MIN_RETENTION_DAYS };
export type { DeploymentEnvironment };

/** CloudWatch Logs retention values (days) that meet the six-year floor. */
export const ALLOWED_LOG_RETENTION_DAYS: readonly number[] = Object.values(logs.RetentionDays)
  .filter((v): v is number => typeof v === 'number' && v >= MIN_RETENTION_DAYS)
  .sort((a, b) => a - b);

/**
 * The reference app's configuration: the `cdk.json` context key `zeroTrustFhir`.
 * Every field is validated by `parseZeroTrustFhirConfig`; the constructs enforce the same floors.
 */
export interface ZeroTrustFhirConfig {
  /** CloudFormation stack name. */
  readonly stackName: string;
  readonly environment: DeploymentEnvironment;
  /** Availability zones for the isolated subnets (2 or 3). */
  readonly maxAzs: number;
  /** Retention of every CloudWatch log group the kit creates, in days (one of CloudWatch's values, at least 2192). */
  readonly logRetentionDays: logs.RetentionDays;
  /** Object-lock default retention of the CloudTrail bucket, in days (at least 2192). */
  readonly auditBucketRetentionDays: number;
  /** E-mail address subscribed to the security alarm topic; required in production. */
  readonly alarmEmail?: string;
  /** Custom domain of the API (with `certificateArn`); required in production. */
  readonly domainName?: string;
  /** ACM certificate for `domainName`, in the stack's region. */
  readonly certificateArn?: string;
  /** Browser origins allowed by CORS; required (possibly empty) in production. */
  readonly corsAllowedOrigins?: readonly string[];
  /** Authorizer cache TTL in seconds (0-300): also the longest a revoked token keeps working. */
  readonly authorizerCacheTtlSeconds: number;
  /**
   * The AWS account and region of each environment: one account per environment, never shared.
   * Staging and production must name theirs; only a sandbox may synthesize env-agnostic.
   */
  readonly accounts: Readonly<Partial<Record<DeploymentEnvironment, AccountBinding>>>;
  /** The account this synth is bound to (`accounts[environment]`); undefined: env-agnostic (sandbox only). */
  readonly account?: AccountBinding;
  /**
   * The API versions the platform serves side by side, a stage each (`/<version>/r4`): each
   * active, or deprecated with the notice and sunset dates, or retired (no stage)
   * (`shared/api-lifecycle.ts`). Undefined: one version, `v1`, active.
   */
  readonly apiVersions?: readonly ApiLifecycle[];
}

/** Where one environment deploys. */
export interface AccountBinding {
  /** 12-digit AWS account id. */
  readonly account: string;
  /** AWS region, e.g. us-east-1. */
  readonly region: string;
}

/**
 * A configuration error that names the key at fault and what it accepts. The key is written the
 * way it was given: `zeroTrustFhir.<key>` inside the `zeroTrustFhir` object (cdk.json, or
 * `-c zeroTrustFhir='{…}'`), `zeroTrustFhir:<key>` for the colon form (`-c zeroTrustFhir:<key>=…`).
 */
export class ConfigError extends Error {
  /** The key at fault, without the `zeroTrustFhir` prefix (`''` for the whole value). */
  public readonly key: string;
  public readonly problem: string;
  public readonly allowed: string;
  constructor(key: string, problem: string, allowed: string, separator: '.' | ':' = '.') {
    super(`Invalid configuration "${CONFIG_CONTEXT_KEY}${separator}${key}": ${problem}. Allowed: ${allowed}.`);
    this.name = 'ConfigError';
    this.key = key;
    this.problem = problem;
    this.allowed = allowed;
  }
}

/**
 * Context keys under the kit's prefix that are not fields of {@link ZeroTrustFhirConfig}:
 * `today` (the synth date `YYYY-MM-DD` the app-registry rule judges assessments by; either form)
 * and `skipAcknowledgements` (the boolean `true` leaves the reference stack's acknowledgements
 * out; colon form only, for the test that proves each is still needed).
 */
export const CONTEXT_FLAG_KEYS: readonly string[] = ['today', 'skipAcknowledgements'];

const KNOWN_KEYS = [
  'stackName',
  'environment',
  'maxAzs',
  'logRetentionDays',
  'auditBucketRetentionDays',
  'alarmEmail',
  'domainName',
  'certificateArn',
  'corsAllowedOrigins',
  'authorizerCacheTtlSeconds',
  'accounts',
  'apiVersions',
  'today',
];

const DEFAULTS = {
  stackName: 'ZeroTrustFhir',
  environment: 'sandbox' as DeploymentEnvironment,
  maxAzs: 2,
  logRetentionDays: logs.RetentionDays.SIX_YEARS,
  auditBucketRetentionDays: MIN_RETENTION_DAYS,
};

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? `"${value.slice(0, 40)}"` : typeof value === 'object' ? 'an object' : String(value);
}

/**
 * Validates the raw `zeroTrustFhir` context value (from `cdk.json` or `-c`). Numbers may arrive as
 * strings when given with `-c key=value`; they are accepted only when they are whole numbers.
 *
 * @throws ConfigError naming the key, the problem and the allowed values.
 */
export function parseZeroTrustFhirConfig(raw: unknown): ZeroTrustFhirConfig {
  if (raw === undefined) raw = {};
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      throw new ConfigError('', 'is not a JSON object', 'an object such as {"environment":"sandbox"}');
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('', `must be an object, got ${describe(raw)}`, 'an object such as {"environment":"sandbox"}');
  }
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (key === 'skipAcknowledgements') {
      throw new ConfigError(key, `is read only as its own context key ${contextKey(key)} (the boolean true), not inside ${CONFIG_CONTEXT_KEY}`, KNOWN_KEYS.join(', '));
    }
    if (!KNOWN_KEYS.includes(key)) {
      throw new ConfigError(key, 'is not a known key', KNOWN_KEYS.join(', '));
    }
  }
  if (input.today !== undefined && input.today !== null && !isCalendarDate(input.today)) {
    throw new ConfigError('today', `got ${describe(input.today)}`, 'a YYYY-MM-DD date');
  }

  const stackName = input.stackName ?? DEFAULTS.stackName;
  if (typeof stackName !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw new ConfigError('stackName', `got ${describe(stackName)}`, 'a CloudFormation stack name: a letter, then letters, digits or hyphens, at most 128 characters');
  }

  const environment = input.environment ?? DEFAULTS.environment;
  if (typeof environment !== 'string' || !(DEPLOYMENT_ENVIRONMENTS as readonly string[]).includes(environment)) {
    throw new ConfigError('environment', `got ${describe(environment)}`, DEPLOYMENT_ENVIRONMENTS.join(' | '));
  }

  const maxAzs = wholeNumber('maxAzs', input.maxAzs ?? DEFAULTS.maxAzs, '2 or 3');
  if (maxAzs < 2 || maxAzs > 3) {
    throw new ConfigError('maxAzs', `got ${maxAzs}`, '2 or 3');
  }

  const allowedRetention = ALLOWED_LOG_RETENTION_DAYS.join(', ');
  const logRetentionDays = wholeNumber('logRetentionDays', input.logRetentionDays ?? DEFAULTS.logRetentionDays, allowedRetention);
  if (!ALLOWED_LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    const why = logRetentionDays < MIN_RETENTION_DAYS ? `${logRetentionDays} is under the six-year floor of ${MIN_RETENTION_DAYS} days` : `${logRetentionDays} is not a CloudWatch Logs retention value`;
    throw new ConfigError('logRetentionDays', why, allowedRetention);
  }

  const auditBucketRetentionDays = wholeNumber('auditBucketRetentionDays', input.auditBucketRetentionDays ?? DEFAULTS.auditBucketRetentionDays, `a whole number of days from ${MIN_RETENTION_DAYS} to 36500`);
  if (auditBucketRetentionDays < MIN_RETENTION_DAYS || auditBucketRetentionDays > 36500) {
    throw new ConfigError('auditBucketRetentionDays', `got ${auditBucketRetentionDays}`, `a whole number of days from ${MIN_RETENTION_DAYS} to 36500`);
  }

  let alarmEmail: string | undefined;
  if (input.alarmEmail !== undefined && input.alarmEmail !== '') {
    if (typeof input.alarmEmail !== 'string' || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(input.alarmEmail) || input.alarmEmail.length > 254) {
      throw new ConfigError('alarmEmail', `got ${describe(input.alarmEmail)}`, 'an e-mail address, or leave it out');
    }
    alarmEmail = input.alarmEmail;
  }

  let domainName: string | undefined;
  let certificateArn: string | undefined;
  if (input.domainName !== undefined || input.certificateArn !== undefined) {
    if (typeof input.domainName !== 'string' || !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(input.domainName)) {
      throw new ConfigError('domainName', `got ${describe(input.domainName)}`, 'a lowercase DNS name such as fhir.example.org, given together with certificateArn');
    }
    if (typeof input.certificateArn !== 'string' || !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(input.certificateArn)) {
      throw new ConfigError('certificateArn', `got ${describe(input.certificateArn)}`, 'an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>), given together with domainName');
    }
    domainName = input.domainName;
    certificateArn = input.certificateArn;
  }
  if (environment === 'production' && !domainName) {
    throw new ConfigError('domainName', 'is required in production (the execute-api endpoint is disabled there)', 'a DNS name with certificateArn');
  }

  let corsAllowedOrigins: string[] | undefined;
  if (input.corsAllowedOrigins !== undefined) {
    if (!Array.isArray(input.corsAllowedOrigins) || input.corsAllowedOrigins.some((o) => typeof o !== 'string' || !/^https:\/\/[a-z0-9.-]+(:\d{1,5})?$/.test(o))) {
      throw new ConfigError('corsAllowedOrigins', `got ${describe(input.corsAllowedOrigins)}`, 'a list of exact https origins such as ["https://portal.example.org"]; "*" is never allowed');
    }
    corsAllowedOrigins = input.corsAllowedOrigins as string[];
  } else if (environment === 'production') {
    throw new ConfigError('corsAllowedOrigins', 'is required in production', 'a list of exact https origins, or [] for no browser access');
  }

  if (environment === 'production' && !alarmEmail) {
    throw new ConfigError('alarmEmail', 'is required in production (with nobody subscribed, the security alarms reach no one)', 'the e-mail address of whoever responds to security alarms');
  }

  const authorizerCacheTtlSeconds = wholeNumber('authorizerCacheTtlSeconds', input.authorizerCacheTtlSeconds ?? 60, 'a whole number of seconds from 0 to 300');
  if (authorizerCacheTtlSeconds < 0 || authorizerCacheTtlSeconds > 300) {
    throw new ConfigError('authorizerCacheTtlSeconds', `got ${authorizerCacheTtlSeconds}`, 'a whole number of seconds from 0 to 300');
  }

  const accounts = parseAccounts(input.accounts);
  const account = accounts[environment as DeploymentEnvironment];
  if (!account && environment !== 'sandbox') {
    throw new ConfigError(
      `accounts.${environment}`,
      `is required in ${environment}: the stack is bound to its own account (only a sandbox may synthesize env-agnostic)`,
      `{"${environment}":{"account":"<12-digit id>","region":"<region>"}}, an account no other environment names`,
    );
  }

  let apiVersions: readonly ApiLifecycle[] | undefined;
  if (input.apiVersions !== undefined && input.apiVersions !== null) {
    try {
      apiVersions = parseApiVersions(input.apiVersions);
    } catch (err) {
      throw new ConfigError(
        'apiVersions',
        (err as Error).message.replace(/^API lifecycle: /, ''),
        '[{"version":"v1","status":"deprecated","deprecatedAt":"YYYY-MM-DD","sunsetAt":"YYYY-MM-DD","successor":"v2","migrationNotesUrl":"https://…"},{"version":"v2","status":"active"}]',
      );
    }
  }

  return {
    ...(apiVersions ? { apiVersions } : {}),
    accounts,
    ...(account ? { account } : {}),
    stackName,
    environment: environment as DeploymentEnvironment,
    maxAzs,
    logRetentionDays: logRetentionDays as logs.RetentionDays,
    auditBucketRetentionDays,
    alarmEmail,
    domainName,
    certificateArn,
    corsAllowedOrigins,
    authorizerCacheTtlSeconds,
  };
}

/**
 * The reference app's configuration from `scope`'s context: the `zeroTrustFhir` object (from
 * cdk.json, or `-c zeroTrustFhir='{"environment":"staging"}'`, a JSON string) with each colon-form
 * key (`-c zeroTrustFhir:environment=production`, or `"zeroTrustFhir:environment"` in cdk.json)
 * laid over it: the colon form wins over the same field in the object. A colon-form list
 * (`corsAllowedOrigins`) is written as JSON (`-c 'zeroTrustFhir:corsAllowedOrigins=["https://a.example.org"]'`).
 *
 * @throws ConfigError for an invalid value (naming the key in the form it was given), an unknown
 *   key under the `zeroTrustFhir:` prefix (listing the known ones), or a key that only looks like
 *   the kit's (`zeroTrustFhir.environment`, `zerotrustfhir:environment`)
 */
export function loadZeroTrustFhirConfig(scope: IConstruct): ZeroTrustFhirConfig {
  const context = scope.node.getAllContext() as Record<string, unknown>;
  const colon = colonFormKeys(context);
  let base: unknown = context[CONFIG_CONTEXT_KEY] ?? {};
  if (typeof base === 'string') base = parseJsonObject(base);
  if (!isPlainObject(base)) {
    throw new ConfigError('', `must be an object, got ${describe(base)}`, 'an object such as {"environment":"sandbox"}');
  }
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of colon) merged[key] = colonValue(key, value);
  try {
    return parseZeroTrustFhirConfig(merged);
  } catch (err) {
    if (err instanceof ConfigError && colon.has(err.key)) throw new ConfigError(err.key, err.problem, err.allowed, ':');
    throw err;
  }
}

/** The colon-form keys (without prefix) and their values; throws on a key the kit does not read. */
function colonFormKeys(context: Record<string, unknown>): Map<string, unknown> {
  const known = [...KNOWN_KEYS, ...CONTEXT_FLAG_KEYS.filter((k) => !KNOWN_KEYS.includes(k))];
  const out = new Map<string, unknown>();
  for (const [fullKey, value] of Object.entries(context)) {
    if (fullKey === CONFIG_CONTEXT_KEY) continue;
    if (fullKey.startsWith(`${CONFIG_CONTEXT_KEY}:`)) {
      const key = fullKey.slice(CONFIG_CONTEXT_KEY.length + 1);
      if (!known.includes(key)) {
        throw new ConfigError(key, 'is not a known key', `${known.map(contextKey).join(', ')}; or the JSON form ${CONFIG_CONTEXT_KEY}='{"environment":"staging"}'`, ':');
      }
      if (key === 'skipAcknowledgements') {
        if (value !== true && value !== false && value !== undefined && value !== null) {
          throw new ConfigError(key, `got ${describe(value)}; -c passes strings, and only the boolean true skips the acknowledgements`, 'the boolean true or false, in cdk.json "context" or new App({ context })', ':');
        }
        continue;
      }
      out.set(key, value);
    } else if (/^zero-?trust-?fhir[:._/-]?/i.test(fullKey)) {
      const field = fullKey.replace(/^zero-?trust-?fhir[:._/-]?/i, '');
      const example = field ? `${contextKey(field)}=<value>, or the JSON form ${CONFIG_CONTEXT_KEY}='{"${field}":<value>}'` : `${CONFIG_CONTEXT_KEY}='{"environment":"staging"}'`;
      throw new ConfigError(field, `was given as the context key "${fullKey}", which the kit does not read (the prefix is ${CONFIG_CONTEXT_KEY}, exactly)`, `-c ${example}`, ':');
    }
  }
  return out;
}

/** A colon-form value: a list field is parsed from its JSON text; other values are taken as they are. */
function colonValue(key: string, value: unknown): unknown {
  if ((key === 'accounts' || key === 'apiVersions') && typeof value === 'string') {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      throw key === 'accounts'
        ? new ConfigError(key, `got ${describe(value)}, not a JSON object`, `a JSON object: -c '${contextKey(key)}={"production":{"account":"111122223333","region":"us-east-1"}}', or the JSON form ${CONFIG_CONTEXT_KEY}='{"accounts":{…}}'`, ':')
        : new ConfigError(key, `got ${describe(value)}, not a JSON list`, `a JSON list: -c '${contextKey(key)}=[{"version":"v1","status":"active"}]', or the JSON form ${CONFIG_CONTEXT_KEY}='{"apiVersions":[…]}'`, ':');
    }
  }
  if (key !== 'corsAllowedOrigins' || typeof value !== 'string') return value;
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed)) return parsed;
  } catch {
    // reported below
  }
  throw new ConfigError(key, `got ${describe(value)}, not a JSON list`, `a JSON list: -c '${contextKey(key)}=["https://portal.example.org"]' (or [] for no browser access), or the JSON form ${CONFIG_CONTEXT_KEY}='{"corsAllowedOrigins":["https://portal.example.org"]}'`, ':');
}

function parseJsonObject(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError('', 'is not a JSON object', 'an object such as {"environment":"sandbox"}');
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

/** `accounts`: one entry per environment, each a distinct account (a shared account would let one environment reach another). */
function parseAccounts(raw: unknown): Partial<Record<DeploymentEnvironment, AccountBinding>> {
  if (raw === undefined || raw === null) return {};
  const allowed = '{"sandbox":{"account":"111111111111","region":"us-east-1"},"staging":{…},"production":{…}}, one account per environment';
  if (!isPlainObject(raw)) throw new ConfigError('accounts', `must be an object, got ${describe(raw)}`, allowed);
  const out: Partial<Record<DeploymentEnvironment, AccountBinding>> = {};
  const byAccount = new Map<string, DeploymentEnvironment>();
  for (const [env, value] of Object.entries(raw)) {
    if (!(DEPLOYMENT_ENVIRONMENTS as readonly string[]).includes(env)) {
      throw new ConfigError(`accounts.${env}`, 'is not an environment', DEPLOYMENT_ENVIRONMENTS.join(' | '));
    }
    if (!isPlainObject(value)) throw new ConfigError(`accounts.${env}`, `must be an object, got ${describe(value)}`, '{"account":"<12-digit id>","region":"<region>"}');
    const { account, region, ...rest } = value;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw new ConfigError(`accounts.${env}.${extra}`, 'is not a known key', 'account, region');
    if (typeof account !== 'string' || !ACCOUNT_ID.test(account)) throw new ConfigError(`accounts.${env}.account`, `got ${describe(account)}`, 'a 12-digit AWS account id, as a string');
    if (typeof region !== 'string' || !REGION.test(region)) throw new ConfigError(`accounts.${env}.region`, `got ${describe(region)}`, 'an AWS region such as us-east-1');
    const other = byAccount.get(account);
    if (other !== undefined) {
      throw new ConfigError(
        `accounts.${env}.account`,
        `names account ${account}, which accounts.${other}.account names too: environments must not share an account (sandbox settings or data would reach ${other === 'production' || env === 'production' ? 'production' : 'another environment'})`,
        'a separate AWS account per environment',
      );
    }
    byAccount.set(account, env as DeploymentEnvironment);
    out[env as DeploymentEnvironment] = { account, region };
  }
  return out;
}

function wholeNumber(key: string, value: unknown, allowed: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new ConfigError(key, `got ${describe(value)}, not a whole number`, allowed);
  }
  return n;
}

/**
 * Throws when a retention given to a construct is under the six-year floor. `INFINITE` (never
 * expire) is accepted.
 */
export function assertRetention(owner: string, prop: string, days: logs.RetentionDays | number): void {
  if (days !== logs.RetentionDays.INFINITE && days < MIN_RETENTION_DAYS) {
    throw new Error(`${owner}: ${prop} is ${days} days; HIPAA audit records are kept at least ${MIN_RETENTION_DAYS} days (six years). Set ${prop} to logs.RetentionDays.SIX_YEARS or longer.`);
  }
}
