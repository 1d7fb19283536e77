import * as fs from 'fs';
import * as path from 'path';
import { Aspects, CfnResource, Duration, Stack, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, IConstruct } from 'constructs';
import { appClientIdsOf, fhirProxyEnvironment, MAX_CONSENT_CACHE_TTL_SECONDS, MAX_HEALTHLAKE_TIMEOUT_MS, type FhirProxyEnvironment } from '../lambdas/fhir-proxy/environment';
import { currentVersion, parseApiVersions, VERSION_PLACEHOLDER, versionedUrl, type ApiLifecycle } from '../lambdas/shared/api-lifecycle';
import { isFhirResourceType } from '../lambdas/shared/fhir-resource-types';
import { IssueType, operationOutcome } from '../lambdas/shared/operation-outcome';
import { smartAuthorizerEnvironment } from '../lambdas/smart-authorizer/environment';
import { DEFAULT_NAMESPACE as DEFAULT_APP_METRICS_NAMESPACE, type AppMetricsEnvironment } from '../lambdas/shared/app-metrics-environment';
import { AppRegistryDocument, BUNDLED_APP_REGISTRY_METADATA_KEY, DEFAULT_APP_REGISTRY_FILE } from '../policies/app-registry';
import { BUNDLED_LABEL_POLICY_METADATA_KEY, LabelPolicyDocument } from '../policies/label-policy';
import { acknowledge } from '../policies/compliance/acknowledge';
import { markPublicRoute, PUBLIC_ROUTE_METADATA_KEY } from '../policies/compliance/public-routes';
import { registeredAppOf } from '../policies/compliance/registered-apps';
import { API_VERSIONS_METADATA_KEY, DEFAULT_API_VERSIONS, type ApiVersionsMetadata } from './api-versions';
import { AuditTrail } from './audit-trail';
import { DeploymentEnvironment } from './config';
import type { IFhirDatastore } from './fhir-datastore';
import { IFhirKeys } from './fhir-keys';
import { FHIR_DEFINITIONS_ASSET_FILE } from './private/handler-assets';
import { checkDocuments, KitFunction, settingsOf } from './private/kit-function';
import { KitRole } from './private/kit-role';
import { StagePermissions } from './private/stage-permissions';
import { createAuditLogGroup } from './private/log-group';
import { referencedLogicalIds } from './report/cfn';
import { ISegmentedNetwork } from './segmented-network';
import { SmartAppRegistry } from './smart-app-registry';
import { SmartIdentity } from './smart-identity';

/** The custom domain of the API. */
export interface FhirCustomDomain {
  /** e.g. `fhir.example.org` */
  readonly domainName: string;
  /** An ACM certificate for `domainName`, in the stack's region. */
  readonly certificate: acm.ICertificate;
  /**
   * TLS policy clients must meet: TLS 1.2 or one of the TLS 1.3 policies (which take an
   * endpoint access mode).
   *
   * @default apigateway.SecurityPolicy.TLS_1_2
   */
  readonly securityPolicy?: apigateway.SecurityPolicy;
  /**
   * With a TLS 1.3 policy: `STRICT` accepts only clients that use the policy.
   *
   * @default - STRICT for TLS 1.3 policies, none for TLS_1_2 (legacy policies take no mode)
   */
  readonly endpointAccessMode?: apigateway.EndpointAccessMode;
  /**
   * Mutual TLS for `system/` integrations: the trust store (PEM bundle of the CAs allowed to
   * issue client certificates) in S3.
   *
   * @default - no mutual TLS
   */
  readonly mutualTls?: { readonly bucket: s3.IBucket; readonly key: string; readonly version?: string };
}

/** An operation the FHIR proxy allows besides `$everything` and `$export`. */
export interface FhirOperationPolicy {
  /** The SMART permission the caller needs on the resource type (`c`, `r`, `u`, `d` or `s`; at system level, on every type). */
  readonly permission: 'c' | 'r' | 'u' | 'd' | 's';
  /** Where the operation may be invoked: `system` (`/$op`), `type` (`/Type/$op`), `instance` (`/Type/id/$op`). */
  readonly levels: ReadonlyArray<'system' | 'type' | 'instance'>;
}

/**
 * What the FHIR proxy enforces and bundles: the settings a team may change. `FhirGateway` writes
 * them into the proxy's environment (`lambdas/fhir-proxy/environment.ts`) and its asset;
 * `ZeroTrustFhirStack` passes them through. An invalid value fails the synth naming the prop.
 */
export interface FhirProxyOptions {
  /**
   * The security-label (DS4P) and Consent policy, validated when it is made:
   * `LabelPolicyDocument.fromFile('config/labels.json')` or `LabelPolicyDocument.fromObject({...})`.
   * Bundled into the proxy's asset as `labels.json`; the reviewer's report shows it.
   *
   * @default - the kit's sample policy (`LabelPolicyDocument.sample()`, `policies/labels.json`)
   */
  readonly labelPolicy?: LabelPolicyDocument;
  /**
   * The app registry bundled into the proxy's asset (`apps.json`): the apps' label clearances and
   * the identifiers Consents name them by. Every client the stack registers must be an app of it
   * (a node validation fails the synth naming the client and the app).
   *
   * @default - the registry `registry` (the `SmartAppRegistry`) made its clients from
   */
  readonly appRegistry?: AppRegistryDocument;
  /**
   * A folder in your repository of StructureDefinition JSON files (or Bundles of them) that created
   * and updated resources are validated against; bundled into the proxy's asset.
   *
   * @default - the kit's `policies/profiles/`
   */
  readonly profilesDir?: string;
  /**
   * Profiles every written resource of a type must meet, by R4 type (each URL the `url` of a
   * profile in `profilesDir`), e.g. `{ Observation: ['https://example.org/StructureDefinition/my-obs'] }`.
   *
   * @default - none: resources are validated against the R4 base definitions and any profile they claim
   */
  readonly requiredProfiles?: Readonly<Record<string, readonly string[]>>;
  /**
   * Types outside the Patient compartment that `patient/` grants may read (never write). A type
   * in the compartment is refused: `patient/` grants reach the patient's own resources of it already.
   *
   * @default ['Medication', 'Practitioner', 'Organization', 'Location']
   */
  readonly readableNonCompartmentTypes?: readonly string[];
  /**
   * FHIR operations allowed besides `$everything` (the patient's own record) and `$export`
   * (`system/` grants), by name without `$`, e.g. `{ meta: { permission: 'r', levels: ['instance'] } }`.
   *
   * @default - none
   */
  readonly operations?: Readonly<Record<string, FhirOperationPolicy>>;
  /**
   * Largest request body the proxy accepts, in bytes (at most 10 MB, API Gateway's own limit;
   * `FhirFirewall` blocks bodies over its `maxBodyBytes`, 64 KiB, before they reach the API).
   *
   * @default 5242880 (5 MiB)
   */
  readonly maxBodyBytes?: number;
  /**
   * How long one HealthLake call may take before the proxy retries or answers 504. At most 25 s
   * (the proxy's own timeout is 29 s, API Gateway's limit).
   *
   * @default Duration.seconds(10)
   */
  readonly healthLakeTimeout?: Duration;
  /**
   * How long a patient's Consents are cached: the delay before a Consent change takes effect.
   * Whole seconds, at most 60.
   *
   * @default - the label policy's `consent.cacheTtlSeconds`
   */
  readonly consentCacheTtl?: Duration;
  /**
   * Identifier system of the client id in AuditEvents (`agent.who.identifier.system`).
   *
   * @default - none: the client id without a system
   */
  readonly clientIdentifierSystem?: string;
  /**
   * Identifier system of the user's `sub` in AuditEvents.
   *
   * @default - the user pool's issuer (`SmartIdentity.issuer`): a `sub` is unique per issuer
   */
  readonly userIdentifierSystem?: string;
  /**
   * The API versions served side by side: each version that is not retired gets its own stage,
   * named after it (`/<version>/r4`, `/<version>/auth`), with the same routes, throttling, logs
   * and WAF. A deprecated version answers with `Deprecation`, `Sunset` and
   * `Link rel="deprecation"` (proxy and SMART façade), and 410 naming its successor from the
   * sunset on; a retired version has no stage. New apps are pointed at the last active version
   * (`fhirBaseUrl`). FHIR.HIPAA-LambdaApiVersionLifecycle flags a notice under 6 months and a
   * retired version that still has a stage.
   *
   * @default - one version, `v1` ({@link FHIR_STAGE_NAME}), active
   */
  readonly apiVersions?: readonly ApiLifecycle[];
}

/** Properties of {@link FhirGateway}. */
export interface FhirGatewayProps extends FhirProxyOptions {
  readonly keys: IFhirKeys;
  readonly network: ISegmentedNetwork;
  readonly datastore: IFhirDatastore;
  readonly audit: AuditTrail;
  readonly identity: SmartIdentity;
  readonly registry: SmartAppRegistry;
  readonly environment: DeploymentEnvironment;
  /**
   * Custom domain. Required in `production`; when set, the execute-api endpoint is disabled.
   *
   * @default - none: the API is reached at its execute-api URL (sandbox and staging only)
   */
  readonly customDomain?: FhirCustomDomain;
  /**
   * Browser origins allowed by CORS (exact `https://host[:port]` origins). Never `*`. In
   * `production` the list must be given explicitly (an empty list means "no browser access").
   * The SMART façade answers the OAuth routes with CORS headers for these origins too.
   *
   * @default - no CORS (and in production: an error)
   */
  readonly corsAllowedOrigins?: readonly string[];
  /**
   * Stage throttling, for all methods (`*\/*`).
   *
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * How long API Gateway caches the authorizer's Allow for a token. Also the longest a revoked
   * access token keeps working after revocation. At most 300 seconds.
   *
   * @default Duration.seconds(60)
   */
  readonly authorizerCacheTtl?: Duration;
  /** @default logs.RetentionDays.SIX_YEARS */
  readonly logRetention?: logs.RetentionDays;
  /**
   * CloudWatch namespace of the per-app metrics (EMF: `Requests`, `Denials`, `Errors`,
   * `DistinctPatients` by `service`, `ClientId`, `AppId`) the authorizer and the proxy record for
   * every registered app; `AppMonitoring` alarms on them and draws them.
   *
   * @default 'ZeroTrustFhir'
   */
  readonly appMetricsNamespace?: string;
}

/** Options of {@link FhirGateway.addPublicRoute}. */
export interface PublicRouteOptions {
  /**
   * Why the route answers without a bearer token (e.g. `load balancer health check: answers 200,
   * reads nothing`). Required; shown to the reviewer with the route.
   */
  readonly reason: string;
}

/** The default API version: the stage name when no `apiVersions` are given (part of every URL: `/v1/r4`). */
export const FHIR_STAGE_NAME = 'v1';

/** API Gateway access-log fields (JSON). */
export const ACCESS_LOG_FIELDS: Record<string, string> = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  sourceIp: '$context.identity.sourceIp',
  principal: '$context.authorizer.principalId',
  clientId: '$context.authorizer.clientId',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  tlsVersion: '$context.tlsVersion',
  cipherSuite: '$context.cipherSuite',
  authorizerError: '$context.authorizer.error',
  integrationLatency: '$context.integrationLatency',
  wafStatus: '$context.waf.status',
};

/** Headers every error response carries. */
const SECURITY_RESPONSE_HEADERS: Record<string, string> = {
  'gatewayresponse.header.Strict-Transport-Security': "'max-age=63072000; includeSubDomains'",
  'gatewayresponse.header.X-Content-Type-Options': "'nosniff'",
  'gatewayresponse.header.Cache-Control': "'no-store'",
};

/** Every gateway response type, with the generic text its OperationOutcome carries. */
const GATEWAY_RESPONSES: ReadonlyArray<[apigateway.ResponseType, IssueType, string]> = [
  [apigateway.ResponseType.DEFAULT_4XX, 'invalid', 'The request was refused.'],
  [apigateway.ResponseType.DEFAULT_5XX, 'exception', 'The server could not complete the request.'],
  [apigateway.ResponseType.UNAUTHORIZED, 'login', 'Authentication is required.'],
  [apigateway.ResponseType.ACCESS_DENIED, 'forbidden', 'Access denied.'],
  [apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN, 'not-found', 'Unknown resource.'],
  [apigateway.ResponseType.RESOURCE_NOT_FOUND, 'not-found', 'Unknown resource.'],
  [apigateway.ResponseType.THROTTLED, 'throttled', 'Too many requests.'],
  [apigateway.ResponseType.QUOTA_EXCEEDED, 'throttled', 'Too many requests.'],
  [apigateway.ResponseType.WAF_FILTERED, 'forbidden', 'The request was refused.'],
  [apigateway.ResponseType.REQUEST_TOO_LARGE, 'too-costly', 'The request is too large.'],
  [apigateway.ResponseType.AUTHORIZER_FAILURE, 'exception', 'The server could not complete the request.'],
  [apigateway.ResponseType.AUTHORIZER_CONFIGURATION_ERROR, 'exception', 'The server could not complete the request.'],
  [apigateway.ResponseType.INTEGRATION_FAILURE, 'exception', 'The server could not complete the request.'],
  [apigateway.ResponseType.INTEGRATION_TIMEOUT, 'timeout', 'The server did not answer in time.'],
  [apigateway.ResponseType.EXPIRED_TOKEN, 'login', 'Authentication is required.'],
  [apigateway.ResponseType.INVALID_SIGNATURE, 'login', 'Authentication is required.'],
  [apigateway.ResponseType.INVALID_API_KEY, 'forbidden', 'Access denied.'],
  [apigateway.ResponseType.BAD_REQUEST_BODY, 'invalid', 'The request was refused.'],
  [apigateway.ResponseType.BAD_REQUEST_PARAMETERS, 'invalid', 'The request was refused.'],
  [apigateway.ResponseType.UNSUPPORTED_MEDIA_TYPE, 'not-supported', 'Unsupported media type.'],
  [apigateway.ResponseType.API_CONFIGURATION_ERROR, 'exception', 'The server could not complete the request.'],
];

/** The public routes, and only these, answer without the SMART authorizer. */
const PUBLIC_ROUTES = {
  metadata: { method: 'GET', path: '/r4/metadata', reason: 'FHIR capability statement: public by the FHIR specification, no PHI' },
  discovery: { method: 'GET', path: '/r4/.well-known/smart-configuration', reason: 'SMART discovery document: public by SMART App Launch, no PHI' },
  authorize: {
    method: 'GET',
    path: '/auth/authorize',
    reason: 'OAuth authorization endpoint: a browser navigation before any token exists; it checks the request and redirects to Cognito managed login only, never returns data',
  },
  token: { method: 'POST', path: '/auth/token', reason: 'OAuth token endpoint: authenticates the client itself (PKCE or client secret)' },
  introspect: { method: 'POST', path: '/auth/introspect', reason: 'RFC 7662 introspection: authenticates the calling client itself' },
  revoke: { method: 'POST', path: '/auth/revoke', reason: 'RFC 7009 revocation: needs the token being revoked' },
} as const;

/**
 * The FHIR API: a regional REST API whose FHIR routes (`/r4`, `/r4/{proxy+}`) go to the FHIR
 * proxy (in the isolated subnets, the only caller of HealthLake) behind the SMART authorizer,
 * and whose six public routes (`GET /r4/metadata`, `GET /r4/.well-known/smart-configuration`,
 * `GET /auth/authorize`, `POST /auth/token|introspect|revoke`) are marked public and served by the proxy or the
 * SMART façade.
 *
 * Extension points: {@link addRoute} adds a route of the team's behind the SMART authorizer;
 * {@link addPublicRoute} one without it, with a required reason, reported as
 * `FHIR.HIPAA-APIGWPublicRoute` (naming the route) until the team acknowledges it on the method.
 * Paths under `/r4` and `/auth` are the kit's.
 *
 * Enforced: every other method has the authorizer (a node validation fails the synth, naming the
 * method's path, HTTP method and construct, for methods added later too); every client a function
 * names is an app of the registry the proxy carries (a node validation names the client and the
 * app); the proxy's asset carries exactly the team's label policy, app registry and profiles,
 * recorded on the proxy for the reviewer's report; JSON access logs (request and extended request id, source
 * IP, principal and client id, time, method, path, status, protocol, length, TLS version, cipher,
 * authorizer error, integration latency) to a CMK log group kept six years; execution logging at
 * ERROR without data trace; X-Ray; metrics; stage throttling; usage plans per registered app (API
 * key source AUTHORIZER); gateway responses for every error class with HSTS, `nosniff`,
 * `no-store` and a generic OperationOutcome; CORS only for listed origins; a custom domain with
 * TLS 1.2+ (required in production) disables the execute-api endpoint.
 */
export class FhirGateway extends Construct {
  public readonly api: apigateway.RestApi;
  /** The stage of the current API version (the one `fhirBaseUrl` names; the API's deployment stage). */
  public readonly stage: apigateway.Stage;
  /** Every served API version's stage, in configuration order (retired versions have none). */
  public readonly stages: readonly apigateway.Stage[];
  /** The API versions, validated, retired ones included. */
  public readonly apiVersions: readonly ApiLifecycle[];
  /** The version new apps should use: the last active one (else the last deprecated one). */
  public readonly currentVersion: string;
  public readonly accessLogGroup: logs.LogGroup;
  /** Execution logs (ERROR level) of the current version's stage, pre-created so they are CMK-encrypted and kept six years. */
  public readonly executionLogGroup: logs.LogGroup;
  /** Execution logs of every stage, by version. */
  public readonly executionLogGroups: ReadonlyMap<string, logs.LogGroup>;
  /** API Gateway's account-level logging role (customer-managed policy). */
  public readonly cloudWatchRole: KitRole;
  public readonly account: apigateway.CfnAccount;
  public readonly authorizerFunction: KitFunction;
  public readonly authorizer: apigateway.RequestAuthorizer;
  /** Rejects FHIR requests without an Authorization header before the authorizer runs. */
  public readonly requestValidator: apigateway.RequestValidator;
  public readonly proxyFunction: KitFunction;
  public readonly domainName?: apigateway.DomainName;
  public readonly gatewayResponses: apigateway.GatewayResponse[] = [];
  /** The public FHIR base URL of the current version (`https://<domain>/<version>/r4` or the stage URL + `r4`). */
  public readonly fhirBaseUrl: string;
  /** The public base URL of the current version's OAuth routes. */
  public readonly authBaseUrl: string;
  /** The app registry bundled into the proxy's asset (`/var/task/apps.json`). */
  public readonly appRegistry: AppRegistryDocument;
  /** The label policy bundled into the proxy's asset (`/var/task/labels.json`). */
  public readonly labelPolicy: LabelPolicyDocument;
  /** The namespace of the per-app metrics the authorizer and the proxy record (`appMetricsNamespace`). */
  public readonly appMetricsNamespace: string;
  /** Methods that may answer without the authorizer, by construct path. */
  private readonly publicMethods = new Set<apigateway.Method>();
  /** The method options of every authorized route. */
  private readonly authorized: apigateway.MethodOptions;

  constructor(scope: Construct, id: string, props: FhirGatewayProps) {
    super(scope, id);
    const { keys, network, datastore, audit, identity, registry, environment } = props;
    const retention = props.logRetention ?? logs.RetentionDays.SIX_YEARS;
    if (environment === 'production' && !props.customDomain) {
      throw new Error('FhirGateway: production requires customDomain (a domain name and an ACM certificate); the execute-api endpoint is disabled in production.');
    }
    if (environment === 'production' && props.corsAllowedOrigins === undefined) {
      throw new Error('FhirGateway: production requires corsAllowedOrigins to be given explicitly (use [] for no browser access).');
    }
    const origins = [...(props.corsAllowedOrigins ?? [])];
    for (const origin of origins) {
      if (origin === '*' || !/^https:\/\/[a-z0-9.-]+(:\d{1,5})?$/.test(origin)) {
        throw new Error(`FhirGateway: corsAllowedOrigins entry "${origin}" is not an exact https origin (https://host[:port]); "*" is never allowed.`);
      }
    }
    checkProxyDurations(props);
    checkDocuments('FhirGateway', { appRegistry: props.appRegistry, labelPolicy: props.labelPolicy });
    const throttle = props.throttle ?? { rateLimit: 100, burstLimit: 200 };
    const cacheTtl = props.authorizerCacheTtl ?? Duration.seconds(60);
    if (!Token.isUnresolved(cacheTtl.toSeconds()) && cacheTtl.toSeconds() > 300) {
      throw new Error(`FhirGateway: authorizerCacheTtl is ${cacheTtl.toSeconds()} s; at most 300 s (it is also the revocation delay).`);
    }

    this.apiVersions = apiVersionsOf(props.apiVersions);
    this.currentVersion = currentVersion(this.apiVersions).version;
    const served = this.apiVersions.filter((v) => v.status !== 'retired').map((v) => v.version);
    this.accessLogGroup = createAuditLogGroup(this, 'AccessLogs', { encryptionKey: keys.logs, retention, owner: 'FhirGateway' });
    const stageOptions: apigateway.StageOptions = {
      accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
      accessLogFormat: apigateway.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      loggingLevel: apigateway.MethodLoggingLevel.ERROR,
      dataTraceEnabled: false,
      tracingEnabled: true,
      metricsEnabled: true,
      throttlingRateLimit: throttle.rateLimit,
      throttlingBurstLimit: throttle.burstLimit,
    };

    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `${Stack.of(this).stackName}-fhir`,
      description: 'Zero-trust FHIR R4 API (SMART on FHIR)',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      disableExecuteApiEndpoint: props.customDomain !== undefined,
      apiKeySourceType: apigateway.ApiKeySourceType.AUTHORIZER,
      // The account-level logging role is set below with a customer-managed policy.
      cloudWatchRole: false,
      // The deployment and a stage per version are made below, each version's stage with its own
      // construct id, so that a version keeps its stage when another one becomes current.
      deploy: false,
      defaultCorsPreflightOptions:
        origins.length > 0
          ? { allowOrigins: origins, allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], allowHeaders: ['Authorization', 'Content-Type', 'Prefer', 'If-Match', 'If-None-Exist'], maxAge: Duration.minutes(10) }
          : undefined,
    });
    // One deployment (it is replaced whenever a method changes, like RestApi's own), and a stage of
    // it per served version with the same settings. The current version's stage is the API's
    // deployment stage; the methods' Lambda permissions name that one only, and StagePermissions
    // copies them for the others.
    const deployment = new apigateway.Deployment(this, 'Deployment', { api: this.api, description: 'zero-trust-fhir: every API version' });
    const stages = new Map<string, apigateway.Stage>();
    for (const version of served) {
      stages.set(version, new apigateway.Stage(this, `Stage${stageIdOf(version)}`, { ...stageOptions, stageName: version, deployment }));
    }
    this.stages = served.map((v) => stages.get(v)!);
    this.stage = stages.get(this.currentVersion)!;
    this.api.deploymentStage = this.stage;
    Aspects.of(this.api).add(new StagePermissions(this.api, () => served.filter((v) => v !== this.currentVersion)));
    for (const stage of this.stages) {
      acknowledge(
        stage,
        'HIPAA.Security-APIGWCacheEnabledAndEncrypted',
        "Response caching is off on purpose: API Gateway's cache is keyed by path and query, not by caller, so a cached FHIR response could be served to another patient. Nothing is cached, so there is no cache to encrypt; FHIR data stays encrypted in HealthLake with the data CMK.",
      );
      acknowledge(
        stage,
        'HIPAA.Security-APIGWSSLEnabled',
        'This rule asks for a client certificate API Gateway presents to HTTP backends. Every integration here is a Lambda proxy integration, invoked through the Lambda API over TLS with SigV4; there is no HTTP backend to present a certificate to. Client-facing TLS is enforced by the domain security policy (FHIR.HIPAA-APIGWDomainTLSPolicy).',
      );
    }

    // Execution logs (ERROR level, no data trace): API Gateway writes them to
    // `API-Gateway-Execution-Logs_<api id>/<stage>`; the kit creates each stage's group itself so
    // it is CMK-encrypted and kept six years like every other log group. API Gateway writes
    // through the account-level CloudWatch role, set here with a customer-managed policy.
    const executionLogGroups = new Map<string, logs.LogGroup>();
    for (const version of served) {
      executionLogGroups.set(
        version,
        createAuditLogGroup(this, version === this.currentVersion ? 'ExecutionLogs' : `ExecutionLogs${stageIdOf(version)}`, {
          encryptionKey: keys.logs,
          retention,
          owner: 'FhirGateway',
          logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${version}`,
        }),
      );
      stages.get(version)!.node.addDependency(executionLogGroups.get(version)!);
    }
    this.executionLogGroups = executionLogGroups;
    this.executionLogGroup = executionLogGroups.get(this.currentVersion)!;
    this.cloudWatchRole = new KitRole(this, 'CloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway logging to the kit log groups',
    });
    this.cloudWatchRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogGroups', 'logs:DescribeLogStreams'],
        resources: [...executionLogGroups.values()].map((g) => g.logGroupArn).concat(this.accessLogGroup.logGroupArn),
      }),
    );
    this.account = new apigateway.CfnAccount(this, 'Account', { cloudWatchRoleArn: this.cloudWatchRole.roleArn });
    this.account.node.addDependency(this.cloudWatchRole.policy);
    for (const stage of this.stages) stage.node.addDependency(this.account);

    if (props.customDomain) {
      const tls13 = (props.customDomain.securityPolicy ?? apigateway.SecurityPolicy.TLS_1_2).startsWith('SecurityPolicy_TLS13');
      // No mapping at the root: each version's stage is mapped at its own base path (`/v2/r4`).
      this.domainName = new apigateway.DomainName(this.api, 'Domain', {
        domainName: props.customDomain.domainName,
        certificate: props.customDomain.certificate,
        endpointType: apigateway.EndpointType.REGIONAL,
        securityPolicy: props.customDomain.securityPolicy ?? apigateway.SecurityPolicy.TLS_1_2,
        endpointAccessMode: tls13 ? (props.customDomain.endpointAccessMode ?? apigateway.EndpointAccessMode.STRICT) : undefined,
        mtls: props.customDomain.mutualTls,
      });
      served.forEach((version, i) => this.domainName!.addBasePathMapping(this.api, { basePath: version, stage: this.stages[i] }));
    }
    // Built from the API id and the version (the stage name), not from the Stage resource: the
    // functions that read it are integrations of the API, so a reference to the stage would be
    // circular. The functions get the `{version}` template and fill in each request's stage.
    const host = props.customDomain ? props.customDomain.domainName : `${this.api.restApiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`;
    const fhirBaseTemplate = `https://${host}/${VERSION_PLACEHOLDER}/r4`;
    const authBaseTemplate = `https://${host}/${VERSION_PLACEHOLDER}/auth`;
    this.fhirBaseUrl = versionedUrl(fhirBaseTemplate, this.currentVersion);
    this.authBaseUrl = versionedUrl(authBaseTemplate, this.currentVersion);
    identity.setPublicBaseUrls(fhirBaseTemplate, authBaseTemplate, {
      ...(origins.length > 0 ? { allowedOrigins: origins } : {}),
      apiVersions: this.apiVersions,
    });
    this.node.addMetadata(API_VERSIONS_METADATA_KEY, {
      current: this.currentVersion,
      versions: this.apiVersions.map((v) => ({ ...v, served: v.status !== 'retired', fhirBasePath: `/${v.version}/r4` })),
    } satisfies ApiVersionsMetadata);

    // --- Per-app metrics (issue #17), recorded by the authorizer and the proxy alike: every
    // registered client with its app id, so each app has its own series.
    this.appMetricsNamespace = props.appMetricsNamespace ?? DEFAULT_APP_METRICS_NAMESPACE;
    const metrics: AppMetricsEnvironment = {
      namespace: this.appMetricsNamespace,
      clientApps: Object.fromEntries(registry.registrations.map((r) => [r.clientId, r.appId])),
    };

    // --- The SMART authorizer: verifies Cognito access tokens; outside the VPC because it reads
    // the pool's JWKS from Cognito's public endpoint.
    this.authorizerFunction = new KitFunction(this, 'Authorizer', {
      handlerDir: 'smart-authorizer',
      description: 'SMART authorizer: verifies Cognito access tokens, fails closed',
      logsKey: keys.logs,
      logRetention: retention,
      invocation: 'synchronous',
      timeout: Duration.seconds(5),
      environment: settingsOf('FhirGateway', () =>
        smartAuthorizerEnvironment(
          {
            userPoolId: identity.userPool.userPoolId,
            clients: Object.fromEntries(registry.registrations.map((r) => [r.clientId, { tier: r.tier, usageIdentifierKey: r.usageIdentifierKey }])),
            revocationTable: identity.revocationTable.tableName,
            metrics,
          },
          this.writerOptions(),
        ),
      ),
    });
    identity.grantRevocationTable(this.authorizerFunction, false);
    acknowledge(
      this.authorizerFunction.fn,
      'HIPAA.Security-LambdaInsideVPC',
      "The SMART authorizer fetches the user pool's signing keys from Cognito's public JWKS endpoint, which PrivateLink does not serve; it handles tokens only, never PHI, and its role grants nothing but reads of the revocation table.",
    );
    this.authorizer = new apigateway.RequestAuthorizer(this, 'SmartAuthorizer', {
      handler: this.authorizerFunction.fn,
      identitySources: [apigateway.IdentitySource.header('Authorization')],
      resultsCacheTtl: cacheTtl,
    });

    // --- The FHIR proxy, in the isolated subnets: the only caller of HealthLake. It writes its
    // BALP AuditEvents (one JSON line each) to the AuditEvent log group, which is its log group.
    this.labelPolicy = props.labelPolicy ?? LabelPolicyDocument.sample();
    this.appRegistry = props.appRegistry ?? registry.appRegistry;
    checkAppVersions(this.appRegistry, this.apiVersions);
    const profiles = readProfiles(props.profilesDir ?? DEFAULT_PROFILES_DIR, props.profilesDir === undefined ? 'the kit\'s policies/profiles' : 'profilesDir');
    checkRequiredProfiles(props.requiredProfiles, profiles);
    const proxySettings: FhirProxyEnvironment = {
      fhirBaseUrl: datastore.fhirBaseUrl,
      publicBaseUrl: fhirBaseTemplate,
      readableNonCompartmentTypes: props.readableNonCompartmentTypes ?? DEFAULT_READABLE_NON_COMPARTMENT_TYPES,
      confidentialClientIds: registry.registrations.filter((r) => r.confidential).map((r) => r.clientId),
      ...(props.operations !== undefined ? { operations: props.operations } : {}),
      ...(props.requiredProfiles !== undefined ? { requiredProfiles: props.requiredProfiles } : {}),
      ...(props.maxBodyBytes !== undefined ? { maxBodyBytes: props.maxBodyBytes } : {}),
      ...(props.healthLakeTimeout !== undefined ? { healthLakeTimeoutMs: props.healthLakeTimeout.toMilliseconds() } : {}),
      ...(props.consentCacheTtl !== undefined ? { consentCacheTtlSeconds: props.consentCacheTtl.toSeconds() } : {}),
      ...(props.clientIdentifierSystem !== undefined ? { clientIdentifierSystem: props.clientIdentifierSystem } : {}),
      userIdentifierSystem: props.userIdentifierSystem ?? identity.issuer,
      // The compact FHIR R4 base definitions (about 4 MB instead of 37 MB) are built into the
      // handler's asset with the package; the profiles, the label policy and the app registry
      // are added to it at synth time (`assetFiles`, below).
      fhirDefinitionsFile: `/var/task/${FHIR_DEFINITIONS_ASSET_FILE}`,
      ...(Object.keys(profiles.files).length > 0 ? { profilesDir: '/var/task/profiles' } : {}),
      prewarmValidator: true,
      // Consent and security labels: the label policy and the app registry, in the asset, and
      // which app each Cognito client is (Consent provisions name apps as actors).
      labelPolicyFile: '/var/task/labels.json',
      appRegistryFile: '/var/task/apps.json',
      appClientIds: Object.fromEntries(registry.registrations.map((r) => [r.clientId, r.appId])),
      apiVersions: this.apiVersions,
      // The same allow-list as the preflight and the façade: the proxy's answers carry CORS headers.
      ...(origins.length > 0 ? { allowedOrigins: origins } : {}),
      metrics,
    };
    this.proxyFunction = new KitFunction(this, 'Proxy', {
      handlerDir: 'fhir-proxy',
      description: 'FHIR proxy: SMART scopes, patient compartment, audit; SigV4 to HealthLake',
      logsKey: keys.logs,
      logGroup: audit.auditEventLogGroup,
      invocation: 'synchronous',
      timeout: Duration.seconds(29),
      memorySize: 1024,
      environment: settingsOf('FhirGateway', () => fhirProxyEnvironment(proxySettings, this.writerOptions())),
      assetFiles: {
        'labels.json': this.labelPolicy.json,
        'apps.json': this.appRegistry.json,
        ...Object.fromEntries(Object.entries(profiles.files).map(([name, text]) => [`profiles/${name}`, text])),
      },
      vpc: network.vpc,
      vpcSubnets: network.isolatedSubnets,
      securityGroups: [network.proxySecurityGroup],
    });
    // What the asset carries, for the reviewer's report (lib/report/apps.ts reads it back).
    this.proxyFunction.node.addMetadata(BUNDLED_APP_REGISTRY_METADATA_KEY, this.appRegistry.toMetadata());
    this.proxyFunction.node.addMetadata(BUNDLED_LABEL_POLICY_METADATA_KEY, this.labelPolicy.toMetadata());
    datastore.grantFhirAccess(this.proxyFunction);

    const proxyIntegration = new apigateway.LambdaIntegration(this.proxyFunction.fn, { proxy: true });
    const facadeIntegration = new apigateway.LambdaIntegration(identity.facade.fn, { proxy: true });
    // Requests to the FHIR routes without an Authorization header stop at the gateway. Bodies are
    // validated by the proxy against the FHIR R4 definitions and the deployer's profiles, which
    // an API Gateway JSON-schema model cannot express.
    this.requestValidator = this.api.addRequestValidator('RequestValidator', { validateRequestParameters: true, validateRequestBody: false });
    acknowledge(
      this.api,
      'AwsSolutions-APIG2',
      'Request parameters are validated at the gateway (the Authorization header is required on every FHIR route). Request bodies are validated by the FHIR proxy against the FHIR R4 base definitions and the profiles in policies/profiles/ with a maintained validator, which API Gateway models (JSON Schema draft 4) cannot express; a model-less body validator would check nothing.',
    );
    this.authorized = {
      authorizer: this.authorizer,
      authorizationType: apigateway.AuthorizationType.CUSTOM,
      requestParameters: { 'method.request.header.Authorization': true },
      requestValidator: this.requestValidator,
    };
    const authorized = this.authorized;

    const r4 = this.api.root.addResource('r4');
    for (const method of [r4.addMethod('ANY', proxyIntegration, authorized), r4.addResource('{proxy+}').addMethod('ANY', proxyIntegration, authorized)]) {
      acknowledge(
        method,
        'AwsSolutions-COG4',
        "The FHIR routes use the kit's SMART Lambda authorizer, which verifies the Cognito access token (aws-jwt-verify: signature, issuer, token_use, expiry) and adds what a Cognito authorizer cannot: the registered client allow-list, token revocation (jti and origin_jti) and the SMART launch context for the proxy.",
      );
    }
    this.addPublicMethod(r4.addResource('metadata'), PUBLIC_ROUTES.metadata, proxyIntegration);
    this.addPublicMethod(r4.addResource('.well-known').addResource('smart-configuration'), PUBLIC_ROUTES.discovery, facadeIntegration);
    const auth = this.api.root.addResource('auth');
    this.addPublicMethod(auth.addResource('authorize'), PUBLIC_ROUTES.authorize, facadeIntegration);
    this.addPublicMethod(auth.addResource('token'), PUBLIC_ROUTES.token, facadeIntegration);
    this.addPublicMethod(auth.addResource('introspect'), PUBLIC_ROUTES.introspect, facadeIntegration);
    this.addPublicMethod(auth.addResource('revoke'), PUBLIC_ROUTES.revoke, facadeIntegration);

    for (const [type, code, text] of GATEWAY_RESPONSES) {
      this.gatewayResponses.push(
        this.api.addGatewayResponse(`Response${type.responseType}`, {
          type,
          responseHeaders: Object.fromEntries(Object.entries(SECURITY_RESPONSE_HEADERS).map(([k, v]) => [k.replace('gatewayresponse.header.', ''), v])),
          templates: {
            'application/json': JSON.stringify(operationOutcome([{ severity: 'error', code, diagnostics: text }])),
          },
        }),
      );
    }

    registry.addUsagePlans(...this.stages);

    // Every method, including those a team adds later, needs the authorizer unless it is
    // OPTIONS, one of the public SMART routes or a route added with addPublicRoute; every client
    // a function's environment names must be an app of the registry the proxy carries.
    this.node.addValidation({ validate: () => [...this.unauthorizedMethods(), ...this.unregisteredClients()] });
  }

  /**
   * Adds `method` on `path` (e.g. `/reports/{id}`) behind the SMART authorizer, like the FHIR
   * routes: the `Authorization` header is required, the token verified, and the integration gets
   * the caller's context (`event.requestContext.authorizer`). Paths under `/r4` (the FHIR proxy's)
   * and `/auth` (the SMART façade's) are the kit's and are refused.
   *
   * @param path the resource path, `/`-separated, `{param}` segments allowed (`{param+}` last)
   * @param method `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD` or `ANY`
   * @throws Error naming the route when the path or method is not allowed or the route exists
   */
  public addRoute(path: string, method: string, integration: apigateway.Integration): apigateway.Method {
    const route = this.newRoute('addRoute', path, method);
    return route.resource.addMethod(route.method, integration, this.authorized);
  }

  /**
   * Adds `method` on `path` WITHOUT the SMART authorizer, for a route that must answer before a
   * caller holds a token (a load balancer's `/health`, say). The reason is required; the method
   * is marked public with it and reported by `FHIR.HIPAA-APIGWPublicRoute`, naming the route, until
   * you acknowledge that finding on the returned method:
   * `acknowledge(method, 'FHIR.HIPAA-APIGWPublicRoute', '<why this route exposes nothing>')`.
   * The reviewer's report lists the route with its reason. Paths under `/r4` and `/auth` are refused.
   *
   * @throws Error naming the route when the reason is blank, the path or method is not allowed or the route exists
   */
  public addPublicRoute(path: string, method: string, integration: apigateway.Integration, options: PublicRouteOptions): apigateway.Method {
    const route = this.newRoute('addPublicRoute', path, method);
    const reason = options?.reason;
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new Error(`FhirGateway.addPublicRoute: ${route.method} ${route.path} needs a reason (options.reason): say why it may answer without a token, and what it exposes.`);
    }
    const added = route.resource.addMethod(route.method, integration, { authorizationType: apigateway.AuthorizationType.NONE });
    added.node.addMetadata(PUBLIC_ROUTE_METADATA_KEY, { method: route.method, path: route.path, reason: reason.trim() });
    for (const id of ['AwsSolutions-APIG4', 'AwsSolutions-COG4']) {
      acknowledge(
        added,
        id,
        `Declared public with FhirGateway.addPublicRoute (${reason.trim()}); reported as FHIR.HIPAA-APIGWPublicRoute, which must be acknowledged on this method.`,
      );
    }
    this.publicMethods.add(added);
    return added;
  }

  private addPublicMethod(resource: apigateway.Resource, route: { method: string; path: string; reason: string }, integration: apigateway.Integration): apigateway.Method {
    const method = resource.addMethod(route.method, integration, { authorizationType: apigateway.AuthorizationType.NONE });
    markPublicRoute(method, route);
    for (const id of ['AwsSolutions-APIG4', 'AwsSolutions-COG4']) {
      acknowledge(method, id, `Public by design: ${route.reason}. Marked with markPublicRoute and checked by FHIR.HIPAA-APIGWMethodAuthorization.`);
    }
    this.publicMethods.add(method);
    return method;
  }

  /** The resource of a route a team adds, after checking the path and method. */
  private newRoute(caller: string, path: string, method: string): { resource: apigateway.Resource; method: string; path: string } {
    const where = `FhirGateway.${caller}`;
    const httpMethod = typeof method === 'string' ? method.trim().toUpperCase() : '';
    const shown = `${typeof method === 'string' ? method.slice(0, 16) : String(method)} ${typeof path === 'string' ? path.slice(0, 200) : String(path)}`;
    if (typeof path !== 'string' || !ROUTE_PATH.test(path) || path.slice(0, -1).includes('+}')) {
      throw new Error(`${where}: ${shown}: the path must start with / and hold segments of letters, digits, . _ ~ - or {param} ({param+} only last), e.g. /health or /reports/{id}.`);
    }
    if (httpMethod === 'OPTIONS') throw new Error(`${where}: OPTIONS ${path}: CORS preflight is the gateway's (corsAllowedOrigins); add GET, POST, PUT, PATCH, DELETE, HEAD or ANY.`);
    if (!ROUTE_METHODS.includes(httpMethod)) throw new Error(`${where}: ${shown}: the method must be one of ${ROUTE_METHODS.join(', ')}.`);
    const first = path.split('/')[1];
    if (first === 'r4') throw new Error(`${where}: ${httpMethod} ${path} is under /r4, which only the FHIR proxy serves (it authorizes every FHIR interaction); enable a FHIR operation with the operations prop instead.`);
    if (first === 'auth') throw new Error(`${where}: ${httpMethod} ${path} is under /auth, which only the SMART façade serves.`);
    const resource = this.api.root.resourceForPath(path);
    if (resource.node.tryFindChild(httpMethod) !== undefined) throw new Error(`${where}: ${httpMethod} ${path} exists already.`);
    return { resource, method: httpMethod, path };
  }

  private unauthorizedMethods(): string[] {
    return this.api.methods
      .filter((m) => m.httpMethod !== 'OPTIONS' && !this.publicMethods.has(m))
      .filter((m) => {
        const cfn = m.node.defaultChild as apigateway.CfnMethod;
        return !(cfn.authorizationType === apigateway.AuthorizationType.CUSTOM || cfn.authorizationType === apigateway.AuthorizationType.COGNITO) || !cfn.authorizerId;
      })
      .map((m) =>
        `FhirGateway: method ${m.httpMethod} ${m.resource.path} has no SMART authorizer (construct ${m.node.path}). ` +
        `Add it with gateway.addRoute('${m.resource.path}', '${m.httpMethod}', integration), which puts it behind the authorizer; a route that must answer without a token: ` +
        `gateway.addPublicRoute('${m.resource.path}', '${m.httpMethod}', integration, { reason }), then acknowledge FHIR.HIPAA-APIGWPublicRoute on it.`,
      );
  }

  /**
   * Every Cognito app client that a function of this stack names in its environment (a
   * reference to the client, e.g. the proxy's `APP_CLIENT_IDS`, the authorizer's and the
   * façade's `CLIENTS`) must be the client of an app in the registry the proxy carries; and
   * `APP_CLIENT_IDS` must map each client to that app.
   */
  private unregisteredClients(): string[] {
    const stack = Stack.of(this);
    const clientsByLogicalId = new Map<string, CfnResource>();
    for (const c of stack.node.findAll()) {
      if (CfnResource.isCfnResource(c) && c.cfnResourceType === 'AWS::Cognito::UserPoolClient') clientsByLogicalId.set(stack.resolve(c.logicalId) as string, c);
    }
    const problems: string[] = [];
    const registry = this.appRegistry;
    const missing = `, which is not in the app registry bundled into the FHIR proxy's asset (${registry.source}). Give FhirGateway the registry its SmartAppRegistry was made from (appRegistry), or register the app there.`;
    for (const fn of stack.node.findAll().filter((c): c is lambda.CfnFunction => c instanceof lambda.CfnFunction)) {
      const variables = (stack.resolve(fn.environment) as { variables?: Record<string, unknown> } | undefined)?.variables ?? {};
      const fnPath = l2Path(fn);
      for (const [name, value] of Object.entries(variables)) {
        if (name !== 'APP_CLIENT_IDS') {
          for (const logicalId of referencedLogicalIds(value)) {
            const client = clientsByLogicalId.get(logicalId);
            const app = client ? registeredAppOf(client) : undefined;
            if (client && app && registry.app(app.id) === undefined) {
              problems.push(`FhirGateway: function ${fnPath} variable ${name} names client ${l2Path(client)}, the client of app "${app.id}"${missing}`);
            }
          }
          continue;
        }
        for (const [logicalId, appId] of Object.entries(jsonWithReferences(value))) {
          const client = clientsByLogicalId.get(logicalId);
          const clientName = client ? l2Path(client) : logicalId;
          if (typeof appId !== 'string' || registry.app(appId) === undefined) {
            problems.push(`FhirGateway: function ${fnPath} variable APP_CLIENT_IDS maps client ${clientName} to app "${String(appId).slice(0, 64)}"${missing}`);
            continue;
          }
          const marked = client ? registeredAppOf(client) : undefined;
          if (marked !== undefined && marked.id !== appId) {
            problems.push(`FhirGateway: function ${fnPath} variable APP_CLIENT_IDS maps client ${clientName} to app "${appId}", but the client was made for app "${marked.id}".`);
          }
        }
      }
    }
    return [...new Set(problems)];
  }

  private writerOptions(): { toJson: (value: unknown) => string; isUnresolved: (value: unknown) => boolean } {
    return { toJson: (value) => Stack.of(this).toJsonString(value), isUnresolved: (value) => Token.isUnresolved(value) };
  }
}

/** Paths a team's route may take (the kit's `/r4` and `/auth` are refused separately). */
const ROUTE_PATH = /^(\/([A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\+?\}))+$/;
const ROUTE_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'ANY'];

/** The FHIR proxy's default `readableNonCompartmentTypes`. */
const DEFAULT_READABLE_NON_COMPARTMENT_TYPES: readonly string[] = ['Medication', 'Practitioner', 'Organization', 'Location'];

/** The kit's sample profiles: `policies/profiles/` (`dist/policies/profiles/` in the package). */
const DEFAULT_PROFILES_DIR = path.join(path.dirname(DEFAULT_APP_REGISTRY_FILE), 'profiles');

/** The Duration props of the proxy, checked with their names (the writer sees milliseconds and seconds). */
function checkProxyDurations(props: FhirProxyOptions): void {
  const timeout = props.healthLakeTimeout;
  if (timeout !== undefined && !Token.isUnresolved(timeout.toMilliseconds())) {
    const ms = timeout.toMilliseconds();
    if (!Number.isInteger(ms) || ms < 1 || ms > MAX_HEALTHLAKE_TIMEOUT_MS) {
      throw new Error(`FhirGateway: healthLakeTimeout is ${timeout.toHumanString()}; give 1 ms to ${MAX_HEALTHLAKE_TIMEOUT_MS / 1000} s (the proxy itself stops at 29 s).`);
    }
  }
  const ttl = props.consentCacheTtl;
  if (ttl !== undefined && !Token.isUnresolved(ttl.toMilliseconds())) {
    const ms = ttl.toMilliseconds();
    if (ms % 1000 !== 0 || ms < 0 || ms > MAX_CONSENT_CACHE_TTL_SECONDS * 1000) {
      throw new Error(`FhirGateway: consentCacheTtl is ${ttl.toHumanString()}; give whole seconds from 0 to ${MAX_CONSENT_CACHE_TTL_SECONDS} (it is the delay before a Consent change takes effect).`);
    }
  }
}

/** The API versions, validated; a problem fails naming the prop and what to give. */
function apiVersionsOf(value: readonly ApiLifecycle[] | undefined): readonly ApiLifecycle[] {
  if (value === undefined) return DEFAULT_API_VERSIONS;
  try {
    return parseApiVersions(value);
  } catch (err) {
    throw new Error(
      `FhirGateway: apiVersions: ${(err as Error).message.replace(/^API lifecycle: /, '')}. Give a list such as [{ version: 'v1', status: 'deprecated', deprecatedAt: '2027-01-01', sunsetAt: '2027-09-01', successor: 'v2' }, { version: 'v2', status: 'active' }].`,
    );
  }
}

/** Every API version an app of the registry records must be served: listed here and not retired. */
function checkAppVersions(registry: AppRegistryDocument, versions: readonly ApiLifecycle[]): void {
  for (const app of registry.apps) {
    for (const name of app.apiVersions ?? []) {
      const version = versions.find((v) => v.version === name);
      if (version === undefined) {
        throw new Error(`FhirGateway: app "${app.id}" of ${registry.source} uses API version ${name}, which is not in apiVersions (${versions.map((v) => v.version).join(', ')}). Add the version to apiVersions, or record the version the app uses.`);
      }
      if (version.status === 'retired') {
        throw new Error(`FhirGateway: app "${app.id}" of ${registry.source} uses API version ${name}, which is retired${version.successor !== undefined ? ` (its successor is ${version.successor})` : ''}. Migrate the app and record its new version in the registry, or remove the app.`);
      }
    }
  }
}

/** A construct id fragment for a version (`v2` → `V2`; other characters dropped). */
function stageIdOf(version: string): string {
  const id = version.replace(/[^A-Za-z0-9]/g, '');
  return id.charAt(0).toUpperCase() + id.slice(1);
}

/** The profiles a FHIR proxy bundles: file name → text, and each profile's url → type. */
interface Profiles {
  readonly files: Readonly<Record<string, string>>;
  readonly types: ReadonlyMap<string, string>;
  /** How messages name the folder. */
  readonly label: string;
}

/**
 * Reads the `*.json` files of a profiles folder and checks what the proxy needs of each (a
 * StructureDefinition, or a Bundle of them, constraining an R4 resource type, with a `url`): the
 * proxy checks them again, whole, at cold start.
 */
function readProfiles(dir: string, prop: string): Profiles {
  const label = `${prop} (${dir})`;
  if (typeof dir !== 'string' || dir.trim() === '' || !fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`FhirGateway: ${prop}: ${String(dir)} is not a folder.`);
  }
  const files: Record<string, string> = {};
  const types = new Map<string, string>();
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`FhirGateway: ${label}: file name "${name.slice(0, 80)}" must be letters, digits, . _ or -.`);
    const text = fs.readFileSync(path.join(dir, name), 'utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`FhirGateway: ${label}: ${name} is not valid JSON.`);
    }
    const doc = parsed as { resourceType?: unknown; entry?: Array<{ resource?: unknown }> };
    const items = doc?.resourceType === 'Bundle' ? (Array.isArray(doc.entry) ? doc.entry.map((e) => e?.resource) : []) : [parsed];
    for (const item of items) {
      const sd = item as { resourceType?: unknown; url?: unknown; kind?: unknown; type?: unknown } | undefined;
      if (!sd || sd.resourceType !== 'StructureDefinition' || typeof sd.url !== 'string' || !/^https?:\/\/\S+$/.test(sd.url)
        || sd.kind !== 'resource' || typeof sd.type !== 'string' || !isFhirResourceType(sd.type)) {
        throw new Error(`FhirGateway: ${label}: ${name} holds something other than a StructureDefinition of an R4 resource type with an absolute url.`);
      }
      types.set(sd.url, sd.type);
    }
    files[name] = text;
  }
  return { files, types, label };
}

/** Each required profile must be one the proxy carries, for the type it is required of. */
function checkRequiredProfiles(required: FhirProxyOptions['requiredProfiles'], profiles: Profiles): void {
  if (required === undefined || required === null || typeof required !== 'object') return;
  for (const [type, urls] of Object.entries(required)) {
    if (!Array.isArray(urls)) continue; // the environment writer names the prop
    for (const url of urls) {
      const constrained = profiles.types.get(url);
      if (constrained === undefined) {
        const known = [...profiles.types.keys()].slice(0, 10).join(', ') || 'none';
        throw new Error(`FhirGateway: requiredProfiles.${type}: ${String(url).slice(0, 200)} is not the url of a profile in ${profiles.label} (there: ${known}).`);
      }
      if (constrained !== type) throw new Error(`FhirGateway: requiredProfiles.${type}: ${url} constrains ${constrained}, not ${type}.`);
    }
  }
}

/** The path of the L2 construct of a resource (`…/Proxy`, not `…/Proxy/Resource`). */
function l2Path(resource: CfnResource): string {
  let c: IConstruct = resource;
  while (c.node.id === 'Resource' && c.node.scope) c = c.node.scope;
  return c.node.path;
}

/**
 * A resolved JSON variable (a string, or an `Fn::Join` of strings and references) read back with
 * each reference replaced by its logical id; `{}` when it cannot be read.
 */
function jsonWithReferences(value: unknown): Record<string, unknown> {
  let text: string | undefined;
  if (typeof value === 'string') text = value;
  else {
    const join = (value as { 'Fn::Join'?: [string, unknown[]] } | undefined)?.['Fn::Join'];
    if (Array.isArray(join) && Array.isArray(join[1])) {
      text = join[1].map((part) => (typeof part === 'string' ? part : ([...referencedLogicalIds(part)][0] ?? ''))).join(join[0]);
    }
  }
  try {
    if (text === undefined) return {};
    // The FHIR proxy writes a compact client list (`<client id>=<app id>[,c] …`); the Cognito guard JSON.
    if (!text.trimStart().startsWith('{')) return appClientIdsOf(text);
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
