/**
 * The report as GitHub-flavoured Markdown for a pull-request comment: the same seven sections,
 * tables instead of the picture, kept under GitHub's comment size limit (the longest lists are
 * shortened, with a pointer to the HTML report). Every value is escaped for a table cell.
 */
import { labelDefaults } from './label-defaults';
import { escapeMarkdown as m, markdownCode as code } from './escape';
import { ComplianceReport, ControlStatus, SEVERITIES } from './model';

/** GitHub rejects comments over 65,536 characters. */
export const MARKDOWN_LIMIT = 60_000;

const STATUS: Record<ControlStatus, string> = {
  violated: '❌ violated',
  acknowledged: '⚠️ acknowledged',
  met: '✅ met',
  'not-evaluated': '⬜ not evaluated',
  'not-covered': '⬜ not covered',
  unknown: '❔ unknown',
};

/** Escapes a rule message for a table cell, keeping its `code spans` as code. */
function rich(text: string): string {
  return text.split(/(`[^`]+`)/g).map((part) => (part.startsWith('`') && part.endsWith('`') && part.length > 1 ? code(part.slice(1, -1)) : m(part))).join('');
}

function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '';
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function matrixCell(row: ComplianceReport['hipaaMatrix'][number], compact: boolean): string {
  if (row.rules.length === 0) return row.status === 'not-covered' ? '_no rule checks this safeguard_' : '–';
  const evaluated = row.rules.filter((r) => r.status !== 'not-evaluated' && r.status !== 'unknown');
  const idle = row.rules.length - evaluated.length;
  const { shown, more } = compact ? capped(evaluated, 6) : { shown: evaluated, more: 0 };
  const lines = shown.map((rule) => `${STATUS[rule.status].split(' ')[0]} ${code(rule.ruleId)} ${rule.met.length}/${rule.acknowledged.length}/${rule.violated.length}`
    + (rule.violated.length > 0 && !compact ? `: ${rule.violated.slice(0, 5).map(code).join(', ')}${rule.violated.length > 5 ? ' …' : ''}` : ''));
  if (more > 0) lines.push(`… ${more} more`);
  if (idle > 0) lines.push(`${idle} rule${idle === 1 ? '' : 's'} found nothing to evaluate${row.status === 'unknown' ? ' or have no evidence' : ''}`);
  return lines.join('<br>');
}

function capped<T>(items: T[], max: number): { shown: T[]; more: number } {
  return items.length <= max ? { shown: items, more: 0 } : { shown: items.slice(0, max), more: items.length - max };
}

export interface MarkdownOptions {
  /** Rows kept per long table. @default 200 */
  readonly maxRows?: number;
}

/** Renders the report as Markdown. */
export function renderMarkdown(r: ComplianceReport, options: MarkdownOptions = {}): string {
  const text = render(r, options.maxRows ?? 200, false);
  if (text.length <= MARKDOWN_LIMIT) return text;
  const compact = render(r, 40, true);
  return compact.length <= MARKDOWN_LIMIT ? compact : `${compact.slice(0, MARKDOWN_LIMIT - 200)}\n\n… (truncated; see compliance-report.html)\n`;
}

function render(r: ComplianceReport, maxRows: number, compact: boolean): string {
  const s = r.summary;
  const out: string[] = [];
  const verdict = { pass: '✅ PASS', fail: '❌ FAIL', unchecked: '⬜ UNCHECKED', 'no-assembly': '❌ NO ASSEMBLY' }[s.verdict];
  out.push(`# ${m(r.title)}`, '', `**Verdict: ${verdict}**: ${m(s.verdictReason)}`, '');
  out.push(`Stacks: ${s.stacks.map((x) => m(x.displayName)).join(', ') || 'none'} · deployment environment: ${s.environments.map(m).join(', ') || 'not marked'} · generated ${m(r.generatedAt)}`, '');

  out.push('## 1. Summary', '');
  const v = s.counts.violations;
  out.push(`Unacknowledged findings: ${SEVERITIES.map((k) => `${v[k]} ${k}`).join(', ')}. Acknowledged: ${s.counts.acknowledged}.`, '');
  out.push(`HIPAA citations: ${(Object.keys(s.counts.controls) as ControlStatus[]).filter((k) => s.counts.controls[k] > 0).map((k) => `${s.counts.controls[k]} ${STATUS[k]}`).join(', ')}.`, '');
  out.push(table(
    ['Pack', 'Gate', ...SEVERITIES, 'Acknowledged', 'Rules applied / in pack', 'Compliant results'],
    s.counts.byPack.map((p) => [m(p.pack), p.conclusion, ...SEVERITIES.map((k) => String(p.violations[k])), String(p.acknowledged), p.rules !== undefined ? `${p.rulesApplied} / ${p.rules}` : 'no evidence', p.compliant !== undefined ? String(p.compliant) : '–']),
  ), '');
  out.push(table(['Stack', 'AWS environment', 'Deployment', 'Resources'], s.stacks.map((x) => [m(x.displayName), code(x.environment), m(x.deploymentEnvironment ?? '–'), String(x.resourceCount)])), '');
  if (r.notices.length > 0) out.push('**Notices**', '', ...r.notices.map((n) => `- ${m(n)}`), '');

  out.push('## 2. HIPAA Security Rule matrix', '');
  out.push(table(
    ['Citation', 'Safeguard', 'Status', 'Rules → resources (met / acknowledged / violated)'],
    r.hipaaMatrix.map((row) => [
      `**${m(row.citation)}**`,
      m(row.title),
      STATUS[row.status],
      matrixCell(row, compact),
    ]),
  ), '');

  out.push('## 3. Findings', '');
  if (r.findings.length === 0) out.push('No unacknowledged findings.', '');
  else {
    const { shown, more } = capped(r.findings, maxRows);
    out.push(table(['Severity', 'Rule', 'Resource', 'Message', 'Fix'], shown.map((f) => [f.severity, code(f.ruleId), code(f.resource.path), rich(f.message), rich(f.fix)])), '');
    if (more > 0) out.push(`… and ${more} more findings (see compliance-report.html or .json).`, '');
  }

  out.push('## 4. Acknowledgements', '');
  if (r.acknowledgements.length === 0) out.push('No acknowledgements.', '');
  else {
    const { shown, more } = capped(r.acknowledgements, maxRows);
    out.push(table(['Rule', 'Resource', 'Reason', 'Status'], shown.map((a) => [
      `${code(a.ruleId)} (${m(a.pack)})`,
      code(a.resource.path),
      m(a.reason),
      a.refused ? '❌ refused (non-waivable)' : a.matched === true ? `in use (${a.appliesTo.length})` : a.matched === false ? 'matched nothing' : 'not checked',
    ])), '');
    if (more > 0) out.push(`… and ${more} more acknowledgements (see compliance-report.html or .json).`, '');
  }

  out.push('## 5. Third-party apps', '');
  out.push(`Registry ${code(r.apps.registryFile)}; assessments judged on ${m(r.apps.asOf)}; Cognito app clients in the synthesized app: ${r.apps.appClientsInApp}.`, '');
  if (r.apps.error) out.push('**The registry is invalid:**', '', '```', r.apps.error.replace(/```/g, "'''"), '```', '');
  out.push(table(['App', 'Tier', 'Client', 'Scopes', 'BAA', 'Assessment', 'Throttle'], r.apps.apps.map((a) => [
    `${m(a.name)} (${code(a.id)})`,
    m(a.tier),
    m(a.clientType),
    a.scopes.map(code).join(' '),
    a.baa ? `${m(a.baa.reference)}${a.baa.signed ? ` (signed ${m(a.baa.signed)})` : ''}` : '❌ none',
    `${m(a.assessment.date)}, expires ${m(a.assessment.expires)}${a.assessment.expired ? ' ❌ **expired**' : ''}`,
    `${a.throttle.rateLimit}/s, burst ${a.throttle.burstLimit}, ${a.throttle.quotaPerDay}/day`,
  ])), '');
  const lp = r.apps.labelPolicy;
  const defaults = lp.configured && !lp.error && lp.content ? labelDefaults(lp.content) : undefined;
  if (defaults) {
    out.push(
      `Label policy ${code(lp.file)}: without a Consent, unlabelled data is ${m(defaults.general)}; ` +
        (defaults.consentEnforced === false ? 'FHIR Consent is not enforced.' : `a Consent change takes effect within ${defaults.consentCacheSeconds ?? '?'} s.`),
      '',
      table(['Label', 'Kind', 'Grant needed', 'Patient self-access', 'Without a Consent'], defaults.rows.map((r) => [code(r.code), m(r.kind), m(r.clearance), m(r.selfAccess), m(r.withoutConsent)])),
      '',
    );
  } else {
    out.push(!lp.configured ? `Label policy: no label policy configured (${code(lp.file)} is absent).` : lp.error ? `Label policy ${code(lp.file)}: ${m(lp.error)}` : `Label policy: ${code(lp.file)} (see the HTML report).`, '');
  }

  out.push('## 6. Data flow', '');
  const label = new Map(r.dataFlow.nodes.map((n) => [n.id, n]));
  const chain = ['client', 'waf', 'api', 'authorizer', 'proxy', 'vpce', 'healthlake'] as const;
  out.push(`Request path: ${chain.map((id) => { const n = label.get(id)!; return n.present ? `**${m(n.label)}**` : `~~${m(n.label)}~~ (absent)`; }).join(' → ')}`, '');
  out.push(table(['Link', 'Kind', 'State'], r.dataFlow.edges.map((x) => [
    `${m(label.get(x.from)?.label)} → ${m(label.get(x.to)?.label)}`,
    x.kind,
    x.verified ? 'link found in the templates' : x.present ? 'both ends exist, link not proven' : 'an end is absent',
  ])), '', '_The diagram is in compliance-report.html._', '');

  out.push('## 7. Inventory', '', '### KMS keys', '');
  out.push(r.inventory.kmsKeys.length === 0 ? 'No KMS keys.' : table(['Key', 'Rotation', 'Deletion', 'Protects'], r.inventory.kmsKeys.map((k) => [
    `${code(k.resource.path)}${k.aliases.length > 0 ? ` ${k.aliases.map(code).join(' ')}` : ''}`,
    k.rotation === true ? 'on' : k.rotation === false ? '❌ off' : 'unknown',
    m(k.deletionPolicy ?? 'Delete'),
    k.protects.length === 0 ? '–' : k.protects.map((p) => `${code(p.path)} (${m(p.type ?? '')})`).join('<br>'),
  ])), '', '### Log groups', '');
  out.push(r.inventory.logGroups.length === 0 ? 'No log groups.' : table(['Log group', 'Retention', 'Six years', 'Encryption'], r.inventory.logGroups.map((g) => [
    `${code(g.resource.path)}${g.implicit ? ' (implicit)' : ''}`,
    g.retentionDays === null ? 'never expires' : g.retentionDays < 0 ? 'not a literal' : `${g.retentionDays} days`,
    g.meetsSixYears ? 'yes' : '❌ no',
    g.kmsKey ? `CMK ${code(g.kmsKey)}` : '❌ AWS-owned key',
  ])), '', '### Public routes', '');
  out.push(r.inventory.publicRoutes.length === 0 ? 'No public route.' : table(['Route', 'API', 'Reason', 'Allowed'], r.inventory.publicRoutes.map((p) => [
    code(`${p.method} ${p.path}`),
    code(p.api),
    p.reason ? m(p.reason) : p.corsPreflight ? 'CORS preflight' : '❌ not marked public',
    p.allowed ? 'yes' : p.corsPreflight ? 'preflight' : '❌ no',
  ])), '');
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`;
}
