/**
 * Synth benchmark: the reference app synthesized in this process with the three compliance packs,
 * with FHIR.HIPAA alone, and with no packs; several repetitions each, interleaved so machine load
 * hits all variants alike (in a rotating order, so none always follows another and pays for its
 * garbage); medians and ratios printed against the targets (three packs ≤ +30 %, FHIR.HIPAA alone
 * ≤ +10 %). The ratio is the median of the per-repetition ratios (each repetition runs every
 * variant once), and, for comparison, the ratio of the medians.
 *
 * Lambda bundling is skipped in every variant (`aws:cdk:bundling-stacks: []`): esbuild time
 * does not depend on the packs and would only dilute the ratio. CDK's own CloudFormation Validate
 * plugin runs in every variant, the no-pack baseline included.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { App, Validations } from 'aws-cdk-lib';
import { NagPack } from 'cdk-nag';
import { buildApp } from '../bin/app';
import { createCompliancePacks } from '../policies';
import { cdkJsonContext } from '../test/helpers/app';
import { fmt, median } from './stats';

type Variant = { name: string; packs: (app: App) => NagPack[] };

const VARIANTS: Variant[] = [
  { name: 'no packs', packs: () => [] },
  { name: 'FHIR.HIPAA only', packs: (app) => createCompliancePacks(app).filter((p) => p.readPackName === 'FHIR.HIPAA') },
  { name: 'all three packs', packs: (app) => createCompliancePacks(app) },
];

function synthOnce(variant: Variant): number {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-bench-'));
  const t0 = performance.now();
  const app = new App({ outdir, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  // buildApp registers the packs itself; build the stack without them, then add the variant's.
  buildApp(app, { withCompliancePacks: false });
  const packs = variant.packs(app);
  if (packs.length > 0) Validations.of(app).addPlugins(...packs);
  app.synth();
  const ms = performance.now() - t0;
  fs.rmSync(outdir, { recursive: true, force: true });
  return ms;
}

export async function run(): Promise<void> {
  const reps = Number(process.env.BENCH_REPS ?? 25);
  const times = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  const ratios = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  for (const v of VARIANTS) synthOnce(v); // warm-up: module loading, CloudFormation Validate engine
  for (let i = 0; i < reps; i++) {
    // Each repetition runs every variant once, in a rotating order (none always follows another).
    const round = new Map<string, number>();
    for (let k = 0; k < VARIANTS.length; k++) {
      const v = VARIANTS[(i + k) % VARIANTS.length];
      round.set(v.name, synthOnce(v));
    }
    for (const v of VARIANTS) {
      times.get(v.name)!.push(round.get(v.name)!);
      ratios.get(v.name)!.push(round.get(v.name)! / round.get('no packs')!);
    }
  }
  const base = median(times.get('no packs')!);
  console.log(`reference app synth, ${reps} repetitions each (interleaved, rotating order), bundling skipped`);
  console.log('| variant | median | ratio to no packs (median of per-repetition ratios; of medians) | target |');
  console.log('|---|---|---|---|');
  for (const v of VARIANTS) {
    const m = median(times.get(v.name)!);
    const target = v.name === 'all three packs' ? '≤ 1.30' : v.name === 'FHIR.HIPAA only' ? '≤ 1.10' : '';
    console.log(`| ${v.name} | ${fmt(m)} | ${median(ratios.get(v.name)!).toFixed(3)}; ${(m / base).toFixed(3)} | ${target} |`);
  }

  // Cross-check: each pack's own walk over the synthesized reference stack, timed directly.
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const { stack } = buildApp(app, { withCompliancePacks: false });
  console.log('\nper pack, validateScope over the reference stack (median of ' + reps * 3 + ')');
  for (const pack of createCompliancePacks()) {
    const runs: number[] = [];
    for (let i = 0; i < reps * 3; i++) {
      const t0 = performance.now();
      pack.validateScope(stack);
      runs.push(performance.now() - t0);
    }
    console.log(`  ${pack.readPackName}: ${fmt(median(runs))}`);
  }
}
