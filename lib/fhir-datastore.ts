import { CfnDeletionPolicy, Stack, Token } from 'aws-cdk-lib';
import * as healthlake from 'aws-cdk-lib/aws-healthlake';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, type IConstruct } from 'constructs';
import { deploymentEnvironmentOf } from '../policies/compliance/environment';
import { IFhirKeys } from './fhir-keys';
import { HEALTHLAKE_READ_ACTIONS, HEALTHLAKE_WRITE_ACTIONS } from '../policies/compliance/healthlake-actions';
import { markImportedUse } from '../policies/compliance/imported-resources';
import { KitRole } from './private/kit-role';
import { ISegmentedNetwork } from './segmented-network';

/** Options of {@link IFhirDatastore.grantFhirAccess}. */
export interface FhirAccessOptions {
  /**
   * Grant only read and search (GET and POST), not create, update or delete.
   *
   * @default false
   */
  readonly readOnly?: boolean;
}

/** A HealthLake FHIR datastore the kit can grant access to: one it created, or one a platform team already has. */
export interface IFhirDatastore extends IConstruct {
  readonly datastoreArn: string;
  readonly datastoreId: string;
  /** The FHIR base URL (`DatastoreEndpoint`), e.g. `https://healthlake.<region>.amazonaws.com/datastore/<id>/r4/`. */
  readonly fhirBaseUrl: string;
  /** The customer-managed key the datastore is encrypted with. */
  readonly dataKey: kms.IKey;
  /**
   * Lets `grantee` call the FHIR API of this datastore and nothing else, only through the
   * network's HealthLake endpoint. Adds no inline policy (see {@link FhirDatastore.grantFhirAccess}).
   */
  grantFhirAccess(grantee: iam.IGrantable, options?: FhirAccessOptions): iam.Grant;
}

/** Properties of {@link FhirDatastore}. */
export interface FhirDatastoreProps {
  /**
   * The datastore is encrypted with `keys.data`. Imported keys (`FhirKeys.fromKeys`): the
   * datastore carries their record, reported as `FHIR.HIPAA-ImportedResourceAttested[keys]`
   * until acknowledged.
   */
  readonly keys: IFhirKeys;
  /** Grants are bound to this network's HealthLake interface endpoint (`aws:SourceVpce`). */
  readonly network: ISegmentedNetwork;
  /**
   * Datastore name (letters, digits and `_.:/=+-@%`, at most 256 characters).
   *
   * @default - CloudFormation generates one
   */
  readonly datastoreName?: string;
  /**
   * Create the datastore preloaded with HealthLake's synthetic (Synthea) patients. Only a sandbox
   * may have it, and a sandbox should: it holds synthetic data only (`FHIR.HIPAA` flags a sandbox
   * datastore without it). Changing it replaces the datastore.
   *
   * @default - true in a stack marked `sandbox` (`ZeroTrustFhirStack`'s `environment`), else false
   */
  readonly preloadSyntheticData?: boolean;
}

/** Attributes of a datastore that exists already ({@link FhirDatastore.fromDatastoreAttributes}). */
export interface FhirDatastoreAttributes {
  readonly datastoreArn: string;
  readonly datastoreId: string;
  readonly fhirBaseUrl: string;
  /** The customer-managed key the datastore is encrypted with. */
  readonly dataKey: kms.IKey;
  /** Grants are bound to this network's HealthLake interface endpoint (`aws:SourceVpce`). */
  readonly network: ISegmentedNetwork;
}

/**
 * An AWS HealthLake FHIR R4 datastore holding PHI.
 *
 * Enforced: R4; server-side encryption with the customer-managed `keys.data`; `AWS_AUTH`
 * (SigV4 callers only: the FHIR proxy is the SMART enforcement point, see DESIGN.md); RETAIN on
 * stack deletion and replacement; no bulk-import path (the kit creates no import role or bucket);
 * synthetic preload in sandbox only. Access is granted only through {@link grantFhirAccess},
 * which names the data actions, this datastore's ARN and the network's HealthLake endpoint.
 */
export class FhirDatastore extends Construct implements IFhirDatastore {
  /**
   * A datastore a platform team already has, to grant team functions access to it the same way
   * (`grantFhirAccess`: its ARN, the network's HealthLake endpoint, its key through HealthLake).
   */
  public static fromDatastoreAttributes(scope: Construct, id: string, attrs: FhirDatastoreAttributes): IFhirDatastore {
    if (!Token.isUnresolved(attrs.datastoreArn) && !/^arn:aws[a-z-]*:healthlake:[a-z0-9-]+:\d{12}:datastore\/fhir\/[A-Za-z0-9]{1,64}$/.test(attrs.datastoreArn)) {
      throw new Error(`FhirDatastore.fromDatastoreAttributes: "${attrs.datastoreArn}" is not a HealthLake datastore ARN (arn:aws:healthlake:<region>:<account>:datastore/fhir/<id>).`);
    }
    if (!Token.isUnresolved(attrs.fhirBaseUrl) && !/^https:\/\/healthlake\.[a-z0-9-]+\.amazonaws\.com\/datastore\/[A-Za-z0-9]+\/r4\/?$/.test(attrs.fhirBaseUrl)) {
      throw new Error(`FhirDatastore.fromDatastoreAttributes: fhirBaseUrl "${attrs.fhirBaseUrl}" is not a HealthLake R4 endpoint (https://healthlake.<region>.amazonaws.com/datastore/<id>/r4/).`);
    }
    return new ImportedFhirDatastore(scope, id, attrs);
  }

  public readonly resource: healthlake.CfnFHIRDatastore;
  public readonly datastoreArn: string;
  public readonly datastoreId: string;
  /** The FHIR base URL (`DatastoreEndpoint`), e.g. `https://healthlake.<region>.amazonaws.com/datastore/<id>/r4/`. */
  public readonly fhirBaseUrl: string;
  public readonly dataKey: kms.IKey;
  /** Whether the datastore was created with HealthLake's synthetic (Synthea) patients. */
  public readonly preloadsSyntheticData: boolean;
  private readonly grants: DatastoreGrants;

  constructor(scope: Construct, id: string, props: FhirDatastoreProps) {
    super(scope, id);
    if (props.datastoreName !== undefined && !Token.isUnresolved(props.datastoreName) && !/^[\p{L}\p{Z}\p{N}_.:/=+\-%@]{1,256}$/u.test(props.datastoreName)) {
      throw new Error(`FhirDatastore: datastoreName "${props.datastoreName}" is not a valid HealthLake datastore name (letters, digits, spaces and _.:/=+-%@, 1 to 256 characters).`);
    }
    const environment = deploymentEnvironmentOf(this);
    const preload = props.preloadSyntheticData ?? environment === 'sandbox';
    if (preload && environment !== undefined && environment !== 'sandbox') {
      throw new Error(`FhirDatastore ${this.node.path}: preloadSyntheticData is for sandbox datastores only; this stack is marked "${environment}". Remove preloadSyntheticData.`);
    }
    this.preloadsSyntheticData = preload;

    this.resource = new healthlake.CfnFHIRDatastore(this, 'Resource', {
      datastoreName: props.datastoreName,
      datastoreTypeVersion: 'R4',
      sseConfiguration: {
        kmsEncryptionConfig: { cmkType: 'CUSTOMER_MANAGED_KMS_KEY', kmsKeyId: props.keys.data.keyArn },
      },
      identityProviderConfiguration: { authorizationStrategy: 'AWS_AUTH' },
      ...(preload ? { preloadDataConfig: { preloadDataType: 'SYNTHEA' } } : {}),
    });
    this.resource.cfnOptions.deletionPolicy = CfnDeletionPolicy.RETAIN;
    this.resource.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.RETAIN;
    // Imported keys (FhirKeys.fromKeys) create no resource: their record goes on the datastore `data` encrypts.
    markImportedUse(this.resource, props.keys, 'keys');

    this.datastoreArn = this.resource.attrDatastoreArn;
    this.datastoreId = this.resource.attrDatastoreId;
    this.fhirBaseUrl = this.resource.attrDatastoreEndpoint;
    this.dataKey = props.keys.data;
    this.grants = new DatastoreGrants(this, this.datastoreArn, this.dataKey, props.network);
  }

  /**
   * Lets `grantee` call the FHIR API of this datastore, and nothing else: the read and search
   * actions (and, unless `readOnly`, create, update and delete) on this datastore's ARN, only
   * through the network's HealthLake endpoint (`aws:SourceVpce`); plus the use of `keys.data`
   * that HealthLake makes on the caller's behalf (`kms:ViaService`).
   *
   * The statements go into a customer-managed policy attached to the grantee's role (one per
   * role and datastore), never into the role's inline default policy, so the grant itself raises
   * no finding (HIPAA.Security-IAMNoInlinePolicy). A kit role keeps them in its own policy; a
   * grantee that is not a role (a user) gets them the ordinary CDK way.
   */
  public grantFhirAccess(grantee: iam.IGrantable, options: FhirAccessOptions = {}): iam.Grant {
    return this.grants.grant(grantee, options);
  }
}

class ImportedFhirDatastore extends Construct implements IFhirDatastore {
  public readonly datastoreArn: string;
  public readonly datastoreId: string;
  public readonly fhirBaseUrl: string;
  public readonly dataKey: kms.IKey;
  private readonly grants: DatastoreGrants;

  constructor(scope: Construct, id: string, attrs: FhirDatastoreAttributes) {
    super(scope, id);
    this.datastoreArn = attrs.datastoreArn;
    this.datastoreId = attrs.datastoreId;
    this.fhirBaseUrl = attrs.fhirBaseUrl;
    this.dataKey = attrs.dataKey;
    this.grants = new DatastoreGrants(this, attrs.datastoreArn, attrs.dataKey, attrs.network);
  }

  public grantFhirAccess(grantee: iam.IGrantable, options: FhirAccessOptions = {}): iam.Grant {
    return this.grants.grant(grantee, options);
  }
}

/** The statements of a datastore grant, and the managed policy per role they go into. */
class DatastoreGrants {
  private readonly policies = new Map<iam.IRole, iam.ManagedPolicy>();

  constructor(
    private readonly scope: Construct,
    private readonly datastoreArn: string,
    private readonly dataKey: kms.IKey,
    private readonly network: ISegmentedNetwork,
  ) {}

  grant(grantee: iam.IGrantable, options: FhirAccessOptions): iam.Grant {
    const statements = [
      new iam.PolicyStatement({
        sid: options.readOnly ? 'FhirReadThroughEndpoint' : 'FhirReadWriteThroughEndpoint',
        actions: [...HEALTHLAKE_READ_ACTIONS, ...(options.readOnly ? [] : HEALTHLAKE_WRITE_ACTIONS)],
        resources: [this.datastoreArn],
        conditions: { StringEquals: { 'aws:SourceVpce': this.network.healthLakeEndpoint.vpcEndpointId } },
      }),
      new iam.PolicyStatement({
        sid: options.readOnly ? 'FhirKeyReadViaHealthLake' : 'FhirKeyViaHealthLake',
        actions: options.readOnly ? ['kms:Decrypt', 'kms:DescribeKey'] : ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey'],
        resources: [this.dataKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `healthlake.${Stack.of(this.scope).region}.amazonaws.com` } },
      }),
    ];
    const principal = grantee.grantPrincipal;
    const role = principal instanceof KitRole ? undefined : asRole(principal);
    const target: iam.IGrantable = role ? { grantPrincipal: new ManagedPolicyPrincipal(this.policyOf(role), principal) } : grantee;
    const [first, ...rest] = statements.map((statement) => iam.Grant.addToPrincipal({ grantee: target, actions: statement.actions, resourceArns: statement.resources, conditions: statement.conditions }));
    return rest.reduce((all, g) => all.combine(g), first);
  }

  private policyOf(role: iam.IRole): iam.ManagedPolicy {
    let policy = this.policies.get(role);
    if (!policy) {
      policy = new iam.ManagedPolicy(this.scope, `FhirAccess${this.policies.size}`, {
        description: `FHIR API access to ${this.scope.node.path} through the HealthLake endpoint`,
        roles: [role],
      });
      this.policies.set(role, policy);
    }
    return policy;
  }
}

/** The grantee's role, when it is one (a role the kit created, or a team's L2 or imported role). */
function asRole(principal: iam.IPrincipal): iam.IRole | undefined {
  const p = principal as Partial<iam.IRole>;
  return typeof p.roleArn === 'string' && typeof p.roleName === 'string' && typeof p.grantAssumeRole === 'function' ? (principal as iam.IRole) : undefined;
}

/** A principal whose grants land in one managed policy (attached to `target`'s role). */
class ManagedPolicyPrincipal extends iam.PrincipalBase {
  public override readonly assumeRoleAction: string;

  constructor(
    private readonly policy: iam.ManagedPolicy,
    private readonly target: iam.IPrincipal,
  ) {
    super();
    this.assumeRoleAction = target.assumeRoleAction;
  }

  public override get policyFragment(): iam.PrincipalPolicyFragment {
    return this.target.policyFragment;
  }

  public override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.policy.addStatements(statement);
    return { statementAdded: true, policyDependable: this.policy };
  }

  public override dedupeString(): string | undefined {
    return undefined;
  }
}
