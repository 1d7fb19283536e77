/**
 * The Cognito app-client drift guard: checks that every registered app's client in the user
 * pool is still what the registry says (`expectations.ts`), that the pool has no client the
 * registry does not know, and that no app's security assessment or business associate agreement
 * expires within 30 days. Run on a schedule and after every change to a client (EventBridge on
 * the CloudTrail events of `CreateUserPoolClient`, `UpdateUserPoolClient`,
 * `DeleteUserPoolClient`); each run checks everything, whatever triggered it.
 *
 * Calls: `ListUserPoolClients` (all pages) once, then `DescribeUserPoolClient` for each
 * registered client the list holds (a registered client missing from the list is
 * `ClientMissing` without a call; if the list failed, each is described and Cognito's
 * `ResourceNotFoundException` is the answer "missing"). A call that fails otherwise
 * (throttling after the SDK's retries, access denied) is a FAILED check: what it covers is
 * undetermined, its metric is left out rather than published as "no drift", and
 * `CognitoGuardCheckFailed` is 1.
 *
 * Metrics (`PutMetricData`, dimensions `UserPoolId` and `AppId`): `ClientDrift` 0/1 per app
 * (`AppId` `unregistered`: 1 when the pool has a client no app owns), `RegistryExpiring` 0/1 per
 * app; `CognitoGuardCheckFailed` 0/1 with `UserPoolId` only. Findings carry field names and
 * values (scopes, flows, URLs, validities, whether a secret exists), never a secret.
 */
import type { CloudWatchClient, MetricDatum } from '@aws-sdk/client-cloudwatch';
import type { CognitoIdentityProviderClient, UserPoolClientDescription } from '@aws-sdk/client-cognito-identity-provider';
import { DescribeUserPoolClientCommand, ListUserPoolClientsCommand } from '@aws-sdk/client-cognito-identity-provider';
import { awsErrorName } from '../shared/aws-error';
import { putMetricDataInBatches } from '../shared/put-metric-data';
import { CLIENT_ID } from './environment';
import {
  APP_ID_DIMENSION, CHECK_FAILED_METRIC, CLIENT_DRIFT_METRIC, EXPIRY_WARNING_DAYS, REGISTRY_EXPIRING_METRIC, UNKNOWN_CLIENTS_APP_ID,
  USER_POOL_DIMENSION, clientDrift, expectedClient, registryExpiries,
  type DriftFinding, type ExpectedClient, type ExpiryFinding, type RegistryEntry,
} from './expectations';

/** A registered app and the Cognito client id `SmartAppRegistry` created for it. */
export interface RegisteredClient {
  readonly clientId: string;
  readonly app: RegistryEntry;
}

/** Options of {@link createCognitoGuard}. */
export interface CognitoGuardOptions {
  readonly client: CognitoIdentityProviderClient;
  /** Publishes the metrics. @default - nothing is published */
  readonly cloudwatch?: CloudWatchClient;
  readonly userPoolId: string;
  /** The registered apps with their client ids. */
  readonly apps: readonly RegisteredClient[];
  /** CloudWatch namespace of the metrics. */
  readonly namespace: string;
  /** @default EXPIRY_WARNING_DAYS */
  readonly expiryWarningDays?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** What started a run. */
export interface GuardTrigger {
  readonly source: 'schedule' | 'cloudtrail' | 'manual';
  /** The Cognito API call (CloudTrail), e.g. `UpdateUserPoolClient`. */
  readonly eventName?: string;
  /** The client it changed, when the event names one. */
  readonly clientId?: string;
}

/** One app's state after a run. */
export interface AppStatus {
  readonly appId: string;
  readonly clientId: string;
  /** `undefined` when its check failed (undetermined). */
  readonly drift: boolean | undefined;
  readonly expiring: boolean;
}

/** A call that failed: what it covers is undetermined. */
export interface FailedCheck {
  readonly operation: 'ListUserPoolClients' | 'DescribeUserPoolClient' | 'PutMetricData';
  readonly appId?: string;
  readonly clientId?: string;
  /** The error name, e.g. `TooManyRequestsException`, `AccessDeniedException`. */
  readonly error: string;
  readonly message: string;
}

/** The result of one run. */
export interface CognitoGuardReport {
  readonly checkedAt: string;
  readonly userPoolId: string;
  readonly trigger: GuardTrigger;
  readonly apps: readonly AppStatus[];
  /** Clients no registered app owns; `undefined` when the list failed. */
  readonly unknownClients: readonly string[] | undefined;
  readonly drift: readonly DriftFinding[];
  readonly expiring: readonly ExpiryFinding[];
  readonly failed: readonly FailedCheck[];
  /** True only when every check ran, nothing drifted and nothing expires within the warning window. */
  readonly ok: boolean;
}

export interface CognitoGuard {
  check(trigger?: GuardTrigger): Promise<CognitoGuardReport>;
}

/** Registered clients described at once. */
const DESCRIBE_CONCURRENCY = 4;
/** Metric data per `PutMetricData` call. */
const METRICS_PER_CALL = 500;

function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.slice(0, 300);
}

/** What started a run, from the Lambda event (an EventBridge schedule, a CloudTrail event, or anything else). */
export function triggerOf(event: unknown): GuardTrigger {
  const e = (event && typeof event === 'object' ? event : {}) as { 'detail-type'?: unknown; detail?: unknown };
  if (e['detail-type'] === 'Scheduled Event') return { source: 'schedule' };
  if (e['detail-type'] !== 'AWS API Call via CloudTrail' || !e.detail || typeof e.detail !== 'object') return { source: 'manual' };
  const detail = e.detail as { eventName?: unknown; requestParameters?: { clientId?: unknown } | null; responseElements?: { userPoolClient?: { clientId?: unknown } } | null };
  const eventName = typeof detail.eventName === 'string' && /^[A-Za-z]{1,64}$/.test(detail.eventName) ? detail.eventName : undefined;
  const candidate = detail.requestParameters?.clientId ?? detail.responseElements?.userPoolClient?.clientId;
  const clientId = typeof candidate === 'string' && CLIENT_ID.test(candidate) ? candidate : undefined;
  return { source: 'cloudtrail', ...(eventName ? { eventName } : {}), ...(clientId ? { clientId } : {}) };
}

/** Runs `fn` over `items`, at most `limit` at once, results in order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

type Described = { kind: 'found'; drift: DriftFinding[] } | { kind: 'failed'; failed: FailedCheck };

/** Builds the guard. Nothing is called until `check()`. */
export function createCognitoGuard(options: CognitoGuardOptions): CognitoGuard {
  const { client, userPoolId, namespace } = options;
  const now = options.now ?? (() => new Date());
  const warningDays = options.expiryWarningDays ?? EXPIRY_WARNING_DAYS;
  // Computed once: a registry entry the expectations cannot express is a deployment error.
  const registered = options.apps.map((r) => ({ clientId: r.clientId, app: r.app, expected: expectedClient(r.app) }));
  const registeredIds = new Set(registered.map((r) => r.clientId));

  async function listClients(): Promise<UserPoolClientDescription[] | FailedCheck> {
    const all: UserPoolClientDescription[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await client.send(new ListUserPoolClientsCommand({ UserPoolId: userPoolId, MaxResults: 60, ...(token ? { NextToken: token } : {}) }));
        all.push(...(page.UserPoolClients ?? []));
        token = page.NextToken;
      } while (token);
      return all;
    } catch (err) {
      return { operation: 'ListUserPoolClients', error: awsErrorName(err), message: errorMessage(err) };
    }
  }

  async function describe(r: { clientId: string; expected: ExpectedClient }, listed: ReadonlySet<string> | undefined): Promise<Described> {
    const who = { appId: r.expected.appId, clientId: r.clientId };
    const missing: DriftFinding = { kind: 'ClientMissing', ...who, detail: `the client of app ${who.appId} does not exist in the user pool` };
    if (listed && !listed.has(r.clientId)) return { kind: 'found', drift: [missing] };
    try {
      const out = await client.send(new DescribeUserPoolClientCommand({ UserPoolId: userPoolId, ClientId: r.clientId }));
      if (!out.UserPoolClient) return { kind: 'found', drift: [missing] };
      return { kind: 'found', drift: clientDrift(r.expected, out.UserPoolClient, r.clientId) };
    } catch (err) {
      if (awsErrorName(err) === 'ResourceNotFoundException') return { kind: 'found', drift: [missing] };
      return { kind: 'failed', failed: { operation: 'DescribeUserPoolClient', ...who, error: awsErrorName(err), message: errorMessage(err) } };
    }
  }

  async function publish(data: MetricDatum[]): Promise<FailedCheck | undefined> {
    if (!options.cloudwatch) return undefined;
    const refused = await putMetricDataInBatches(options.cloudwatch, namespace, data, METRICS_PER_CALL);
    return refused === undefined ? undefined : { operation: 'PutMetricData', error: awsErrorName(refused.error), message: errorMessage(refused.error) };
  }

  async function check(trigger: GuardTrigger = { source: 'manual' }): Promise<CognitoGuardReport> {
    const at = now();
    const failed: FailedCheck[] = [];
    const drift: DriftFinding[] = [];

    const listing = await listClients();
    const listed = Array.isArray(listing) ? listing : undefined;
    if (!Array.isArray(listing)) failed.push(listing);

    const listedIds = listed ? new Set(listed.map((c) => c.ClientId ?? '')) : undefined;
    const described = await mapLimited(registered, DESCRIBE_CONCURRENCY, (r) => describe(r, listedIds));
    const apps: AppStatus[] = [];
    const expiring: ExpiryFinding[] = [];
    registered.forEach((r, i) => {
      const d = described[i];
      if (d.kind === 'failed') failed.push(d.failed);
      else drift.push(...d.drift);
      const expiries = registryExpiries(r.app, at, warningDays);
      expiring.push(...expiries);
      apps.push({ appId: r.app.id, clientId: r.clientId, drift: d.kind === 'failed' ? undefined : d.drift.length > 0, expiring: expiries.length > 0 });
    });

    let unknownClients: string[] | undefined;
    if (listed) {
      const names = new Map(registered.map((r) => [r.expected.clientName, r.app.id]));
      const unknown = listed.filter((c) => c.ClientId !== undefined && !registeredIds.has(c.ClientId));
      unknownClients = unknown.map((c) => c.ClientId as string);
      for (const c of unknown) {
        const lookalike = c.ClientName !== undefined ? names.get(c.ClientName) : undefined;
        drift.push({
          kind: 'UnknownClient',
          clientId: c.ClientId as string,
          detail: `client ${c.ClientId} (${JSON.stringify(c.ClientName ?? '')}) is no registered app's${lookalike ? `; it is named like app ${lookalike}` : ''}`,
        });
      }
    }

    const pool = { Name: USER_POOL_DIMENSION, Value: userPoolId };
    const datum = (name: string, value: number, appId?: string): MetricDatum => ({
      MetricName: name, Value: value, Unit: 'Count', Timestamp: at,
      Dimensions: appId === undefined ? [pool] : [pool, { Name: APP_ID_DIMENSION, Value: appId }],
    });
    const data: MetricDatum[] = [];
    for (const a of apps) {
      if (a.drift !== undefined) data.push(datum(CLIENT_DRIFT_METRIC, a.drift ? 1 : 0, a.appId));
      data.push(datum(REGISTRY_EXPIRING_METRIC, a.expiring ? 1 : 0, a.appId));
    }
    if (unknownClients) data.push(datum(CLIENT_DRIFT_METRIC, unknownClients.length > 0 ? 1 : 0, UNKNOWN_CLIENTS_APP_ID));
    data.push(datum(CHECK_FAILED_METRIC, failed.length > 0 ? 1 : 0));
    const metricsFailed = await publish(data);
    if (metricsFailed) failed.push(metricsFailed);

    return {
      checkedAt: at.toISOString(),
      userPoolId,
      trigger,
      apps,
      unknownClients,
      drift,
      expiring,
      failed,
      ok: failed.length === 0 && drift.length === 0 && expiring.length === 0,
    };
  }

  return { check };
}
