import {
  APP_METRICS, AppMetrics, DENIAL_REASONS, DEFAULT_APP_METRICS_NAMESPACE, UNREGISTERED, type AppMetricsOptions,
} from '../../../lambdas/shared/app-metrics';
import { appMetricsEnvironment, appMetricsFromEnvironment, parseAppMetricsEnvironment } from '../../../lambdas/shared/app-metrics-environment';

const CLIENT_APPS = { 'client-portal': 'harbor-patient-portal', 'client-cardio': 'cardio-insight' };
const T0 = Date.UTC(2026, 10, 29, 10, 0, 0);

interface Emf {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [key: string]: unknown;
}

/** A recorder with a settable clock and every line it writes. */
function recorder(options: Partial<AppMetricsOptions> = {}) {
  const lines: string[] = [];
  const clock = { now: T0 };
  const metrics = new AppMetrics({ service: 'fhir-proxy', clientApps: CLIENT_APPS, now: () => clock.now, sink: (l) => void lines.push(l), ...options });
  const docs = (): Emf[] => lines.map((l) => JSON.parse(l) as Emf);
  return { metrics, lines, clock, docs };
}

/** `{ "<ClientId>/<Reason or ->": { metric: value } }` summed over the documents. */
function totals(docs: readonly Emf[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const d of docs) {
    const key = `${String(d.ClientId)}/${String(d.Reason ?? '-')}`;
    for (const m of d._aws.CloudWatchMetrics[0].Metrics) {
      out[key] ??= {};
      out[key][m.Name] = (out[key][m.Name] ?? 0) + (d[m.Name] as number);
    }
  }
  return out;
}

describe('AppMetrics: aggregation', () => {
  test('counts requests, errors and denials by reason per client, flushed together', () => {
    const { metrics, docs } = recorder();
    metrics.record({ clientId: 'client-portal', outcome: 'ok' }); // first request: flushed at once
    expect(docs()).toHaveLength(1);
    metrics.record({ clientId: 'client-portal', outcome: 'ok' });
    metrics.record({ clientId: 'client-portal', outcome: 'denied', reason: 'scope' });
    metrics.record({ clientId: 'client-portal', outcome: 'denied', reason: 'scope' });
    metrics.record({ clientId: 'client-portal', outcome: 'denied', reason: 'consent' });
    metrics.record({ clientId: 'client-cardio', outcome: 'error' });
    metrics.record({ clientId: 'client-cardio', outcome: 'denied' });
    expect(docs()).toHaveLength(1); // buffered
    metrics.flush();
    expect(totals(docs().slice(1))).toEqual({
      'client-portal/-': { Requests: 4, Errors: 0, DistinctPatients: 0 },
      'client-portal/scope': { Denials: 2 },
      'client-portal/consent': { Denials: 1 },
      'client-cardio/-': { Requests: 2, Errors: 1, DistinctPatients: 0 },
      'client-cardio/other': { Denials: 1 },
    });
  });

  test('a flush with nothing recorded writes nothing', () => {
    const { metrics, lines } = recorder();
    metrics.flush();
    metrics.flush();
    expect(lines).toEqual([]);
  });
});

describe('AppMetrics: EMF documents and dimensions', () => {
  test('requests, errors and patients under [service, ClientId, AppId]; denials also per Reason', () => {
    const { metrics, docs } = recorder({ namespace: 'Team/Fhir' });
    metrics.record({ clientId: 'client-portal', outcome: 'denied', reason: 'label' });
    const [main, denial] = docs();
    expect(main._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'Team/Fhir',
        Dimensions: [['service', 'ClientId', 'AppId']],
        Metrics: [
          { Name: 'Requests', Unit: 'Count' },
          { Name: 'Errors', Unit: 'Count' },
          { Name: 'DistinctPatients', Unit: 'Count' },
        ],
      },
    ]);
    expect(main).toMatchObject({ service: 'fhir-proxy', ClientId: 'client-portal', AppId: 'harbor-patient-portal', Requests: 1, Errors: 0, DistinctPatients: 0 });
    expect(denial._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'Team/Fhir', Dimensions: [['service', 'ClientId', 'AppId'], ['service', 'ClientId', 'AppId', 'Reason']], Metrics: [{ Name: 'Denials', Unit: 'Count' }] },
    ]);
    expect(denial).toMatchObject({ ClientId: 'client-portal', AppId: 'harbor-patient-portal', Reason: 'label', Denials: 1 });
  });

  test('each document holds exactly its dimensions and metrics, nothing else', () => {
    const { metrics, docs } = recorder();
    metrics.record({ clientId: 'client-portal', outcome: 'denied', reason: 'revoked', patientIds: ['pat-secret-1'] });
    for (const d of docs()) {
      const cw = d._aws.CloudWatchMetrics[0];
      const allowed = new Set(['_aws', ...cw.Dimensions.flat(), ...cw.Metrics.map((m) => m.Name)]);
      expect(Object.keys(d).filter((k) => !allowed.has(k))).toEqual([]);
    }
  });

  test('the default namespace is ZeroTrustFhir; the timestamp is the last request counted', () => {
    const { metrics, docs, clock } = recorder();
    metrics.record({ clientId: 'client-portal', outcome: 'ok' });
    clock.now = T0 + 2000;
    metrics.record({ clientId: 'client-portal', outcome: 'ok' });
    clock.now = T0 + 4000;
    metrics.flush();
    expect(docs()[0]._aws.CloudWatchMetrics[0].Namespace).toBe(DEFAULT_APP_METRICS_NAMESPACE);
    expect(docs().map((d) => d._aws.Timestamp)).toEqual([T0, T0 + 2000]);
  });

  test('every metric name and reason is a contract name', () => {
    expect(Object.values(APP_METRICS)).toEqual(['Requests', 'Denials', 'Errors', 'DistinctPatients']);
    expect([...DENIAL_REASONS]).toEqual(['scope', 'compartment', 'consent', 'label', 'revoked', 'invalid-token', 'other']);
  });
});

describe('AppMetrics: flush policy', () => {
  test('flushes on the first request, then at most once per interval of wall time', () => {
    const { metrics, docs, clock } = recorder({ flushIntervalSeconds: 10 });
    metrics.record({ clientId: 'client-portal', outcome: 'ok' });
    expect(docs()).toHaveLength(1);
    for (let s = 1; s < 10; s++) {
      clock.now = T0 + s * 1000;
      metrics.record({ clientId: 'client-portal', outcome: 'ok' });
    }
    expect(docs()).toHaveLength(1);
    clock.now = T0 + 10_000;
    metrics.record({ clientId: 'client-portal', outcome: 'ok' });
    expect(docs()).toHaveLength(2);
    expect(docs()[1].Requests).toBe(10);
  });

  test('flushes when the buffer holds maxBufferedRequests requests, whatever the time', () => {
    const { metrics, docs } = recorder({ maxBufferedRequests: 3 });
    metrics.record({ clientId: 'client-portal', outcome: 'ok' });
    metrics.record({ clientId: 'client-portal', outcome: 'ok' });
    metrics.record({ clientId: 'client-cardio', outcome: 'ok' });
    expect(docs()).toHaveLength(1);
    metrics.record({ clientId: 'client-cardio', outcome: 'ok' });
    expect(totals(docs().slice(1))).toEqual({
      'client-portal/-': { Requests: 1, Errors: 0, DistinctPatients: 0 },
      'client-cardio/-': { Requests: 2, Errors: 0, DistinctPatients: 0 },
    });
  });

  test('what a frozen container recorded after its last flush is all that can be lost', () => {
    const { metrics, docs, clock } = recorder({ flushIntervalSeconds: 10 });
    let recorded = 0;
    for (let s = 0; s < 95; s++) {
      clock.now = T0 + s * 1000;
      metrics.record({ clientId: 'client-portal', outcome: 'ok' });
      recorded++;
    }
    const written = docs().reduce((n, d) => n + (d.Requests as number), 0);
    // Frozen here: the unwritten counts are those of the last interval only.
    expect(recorded - written).toBeGreaterThan(0);
    expect(recorded - written).toBeLessThanOrEqual(10);
  });

  test('a write that fails is reported and never thrown', () => {
    const errors: string[] = [];
    const metrics = new AppMetrics({
      service: 'smart-authorizer', clientApps: CLIENT_APPS,
      sink: () => { throw new Error('EPIPE'); },
      onError: (m) => void errors.push(m),
    });
    expect(() => metrics.record({ clientId: 'client-portal', outcome: 'ok' })).not.toThrow();
    expect(errors).toEqual(['App metrics could not be written']);
  });

  test('options are checked when the recorder is made', () => {
    expect(() => new AppMetrics({ service: 'x y', clientApps: {} })).toThrow(/service/);
    expect(() => new AppMetrics({ service: 'p', clientApps: {}, flushIntervalSeconds: 0 })).toThrow(/flushIntervalSeconds/);
    expect(() => new AppMetrics({ service: 'p', clientApps: { c: '' } })).toThrow(/clientApps/);
  });
});

describe('AppMetrics: distinct patients per app and UTC hour', () => {
  test('counts each patient once per app and hour, per app separately', () => {
    const { metrics, docs, clock } = recorder();
    metrics.record({ clientId: 'client-portal', outcome: 'ok', patientIds: ['pat-a'] });
    metrics.record({ clientId: 'client-portal', outcome: 'ok', patientIds: ['pat-a', 'pat-b'] });
    metrics.record({ clientId: 'client-portal', outcome: 'ok', patientIds: new Set(['pat-b', 'pat-c']) });
    metrics.record({ clientId: 'client-cardio', outcome: 'ok', patientIds: ['pat-a'] });
    clock.now = T0 + 59 * 60_000;
    metrics.record({ clientId: 'client-portal', outcome: 'ok', patientIds: ['pat-a', 'pat-c'] });
    metrics.flush();
    expect(totals(docs())['client-portal/-'].DistinctPatients).toBe(3);
    expect(totals(docs())['client-cardio/-'].DistinctPatients).toBe(1);
  });

  test('a new UTC hour starts from nothing, and the last hour is written, stamped in that hour, first', () => {
    const { metrics, docs, clock } = recorder({ flushIntervalSeconds: 900 });
    metrics.record({ clientId: 'client-portal', outcome: 'ok', patientIds: ['pat-a'] });
    clock.now = T0 + 30 * 60_000;
    metrics.record({ clientId: 'client-portal', outcome: 'ok', patientIds: ['pat-a', 'pat-b'] });
    clock.now = T0 + 60 * 60_000 + 5;
    metrics.record({ clientId: 'client-portal', outcome: 'ok', patientIds: ['pat-a'] });
    metrics.flush();
    const byHour = docs().map((d) => [new Date(d._aws.Timestamp).getUTCHours(), d.DistinctPatients]);
    expect(byHour).toEqual([[10, 1], [10, 1], [11, 1]]);
  });

  test('past maxTrackedPatients every patient not already held counts as new: an upper bound, never less', () => {
    const { metrics, docs } = recorder({ maxTrackedPatients: 2 });
    metrics.record({ clientId: 'client-portal', outcome: 'ok', patientIds: ['p1', 'p2', 'p3'] });
    metrics.record({ clientId: 'client-portal', outcome: 'ok', patientIds: ['p1', 'p3', 'p4'] });
    metrics.flush();
    // p1, p2 are held; p3 counted twice, p4 once.
    expect(totals(docs())['client-portal/-'].DistinctPatients).toBe(5);
  });
});

describe('AppMetrics: unknown clients', () => {
  test('a client id outside the registered set, or none, is ClientId and AppId "unregistered"', () => {
    const { metrics, docs } = recorder();
    metrics.record({ clientId: 'attacker-chosen-<script>', outcome: 'denied', reason: 'invalid-token' });
    metrics.record({ outcome: 'denied', reason: 'invalid-token' });
    metrics.flush();
    const all = docs();
    expect(new Set(all.map((d) => d.ClientId))).toEqual(new Set([UNREGISTERED]));
    expect(new Set(all.map((d) => d.AppId))).toEqual(new Set([UNREGISTERED]));
    expect(all.map((d) => d.Requests).filter((n) => n !== undefined)).toEqual([1, 1]);
    expect(all.join('')).not.toContain('attacker');
    expect(JSON.stringify(all)).not.toContain('attacker');
  });

  test('an unknown reason is counted as other', () => {
    const { metrics, docs } = recorder();
    metrics.record({ clientId: 'client-portal', outcome: 'denied', reason: 'Patient/123' as never });
    expect(docs().map((d) => d.Reason).filter((r) => r !== undefined)).toEqual(['other']);
  });
});

describe('app metrics environment contract', () => {
  const settings = { namespace: 'ZeroTrustFhir', clientApps: CLIENT_APPS, flushIntervalSeconds: 30, maxBufferedRequests: 1000 };

  test('the writer and the parser agree', () => {
    const env = appMetricsEnvironment(settings);
    expect(env).toEqual({
      APP_METRICS_NAMESPACE: 'ZeroTrustFhir',
      APP_METRICS_APPS: 'client-portal=harbor-patient-portal client-cardio=cardio-insight',
      APP_METRICS_FLUSH_SECONDS: '30',
      APP_METRICS_MAX_BUFFERED: '1000',
    });
    expect(parseAppMetricsEnvironment(env)).toEqual(settings);
    expect(parseAppMetricsEnvironment(appMetricsEnvironment({ clientApps: CLIENT_APPS }))).toEqual({ namespace: 'ZeroTrustFhir', clientApps: CLIENT_APPS });
  });

  test('a map the function holds already is named, not repeated; any other map is written whole', () => {
    const shared = { variable: 'APP_CLIENT_IDS', clientApps: { 'client-cardio': 'cardio-insight', 'client-portal': 'harbor-patient-portal' } };
    const env = appMetricsEnvironment(settings, {}, shared);
    expect(env.APP_METRICS_APPS).toBe('@APP_CLIENT_IDS');
    expect(parseAppMetricsEnvironment(env, shared)).toEqual(settings);
    const other = { variable: 'APP_CLIENT_IDS', clientApps: { 'client-portal': 'harbor-patient-portal' } };
    expect(appMetricsEnvironment(settings, {}, other).APP_METRICS_APPS).toBe('client-portal=harbor-patient-portal client-cardio=cardio-insight');
    expect(appMetricsEnvironment(settings, {}, { variable: 'APP_CLIENT_IDS', clientApps: undefined }).APP_METRICS_APPS).toContain('client-portal=');
  });

  test('no namespace: metrics off', () => {
    expect(parseAppMetricsEnvironment({})).toBeUndefined();
    expect(appMetricsFromEnvironment({}, 'fhir-proxy')).toBeUndefined();
  });

  const N = { APP_METRICS_NAMESPACE: 'N' };
  const SHARED = { variable: 'APP_CLIENT_IDS', clientApps: {} };
  // Every row gives `shared` (a row shorter than the callback's parameters would make jest pass `done`).
  test.each<[string, Record<string, string>, RegExp, typeof SHARED | undefined]>([
    ['a variable without the namespace', { APP_METRICS_APPS: 'c=app' }, /^APP_METRICS_APPS: needs APP_METRICS_NAMESPACE/, undefined],
    ['the namespace without the apps', N, /^APP_METRICS_APPS: is not set/, undefined],
    ['a namespace with a colon', { APP_METRICS_NAMESPACE: 'a:b', APP_METRICS_APPS: 'c=app' }, /^APP_METRICS_NAMESPACE: must be a CloudWatch namespace/, undefined],
    ['the JSON of earlier kit versions', { ...N, APP_METRICS_APPS: '{"c":"app"}' }, /^APP_METRICS_APPS: is JSON, the format of earlier kit versions: deploy the function with the construct of its own kit version, which writes "<client id>=app id …"/, undefined],
    ['an entry without =', { ...N, APP_METRICS_APPS: 'c' }, /^APP_METRICS_APPS: "c" is not <client id>=app id/, undefined],
    ['an entry of two fields', { ...N, APP_METRICS_APPS: 'c=app,x' }, /^APP_METRICS_APPS: c has 2 fields, at most 1/, undefined],
    ['a client listed twice', { ...N, APP_METRICS_APPS: 'c=app c=app' }, /^APP_METRICS_APPS: lists c twice/, undefined],
    ['no client', { ...N, APP_METRICS_APPS: ' ' }, /^APP_METRICS_APPS: lists no client/, undefined],
    ['an app id that is not one', { ...N, APP_METRICS_APPS: 'c=-app' }, /^APP_METRICS_APPS: c must name an app id/, undefined],
    ['a variable named where the function holds no other map', { ...N, APP_METRICS_APPS: '@APP_CLIENT_IDS' }, /^APP_METRICS_APPS: names @APP_CLIENT_IDS, but this function holds the map in no other variable/, undefined],
    ['another variable than the function\'s', { ...N, APP_METRICS_APPS: '@CLIENTS' }, /^APP_METRICS_APPS: names @CLIENTS; this function's map can only be @APP_CLIENT_IDS/, SHARED],
    ['a variable that maps no client', { ...N, APP_METRICS_APPS: '@APP_CLIENT_IDS' }, /^APP_METRICS_APPS: names @APP_CLIENT_IDS, which maps no client to an app/, SHARED],
    ['a flush interval of 0', { ...N, APP_METRICS_APPS: 'c=app', APP_METRICS_FLUSH_SECONDS: '0' }, /^APP_METRICS_FLUSH_SECONDS: must be a whole number from 1 to 900/, undefined],
    ['a buffer of none', { ...N, APP_METRICS_APPS: 'c=app', APP_METRICS_MAX_BUFFERED: '0' }, /^APP_METRICS_MAX_BUFFERED: must be a whole number from 1 to 100000/, undefined],
  ])('the parser refuses %s, naming the variable', (_name, env, message, shared) => {
    expect(() => parseAppMetricsEnvironment(env, shared)).toThrow(message);
  });

  test.each<[string, object, RegExp]>([
    ['a flush interval past 900 s', { flushIntervalSeconds: 901 }, /^flushIntervalSeconds: must be a whole number from 1 to 900/],
    ['no client', { clientApps: {} }, /^clientApps: lists no client/],
    ['a client id with a space', { clientApps: { 'c 1': 'app' } }, /^clientApps: has a key that is not a client id: "c 1"/],
    ['an app id that is not one', { clientApps: { c: 'bad app' } }, /^clientApps: c must name an app id/],
  ])('the writer refuses %s, naming the setting', (_name, changed, message) => {
    expect(() => appMetricsEnvironment({ ...settings, ...changed })).toThrow(message);
  });

  test('client ids that are tokens are not checked by the writer; their app ids are', () => {
    const isUnresolved = (v: unknown): boolean => typeof v === 'string' && v.startsWith('${Token');
    const env = appMetricsEnvironment({ clientApps: { '${Token[TOKEN.1]}': 'harbor-patient-portal' } }, { isUnresolved });
    expect(env.APP_METRICS_APPS).toBe('${Token[TOKEN.1]}=harbor-patient-portal');
    expect(() => appMetricsEnvironment({ clientApps: { '${Token[TOKEN.1]}': 'bad app' } }, { isUnresolved })).toThrow(/^clientApps: \$\{Token\[TOKEN\.1\]\} must name an app id/);
  });

  test('the recorder from the environment writes under its service and namespace', () => {
    const lines: string[] = [];
    const metrics = appMetricsFromEnvironment(appMetricsEnvironment({ namespace: 'Team/Apps', clientApps: CLIENT_APPS }), 'smart-authorizer', { sink: (l) => void lines.push(l) });
    metrics!.record({ clientId: 'client-cardio', outcome: 'ok' });
    expect(JSON.parse(lines[0])).toMatchObject({ service: 'smart-authorizer', ClientId: 'client-cardio', AppId: 'cardio-insight', _aws: { CloudWatchMetrics: [{ Namespace: 'Team/Apps' }] } });
  });
});
