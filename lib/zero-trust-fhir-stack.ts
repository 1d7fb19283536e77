import { Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { setDeploymentEnvironment } from '../policies/environment';
import { AuditTrail } from './audit-trail';
import { DEPLOYMENT_ENVIRONMENTS, DeploymentEnvironment, MIN_RETENTION_DAYS } from './config';
import { FhirDatastore } from './fhir-datastore';
import { FhirKeys } from './fhir-keys';
import { applyAcknowledgements, referenceStackAcknowledgements } from './private/acknowledgements';
import { SegmentedNetwork } from './segmented-network';

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
   * E-mail address for the security alarms.
   *
   * @default - none
   */
  readonly alarmEmail?: string;
}

/**
 * The reference zero-trust FHIR platform: keys, the isolated network, the HealthLake datastore
 * and the audit trail (identity, gateway, firewall and the FHIR proxy are added by their own
 * constructs). Env-agnostic: it synthesizes without an AWS account or any context lookup.
 */
export class ZeroTrustFhirStack extends Stack {
  /** The deployment stage (`props.environment`). */
  public readonly deploymentEnvironment: DeploymentEnvironment;
  public readonly keys: FhirKeys;
  public readonly network: SegmentedNetwork;
  public readonly datastore: FhirDatastore;
  public readonly audit: AuditTrail;

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

    // The reference stack's acknowledged findings (see lib/private/acknowledgements.ts). The
    // context flag exists for the test that proves each acknowledgement is still needed.
    if (this.node.tryGetContext(SKIP_ACKNOWLEDGEMENTS_CONTEXT) !== true) {
      applyAcknowledgements(referenceStackAcknowledgements(this));
    }
  }
}
