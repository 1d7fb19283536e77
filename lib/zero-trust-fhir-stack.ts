import { Aws, Duration, Fn, Stack, StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { setDeploymentEnvironment } from '../policies/environment';
import { AuditTrail } from './audit-trail';
import { DEPLOYMENT_ENVIRONMENTS, DeploymentEnvironment, MIN_RETENTION_DAYS } from './config';
import { RegisteredApp, loadAppRegistry } from '../policies/app-registry';
import { FhirDatastore } from './fhir-datastore';
import { FhirFirewall, FhirFirewallProps } from './fhir-firewall';
import { FhirGateway } from './fhir-gateway';
import { FhirKeys } from './fhir-keys';
import { applyAcknowledgements, referenceStackAcknowledgements } from './private/acknowledgements';
import { SegmentedNetwork } from './segmented-network';
import { SmartAppRegistry } from './smart-app-registry';
import { SmartIdentity } from './smart-identity';

/**
 * Context key that, set to `true`, leaves the reference stack's acknowledgements out. It can
 * only make the compliance gate stricter; the acknowledgement test uses it.
 */
export const SKIP_ACKNOWLEDGEMENTS_CONTEXT = 'zeroTrustFhir:skipAcknowledgements';

/** Properties of {@link ZeroTrustFhirStack}. */
export interface ZeroTrustFhirStackProps extends StackProps {
  /**
   * Where this stack runs. `production` locks the audit bucket in COMPLIANCE mode and makes the
   * FHIR.HIPAA non-waivable rules impossible to acknowledge.
   */
  readonly environment: DeploymentEnvironment;

  /**
   * Availability zones of the isolated subnets (2 or 3).
   *
   * @default 2
   */
  readonly maxAzs?: number;

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
   * The registered third-party apps.
   *
   * @default - `loadAppRegistry()`: `policies/apps.json`, validated against its schema
   */
  readonly apps?: readonly RegisteredApp[];

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
   * Security labels each Cognito group is cleared for.
   *
   * @default - none
   */
  readonly groupLabels?: Readonly<Record<string, readonly string[]>>;

  /**
   * Web ACL settings (rate limit, body size, allow-lists, anonymous IPs, drift remediation).
   *
   * @default - the FhirFirewall defaults
   */
  readonly firewall?: Omit<FhirFirewallProps, 'keys' | 'stage' | 'alarmTopic' | 'environment' | 'logRetention'>;
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
  public readonly keys: FhirKeys;
  public readonly network: SegmentedNetwork;
  public readonly datastore: FhirDatastore;
  public readonly audit: AuditTrail;
  public readonly identity: SmartIdentity;
  public readonly registry: SmartAppRegistry;
  public readonly gateway: FhirGateway;
  public readonly firewall: FhirFirewall;

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

    this.keys = new FhirKeys(this, 'Keys');
    this.network = new SegmentedNetwork(this, 'Network', { keys: this.keys, maxAzs: props.maxAzs, flowLogRetention: logRetention });
    this.datastore = new FhirDatastore(this, 'Datastore', { keys: this.keys, network: this.network });
    this.audit = new AuditTrail(this, 'Audit', {
      keys: this.keys,
      environment,
      logRetention,
      bucketRetentionDays: props.auditBucketRetentionDays ?? MIN_RETENTION_DAYS,
      alarmEmail: props.alarmEmail,
    });
    const apps = props.apps ?? loadAppRegistry();
    this.identity = new SmartIdentity(this, 'Identity', {
      keys: this.keys,
      network: this.network,
      environment,
      apps,
      groupLabels: props.groupLabels,
      logRetention,
    });
    this.registry = new SmartAppRegistry(this, 'Apps', { identity: this.identity, apps });
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
    });
    this.firewall = new FhirFirewall(this, 'Firewall', {
      ...(props.firewall ?? {}),
      keys: this.keys,
      stage: this.gateway.stage,
      alarmTopic: this.audit.alarmTopic,
      environment,
      logRetention,
    });

    // The reference stack's acknowledged findings (see lib/private/acknowledgements.ts). The
    // context flag exists for the test that proves each acknowledgement is still needed.
    if (this.node.tryGetContext(SKIP_ACKNOWLEDGEMENTS_CONTEXT) !== true) {
      applyAcknowledgements(referenceStackAcknowledgements(this));
    }
  }
}
