import { Duration, Stack, Token, type CfnElement } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { cognitoGuardEnvironment } from '../lambdas/cognito-guard/environment';
import {
  APP_ID_DIMENSION as GUARD_APP_ID_DIMENSION, CHECK_FAILED_METRIC, CLIENT_DRIFT_METRIC, GUARD_COGNITO_ACTIONS, REGISTRY_EXPIRING_METRIC,
  UNKNOWN_CLIENTS_APP_ID, USER_POOL_DIMENSION, clientChangeEventPattern,
} from '../lambdas/cognito-guard/expectations';
import { DEFAULT_NAMESPACE as DEFAULT_APP_METRICS_NAMESPACE } from '../lambdas/shared/app-metrics-environment';
import { AppRegistryDocument, maxPatientsPerHour, type RegisteredApp } from '../policies/app-registry';
import { acknowledge } from '../policies/compliance/acknowledge';
import { SECURITY_METRIC_NAMESPACE } from './audit-trail';
import { KitFunction } from './private/kit-function';

/**
 * Metric names and dimensions of the per-app metrics (`lambdas/shared/app-metrics.ts`, written
 * here rather than imported: that module loads Powertools, which the constructs do not ship).
 */
const REQUESTS = 'Requests';
const DENIALS = 'Denials';
const ERRORS = 'Errors';
const DISTINCT_PATIENTS = 'DistinctPatients';
const DENIAL_REASONS = ['scope', 'compartment', 'consent', 'label', 'revoked', 'invalid-token', 'other'] as const;
/** The functions that record them (`service` dimension). */
const PROXY_SERVICE = 'fhir-proxy';
const AUTHORIZER_SERVICE = 'smart-authorizer';

/**
 * Construct metadata type under which {@link AppMonitoring} records, per registered app, the
 * monitors and alarms that watch it ({@link AppMonitorsMetadata}), for the reviewer's report.
 */
export const APP_MONITORS_METADATA_KEY = 'zero-trust-fhir:app-monitors';

/** One alarm that watches an app, as recorded in {@link APP_MONITORS_METADATA_KEY}. */
export interface AppAlarmRecord {
  /** What it detects: `requests-anomaly`, `denials-anomaly`, `distinct-patients`, `scope-denials`, `client-drift`, `registry-expiring`. */
  readonly kind: string;
  /** The alarm's construct path. */
  readonly path: string;
  /** Its CloudFormation logical id in its stack. */
  readonly logicalId: string;
  /** CloudWatch namespace and metric it evaluates. */
  readonly namespace: string;
  readonly metric: string;
  /** In words, e.g. `Sum of DistinctPatients per 1 hour > 5`. */
  readonly condition: string;
}

/** What {@link APP_MONITORS_METADATA_KEY} records. */
export interface AppMonitorsMetadata {
  readonly version: 1;
  /** Namespace of the per-app metrics (EMF of the authorizer and the proxy). */
  readonly namespace: string;
  /** Where the alarms notify: the construct path of the topic. */
  readonly alarmTopic: string;
  /** Construct path of the dashboard (one row per app). */
  readonly dashboard: string;
  /** Construct paths of the drift guard function, its schedule and its CloudTrail rule. */
  readonly guard: { readonly function: string; readonly schedule: string; readonly clientChangeRule: string };
  /** Construct path and logical id of the alarm on failed guard checks (watches every app). */
  readonly guardCheckFailedAlarm: { readonly path: string; readonly logicalId: string };
  /** Per registered app, in registry order. */
  readonly apps: ReadonlyArray<{
    readonly appId: string;
    readonly name: string;
    readonly tier: RegisteredApp['tier'];
    /** The distinct-patients threshold in force, and whether the registry gave it or the tier. */
    readonly maxPatientsPerHour: number;
    readonly maxPatientsPerHourSource: 'registry' | 'tier';
    /** The monitors (not alarms) that watch it: the dashboard row, the drift guard. */
    readonly monitors: readonly string[];
    readonly alarms: readonly AppAlarmRecord[];
  }>;
}

/** The registered apps and their Cognito clients: what `SmartAppRegistry` exposes. */
export interface MonitoredAppRegistry {
  /** The registry the clients were made from (bundled into the guard's asset as `apps.json`). */
  readonly appRegistry: AppRegistryDocument;
  /** Every app's client, by app id. */
  readonly registrations: ReadonlyArray<{ readonly appId: string; readonly clientId: string }>;
}

/** Properties of {@link AppMonitoring}. */
export interface AppMonitoringProps {
  /** The registered apps and their clients (`SmartAppRegistry`). */
  readonly registry: MonitoredAppRegistry;
  /** The user pool that holds the clients (`SmartIdentity.userPool`): what the drift guard checks. */
  readonly userPool: cognito.IUserPool;
  /** Receives every alarm, in ALARM and back to OK (`AuditTrail.alarmTopic`). */
  readonly alarmTopic: sns.ITopic;
  /** `logs` encrypts the guard's log group, `audit` its dead-letter queue (`FhirKeys`). */
  readonly keys: { readonly logs: kms.IKey; readonly audit: kms.IKey };
  /**
   * Namespace of the per-app metrics the authorizer and the proxy record (`FhirGateway.appMetricsNamespace`).
   *
   * @default 'ZeroTrustFhir'
   */
  readonly namespace?: string;
  /**
   * Retention of the guard's log group, at least six years.
   *
   * @default logs.RetentionDays.SIX_YEARS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Scope denials per 5 minutes that, sustained for 3 periods in a row, mean an app is probing
   * scopes it does not hold.
   *
   * @default 20
   */
  readonly scopeDenialsPerFiveMinutes?: number;
}

/** The alarms of one app. */
export interface AppAlarms {
  /** `Requests` above the anomaly band. */
  readonly requestsAnomaly: cloudwatch.AnomalyDetectionAlarm;
  /** `Denials` (all reasons, authorizer and proxy) above the anomaly band. */
  readonly denialsAnomaly: cloudwatch.AnomalyDetectionAlarm;
  /** `DistinctPatients` per hour above the app's `maxPatientsPerHour`: bulk scraping. */
  readonly distinctPatients: cloudwatch.Alarm;
  /** `Denials` with `Reason` `scope`, sustained: scope probing. */
  readonly scopeDenials: cloudwatch.Alarm;
  /** The drift guard found the app's Cognito client different from the registry. */
  readonly clientDrift: cloudwatch.Alarm;
  /** The app's security assessment or BAA expires within 30 days (or has expired). */
  readonly registryExpiring: cloudwatch.Alarm;
}

/**
 * Per-app monitoring (issue #17), for every app of the registry:
 * - alarms on the per-app metrics the SMART authorizer and the FHIR proxy record (EMF, dimensions
 *   `service`, `ClientId`, `AppId`): request volume and denials above their CloudWatch anomaly
 *   bands; distinct patients in an hour above what the registry says the app needs
 *   (`maxPatientsPerHour`, else the tier's default), which is what bulk scraping through a
 *   patient-facing app looks like; scope denials sustained over 15 minutes (an app probing
 *   scopes it does not hold);
 * - the Cognito app-client drift guard (`lambdas/cognito-guard`), run every hour and after every
 *   `Create/Update/DeleteUserPoolClient` call on the pool (EventBridge on the CloudTrail events),
 *   with an alarm per app on any difference and on an assessment or BAA that expires within 30
 *   days, one on clients no app owns, and one on failed or missing checks;
 * - a dashboard with one row per app (requests and errors, denials by reason, distinct patients
 *   against the threshold, drift and expiry).
 * Every alarm notifies `alarmTopic` on ALARM and OK. What watches each app is recorded as
 * construct metadata ({@link APP_MONITORS_METADATA_KEY}) for the reviewer's report.
 */
export class AppMonitoring extends Construct {
  /** The namespace of the per-app metrics. */
  public readonly namespace: string;
  /** The alarms of each app, by app id. */
  public readonly appAlarms: ReadonlyMap<string, AppAlarms>;
  /** The drift guard. */
  public readonly guard: KitFunction;
  /** Runs the guard every hour. */
  public readonly schedule: events.Rule;
  /** Runs the guard after every change to an app client of the pool. */
  public readonly clientChangeRule: events.Rule;
  /** A client in the pool that no registered app owns. */
  public readonly unknownClientAlarm: cloudwatch.Alarm;
  /** A guard check failed, or the guard stopped reporting for 2 hours. */
  public readonly guardCheckFailedAlarm: cloudwatch.Alarm;
  public readonly dashboard: cloudwatch.Dashboard;

  private readonly alarmAction: cwActions.SnsAction;
  private readonly scopeDenialThreshold: number;

  constructor(scope: Construct, id: string, props: AppMonitoringProps) {
    super(scope, id);
    if (!AppRegistryDocument.isAppRegistryDocument(props.registry?.appRegistry)) {
      throw new Error('AppMonitoring: registry must be a SmartAppRegistry (or its appRegistry and registrations).');
    }
    this.namespace = props.namespace ?? DEFAULT_APP_METRICS_NAMESPACE;
    if (!Token.isUnresolved(this.namespace) && !/^[^:\s][^:]{0,254}$/.test(this.namespace)) {
      throw new Error(`AppMonitoring: namespace "${this.namespace.slice(0, 64)}" is not a CloudWatch namespace.`);
    }
    const scopeDenials = props.scopeDenialsPerFiveMinutes ?? 20;
    if (!Number.isInteger(scopeDenials) || scopeDenials < 1) throw new Error('AppMonitoring: scopeDenialsPerFiveMinutes must be a whole number of at least 1.');
    this.scopeDenialThreshold = scopeDenials;
    this.alarmAction = new cwActions.SnsAction(props.alarmTopic);

    const apps = monitoredApps(props.registry);
    this.guard = this.createGuard(props, apps);
    const userPoolId = props.userPool.userPoolId;
    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Runs the Cognito app-client drift guard every hour',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(this.guard.fn, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });
    const pattern = clientChangeEventPattern(userPoolId) as { source: string[]; 'detail-type': string[]; detail: Record<string, unknown> };
    this.clientChangeRule = new events.Rule(this, 'ClientChangeRule', {
      description: 'Runs the Cognito app-client drift guard after every Create/Update/DeleteUserPoolClient on the pool (CloudTrail)',
      eventPattern: { source: pattern.source, detailType: pattern['detail-type'], detail: pattern.detail },
      targets: [new targets.LambdaFunction(this.guard.fn, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });

    const alarms = new Map<string, AppAlarms>();
    for (const { app, clientId } of apps) alarms.set(app.id, this.createAppAlarms(app, clientId, userPoolId, scopeDenials));
    this.appAlarms = alarms;
    this.unknownClientAlarm = this.alarm('UnknownClientAlarm', {
      alarmDescription: 'Cognito drift: the user pool has an app client that no registered app owns (created outside the kit).',
      metric: this.guardMetric(CLIENT_DRIFT_METRIC, { [USER_POOL_DIMENSION]: userPoolId, [GUARD_APP_ID_DIMENSION]: UNKNOWN_CLIENTS_APP_ID }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Missing data breaches here (an exception to the others): a guard that stops reporting
    // (its configuration broken, its role changed) leaves every app's drift unverified.
    this.guardCheckFailedAlarm = this.alarm('GuardCheckFailedAlarm', {
      alarmDescription: 'Cognito drift guard: a check could not run (Cognito or CloudWatch throttling, access denied, error), or the guard stopped reporting for 2 hours. App-client drift is unverified.',
      metric: this.guardMetric(CHECK_FAILED_METRIC, { [USER_POOL_DIMENSION]: userPoolId }),
      threshold: 1,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    this.dashboard = this.createDashboard(apps, userPoolId);
    this.recordMonitors(props.alarmTopic, apps);
  }

  /** The drift guard: its function, grants and acknowledgements. */
  private createGuard(props: AppMonitoringProps, apps: readonly MonitoredApp[]): KitFunction {
    const guard = new KitFunction(this, 'Guard', {
      handlerDir: 'cognito-guard',
      description: 'Cognito app-client drift guard: every registered client as the registry says, no unknown client, no expiring assessment or BAA',
      logsKey: props.keys.logs,
      logRetention: props.logRetention,
      invocation: 'asynchronous',
      deadLetterKey: props.keys.audit,
      timeout: Duration.seconds(60),
      memorySize: 256,
      reservedConcurrentExecutions: 2,
      environment: cognitoGuardEnvironment(
        {
          userPoolId: props.userPool.userPoolId,
          appRegistryFile: '/var/task/apps.json',
          appClientIds: Object.fromEntries(apps.map((a) => [a.clientId, a.app.id])),
          metricNamespace: SECURITY_METRIC_NAMESPACE,
        },
        { isUnresolved: (v) => Token.isUnresolved(v) },
      ),
      // The same validated registry the FHIR proxy carries, byte for byte.
      assetFiles: { 'apps.json': props.registry.appRegistry.json },
    });
    guard.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadAppClients',
      actions: [...GUARD_COGNITO_ACTIONS],
      resources: [props.userPool.userPoolArn],
    }));
    guard.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'PublishDriftMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': SECURITY_METRIC_NAMESPACE } },
    }));
    acknowledge(
      guard.role.policy,
      'AwsSolutions-IAM5[Resource::*]',
      'Only cloudwatch:PutMetricData is granted on "*": it supports no resource-level permissions, and the statement is limited by a cloudwatch:namespace condition to the security metric namespace. The Cognito actions name the user pool ARN.',
    );
    acknowledge(
      guard.fn,
      'HIPAA.Security-LambdaInsideVPC',
      "The Cognito drift guard calls only the Cognito user-pool and CloudWatch control-plane APIs, for which the kit's isolated subnets have no interface endpoints; it reads app-client configuration (never a client secret, never PHI), and its role grants nothing on HealthLake or any data store.",
    );
    return guard;
  }

  /** The six alarms of one app. */
  private createAppAlarms(app: RegisteredApp, clientId: string, userPoolId: string, scopeDenials: number): AppAlarms {
    const id = app.id;
    const limit = maxPatientsPerHour(app);
    const requestsAnomaly = this.anomalyAlarm(`${id}-RequestsAnomaly`, {
      alarmDescription: `${app.name} (${id}): request volume above its anomaly band (FHIR proxy Requests per 5 minutes).`,
      metric: this.appMetric(REQUESTS, PROXY_SERVICE, clientId, id, Duration.minutes(5)),
    });
    const denialsAnomaly = this.anomalyAlarm(`${id}-DenialsAnomaly`, {
      alarmDescription: `${app.name} (${id}): denials above their anomaly band (SMART authorizer and FHIR proxy Denials per 5 minutes, all reasons).`,
      metric: this.bothServices(DENIALS, clientId, id, Duration.minutes(5), {}, 'Denials'),
    });
    const distinctPatients = this.alarm(`${id}-DistinctPatientsAlarm`, {
      alarmDescription: `${app.name} (${id}): more than ${limit} distinct patients in an hour (the registry's maxPatientsPerHour${app.maxPatientsPerHour === undefined ? `, ${app.tier} tier default` : ''}): bulk access through the app.`,
      metric: this.appMetric(DISTINCT_PATIENTS, PROXY_SERVICE, clientId, id, Duration.hours(1)),
      threshold: limit,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const scopeDenialsAlarm = this.alarm(`${id}-ScopeDenialsAlarm`, {
      alarmDescription: `${app.name} (${id}): at least ${scopeDenials} scope denials in each of 3 consecutive 5-minute periods: the app asks for data its scopes do not grant (probing).`,
      metric: this.bothServices(DENIALS, clientId, id, Duration.minutes(5), { Reason: 'scope' }, 'Scope denials'),
      threshold: scopeDenials,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const guardDimensions = { [USER_POOL_DIMENSION]: userPoolId, [GUARD_APP_ID_DIMENSION]: id };
    const clientDrift = this.alarm(`${id}-ClientDriftAlarm`, {
      alarmDescription: `${app.name} (${id}): its Cognito app client differs from the registry (flows, scopes, URLs, token validity, revocation, secret) or is missing.`,
      metric: this.guardMetric(CLIENT_DRIFT_METRIC, guardDimensions),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const registryExpiring = this.alarm(`${id}-RegistryExpiringAlarm`, {
      alarmDescription: `${app.name} (${id}): its security assessment or business associate agreement expires within 30 days, or has expired.`,
      metric: this.guardMetric(REGISTRY_EXPIRING_METRIC, guardDimensions),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    return { requestsAnomaly, denialsAnomaly, distinctPatients, scopeDenials: scopeDenialsAlarm, clientDrift, registryExpiring };
  }

  /** One row per app: what it is, requests and errors, denials by reason, distinct patients, drift and expiry. */
  private createDashboard(apps: readonly MonitoredApp[], userPoolId: string): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    dashboard.addWidgets(new cloudwatch.TextWidget({
      markdown: `# Registered apps\nOne row per app of the registry (${apps.length}). Metrics: namespace \`${this.namespace}\` (authorizer and proxy), \`${SECURITY_METRIC_NAMESPACE}\` (drift guard). Alarms go to the audit alarm topic.`,
      width: 24,
      height: 2,
    }));
    for (const { app, clientId } of apps) {
      const id = app.id;
      const limit = maxPatientsPerHour(app);
      const five = Duration.minutes(5);
      const guardDimensions = { [USER_POOL_DIMENSION]: userPoolId, [GUARD_APP_ID_DIMENSION]: id };
      dashboard.addWidgets(
        new cloudwatch.TextWidget({
          markdown: `### ${app.name}\n\`${id}\`, ${app.vendor}\n\nTier **${app.tier}**, ${app.clientType}\n\nMax patients/hour **${limit}**`,
          width: 4,
          height: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${id}: requests and errors`,
          left: [
            this.appMetric(REQUESTS, PROXY_SERVICE, clientId, id, five).with({ label: 'Requests (proxy)' }),
            this.bothServices(ERRORS, clientId, id, five, {}, 'Errors'),
          ],
          width: 5,
          height: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${id}: denials by reason`,
          left: DENIAL_REASONS.map((reason) => this.bothServices(DENIALS, clientId, id, five, { Reason: reason }, reason)),
          stacked: true,
          width: 5,
          height: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${id}: distinct patients per hour`,
          left: [this.appMetric(DISTINCT_PATIENTS, PROXY_SERVICE, clientId, id, Duration.hours(1)).with({ label: 'Distinct patients (upper bound)' })],
          leftAnnotations: [{ value: limit, label: `maxPatientsPerHour ${limit}`, color: cloudwatch.Color.RED }],
          width: 5,
          height: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${id}: client drift, expiring assessment or BAA`,
          left: [
            this.guardMetric(CLIENT_DRIFT_METRIC, guardDimensions).with({ label: 'Client drift' }),
            this.guardMetric(REGISTRY_EXPIRING_METRIC, guardDimensions).with({ label: 'Assessment or BAA expiring' }),
          ],
          leftYAxis: { min: 0, max: 1 },
          width: 5,
          height: 6,
        }),
      );
    }
    return dashboard;
  }

  /** Records, per app, what watches it (construct metadata for the reviewer's report). */
  private recordMonitors(topic: sns.ITopic, apps: readonly MonitoredApp[]): void {
    const stack = Stack.of(this);
    const ref = (alarm: cloudwatch.Alarm) => ({ path: alarm.node.path, logicalId: stack.getLogicalId(alarm.node.defaultChild as CfnElement) });
    const record = (kind: string, alarm: cloudwatch.Alarm, namespace: string, metric: string, condition: string): AppAlarmRecord => ({ kind, ...ref(alarm), namespace, metric, condition });
    const metadata: AppMonitorsMetadata = {
      version: 1,
      namespace: this.namespace,
      alarmTopic: topic.node.path,
      dashboard: this.dashboard.node.path,
      guard: { function: this.guard.node.path, schedule: this.schedule.node.path, clientChangeRule: this.clientChangeRule.node.path },
      guardCheckFailedAlarm: ref(this.guardCheckFailedAlarm),
      apps: apps.map(({ app }) => {
        const a = this.appAlarms.get(app.id)!;
        const limit = maxPatientsPerHour(app);
        return {
          appId: app.id,
          name: app.name,
          tier: app.tier,
          maxPatientsPerHour: limit,
          maxPatientsPerHourSource: app.maxPatientsPerHour === undefined ? 'tier' : 'registry',
          monitors: [`dashboard row (${this.dashboard.node.path})`, `Cognito drift guard, hourly and on client changes (${this.guard.node.path})`],
          alarms: [
            record('requests-anomaly', a.requestsAnomaly, this.namespace, REQUESTS, 'Requests per 5 minutes above the anomaly band (2 standard deviations)'),
            record('denials-anomaly', a.denialsAnomaly, this.namespace, DENIALS, 'Denials per 5 minutes (authorizer and proxy) above the anomaly band (2 standard deviations)'),
            record('distinct-patients', a.distinctPatients, this.namespace, DISTINCT_PATIENTS, `Sum of DistinctPatients per 1 hour > ${limit}`),
            record('scope-denials', a.scopeDenials, this.namespace, DENIALS, `Denials with Reason scope >= ${this.scopeDenialThreshold} in 3 consecutive 5-minute periods`),
            record('client-drift', a.clientDrift, SECURITY_METRIC_NAMESPACE, CLIENT_DRIFT_METRIC, 'ClientDrift >= 1 (hourly and after every client change)'),
            record('registry-expiring', a.registryExpiring, SECURITY_METRIC_NAMESPACE, REGISTRY_EXPIRING_METRIC, 'RegistryExpiring >= 1 (assessment or BAA within 30 days)'),
          ],
        };
      }),
    };
    this.node.addMetadata(APP_MONITORS_METADATA_KEY, metadata);
  }

  private appMetric(metricName: string, service: string, clientId: string, appId: string, period: Duration, extra: Record<string, string> = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName,
      dimensionsMap: { service, ClientId: clientId, AppId: appId, ...extra },
      statistic: cloudwatch.Stats.SUM,
      period,
    });
  }

  /** A metric of the authorizer and the proxy together (each may be absent in a period). */
  private bothServices(metricName: string, clientId: string, appId: string, period: Duration, extra: Record<string, string>, label: string): cloudwatch.MathExpression {
    // Ids unique within a graph (one expression per reason): `<metric>_<reason>_a|p`.
    const key = [metricName, ...Object.values(extra)].join('_').toLowerCase().replace(/[^a-z0-9_]/g, '_');
    return new cloudwatch.MathExpression({
      expression: `FILL(${key}_a, 0) + FILL(${key}_p, 0)`,
      usingMetrics: {
        [`${key}_a`]: this.appMetric(metricName, AUTHORIZER_SERVICE, clientId, appId, period, extra),
        [`${key}_p`]: this.appMetric(metricName, PROXY_SERVICE, clientId, appId, period, extra),
      },
      label,
      period,
    });
  }

  private guardMetric(metricName: string, dimensionsMap: Record<string, string>): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: SECURITY_METRIC_NAMESPACE, metricName, dimensionsMap, statistic: cloudwatch.Stats.MAXIMUM, period: Duration.hours(1) });
  }

  private alarm(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, props);
    alarm.addAlarmAction(this.alarmAction);
    alarm.addOkAction(this.alarmAction);
    return alarm;
  }

  private anomalyAlarm(id: string, props: { readonly alarmDescription: string; readonly metric: cloudwatch.IMetric }): cloudwatch.AnomalyDetectionAlarm {
    const alarm = new cloudwatch.AnomalyDetectionAlarm(this, id, {
      ...props,
      stdDevs: 2,
      // Spikes only: a quiet app is not an incident.
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.alarmAction);
    alarm.addOkAction(this.alarmAction);
    return alarm;
  }
}

interface MonitoredApp {
  readonly app: RegisteredApp;
  readonly clientId: string;
}

/** Every app of the registry with its client; an app without one, or a client of no app, fails naming it. */
function monitoredApps(registry: MonitoredAppRegistry): MonitoredApp[] {
  const apps = registry.appRegistry.apps.map((app) => {
    const registration = registry.registrations.find((r) => r.appId === app.id);
    if (!registration) throw new Error(`AppMonitoring: app "${app.id}" of the registry (${registry.appRegistry.source}) has no client registration.`);
    return { app, clientId: registration.clientId };
  });
  for (const r of registry.registrations) {
    if (!registry.appRegistry.app(r.appId)) throw new Error(`AppMonitoring: the client of app "${r.appId}" is not in the registry (${registry.appRegistry.source}).`);
  }
  return apps;
}
