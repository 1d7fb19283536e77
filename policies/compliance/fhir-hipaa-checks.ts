import { CfnResource, IPolicyValidationContext, PolicyValidationPluginReport, PolicyViolation } from 'aws-cdk-lib';
import { NagMessageLevel, NagPack, NagPackProps, NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { HipaaCitationId, withCitations } from './citations';
import { CoverageContext, withCoverage } from './coverage';
import { deploymentEnvironmentSource, reachesProduction } from './environment';
import { evaluatedRules, lastRun, PackRun } from './observe';
import { acknowledgementsRecordedOn, baseRuleId, normalizeRuleId } from './rule-ids';
import { apigw, cloudtrail, cognito, gate, healthlake, iam, kms, lambda, logs, sns, waf } from './rules';
import { withCfnCache, withSynthesizedTemplates } from './rules/common/cfn';

/** The pack's name and rule id prefix. */
export const FHIR_HIPAA_PACK_NAME = 'FHIR.HIPAA';

/** One rule of the pack: the check and what a finding says. */
export interface FhirHipaaRule {
  /** The check; its function name is the rule id suffix. */
  readonly rule: (node: CfnResource) => NagRuleResult;
  readonly level: NagMessageLevel;
  /** What is wrong and which construct or prop fixes it (the finding's message, before the citations). */
  readonly cause: string;
  /** Why it matters. */
  readonly explanation: string;
  readonly citations: readonly HipaaCitationId[];
  /** In a `production` stack an acknowledgement of this rule fails the synth. */
  readonly nonWaivableInProduction?: boolean;
  /**
   * Per-resource detail of a finding (`finding` is the granular id, `undefined` for the plain
   * rule id), put in front of the message: each violating resource then gets its own violation
   * naming, e.g., the registered app and its dates. Returning `undefined` keeps the shared message.
   * @default - one message per finding, shared by every resource it reports
   */
  readonly detail?: (node: CfnResource, finding: string | undefined) => string | undefined;
}

const E = NagMessageLevel.ERROR;

/** Every rule of the pack, in the order they run. RULES.md documents exactly these. */
export const FHIR_HIPAA_RULES: readonly FhirHipaaRule[] = [
  // HealthLake
  {
    rule: healthlake.HealthLakeCMKEncryption,
    level: E,
    nonWaivableInProduction: true,
    cause: 'The HealthLake datastore is not encrypted with a customer-managed KMS key: set `SseConfiguration.KmsEncryptionConfig` to `CmkType: CUSTOMER_MANAGED_KMS_KEY` with a `KmsKeyId` (FhirDatastore does, with `FhirKeys.data`).',
    explanation: 'With an AWS-owned key the organisation cannot restrict, audit or revoke who decrypts PHI at rest; a customer-managed key puts every decryption under its key policy and in CloudTrail.',
    citations: ['164.312(a)(1)', '164.312(a)(2)(iv)', '164.312(e)(2)(ii)'],
  },
  {
    rule: healthlake.HealthLakeDataAccessScoped,
    level: E,
    cause: 'An IAM statement grants HealthLake data actions too broadly: name the actions (no `*`, `healthlake:*` or `NotAction`), the datastore ARN (no `Resource: *`) and an `aws:SourceVpce` condition; grant through `FhirDatastore.grantFhirAccess(grantee)`, which does all three.',
    explanation: 'HealthLake calls signed with SigV4 bypass SMART checks, so only the FHIR proxy may make them, only on this datastore and only through the VPC endpoint; any broader grant is a path to PHI around the proxy.',
    citations: ['164.308(a)(3)(i)', '164.308(a)(4)(i)', '164.308(a)(4)(ii)(B)', '164.308(a)(4)(ii)(C)', '164.312(a)(1)', '164.312(e)(1)'],
  },
  {
    rule: healthlake.HealthLakeSandboxSyntheticData,
    level: E,
    cause: 'The sandbox HealthLake datastore is not preloaded with synthetic data: a sandbox holds synthetic patients only. Let FhirDatastore preload HealthLake\'s Synthea data (its default in a stack marked sandbox; `PreloadDataConfig.PreloadDataType: SYNTHEA`).',
    explanation: 'A sandbox is where app teams and unreviewed apps experiment; a sandbox datastore without the synthetic preload is one real PHI could be loaded into, outside production\'s controls.',
    citations: ['164.308(a)(3)(i)', '164.308(a)(4)(ii)(B)', '164.312(a)(1)'],
  },
  // IAM
  {
    rule: iam.IAMNoPHIDataWildcard,
    level: E,
    nonWaivableInProduction: true,
    cause: 'An IAM statement grants the data actions of a service that holds PHI or its keys (HealthLake, S3, KMS, DynamoDB) on everything: a `*` or service-wide action (`healthlake:*`, `s3:*`, `kms:*`, `dynamodb:*`), data actions on `Resource: *` or on every bucket, key, table or datastore, a `NotAction` or `NotResource` Allow, or an AWS managed policy such as `AdministratorAccess` or `AmazonS3FullAccess`: name the actions and the resources (`bucket.grantRead(fn)`, `key.grantDecrypt(fn)`, `table.grantReadWriteData(fn)`, `FhirDatastore.grantFhirAccess(fn)` grant exactly that).',
    explanation: 'A wildcard over a PHI store gives every principal holding the policy all of its data, and every key that decrypts it, now and for each store added later; least privilege needs the actions and the resources named. In production this cannot be acknowledged.',
    citations: ['164.308(a)(3)(i)', '164.308(a)(4)(i)', '164.308(a)(4)(ii)(B)', '164.312(a)(1)'],
  },
  // API Gateway
  {
    rule: apigw.APIGWMethodAuthorization,
    level: E,
    nonWaivableInProduction: true,
    cause: 'The API Gateway method has no CUSTOM or COGNITO_USER_POOLS authorizer and is not an allowed public route: attach the SMART authorizer (FhirGateway does for every non-public route), or for a public SMART route call `markPublicRoute(method, { method, path, reason })`.',
    explanation: 'Every FHIR request must carry a verified SMART access token; only discovery and the OAuth endpoints that authenticate clients themselves may be reached without one.',
    citations: ['164.308(a)(4)(ii)(B)', '164.312(a)(1)', '164.312(d)'],
  },
  {
    rule: apigw.APIGWPublicRoute,
    level: E,
    cause: 'A method answers without the SMART authorizer on a route a team declared public (`FhirGateway.addPublicRoute(path, method, integration, { reason })`): acknowledge it on the method with why the route exposes nothing (`acknowledge(method, \'FHIR.HIPAA-APIGWPublicRoute\', reason)`), or put it behind the authorizer with `FhirGateway.addRoute`.',
    explanation: 'A public route is reachable by anyone on the internet without a token: a reviewer must see each one, with the reason it exposes no PHI and no operation on it. Routes under `/r4` and `/auth` cannot be declared this way (FHIR.HIPAA-APIGWMethodAuthorization, non-waivable in production).',
    citations: ['164.308(a)(4)(ii)(B)', '164.312(a)(1)', '164.312(d)'],
    detail: apigw.describeAPIGWPublicRoute,
  },
  {
    rule: apigw.APIGWStageWAFAssociation,
    level: E,
    cause: 'The API Gateway stage is not associated with a WAFv2 web ACL: associate one (FhirFirewall creates the web ACL and its `AWS::WAFv2::WebACLAssociation` to the stage ARN).',
    explanation: 'The web ACL blocks known bad inputs, SQL injection, bad-reputation sources and floods before they reach the authorizer and the proxy.',
    citations: ['164.308(a)(1)(ii)(B)', '164.308(a)(5)(ii)(B)', '164.312(e)(1)'],
  },
  {
    rule: apigw.APIGWStageThrottling,
    level: E,
    cause: 'The API Gateway stage does not throttle all methods: set `deployOptions.throttlingRateLimit` and `throttlingBurstLimit` (a `*` `/*` MethodSettings entry; FhirGateway enforces this).',
    explanation: 'Stage-wide throttling bounds the load a single client or attacker can put on the authorizer, the proxy and HealthLake, keeping PHI available to everyone else.',
    citations: ['164.308(a)(1)(ii)(B)', '164.308(a)(7)(i)'],
  },
  {
    rule: apigw.APIGWAccessLogging,
    level: E,
    cause: 'The API Gateway stage access log is missing, unencrypted or incomplete: set `deployOptions.accessLogDestination` to a KMS-encrypted log group and `accessLogFormat` to JSON with `$context.requestId`, `$context.identity.sourceIp`, `$context.authorizer.principalId`, `$context.status` and `$context.tlsVersion` (FhirGateway enforces this).',
    explanation: 'Access logs are the record of who called which route from where, with what outcome and over which TLS version; they must be complete to review activity and encrypted because they are sensitive.',
    citations: ['164.308(a)(1)(ii)(D)', '164.308(a)(5)(ii)(C)', '164.312(a)(2)(iv)', '164.312(b)'],
  },
  {
    rule: apigw.APIGWNoDataTrace,
    level: E,
    cause: 'API Gateway data tracing is enabled, which logs full request and response bodies (PHI): set `deployOptions.dataTraceEnabled: false` (FhirGateway enforces this).',
    explanation: 'Data trace copies FHIR payloads into CloudWatch Logs, outside the datastore\'s access controls and the audit trail\'s minimum-necessary design.',
    citations: ['164.308(a)(4)(i)', '164.312(a)(1)'],
  },
  {
    rule: apigw.APIGWDomainTLSPolicy,
    level: E,
    nonWaivableInProduction: true,
    cause: 'The API Gateway custom domain does not enforce TLS 1.2 or later: set `securityPolicy: SecurityPolicy.TLS_1_2` or a `SecurityPolicy_TLS13_*` policy (FhirGateway enforces this).',
    explanation: 'TLS 1.0 and 1.1 have known weaknesses; PHI in transit needs TLS 1.2 or later.',
    citations: ['164.312(e)(1)', '164.312(e)(2)(i)', '164.312(e)(2)(ii)'],
  },
  {
    rule: apigw.APIGWExecuteApiEndpointDisabled,
    level: E,
    cause: 'The REST API is served through a custom domain but its default execute-api endpoint is still enabled: set `disableExecuteApiEndpoint: true` (FhirGateway does in production).',
    explanation: 'The default endpoint is reachable without the custom domain\'s TLS policy and certificate, so clients (or attackers) could use a path the domain\'s controls do not cover.',
    citations: ['164.312(a)(1)', '164.312(e)(1)'],
  },
  {
    rule: apigw.APIGWNoCORSWildcard,
    level: E,
    nonWaivableInProduction: true,
    cause: 'An API Gateway response allows any origin (`Access-Control-Allow-Origin: \'*\'`): list the registered SMART app origins instead (`allowOrigins` in `defaultCorsPreflightOptions`, never `Cors.ALL_ORIGINS`; FhirGateway builds its allow-list from the app registry).',
    explanation: 'A wildcard origin lets any web page read FHIR responses with a token it obtained or was handed; CORS must name the registered apps.',
    citations: ['164.312(a)(1)', '164.312(e)(1)'],
  },
  {
    rule: apigw.APIGWAuthorizerCaching,
    level: E,
    cause: 'The API Gateway authorizer caches decisions for more than 300 seconds or not per bearer token: set `resultsCacheTtl` to at most 5 minutes and `identitySources` to `method.request.header.Authorization` (FhirGateway enforces this).',
    explanation: 'A long cache keeps honouring revoked or expired tokens; a cache not keyed on the token could hand one caller\'s decision to another.',
    citations: ['164.308(a)(4)(ii)(C)', '164.312(a)(1)', '164.312(d)'],
  },
  {
    rule: apigw.APIGWGatewayResponseHSTS,
    level: E,
    cause: 'API Gateway\'s own error responses do not send HSTS: add `DEFAULT_4XX` and `DEFAULT_5XX` gateway responses (and give every gateway response) a `Strict-Transport-Security` header with `max-age` of at least a year (`api.addGatewayResponse`; FhirGateway does).',
    explanation: 'Authorizer denials, throttling and WAF blocks are answered by API Gateway, not the proxy; without HSTS on them a browser client can be downgraded on its next request.',
    citations: ['164.312(e)(1)', '164.312(e)(2)(ii)'],
  },
  // WAF
  {
    rule: waf.WAFv2ManagedRuleGroups,
    level: E,
    cause: 'The web ACL in front of the API does not block with the required AWS managed rule groups (Common, KnownBadInputs, SQLi, AmazonIpReputationList) and a rate-based rule, or overrides one of their rules to Count: use FhirFirewall, which configures all of them blocking.',
    explanation: 'These rule groups stop common exploits, injection and known-bad sources before they reach the SMART authorizer; a Count override silently turns protection into logging.',
    citations: ['164.308(a)(1)(ii)(B)', '164.308(a)(5)(ii)(B)', '164.308(a)(6)(ii)', '164.312(e)(1)'],
  },
  {
    rule: waf.WAFv2LogRedaction,
    level: E,
    cause: 'The WAF logging configuration does not redact the `authorization` and `cookie` headers: add both as `SingleHeader` entries to `RedactedFields` (FhirFirewall does).',
    explanation: 'WAF logs every request\'s headers; unredacted, they hold bearer tokens and session cookies anyone with log access could replay.',
    citations: ['164.308(a)(5)(ii)(D)', '164.312(a)(1)', '164.312(b)'],
  },
  // Cognito
  {
    rule: cognito.CognitoMFARequired,
    level: E,
    cause: 'The Cognito user pool does not require MFA: set `mfa: cognito.Mfa.REQUIRED` (SmartIdentity enforces this).',
    explanation: 'A password alone is not sufficient proof of identity for access to PHI.',
    citations: ['164.308(a)(5)(ii)(D)', '164.312(d)'],
  },
  {
    rule: cognito.CognitoThreatProtection,
    level: E,
    cause: 'The Cognito user pool is not on the Plus plan with threat protection enforced: set `featurePlan: FeaturePlan.PLUS` and `standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION` (`UserPoolAddOns.AdvancedSecurityMode: ENFORCED`; SmartIdentity enforces this).',
    explanation: 'Threat protection detects compromised credentials and risky sign-ins and blocks or challenges them, and logs sign-in risk for review.',
    citations: ['164.308(a)(5)(ii)(C)', '164.308(a)(6)(ii)', '164.312(d)'],
  },
  {
    rule: cognito.CognitoDeletionProtection,
    level: E,
    cause: 'The Cognito user pool has no deletion protection: set `deletionProtection: true` (SmartIdentity enforces this).',
    explanation: 'Deleting the pool deletes every user identity and breaks the link between audit records and people.',
    citations: ['164.308(a)(7)(i)', '164.312(a)(2)(i)'],
  },
  {
    rule: cognito.CognitoNoSelfSignUp,
    level: E,
    cause: 'The production Cognito user pool lets users sign themselves up: set `selfSignUpEnabled: false` (`AllowAdminCreateUserOnly: true`; SmartIdentity enforces this).',
    explanation: 'In production every account must be provisioned by the organisation, so that each identity is authorised before it can request PHI.',
    citations: ['164.308(a)(4)(ii)(B)', '164.308(a)(4)(ii)(C)', '164.312(a)(2)(i)'],
  },
  {
    rule: cognito.CognitoClientNoImplicitFlow,
    level: E,
    nonWaivableInProduction: true,
    cause: 'The Cognito app client allows the OAuth implicit grant: allow only `authorizationCodeGrant` with PKCE (SmartAppRegistry enforces this).',
    explanation: 'The implicit grant returns tokens in the URL fragment without PKCE or client authentication, where browsers, logs and referrers leak them; SMART App Launch 2 forbids it.',
    citations: ['164.312(d)', '164.312(e)(1)'],
  },
  {
    rule: cognito.CognitoClientOAuthFlows,
    level: E,
    cause: 'The Cognito app client allows an OAuth flow other than `code`, or `client_credentials` without a client secret or with non-`system/` scopes: use `authorizationCodeGrant`, and `clientCredentials` only with `generateSecret: true` and `system/` scopes (SmartAppRegistry enforces this).',
    explanation: 'Backend clients act with no user present, so they must authenticate with a secret and hold only system scopes; everything else must go through a user\'s authorization.',
    citations: ['164.308(a)(4)(ii)(B)', '164.312(d)'],
  },
  {
    rule: cognito.CognitoClientUserExistenceErrors,
    level: E,
    cause: 'The Cognito app client reveals whether a user exists: set `preventUserExistenceErrors: true` (SmartAppRegistry enforces this).',
    explanation: 'Distinct errors for unknown users let an attacker enumerate patients and staff before guessing passwords.',
    citations: ['164.308(a)(5)(ii)(C)', '164.312(d)'],
  },
  {
    rule: cognito.CognitoClientTokenRevocation,
    level: E,
    cause: 'The Cognito app client cannot revoke its refresh tokens: set `enableTokenRevocation: true` (SmartAppRegistry enforces this).',
    explanation: 'Withdrawing an app\'s or a user\'s access must end it: without revocation a refresh token keeps minting access tokens.',
    citations: ['164.308(a)(4)(ii)(C)', '164.312(a)(1)'],
  },
  {
    rule: cognito.CognitoClientTokenValidity,
    level: E,
    cause: 'The Cognito app client issues access or ID tokens valid for more than 60 minutes: set `accessTokenValidity` and `idTokenValidity` to at most `Duration.minutes(60)` (SmartAppRegistry sets them by risk tier).',
    explanation: 'A bearer token is usable by whoever holds it until it expires; short lifetimes bound the damage of a leaked token and act as an automatic logoff.',
    citations: ['164.312(a)(2)(iii)', '164.312(d)'],
  },
  {
    rule: cognito.CognitoClientLaunchAttributesReadOnly,
    level: E,
    nonWaivableInProduction: true,
    cause: 'The Cognito app client can write the SMART launch-context attributes (`custom:fhirUser`, `custom:patient`), or has no `WriteAttributes` list (all writable): set `writeAttributes` to a list without them (SmartAppRegistry does).',
    explanation: 'The launch context decides whose record a token reaches; a client that can write it can point itself at any patient.',
    citations: ['164.308(a)(4)(ii)(B)', '164.312(a)(1)', '164.312(c)(1)'],
  },
  {
    rule: cognito.CognitoClientNoWildcardScopes,
    level: E,
    cause: 'The Cognito app client holds a wildcard-everything SMART scope (every resource type, every permission, e.g. `user/*.cruds`, `system/*.*`): register the resource types and permissions the app needs (SmartAppRegistry takes them from `policies/apps.json`).',
    explanation: 'Least privilege: an app should reach only the FHIR resource types and interactions it was reviewed for.',
    citations: ['164.308(a)(4)(i)', '164.308(a)(4)(ii)(B)', '164.312(a)(1)'],
  },
  {
    rule: cognito.CognitoClientWildcardTypeScopes,
    level: NagMessageLevel.WARN,
    cause: 'The Cognito app client holds a SMART scope on every resource type (e.g. `patient/*.read`): prefer naming the resource types the app needs (SmartAppRegistry takes them from `policies/apps.json`).',
    explanation: 'A type wildcard grants types the app was not reviewed for, including sensitive ones added later.',
    citations: ['164.308(a)(4)(i)', '164.308(a)(4)(ii)(B)', '164.312(a)(1)'],
  },
  {
    rule: cognito.CognitoClientAppAssessment,
    level: E,
    cause: 'The Cognito app client belongs to a registered app whose security assessment has expired, or that holds `patient/` or `user/` scopes without a business associate agreement: reassess the app and update `securityAssessment.expires`, or add `baa.reference`, in its `policies/apps.json` entry (SmartAppRegistry marks each client with `markRegisteredApp`); until then the client cannot go live unless a reviewer acknowledges the finding with a reason.',
    explanation: 'A third-party app may receive PHI only as a business associate under a signed agreement, and only while the risk analysis of it is current; an app past its reassessment date, or without a BAA, must not reach patient data unreviewed.',
    citations: ['164.308(a)(1)(ii)(A)', '164.308(a)(1)(ii)(B)', '164.308(a)(8)', '164.308(b)(1)', '164.314(a)(1)'],
    detail: cognito.describeCognitoClientAppAssessment,
  },
  // KMS
  {
    rule: kms.KMSKeyRotation,
    level: E,
    cause: 'The symmetric KMS key does not rotate its key material: set `enableKeyRotation: true` (FhirKeys enforces this).',
    explanation: 'Rotation limits how much data one key version protects and how long a compromised version stays useful.',
    citations: ['164.312(a)(2)(iv)', '164.312(e)(2)(ii)'],
  },
  {
    rule: kms.KMSKeyRetained,
    level: E,
    cause: 'The KMS key is deleted with its stack: set `removalPolicy: RemovalPolicy.RETAIN` (DeletionPolicy and UpdateReplacePolicy Retain; FhirKeys enforces this).',
    explanation: 'Deleting a key makes everything it encrypted (PHI, audit logs) permanently unreadable.',
    citations: ['164.308(a)(7)(i)', '164.308(a)(7)(ii)(A)', '164.312(c)(1)'],
  },
  {
    rule: kms.KMSKeyPolicyNoWildcardPrincipal,
    level: E,
    cause: 'The KMS key policy allows a wildcard principal (`*`) without conditions: name the principals, or add conditions (FhirKeys scopes its key policies to the account and the services that use each key).',
    explanation: 'A key policy open to `*` lets any AWS principal that can reach the key use it to decrypt.',
    citations: ['164.308(a)(3)(i)', '164.308(a)(4)(ii)(B)', '164.312(a)(1)'],
  },
  {
    rule: kms.KMSKeyCreateGrantRestricted,
    level: E,
    cause: 'The KMS key policy lets principals create grants for anything, not only for AWS resources through AWS services: add a statement that denies `kms:CreateGrant` to principal `*` on resource `*` with the condition `BoolIfExists` `kms:GrantIsForAWSResource: false` and `aws:PrincipalIsAWSService: false` (AWS Control Tower CT.KMS.PR.3; FhirKeys adds it to every key).',
    explanation: 'A grant gives its grantee lasting use of the key outside the key policy and IAM; without this statement any principal in the account that holds `kms:CreateGrant` can hand out use of the PHI key, while AWS services (HealthLake, DynamoDB, Lambda) still create the grants they need for their own resources.',
    citations: ['164.308(a)(3)(i)', '164.308(a)(4)(ii)(B)', '164.308(a)(4)(ii)(C)', '164.312(a)(1)', '164.312(a)(2)(iv)'],
  },
  // CloudWatch Logs
  {
    rule: logs.LogGroupCMKEncryption,
    level: E,
    cause: 'The CloudWatch log group is not encrypted with a customer-managed KMS key: set `encryptionKey` (the kit uses `FhirKeys.logs`).',
    explanation: 'Logs hold identifiers, request metadata and audit events; encrypting them with a customer key keeps access under the key policy.',
    citations: ['164.312(a)(2)(iv)', '164.312(e)(2)(ii)'],
  },
  {
    rule: logs.LogGroupRetention,
    level: E,
    cause: 'The CloudWatch log group keeps its events for less than six years: set `retention` to `RetentionDays.SIX_YEARS` (2192 days) or longer (the kit\'s default), or acknowledge with the reason.',
    explanation: 'HIPAA requires documentation of security activities, including audit records, to be kept for six years.',
    citations: ['164.312(b)', '164.316(b)(2)(i)'],
  },
  // Lambda and VPC
  {
    rule: lambda.LambdaHealthLakeIsolated,
    level: E,
    cause: 'A Lambda function that can call HealthLake is not in a VPC, or runs in a subnet that routes to an internet or NAT gateway: run it in SegmentedNetwork\'s PRIVATE_ISOLATED subnets (`vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED }`; FhirGateway does for the proxy).',
    explanation: 'The function holding HealthLake access must reach it only through the VPC endpoint; an internet route is an exfiltration path for PHI and lets the SourceVpce boundary be bypassed.',
    citations: ['164.308(a)(3)(i)', '164.308(a)(4)(ii)(C)', '164.312(a)(1)', '164.312(e)(1)'],
  },
  {
    rule: lambda.LambdaNoSecretsInEnvironment,
    level: E,
    cause: 'A Lambda environment variable holds what looks like a secret in plain text: store it in Secrets Manager (`secretsmanager.Secret`), pass its ARN in a variable ending `_ARN` and read it at run time.',
    explanation: 'Environment variables are visible to anyone who can read the function configuration and end up in deployment artifacts and logs.',
    citations: ['164.308(a)(3)(i)', '164.308(a)(5)(ii)(D)', '164.312(a)(1)'],
  },
  {
    rule: lambda.LambdaLogGroupDeclared,
    level: E,
    cause: 'The Lambda function has no log group in the template: Lambda will create `/aws/lambda/<name>` on the first invocation, never expiring and encrypted with an AWS-owned key. Give it one (`logGroup` with `FhirKeys.logs` and six-year retention, as the kit\'s functions have; `LoggingConfig.LogGroup` in CloudFormation), or acknowledge with what the function logs and why that needs no retention or CMK.',
    explanation: 'What a function logs (request ids, identifiers, errors) is part of the activity record; an implicit group escapes the retention and encryption rules that every declared log group is held to.',
    citations: ['164.312(a)(2)(iv)', '164.312(b)', '164.316(b)(2)(i)'],
  },
  {
    rule: lambda.LambdaApiVersionLifecycle,
    level: E,
    cause: 'An API version this function serves breaks the lifecycle rules (its `API_VERSIONS`, from FhirGateway\'s `apiVersions`): ShortNotice, a sunset less than 6 months after the deprecation notice (move `sunsetAt`, or acknowledge with the reason the notice is short); RetiredVersionServed, a retired version that still has an API Gateway stage (remove the stage and its routes); Malformed, not a valid list of versions.',
    explanation: 'Third-party apps that hold PHI need announced deprecations (6 to 12 months) to migrate without breaking or falling back to unreviewed workarounds; a retired version left routable is an unmaintained path to PHI.',
    citations: ['164.308(a)(1)(ii)(B)', '164.308(a)(8)'],
  },
  // CloudTrail
  {
    rule: cloudtrail.CloudTrailMultiRegion,
    level: E,
    cause: 'The CloudTrail trail does not record all regions: set `isMultiRegionTrail: true` (AuditTrail enforces this).',
    explanation: 'Activity in a region the trail does not cover goes unrecorded, including an attacker\'s.',
    citations: ['164.308(a)(1)(ii)(D)', '164.312(b)'],
  },
  {
    rule: cloudtrail.CloudTrailCloudWatchLogs,
    level: E,
    cause: 'The CloudTrail trail does not deliver to CloudWatch Logs: set `sendToCloudWatchLogs: true` with a log group (AuditTrail does).',
    explanation: 'The kit\'s metric filters and security alarms read the trail in CloudWatch Logs; without delivery incidents are not detected.',
    citations: ['164.308(a)(1)(ii)(D)', '164.308(a)(6)(ii)', '164.312(b)'],
  },
  {
    rule: cloudtrail.CloudTrailDataEvents,
    level: E,
    cause: 'The CloudTrail trail records no data events: add event selectors for data resources (`addEventSelector`, `addS3EventSelector`, or advanced selectors on `resources.type`; AuditTrail does).',
    explanation: 'Management events show configuration changes only; data events show who read or wrote data, which the HIPAA activity review needs.',
    citations: ['164.308(a)(1)(ii)(D)', '164.312(b)'],
  },
  // SNS
  {
    rule: sns.SNSAlarmTopicSubscribed,
    level: E,
    cause: 'In production, the SNS topic the security alarms notify has no subscriber: give AuditTrail (or ZeroTrustFhirStack) an `alarmEmail`, or subscribe your responders to `audit.alarmTopic` (`alarmTopic.addSubscription(new subs.EmailSubscription(...))`, an `AWS::SNS::Subscription` naming the topic).',
    explanation: 'The trail, WAF drift and per-app alarms only reach people through this topic; with nobody subscribed, an unauthorized API call, a disabled key or a detached web ACL raises an alarm that no one receives, so activity review and incident response never start.',
    citations: ['164.308(a)(1)(ii)(D)', '164.308(a)(6)(ii)'],
  },
  // Environments
  {
    rule: gate.NoCrossEnvironmentReference,
    level: E,
    cause: 'A resource of a stack in one environment names another environment: an account id that `zeroTrustFhir.accounts` gives to another environment (in an ARN, a principal or a condition), or an `Fn::ImportValue` of an export of a stack marked for another environment. Keep each environment\'s resources in its own account and stacks; share nothing across environments but code.',
    explanation: 'A sandbox that can reach a production resource, or a production stack that trusts a sandbox account, is the promotion of sandbox settings to production that separate environments exist to prevent: unreviewed apps and synthetic-data practices would touch PHI.',
    citations: ['164.308(a)(3)(i)', '164.308(a)(4)(ii)(B)', '164.312(a)(1)'],
  },
  // Imported resources
  {
    rule: gate.ImportedResourceAttested,
    level: E,
    cause: 'The resource is built on something a platform team brought (`FhirKeys.fromKeys`, `SegmentedNetwork.fromVpc`, `SmartIdentity`\'s `userPool`), whose settings the rules that hold the kit\'s own keys, VPC and user pool to them cannot see (they read only the template): check the requirements the finding lists on the imported keys (`[keys]`), VPC (`[vpc]`) or user pool (`[user-pool]`), then acknowledge with how, when and by whom (`acknowledge(stack, \'FHIR.HIPAA-ImportedResourceAttested[user-pool]\', reason)`), or let the kit create the resource.',
    explanation: 'An imported key without rotation, a VPC with a route out or a user pool without MFA would otherwise pass the gate in silence: the kit cannot vouch for what it did not create, so the team must evaluate it and attest, and the reviewer sees who did.',
    citations: ['164.308(a)(1)(ii)(A)', '164.308(a)(8)'],
    detail: gate.describeImportedResourceAttested,
  },
  // Coverage (last: it reads what every other rule evaluated)
  {
    rule: gate.ResourceEvaluated,
    level: E,
    cause: 'A resource that can carry PHI or run code (function, role, policy, bucket, table, log group, key, datastore) was not evaluated by the gate\'s rules that check every resource of its type, so "zero unacknowledged findings" says nothing about it (this happens to plain CloudFormation resources, `new CfnResource(this, id, { type })`, such as CDK\'s custom-resource providers, which cdk-nag\'s rules do not read): build it with the typed construct, or review it against the rules the finding names and acknowledge with what was reviewed.',
    explanation: 'The gate can only vouch for what its rules evaluated; a resource none of them looked at is an unreviewed gap in the risk analysis unless someone reviewed it and said so.',
    citations: ['164.308(a)(1)(ii)(A)', '164.308(a)(8)'],
    detail: gate.describeResourceEvaluated,
  },
];

/** `FHIR.HIPAA-<RuleName>` of a rule. */
export function fhirHipaaRuleId(rule: FhirHipaaRule): string {
  return `${FHIR_HIPAA_PACK_NAME}-${rule.rule.name}`;
}

/** The full `info` message of a rule: cause followed by `(Control IDs: …)`. */
export function fhirHipaaRuleInfo(rule: FhirHipaaRule): string {
  return withCitations(rule.cause, rule.citations);
}

/** Every rule id of the pack, in order. */
export const FHIR_HIPAA_RULE_IDS: readonly string[] = FHIR_HIPAA_RULES.map(fhirHipaaRuleId);

/** The rules of this pack that evaluated each resource so far, during {@link FhirHipaaChecks.validateScope}. */
let ownEvaluations: Map<CfnResource, Set<string>> | undefined;

/**
 * Each rule with its full message (formatted once, not once per resource checked) and its check
 * wrapped to note, for `ResourceEvaluated`, which resources it evaluated.
 */
const RULES_WITH_INFO: ReadonlyArray<{ readonly rule: FhirHipaaRule; readonly info: string; readonly check: (node: CfnResource) => NagRuleResult }> = FHIR_HIPAA_RULES.map((rule) => {
  const id = fhirHipaaRuleId(rule);
  const check = (node: CfnResource): NagRuleResult => {
    const result = rule.rule(node);
    if (result !== NagRuleCompliance.NOT_APPLICABLE && ownEvaluations) {
      let set = ownEvaluations.get(node);
      if (!set) ownEvaluations.set(node, (set = new Set()));
      set.add(id);
    }
    return result;
  };
  return { rule, info: fhirHipaaRuleInfo(rule), check };
});

/** Rule ids that cannot be acknowledged in a `production` stack. */
export const NON_WAIVABLE_IN_PRODUCTION: readonly string[] = FHIR_HIPAA_RULES
  .filter((r) => r.nonWaivableInProduction).map(fhirHipaaRuleId);

/**
 * The kit's own compliance pack: checks the zero-trust SMART-on-FHIR controls that cdk-nag's
 * `HIPAASecurityChecks` and `AwsSolutionsChecks` do not cover (see `policies/compliance/RULES.md`).
 *
 * Register it through `applyCompliancePacks(app, { environment })` (`policies/index.ts`), which
 * also states where the stacks deploy; registered alone
 * (`Validations.of(app).addPlugins(new FhirHipaaChecks(app))`) it knows only the stacks marked
 * with `setDeploymentEnvironment`. In a `production` stack, acknowledging one of
 * {@link NON_WAIVABLE_IN_PRODUCTION} (with `acknowledge` or `Validations.of(c).acknowledge`,
 * granular, bare or namespaced ids alike) adds a `fatal` violation, which CDK will not let any
 * acknowledgement suppress.
 */
export class FhirHipaaChecks extends NagPack {
  /** Every rule id of the pack, in order. */
  public static readonly RULE_IDS: readonly string[] = FHIR_HIPAA_RULE_IDS;
  /** Rule ids that cannot be acknowledged in production. */
  public static readonly NON_WAIVABLE_IN_PRODUCTION: readonly string[] = NON_WAIVABLE_IN_PRODUCTION;

  public readonly name = FHIR_HIPAA_PACK_NAME;
  public override readonly ruleIds: string[] = [...FHIR_HIPAA_RULE_IDS];
  private peers: readonly NagPack[] | undefined;

  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
    this.packName = FHIR_HIPAA_PACK_NAME;
  }

  /**
   * The gate's other packs, observed (`policies/compliance/observe.ts`): `ResourceEvaluated` then reports a
   * resource that their baseline rules did not evaluate. `createCompliancePacks` calls this and
   * puts this pack last, so its peers have run over the scope when it runs (CDK runs the plugins
   * in the order they were added). Without peers, or when one has not run over the scope, that
   * rule is not applicable: this pack never runs another pack itself.
   */
  public coverWith(peers: readonly NagPack[]): this {
    this.peers = [...peers];
    return this;
  }

  /**
   * At synth, CDK has already written the templates: rules read resources from them
   * (`context.templatePaths`) rather than resolving every resource a second time.
   */
  public override validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    return withSynthesizedTemplates(context.templatePaths ?? [], () => super.validate(context));
  }

  public override validateScope(scope: IConstruct): PolicyValidationPluginReport {
    const previous = ownEvaluations;
    const own = new Map<CfnResource, Set<string>>();
    ownEvaluations = own;
    let report: PolicyValidationPluginReport;
    try {
      report = withCoverage(this.coverageOf(scope, own), () => withCfnCache(() => withDetails(super.validateScope(scope), scope)));
    } finally {
      ownEvaluations = previous;
    }
    const refused = refusedAcknowledgements(scope);
    if (refused.length === 0) return report;
    return { ...report, success: false, violations: [...report.violations, ...refused] };
  }

  protected checkResource(node: CfnResource): void {
    for (const { rule, info, check } of RULES_WITH_INFO) {
      this.applyRule({
        ruleSuffixOverride: rule.rule.name,
        info,
        explanation: rule.explanation,
        level: rule.level,
        rule: check,
        node,
      });
    }
  }

  /** What the peers and this pack's rules (so far) evaluated; `undefined` without peers. */
  private coverageOf(scope: IConstruct, own: Map<CfnResource, Set<string>>): CoverageContext | undefined {
    if (!this.peers || this.peers.length === 0) return undefined;
    const runs = this.peers.map((peer) => lastRun(peer, scope));
    if (runs.some((run) => run === undefined || run.error !== undefined)) return undefined;
    return coverageFrom(runs as PackRun[], own);
  }
}

/** The coverage `ResourceEvaluated` reads: what the peers' runs and this pack's rules (so far) evaluated. */
function coverageFrom(runs: readonly PackRun[], own: Map<CfnResource, Set<string>>): CoverageContext {
  const byPath = evaluatedRules(runs);
  const ruleIds = new Set<string>([...FHIR_HIPAA_RULE_IDS, ...runs.flatMap((run) => [...run.rules.keys()])]);
  const none: ReadonlySet<string> = new Set();
  return {
    ruleIds,
    evaluatedBy: (node) => {
      const peers = byPath.get(node.node.path);
      const mine = own.get(node);
      if (!peers) return mine ?? none;
      if (!mine) return peers;
      return new Set([...peers, ...mine]);
    },
  };
}

/** `FHIR.HIPAA-X` → the granular finding of a violation named `FHIR.HIPAA-X[finding]`, `undefined` for the plain id. */
function findingOf(ruleName: string, ruleId: string): string | undefined {
  return ruleName.startsWith(`${ruleId}[`) && ruleName.endsWith(']') ? ruleName.slice(ruleId.length + 1, -1) : undefined;
}

/** Splits the violations of rules with a {@link FhirHipaaRule.detail} into one per resource, each with its detail. */
function withDetails(report: PolicyValidationPluginReport, scope: IConstruct): PolicyValidationPluginReport {
  const detailed = FHIR_HIPAA_RULES.filter((r) => r.detail !== undefined);
  let nodes: Map<string, CfnResource> | undefined;
  let changed = false;
  const violations: PolicyViolation[] = [];
  for (const violation of report.violations) {
    const rule = detailed.find((r) => violation.ruleName === fhirHipaaRuleId(r) || findingOf(violation.ruleName, fhirHipaaRuleId(r)) !== undefined);
    if (!rule?.detail) {
      violations.push(violation);
      continue;
    }
    changed = true;
    nodes ??= new Map(scope.node.findAll().filter(CfnResource.isCfnResource).map((c) => [c.node.path, c] as const));
    const finding = findingOf(violation.ruleName, fhirHipaaRuleId(rule));
    for (const resource of violation.violatingResources) {
      const node = nodes.get(resource.constructPath ?? '');
      let detail: string | undefined;
      try {
        detail = node ? rule.detail(node, finding) : undefined;
      } catch {
        detail = undefined; // the shared message still stands
      }
      violations.push({ ...violation, description: detail ? `${detail} ${violation.description}` : violation.description, violatingResources: [resource] });
    }
  }
  return changed ? { ...report, violations } : report;
}

/** An acknowledgement recorded on a construct: the rule id it names (prefix and `[finding]` removed) and the raw key. */
interface Acknowledgement {
  readonly construct: IConstruct;
  readonly ruleId: string;
  readonly acknowledgedId: string;
  readonly reason: string;
}

/**
 * The rule id an acknowledgement key names: `Annotation::FHIR.HIPAA-X[finding]` → `FHIR.HIPAA-X`.
 * Namespace prefixes (`annotation::`, `Annotation::`, `FHIR.HIPAA::`) and granular suffixes are
 * dropped. The same reading as the reviewer's report (`policies/compliance/rule-ids.ts`).
 */
export const acknowledgedRuleId: (key: string) => string = baseRuleId;

function acknowledgementsOn(construct: IConstruct): Acknowledgement[] {
  return acknowledgementsRecordedOn(construct).map(({ key, reason }) => ({
    construct, ruleId: baseRuleId(key), acknowledgedId: normalizeRuleId(key), reason: typeof reason === 'string' ? reason : '',
  }));
}

/**
 * One `fatal` violation per acknowledgement the gate does not accept: one without a reason (any
 * rule, any plugin; `Validations.of(c).acknowledge` takes an empty one), and one of a
 * non-waivable rule that reaches a production stack.
 */
function refusedAcknowledgements(scope: IConstruct): PolicyViolation[] {
  const ancestors: IConstruct[] = [];
  for (let c = scope.node.scope; c; c = c.node.scope) ancestors.push(c);
  const violations: PolicyViolation[] = [];
  for (const construct of [...ancestors, ...scope.node.findAll()]) {
    for (const ack of acknowledgementsOn(construct)) {
      if (ack.reason.trim() === '') {
        violations.push({
          ruleName: ack.acknowledgedId,
          severity: 'fatal',
          description: `The acknowledgement "${ack.acknowledgedId}" on ${construct.node.path || '<app>'} has no reason: an acknowledgement is what the reviewer signs from, so it must say how the control is met another way or why it does not apply. Give one (acknowledge(construct, id, reason) refuses a blank reason), or remove the acknowledgement and fix the finding.`,
          violatingResources: [{ constructPath: construct.node.path, locations: ['Metadata'] }],
        });
        continue;
      }
      if (!NON_WAIVABLE_IN_PRODUCTION.includes(ack.ruleId) || !reachesProduction(construct)) continue;
      const rule = FHIR_HIPAA_RULES.find((r) => fhirHipaaRuleId(r) === ack.ruleId);
      const assumed = deploymentEnvironmentSource(construct) === 'gate-default'
        ? 'The stack states no deployment environment, so the compliance gate treats it as production; state it with applyCompliancePacks(app, { environment }) or setDeploymentEnvironment(stack, ...). '
        : '';
      violations.push({
        ruleName: ack.ruleId,
        severity: 'fatal',
        description: `${ack.ruleId} is non-waivable in production: the acknowledgement "${ack.acknowledgedId}" `
          + `on ${construct.node.path || '<app>'} ("${ack.reason}") is not accepted. Remove it and fix the finding. `
          + `${assumed}${rule ? fhirHipaaRuleInfo(rule) : ''}`.trim(),
        violatingResources: [{ constructPath: construct.node.path, locations: ['Metadata'] }],
      });
    }
  }
  return violations;
}
