/**
 * The report as GitHub-flavoured Markdown for a pull-request comment: the same sections and
 * the same counts as the HTML (`text.ts` words them for both), tables instead of the picture, kept
 * under GitHub's comment size limit (the longest lists are shortened, with a pointer to the HTML
 * report). Every value is escaped for a table cell.
 */
import { DEPLOYMENT_ENVIRONMENTS } from '../../policies/compliance/kit-config';
import { labelDefaults } from './label-defaults';
import { escapeMarkdown as m, markdownCode as code } from './escape';
import { appsToChase, MIN_DEPRECATION_NOTICE_MONTHS } from './lifecycle';
import { AcknowledgementRow, AppApiVersion, CheckMark, ComplianceReport, ControlStatus, SEVERITIES } from './model';
import { countsLine, plural, REPORT_SECTIONS, ReportSectionId, sectionNumber } from './text';

/** GitHub rejects comments over 65,536 characters. */
export const MARKDOWN_LIMIT = 60_000;

const STATUS: Record<ControlStatus, string> = {
  violated: '❌ violated',
  acknowledged: '⚠️ acknowledged',
  met: '✅ met',
  'technical-evidence': '🔷 technical evidence',
  'not-evaluated': '⬜ not evaluated',
  'not-covered': '⬜ not covered',
  unknown: '❔ unknown',
};

const ACK: Record<AcknowledgementRow['status'], string> = {
  'in-use': 'in use',
  refused: '❌ refused',
  unused: 'matched nothing',
  'not-checked': 'not checked',
  outside: 'for outside checkers',
};

/** Escapes a rule message for a table cell, keeping its `code spans` as code. */
function rich(text: string): string {
  return text.split(/(`[^`]+`)/g).map((part) => (part.startsWith('`') && part.endsWith('`') && part.length > 1 ? code(part.slice(1, -1)) : m(part))).join('');
}

/** A section's heading, numbered as in the HTML. */
function heading(id: ReportSectionId): string {
  return `## ${sectionNumber(id)}. ${REPORT_SECTIONS.find((x) => x.id === id)!.title}`;
}

const VERSION_LABEL: Record<AppApiVersion['status'], string> = { active: 'active', deprecated: 'deprecated', retired: 'retired', unknown: 'not recorded by any gateway' };
const VERSION_MARK: Record<AppApiVersion['status'], string> = { active: '', deprecated: '⚠️ ', retired: '❌ ', unknown: '❔ ' };

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

function mark(c: CheckMark | undefined, ok: string, bad: string): string {
  if (!c) return 'not checked';
  return c.status === 'violated' ? `❌ ${bad} (${code(c.rule)})` : c.status === 'acknowledged' ? `⚠️ ${bad}, acknowledged` : ok;
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
  const l = countsLine(r);
  const kit = r.review.kit;
  out.push(`# ${m(r.title)}`, '', `**Verdict: ${verdict}**: ${m(s.verdictReason)}`, '');
  out.push(table(['', ''], [
    ['Unacknowledged findings', m(l.findings)],
    ['Acknowledged findings', `${m(l.acknowledged)}, by ${plural(s.counts.acknowledgements.inUse, 'acknowledgement')} in use (section 5)`],
    ['Acknowledgements recorded', m(l.acknowledgements)],
    ['Resources', m(l.resources)],
    ['HIPAA citations', m(l.citations)],
    ['Reviewed', `${m(s.environments.join(', ') || 'no environment marked')} · ${plural(r.review.files.filter((f) => f.stack).length, 'template')} · ${m(kit.name)} ${m(kit.version)}${kit.commit ? ` @ ${code(kit.commit.slice(0, 12))}${kit.dirty ? ' (uncommitted changes)' : ''}` : ''}`],
  ]), '');
  out.push(`Stacks: ${s.stacks.map((x) => m(x.displayName)).join(', ') || 'none'} · generated ${m(r.generatedAt)}`, '');

  out.push(heading('summary'), '');
  if (r.notices.length > 0) out.push('**Notices**', '', ...r.notices.map((n) => `- ${m(n)}`), '');
  out.push(`Kit ${m(kit.name)} ${m(kit.version)}${kit.commit ? `, commit ${code(kit.commit)}${kit.dirty ? ' with uncommitted changes' : ''}` : ', not from a git checkout'}. Tools: ${Object.entries(r.review.tools).map(([k, v]) => `${m(k)} ${m(v)}`).join(', ')}. Synthesized ${m(r.review.synthesizedAt ?? 'unknown')}${r.review.synthDate ? ` (rules judged dates on ${m(r.review.synthDate)})` : ''}.`, '');
  out.push(table(['File', 'Stack', 'SHA-256'], r.review.files.map((f) => [code(f.file), m(f.stack ?? '–'), code(f.sha256)])), '');
  out.push(table(
    ['Pack', 'Gate', ...SEVERITIES, 'Acknowledged', 'Rules applied / in pack', 'Compliant results'],
    s.counts.byPack.map((p) => [`${m(p.pack)}${p.version ? ` ${m(p.version)}` : ''}`, p.notRun ? `not run: ${m(p.notRun)}` : p.conclusion, ...SEVERITIES.map((k) => String(p.violations[k])), String(p.acknowledged), p.rules !== undefined ? `${p.rulesApplied} / ${p.rules}` : 'no evidence', p.compliant !== undefined ? String(p.compliant) : '–']),
  ), '');
  out.push(table(['Stack', 'AWS environment', 'Deployment', 'Resources'], s.stacks.map((x) => [m(x.displayName), code(x.environment), m(x.deploymentEnvironment ?? '–'), String(x.resourceCount)])), '');

  out.push(heading('scope'), '');
  out.push(...r.scope.establishes.map((x) => `- ${m(x)}`), '', '**What only the organisation can evidence:**', '');
  out.push(table(['Citation', 'Safeguard', 'What to evidence'], r.scope.organisationEvidences.map((o) => [`**${m(o.citation)}**`, m(o.title), m(o.why)])), '');
  out.push(...r.scope.limits.map((x) => `- ${m(x)}`), '');

  out.push(heading('hipaa-matrix'), '');
  out.push(table(
    ['Citation', 'Safeguard', 'Status', 'Rules → resources (met / acknowledged / violated)'],
    r.hipaaMatrix.map((row) => [`**${m(row.citation)}**`, m(row.title), STATUS[row.status], matrixCell(row, compact)]),
  ), '');

  out.push(heading('findings'), '');
  if (r.findings.length === 0) out.push(`No unacknowledged findings. ${plural(s.counts.acknowledged, 'finding')} acknowledged with a reason (section 5).`, '');
  else {
    const { shown, more } = capped(r.findings, maxRows);
    out.push(table(['Severity', 'Rule', 'Resource', 'Message', 'Fix'], shown.map((f) => [f.severity, `${code(f.ruleId)}${f.controlId ? ` ${m(f.controlId)}` : ''}`, code(f.resource.path), rich(f.message), rich(f.fix)])), '');
    if (more > 0) out.push(`… and ${more} more findings (see compliance-report.html or .json).`, '');
  }

  out.push(heading('acknowledgements'), '');
  if (r.acknowledgements.length === 0) out.push('No acknowledgements.', '');
  else {
    out.push(`Recorded: ${m(l.acknowledgements)}; together they acknowledge ${plural(s.counts.acknowledged, 'finding')}.`, '');
    const { shown, more } = capped(r.acknowledgements, maxRows);
    out.push(table(['Rule', 'Recorded on', 'Reason', 'Status'], shown.map((a) => [
      `${code(a.ruleId)} (${m(a.pack)})${a.derived ? ' _by the gate_' : ''}`,
      code(a.resource.path),
      a.reason.trim() === '' ? '❌ _no reason given_' : m(compact && a.reason.length > 160 ? `${a.reason.slice(0, 159)}…` : a.reason),
      a.status === 'in-use' ? `in use (${a.appliesTo.length})` : ACK[a.status],
    ])), '');
    if (more > 0) out.push(`… and ${more} more acknowledgements (see compliance-report.html or .json).`, '');
  }

  out.push(heading('coverage'), '');
  const c = r.coverage;
  if (!c.known) out.push('No compliance evidence: which rules evaluated which resource is unknown.', '');
  else {
    out.push(`${c.resources} resources: ${c.evaluated} evaluated by some rule, ${c.evaluatedByNone.length} by none.`, '');
    out.push(c.baselineGaps.length === 0 ? 'Every function, role, policy, bucket, table, log group, key and datastore was evaluated by the rules that check its type.' : table(['Not evaluated by its type\'s rules', 'Status', 'Reason'], c.baselineGaps.map((g) => [code(g.resource.path), g.status === 'violated' ? '❌ violated' : '⚠️ acknowledged', m(g.reason ?? g.detail ?? '')])), '');
    if (c.evaluatedByNone.length > 0) {
      const { shown, more } = capped(c.evaluatedByNone, compact ? 20 : maxRows);
      out.push('Evaluated by no rule:', '', table(['Resource', 'Type'], shown.map((x) => [code(x.path), code(x.type ?? '')])), '');
      if (more > 0) out.push(`… and ${more} more (see compliance-report.html or .json).`, '');
    }
  }

  out.push(heading('apps'), '');
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
  if (r.apps.apps.some((a) => a.watchedBy !== undefined)) {
    out.push('What watches each app (per-app monitoring):', '');
    out.push(table(['App', 'Alarms', 'Monitors'], r.apps.apps.map((a) => [
      code(a.id),
      a.watchedBy && a.watchedBy.alarms.length > 0 ? a.watchedBy.alarms.map((x) => `${m(x.kind)}: ${m(x.condition)}`).join('<br>') : '❌ **no alarm**',
      (a.watchedBy?.monitors ?? []).map(m).join('; '),
    ])), '');
  }
  const chase = appsToChase(r.apps.apps);
  if (chase.length > 0) {
    out.push(`**${plural(chase.length, 'app')} on an API version that is deprecated, retired or unknown to the gateways (section ${sectionNumber('api-versions')}):**`, '');
    out.push(...chase.map(({ app, versions }) => `- ❌ ${m(app.name)} (${code(app.id)}) uses ${versions.map((v) => `${code(v.version)}, ${m(VERSION_LABEL[v.status])}${v.sunsetAt !== undefined ? `, sunset **${m(v.sunsetAt)}**` : ''}${v.successor !== undefined ? ` (successor ${code(v.successor)})` : ''}`).join('; ')}`), '');
  }
  if (r.apps.apps.some((a) => a.apiVersions !== undefined)) {
    out.push('API versions each app uses (registry `apiVersions`):', '');
    out.push(table(['App', 'API versions'], r.apps.apps.map((a) => [
      code(a.id),
      a.apiVersions === undefined ? 'not in the registry' : a.apiVersions.length === 0 ? 'none' : a.apiVersions.map((v) => `${code(v.version)} ${VERSION_MARK[v.status]}${VERSION_LABEL[v.status]}${v.sunsetAt !== undefined && v.status !== 'active' ? `, sunset ${m(v.sunsetAt)}` : ''}`).join('<br>'),
    ])), '');
  }
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

  out.push(heading('api-versions'), '');
  if (r.apiVersions.gateways.length === 0) out.push('No API versions recorded: no stack records `zero-trust-fhir:api-versions` (a `FhirGateway` records the versions it is configured with).', '');
  const withUsage = r.apps.apps.some((a) => a.apiVersions !== undefined);
  for (const g of r.apiVersions.gateways) {
    out.push(`${code(g.gateway)} (stack ${m(g.stack)}): the current version, for new apps, is ${code(g.current)}. A notice under ${MIN_DEPRECATION_NOTICE_MONTHS} months is flagged ❌, as FHIR.HIPAA-LambdaApiVersionLifecycle flags it.`, '');
    out.push(table(['Version', 'Status', 'Stage', 'FHIR base path', 'Notice', 'Sunset', 'Notice period', 'Successor', 'Migration notes', ...(withUsage ? ['Used by'] : [])], g.versions.map((v) => [
      `${code(v.version)}${v.current ? ' **current**' : ''}`,
      m(v.status),
      v.served ? (v.status === 'retired' ? '❌ served, though retired' : 'served') : 'not served',
      code(v.fhirBasePath),
      m(v.deprecatedAt ?? '–'),
      m(v.sunsetAt ?? '–'),
      v.noticeMonths === undefined ? '–' : `${plural(v.noticeMonths, 'month')}${v.shortNotice ? ` ❌ **under ${MIN_DEPRECATION_NOTICE_MONTHS} months**` : ''}`,
      v.successor !== undefined ? code(v.successor) : '–',
      v.migrationNotesUrl !== undefined ? m(v.migrationNotesUrl) : '–',
      ...(withUsage ? [v.usedBy.map(code).join(' ') || 'no app'] : []),
    ])), '');
  }

  out.push(heading('environments'), '');
  const env = r.environments;
  const agnostic = env.stacks.filter((x) => x.envAgnostic);
  const refused = agnostic.filter((x) => !x.accountAllowed);
  out.push(
    (env.marked.length > 0 ? `The synthesized stacks were marked **${m(env.marked.join(', '))}**.` : 'No stack was marked with an environment: the compliance gate judges an unmarked stack as production.')
      + (agnostic.length === 0 ? ' Every stack is bound to its AWS account.'
        : ` ${plural(agnostic.length, 'stack')} ${agnostic.length === 1 ? 'is' : 'are'} env-agnostic (no account bound): allowed for sandbox only${refused.length > 0 ? `, and ❌ ${refused.map((x) => m(x.stack)).join(', ')} ${refused.length === 1 ? 'is' : 'are'} not sandbox` : ''}.`),
    '',
  );
  out.push(table(['Stack', 'Deployment environment', 'AWS account'], env.stacks.map((x) => [
    m(x.stack),
    x.deploymentEnvironment !== undefined ? `${m(x.deploymentEnvironment)}${x.assumed ? ' (assumed by the gate: not stated)' : ''}` : 'not marked (judged as production)',
    x.account !== undefined ? `${code(x.account)}${x.region !== undefined ? ` ${m(x.region)}` : ''}` : x.accountAllowed ? 'none (env-agnostic: sandbox)' : '❌ none (env-agnostic: sandbox only)',
  ])), '');
  const inUse = new Set(env.marked);
  const envs = DEPLOYMENT_ENVIRONMENTS;
  out.push(table(
    ['Setting', ...envs.map((x) => (inUse.has(x) ? `${x} (this synth)` : x)), 'Enforced by'],
    env.differences.map((d) => [`**${rich(d.setting)}**`, ...envs.map((x) => rich(d.values[x])), rich(d.enforcedBy)]),
  ), '');

  out.push(heading('data-flow'), '');
  const label = new Map(r.dataFlow.nodes.map((n) => [n.id, n]));
  const chain = ['client', 'waf', 'api', 'authorizer', 'proxy', 'vpce', 'healthlake'] as const;
  out.push(`Request path: ${chain.map((id) => { const n = label.get(id)!; return n.present ? `**${m(n.label)}**` : `~~${m(n.label)}~~ (absent)`; }).join(' → ')}`, '');
  out.push(table(['Link', 'Kind', 'State'], r.dataFlow.edges.map((x) => [
    `${m(label.get(x.from)?.label)} → ${m(label.get(x.to)?.label)}`,
    x.kind,
    x.verified ? 'link found in the templates' : x.present ? 'both ends exist, link not proven' : 'an end is absent',
  ])), '', '_The diagram is in compliance-report.html._', '');

  out.push(heading('inventory'), '', '### KMS keys', '');
  out.push(r.inventory.kmsKeys.length === 0 ? 'No KMS keys.' : table(['Key', 'Rotation', 'Retained', 'Grants', 'Protects'], r.inventory.kmsKeys.map((k) => [
    `${code(k.resource.path)}${k.aliases.length > 0 ? ` ${k.aliases.map(code).join(' ')}` : ''}`,
    mark(k.checks.rotation, 'on', 'off'),
    mark(k.checks.retained, m(k.deletionPolicy ?? 'Retain'), m(k.deletionPolicy ?? 'Delete')),
    mark(k.checks.grants, 'AWS resources only', 'anyone'),
    k.protects.length === 0 ? '–' : k.protects.map((p) => `${code(p.path)} (${m(p.type ?? '')})`).join('<br>'),
  ])), '', '### Log groups', '');
  out.push(r.inventory.logGroups.length === 0 ? 'No log groups.' : table(['Log group', 'Retention', 'Encryption'], r.inventory.logGroups.map((g) => [
    `${code(g.resource.path)}${g.implicit ? ' (implicit)' : ''}`,
    g.implicit ? mark(g.checks.declared, 'declared', 'implicit: never expires') : `${g.retentionDays === null ? 'never expires' : g.retentionDays < 0 ? 'not a literal' : `${g.retentionDays} days`} ${mark(g.checks.retention, '✅', 'under six years')}`,
    g.implicit ? mark(g.checks.declared, 'declared', 'AWS-owned key') : `${g.kmsKey ? `CMK ${code(g.kmsKey)}` : 'AWS-owned key'} ${mark(g.checks.encryption, '✅', 'no CMK')}`,
  ])), '', '### Public routes', '');
  out.push(r.inventory.publicRoutes.length === 0 ? 'No public route.' : table(['Route', 'API', 'Reason', 'Gate'], r.inventory.publicRoutes.map((p) => [
    code(`${p.method} ${p.path}`),
    code(p.api),
    p.reason ? m(p.reason) : p.corsPreflight ? 'CORS preflight' : 'not marked public',
    mark(p.check, p.corsPreflight ? 'preflight' : 'allowed', 'not allowed'),
  ])), '');

  out.push(heading('sign-off'), '', m(r.signOff.statement), '');
  out.push(`Verdict ${s.verdict.toUpperCase()}; templates ${r.review.files.filter((f) => f.stack).map((f) => `${code(f.file)} ${code(f.sha256.slice(0, 12))}`).join(', ') || '–'}; report ${m(r.generatedAt)}.`, '');
  out.push(table(['', ''], r.signOff.fields.map((f) => [`**${m(f)}**`, f === 'Decision' ? r.signOff.decisions.map((d) => `☐ ${m(d)}`).join(' ') : ' '])), '');
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`;
}
