import * as fs from 'fs';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as sns from 'aws-cdk-lib/aws-sns';
import { APP_MONITORS_METADATA_KEY, AppMonitoring, type AppMonitorsMetadata } from '../../lib/app-monitoring';
import { SECURITY_METRIC_NAMESPACE } from '../../lib/audit-trail';
import { FhirKeys } from '../../lib/fhir-keys';
import { clientChangeEventPattern } from '../../lambdas/cognito-guard/expectations';
import { parseCognitoGuardEnvironment } from '../../lambdas/cognito-guard/environment';
import { appClientIdsOf } from '../../lambdas/fhir-proxy/environment';
import { parseAppMetricsEnvironment } from '../../lambdas/shared/app-metrics-environment';
import { parseSmartAuthorizerEnvironment } from '../../lambdas/smart-authorizer/environment';
import { createCompliancePacks } from '../../policies';
import { AppRegistryDocument, DEFAULT_APP_REGISTRY_FILE } from '../../policies/app-registry';
import { createTestApp } from '../helpers/app';

const POOL_ID = 'us-east-1_Monitor01';

/** The kit's sample registry, the patient portal registering its own threshold (2 patients an hour). */
function registryFixture(): AppRegistryDocument {
  const doc = JSON.parse(fs.readFileSync(DEFAULT_APP_REGISTRY_FILE, 'utf8')) as { apps: Array<Record<string, unknown>> };
  doc.apps[0] = { ...doc.apps[0], maxPatientsPerHour: 2 };
  return AppRegistryDocument.fromObject(doc, 'fixture apps.json');
}

const registry = registryFixture();
const APP_IDS = registry.apps.map((a) => a.id);
const CLIENT_IDS: Record<string, string> = Object.fromEntries(APP_IDS.map((id, i) => [id, `${i + 1}client${id.replace(/-/g, '')}`]));

function monitoringStack(id: string): { stack: Stack; monitoring: AppMonitoring; topic: sns.Topic } {
  const stack = new Stack(createTestApp(), id);
  const keys = new FhirKeys(stack, 'Keys');
  const topic = new sns.Topic(stack, 'Alarms', { masterKey: keys.audit, enforceSSL: true });
  const monitoring = new AppMonitoring(stack, 'Monitoring', {
    registry: { appRegistry: registry, registrations: APP_IDS.map((appId) => ({ appId, clientId: CLIENT_IDS[appId] })) },
    userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', POOL_ID),
    alarmTopic: topic,
    keys,
  });
  return { stack, monitoring, topic };
}

const { stack, monitoring, topic } = monitoringStack('Monitored');
const template = Template.fromStack(stack);
const alarms = template.findResources('AWS::CloudWatch::Alarm');
const alarmList = Object.values(alarms) as Array<{ Properties: Record<string, unknown> }>;
const topicRef = stack.resolve(topic.topicArn) as unknown;

/** The alarms whose description starts with the app's name and id. */
function alarmsOf(appId: string): Array<Record<string, unknown>> {
  return alarmList.map((a) => a.Properties).filter((p) => String(p.AlarmDescription).includes(`(${appId}):`));
}

function metricStatOf(props: Record<string, unknown>, id?: string): Record<string, unknown> | undefined {
  const metrics = props.Metrics as Array<Record<string, unknown>> | undefined;
  const entry = metrics?.find((m) => m.MetricStat !== undefined && (id === undefined || m.Id === id));
  return entry?.MetricStat as Record<string, unknown> | undefined;
}

describe('AppMonitoring: per-app alarms from the registry', () => {
  test('six alarms per app, plus unknown clients and failed guard checks; every one to the alarm topic on ALARM and OK', () => {
    expect(alarmList).toHaveLength(6 * APP_IDS.length + 2);
    for (const { Properties: p } of alarmList) {
      expect(p.AlarmActions).toEqual([topicRef]);
      expect(p.OKActions).toEqual([topicRef]);
    }
    for (const appId of APP_IDS) expect(alarmsOf(appId)).toHaveLength(6);
    expect(monitoring.appAlarms.size).toBe(APP_IDS.length);
  });

  test('every alarm treats missing data as not breaching, except failed guard checks (a silent guard is unverified drift)', () => {
    const breaching = alarmList.filter((a) => a.Properties.TreatMissingData === 'breaching').map((a) => a.Properties.AlarmDescription);
    expect(breaching).toEqual([expect.stringMatching(/^Cognito drift guard: a check could not run/)]);
    expect(alarmList.filter((a) => a.Properties.TreatMissingData === 'notBreaching')).toHaveLength(alarmList.length - 1);
  });

  test('request volume: an anomaly band on the proxy\'s Requests of the app, alarming above it', () => {
    for (const appId of APP_IDS) {
      const [alarm] = alarmsOf(appId).filter((p) => String(p.AlarmDescription).includes('request volume'));
      expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanUpperThreshold', ThresholdMetricId: expect.any(String), EvaluationPeriods: 2 });
      const band = (alarm.Metrics as Array<Record<string, unknown>>).find((m) => m.Id === alarm.ThresholdMetricId)!;
      expect(band.Expression).toMatch(/^ANOMALY_DETECTION_BAND\(\w+,\s*2\)$/);
      expect(metricStatOf(alarm)).toMatchObject({
        Metric: {
          Namespace: 'ZeroTrustFhir',
          MetricName: 'Requests',
          Dimensions: expect.arrayContaining([{ Name: 'service', Value: 'fhir-proxy' }, { Name: 'ClientId', Value: CLIENT_IDS[appId] }, { Name: 'AppId', Value: appId }]),
        },
        Period: 300,
        Stat: 'Sum',
      });
    }
  });

  test('denials: an anomaly band on the authorizer\'s and the proxy\'s Denials of the app together', () => {
    for (const appId of APP_IDS) {
      const [alarm] = alarmsOf(appId).filter((p) => String(p.AlarmDescription).includes('denials above their anomaly band'));
      expect(alarm.ComparisonOperator).toBe('GreaterThanUpperThreshold');
      const metrics = alarm.Metrics as Array<Record<string, unknown>>;
      expect(metrics.some((m) => m.Expression === 'FILL(denials_a, 0) + FILL(denials_p, 0)')).toBe(true);
      const services = metrics.filter((m) => m.MetricStat).map((m) => (m.MetricStat as { Metric: { MetricName: string; Dimensions: Array<{ Name: string; Value: string }> } }).Metric);
      expect(services.map((m) => m.MetricName)).toEqual(['Denials', 'Denials']);
      expect(services.map((m) => m.Dimensions.find((d) => d.Name === 'service')!.Value).sort()).toEqual(['fhir-proxy', 'smart-authorizer']);
      expect(services.every((m) => !m.Dimensions.some((d) => d.Name === 'Reason'))).toBe(true);
    }
  });

  test('distinct patients per hour above maxPatientsPerHour: the registry\'s value, else the tier default', () => {
    const expected: Record<string, number> = { 'harbor-patient-portal': 2, 'cardio-insight': 50, 'summit-payer-bulk': 500 };
    for (const appId of APP_IDS) {
      const [alarm] = alarmsOf(appId).filter((p) => String(p.AlarmDescription).includes('distinct patients in an hour'));
      expect(alarm).toMatchObject({
        MetricName: 'DistinctPatients',
        Namespace: 'ZeroTrustFhir',
        Statistic: 'Sum',
        Period: 3600,
        Threshold: expected[appId],
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        Dimensions: expect.arrayContaining([{ Name: 'service', Value: 'fhir-proxy' }, { Name: 'AppId', Value: appId }]),
      });
    }
  });

  test('sustained scope denials: at least 20 in each of 3 consecutive 5-minute periods', () => {
    for (const appId of APP_IDS) {
      const [alarm] = alarmsOf(appId).filter((p) => String(p.AlarmDescription).includes('scope denials'));
      expect(alarm).toMatchObject({ Threshold: 20, EvaluationPeriods: 3, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      const stats = (alarm.Metrics as Array<Record<string, unknown>>).filter((m) => m.MetricStat).map((m) => m.MetricStat as { Metric: { Dimensions: unknown[] }; Period: number });
      expect(stats).toHaveLength(2);
      for (const s of stats) {
        expect(s.Metric.Dimensions).toContainEqual({ Name: 'Reason', Value: 'scope' });
        expect(s.Period).toBe(300);
      }
    }
  });

  test('client drift and expiring assessment or BAA: the guard\'s metrics per app (UserPoolId, AppId), >= 1', () => {
    for (const appId of APP_IDS) {
      for (const metric of ['ClientDrift', 'RegistryExpiring']) {
        const [alarm] = alarmsOf(appId).filter((p) => p.MetricName === metric);
        expect(alarm).toMatchObject({
          Namespace: SECURITY_METRIC_NAMESPACE,
          Statistic: 'Maximum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
        expect(alarm.Dimensions).toHaveLength(2);
        expect(alarm.Dimensions).toEqual(expect.arrayContaining([{ Name: 'UserPoolId', Value: POOL_ID }, { Name: 'AppId', Value: appId }]));
      }
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ClientDrift',
      Dimensions: [{ Name: 'AppId', Value: 'unregistered' }, { Name: 'UserPoolId', Value: POOL_ID }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'CognitoGuardCheckFailed',
      Dimensions: [{ Name: 'UserPoolId', Value: POOL_ID }],
      TreatMissingData: 'breaching',
      EvaluationPeriods: 2,
    });
  });

  test('an app of the registry without a client fails the synth naming it', () => {
    const s = new Stack(createTestApp(), 'Missing');
    const keys = new FhirKeys(s, 'Keys');
    expect(
      () =>
        new AppMonitoring(s, 'Monitoring', {
          registry: { appRegistry: registry, registrations: [{ appId: APP_IDS[0], clientId: 'c1' }] },
          userPool: cognito.UserPool.fromUserPoolId(s, 'Pool', POOL_ID),
          alarmTopic: new sns.Topic(s, 'T'),
          keys,
        }),
    ).toThrow(`AppMonitoring: app "${APP_IDS[1]}" of the registry (fixture apps.json) has no client registration.`);
  });
});

describe('AppMonitoring: the Cognito drift guard', () => {
  const functions = template.findResources('AWS::Lambda::Function');
  const [guardId, guardFn] = Object.entries(functions).find(([, f]) => String((f as { Properties: { Description?: string } }).Properties.Description).startsWith('Cognito app-client drift guard'))! as [string, { Properties: Record<string, unknown> }];

  test('reads the registry the gateway bundles and every client, and publishes to the security namespace', () => {
    const env = (guardFn.Properties.Environment as { Variables: Record<string, string> }).Variables;
    expect(parseCognitoGuardEnvironment(env)).toEqual({
      userPoolId: POOL_ID,
      appRegistryFile: '/var/task/apps.json',
      appClientIds: Object.fromEntries(APP_IDS.map((id) => [CLIENT_IDS[id], id])),
      metricNamespace: SECURITY_METRIC_NAMESPACE,
    });
    expect(guardFn.Properties).toMatchObject({ DeadLetterConfig: { TargetArn: expect.anything() }, ReservedConcurrentExecutions: 2 });
  });

  test('may describe and list the pool\'s clients (the pool ARN only) and put metrics in its namespace only', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'ReadAppClients', Action: ['cognito-idp:DescribeUserPoolClient', 'cognito-idp:ListUserPoolClients'], Resource: Match.objectLike({ 'Fn::Join': Match.anyValue() }) }),
          Match.objectLike({ Sid: 'PublishDriftMetrics', Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': SECURITY_METRIC_NAMESPACE } } }),
        ]),
      },
    });
  });

  test('runs every hour and after every Create/Update/DeleteUserPoolClient on the pool', () => {
    const target = { Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [guardId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 } })] };
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)', ...target });
    const pattern = clientChangeEventPattern(POOL_ID);
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: pattern, ...target });
    template.resourceCountIs('AWS::Events::Rule', 2);
    template.resourceCountIs('AWS::Lambda::Permission', 2);
  });
});

describe('AppMonitoring: the dashboard', () => {
  const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
  const body = JSON.stringify(stack.resolve((Object.values(dashboards)[0] as { Properties: { DashboardBody: unknown } }).Properties.DashboardBody));

  test('one dashboard, with a heading and one row of five widgets per registered app', () => {
    expect(Object.keys(dashboards)).toHaveLength(1);
    const rendered = (body.match(/"type\\":\\"(text|metric)\\"/g) ?? []).length;
    expect(rendered).toBe(1 + 5 * APP_IDS.length);
    for (const appId of APP_IDS) {
      for (const title of ['requests and errors', 'denials by reason', 'distinct patients per hour', 'client drift, expiring assessment or BAA']) {
        expect(body).toContain(`${appId}: ${title}`);
      }
    }
  });

  test('denials are drawn by reason, distinct patients against the app\'s threshold', () => {
    for (const reason of ['scope', 'compartment', 'consent', 'label', 'revoked', 'invalid-token', 'other']) expect(body).toContain(`\\"Reason\\",\\"${reason}\\"`);
    expect(body).toContain('maxPatientsPerHour 2');
    expect(body).toContain('maxPatientsPerHour 500');
  });
});

describe('AppMonitoring: what watches each app (construct metadata for the report)', () => {
  const entry = monitoring.node.metadata.find((m) => m.type === APP_MONITORS_METADATA_KEY);
  const data = entry?.data as AppMonitorsMetadata;

  test('lists per app the six alarms with their logical ids, the dashboard row and the guard', () => {
    expect(data.apps.map((a) => a.appId)).toEqual(APP_IDS);
    const logicalIds = new Set(Object.keys(alarms));
    for (const app of data.apps) {
      expect(app.alarms.map((a) => a.kind)).toEqual(['requests-anomaly', 'denials-anomaly', 'distinct-patients', 'scope-denials', 'client-drift', 'registry-expiring']);
      for (const a of app.alarms) expect(logicalIds.has(a.logicalId)).toBe(true);
      expect(app.monitors).toHaveLength(2);
    }
    expect(data.apps[0]).toMatchObject({ maxPatientsPerHour: 2, maxPatientsPerHourSource: 'registry' });
    expect(data.apps[2]).toMatchObject({ maxPatientsPerHour: 500, maxPatientsPerHourSource: 'tier' });
    expect(logicalIds.has(data.guardCheckFailedAlarm.logicalId)).toBe(true);
    expect(data.alarmTopic).toBe('Monitored/Alarms');
  });
});

describe('AppMonitoring: compliance', () => {
  test('zero unacknowledged findings in the three packs', () => {
    const findings = createCompliancePacks().flatMap((pack) =>
      pack.validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`)),
    );
    expect(findings.filter((f) => f.includes('/Monitoring/'))).toEqual([]);
    // The packs did evaluate the stack (the test's own topic and keys are not the construct's).
    expect(createCompliancePacks().length).toBe(3);
  });
});

describe('AppMonitoring in ZeroTrustFhirStack', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ZeroTrustFhirStack } = require('../../lib') as typeof import('../../lib');
  const ref = new ZeroTrustFhirStack(createTestApp(), 'Reference', { environment: 'sandbox' });
  type Resources = Record<string, { Properties: { Environment?: { Variables: Record<string, unknown> }; Parameters?: Record<string, unknown> } }>;
  const resources = Template.fromStack(ref).toJSON().Resources as Resources;
  // The guard is in the nested stack AppMonitors: its own template, the parent's values as parameters.
  const monitors = Template.fromStack(ref.monitoringStack).toJSON().Resources as Resources;
  const variables = (fn: { node: { defaultChild?: unknown } }) => {
    const stack = Stack.of(fn as never);
    return (stack === ref ? resources : monitors)[stack.getLogicalId(fn.node.defaultChild as never)].Properties.Environment!.Variables;
  };
  /** A value of the nested stack with each parameter replaced by what the parent passes it. */
  const inParent = (value: unknown): unknown => {
    const passed = resources[ref.getLogicalId(ref.monitoringStack.nestedStackResource as never)].Properties.Parameters ?? {};
    const walk = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(walk);
      if (v === null || typeof v !== 'object') return v;
      const ref0 = (v as { Ref?: unknown }).Ref;
      if (typeof ref0 === 'string' && ref0 in passed) return passed[ref0];
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    };
    return walk(value);
  };

  test('the authorizer and the proxy record the per-app metrics the monitoring alarms on, for every registered client', () => {
    expect(ref.monitoring).toBeInstanceOf(AppMonitoring);
    expect(ref.monitoring.namespace).toBe(ref.gateway.appMetricsNamespace);
    // Read back as the handlers read them, each client id (a { Ref }) replaced by its logical id.
    const text = (value: unknown): string =>
      typeof value === 'string' ? value : (value as { 'Fn::Join': [string, Array<string | { Ref: string }>] })['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : p.Ref)).join('');
    const clientApps = Object.fromEntries(ref.registry.registrations.map((r) => [ref.getLogicalId(ref.registry.clients.get(r.appId)!.node.defaultChild as never), r.appId]));
    const authorizer = variables(ref.gateway.authorizerFunction.fn);
    const proxy = variables(ref.gateway.proxyFunction.fn);
    expect(authorizer).toMatchObject({ APP_METRICS_NAMESPACE: 'ZeroTrustFhir', APP_METRICS_APPS: '@CLIENTS' });
    expect(proxy).toMatchObject({ APP_METRICS_NAMESPACE: 'ZeroTrustFhir', APP_METRICS_APPS: '@APP_CLIENT_IDS' });
    const authorizerSettings = parseSmartAuthorizerEnvironment({
      USER_POOL_ID: 'us-east-1_Pool1234', CLIENTS: text(authorizer.CLIENTS), USAGE_KEY_TEMPLATE: text(authorizer.USAGE_KEY_TEMPLATE),
      APP_METRICS_NAMESPACE: 'ZeroTrustFhir', APP_METRICS_APPS: '@CLIENTS',
    });
    expect(authorizerSettings.metrics?.clientApps).toEqual(clientApps);
    expect(parseAppMetricsEnvironment({ APP_METRICS_NAMESPACE: 'ZeroTrustFhir', APP_METRICS_APPS: '@APP_CLIENT_IDS' }, { variable: 'APP_CLIENT_IDS', clientApps: appClientIdsOf(text(proxy.APP_CLIENT_IDS)) })?.clientApps).toEqual(clientApps);
    expect(ref.monitoring.appAlarms.size).toBe(ref.registry.registrations.length);
  });

  test('the guard checks the stack\'s user pool and clients', () => {
    const env = variables(ref.monitoring.guard.fn);
    expect(Stack.of(ref.monitoring.guard)).toBe(ref.monitoringStack);
    expect(inParent(env.USER_POOL_ID)).toEqual(ref.resolve(ref.identity.userPool.userPoolId));
    expect(inParent(env.APP_CLIENT_IDS)).toEqual(ref.resolve(ref.toJsonString(Object.fromEntries(ref.registry.registrations.map((r) => [r.clientId, r.appId])))));
  });
});
