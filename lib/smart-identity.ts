import { Duration, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ApiLifecycle } from '../lambdas/shared/api-lifecycle';
import { parseScope } from '../lambdas/shared/smart-scopes';
import { smartFacadeEnvironment, type FacadeClientsEnvironment, MAX_UPSTREAM_TIMEOUT_MS } from '../lambdas/smart-facade/environment';
import { smartLaunchContextEnvironment } from '../lambdas/smart-launch-context/environment';
import { RegisteredApp } from '../policies/app-registry';
import { acknowledge } from '../policies/compliance/acknowledge';
import { DeploymentEnvironment } from './config';
import { IFhirKeys } from './fhir-keys';
import { markImportedUse, recordImport } from '../policies/compliance/imported-resources';
import { KitFunction, settingsOf } from './private/kit-function';
import { ISegmentedNetwork } from './segmented-network';

/** Properties of {@link SmartIdentity}. */
export interface SmartIdentityProps {
  readonly keys: IFhirKeys;
  /** The pre-token trigger runs in the network's isolated subnets (it needs no network at all). */
  readonly network: ISegmentedNetwork;
  readonly environment: DeploymentEnvironment;
  /**
   * A user pool a platform team already has (`cognito.UserPool.fromUserPoolArn(...)`, or a pool
   * of another stack), instead of the one the kit creates. The kit adds to it what it adds to its
   * own: the SMART resource servers, the app clients (`SmartAppRegistry`), the managed-login
   * domain (the pool must not have a Cognito domain already), and creates the pre-token trigger
   * function with the permission for this pool to invoke it. It cannot change the pool's own
   * settings, and the rules that check them (FHIR.HIPAA-CognitoMFARequired,
   * -CognitoThreatProtection, -CognitoDeletionProtection, -CognitoNoSelfSignUp, AwsSolutions-COG1,
   * -COG2, -COG3, -COG8) read only a pool in the template. So the pool must already have: MFA
   * required (TOTP only), the Plus plan with threat protection enforced, deletion protection,
   * administrator-created accounts only (no self sign-up), a password policy of at least 14
   * characters of all four kinds, the custom attributes `fhirUser` and `patient` (mutable,
   * writable by administrators only), and `launchContextTrigger` as its pre-token-generation
   * trigger, event version V3_0 (without it tokens carry no launch context, labels or scope
   * suppression). The kit does not vouch for these: the compliance gate reports
   * `FHIR.HIPAA-ImportedResourceAttested[user-pool]` on the managed-login domain, listing them,
   * and the synth fails until it is acknowledged with how, when and by whom they were checked:
   * `acknowledge(identity, 'FHIR.HIPAA-ImportedResourceAttested[user-pool]', reason)` (or on
   * the stack).
   *
   * @default - a new user pool with the kit's settings (listed on the class)
   */
  readonly userPool?: cognito.IUserPool;
  /**
   * The registered third-party apps (`loadAppRegistry()`): their scopes define the resource
   * servers' scopes. Their app clients are created by `SmartAppRegistry`.
   */
  readonly apps: readonly RegisteredApp[];
  /**
   * Prefix of the managed-login domain (`https://<prefix>.auth.<region>.amazoncognito.com`).
   *
   * @default - derived from the construct path, unique per stack
   */
  readonly domainPrefix?: string;
  /**
   * Security labels each Cognito group's members are cleared for (the `labels` claim the
   * pre-token trigger sets), e.g. `{ "behavioral-health": ["PSY"] }`.
   *
   * @default - no group unlocks any label
   */
  readonly groupLabels?: Readonly<Record<string, readonly string[]>>;
  /**
   * Let people create their own accounts. Allowed only in `sandbox`; the kit's default is
   * administrator-created accounts only (patients are enrolled by identity proofing).
   *
   * @default false
   */
  readonly allowSelfSignUpInSandbox?: boolean;
  /** @default logs.RetentionDays.SIX_YEARS */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How long the SMART façade waits for one call to Cognito's OAuth endpoints (token, revoke)
   * before answering `503`. At most 20 seconds (API Gateway gives the façade 29).
   *
   * @default Duration.seconds(5)
   */
  readonly facadeUpstreamTimeout?: Duration;
}

/** What `FhirGateway` tells the SMART façade about the public API besides its URLs. */
export interface SmartFacadeApiOptions {
  /**
   * Browser origins the OAuth routes answer with CORS headers (the gateway's `corsAllowedOrigins`).
   * @default - none
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * The API versions served, a stage each, with their lifecycle (deprecation headers and
   * notice in discovery, 410 once gone); the base URLs then name the version as `{version}`.
   * @default - one unnamed version, active
   */
  readonly apiVersions?: readonly ApiLifecycle[];
}

/** The SMART scope contexts that are Cognito resource servers, besides `launch`. */
const CONTEXT_SERVERS = ['patient', 'user', 'system'] as const;

/**
 * Cognito as a SMART App Launch 2.2 authorization server:
 * - a user pool on the PLUS plan with threat protection enforced, MFA required (TOTP only),
 *   administrator-created accounts (self sign-up only in sandbox, by name), a 14-character
 *   password policy, deletion protection, and the custom attributes `fhirUser` and `patient`,
 *   which only administrators can set (SmartAppRegistry gives no client write access);
 * - resource servers `patient`, `user`, `system` whose scopes are the SMART suffixes the app
 *   registry uses (`Observation.rs`, `*.rs`, `Observation.rs?category=laboratory`: Cognito scope
 *   names cannot contain `/`, so granular restrictions name codes without a system URL), and
 *   `launch` (`patient`, `encounter`);
 * - the pre-token-generation trigger (V3_0) that puts `patient`, `fhirUser` and `labels` into the
 *   tokens and suppresses scopes the user may not hold;
 * - the SMART façade function (discovery, token, introspection, revocation) and the revocation
 *   table (DynamoDB, CMK, TTL) that the authorizer checks: a revoked token's `jti` until the
 *   token expires, its sign-in's `origin_jti` until no token of that sign-in can be valid (the
 *   app client's refresh-token validity, plus a day; `SmartAppRegistry` tells the façade each
 *   client's validity);
 * - the managed-login domain.
 */
export class SmartIdentity extends Construct {
  /**
   * The user pool: the kit's, or (with the `userPool` prop) the team's, imported into this
   * construct so that the resource servers, domain and app clients added to it live here.
   */
  public readonly userPool: cognito.IUserPool;
  /** Whether the user pool was brought by a platform team (`userPool`) rather than created here. */
  public readonly importedUserPool: boolean;
  public readonly domain: cognito.UserPoolDomain;
  /** The managed-login base URL, e.g. `https://<prefix>.auth.<region>.amazoncognito.com`. */
  public readonly domainUrl: string;
  public readonly resourceServers: Record<'patient' | 'user' | 'system' | 'launch', cognito.UserPoolResourceServer>;
  /**
   * Scope objects by SMART scope text (`patient/Observation.rs`, `launch/patient`), written as
   * literal strings (the resource server identifiers are fixed) so that policy rules can read
   * them; app clients depend on the resource servers for deployment order.
   */
  public readonly scopes: ReadonlyMap<string, cognito.OAuthScope>;
  public readonly launchContextTrigger: KitFunction;
  public readonly facade: KitFunction;
  public readonly revocationTable: dynamodb.Table;
  private readonly revocationTableKey: kms.IKey;
  /** Issuer of the pool's tokens. */
  public readonly issuer: string;
  private publicBaseUrls?: { fhirBaseUrl: string; authBaseUrl: string } & SmartFacadeApiOptions;
  private facadeClients?: FacadeClientsEnvironment;
  private readonly facadeUpstreamTimeoutMs?: number;
  private readonly scopesSupported: readonly string[];

  constructor(scope: Construct, id: string, props: SmartIdentityProps) {
    super(scope, id);
    if (props.allowSelfSignUpInSandbox && props.environment !== 'sandbox') {
      throw new Error(`SmartIdentity: allowSelfSignUpInSandbox is set in a ${props.environment} stack; self sign-up is allowed in sandbox only.`);
    }
    if (props.userPool !== undefined && (typeof props.userPool !== 'object' || typeof props.userPool.userPoolArn !== 'string')) {
      throw new Error('SmartIdentity: userPool is not a user pool; give cognito.UserPool.fromUserPoolArn(scope, \'UserPool\', \'arn:aws:cognito-idp:<region>:<account>:userpool/<pool id>\') or a UserPool.');
    }
    if (props.userPool !== undefined && props.allowSelfSignUpInSandbox !== undefined) {
      throw new Error('SmartIdentity: allowSelfSignUpInSandbox is a setting of the user pool the kit creates; an imported userPool keeps its own sign-up setting. Remove allowSelfSignUpInSandbox.');
    }
    const stack = Stack.of(this);
    const retention = props.logRetention ?? logs.RetentionDays.SIX_YEARS;
    const upstream = props.facadeUpstreamTimeout;
    if (upstream !== undefined && !Token.isUnresolved(upstream.toMilliseconds())) {
      const ms = upstream.toMilliseconds();
      if (ms < 1 || ms > MAX_UPSTREAM_TIMEOUT_MS) throw new Error(`SmartIdentity: facadeUpstreamTimeout is ${upstream.toHumanString()}; give 1 ms to ${MAX_UPSTREAM_TIMEOUT_MS / 1000} s (API Gateway gives the façade 29 s in all).`);
      this.facadeUpstreamTimeoutMs = ms;
    }

    // --- Pre-token trigger: no network needed, so it runs in the isolated subnets with a
    // security group that allows nothing out.
    const triggerSg = new ec2.SecurityGroup(this, 'LaunchContextSecurityGroup', {
      vpc: props.network.vpc,
      description: 'SMART launch-context trigger: no network access',
      allowAllOutbound: false,
    });
    this.launchContextTrigger = new KitFunction(this, 'LaunchContext', {
      handlerDir: 'smart-launch-context',
      description: 'SMART launch context (patient, fhirUser, labels) for Cognito tokens',
      logsKey: props.keys.logs,
      logRetention: retention,
      invocation: 'synchronous',
      timeout: Duration.seconds(5),
      environment: settingsOf('SmartIdentity', () => smartLaunchContextEnvironment({ groupLabels: props.groupLabels }, { isUnresolved: (v) => Token.isUnresolved(v) })),
      vpc: props.network.vpc,
      vpcSubnets: props.network.isolatedSubnets,
      securityGroups: [triggerSg],
    });

    this.importedUserPool = props.userPool !== undefined;
    this.userPool = props.userPool !== undefined ? importUserPool(this, props.userPool) : this.createUserPool(props);

    const domainPrefix = props.domainPrefix ?? defaultDomainPrefix(this);
    if (!Token.isUnresolved(domainPrefix) && (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(domainPrefix) || /aws|amazon|cognito/.test(domainPrefix))) {
      throw new Error(`SmartIdentity: domainPrefix "${domainPrefix}" must be 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen, and must not contain aws, amazon or cognito.`);
    }
    this.domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix },
      managedLoginVersion: cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });
    this.domainUrl = this.domain.baseUrl();
    this.issuer = `https://cognito-idp.${stack.region}.amazonaws.com/${this.userPool.userPoolId}`;

    // --- Resource servers: the SMART contexts, with exactly the scopes the registry uses.
    const scopes = new Map<string, cognito.OAuthScope>();
    const servers: Partial<Record<'patient' | 'user' | 'system' | 'launch', cognito.UserPoolResourceServer>> = {};
    for (const context of CONTEXT_SERVERS) {
      const names = new Set<string>();
      for (const app of props.apps) {
        for (const scopeText of app.scopes) {
          const parsed = parseScope(scopeText);
          if (parsed.kind === 'grant' && parsed.context === context) names.add(scopeText.slice(context.length + 1));
        }
      }
      const serverScopes = [...names].sort().map((name) => new cognito.ResourceServerScope({ scopeName: name, scopeDescription: `SMART ${context}/${name}`.slice(0, 256) }));
      const server = this.userPool.addResourceServer(`${capitalize(context)}ResourceServer`, {
        identifier: context,
        userPoolResourceServerName: `SMART ${context} scopes`,
        scopes: serverScopes,
      });
      servers[context] = server;
      for (const s of serverScopes) scopes.set(`${context}/${s.scopeName}`, cognito.OAuthScope.custom(`${context}/${s.scopeName}`));
    }
    const launchScopes = [
      new cognito.ResourceServerScope({ scopeName: 'patient', scopeDescription: 'SMART standalone launch: select a patient' }),
      new cognito.ResourceServerScope({ scopeName: 'encounter', scopeDescription: 'SMART standalone launch: select an encounter' }),
    ];
    servers.launch = this.userPool.addResourceServer('LaunchResourceServer', {
      identifier: 'launch',
      userPoolResourceServerName: 'SMART launch context',
      scopes: launchScopes,
    });
    for (const s of launchScopes) scopes.set(`launch/${s.scopeName}`, cognito.OAuthScope.custom(`launch/${s.scopeName}`));
    this.resourceServers = servers as Record<'patient' | 'user' | 'system' | 'launch', cognito.UserPoolResourceServer>;
    this.scopes = scopes;

    // --- Revocation table: a revoked access token's jti until it expires; its origin_jti (the
    // sign-in) until no token refreshed from that sign-in can be valid (the façade computes both
    // expiries; `expiresAt` is the TTL attribute).
    this.revocationTableKey = props.keys.data;
    this.revocationTable = new dynamodb.Table(this, 'RevocationTable', {
      partitionKey: { name: 'jti', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.keys.data,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.revocationTable,
      'HIPAA.Security-DynamoDBInBackupPlan',
      'The revocation table holds only revoked token and sign-in ids, each expiring when no token it names can be valid (a token id with its token, at most 60 minutes; a sign-in id after its app client\'s refresh-token validity plus a day); point-in-time recovery is on and deletion protection too. A backup plan would restore entries that have already expired.',
    );

    // --- SMART façade: one function, four routes. It calls Cognito's public OAuth endpoints,
    // which PrivateLink does not serve, so it runs outside the VPC; it handles tokens, no PHI.
    this.facade = new KitFunction(this, 'Facade', {
      handlerDir: 'smart-facade',
      handler: 'router',
      description: 'SMART façade: discovery, token, introspection, revocation',
      logsKey: props.keys.logs,
      logRetention: retention,
      invocation: 'synchronous',
      timeout: Duration.seconds(10),
      // Written once the public URLs (FhirGateway) and the clients (SmartAppRegistry) are known:
      // smart-facade/environment.ts, updateFacadeEnvironment().
    });
    this.scopesSupported = ['openid', 'fhirUser', 'offline_access', 'online_access', 'launch/patient', ...[...scopes.keys()].filter((s) => !s.startsWith('launch/'))];
    this.grantRevocationTable(this.facade, true);
    this.node.addValidation({
      validate: () => [
        ...(this.publicBaseUrls ? [] : ['SmartIdentity: the public FHIR and auth base URLs were never set; call setPublicBaseUrls() (FhirGateway does) so the SMART discovery document advertises them.']),
        ...(this.facadeClients ? [] : ['SmartIdentity: no app client was registered with the SMART façade; create a SmartAppRegistry with this identity (it calls setFacadeClients()).']),
      ],
    });
    acknowledge(
      this.facade.fn,
      'HIPAA.Security-LambdaInsideVPC',
      "The SMART façade forwards OAuth requests to Cognito's managed-login token and revocation endpoints, which are public endpoints not served through PrivateLink; it handles tokens and client credentials, never PHI, and has no route to HealthLake (its role grants only the revocation table).",
    );
    if (this.importedUserPool) this.recordImportedPool(props);
  }

  /**
   * The import's record, on this construct and on the domain's L1, where
   * FHIR.HIPAA-ImportedResourceAttested reports it (`[user-pool]`, with the requirements below);
   * and the pool's permission to invoke the trigger, which the team sets on its pool.
   */
  private recordImportedPool(props: SmartIdentityProps): void {
    this.launchContextTrigger.fn.addPermission('UserPoolInvoke', {
      principal: new iam.ServicePrincipal('cognito-idp.amazonaws.com'),
      sourceArn: this.userPool.userPoolArn,
    });
    const record = recordImport(this, 'user-pool', {
      resources: [this.userPool.userPoolArn],
      requirements: [
        'the pool requires MFA (TOTP only);',
        'it is on the Plus plan with threat protection enforced (full function);',
        'it has deletion protection;',
        `only administrators create accounts (no self sign-up${props.environment === 'production' ? ', required in production' : ''});`,
        'its password policy asks for at least 14 characters of all four kinds;',
        'it has the custom attributes fhirUser and patient, writable by administrators only;',
        `its pre-token-generation trigger (event version V3_0) is this construct's launch-context function (${this.launchContextTrigger.fn.node.path});`,
        'it had no Cognito domain before the kit added its managed-login domain.',
      ],
      rulesThatCannotSee: ['FHIR.HIPAA-CognitoMFARequired', 'FHIR.HIPAA-CognitoThreatProtection', 'FHIR.HIPAA-CognitoDeletionProtection', 'FHIR.HIPAA-CognitoNoSelfSignUp', 'AwsSolutions-COG1', 'AwsSolutions-COG2', 'AwsSolutions-COG3', 'AwsSolutions-COG8'],
    });
    markImportedUse(this.domain.node.defaultChild ?? this.domain, this, record.kind);
  }

  /** The kit's user pool, with the pre-token trigger. */
  private createUserPool(props: SmartIdentityProps): cognito.UserPool {
    const pool = new cognito.UserPool(this, 'UserPool', {
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      selfSignUpEnabled: props.environment === 'sandbox' && props.allowSelfSignUpInSandbox === true,
      signInAliases: { email: true },
      autoVerify: { email: true },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
        passwordHistorySize: 24,
      },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      customAttributes: {
        // Set by administrators (identity proofing / enrollment); no app client may write them.
        fhirUser: new cognito.StringAttribute({ minLen: 3, maxLen: 128, mutable: true }),
        patient: new cognito.StringAttribute({ minLen: 1, maxLen: 64, mutable: true }),
      },
    });
    pool.addTrigger(cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, this.launchContextTrigger.fn, cognito.LambdaVersion.V3_0);
    // Cognito sends SMS only for MFA by SMS, which the kit turns off; without an SMS role the
    // pool cannot send SMS at all.
    return pool;
  }

  /**
   * Read (the authorizer) or read and write (the façade) access to the revocation table: the
   * item actions the revocation store uses and the table key's decrypt (and data-key) actions,
   * named exactly rather than the L2's wildcard grants.
   */
  public grantRevocationTable(grantee: iam.IGrantable, write: boolean): void {
    this.revocationTable.grant(grantee, 'dynamodb:GetItem', ...(write ? ['dynamodb:PutItem'] : []));
    this.revocationTableKey.grant(grantee, 'kms:Decrypt', ...(write ? ['kms:GenerateDataKey'] : []));
  }

  /**
   * The public URLs the SMART façade advertises (discovery) and lifts into token responses: the
   * FHIR base (e.g. `https://fhir.example.org/r4`) and the OAuth routes' base (e.g.
   * `https://fhir.example.org/auth`). `FhirGateway` sets them from its custom domain or stage URL,
   * with its CORS origins and the API version's lifecycle (`options`).
   */
  public setPublicBaseUrls(fhirBaseUrl: string, authBaseUrl: string, options: SmartFacadeApiOptions = {}): void {
    if (this.publicBaseUrls) throw new Error('SmartIdentity.setPublicBaseUrls: the public base URLs are already set.');
    this.publicBaseUrls = { fhirBaseUrl, authBaseUrl, ...options };
    this.updateFacadeEnvironment();
  }

  /**
   * The registered app clients the SMART façade serves, by client id (`SmartAppRegistry` sets
   * them): whether each is confidential, may introspect, and how long its sign-ins last.
   */
  public setFacadeClients(clients: FacadeClientsEnvironment): void {
    if (this.facadeClients) throw new Error('SmartIdentity.setFacadeClients: the façade\'s clients are already set (one SmartAppRegistry per SmartIdentity).');
    this.facadeClients = clients;
    this.updateFacadeEnvironment();
  }

  /** Writes the façade's environment (smart-facade/environment.ts) once everything it names is known. */
  private updateFacadeEnvironment(): void {
    if (!this.publicBaseUrls || !this.facadeClients) return;
    const { fhirBaseUrl, authBaseUrl, allowedOrigins, apiVersions } = this.publicBaseUrls;
    const environment = settingsOf('SmartIdentity', () =>
      smartFacadeEnvironment(
        {
          fhirBaseUrl,
          authBaseUrl,
          cognitoDomainUrl: this.domainUrl,
          userPoolId: this.userPool.userPoolId,
          clients: this.facadeClients!,
          revocationTable: this.revocationTable.tableName,
          scopesSupported: this.scopesSupported,
          ...(allowedOrigins !== undefined ? { allowedOrigins } : {}),
          ...(this.facadeUpstreamTimeoutMs !== undefined ? { upstreamTimeoutMs: this.facadeUpstreamTimeoutMs } : {}),
          ...(apiVersions !== undefined ? { apiVersions } : {}),
        },
        { toJson: (v) => Stack.of(this).toJsonString(v), isUnresolved: (v) => Token.isUnresolved(v) },
      ),
    );
    for (const [name, value] of Object.entries(environment)) this.facade.fn.addEnvironment(name, value);
  }
}

/**
 * The team's pool, imported again under `identity` (by ARN) so that what the kit adds to it
 * (resource servers, domain, app clients) is created in the identity's stack, wherever the team
 * made its reference.
 */
function importUserPool(identity: SmartIdentity, pool: cognito.IUserPool): cognito.IUserPool {
  return cognito.UserPool.fromUserPoolArn(identity, 'UserPool', pool.userPoolArn);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A domain prefix unique to this construct in its account and region, without forbidden words. */
function defaultDomainPrefix(scope: Construct): string {
  const unique = Names.uniqueResourceName(scope, { maxLength: 50, separator: '-' }).toLowerCase().replace(/[^a-z0-9-]/g, '');
  return `ztf-${unique}`.replace(/aws|amazon|cognito/g, 'x').replace(/-+$/, '').slice(0, 63);
}
