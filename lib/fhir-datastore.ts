import { CfnDeletionPolicy, Stack, Token } from 'aws-cdk-lib';
import * as healthlake from 'aws-cdk-lib/aws-healthlake';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { FhirKeys } from './fhir-keys';
import { HEALTHLAKE_READ_ACTIONS, HEALTHLAKE_WRITE_ACTIONS } from './healthlake-actions';
import { SegmentedNetwork } from './segmented-network';

/** Properties of {@link FhirDatastore}. */
export interface FhirDatastoreProps {
  /** The datastore is encrypted with `keys.data`. */
  readonly keys: FhirKeys;
  /** Grants are bound to this network's HealthLake interface endpoint (`aws:SourceVpce`). */
  readonly network: SegmentedNetwork;
  /**
   * Datastore name (letters, digits and `_.:/=+-@%`, at most 256 characters).
   *
   * @default - CloudFormation generates one
   */
  readonly datastoreName?: string;
}

/** Options of {@link FhirDatastore.grantFhirAccess}. */
export interface FhirAccessOptions {
  /**
   * Grant only read and search (GET and POST), not create, update or delete.
   *
   * @default false
   */
  readonly readOnly?: boolean;
}

/**
 * An AWS HealthLake FHIR R4 datastore holding PHI.
 *
 * Enforced: R4; server-side encryption with the customer-managed `keys.data`; `AWS_AUTH`
 * (SigV4 callers only: the FHIR proxy is the SMART enforcement point, see DESIGN.md); RETAIN on
 * stack deletion and replacement. Access is granted only through {@link grantFhirAccess}, which
 * names the data actions, this datastore's ARN and the network's HealthLake endpoint.
 */
export class FhirDatastore extends Construct {
  public readonly resource: healthlake.CfnFHIRDatastore;
  public readonly datastoreArn: string;
  public readonly datastoreId: string;
  /** The FHIR base URL (`DatastoreEndpoint`), e.g. `https://healthlake.<region>.amazonaws.com/datastore/<id>/r4/`. */
  public readonly fhirBaseUrl: string;
  private readonly keys: FhirKeys;
  private readonly network: SegmentedNetwork;

  constructor(scope: Construct, id: string, props: FhirDatastoreProps) {
    super(scope, id);
    if (props.datastoreName !== undefined && !Token.isUnresolved(props.datastoreName) && !/^[\p{L}\p{Z}\p{N}_.:/=+\-%@]{1,256}$/u.test(props.datastoreName)) {
      throw new Error(`FhirDatastore: datastoreName "${props.datastoreName}" is not a valid HealthLake datastore name (letters, digits, spaces and _.:/=+-%@, 1 to 256 characters).`);
    }
    this.keys = props.keys;
    this.network = props.network;

    this.resource = new healthlake.CfnFHIRDatastore(this, 'Resource', {
      datastoreName: props.datastoreName,
      datastoreTypeVersion: 'R4',
      sseConfiguration: {
        kmsEncryptionConfig: { cmkType: 'CUSTOMER_MANAGED_KMS_KEY', kmsKeyId: props.keys.data.keyArn },
      },
      identityProviderConfiguration: { authorizationStrategy: 'AWS_AUTH' },
    });
    this.resource.cfnOptions.deletionPolicy = CfnDeletionPolicy.RETAIN;
    this.resource.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.RETAIN;

    this.datastoreArn = this.resource.attrDatastoreArn;
    this.datastoreId = this.resource.attrDatastoreId;
    this.fhirBaseUrl = this.resource.attrDatastoreEndpoint;
  }

  /**
   * Lets `grantee` call the FHIR API of this datastore, and nothing else: the read and search
   * actions (and, unless `readOnly`, create, update and delete) on this datastore's ARN, only
   * through the network's HealthLake endpoint (`aws:SourceVpce`); plus the use of `keys.data`
   * that HealthLake makes on the caller's behalf (`kms:ViaService`).
   */
  public grantFhirAccess(grantee: iam.IGrantable, options: FhirAccessOptions = {}): iam.Grant {
    const actions: string[] = [...HEALTHLAKE_READ_ACTIONS, ...(options.readOnly ? [] : HEALTHLAKE_WRITE_ACTIONS)];
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.datastoreArn],
      conditions: { StringEquals: { 'aws:SourceVpce': this.network.healthLakeEndpoint.vpcEndpointId } },
    });
    const kmsActions = options.readOnly ? ['kms:Decrypt', 'kms:DescribeKey'] : ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey'];
    const keyGrant = iam.Grant.addToPrincipal({
      grantee,
      actions: kmsActions,
      resourceArns: [this.keys.data.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `healthlake.${Stack.of(this).region}.amazonaws.com` } },
    });
    return grant.combine(keyGrant);
  }
}
