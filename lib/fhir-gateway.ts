import * as fs from 'fs';
import * as path from 'path';
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { IssueType, operationOutcome } from '../lambdas/shared/operation-outcome';
import { DEFAULT_APP_REGISTRY_FILE } from '../policies/app-registry';
import { DEFAULT_LABEL_POLICY_FILE } from '../policies/label-policy';
import { markPublicRoute } from '../policies/public-routes';
import { AuditTrail } from './audit-trail';
import { DeploymentEnvironment } from './config';
import { FhirDatastore } from './fhir-datastore';
import { FhirKeys } from './fhir-keys';
import { FHIR_DEFINITIONS_ASSET_FILE } from './private/handler-assets';
import { KitFunction } from './private/kit-function';
import { KitRole } from './private/kit-role';
import { createAuditLogGroup } from './private/log-group';
import { SegmentedNetwork } from './segmented-network';
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

/** Properties of {@link FhirGateway}. */
export interface FhirGatewayProps {
  readonly keys: FhirKeys;
  readonly network: SegmentedNetwork;
  readonly datastore: FhirDatastore;
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
  /** Types outside the patient compartment that `patient/` grants may read. @default 'Medication Practitioner Organization Location' */
  readonly readableNonCompartmentTypes?: readonly string[];
}

/** The stage name, part of every execute-api URL. */
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
  token: { method: 'POST', path: '/auth/token', reason: 'OAuth token endpoint: authenticates the client itself (PKCE or client secret)' },
  introspect: { method: 'POST', path: '/auth/introspect', reason: 'RFC 7662 introspection: authenticates the calling client itself' },
  revoke: { method: 'POST', path: '/auth/revoke', reason: 'RFC 7009 revocation: needs the token being revoked' },
} as const;

/**
 * The FHIR API: a regional REST API whose FHIR routes (`/r4`, `/r4/{proxy+}`) go to the FHIR
 * proxy (in the isolated subnets, the only caller of HealthLake) behind the SMART authorizer,
 * and whose five public routes (`GET /r4/metadata`, `GET /r4/.well-known/smart-configuration`,
 * `POST /auth/token|introspect|revoke`) are marked public and served by the proxy or the
 * SMART façade.
 *
 * Enforced: every other method has the authorizer (a node validation fails the synth, naming the
 * method, for methods added later too); JSON access logs (request and extended request id, source
 * IP, principal and client id, time, method, path, status, protocol, length, TLS version, cipher,
 * authorizer error, integration latency) to a CMK log group kept six years; execution logging at
 * ERROR without data trace; X-Ray; metrics; stage throttling; usage plans per registered app (API
 * key source AUTHORIZER); gateway responses for every error class with HSTS, `nosniff`,
 * `no-store` and a generic OperationOutcome; CORS only for listed origins; a custom domain with
 * TLS 1.2+ (required in production) disables the execute-api endpoint.
 */
export class FhirGateway extends Construct {
  public readonly api: apigateway.RestApi;
  public readonly stage: apigateway.Stage;
  public readonly accessLogGroup: logs.LogGroup;
  /** Execution logs (ERROR level), pre-created so they are CMK-encrypted and kept six years. */
  public readonly executionLogGroup: logs.LogGroup;
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
  /** The public FHIR base URL (`https://<domain>/r4` or the stage URL + `r4`). */
  public readonly fhirBaseUrl: string;
  /** The public base URL of the OAuth routes. */
  public readonly authBaseUrl: string;
  /** Methods that may answer without the authorizer, by construct path. */
  private readonly publicMethods = new Set<apigateway.Method>();

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
    const throttle = props.throttle ?? { rateLimit: 100, burstLimit: 200 };
    const cacheTtl = props.authorizerCacheTtl ?? Duration.seconds(60);
    if (!Token.isUnresolved(cacheTtl.toSeconds()) && cacheTtl.toSeconds() > 300) {
      throw new Error(`FhirGateway: authorizerCacheTtl is ${cacheTtl.toSeconds()} s; at most 300 s (it is also the revocation delay).`);
    }

    this.accessLogGroup = createAuditLogGroup(this, 'AccessLogs', { encryptionKey: keys.logs, retention, owner: 'FhirGateway' });

    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `${Stack.of(this).stackName}-fhir`,
      description: 'Zero-trust FHIR R4 API (SMART on FHIR)',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      disableExecuteApiEndpoint: props.customDomain !== undefined,
      apiKeySourceType: apigateway.ApiKeySourceType.AUTHORIZER,
      // The account-level logging role is set below with a customer-managed policy.
      cloudWatchRole: false,
      deployOptions: {
        stageName: FHIR_STAGE_NAME,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigateway.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        tracingEnabled: true,
        metricsEnabled: true,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
      },
      defaultCorsPreflightOptions:
        origins.length > 0
          ? { allowOrigins: origins, allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], allowHeaders: ['Authorization', 'Content-Type', 'Prefer', 'If-Match', 'If-None-Exist'], maxAge: Duration.minutes(10) }
          : undefined,
    });
    this.stage = this.api.deploymentStage;
    Validations.of(this.stage).acknowledge({
      id: 'HIPAA.Security-APIGWCacheEnabledAndEncrypted',
      reason:
        "Response caching is off on purpose: API Gateway's cache is keyed by path and query, not by caller, so a cached FHIR response could be served to another patient. Nothing is cached, so there is no cache to encrypt; FHIR data stays encrypted in HealthLake with the data CMK.",
    });
    Validations.of(this.stage).acknowledge({
      id: 'HIPAA.Security-APIGWSSLEnabled',
      reason:
        'This rule asks for a client certificate API Gateway presents to HTTP backends. Every integration here is a Lambda proxy integration, invoked through the Lambda API over TLS with SigV4; there is no HTTP backend to present a certificate to. Client-facing TLS is enforced by the domain security policy (FHIR.HIPAA-APIGWDomainTLSPolicy).',
    });

    // Execution logs (ERROR level, no data trace): API Gateway writes them to
    // `API-Gateway-Execution-Logs_<api id>/<stage>`; the kit creates that group itself so it is
    // CMK-encrypted and kept six years like every other log group. API Gateway writes through
    // the account-level CloudWatch role, set here with a customer-managed policy.
    this.executionLogGroup = createAuditLogGroup(this, 'ExecutionLogs', {
      encryptionKey: keys.logs,
      retention,
      owner: 'FhirGateway',
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${FHIR_STAGE_NAME}`,
    });
    this.stage.node.addDependency(this.executionLogGroup);
    this.cloudWatchRole = new KitRole(this, 'CloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway logging to the kit log groups',
    });
    this.cloudWatchRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogGroups', 'logs:DescribeLogStreams'],
        resources: [this.executionLogGroup.logGroupArn, this.accessLogGroup.logGroupArn],
      }),
    );
    this.account = new apigateway.CfnAccount(this, 'Account', { cloudWatchRoleArn: this.cloudWatchRole.roleArn });
    this.account.node.addDependency(this.cloudWatchRole.policy);
    this.stage.node.addDependency(this.account);

    if (props.customDomain) {
      const tls13 = (props.customDomain.securityPolicy ?? apigateway.SecurityPolicy.TLS_1_2).startsWith('SecurityPolicy_TLS13');
      this.domainName = this.api.addDomainName('Domain', {
        domainName: props.customDomain.domainName,
        certificate: props.customDomain.certificate,
        endpointType: apigateway.EndpointType.REGIONAL,
        securityPolicy: props.customDomain.securityPolicy ?? apigateway.SecurityPolicy.TLS_1_2,
        endpointAccessMode: tls13 ? (props.customDomain.endpointAccessMode ?? apigateway.EndpointAccessMode.STRICT) : undefined,
        mtls: props.customDomain.mutualTls,
      });
    }
    // Built from the API id and the stage name, not from the Stage resource: the functions that
    // read it are integrations of the API, so a reference to the stage would be circular.
    const base = props.customDomain
      ? `https://${props.customDomain.domainName}/`
      : `https://${this.api.restApiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}/${FHIR_STAGE_NAME}/`;
    this.fhirBaseUrl = `${base}r4`;
    this.authBaseUrl = `${base}auth`;
    identity.setPublicBaseUrls(this.fhirBaseUrl, this.authBaseUrl);

    // --- The SMART authorizer: verifies Cognito access tokens; outside the VPC because it reads
    // the pool's JWKS from Cognito's public endpoint.
    this.authorizerFunction = new KitFunction(this, 'Authorizer', {
      handlerDir: 'smart-authorizer',
      description: 'SMART authorizer: verifies Cognito access tokens, fails closed',
      logsKey: keys.logs,
      logRetention: retention,
      invocation: 'synchronous',
      timeout: Duration.seconds(5),
      environment: {
        USER_POOL_ID: identity.userPool.userPoolId,
        CLIENTS: Stack.of(this).toJsonString(Object.fromEntries(registry.registrations.map((r) => [r.clientId, { tier: r.tier, usageIdentifierKey: r.usageIdentifierKey }]))),
        REVOCATION_TABLE: identity.revocationTable.tableName,
        POWERTOOLS_SERVICE_NAME: 'smart-authorizer',
      },
    });
    identity.grantRevocationTable(this.authorizerFunction, false);
    Validations.of(this.authorizerFunction.fn).acknowledge({
      id: 'HIPAA.Security-LambdaInsideVPC',
      reason:
        "The SMART authorizer fetches the user pool's signing keys from Cognito's public JWKS endpoint, which PrivateLink does not serve; it handles tokens only, never PHI, and its role grants nothing but reads of the revocation table.",
    });
    this.authorizer = new apigateway.RequestAuthorizer(this, 'SmartAuthorizer', {
      handler: this.authorizerFunction.fn,
      identitySources: [apigateway.IdentitySource.header('Authorization')],
      resultsCacheTtl: cacheTtl,
    });

    // --- The FHIR proxy, in the isolated subnets: the only caller of HealthLake. It writes its
    // BALP AuditEvents (one JSON line each) to the AuditEvent log group, which is its log group.
    const proxyData = proxyDataFiles();
    this.proxyFunction = new KitFunction(this, 'Proxy', {
      handlerDir: 'fhir-proxy',
      description: 'FHIR proxy: SMART scopes, patient compartment, audit; SigV4 to HealthLake',
      logsKey: keys.logs,
      logGroup: audit.auditEventLogGroup,
      invocation: 'synchronous',
      timeout: Duration.seconds(29),
      memorySize: 1024,
      environment: {
        FHIR_BASE_URL: datastore.fhirBaseUrl,
        PUBLIC_BASE_URL: this.fhirBaseUrl,
        CONFIDENTIAL_CLIENT_IDS: Stack.of(this).toJsonString(registry.registrations.filter((r) => r.confidential).map((r) => r.clientId)),
        READABLE_NON_COMPARTMENT_TYPES: (props.readableNonCompartmentTypes ?? ['Medication', 'Practitioner', 'Organization', 'Location']).join(' '),
        // The compact FHIR R4 base definitions (about 4 MB instead of 37 MB) are built into the
        // handler's asset with the package; the deployer's profiles, the label policy and the app
        // registry are added to it at synth time (`assetFiles`, below).
        FHIR_DEFINITIONS_FILE: `/var/task/${FHIR_DEFINITIONS_ASSET_FILE}`,
        ...(Object.keys(proxyData).some((f) => f.startsWith('profiles/')) ? { PROFILES_DIR: '/var/task/profiles' } : {}),
        PREWARM_VALIDATOR: 'true',
        // Consent and security labels: the label policy and the app registry, in the asset,
        // and which app each Cognito client is (Consent provisions name apps as actors).
        LABEL_POLICY_FILE: '/var/task/labels.json',
        APP_REGISTRY_FILE: '/var/task/apps.json',
        APP_CLIENT_IDS: Stack.of(this).toJsonString(Object.fromEntries(registry.registrations.map((r) => [r.clientId, r.appId]))),
        POWERTOOLS_SERVICE_NAME: 'fhir-proxy',
      },
      assetFiles: proxyData,
      vpc: network.vpc,
      vpcSubnets: network.isolatedSubnets,
      securityGroups: [network.proxySecurityGroup],
    });
    datastore.grantFhirAccess(this.proxyFunction);

    const proxyIntegration = new apigateway.LambdaIntegration(this.proxyFunction.fn, { proxy: true });
    const facadeIntegration = new apigateway.LambdaIntegration(identity.facade.fn, { proxy: true });
    // Requests to the FHIR routes without an Authorization header stop at the gateway. Bodies are
    // validated by the proxy against the FHIR R4 definitions and the deployer's profiles, which
    // an API Gateway JSON-schema model cannot express.
    this.requestValidator = this.api.addRequestValidator('RequestValidator', { validateRequestParameters: true, validateRequestBody: false });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'Request parameters are validated at the gateway (the Authorization header is required on every FHIR route). Request bodies are validated by the FHIR proxy against the FHIR R4 base definitions and the profiles in policies/profiles/ with a maintained validator, which API Gateway models (JSON Schema draft 4) cannot express; a model-less body validator would check nothing.',
    });
    const authorized: apigateway.MethodOptions = {
      authorizer: this.authorizer,
      authorizationType: apigateway.AuthorizationType.CUSTOM,
      requestParameters: { 'method.request.header.Authorization': true },
      requestValidator: this.requestValidator,
    };

    const r4 = this.api.root.addResource('r4');
    for (const method of [r4.addMethod('ANY', proxyIntegration, authorized), r4.addResource('{proxy+}').addMethod('ANY', proxyIntegration, authorized)]) {
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason:
          "The FHIR routes use the kit's SMART Lambda authorizer, which verifies the Cognito access token (aws-jwt-verify: signature, issuer, token_use, expiry) and adds what a Cognito authorizer cannot: the registered client allow-list, token revocation (jti and origin_jti) and the SMART launch context for the proxy.",
      });
    }
    this.addPublicMethod(r4.addResource('metadata'), PUBLIC_ROUTES.metadata, proxyIntegration);
    this.addPublicMethod(r4.addResource('.well-known').addResource('smart-configuration'), PUBLIC_ROUTES.discovery, facadeIntegration);
    const auth = this.api.root.addResource('auth');
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

    registry.addUsagePlans(this.stage);

    // Every method, including those a team adds later, needs the authorizer unless it is
    // OPTIONS or one of the public routes.
    this.node.addValidation({ validate: () => this.unauthorizedMethods() });
  }

  private addPublicMethod(resource: apigateway.Resource, route: { method: string; path: string; reason: string }, integration: apigateway.Integration): apigateway.Method {
    const method = resource.addMethod(route.method, integration, { authorizationType: apigateway.AuthorizationType.NONE });
    markPublicRoute(method, route);
    for (const id of ['AwsSolutions-APIG4', 'AwsSolutions-COG4']) {
      Validations.of(method).acknowledge({ id, reason: `Public by design: ${route.reason}. Marked with markPublicRoute and checked by FHIR.HIPAA-APIGWMethodAuthorization.` });
    }
    this.publicMethods.add(method);
    return method;
  }

  private unauthorizedMethods(): string[] {
    return this.api.methods
      .filter((m) => m.httpMethod !== 'OPTIONS' && !this.publicMethods.has(m))
      .filter((m) => {
        const cfn = m.node.defaultChild as apigateway.CfnMethod;
        return !(cfn.authorizationType === apigateway.AuthorizationType.CUSTOM || cfn.authorizationType === apigateway.AuthorizationType.COGNITO) || !cfn.authorizerId;
      })
      .map((m) => `FhirGateway: method ${m.httpMethod} ${m.resource.path} has no SMART authorizer. Give it { authorizer: gateway.authorizer } (only OPTIONS and the five public SMART routes may be anonymous).`);
  }
}

/**
 * The data the FHIR proxy reads at run time besides its code, from the kit's policies folder
 * (`policies/` in a checkout, `dist/policies/` in the installed package): the label policy
 * (`labels.json`), the app registry (`apps.json`) and the profiles writes are validated against
 * (`profiles/*.json`). Added to the proxy's asset at synth time.
 */
function proxyDataFiles(): Record<string, string> {
  const files: Record<string, string> = {
    'labels.json': fs.readFileSync(DEFAULT_LABEL_POLICY_FILE, 'utf8'),
    'apps.json': fs.readFileSync(DEFAULT_APP_REGISTRY_FILE, 'utf8'),
  };
  const profilesDir = path.join(path.dirname(DEFAULT_APP_REGISTRY_FILE), 'profiles');
  const profiles = fs.existsSync(profilesDir) ? fs.readdirSync(profilesDir).filter((f) => f.endsWith('.json')).sort() : [];
  for (const name of profiles) files[`profiles/${name}`] = fs.readFileSync(path.join(profilesDir, name), 'utf8');
  return files;
}
