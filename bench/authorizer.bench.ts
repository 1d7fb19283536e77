/**
 * SMART authorizer figures:
 * 1. warm cost per token (the whole authorizer: header, RS256 verify, claims, scopes, in-memory
 *    revocation, policy) vs a bare `crypto.verify` of the same token; target ≤ 1.5× at the median,
 *    with the per-app metrics off and on (`shared/app-metrics.ts`: a record per call, EMF
 *    serialized at each flush as in production and written nowhere), each in its own rounds.
 *    For context, against the same bare verify: the floor any claim-reading verifier stands on
 *    (shape check, payload decode, verify; no claim checked) and aws-jwt-verify's `verifySync`;
 * 2. cold start: loading the deployed (esbuild) module and creating the authorizer with a
 *    preloaded JWKS, measured in fresh child processes so nothing is cached; target printed only;
 * 3. the esbuild-minified bundle of `lambdas/smart-authorizer/index.ts` (the Lambda runtime's
 *    Node.js, `@aws-sdk/*` external as the Lambda runtime provides it); target ≤ 150 KB.
 */
import { execFileSync } from 'child_process';
import { createPublicKey, KeyObject, verify as cryptoVerify } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import type { Jwks } from 'aws-jwt-verify/jwk';
import * as esbuild from 'esbuild';
import { HANDLER_BUNDLE_OPTIONS } from './handler-bundle';
import { authorizerEvent, bearer } from '../test/lambdas/helpers/events';
import { createAuthorizer } from '../lambdas/smart-authorizer/authorizer';
import { AppMetrics } from '../lambdas/shared/app-metrics';
import { isCompactJws } from '../lambdas/shared/cognito-verifier';
import { InMemoryRevocationStore } from '../lambdas/shared/revocation';
import { createTestIssuer } from '../test/lambdas/helpers/jwt';
import { fmt, median, timeRuns } from './stats';

const USER_POOL_ID = 'us-east-1_BenchPool1';
const CLIENT_ID = 'bench-client';
const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/r4/Observation';
const WARM_TARGET_RATIO = 1.5;
const BUNDLE_TARGET_KB = 150;
const ROOT = path.resolve(__dirname, '..');

function eventFor(token: string): APIGatewayRequestAuthorizerEvent {
  return authorizerEvent(bearer(token), { methodArn: METHOD_ARN });
}

/** The least any verifier does: split the token, decode the signature, RSA-SHA256 verify. */
function rawVerify(token: string, key: KeyObject): boolean {
  const dot = token.lastIndexOf('.');
  return cryptoVerify('sha256', Buffer.from(token.slice(0, dot)), key, Buffer.from(token.slice(dot + 1), 'base64url'));
}

/**
 * The least any verifier that reads the claims does: the compact-JWS shape check, decoding the
 * payload (base64url, `JSON.parse`) and `rawVerify`. No claim is checked: this is the floor the
 * authorizer's checks sit on, printed so the cost of the checks themselves can be read off.
 */
function decodeAndVerify(token: string, key: KeyObject): unknown {
  if (!isCompactJws(token)) throw new Error('not a compact JWS');
  const payload: unknown = JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, token.lastIndexOf('.')), 'base64url').toString('utf8'));
  if (!rawVerify(token, key)) throw new Error('bad signature');
  return payload;
}

interface Comparison {
  /** Every timed call of the side after the warm-up, in ms. */
  readonly runs: number[];
  /** Every timed call of the reference after the warm-up, in ms. */
  readonly referenceRuns: number[];
  /** The side's median over the reference's median, per round after the warm-up. */
  readonly ratios: number[];
  /** During the warm-up: the median of the per-round ratios of each block of rounds, in order. */
  readonly warmup: number[];
}

/** Rounds run before any is counted: V8 has then compiled both sides with its optimizing tier. */
const WARMUP_ROUNDS = 250;
/** Warm-up rounds per reported block of the JIT warm-up figure. */
const WARMUP_BLOCK = 25;

/**
 * Times `side` against `reference` in short interleaved rounds (the machine is shared: load
 * changes hit both alike), alternating which of the two goes first so that neither always
 * follows the other, and keeps each round's ratio of medians. Only these two run in the rounds:
 * a third function in between (the library, say) changes what the next one finds in the caches
 * and the heap, and so the ratio. The first {@link WARMUP_ROUNDS} rounds are not counted: from a
 * fresh module the authorizer starts at about twice its later cost and takes a few thousand
 * calls to settle while V8 compiles it (printed as the JIT warm-up figure).
 */
async function compare(side: () => unknown, reference: () => unknown, rounds: number, perRound: number): Promise<Comparison> {
  const runs: number[] = [];
  const referenceRuns: number[] = [];
  const ratios: number[] = [];
  const warmupRatios: number[] = [];
  for (let round = 0; round < WARMUP_ROUNDS + rounds; round++) {
    let s: number[];
    let r: number[];
    if (round % 2 === 0) {
      s = await timeRuns(side, perRound, 2);
      r = await timeRuns(reference, perRound, 2);
    } else {
      r = await timeRuns(reference, perRound, 2);
      s = await timeRuns(side, perRound, 2);
    }
    if (round < WARMUP_ROUNDS) {
      warmupRatios.push(median(s) / median(r));
      continue;
    }
    runs.push(...s);
    referenceRuns.push(...r);
    ratios.push(median(s) / median(r));
  }
  const warmup: number[] = [];
  for (let i = 0; i < warmupRatios.length; i += WARMUP_BLOCK) warmup.push(median(warmupRatios.slice(i, i + WARMUP_BLOCK)));
  return { runs, referenceRuns, ratios, warmup };
}

async function warm(): Promise<void> {
  const issuer = createTestIssuer({ userPoolId: USER_POOL_ID, clientId: CLIENT_ID });
  const token = issuer.sign({
    exp: Math.floor(Date.now() / 1000) + 3600,
    patient: 'pat-1',
    fhirUser: 'Patient/pat-1',
    labels: 'N',
    scope: 'launch/patient openid fhirUser offline_access patient/Observation.rs patient/Patient.r patient/Condition.rs patient/AllergyIntolerance.rs',
  });
  const authorize = createAuthorizer({
    userPoolId: USER_POOL_ID,
    clientIds: [CLIENT_ID],
    jwks: issuer.jwks,
    revocation: new InMemoryRevocationStore(),
  });
  // The same authorizer with per-app metrics on, as a container records them (default flush
  // policy; each EMF document serialized, then dropped instead of written to stdout).
  let emitted = 0;
  const authorizeWithMetrics = createAuthorizer({
    userPoolId: USER_POOL_ID,
    clientIds: [CLIENT_ID],
    jwks: issuer.jwks,
    revocation: new InMemoryRevocationStore(),
    metrics: new AppMetrics({ service: 'smart-authorizer', clientApps: { [CLIENT_ID]: 'bench-app' }, sink: () => void emitted++ }),
  });
  const key = createPublicKey(issuer.publicKeyPem);
  const event = eventFor(token);
  if (!rawVerify(token, key)) throw new Error('raw verify failed');
  await authorize(event); // must be allowed, or the figures mean nothing
  await authorizeWithMetrics(event);
  if (emitted === 0) throw new Error('bench setup: the metrics recorder wrote nothing');
  decodeAndVerify(token, key);

  // For context: the library's own verification of the same token, without the authorizer.
  const library = CognitoJwtVerifier.create({ userPoolId: USER_POOL_ID, tokenUse: 'access', clientId: CLIENT_ID });
  library.cacheJwks(issuer.jwks as unknown as Jwks);

  const rounds = 150;
  const perRound = 20;
  const raw = (): boolean => rawVerify(token, key);
  const headline = await compare(() => authorize(event), raw, rounds, perRound);
  const withMetrics = await compare(() => authorizeWithMetrics(event), raw, rounds, perRound);
  const floor = await compare(() => decodeAndVerify(token, key), raw, rounds, perRound);
  const lib = await compare(() => library.verifySync(token), raw, rounds, perRound);

  const a = median(headline.runs);
  const r = median(headline.referenceRuns);
  const ratio = median(headline.ratios);
  const floorRatio = median(floor.ratios);
  const blockCalls = WARMUP_BLOCK * (perRound + 2);
  console.log(
    `warm, per token (same token; each side against raw in ${rounds} alternating rounds of ${perRound} calls, ` +
      `after ${WARMUP_ROUNDS} uncounted rounds = ${(WARMUP_ROUNDS * (perRound + 2)).toLocaleString('en-US')} calls of each):`,
  );
  console.log(`  authorizer (whole handler)          ${fmt(a)} median`);
  console.log(`  raw crypto.verify RS256             ${fmt(r)} median`);
  console.log(
    `  authorizer / raw                    ${ratio.toFixed(2)}× (median of per-round ratios; ${(a / r).toFixed(2)}× of overall medians) ` +
      `target ≤ ${WARM_TARGET_RATIO}×: ${ratio <= WARM_TARGET_RATIO ? 'met' : 'NOT met'}`,
  );
  const m = median(withMetrics.runs);
  const mRatio = median(withMetrics.ratios);
  console.log(`  with per-app metrics on             ${fmt(m)} median (raw in its rounds ${fmt(median(withMetrics.referenceRuns))})`);
  console.log(
    `  authorizer + metrics / raw          ${mRatio.toFixed(2)}× (median of per-round ratios; ${(m / median(withMetrics.referenceRuns)).toFixed(2)}× of overall medians) ` +
      `target ≤ ${WARM_TARGET_RATIO}×: ${mRatio <= WARM_TARGET_RATIO ? 'met' : 'NOT met'}`,
  );
  console.log(`  metrics on / off                    ${(mRatio / ratio).toFixed(3)}× (${fmt(m - a)} per call; ${emitted} EMF documents written in the run)`);
  console.log(
    `  JIT warm-up from a fresh module     ${headline.warmup.map((x) => x.toFixed(2)).join(' ')} ` +
      `(authorizer / raw, each a median over ${blockCalls.toLocaleString('en-US')} calls)`,
  );
  // For context, each measured against raw in its own rounds.
  console.log(`  floor (shape + payload decode + raw) ${floorRatio.toFixed(2)}× raw: what reading the claims costs before any check`);
  console.log(`  authorizer / floor                  ${(ratio / floorRatio).toFixed(2)}× (the checks, routing and answer; a ratio of ratios from separate rounds, so rough)`);
  console.log(`  aws-jwt-verify verifySync alone     ${median(lib.ratios).toFixed(2)}× raw (authorizer / verifySync ${(ratio / median(lib.ratios)).toFixed(2)}×)`);
}

async function bundle(entry: string, outfile?: string): Promise<esbuild.BuildResult & { bytes: number }> {
  const result = await esbuild.build({
    ...HANDLER_BUNDLE_OPTIONS,
    entryPoints: [path.join(ROOT, entry)],
    metafile: true,
    write: outfile !== undefined,
    outfile: outfile ?? 'out.js',
  });
  const bytes = outfile ? fs.statSync(outfile).size : (result.outputFiles?.[0]?.contents.length ?? 0);
  return { ...result, bytes };
}

/**
 * Child script: load the bundle, create the authorizer (default Powertools logger, silenced by
 * POWERTOOLS_LOG_LEVEL) with the JWKS, then verify one token.
 */
const CHILD = `
const { performance } = require('perf_hooks');
const [bundlePath, jwksJson, token, poolId, clientId, methodArn] = process.argv.slice(1);
const t0 = performance.now();
const mod = require(bundlePath);
const authorize = mod.createAuthorizer({ userPoolId: poolId, clientIds: [clientId], jwks: JSON.parse(jwksJson) });
const t1 = performance.now();
authorize({ type: 'REQUEST', methodArn, headers: { Authorization: 'Bearer ' + token }, multiValueHeaders: null })
  .then(() => {
    const t2 = performance.now();
    process.stdout.write(JSON.stringify({ setup: t1 - t0, first: t2 - t1 }));
  }, (e) => { console.error(e.message); process.exit(1); });
`;

async function cold(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authorizer-bench-'));
  try {
    const file = path.join(dir, 'authorizer.js');
    await bundle('lambdas/smart-authorizer/authorizer.ts', file);
    const issuer = createTestIssuer({ userPoolId: USER_POOL_ID, clientId: CLIENT_ID });
    const token = issuer.sign({ exp: Math.floor(Date.now() / 1000) + 3600 });
    const setups: number[] = [];
    const firsts: number[] = [];
    const runs = 7;
    for (let i = 0; i < runs; i++) {
      const out = execFileSync(
        process.execPath,
        ['-e', CHILD, file, JSON.stringify(issuer.jwks), token, USER_POOL_ID, CLIENT_ID, METHOD_ARN],
        { encoding: 'utf8', env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT' } },
      );
      const { setup, first } = JSON.parse(out) as { setup: number; first: number };
      setups.push(setup);
      firsts.push(first);
    }
    console.log(`cold start (fresh node process, bundled module, median of ${runs}):`);
    console.log(`  module load + verifier set-up (preloaded JWKS)  ${fmt(median(setups))}`);
    console.log(`  first token verified (key import + verify)      ${fmt(median(firsts))}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function size(): Promise<void> {
  const result = await bundle('lambdas/smart-authorizer/index.ts');
  const kb = result.bytes / 1024;
  console.log(`bundle lambdas/smart-authorizer/index.ts (esbuild minified, ${String(HANDLER_BUNDLE_OPTIONS.target)}, @aws-sdk/* external):`);
  console.log(`  ${kb.toFixed(1)} KB (target ≤ ${BUNDLE_TARGET_KB} KB) ${kb <= BUNDLE_TARGET_KB ? 'met' : 'NOT met'}`);
  const output = Object.values(result.metafile?.outputs ?? {})[0];
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = m ? m[1] : 'project code';
    byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
  }
  const top = [...byPackage.entries()].sort((x, y) => y[1] - x[1]).slice(0, 4);
  console.log(`  largest parts: ${top.map(([k, v]) => `${k} ${(v / 1024).toFixed(1)} KB`).join(', ')}`);
}

export async function run(): Promise<void> {
  await warm();
  await cold();
  await size();
}
