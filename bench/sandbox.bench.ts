/**
 * Sandbox figures: requests per second for a patient read (`GET /r4/Patient/<own id>` with a
 * patient token) served by the sandbox over HTTP (gateway stand-in: the HTTP-to-event adapter,
 * the SMART authorizer on every request (cache off), the FHIR proxy, the SigV4-checked FHIR
 * server), against the same read through the same handlers called directly (the authorizer and
 * the proxy invoked in-process with the events the adapter builds; the proxy still calls the FHIR
 * server over HTTP). The ratio is what the sandbox's HTTP layer costs. For context, the sandbox
 * with the deployed default authorizer cache (60 s), as `npm run sandbox` runs.
 *
 * Bounded: 8 requests in flight, 60 warm-up requests per path, then rounds alternating the paths
 * (2 × 400 requests each): 2,640 requests in all, on 127.0.0.1.
 */
import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { toAuthorizerEvent, toProxyEvent, type HttpRequest } from '../bin/sandbox/http-adapter';
import { startSandbox, type Sandbox } from '../bin/sandbox/sandbox';
import { signIn } from '../bin/sandbox/sign-in';
import { median } from './stats';

const CONCURRENCY = 8;
const WARMUP = 60;
const ROUNDS = 2;
const PER_ROUND = 400;
const REDIRECT_URI = 'http://127.0.0.1:3999/callback';

type Call = () => Promise<number>;

interface Sample {
  readonly requests: number;
  readonly ms: number;
  readonly latencies: number[];
}

/** `total` calls, `CONCURRENCY` at a time; every answer must be 200. */
async function load(call: Call, total: number): Promise<Sample> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      next += 1;
      const t0 = performance.now();
      const status = await call();
      latencies.push(performance.now() - t0);
      if (status !== 200) throw new Error(`a patient read answered ${status}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { requests: total, ms: performance.now() - started, latencies };
}

function overHttp(sandbox: Sandbox, path: string, token: string, agent: Agent): Call {
  const url = new URL(sandbox.fhirBaseUrl);
  return () =>
    new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, path, method: 'GET', agent, headers: { Authorization: `Bearer ${token}`, Accept: 'application/fhir+json' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end();
    });
}

function direct(sandbox: Sandbox, path: string, token: string): Call {
  const { authorizer, proxy } = sandbox.handlers;
  const route = { resource: '/r4/{proxy+}', pathParameters: { proxy: path.replace(/^\/r4\//, '') } };
  const http: HttpRequest = { method: 'GET', url: path, rawHeaders: ['Authorization', `Bearer ${token}`, 'Accept', 'application/fhir+json'], body: Buffer.alloc(0) };
  return async () => {
    const unauthorized = toProxyEvent(http, route, sandbox.api);
    const result = await authorizer(toAuthorizerEvent(unauthorized, sandbox.api));
    const context: Record<string, string> = { principalId: result.principalId };
    for (const [k, v] of Object.entries(result.context ?? {})) context[k] = String(v);
    const answer = await proxy(toProxyEvent(http, route, sandbox.api, { authorizer: context }));
    return answer.statusCode;
  };
}

function rps(samples: readonly Sample[]): number {
  const requests = samples.reduce((n, s) => n + s.requests, 0);
  const ms = samples.reduce((n, s) => n + s.ms, 0);
  return (requests / ms) * 1000;
}

async function measure(cacheTtl: number): Promise<{ http: Sample[]; direct: Sample[] }> {
  const sandbox = await startSandbox({ redirectUris: [REDIRECT_URI], authorizerCacheTtlSeconds: cacheTtl });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const [patient] = sandbox.patientIds;
    const token = await signIn({ fhirBaseUrl: sandbox.fhirBaseUrl, clientId: sandbox.clientId, redirectUri: REDIRECT_URI, username: sandbox.users[0].username, scope: 'launch/patient openid patient/Patient.rs' });
    if (token.patient !== patient) throw new Error('the launch gave another patient');
    const path = `/r4/Patient/${patient}`;
    const viaHttp = overHttp(sandbox, path, token.access_token, agent);
    const viaHandlers = direct(sandbox, path, token.access_token);
    await load(viaHttp, WARMUP);
    await load(viaHandlers, WARMUP);
    const out = { http: [] as Sample[], direct: [] as Sample[] };
    for (let round = 0; round < ROUNDS; round++) {
      out.http.push(await load(viaHttp, PER_ROUND));
      if (cacheTtl === 0) out.direct.push(await load(viaHandlers, PER_ROUND));
    }
    return out;
  } finally {
    agent.destroy();
    await sandbox.close();
  }
}

export async function run(): Promise<void> {
  const started = performance.now();
  const off = await measure(0);
  const cached = await measure(60);
  const sandboxRps = rps(off.http);
  const directRps = rps(off.direct);
  const p50 = (samples: readonly Sample[]): string => `${median(samples.flatMap((s) => s.latencies)).toFixed(2)} ms`;
  console.log(`Patient read, ${CONCURRENCY} in flight, ${ROUNDS * PER_ROUND} timed requests per path (after ${WARMUP} warm-up), 127.0.0.1:`);
  console.log(`| path | requests/s | median latency |`);
  console.log(`|---|---|---|`);
  console.log(`| sandbox over HTTP (adapter + authorizer every request + proxy + FHIR server) | ${sandboxRps.toFixed(0)} | ${p50(off.http)} |`);
  console.log(`| handlers called directly (authorizer + proxy, same events; FHIR server over HTTP) | ${directRps.toFixed(0)} | ${p50(off.direct)} |`);
  console.log(`| sandbox over HTTP, authorizer cache 60 s (as \`npm run sandbox\` defaults) | ${rps(cached.http).toFixed(0)} | ${p50(cached.http)} |`);
  console.log(`Ratio sandbox / direct (cache off): ${(sandboxRps / directRps).toFixed(2)} (${((1 / sandboxRps - 1 / directRps) * 1000).toFixed(3)} ms of HTTP and adapter per request, at this concurrency)`);
  console.log(`Bench wall time: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (require.main === module) {
  run().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
