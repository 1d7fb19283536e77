import { Aws, Duration, Fn, NestedStack, Stack, StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { setDeploymentEnvironment } from '../policies/compliance/environment';
import { AppMonitoring } from './app-monitoring';
import { AuditTrail } from './audit-trail';
import { DEPLOYMENT_ENVIRONMENTS, DeploymentEnvironment, MIN_RETENTION_DAYS } from './config';
import { AppRegistryDocument, RegisteredApp } from '../policies/app-registry';
import { LabelPolicyDocument } from '../policies/label-policy';
import { FhirDatastore, type IFhirDatastore } from './fhir-datastore';
import { FhirFirewall, FhirFirewallProps } from './fhir-firewall';
import { FhirGateway, FhirProxyOptions } from './fhir-gateway';
import { FhirKeys, IFhirKeys } from './fhir-keys';
import { applyAcknowledgements, referenceStackAcknowledgements } from './private/acknowledgements';
import { checkDocuments } from './private/kit-function';
import { SegmentedNetwork, type ISegmentedNetwork } from './segmented-network';
import { SmartAppRegistry } from './smart-app-registry';
import { SmartIdentity } from './smart-identity';

/**
 * Context key that, set to `true`, leaves the reference stack's acknowledgements out. It can
 * only make the compliance gate stricter; the acknowledgement test uses it.
 */
export const SKIP_ACKNOWLEDGEMENTS_CONTEXT = 'zeroTrustFhir:skipAcknowledgements';

/** Properties of {@link ZeroTrustFhirStack}. */
export interface ZeroTrustFhirStackProps extends StackProps, FhirProxyOptions {
  /**
   * Where this stack runs. `production` locks the audit bucket in COMPLIANCE mode and makes the
   * FHIR.HIPAA non-waivable rules impossible to acknowledge.
   */
  readonly environment: DeploymentEnvironment;

  /**
   * Availability zones of the isolated subnets (2 or 3) of the network the stack creates; not
   * with `network`.
   *
   * @default 2
   */
  readonly maxAzs?: number;

  /**
   * Customer-managed keys a platform team already has: `FhirKeys.fromKeys(scope, 'Keys', { data,
   * logs, audit })`. What the keys' policies must allow, and the finding to acknowledge
   * (`FHIR.HIPAA-ImportedResourceAttested[keys]`), are on `FhirKeys.fromKeys`.
   *
   * @default - three new keys (`FhirKeys`: rotation on, retained, scoped key policies)
   */
  readonly keys?: IFhirKeys;

  /**
   * The data tier's network, built by the kit elsewhere: `SegmentedNetwork.fromVpc(scope,
   * 'Network', { keys, vpc })` around a platform team's VPC (the kit adds its endpoints, security
   * groups and flow logs; what it cannot check is on `fromVpc`), or the network of a platform
   * stack.
   *
   * @default - a new VPC with isolated subnets only (`SegmentedNetwork`)
   */
  readonly network?: ISegmentedNetwork;

  /**
   * A Cognito user pool a platform team already has (`cognito.UserPool.fromUserPoolArn(...)`):
   * the kit adds its resource servers, app clients and domain to it, and creates the pre-token
   * trigger for the team to attach. Its settings are the team's to vouch for: see
   * `SmartIdentityProps.userPool` and acknowledge `FHIR.HIPAA-ImportedResourceAttested[user-pool]`
   * on the stack.
   *
   * @default - a new user pool with the kit's settings (`SmartIdentity`)
   */
  readonly userPool?: cognito.IUserPool;

  /**
   * A HealthLake datastore built by the kit in another stack (a platform stack that keeps the
   * data while API stacks come and go), or `FhirDatastore.fromDatastoreAttributes(...)`.
   *
   * @default - a new datastore encrypted with `keys.data` (`FhirDatastore`)
   */
  readonly datastore?: IFhirDatastore;

  /**
   * CloudWatch namespace of the per-app metrics (`FhirGateway`'s `appMetricsNamespace`), which
   * the per-app alarms and dashboard read.
   *
   * @default 'ZeroTrustFhir'
   */
  readonly appMetricsNamespace?: string;

  /**
   * Scope denials per 5 minutes that, sustained for 3 periods in a row, raise an app's
   * scope-probing alarm (`AppMonitoring`).
   *
   * @default 20
   */
  readonly scopeDenialsPerFiveMinutes?: number;

  /**
   * Retention of every log group; at least six years.
   *
   * @default logs.RetentionDays.SIX_YEARS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Object-lock retention of the CloudTrail bucket, in days; at least 2192.
   *
   * @default 2192
   */
  readonly auditBucketRetentionDays?: number;

  /**
   * E-mail address subscribed to the security alarm topic (`audit.alarmTopic`). In production the
   * topic must have a subscriber (`FHIR.HIPAA-SNSAlarmTopicSubscribed`): give this, or subscribe
   * your responders to `stack.audit.alarmTopic` yourself.
   *
   * @default - no subscription (a finding in production)
   */
  readonly alarmEmail?: string;

  /**
   * Your app registry, validated at synth: `AppRegistryDocument.fromFile('config/apps.json')` (a
   * file in your repository, `policies/apps.schema.json` format) or
   * `AppRegistryDocument.fromObject({ apps: [...] })`. One Cognito client per app
   * (`SmartAppRegistry`), and exactly this registry in the FHIR proxy's asset and in the
   * reviewer's report.
   *
   * @default - `apps` when given, else the kit's sample registry (`policies/apps.json`), whose
   *   apps are examples: give your own before you deploy
   */
  readonly appRegistry?: AppRegistryDocument;

  /**
   * The registered apps as parsed entries (`loadAppRegistry(file)`), validated again. Give
   * `appRegistry` or `apps`, not both.
   *
   * @default - `appRegistry`
   */
  readonly apps?: readonly RegisteredApp[];

  /**
   * How long the SMART façade waits for one call to Cognito's OAuth endpoints. At most 20 s.
   *
   * @default Duration.seconds(5)
   */
  readonly facadeUpstreamTimeout?: Duration;

  /**
   * Custom domain of the API: a DNS name and the ARN of its ACM certificate (imported by ARN, no
   * lookup). Required in production. Use `FhirGateway` directly to pass an `ICertificate`,
   * a TLS 1.3 policy or mutual TLS.
   *
   * @default - none: the execute-api URL (sandbox and staging only)
   */
  readonly customDomain?: { readonly domainName: string; readonly certificateArn: string };

  /**
   * Browser origins allowed by CORS. Never `*`; required (possibly empty) in production.
   *
   * @default - no CORS
   */
  readonly corsAllowedOrigins?: readonly string[];

  /**
   * Authorizer cache TTL: also the longest a revoked access token keeps working. At most 300 s.
   *
   * @default Duration.seconds(60)
   */
  readonly authorizerCacheTtl?: Duration;

  /**
   * Security labels each Cognito group is cleared for; every code a label of `labelPolicy`.
   *
   * @default - none
   */
  readonly groupLabels?: Readonly<Record<string, readonly string[]>>;

  /**
   * Web ACL settings (rate limit, body size, allow-lists, anonymous IPs, drift remediation).
   *
   * @default - the FhirFirewall defaults
   */
  readonly firewall?: Omit<FhirFirewallProps, 'keys' | 'stage' | 'stages' | 'alarmTopic' | 'environment' | 'logRetention'>;
}

/**
 * The reference zero-trust FHIR platform: keys, the isolated network, the HealthLake datastore,
 * the audit trail, Cognito as the SMART authorization server with the registered apps, the API
 * (authorizer, SMART façade, FHIR proxy) and the web ACL with its drift guard. Env-agnostic: it
 * synthesizes without an AWS account or any context lookup.
 */
export class ZeroTrustFhirStack extends Stack {
  /** The deployment stage (`props.environment`). */
  public readonly deploymentEnvironment: DeploymentEnvironment;
  public readonly keys: IFhirKeys;
  public readonly network: ISegmentedNetwork;
  public readonly datastore: IFhirDatastore;
  public readonly audit: AuditTrail;
  public readonly identity: SmartIdentity;
  public readonly registry: SmartAppRegistry;
  public readonly gateway: FhirGateway;
  public readonly firewall: FhirFirewall;
  /**
   * Per-app alarms, the Cognito app-client drift guard and the per-app dashboard (issue #17), in
   * the nested stack {@link monitoringStack}: six alarms per app would otherwise cap the stack at
   * 29 apps (CloudFormation's 500 resources per stack).
   */
  public readonly monitoring: AppMonitoring;
  /**
   * The nested stack (`AppMonitors`) that holds {@link monitoring}. The values it needs (the
   * alarm topic, the keys, the user pool, the client ids) reach it as nested-stack parameters.
   */
  public readonly monitoringStack: NestedStack;

  /**
   * The region's availability zones as `Fn::GetAZs` tokens, bound or not: a stack bound to its
   * account and region never asks the CLI to look them up (no credentials at synth).
   */
  public override get availabilityZones(): string[] {
    return [0, 1, 2].map((i) => Fn.select(i, Fn.getAzs(Aws.REGION)));
  }

  constructor(scope: Construct, id: string, props: ZeroTrustFhirStackProps) {
    // `environment` here is the deployment stage; StackProps' own `environment` (an
    // `aws://account/region` string) is not used: the stack is env-agnostic.
    const { environment, ...stackProps } = props;
    super(scope, id, stackProps);
    if (!DEPLOYMENT_ENVIRONMENTS.includes(environment)) {
      throw new Error(`ZeroTrustFhirStack: environment "${String(environment)}" is not one of ${DEPLOYMENT_ENVIRONMENTS.join(' | ')}.`);
    }
    this.deploymentEnvironment = environment;
    // The FHIR.HIPAA pack reads it: production-only rules, and no waivers of the non-waivable ones.
    setDeploymentEnvironment(this, environment);
    const logRetention = props.logRetention ?? logs.RetentionDays.SIX_YEARS;

    if (props.network !== undefined && props.maxAzs !== undefined) {
      throw new Error('ZeroTrustFhirStack: maxAzs is a setting of the network the stack creates; with network, the network\'s subnets decide. Remove maxAzs.');
    }
    this.keys = props.keys ?? new FhirKeys(this, 'Keys');
    this.network = props.network ?? new SegmentedNetwork(this, 'Network', { keys: this.keys, maxAzs: props.maxAzs, flowLogRetention: logRetention });
    this.datastore = props.datastore ?? new FhirDatastore(this, 'Datastore', { keys: this.keys, network: this.network });
    this.audit = new AuditTrail(this, 'Audit', {
      keys: this.keys,
      environment,
      logRetention,
      bucketRetentionDays: props.auditBucketRetentionDays ?? MIN_RETENTION_DAYS,
      alarmEmail: props.alarmEmail,
    });
    checkDocuments('ZeroTrustFhirStack', { appRegistry: props.appRegistry, labelPolicy: props.labelPolicy });
    if (props.appRegistry !== undefined && props.apps !== undefined) {
      throw new Error('ZeroTrustFhirStack: give appRegistry or apps, not both (AppRegistryDocument.fromApps(apps) makes a registry of parsed entries).');
    }
    const appRegistry = props.appRegistry ?? (props.apps !== undefined ? registryOfApps(props.apps) : AppRegistryDocument.sample());
    const labelPolicy = props.labelPolicy ?? LabelPolicyDocument.sample();
    checkGroupLabels(props.groupLabels, labelPolicy);
    this.identity = new SmartIdentity(this, 'Identity', {
      keys: this.keys,
      network: this.network,
      environment,
      userPool: props.userPool,
      apps: appRegistry.apps,
      groupLabels: props.groupLabels,
      logRetention,
      facadeUpstreamTimeout: props.facadeUpstreamTimeout,
    });
    this.registry = new SmartAppRegistry(this, 'Apps', { identity: this.identity, registry: appRegistry });
    this.gateway = new FhirGateway(this, 'Gateway', {
      keys: this.keys,
      network: this.network,
      datastore: this.datastore,
      audit: this.audit,
      identity: this.identity,
      registry: this.registry,
      environment,
      customDomain: props.customDomain
        ? {
            domainName: props.customDomain.domainName,
            certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.customDomain.certificateArn),
          }
        : undefined,
      corsAllowedOrigins: props.corsAllowedOrigins,
      authorizerCacheTtl: props.authorizerCacheTtl,
      logRetention,
      // The FHIR proxy's settings (FhirProxyOptions), passed through as given.
      labelPolicy,
      appRegistry,
      profilesDir: props.profilesDir,
      requiredProfiles: props.requiredProfiles,
      readableNonCompartmentTypes: props.readableNonCompartmentTypes,
      operations: props.operations,
      maxBodyBytes: props.maxBodyBytes,
      healthLakeTimeout: props.healthLakeTimeout,
      consentCacheTtl: props.consentCacheTtl,
      clientIdentifierSystem: props.clientIdentifierSystem,
      userIdentifierSystem: props.userIdentifierSystem,
      apiVersions: props.apiVersions,
      appMetricsNamespace: props.appMetricsNamespace,
    });
    this.firewall = new FhirFirewall(this, 'Firewall', {
      ...(props.firewall ?? {}),
      keys: this.keys,
      stages: this.gateway.stages,
      alarmTopic: this.audit.alarmTopic,
      environment,
      logRetention,
    });
    // Its own (nested) stack: six alarms per app count against its 500 resources, not the
    // parent's. Written without indentation: the dashboard body and the alarms take ~13 KB per
    // app, so an indented template passes CloudFormation's 1 MB at ~58 apps (README,
    // `ZeroTrustFhirStack`).
    this.monitoringStack = new NestedStack(this, 'AppMonitors', {
      description: 'zero-trust-fhir per-app monitoring: alarms, Cognito app-client drift guard, dashboard',
      suppressTemplateIndentation: true,
    });
    this.monitoring = new AppMonitoring(this.monitoringStack, 'Monitoring', {
      registry: this.registry,
      userPool: this.identity.userPool,
      alarmTopic: this.audit.alarmTopic,
      keys: this.keys,
      namespace: this.gateway.appMetricsNamespace,
      scopeDenialsPerFiveMinutes: props.scopeDenialsPerFiveMinutes,
      logRetention,
    });

    // The reference stack's acknowledged findings (see lib/private/acknowledgements.ts). The
    // context flag exists for the test that proves each acknowledgement is still needed.
    if (this.node.tryGetContext(SKIP_ACKNOWLEDGEMENTS_CONTEXT) !== true) {
      applyAcknowledgements(referenceStackAcknowledgements(this));
    }
  }
}

/** The registry of parsed entries; an invalid one fails naming the prop. */
function registryOfApps(apps: readonly RegisteredApp[]): AppRegistryDocument {
  try {
    return AppRegistryDocument.fromApps(apps, 'apps');
  } catch (err) {
    throw new Error(`ZeroTrustFhirStack: ${(err as Error).message}`);
  }
}

/** Every code a group is cleared for must be a label of the policy the proxy enforces. */
function checkGroupLabels(groupLabels: ZeroTrustFhirStackProps['groupLabels'], labelPolicy: LabelPolicyDocument): void {
  if (groupLabels === undefined || groupLabels === null || typeof groupLabels !== 'object') return;
  const codes = new Set(labelPolicy.policy.labels.map((l) => l.code));
  for (const [group, labels] of Object.entries(groupLabels)) {
    if (!Array.isArray(labels)) continue; // SmartIdentity names the prop
    for (const code of labels) {
      if (typeof code === 'string' && !codes.has(code)) {
        throw new Error(`ZeroTrustFhirStack: groupLabels.${group}: "${code.slice(0, 64)}" is not a label of the label policy (${labelPolicy.source}); its labels: ${[...codes].join(', ')}.`);
      }
    }
  }
}
