import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { FhirKeys, SegmentedNetwork, SmartAppRegistry, SmartIdentity } from '../../lib';
import { loadAppRegistry, TIER_DEFAULTS } from '../../policies/app-registry';
import { createCompliancePacks } from '../../policies';
import { facadeClientsOf } from '../../lambdas/smart-facade/environment';
import { createTestApp } from '../helpers/app';

const apps = loadAppRegistry();
const stack = new Stack(createTestApp(), 'IdStack');
const keys = new FhirKeys(stack, 'Keys');
const network = new SegmentedNetwork(stack, 'Network', { keys });
const identity = new SmartIdentity(stack, 'Identity', {
  keys,
  network,
  environment: 'staging',
  apps,
  groupLabels: { 'behavioral-health': ['PSY'] },
});
identity.setPublicBaseUrls('https://fhir.example.org/r4', 'https://fhir.example.org/auth');
const registry = new SmartAppRegistry(stack, 'Apps', { identity, apps });
const template = Template.fromStack(stack);
const clients = Object.values(template.findResources('AWS::Cognito::UserPoolClient')).map((c) => c.Properties);
const clientOf = (appId: string) => clients.find((c) => c.ClientName === appId)!;

describe('SmartIdentity: the user pool', () => {
  test('is on the PLUS plan with threat protection enforced', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', { UserPoolTier: 'PLUS', UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' } });
  });
  test('requires MFA, TOTP only', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', { MfaConfiguration: 'ON', EnabledMfas: ['SOFTWARE_TOKEN_MFA'] });
  });
  test('has no self sign-up', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', { AdminCreateUserConfig: { AllowAdminCreateUserOnly: true } });
  });
  test('has a strong password policy', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: { PasswordPolicy: Match.objectLike({ MinimumLength: 14, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true }) },
    });
  });
  test('has deletion protection and is retained', () => {
    template.hasResource('AWS::Cognito::UserPool', { Properties: Match.objectLike({ DeletionProtection: 'ACTIVE' }), DeletionPolicy: 'Retain' });
  });
  test('defines the custom launch attributes fhirUser and patient', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Schema: Match.arrayWith([Match.objectLike({ Name: 'fhirUser', AttributeDataType: 'String' }), Match.objectLike({ Name: 'patient', AttributeDataType: 'String' })]),
    });
  });
  test('calls the launch-context trigger (V3_0) before issuing tokens', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      LambdaConfig: { PreTokenGenerationConfig: { LambdaArn: stack.resolve(identity.launchContextTrigger.fn.functionArn), LambdaVersion: 'V3_0' } },
    });
  });
  test('has a managed-login domain', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { ManagedLoginVersion: 2 });
  });
  test('self sign-up can be opened in sandbox only, by name', () => {
    const s = new Stack(createTestApp(), 'Sandbox');
    const k = new FhirKeys(s, 'Keys');
    const n = new SegmentedNetwork(s, 'N', { keys: k });
    const id = new SmartIdentity(s, 'Id', { keys: k, network: n, environment: 'sandbox', apps, allowSelfSignUpInSandbox: true });
    id.setPublicBaseUrls('https://x.example/r4', 'https://x.example/auth');
    new SmartAppRegistry(s, 'Apps', { identity: id, apps });
    Template.fromStack(s).hasResourceProperties('AWS::Cognito::UserPool', { AdminCreateUserConfig: { AllowAdminCreateUserOnly: false } });
    const p = new Stack(createTestApp(), 'Prod');
    const pk = new FhirKeys(p, 'Keys');
    expect(
      () => new SmartIdentity(p, 'Id', { keys: pk, network: new SegmentedNetwork(p, 'N', { keys: pk }), environment: 'production', apps, allowSelfSignUpInSandbox: true }),
    ).toThrow(/sandbox only/);
  });
});

describe('SmartIdentity: resource servers', () => {
  test.each(['patient', 'user', 'system', 'launch'])('%s is a resource server', (identifier) => {
    template.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', { Identifier: identifier });
  });
  test('scope names are the SMART suffixes the registry uses, granular ones included', () => {
    const servers = Object.values(template.findResources('AWS::Cognito::UserPoolResourceServer')).map((r) => r.Properties);
    const names = (id: string) => servers.find((s) => s.Identifier === id)!.Scopes.map((s: { ScopeName: string }) => s.ScopeName).sort();
    expect(names('patient')).toContain('Observation.rs');
    expect(names('user')).toContain('Observation.rs?category=laboratory');
    expect(names('launch')).toEqual(['encounter', 'patient']);
    for (const name of [...names('patient'), ...names('user'), ...names('system')]) expect(name).not.toMatch(/[/"\\]/);
  });
});

describe('SmartAppRegistry: one app client per registered app', () => {
  test('one client per app', () => {
    expect(clients.map((c) => c.ClientName).sort()).toEqual(apps.map((a) => a.id).sort());
  });
  test('no client allows the implicit flow', () => {
    for (const c of clients) expect(c.AllowedOAuthFlows).not.toContain('implicit');
  });
  test('user-facing apps use the authorization code flow only', () => {
    for (const app of apps.filter((a) => !a.scopes.every((s) => s.startsWith('system/')))) {
      expect(clientOf(app.id).AllowedOAuthFlows).toEqual(['code']);
      expect(clientOf(app.id).CallbackURLs).toEqual(app.redirectUris);
    }
  });
  test('client credentials only for confidential system/ apps, which get a secret', () => {
    for (const c of clients.filter((c) => c.AllowedOAuthFlows.includes('client_credentials'))) {
      const app = apps.find((a) => a.id === c.ClientName)!;
      expect(app.clientType).toBe('confidential');
      expect(app.scopes.every((s) => s.startsWith('system/'))).toBe(true);
      expect(c.AllowedOAuthFlows).toEqual(['client_credentials']);
    }
    for (const app of apps) expect(clientOf(app.id).GenerateSecret ?? false).toBe(app.clientType === 'confidential');
  });
  test('allowed scopes are exactly the registered ones that Cognito can represent', () => {
    for (const app of apps) {
      const expected = app.scopes.filter((s) => !['fhirUser', 'offline_access', 'online_access'].includes(s)).sort();
      expect([...clientOf(app.id).AllowedOAuthScopes].sort()).toEqual(expected);
    }
  });
  test('token validity follows the risk tier and never exceeds 60 minutes', () => {
    for (const app of apps) {
      const c = clientOf(app.id);
      expect(c.TokenValidityUnits).toMatchObject({ AccessToken: 'minutes', IdToken: 'minutes' });
      expect(c.AccessTokenValidity).toBe(TIER_DEFAULTS[app.tier].accessTokenMinutes);
      expect(c.IdTokenValidity).toBe(TIER_DEFAULTS[app.tier].idTokenMinutes);
      expect(c.AccessTokenValidity).toBeLessThanOrEqual(60);
    }
  });
  test('long-lived refresh tokens only with offline_access', () => {
    for (const app of apps) {
      const c = clientOf(app.id);
      const minutes = c.TokenValidityUnits.RefreshToken === 'days' ? c.RefreshTokenValidity * 1440 : c.RefreshTokenValidity;
      if (app.scopes.includes('offline_access')) expect(minutes).toBe(TIER_DEFAULTS[app.tier].refreshTokenDays * 1440);
      else expect(minutes).toBe(60);
    }
  });
  test('revocation on, user-existence errors prevented, refresh the only API flow', () => {
    for (const c of clients) {
      expect(c.EnableTokenRevocation).toBe(true);
      expect(c.PreventUserExistenceErrors).toBe('ENABLED');
      expect(c.ExplicitAuthFlows).toEqual(['ALLOW_REFRESH_TOKEN_AUTH']);
    }
  });
  test('no client may write any attribute, launch attributes included', () => {
    for (const c of clients) {
      expect(c.WriteAttributes).toEqual([]);
      expect(c.ReadAttributes).toEqual(expect.arrayContaining(['custom:fhirUser', 'custom:patient']));
    }
  });
  test('the façade knows every registered client', () => {
    const fn = template.toJSON().Resources[stack.getLogicalId(identity.facade.fn.node.defaultChild as never)];
    expect(JSON.stringify(fn.Properties.Environment.Variables.CLIENTS)).toContain(stack.getLogicalId(registry.clients.get(apps[0].id)!.node.defaultChild as never));
  });
  test('the façade knows each client’s refresh-token validity, in seconds (how long a revoked sign-in stays revoked)', () => {
    const fn = template.toJSON().Resources[stack.getLogicalId(identity.facade.fn.node.defaultChild as never)];
    // CLIENTS is a client list joined around the client ids ({ Ref }); read it back with the logical ids in their place.
    const joined = fn.Properties.Environment.Variables.CLIENTS['Fn::Join'][1] as Array<string | { Ref: string }>;
    const facadeClients = facadeClientsOf(joined.map((part) => (typeof part === 'string' ? part : part.Ref)).join(''));
    for (const app of apps) {
      const c = clientOf(app.id);
      const seconds = c.RefreshTokenValidity * (c.TokenValidityUnits.RefreshToken === 'days' ? 86_400 : 60);
      const logicalId = stack.getLogicalId(registry.clients.get(app.id)!.node.defaultChild as never);
      // offlineAccess false is written as absent (its default).
      expect(facadeClients[logicalId]).toEqual({ confidential: app.clientType === 'confidential', introspection: app.clientType === 'confidential', refreshTokenValiditySeconds: seconds, ...(app.scopes.includes('offline_access') ? { offlineAccess: true } : {}) });
      expect(registry.registrations.find((r) => r.appId === app.id)!.refreshTokenValiditySeconds).toBe(seconds);
    }
  });
});

describe('SmartIdentity: revocation table and functions', () => {
  test('the revocation table is CMK-encrypted, expires entries with their tokens, and recovers to a point in time', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: stack.resolve(keys.data.keyArn) },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });
  test('the launch-context trigger runs in the isolated subnets with no egress', () => {
    const fn = template.toJSON().Resources[stack.getLogicalId(identity.launchContextTrigger.fn.node.defaultChild as never)];
    expect(fn.Properties.VpcConfig.SubnetIds).toBeDefined();
    const sg = Object.values(template.findResources('AWS::EC2::SecurityGroup')).find((r) => r.Properties.GroupDescription.startsWith('SMART launch-context'))!;
    for (const rule of sg.Properties.SecurityGroupEgress) expect(rule.CidrIp).toBe('255.255.255.255/32');
  });
  test('the façade routes through one handler and can touch only the revocation table', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.router' });
    const policy = template.toJSON().Resources[stack.getLogicalId(identity.facade.role.policy.node.defaultChild as never)];
    const resources = JSON.stringify(policy.Properties.PolicyDocument.Statement.filter((s: { Action: string | string[] }) => JSON.stringify(s.Action).includes('dynamodb')));
    expect(resources).toContain(stack.getLogicalId(identity.revocationTable.node.defaultChild as never));
  });
});

describe('SmartIdentity: configuration errors', () => {
  test('the public base URLs must be set before synth', () => {
    const s = new Stack(createTestApp(), 'NoUrls');
    const k = new FhirKeys(s, 'Keys');
    new SmartIdentity(s, 'Id', { keys: k, network: new SegmentedNetwork(s, 'N', { keys: k }), environment: 'staging', apps });
    expect(() => Template.fromStack(s)).toThrow(/setPublicBaseUrls/);
  });
});

describe('identity and registry pass the compliance packs', () => {
  test('zero unacknowledged findings', () => {
    const findings = createCompliancePacks().flatMap((p) => p.validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`)));
    expect(findings).toEqual([]);
  });
});

describe('an app registered for some environments only', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { setDeploymentEnvironment } = require('../../policies/compliance/environment') as typeof import('../../policies/compliance/environment');
  const build = (environment: 'sandbox' | 'staging' | 'production', environments?: ('sandbox' | 'staging' | 'production')[]) => {
    const s = new Stack(createTestApp(), `Envs${environment}${(environments ?? ['any']).join('')}`);
    setDeploymentEnvironment(s, environment);
    const k = new FhirKeys(s, 'Keys');
    const appsHere = apps.map((a, i) => (i === 0 && environments ? { ...a, environments } : a));
    const id = new SmartIdentity(s, 'Id', { keys: k, network: new SegmentedNetwork(s, 'N', { keys: k }), environment, apps: appsHere });
    return () => new SmartAppRegistry(s, 'Apps', { identity: id, apps: appsHere });
  };

  test.each(['staging', 'production'] as const)('a sandbox-only app cannot be in a %s registry: the synth fails naming the app and the fix', (environment) => {
    expect(build(environment, ['sandbox'])).toThrow(new RegExp(`app "${apps[0].id}" is registered for sandbox only, and this stack is ${environment}\\. Remove it from the registry this stack bundles, or register it for ${environment}`));
  });

  test('in sandbox it is registered; an app without environments is registered anywhere', () => {
    expect(build('sandbox', ['sandbox'])).not.toThrow();
    expect(build('staging')).not.toThrow();
  });
});
