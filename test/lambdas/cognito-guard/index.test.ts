import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CognitoIdentityProviderClient, DescribeUserPoolClientCommand, ListUserPoolClientsCommand } from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';
import { cognitoGuardEnvironment, parseCognitoGuardEnvironment, type CognitoGuardEnvironment } from '../../../lambdas/cognito-guard/environment';
import { guardFromEnvironment } from '../../../lambdas/cognito-guard/index';
import { DEFAULT_APP_REGISTRY_FILE } from '../../../policies/app-registry';
import { APPS, CLIENT_IDS, NAMESPACE, USER_POOL_ID, compliantClient } from './fixtures';

const SETTINGS: CognitoGuardEnvironment = {
  userPoolId: USER_POOL_ID,
  appRegistryFile: DEFAULT_APP_REGISTRY_FILE,
  appClientIds: Object.fromEntries(APPS.map((a) => [CLIENT_IDS[a.id], a.id])),
  metricNamespace: NAMESPACE,
};

describe('cognito guard environment contract', () => {
  test('the writer and the parser agree', () => {
    const env = cognitoGuardEnvironment({ ...SETTINGS, expiryWarningDays: 45 });
    expect(env).toEqual({
      USER_POOL_ID: USER_POOL_ID,
      APP_REGISTRY_FILE: DEFAULT_APP_REGISTRY_FILE,
      APP_CLIENT_IDS: JSON.stringify(SETTINGS.appClientIds),
      METRIC_NAMESPACE: NAMESPACE,
      EXPIRY_WARNING_DAYS: '45',
      POWERTOOLS_SERVICE_NAME: 'cognito-guard',
    });
    expect(parseCognitoGuardEnvironment(env)).toEqual({ ...SETTINGS, expiryWarningDays: 45 });
    expect(parseCognitoGuardEnvironment(cognitoGuardEnvironment(SETTINGS))).toEqual(SETTINGS);
  });

  test('writer errors name the setting; client ids that are tokens are not checked', () => {
    expect(() => cognitoGuardEnvironment({ ...SETTINGS, userPoolId: 'pool' })).toThrow(/^userPoolId: /);
    expect(() => cognitoGuardEnvironment({ ...SETTINGS, appClientIds: {} })).toThrow(/^appClientIds: lists no client/);
    expect(() => cognitoGuardEnvironment({ ...SETTINGS, appClientIds: { a1: 'x-app', b2: 'x-app' } })).toThrow(/^appClientIds: names an app twice/);
    expect(() => cognitoGuardEnvironment({ ...SETTINGS, expiryWarningDays: 0 })).toThrow(/^expiryWarningDays: /);
    const isUnresolved = (v: unknown) => typeof v === 'string' && v.startsWith('${Token[');
    const env = cognitoGuardEnvironment({ ...SETTINGS, appClientIds: { '${Token[TOKEN.1]}': 'harbor-patient-portal' } }, { isUnresolved, toJson: (v) => `json:${JSON.stringify(v)}` });
    expect(env.APP_CLIENT_IDS).toBe('json:{"${Token[TOKEN.1]}":"harbor-patient-portal"}');
  });

  test('parser errors name the variable', () => {
    const env = cognitoGuardEnvironment(SETTINGS);
    expect(() => parseCognitoGuardEnvironment({ ...env, USER_POOL_ID: '' })).toThrow(/^USER_POOL_ID: is not set/);
    expect(() => parseCognitoGuardEnvironment({ ...env, APP_CLIENT_IDS: '[' })).toThrow(/^APP_CLIENT_IDS: is not valid JSON/);
    expect(() => parseCognitoGuardEnvironment({ ...env, APP_CLIENT_IDS: '{"abc":"Not An App"}' })).toThrow(/^APP_CLIENT_IDS: abc must name an app id/);
    expect(() => parseCognitoGuardEnvironment({ ...env, APP_REGISTRY_FILE: 'apps.json' })).toThrow(/^APP_REGISTRY_FILE: must be an absolute path/);
    expect(() => parseCognitoGuardEnvironment({ ...env, METRIC_NAMESPACE: undefined })).toThrow(/^METRIC_NAMESPACE: is not set/);
    expect(() => parseCognitoGuardEnvironment({ ...env, EXPIRY_WARNING_DAYS: '400' })).toThrow(/^EXPIRY_WARNING_DAYS: /);
  });
});

describe('guardFromEnvironment', () => {
  const cognito = mockClient(CognitoIdentityProviderClient);
  const cw = mockClient(CloudWatchClient);
  const clients = () => ({ cognito: new CognitoIdentityProviderClient({ region: 'eu-west-1' }), cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }) });

  beforeEach(() => {
    cognito.reset();
    cw.reset();
    cognito.on(ListUserPoolClientsCommand).resolves({ UserPoolClients: APPS.map((a) => ({ ClientId: CLIENT_IDS[a.id], ClientName: a.id })) });
    for (const a of APPS) cognito.on(DescribeUserPoolClientCommand, { ClientId: CLIENT_IDS[a.id] }).resolves({ UserPoolClient: compliantClient(a.id) });
    cw.on(PutMetricDataCommand).resolves({});
  });

  test('reads the registry file the variables name and checks every app of it', async () => {
    const report = await guardFromEnvironment(cognitoGuardEnvironment(SETTINGS), clients()).check({ source: 'schedule' });
    expect(report.apps.map((a) => a.appId)).toEqual(APPS.map((a) => a.id));
    expect(report.drift).toEqual([]);
    expect(cw.commandCalls(PutMetricDataCommand)[0].args[0].input.Namespace).toBe(NAMESPACE);
  });

  test('a client mapped to an app the registry lacks, or an app without a client, fails naming the variable', () => {
    expect(() => guardFromEnvironment(cognitoGuardEnvironment({ ...SETTINGS, appClientIds: { ...SETTINGS.appClientIds, abc123: 'not-registered' } }), clients()))
      .toThrow('APP_CLIENT_IDS.abc123: app not-registered is not in APP_REGISTRY_FILE');
    const [first] = Object.keys(SETTINGS.appClientIds);
    const fewer = Object.fromEntries(Object.entries(SETTINGS.appClientIds).filter(([k]) => k !== first));
    expect(() => guardFromEnvironment(cognitoGuardEnvironment({ ...SETTINGS, appClientIds: fewer }), clients())).toThrow(/^APP_CLIENT_IDS: no client for app harbor-patient-portal/);
  });

  test('an invalid registry file fails naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cognito-guard-'));
    try {
      const file = path.join(dir, 'apps.json');
      fs.writeFileSync(file, JSON.stringify({ apps: [{ id: 'x' }] }));
      expect(() => guardFromEnvironment(cognitoGuardEnvironment({ ...SETTINGS, appRegistryFile: file }), clients())).toThrow(/apps\.json/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
