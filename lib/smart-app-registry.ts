import { Duration, Names, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { parseScope, SCOPES_WITHOUT_COGNITO_SCOPE } from '../lambdas/shared/smart-scopes';
import type { FacadeClientsEnvironment } from '../lambdas/smart-facade/environment';
import { AppRegistryDocument, RegisteredApp, TIER_DEFAULTS } from '../policies/app-registry';
import { markRegisteredApp } from '../policies/compliance/registered-apps';
import { deploymentEnvironmentOf } from '../policies/compliance/environment';
import { SmartIdentity } from './smart-identity';

/** Properties of {@link SmartAppRegistry}. */
export interface SmartAppRegistryProps {
  readonly identity: SmartIdentity;
  /**
   * The team's app registry, validated when it is made: `AppRegistryDocument.fromFile('config/apps.json')`
   * (a file in your repository), `AppRegistryDocument.fromObject({ apps: [...] })`, or
   * `AppRegistryDocument.fromApps(apps)`. `FhirGateway` bundles this same registry into the FHIR
   * proxy's asset, and the reviewer's report shows it.
   *
   * @default - `apps` when given, else the kit's sample registry (`AppRegistryDocument.sample()`,
   *   `policies/apps.json`), which names example apps: give your own before you deploy
   */
  readonly registry?: AppRegistryDocument;
  /**
   * The registered apps as parsed entries (`loadAppRegistry(file)`); validated again like
   * `AppRegistryDocument.fromApps(apps)`. Give `registry` or `apps`, not both.
   *
   * @default - `registry`
   */
  readonly apps?: readonly RegisteredApp[];
}


/** What the authorizer and the façade need to know of one registered client. */
export interface ClientRegistration {
  readonly appId: string;
  readonly clientId: string;
  readonly tier: RegisteredApp['tier'];
  readonly confidential: boolean;
  /** The value of the app's API key: the authorizer returns it as `usageIdentifierKey`. */
  readonly usageIdentifierKey: string;
  /**
   * The app client's refresh-token validity in seconds: the façade keeps a revoked sign-in
   * revoked for at least this long.
   */
  readonly refreshTokenValiditySeconds: number;
  /** Whether the app is registered for `offline_access` (the façade's authorize endpoint refuses it otherwise). */
  readonly offlineAccess: boolean;
}

/**
 * One Cognito app client per registered app, created exactly as registered:
 * - authorization code (with PKCE, enforced by the façade) for apps with users, never implicit;
 *   client credentials only for confidential apps whose scopes are all `system/` (Cognito does
 *   not allow both grants on one client);
 * - allowed scopes exactly the registered ones (`fhirUser` and `offline_access` have no Cognito
 *   scope: the trigger adds the claim, and refresh tokens last 60 minutes unless
 *   `offline_access` is registered);
 * - access and ID tokens by risk tier (at most 60 minutes), token revocation on, user-existence
 *   errors prevented, no SRP or password API flows, read access to the launch attributes and
 *   write access to none;
 * - an API key and a usage plan per app (rate, burst, daily quota by tier) once
 *   {@link addUsagePlans} is given the API stage; the key source is the authorizer, which
 *   returns the calling client's key as `usageIdentifierKey`.
 * Removing an app from the registry removes its client: that is offboarding.
 */
export class SmartAppRegistry extends Construct {
  /** App clients by app id. */
  public readonly clients: ReadonlyMap<string, cognito.UserPoolClient>;
  /** Managed-login branding (Cognito's defaults) per app client, required by managed login. */
  public readonly brandings: ReadonlyMap<string, cognito.CfnManagedLoginBranding>;
  public readonly apiKeys = new Map<string, apigateway.ApiKey>();
  public readonly usagePlans = new Map<string, apigateway.UsagePlan>();
  public readonly registrations: readonly ClientRegistration[];
  /** The registry the clients were made from: what `FhirGateway` bundles into the FHIR proxy's asset. */
  public readonly appRegistry: AppRegistryDocument;
  private readonly apps: readonly RegisteredApp[];

  constructor(scope: Construct, id: string, props: SmartAppRegistryProps) {
    super(scope, id);
    if (props.registry !== undefined && !AppRegistryDocument.isAppRegistryDocument(props.registry)) {
      throw new Error("SmartAppRegistry: registry must be an AppRegistryDocument: AppRegistryDocument.fromFile('config/apps.json') or AppRegistryDocument.fromObject({ apps: [...] }).");
    }
    if (props.registry !== undefined && props.apps !== undefined) {
      throw new Error('SmartAppRegistry: give registry or apps, not both (AppRegistryDocument.fromApps(apps) makes a registry of parsed entries).');
    }
    this.appRegistry = props.registry ?? (props.apps !== undefined ? registryOfApps(props.apps) : AppRegistryDocument.sample());
    this.apps = this.appRegistry.apps;
    // An app registered for some environments only (a sandbox-only app, say) never reaches another.
    const environment = deploymentEnvironmentOf(this);
    for (const app of this.apps) {
      if (environment !== undefined && app.environments !== undefined && !app.environments.includes(environment)) {
        throw new Error(
          `SmartAppRegistry ${this.node.path}: app "${app.id}" is registered for ${app.environments.join(', ')} only, and this stack is ${environment}. Remove it from the registry this stack bundles, or register it for ${environment} (in production with its BAA and a current security assessment).`,
        );
      }
    }
    const identity = props.identity;
    const clients = new Map<string, cognito.UserPoolClient>();
    const brandings = new Map<string, cognito.CfnManagedLoginBranding>();
    const registrations: ClientRegistration[] = [];
    const suffix = Names.uniqueId(this).slice(-12).toLowerCase();

    for (const app of this.apps) {
      const tier = TIER_DEFAULTS[app.tier];
      const systemOnly = app.scopes.every((s) => s.startsWith('system/'));
      const cognitoScopes: cognito.OAuthScope[] = [];
      for (const scopeText of app.scopes) {
        if (scopeText === 'openid') cognitoScopes.push(cognito.OAuthScope.OPENID);
        else if (scopeText === 'profile') cognitoScopes.push(cognito.OAuthScope.PROFILE);
        // No Cognito counterpart: the pre-token trigger sets the fhirUser claim; the refresh-token
        // lifetime stands in for offline_access/online_access (60 minutes without offline_access).
        else if ((SCOPES_WITHOUT_COGNITO_SCOPE as readonly string[]).includes(scopeText)) continue;
        else {
          const mapped = identity.scopes.get(scopeText);
          const parsed = parseScope(scopeText);
          if (!mapped || parsed.kind === 'rejected') {
            throw new Error(`SmartAppRegistry: app "${app.id}" scope "${scopeText}" has no Cognito scope; register SMART resource or launch scopes only.`);
          }
          cognitoScopes.push(mapped);
        }
      }
      const refreshTokenValidity = app.scopes.includes('offline_access') ? Duration.days(tier.refreshTokenDays) : Duration.minutes(60);
      const client = identity.userPool.addClient(app.id, {
        userPoolClientName: app.id,
        generateSecret: app.clientType === 'confidential',
        authFlows: {},
        oAuth: {
          flows: systemOnly ? { clientCredentials: true } : { authorizationCodeGrant: true },
          scopes: cognitoScopes,
          callbackUrls: systemOnly ? undefined : [...app.redirectUris],
        },
        supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
        preventUserExistenceErrors: true,
        enableTokenRevocation: true,
        accessTokenValidity: Duration.minutes(tier.accessTokenMinutes),
        idTokenValidity: Duration.minutes(tier.idTokenMinutes),
        refreshTokenValidity,
        readAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true, emailVerified: true }).withCustomAttributes('fhirUser', 'patient'),
        writeAttributes: new cognito.ClientAttributes(),
      });
      for (const server of Object.values(identity.resourceServers)) client.node.addDependency(server);
      // Only refresh through the OAuth token endpoint: no SRP, password or custom API flows.
      (client.node.defaultChild as cognito.CfnUserPoolClient).explicitAuthFlows = ['ALLOW_REFRESH_TOKEN_AUTH'];
      markRegisteredApp(client, app);
      clients.set(app.id, client);

      if (!systemOnly) {
        brandings.set(
          app.id,
          new cognito.CfnManagedLoginBranding(this, `${app.id}-branding`, {
            userPoolId: identity.userPool.userPoolId,
            clientId: client.userPoolClientId,
            useCognitoProvidedValues: true,
          }),
        );
      }
      registrations.push({
        appId: app.id,
        clientId: client.userPoolClientId,
        tier: app.tier,
        confidential: app.clientType === 'confidential',
        usageIdentifierKey: `ztf-usage-${app.id}-${suffix}`,
        refreshTokenValiditySeconds: refreshTokenValidity.toSeconds(),
        offlineAccess: app.scopes.includes('offline_access'),
      });
    }
    this.clients = clients;
    this.brandings = brandings;
    this.registrations = registrations;

    // The façade learns the registered clients (confidential ones may use client credentials
    // and introspection) and how long each one's sign-ins can be refreshed (a revoked sign-in
    // stays revoked that long).
    const facadeClients: FacadeClientsEnvironment = Object.fromEntries(
      registrations.map((r) => [r.clientId, { confidential: r.confidential, introspection: r.confidential, refreshTokenValiditySeconds: r.refreshTokenValiditySeconds, offlineAccess: r.offlineAccess }]),
    );
    identity.setFacadeClients(facadeClients);
  }

  /**
   * Creates, per app, an API key (its value is the usage identifier the authorizer returns) and a
   * usage plan on `stage` with the app's throttle and daily quota.
   */
  public addUsagePlans(...stages: apigateway.Stage[]): void {
    if (stages.length === 0) throw new Error('SmartAppRegistry.addUsagePlans: give the API stage(s) the plans cover.');
    for (const app of this.apps) {
      const registration = this.registrations.find((r) => r.appId === app.id)!;
      const key = new apigateway.ApiKey(this, `${app.id}-key`, {
        description: `Usage identifier of ${app.name} (${app.id}); not a credential: the authorizer chooses it from the verified token`,
        value: registration.usageIdentifierKey,
        enabled: true,
      });
      const plan = new apigateway.UsagePlan(this, `${app.id}-plan`, {
        name: `${Stack.of(this).stackName}-${app.id}`,
        description: `${app.name}: ${app.tier} risk tier`,
        throttle: { rateLimit: app.throttle.rateLimit, burstLimit: app.throttle.burstLimit },
        quota: { limit: app.throttle.quotaPerDay, period: apigateway.Period.DAY },
        apiStages: stages.map((stage) => ({ api: stage.restApi, stage })),
      });
      plan.addApiKey(key);
      this.apiKeys.set(app.id, key);
      this.usagePlans.set(app.id, plan);
    }
  }
}

/** The registry of parsed entries; an invalid one fails naming the prop. */
function registryOfApps(apps: readonly RegisteredApp[]): AppRegistryDocument {
  try {
    return AppRegistryDocument.fromApps(apps, 'apps');
  } catch (err) {
    throw new Error(`SmartAppRegistry: ${(err as Error).message}`);
  }
}
