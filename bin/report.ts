#!/usr/bin/env node
/**
 * Renders the reviewer's compliance report from a synthesized app:
 *
 *   npm run report [-- --cdk-out cdk.out] [--out-dir dir] [--fail-on error|warning] [--today YYYY-MM-DD]
 *
 * Writes `compliance-report.html` (self-contained), `.md` (for a pull-request comment) and
 * `.json` (for CI gates) into the cloud assembly directory. Exit status: 0; 1 when `--fail-on`
 * finds unacknowledged findings at or above that severity (or no checked assembly); 2 on a
 * usage error.
 */
import { FailOn, reportSummaryLine, writeComplianceReport } from '../lib/report/write';

export interface ReportArgs {
  readonly cdkOut: string;
  readonly outDir?: string;
  readonly failOn: FailOn;
  readonly today?: Date;
}

const USAGE = 'usage: npm run report -- [--cdk-out <dir>] [--out-dir <dir>] [--fail-on error|warning|none] [--today YYYY-MM-DD]';

/** Parses the command line; throws an Error with the usage on anything unknown. */
export function parseReportArgs(argv: readonly string[]): ReportArgs {
  let cdkOut = 'cdk.out';
  let outDir: string | undefined;
  let failOn: FailOn = 'none';
  let today: Date | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--cdk-out': case '-o': cdkOut = value(); break;
      case '--out-dir': outDir = value(); break;
      case '--fail-on': {
        const v = value();
        if (v !== 'error' && v !== 'warning' && v !== 'none') throw new Error(`--fail-on must be error, warning or none, not "${v}"\n${USAGE}`);
        failOn = v;
        break;
      }
      case '--today': {
        const v = value();
        if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) throw new Error(`--today must be a date YYYY-MM-DD, not "${v}"\n${USAGE}`);
        today = new Date(`${v}T00:00:00Z`);
        break;
      }
      case '--help': case '-h': throw new Error(USAGE);
      default: throw new Error(`unknown argument "${argv[i]}"\n${USAGE}`);
    }
  }
  return { cdkOut, outDir, failOn, today };
}

export function main(argv: readonly string[]): number {
  let args: ReportArgs;
  try {
    args = parseReportArgs(argv);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const written = writeComplianceReport({ cdkOut: args.cdkOut, outDir: args.outDir, failOn: args.failOn, today: args.today });
  console.log(reportSummaryLine(written));
  for (const notice of written.report.notices) console.log(`  notice: ${notice}`);
  if (written.exitCode !== 0) console.error(`compliance report: failing on ${args.failOn}: ${written.report.summary.verdictReason}`);
  return written.exitCode;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
