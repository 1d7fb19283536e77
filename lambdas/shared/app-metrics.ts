/**
 * Per-app request metrics in CloudWatch embedded metric format (EMF), written through Powertools
 * for Lambda Metrics: what the SMART authorizer and the FHIR proxy saw of each registered app,
 * for the per-app alarms and dashboard (issue #17).
 *
 * What is published, per `service` (the function: `smart-authorizer`, `fhir-proxy`), `ClientId`
 * and `AppId` (both also with `Reason` for `Denials`):
 * - `Requests`: every request recorded;
 * - `Denials`: requests refused, one EMF document per reason with the dimension sets
 *   `[service, ClientId, AppId]` (all reasons summed by CloudWatch) and
 *   `[service, ClientId, AppId, Reason]`, `Reason` one of {@link DENIAL_REASONS};
 * - `Errors`: requests that failed (5xx, or an authorizer that failed closed on an error);
 * - `DistinctPatients`: patients this container saw for the app for the first time in the
 *   current UTC hour. Each container keeps, per app and for the hour only, a set of SHA-256
 *   hashes of the patient ids it saw (never emitted, dropped when the hour turns). Summed over an
 *   hour, the metric is an UPPER BOUND of the app's distinct patients in that hour: a patient
 *   seen by two containers is counted twice, never less than once. When the hash sets reach
 *   {@link AppMetricsOptions.maxTrackedPatients}, every patient not already in them counts as new
 *   (still an upper bound, never an undercount).
 *
 * What is never published: a patient id, a resource id, a token, any request text. Dimension
 * values are the service name given at construction, a client id of the registered set given at
 * construction (any other client id, or none, is `unregistered`), that client's app id from the
 * same map, and a reason from the closed set. Metric values are counts.
 *
 * Cost and loss: {@link AppMetrics.record} only increments counters in memory (a map lookup, a
 * few additions, one hash per patient id). EMF is written by {@link AppMetrics.flush}, which
 * `record` calls on the first request of a container, then when at least
 * {@link AppMetricsOptions.flushIntervalSeconds} of wall time have passed since the last flush or
 * the buffer holds {@link AppMetricsOptions.maxBufferedRequests} requests, and before the first
 * request of a new UTC hour (so an hour's counts are stamped in that hour). Lambda runs no code
 * between invocations, so a container frozen and then discarded loses what it recorded since
 * its last flush: at most the last interval (or `maxBufferedRequests` requests) per container.
 * Each document's timestamp is the time of the last request it counts.
 *
 * Recording never throws and never changes a response: a failure to write is reported to
 * `onError` and the counts of that flush are dropped.
 */
import { createHash } from 'crypto';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** The namespace when none is configured. */
export const DEFAULT_APP_METRICS_NAMESPACE = 'ZeroTrustFhir';

/** `AppId` (and `ClientId`) of a request whose client id is not a registered one, or absent. */
export const UNREGISTERED = 'unregistered';

/** Why a request was refused: the values of the `Reason` dimension. */
export const DENIAL_REASONS = ['scope', 'compartment', 'consent', 'label', 'revoked', 'invalid-token', 'other'] as const;
export type DenialReason = (typeof DENIAL_REASONS)[number];

/** Metric names (contract: the alarms and the dashboard name them). */
export const APP_METRICS = {
  requests: 'Requests',
  denials: 'Denials',
  errors: 'Errors',
  distinctPatients: 'DistinctPatients',
} as const;

/** Dimension names (contract). `service` is Powertools' own service dimension. */
export const APP_METRIC_DIMENSIONS = {
  service: 'service',
  clientId: 'ClientId',
  appId: 'AppId',
  reason: 'Reason',
} as const;

/** @default for {@link AppMetricsOptions.flushIntervalSeconds} */
export const DEFAULT_FLUSH_INTERVAL_SECONDS = 10;
/** @default for {@link AppMetricsOptions.maxBufferedRequests} */
export const DEFAULT_MAX_BUFFERED_REQUESTS = 500;
/** @default for {@link AppMetricsOptions.maxTrackedPatients} */
export const DEFAULT_MAX_TRACKED_PATIENTS = 100_000;

export interface AppMetricsOptions {
  /** The function recording, the `service` dimension, e.g. `fhir-proxy`. */
  readonly service: string;
  /** The registered clients: Cognito client id → registry app id. */
  readonly clientApps: Readonly<Record<string, string>>;
  /** @default DEFAULT_APP_METRICS_NAMESPACE */
  readonly namespace?: string;
  /** Shortest wall time between two flushes. @default DEFAULT_FLUSH_INTERVAL_SECONDS */
  readonly flushIntervalSeconds?: number;
  /** Requests buffered before a flush regardless of time. @default DEFAULT_MAX_BUFFERED_REQUESTS */
  readonly maxBufferedRequests?: number;
  /** Patient hashes kept per container and hour, all apps together. @default DEFAULT_MAX_TRACKED_PATIENTS */
  readonly maxTrackedPatients?: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Receives each EMF document, one JSON line. @default - written to stdout */
  readonly sink?: (line: string) => void;
  /** Told when a flush fails (a constant message and the error class). @default - ignored */
  readonly onError?: (message: string, detail: { readonly error: string }) => void;
}

/** What happened to one request. */
export interface RequestRecord {
  /** The client id the caller verifiably holds (from a verified token); absent when none. */
  readonly clientId?: string;
  /**
   * `ok`: neither refused nor failed (a malformed request or a resource that does not exist
   * included); `denied`: refused; `error`: failed.
   */
  readonly outcome: 'ok' | 'denied' | 'error';
  /** Why it was refused (`denied` only). @default 'other' */
  readonly reason?: DenialReason;
  /** The patients the request touched: hashed, counted, never kept past the hour. */
  readonly patientIds?: Iterable<string>;
}

/** What the proxy and the authorizer accept as their `metrics` option. */
export interface AppMetricsRecorder {
  /** Counts one request (never throws); may flush. */
  record(request: RequestRecord): void;
  /** Writes what is buffered as EMF now (never throws). */
  flush(): void;
}

interface AppCounters {
  readonly clientId: string;
  readonly appId: string;
  requests: number;
  errors: number;
  /** Indexed like {@link DENIAL_REASONS}. */
  readonly denials: number[];
  newPatients: number;
}

const HOUR_MS = 3_600_000;
const REASON_INDEX: ReadonlyMap<string, number> = new Map(DENIAL_REASONS.map((r, i) => [r, i]));
const OTHER = REASON_INDEX.get('other')!;
const QUIET_LOGGER = { debug() {}, info() {}, warn() {}, error() {} };

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) throw new Error(`AppMetrics: ${name} must be a positive number`);
  return value;
}

function stdout(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** The per-container recorder. Create one per container, outside the handler. */
export class AppMetrics implements AppMetricsRecorder {
  private readonly metrics: Metrics;
  private readonly apps: ReadonlyMap<string, string>;
  private readonly intervalMs: number;
  private readonly maxBuffered: number;
  private readonly maxTracked: number;
  private readonly now: () => number;
  private readonly sink: (line: string) => void;
  private readonly onError?: AppMetricsOptions['onError'];
  /** Counts since the last flush, by client id (or {@link UNREGISTERED}). */
  private readonly pending = new Map<string, AppCounters>();
  private buffered = 0;
  private lastFlushAt: number | undefined;
  private lastRecordAt = 0;
  /** Patient hashes seen this hour, by client id. */
  private readonly seen = new Map<string, Set<string>>();
  private tracked = 0;
  private hour = Number.NaN;

  constructor(options: AppMetricsOptions) {
    if (typeof options.service !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(options.service)) throw new Error('AppMetrics: service must be 1–64 letters, digits, ., _ or -');
    this.apps = new Map(Object.entries(options.clientApps ?? {}));
    for (const [clientId, appId] of this.apps) {
      if (clientId === '' || typeof appId !== 'string' || appId === '') throw new Error('AppMetrics: clientApps maps client ids to app ids');
    }
    this.intervalMs = positive('flushIntervalSeconds', options.flushIntervalSeconds, DEFAULT_FLUSH_INTERVAL_SECONDS) * 1000;
    this.maxBuffered = positive('maxBufferedRequests', options.maxBufferedRequests, DEFAULT_MAX_BUFFERED_REQUESTS);
    this.maxTracked = positive('maxTrackedPatients', options.maxTrackedPatients, DEFAULT_MAX_TRACKED_PATIENTS);
    this.now = options.now ?? Date.now;
    this.sink = options.sink ?? stdout;
    this.onError = options.onError;
    this.metrics = new Metrics({ namespace: options.namespace ?? DEFAULT_APP_METRICS_NAMESPACE, serviceName: options.service, logger: QUIET_LOGGER });
  }

  record(request: RequestRecord): void {
    try {
      const now = this.now();
      const hour = Math.floor(now / HOUR_MS);
      if (hour !== this.hour) this.startHour(hour);
      const registered = request.clientId !== undefined && this.apps.has(request.clientId);
      const key = registered ? (request.clientId as string) : UNREGISTERED;
      let counters = this.pending.get(key);
      if (!counters) {
        counters = { clientId: key, appId: registered ? this.apps.get(key)! : UNREGISTERED, requests: 0, errors: 0, denials: DENIAL_REASONS.map(() => 0), newPatients: 0 };
        this.pending.set(key, counters);
      }
      counters.requests++;
      if (request.outcome === 'error') counters.errors++;
      else if (request.outcome === 'denied') counters.denials[REASON_INDEX.get(request.reason ?? 'other') ?? OTHER]++;
      if (request.patientIds) counters.newPatients += this.firstSeen(key, request.patientIds);
      this.buffered++;
      this.lastRecordAt = now;
      if (this.lastFlushAt === undefined || now - this.lastFlushAt >= this.intervalMs || this.buffered >= this.maxBuffered) this.flushAt(now);
    } catch (e) {
      this.report('App metrics could not be recorded', e);
    }
  }

  flush(): void {
    this.flushAt(this.now());
  }

  /** A new UTC hour: the last hour's counts are written, its patient hashes dropped. */
  private startHour(hour: number): void {
    if (this.pending.size > 0) this.flushAt(this.lastRecordAt);
    this.seen.clear();
    this.tracked = 0;
    this.hour = hour;
  }

  /** How many of `ids` this container has not seen for the app this hour. */
  private firstSeen(key: string, ids: Iterable<string>): number {
    let set = this.seen.get(key);
    if (!set) {
      set = new Set();
      this.seen.set(key, set);
    }
    let added = 0;
    for (const id of ids) {
      const hash = createHash('sha256').update(id).digest('base64');
      if (set.has(hash)) continue;
      added++;
      if (this.tracked < this.maxTracked) {
        set.add(hash);
        this.tracked++;
      }
    }
    return added;
  }

  private flushAt(now: number): void {
    this.lastFlushAt = now;
    if (this.pending.size === 0) return;
    const apps = [...this.pending.values()];
    const timestamp = this.lastRecordAt;
    this.pending.clear();
    this.buffered = 0;
    try {
      for (const app of apps) this.emit(app, timestamp);
    } catch (e) {
      this.report('App metrics could not be written', e);
    }
  }

  private emit(app: AppCounters, timestamp: number): void {
    const m = this.metrics;
    const dimensions = { [APP_METRIC_DIMENSIONS.clientId]: app.clientId, [APP_METRIC_DIMENSIONS.appId]: app.appId };
    this.document(timestamp, [dimensions], () => {
      m.addMetric(APP_METRICS.requests, MetricUnit.Count, app.requests);
      m.addMetric(APP_METRICS.errors, MetricUnit.Count, app.errors);
      m.addMetric(APP_METRICS.distinctPatients, MetricUnit.Count, app.newPatients);
    });
    app.denials.forEach((count, i) => {
      if (count === 0) return;
      // Two dimension sets: the app's total (CloudWatch sums the documents) and the reason's.
      this.document(timestamp, [dimensions, { ...dimensions, [APP_METRIC_DIMENSIONS.reason]: DENIAL_REASONS[i] }], () => {
        m.addMetric(APP_METRICS.denials, MetricUnit.Count, count);
      });
    });
  }

  /** One EMF document: Powertools serializes it, the sink receives it. */
  private document(timestamp: number, dimensionSets: ReadonlyArray<Record<string, string>>, addMetrics: () => void): void {
    const m = this.metrics;
    try {
      for (const set of dimensionSets) m.addDimensions(set);
      addMetrics();
      m.setTimestamp(timestamp);
      this.sink(JSON.stringify(m.serializeMetrics()));
    } finally {
      m.clearMetrics();
      m.clearDimensions();
    }
  }

  private report(message: string, e: unknown): void {
    try {
      this.onError?.(message, { error: e instanceof Error ? e.name : 'unknown' });
    } catch {
      // Reporting must never change the outcome either.
    }
  }
}
