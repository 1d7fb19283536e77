/**
 * Reads `cdk.out`, builds the report and writes it next to the templates:
 * `compliance-report.html`, `compliance-report.md`, `compliance-report.json`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildComplianceReport, BuildReportOptions, exitCodeFor } from './build';
import { readCloudAssembly } from './cloud-assembly';
import { renderHtml } from './html';
import { renderMarkdown } from './markdown';
import { ComplianceReport } from './model';
import { gitCommit } from './versions';

export const REPORT_FILES = {
  html: 'compliance-report.html',
  markdown: 'compliance-report.md',
  json: 'compliance-report.json',
} as const;

export type FailOn = 'error' | 'warning' | 'none';

export interface WriteReportOptions extends BuildReportOptions {
  /** The cloud assembly directory. @default 'cdk.out' */
  readonly cdkOut?: string;
  /** Where the report files go. @default - `cdkOut` */
  readonly outDir?: string;
  /** @default 'none' */
  readonly failOn?: FailOn;
}

export interface WrittenReport {
  readonly report: ComplianceReport;
  readonly files: { readonly html: string; readonly markdown: string; readonly json: string };
  /** 1 when `failOn` is met, else 0. */
  readonly exitCode: number;
}

export function writeComplianceReport(options: WriteReportOptions = {}): WrittenReport {
  const cdkOut = path.resolve(options.cdkOut ?? 'cdk.out');
  const outDir = path.resolve(options.outDir ?? cdkOut);
  const kitCommit = options.kitCommit ?? gitCommit();
  const report = buildComplianceReport(readCloudAssembly(cdkOut), { ...options, ...(kitCommit ? { kitCommit } : {}) });
  fs.mkdirSync(outDir, { recursive: true });
  const files = {
    html: path.join(outDir, REPORT_FILES.html),
    markdown: path.join(outDir, REPORT_FILES.markdown),
    json: path.join(outDir, REPORT_FILES.json),
  };
  fs.writeFileSync(files.html, renderHtml(report));
  fs.writeFileSync(files.markdown, renderMarkdown(report));
  fs.writeFileSync(files.json, `${JSON.stringify(report, undefined, 2)}\n`);
  return { report, files, exitCode: exitCodeFor(report, options.failOn ?? 'none') };
}

/** One line for the terminal: the verdict and the same counts the report states. */
export function reportSummaryLine(written: WrittenReport): string {
  const s = written.report.summary;
  const v = s.counts.violations;
  const r = s.counts.resources;
  const coverage = written.report.coverage.known ? `; ${r.total} resources, ${r.evaluatedByNone} evaluated by no rule` : '';
  return `compliance report: ${s.verdict.toUpperCase()}: ${v.fatal} fatal, ${v.error} error, ${v.warning} warning, ${v.info} info unacknowledged; ${s.counts.acknowledged} acknowledged${coverage} -> ${path.relative(process.cwd(), written.files.html) || written.files.html}`;
}
