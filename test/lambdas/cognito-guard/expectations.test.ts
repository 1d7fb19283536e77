import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  CLIENT_CHANGE_EVENTS, DRIFT_KINDS, EXPIRY_WARNING_DAYS, NOT_COGNITO_SCOPES, clientChangeEventPattern, clientDrift, cognitoScopeOf, expectedClient,
  registryExpiries, validitySeconds, type DescribedClient, type RegistryEntry,
} from '../../../lambdas/cognito-guard/expectations';
import { FhirKeys, SegmentedNetwork, SmartAppRegistry, SmartIdentity } from '../../../lib';
import { TIER_DEFAULTS } from '../../../policies/app-registry';
import { createTestApp } from '../../helpers/app';
import { APPS, app, compliantClient } from './fixtures';

describe('expectedClient: what SmartAppRegistry must deploy for an entry', () => {
  test('a public app with users: code flow, its Cognito scopes, its redirect URIs, tier validities, no secret', () => {
    const e = expectedClient(app('harbor-patient-portal'));
    expect(e).toEqual({
      appId: 'harbor-patient-portal',
      clientName: 'harbor-patient-portal',
      allowedOAuthFlowsUserPoolClient: true,
      allowedOAuthFlows: ['code'],
      allowedOAuthScopes: [
        'launch/patient', 'openid', 'patient/AllergyIntolerance.rs', 'patient/Condition.rs', 'patient/Immunization.rs', 'patient/MedicationRequest.rs',
        'patient/Observation.rs', 'patient/Patient.rs',
      ],
      callbackUrls: ['https://portal.harbor-health.example/smart/callback'],
      logoutUrls: [],
      accessTokenValiditySeconds: 3600,
      idTokenValiditySeconds: 3600,
      refreshTokenValiditySeconds: TIER_DEFAULTS.low.refreshTokenDays * 86_400,
      enableTokenRevocation: true,
      explicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
      generateSecret: false,
    });
  });

  test('a confidential system-only app: client credentials, no callback URLs, a secret, 60-minute refresh without offline_access', () => {
    const e = expectedClient(app('summit-payer-bulk'));
    expect(e).toMatchObject({ allowedOAuthFlows: ['client_credentials'], callbackUrls: [], generateSecret: true, refreshTokenValiditySeconds: 3600, accessTokenValiditySeconds: 15 * 60 });
  });

  test('granular scopes keep their restriction; fhirUser, offline_access and online_access have no Cognito scope', () => {
    expect(expectedClient(app('cardio-insight')).allowedOAuthScopes).toEqual(expect.arrayContaining(['user/Observation.rs?category=laboratory']));
    for (const s of NOT_COGNITO_SCOPES) expect(cognitoScopeOf(s)).toBeUndefined();
    expect(() => cognitoScopeOf('launch', 'x')).toThrow(/app "x" scope "launch" has no Cognito scope/);
  });

  describe('and what SmartAppRegistry synthesizes has no drift from it', () => {
    const stack = new Stack(createTestApp(), 'GuardExpectations');
    const keys = new FhirKeys(stack, 'Keys');
    const network = new SegmentedNetwork(stack, 'Network', { keys });
    const identity = new SmartIdentity(stack, 'Identity', { keys, network, environment: 'staging', apps: APPS, groupLabels: { 'behavioral-health': ['PSY'] } });
    identity.setPublicBaseUrls('https://fhir.example.org/r4', 'https://fhir.example.org/auth');
    new SmartAppRegistry(stack, 'Apps', { identity, apps: APPS });
    const clients = Object.values(Template.fromStack(stack).findResources('AWS::Cognito::UserPoolClient')).map((c) => c.Properties as Record<string, any>);

    test.each(APPS.map((a) => a.id))('%s', (appId) => {
      const p = clients.find((c) => c.ClientName === appId)!;
      expect(p).toBeDefined();
      // The client as Cognito would describe what CloudFormation created.
      const described: DescribedClient = {
        ClientName: p.ClientName,
        ...(p.GenerateSecret ? { ClientSecret: 'generated' } : {}),
        AllowedOAuthFlowsUserPoolClient: p.AllowedOAuthFlowsUserPoolClient,
        AllowedOAuthFlows: p.AllowedOAuthFlows,
        AllowedOAuthScopes: p.AllowedOAuthScopes,
        CallbackURLs: p.CallbackURLs,
        LogoutURLs: p.LogoutURLs,
        AccessTokenValidity: p.AccessTokenValidity,
        IdTokenValidity: p.IdTokenValidity,
        RefreshTokenValidity: p.RefreshTokenValidity,
        TokenValidityUnits: p.TokenValidityUnits,
        EnableTokenRevocation: p.EnableTokenRevocation,
        ExplicitAuthFlows: p.ExplicitAuthFlows,
      };
      const e = expectedClient(app(appId));
      expect(p.ClientName).toBe(e.clientName);
      expect(clientDrift(e, described, 'synthesized')).toEqual([]);
    });
  });
});

describe('clientDrift', () => {
  const e = expectedClient(app('harbor-patient-portal'));

  test('a compliant client, validities in any units and lists in any order: no drift', () => {
    expect(clientDrift(e, compliantClient('harbor-patient-portal'))).toEqual([]);
    const inSeconds = { ...compliantClient('harbor-patient-portal'), AccessTokenValidity: 3600, IdTokenValidity: 1, TokenValidityUnits: { AccessToken: 'seconds', IdToken: 'hours', RefreshToken: 'days' } };
    expect(clientDrift(e, inSeconds)).toEqual([]);
  });

  test('each difference is one finding naming the field, what was added and removed', () => {
    const drifted = {
      ...compliantClient('harbor-patient-portal'),
      AllowedOAuthScopes: ['openid', 'launch/patient', 'patient/Patient.rs', 'patient/*.cruds'],
      AllowedOAuthFlows: ['code', 'implicit'],
    };
    const findings = clientDrift(e, drifted);
    expect(findings.map((f) => f.kind)).toEqual(['FlowsChanged', 'ScopesChanged']);
    expect(findings[0]).toMatchObject({ field: 'AllowedOAuthFlows', added: ['implicit'], appId: 'harbor-patient-portal' });
    expect(findings[1]).toMatchObject({ added: ['patient/*.cruds'], removed: expect.arrayContaining(['patient/Observation.rs']) });
  });

  test('validities compare in seconds; Cognito defaults apply when units or values are absent', () => {
    expect(validitySeconds(60, 'minutes', 'access')).toBe(3600);
    expect(validitySeconds(1, undefined, 'access')).toBe(3600);
    expect(validitySeconds(30, undefined, 'refresh')).toBe(30 * 86_400);
    expect(validitySeconds(undefined, undefined, 'id')).toBe(3600);
  });

  test('the kinds are distinct names', () => {
    expect(new Set(DRIFT_KINDS).size).toBe(DRIFT_KINDS.length);
  });
});

describe('registryExpiries', () => {
  const entry = (expires: string, baaExpires?: string): RegistryEntry => ({
    ...app('harbor-patient-portal'),
    securityAssessment: { expires },
    baa: { reference: 'BAA-1', ...(baaExpires ? { expires: baaExpires } : {}) },
  });
  const today = new Date('2027-10-01T23:59:00Z');

  test.each([
    ['more than 30 days ahead: nothing', '2027-11-01', []],
    ['exactly 30 days ahead: expiring', '2027-10-31', [{ daysLeft: 30, expired: false }]],
    ['the expiry day itself: still covered, expiring', '2027-10-01', [{ daysLeft: 0, expired: false }]],
    ['the day after: expired', '2027-09-30', [{ daysLeft: -1, expired: true }]],
  ])('assessment %s', (_name, expires, found) => {
    expect(registryExpiries(entry(expires), today)).toEqual(found.map((f) => expect.objectContaining({ document: 'securityAssessment', expires, ...f })));
  });

  test('a BAA with an expiry date is checked the same way; one without none is', () => {
    const found = registryExpiries(entry('2029-01-01', '2027-10-20'), today);
    expect(found).toEqual([expect.objectContaining({ appId: 'harbor-patient-portal', document: 'baa', daysLeft: 19, detail: expect.stringContaining('business associate agreement') })]);
    expect(registryExpiries(entry('2029-01-01'), today)).toEqual([]);
  });

  test('the window is 30 days by default and can be set', () => {
    expect(EXPIRY_WARNING_DAYS).toBe(30);
    expect(registryExpiries(entry('2027-12-01'), today, 61)).toHaveLength(1);
  });

  test('the sample registry has nothing expiring on the test app date', () => {
    for (const a of APPS) expect(registryExpiries(a, new Date('2026-11-29T00:00:00Z'))).toEqual([]);
  });
});

describe('the EventBridge pattern of client changes', () => {
  test('matches the CloudTrail events of creating, updating and deleting a client of the pool', () => {
    expect(clientChangeEventPattern('eu-west-1_Pool')).toEqual({
      source: ['aws.cognito-idp'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: { eventSource: ['cognito-idp.amazonaws.com'], eventName: [...CLIENT_CHANGE_EVENTS], requestParameters: { userPoolId: ['eu-west-1_Pool'] } },
    });
    expect(CLIENT_CHANGE_EVENTS).toEqual(['CreateUserPoolClient', 'UpdateUserPoolClient', 'DeleteUserPoolClient']);
  });
});
