import { CloudWatchClient, PutMetricDataCommand, type PutMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import {
  CognitoIdentityProviderClient, DescribeUserPoolClientCommand, ListUserPoolClientsCommand, type UserPoolClientType,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';
import type { DriftKind } from '../../../lambdas/cognito-guard/expectations';
import { createCognitoGuard, triggerOf, type CognitoGuardOptions, type CognitoGuardReport } from '../../../lambdas/cognito-guard/guard';
import { APPS, CLIENT_IDS, CLIENT_SECRET, NAMESPACE, UNKNOWN_CLIENT_ID, USER_POOL_ID, awsError, compliantClient, registered } from './fixtures';

const cognito = mockClient(CognitoIdentityProviderClient);
const cw = mockClient(CloudWatchClient);
const NOW = new Date('2026-11-29T06:00:00Z');

/** The pool's clients as ListUserPoolClients answers (`extra` added). */
function listed(extra: Array<{ ClientId: string; ClientName: string }> = [], without: string[] = []) {
  return [...APPS.filter((a) => !without.includes(a.id)).map((a) => ({ ClientId: CLIENT_IDS[a.id], ClientName: a.id, UserPoolId: USER_POOL_ID })), ...extra.map((c) => ({ ...c, UserPoolId: USER_POOL_ID }))];
}

/** Every registered client described as deployed, `changes` applied to one app's. */
function describeAs(changes: Record<string, Partial<UserPoolClientType> | ((c: UserPoolClientType) => UserPoolClientType)> = {}) {
  for (const a of APPS) {
    const base = compliantClient(a.id);
    const change = changes[a.id];
    const client = typeof change === 'function' ? change(base) : { ...base, ...change };
    cognito.on(DescribeUserPoolClientCommand, { UserPoolId: USER_POOL_ID, ClientId: CLIENT_IDS[a.id] }).resolves({ UserPoolClient: client });
  }
}

beforeEach(() => {
  cognito.reset();
  cw.reset();
  cognito.on(ListUserPoolClientsCommand).resolves({ UserPoolClients: listed() });
  describeAs();
  cw.on(PutMetricDataCommand).resolves({});
});

function guard(options: Partial<CognitoGuardOptions> = {}) {
  return createCognitoGuard({
    client: new CognitoIdentityProviderClient({ region: 'eu-west-1' }),
    cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
    userPoolId: USER_POOL_ID,
    apps: registered(),
    namespace: NAMESPACE,
    now: () => NOW,
    ...options,
  });
}

const kinds = (report: CognitoGuardReport): DriftKind[] => report.drift.map((d) => d.kind);

/** The metrics published, `{ "<name>/<AppId or ->": value }`. */
function published(): Record<string, number> {
  const calls = cw.commandCalls(PutMetricDataCommand);
  expect(calls).toHaveLength(1);
  const input = calls[0].args[0].input as PutMetricDataCommandInput;
  expect(input.Namespace).toBe(NAMESPACE);
  const out: Record<string, number> = {};
  for (const m of input.MetricData ?? []) {
    expect(m.Dimensions?.[0]).toEqual({ Name: 'UserPoolId', Value: USER_POOL_ID });
    const app = m.Dimensions?.find((d) => d.Name === 'AppId')?.Value ?? '-';
    out[`${m.MetricName}/${app}`] = m.Value!;
  }
  return out;
}

describe('cognito guard: no drift', () => {
  test('every client as deployed, nothing unknown, nothing expiring: ok', async () => {
    const report = await guard().check({ source: 'schedule' });
    expect(report).toMatchObject({ ok: true, drift: [], expiring: [], failed: [], unknownClients: [], checkedAt: NOW.toISOString(), trigger: { source: 'schedule' } });
    expect(report.apps).toEqual(APPS.map((a) => ({ appId: a.id, clientId: CLIENT_IDS[a.id], drift: false, expiring: false })));
  });

  test('publishes ClientDrift and RegistryExpiring 0 per app, ClientDrift 0 for unregistered clients, CognitoGuardCheckFailed 0', async () => {
    await guard().check();
    expect(published()).toEqual({
      ...Object.fromEntries(APPS.flatMap((a) => [[`ClientDrift/${a.id}`, 0], [`RegistryExpiring/${a.id}`, 0]])),
      'ClientDrift/unregistered': 0,
      'CognitoGuardCheckFailed/-': 0,
    });
  });

  test('reads every page of the client list', async () => {
    const [first, ...rest] = listed();
    cognito.on(ListUserPoolClientsCommand).resolvesOnce({ UserPoolClients: [first], NextToken: 'p2' }).resolvesOnce({ UserPoolClients: rest });
    const report = await guard().check();
    expect(report.ok).toBe(true);
    expect(cognito.commandCalls(ListUserPoolClientsCommand).map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'p2']);
  });
});

describe('cognito guard: each kind of drift', () => {
  const portal = 'harbor-patient-portal';
  const rows: Array<[string, string, Record<string, Partial<UserPoolClientType> | ((c: UserPoolClientType) => UserPoolClientType)>, DriftKind, Record<string, unknown>]> = [
    ['scopes added', portal, { [portal]: (c) => ({ ...c, AllowedOAuthScopes: [...c.AllowedOAuthScopes!, 'patient/*.cruds'] }) }, 'ScopesChanged', { field: 'AllowedOAuthScopes', added: ['patient/*.cruds'] }],
    ['scope removed', portal, { [portal]: (c) => ({ ...c, AllowedOAuthScopes: c.AllowedOAuthScopes!.filter((s) => s !== 'openid') }) }, 'ScopesChanged', { removed: ['openid'] }],
    ['implicit flow added', portal, { [portal]: { AllowedOAuthFlows: ['code', 'implicit'] } }, 'FlowsChanged', { field: 'AllowedOAuthFlows', added: ['implicit'] }],
    ['client credentials on a user-facing app', 'cardio-insight', { 'cardio-insight': { AllowedOAuthFlows: ['client_credentials'] } }, 'FlowsChanged', { added: ['client_credentials'], removed: ['code'] }],
    ['OAuth switched off', portal, { [portal]: { AllowedOAuthFlowsUserPoolClient: false } }, 'OAuthDisabled', { field: 'AllowedOAuthFlowsUserPoolClient' }],
    ['callback URL added', portal, { [portal]: (c) => ({ ...c, CallbackURLs: [...c.CallbackURLs!, 'https://attacker.example/cb'] }) }, 'CallbackUrlsChanged', { field: 'CallbackURLs', added: ['https://attacker.example/cb'] }],
    ['logout URL added', portal, { [portal]: { LogoutURLs: ['https://portal.harbor-health.example/bye'] } }, 'LogoutUrlsChanged', { added: ['https://portal.harbor-health.example/bye'] }],
    ['access token validity changed', portal, { [portal]: { AccessTokenValidity: 1, TokenValidityUnits: { AccessToken: 'days', IdToken: 'minutes', RefreshToken: 'days' } } }, 'TokenValidityChanged', { field: 'AccessTokenValidity', expected: 3600, actual: 86_400 }],
    ['refresh token validity changed', 'summit-payer-bulk', { 'summit-payer-bulk': { RefreshTokenValidity: 3650, TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'days' } } }, 'TokenValidityChanged', { field: 'RefreshTokenValidity', actual: 3650 * 86_400 }],
    ['revocation off', portal, { [portal]: { EnableTokenRevocation: false } }, 'RevocationDisabled', { field: 'EnableTokenRevocation' }],
    ['password auth flow added', portal, { [portal]: { ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_PASSWORD_AUTH'] } }, 'AuthFlowsChanged', { added: ['ALLOW_USER_PASSWORD_AUTH'] }],
    ['a secret on a public client', portal, { [portal]: { ClientSecret: CLIENT_SECRET } }, 'SecretChanged', { expected: false, actual: true }],
    ['no secret on a confidential client', 'cardio-insight', { 'cardio-insight': (c) => ({ ...c, ClientSecret: undefined }) }, 'SecretChanged', { expected: true, actual: false }],
  ];

  test.each(rows)('%s', async (_name, appId, changes, kind, detail) => {
    describeAs(changes);
    const report = await guard().check();
    expect(report.ok).toBe(false);
    expect(kinds(report)).toEqual([kind]);
    expect(report.drift[0]).toMatchObject({ appId, clientId: CLIENT_IDS[appId], ...detail });
    expect(report.apps.find((a) => a.appId === appId)!.drift).toBe(true);
    const metrics = published();
    expect(metrics[`ClientDrift/${appId}`]).toBe(1);
    for (const other of APPS.filter((a) => a.id !== appId)) expect(metrics[`ClientDrift/${other.id}`]).toBe(0);
  });

  test('client missing: not in the list (no describe call)', async () => {
    cognito.on(ListUserPoolClientsCommand).resolves({ UserPoolClients: listed([], ['cardio-insight']) });
    const report = await guard().check();
    expect(report.drift).toEqual([expect.objectContaining({ kind: 'ClientMissing', appId: 'cardio-insight', clientId: CLIENT_IDS['cardio-insight'] })]);
    expect(cognito.commandCalls(DescribeUserPoolClientCommand).map((c) => c.args[0].input.ClientId)).not.toContain(CLIENT_IDS['cardio-insight']);
    expect(published()['ClientDrift/cardio-insight']).toBe(1);
  });

  test('client missing: ResourceNotFoundException when the list could not be read', async () => {
    cognito.on(ListUserPoolClientsCommand).rejects(awsError('TooManyRequestsException'));
    cognito.on(DescribeUserPoolClientCommand, { ClientId: CLIENT_IDS['cardio-insight'] }).rejects(awsError('ResourceNotFoundException', 'User pool client does not exist.'));
    const report = await guard().check();
    expect(kinds(report)).toEqual(['ClientMissing']);
    expect(report.unknownClients).toBeUndefined();
    expect(report.failed).toEqual([expect.objectContaining({ operation: 'ListUserPoolClients', error: 'TooManyRequestsException' })]);
  });

  test('unknown extra client: reported with its name, ClientDrift 1 for unregistered', async () => {
    cognito.on(ListUserPoolClientsCommand).resolves({ UserPoolClients: listed([{ ClientId: UNKNOWN_CLIENT_ID, ClientName: 'harbor-patient-portal' }]) });
    const report = await guard().check();
    expect(report.unknownClients).toEqual([UNKNOWN_CLIENT_ID]);
    expect(report.drift).toEqual([
      { kind: 'UnknownClient', clientId: UNKNOWN_CLIENT_ID, detail: expect.stringMatching(/no registered app's; it is named like app harbor-patient-portal/) },
    ]);
    const metrics = published();
    expect(metrics['ClientDrift/unregistered']).toBe(1);
    expect(metrics['ClientDrift/harbor-patient-portal']).toBe(0);
  });

  test('several kinds on several clients at once are all reported', async () => {
    describeAs({ 'harbor-patient-portal': { EnableTokenRevocation: false, AllowedOAuthFlows: ['implicit'] }, 'summit-payer-bulk': { ClientSecret: undefined } });
    const report = await guard().check();
    expect(kinds(report).sort()).toEqual(['FlowsChanged', 'RevocationDisabled', 'SecretChanged']);
  });

  test('no finding, report or metric carries the client secret', async () => {
    describeAs({ 'harbor-patient-portal': { ClientSecret: CLIENT_SECRET } });
    const report = await guard().check();
    expect(JSON.stringify(report)).not.toContain(CLIENT_SECRET);
    expect(JSON.stringify(cw.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input))).not.toContain(CLIENT_SECRET);
  });
});

describe('cognito guard: expiring registry dates', () => {
  test('an assessment expiring within 30 days: RegistryExpiring 1 for that app, reported', async () => {
    const report = await guard({ now: () => new Date('2027-10-15T08:00:00Z') }).check();
    expect(report.ok).toBe(false);
    expect(report.drift).toEqual([]);
    expect(report.expiring).toEqual([expect.objectContaining({ appId: 'harbor-patient-portal', document: 'securityAssessment', expires: '2027-10-31', daysLeft: 16, expired: false })]);
    const metrics = published();
    expect(metrics['RegistryExpiring/harbor-patient-portal']).toBe(1);
    expect(metrics['RegistryExpiring/cardio-insight']).toBe(0);
  });

  test('an expired assessment is reported as expired', async () => {
    const report = await guard({ now: () => new Date('2027-11-01T00:00:00Z') }).check();
    expect(report.expiring).toEqual([expect.objectContaining({ appId: 'harbor-patient-portal', expired: true, daysLeft: -1 })]);
  });

  test('a BAA expiry date, when the registry has one, is checked too', async () => {
    const apps = registered().map((r) => (r.app.id === 'summit-payer-bulk' ? { ...r, app: { ...r.app, baa: { reference: 'BAA-2026-0163', expires: '2026-12-10' } } } : r));
    const report = await guard({ apps }).check();
    expect(report.expiring).toEqual([expect.objectContaining({ appId: 'summit-payer-bulk', document: 'baa', daysLeft: 11 })]);
    expect(published()['RegistryExpiring/summit-payer-bulk']).toBe(1);
  });

  test('the warning window can be set', async () => {
    const report = await guard({ now: () => new Date('2027-08-01T00:00:00Z'), expiryWarningDays: 100 }).check();
    expect(report.expiring.map((e) => e.appId)).toEqual(['harbor-patient-portal']);
  });
});

describe('cognito guard: failed checks are never "no drift"', () => {
  test('a describe that fails leaves that app undetermined: its ClientDrift is not published, CheckFailed is 1', async () => {
    cognito.on(DescribeUserPoolClientCommand, { ClientId: CLIENT_IDS['cardio-insight'] }).rejects(awsError('AccessDeniedException', 'not authorized'));
    const report = await guard().check();
    expect(report.ok).toBe(false);
    expect(report.apps.find((a) => a.appId === 'cardio-insight')!.drift).toBeUndefined();
    expect(report.failed).toEqual([{ operation: 'DescribeUserPoolClient', appId: 'cardio-insight', clientId: CLIENT_IDS['cardio-insight'], error: 'AccessDeniedException', message: 'not authorized' }]);
    const metrics = published();
    expect(metrics['ClientDrift/cardio-insight']).toBeUndefined();
    expect(metrics['RegistryExpiring/cardio-insight']).toBe(0);
    expect(metrics['CognitoGuardCheckFailed/-']).toBe(1);
  });

  test('a list that fails leaves unknown clients undetermined: ClientDrift for unregistered is not published', async () => {
    cognito.on(ListUserPoolClientsCommand).rejects(awsError('InternalErrorException'));
    const report = await guard().check();
    const metrics = published();
    expect(metrics['ClientDrift/unregistered']).toBeUndefined();
    expect(metrics['ClientDrift/harbor-patient-portal']).toBe(0);
    expect(metrics['CognitoGuardCheckFailed/-']).toBe(1);
    expect(report.failed.map((f) => f.operation)).toEqual(['ListUserPoolClients']);
  });

  test('metrics that cannot be published are a failed check of the report', async () => {
    cw.on(PutMetricDataCommand).rejects(awsError('AccessDeniedException'));
    const report = await guard().check();
    expect(report.ok).toBe(false);
    expect(report.failed).toEqual([expect.objectContaining({ operation: 'PutMetricData', error: 'AccessDeniedException' })]);
  });

  test('without a CloudWatch client nothing is published and the report stands', async () => {
    const report = await guard({ cloudwatch: undefined }).check();
    expect(report.ok).toBe(true);
    expect(cw.commandCalls(PutMetricDataCommand)).toHaveLength(0);
  });
});

describe('triggerOf', () => {
  test('an EventBridge schedule, a CloudTrail client change, anything else', () => {
    expect(triggerOf({ 'detail-type': 'Scheduled Event', source: 'aws.events' })).toEqual({ source: 'schedule' });
    expect(triggerOf({
      'detail-type': 'AWS API Call via CloudTrail',
      detail: { eventName: 'UpdateUserPoolClient', requestParameters: { userPoolId: USER_POOL_ID, clientId: CLIENT_IDS['cardio-insight'], clientSecret: 'x' } },
    })).toEqual({ source: 'cloudtrail', eventName: 'UpdateUserPoolClient', clientId: CLIENT_IDS['cardio-insight'] });
    expect(triggerOf({
      'detail-type': 'AWS API Call via CloudTrail',
      detail: { eventName: 'CreateUserPoolClient', requestParameters: { clientName: 'x' }, responseElements: { userPoolClient: { clientId: UNKNOWN_CLIENT_ID, clientSecret: 'HIDDEN_DUE_TO_SECURITY_REASONS' } } },
    })).toEqual({ source: 'cloudtrail', eventName: 'CreateUserPoolClient', clientId: UNKNOWN_CLIENT_ID });
    expect(triggerOf({ 'detail-type': 'AWS API Call via CloudTrail', detail: { eventName: 'x y', requestParameters: { clientId: '<script>' } } })).toEqual({ source: 'cloudtrail' });
    expect(triggerOf(undefined)).toEqual({ source: 'manual' });
    expect(triggerOf({})).toEqual({ source: 'manual' });
  });
});
