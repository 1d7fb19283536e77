/**
 * The words and counts the HTML, the Markdown and the terminal line share, written once so that
 * every rendering states the same numbers the same way.
 */
import { ComplianceReport, ControlStatus, SEVERITIES } from './model';

export const STATUS_LABEL: Record<ControlStatus, string> = {
  violated: 'violated',
  acknowledged: 'acknowledged',
  met: 'met',
  'technical-evidence': 'technical evidence',
  'not-evaluated': 'not evaluated',
  'not-covered': 'not covered',
  unknown: 'unknown',
};

/** Section ids and titles, in order: the HTML and the Markdown number them the same way. */
export const REPORT_SECTIONS = [
  { id: 'summary', title: 'Summary and what was reviewed' },
  { id: 'scope', title: 'What the packs can and cannot establish' },
  { id: 'hipaa-matrix', title: 'HIPAA Security Rule matrix' },
  { id: 'findings', title: 'Findings' },
  { id: 'acknowledgements', title: 'Acknowledgements' },
  { id: 'coverage', title: 'Every resource accounted for' },
  { id: 'apps', title: 'Third-party apps' },
  { id: 'api-versions', title: 'API versions' },
  { id: 'environments', title: 'What differs between environments' },
  { id: 'data-flow', title: 'Data flow' },
  { id: 'inventory', title: 'Inventory' },
  { id: 'sign-off', title: 'Sign-off' },
] as const;

export type ReportSectionId = (typeof REPORT_SECTIONS)[number]['id'];

/** The number of a section (1-based), for headings and cross-references. */
export const sectionNumber = (id: ReportSectionId): number => REPORT_SECTIONS.findIndex((s) => s.id === id) + 1;

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The counts line every rendering shows the same way (the tests compare them). */
export function countsLine(r: ComplianceReport): { findings: string; acknowledged: string; acknowledgements: string; resources: string; citations: string } {
  const c = r.summary.counts;
  const a = c.acknowledgements;
  const parts = [`${a.inUse} in use`, a.refused ? `${a.refused} refused` : '', a.unused ? `${a.unused} matched nothing` : '', a.notChecked ? `${a.notChecked} not checked` : '', a.outside ? `${a.outside} for outside checkers` : ''].filter(Boolean);
  return {
    findings: `${SEVERITIES.reduce((n, k) => n + c.violations[k], 0)} (${SEVERITIES.map((k) => `${c.violations[k]} ${k}`).join(', ')})`,
    acknowledged: String(c.acknowledged),
    acknowledgements: `${a.total} (${parts.join(', ')})`,
    resources: r.coverage.known ? `${c.resources.total} (${c.resources.evaluated} evaluated by some rule, ${c.resources.evaluatedByNone} by none)` : `${c.resources.total} (no evidence: unknown)`,
    citations: (Object.keys(c.controls) as ControlStatus[]).filter((k) => c.controls[k] > 0).map((k) => `${c.controls[k]} ${STATUS_LABEL[k]}`).join(', '),
  };
}

