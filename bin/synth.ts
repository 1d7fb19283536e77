#!/usr/bin/env node
/**
 * `npm run synth`: builds the Lambda handlers (`scripts/build-handlers.ts`, the assets every
 * construct uses, as in an installed package), then `cdk synth --quiet` (arguments passed
 * through), then the compliance report,
 * written whether or not the synth passed (a failing synth is when a reviewer needs it most).
 * Exits with the synth's status; 1 if the report could not be written, or if the synth exited 0
 * while the report's verdict is not PASS (the gate's result is the report's, so a pack that
 * failed without CDK noticing cannot pass).
 *
 * The previous run's report, evidence, validation report and manifest are removed first, so a
 * synth that fails before writing an assembly cannot leave a stale report behind.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { COMPLIANCE_EVIDENCE_FILE } from '../lib/report/evidence';
import { buildHandlers } from '../scripts/build-handlers';
import { REPORT_FILES, reportSummaryLine, writeComplianceReport } from '../lib/report/write';

/** The `--output`/`-o` directory of the cdk arguments. @default 'cdk.out' */
export function outputDir(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    if ((args[i] === '--output' || args[i] === '-o') && args[i + 1]) return args[i + 1];
    if (args[i].startsWith('--output=')) return args[i].slice('--output='.length);
  }
  return 'cdk.out';
}

/** The exit status of `npm run synth`: the synth's, else 1 when the report's verdict is not PASS. */
export function synthExitStatus(cdkStatus: number, verdict: string): number {
  if (cdkStatus !== 0) return cdkStatus;
  return verdict === 'pass' ? 0 : 1;
}

function main(args: readonly string[]): number {
  try {
    buildHandlers();
  } catch (err) {
    console.error(`Lambda handlers: not built: ${(err as Error).message}`);
    return 1;
  }
  const outdir = path.resolve(outputDir(args));
  for (const file of [...Object.values(REPORT_FILES), COMPLIANCE_EVIDENCE_FILE, 'validation-report.json', 'manifest.json']) {
    fs.rmSync(path.join(outdir, file), { force: true });
  }
  const cdk = path.join(__dirname, '..', 'node_modules', '.bin', process.platform === 'win32' ? 'cdk.cmd' : 'cdk');
  const synth = spawnSync(cdk, ['synth', '--quiet', ...args], { stdio: 'inherit', shell: process.platform === 'win32' });
  const status = synth.status ?? 1;
  if (synth.error) console.error(`cannot run cdk: ${synth.error.message}`);
  try {
    const written = writeComplianceReport({ cdkOut: outdir });
    console.log(reportSummaryLine(written));
    for (const notice of written.report.notices) console.log(`  notice: ${notice}`);
    const exit = synthExitStatus(status, written.report.summary.verdict);
    if (exit !== status) console.error(`compliance gate: the synth passed but the report's verdict is ${written.report.summary.verdict.toUpperCase()}: ${written.report.summary.verdictReason}`);
    return exit;
  } catch (err) {
    console.error(`compliance report: not written: ${(err as Error).message}`);
    return status !== 0 ? status : 1;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
