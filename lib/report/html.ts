/**
 * The report as one self-contained HTML file: inline CSS, inline SVG, one small inline script
 * (opens collapsed details before printing) allowed by hash in a Content-Security-Policy that
 * forbids every external load. Every value from templates, metadata, reasons or the registry is
 * escaped.
 *
 * Made to be read and signed: the first screen holds the verdict, the counts and what was
 * reviewed; construct paths break only at `/`; long lists collapse (and open for printing); the
 * report ends with a sign-off block.
 */
import { DEPLOYMENT_ENVIRONMENTS } from '../../policies/compliance/kit-config';
import type { LabelPolicy } from '../../policies/label-policy';
import { labelDefaults } from './label-defaults';
import { createHash } from 'crypto';
import { escapeHtml } from './escape';
import {
  AcknowledgementRow,
  AcknowledgementStatus,
  ApiVersionRow,
  AppApiVersion,
  AppRow,
  CheckMark,
  ComplianceReport,
  Finding,
  MatrixRow,
  MatrixRule,
  ResourceRef,
  SEVERITIES,
} from './model';
import { appsToChase, MIN_DEPRECATION_NOTICE_MONTHS } from './lifecycle';
import { renderDataFlowSvg } from './svg';
import { countsLine, plural, REPORT_SECTIONS, ReportSectionId, sectionNumber, STATUS_LABEL } from './text';

/** Section ids, in order (`text.ts`); the browser test checks each renders. */
export { REPORT_SECTIONS };

const e = escapeHtml;

/** Escapes, then shows `code spans` of rule messages as code. */
function rich(text: string): string {
  return e(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}


const ACK_STATUS: Record<AcknowledgementStatus, { badge: string; text: string }> = {
  'in-use': { badge: 'acknowledged', text: 'in use' },
  refused: { badge: 'violated', text: 'refused' },
  unused: { badge: 'not-evaluated', text: 'matched nothing' },
  'not-checked': { badge: 'unknown', text: 'not checked' },
  outside: { badge: 'info', text: 'for outside checkers' },
};

function badge(kind: string, text: string = kind): string {
  return `<span class="badge b-${e(kind.replace(/[^a-z-]/gi, '').toLowerCase())}">${e(text)}</span>`;
}

/**
 * A construct path that wraps only between names: after a `/`, and inside a name longer than a
 * cell is wide only where the name itself has a boundary (`.`, `:`, `-`, `_`, or a lower-to-upper
 * case change, as in `Custom::Vpc|Restrict|Default|SG`), never in the middle of a word.
 */
export function pathHtml(p: string): string {
  return `<span class="path">${String(p).split('/').map(nameHtml).join('/<wbr>')}</span>`;
}

/** A name (a path segment, a logical id) that may wrap only at its own boundaries when it is long. */
function nameHtml(name: string): string {
  const text = e(name);
  return name.length <= 24 ? text : text.replace(/([.:_-]+)(?=[^.:_-])/g, '$1<wbr>').replace(/([a-z0-9])(?=[A-Z])/g, '$1<wbr>').replace(/([A-Z]{2,})(?=[A-Z][a-z])/g, '$1<wbr>');
}

/** A rule id that wraps only at its own boundaries (`-`, `_`, `.`, `[`, a case change). */
function ruleIdHtml(id: string): string {
  return `<span class="rule-id">${e(id).replace(/([._-]+)(?=[^._-])/g, '$1<wbr>').replace(/\[/g, '<wbr>[').replace(/([a-z0-9])(?=[A-Z])/g, '$1<wbr>')}</span>`;
}

function resourceCell(r: ResourceRef): string {
  const meta = [r.logicalId ? nameHtml(r.logicalId) : '', r.type ? e(r.type) : ''].filter(Boolean).join(' · ');
  return `${pathHtml(r.path || '(app)')}${meta ? `<br><span class="muted small">${meta}</span>` : ''}`;
}

function list(items: string[], cls = ''): string {
  return items.length === 0 ? '' : `<ul${cls ? ` class="${cls}"` : ''}>${items.map((i) => `<li>${i}</li>`).join('')}</ul>`;
}

/** A list that shows its first `max` items and collapses the rest (opened for printing). */
function collapsible(items: string[], cls = '', max = 4): string {
  if (items.length <= max) return list(items, cls);
  return `${list(items.slice(0, max), cls)}<details class="more"><summary>${items.length - max} more</summary>${list(items.slice(max), cls)}</details>`;
}

function table(headers: string[], rows: string[][], cls = ''): string {
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${headers.map((h) => `<th scope="col">${e(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function section(index: number, id: string, title: string, body: string): string {
  return `<section id="${id}" class="report-section" aria-labelledby="${id}-h"><h2 id="${id}-h">${index}. ${e(title)}</h2>${body}</section>`;
}

const short = (sha: string): string => (sha ? sha.slice(0, 12) : '–');

// --- first screen -----------------------------------------------------------------------------

function banner(r: ComplianceReport): string {
  const s = r.summary;
  const verdictText = { pass: 'PASS', fail: 'FAIL', unchecked: 'UNCHECKED', 'no-assembly': 'NO ASSEMBLY' }[s.verdict];
  const l = countsLine(r);
  const kit = r.review.kit;
  const facts = [
    ['Unacknowledged findings', l.findings],
    ['Acknowledged findings', `${l.acknowledged}, by ${plural(s.counts.acknowledgements.inUse, 'acknowledgement')} in use (section 5)`],
    ['Acknowledgements recorded', l.acknowledgements],
    ['Resources', l.resources],
    ['HIPAA citations', l.citations],
    ['Reviewed', `${e(s.environments.join(', ') || 'no environment marked')} · ${plural(r.review.files.filter((f) => f.stack).length, 'template')} · ${e(kit.name)} ${e(kit.version)}${kit.commit ? ` @ <code>${e(kit.commit.slice(0, 12))}</code>${kit.dirty ? ' (uncommitted changes)' : ''}` : ''}`],
  ];
  return `<div class="banner v-${e(s.verdict)}" role="status"><div class="verdict">${badge(s.verdict, verdictText)}<p>${e(s.verdictReason)}</p></div><dl class="facts">${facts.map(([k, v]) => `<dt>${e(k)}</dt><dd>${k === 'Reviewed' ? v : e(v)}</dd>`).join('')}</dl></div>`;
}

// --- 1 ----------------------------------------------------------------------------------------

function summary(r: ComplianceReport): string {
  const s = r.summary;
  const packs = table(
    ['Pack', 'Gate', ...SEVERITIES, 'Acknowledged', 'Rules applied / in pack', 'Compliant results'],
    s.counts.byPack.map((p) => [
      `<strong>${e(p.pack)}</strong>${p.version ? ` <span class="muted small">${e(p.version)}</span>` : ''}${p.notRun ? `<br><span class="muted small">not run: ${e(p.notRun)}</span>` : ''}`,
      badge(p.conclusion === 'failure' ? 'fail' : p.conclusion === 'success' ? 'pass' : 'none', p.notRun ? 'not run' : p.conclusion),
      ...SEVERITIES.map((k) => `<span class="num${p.violations[k] > 0 ? ' bad' : ''}">${p.violations[k]}</span>`),
      String(p.acknowledged),
      p.rules !== undefined ? `${p.rulesApplied} / ${p.rules}` : '<span class="muted">no evidence</span>',
      p.compliant !== undefined ? String(p.compliant) : '<span class="muted">–</span>',
    ]),
    'counts',
  );
  const review = r.review;
  const tools = Object.entries(review.tools).map(([k, v]) => `${e(k)} ${e(v)}`).join(' · ');
  const files = table(['File', 'Stack', 'SHA-256', 'Bytes'], review.files.map((f) => [pathHtml(f.file), e(f.stack ?? '–'), `<code class="sha">${e(f.sha256)}</code>`, String(f.bytes)]), 'files');
  const reviewed = `<dl class="facts"><dt>Kit</dt><dd>${e(review.kit.name)} ${e(review.kit.version)}${review.kit.commit ? `, commit <code>${e(review.kit.commit)}</code>${review.kit.dirty ? ' with uncommitted changes' : ''}` : ', not from a git checkout'}</dd>`
    + `<dt>Tools</dt><dd>${tools}</dd><dt>Environments</dt><dd>${e(review.environments.join(', ') || 'not marked')}</dd>`
    + `<dt>Synthesized</dt><dd>${e(review.synthesizedAt ?? 'unknown')}${review.synthDate ? ` (rules judged dates on ${e(review.synthDate)})` : ''}</dd><dt>Report</dt><dd>${e(review.generatedAt)}</dd></dl>`;
  const stacks = table(
    ['Stack', 'Description', 'AWS environment', 'Deployment', 'Resources'],
    s.stacks.map((st) => [e(st.displayName), e(st.description ?? ''), pathHtml(st.environment), e(st.deploymentEnvironment ?? '–'), String(st.resourceCount)]),
  );
  const notices = r.notices.length > 0 ? `<div class="notice" role="note"><strong>Notices</strong>${collapsible(r.notices.map((n) => e(n)), '', 5)}</div>` : '';
  return `${notices}<h3>What was reviewed</h3>${reviewed}${files}<h3>Counts by pack and severity</h3>${packs}<h3>Stacks</h3>${stacks}`;
}

// --- 2 ----------------------------------------------------------------------------------------

function scope(r: ComplianceReport): string {
  const sc = r.scope;
  return `<h3>What the packs establish</h3>${list(sc.establishes.map((x) => e(x)))}`
    + `<h3>What only the organisation can evidence</h3><p class="lead">No rule over templates can show these; the reviewer needs the organisation's own records for them.</p>`
    + table(['Citation', 'Safeguard', 'What to evidence'], sc.organisationEvidences.map((o) => [`<strong>${e(o.citation)}</strong>`, e(o.title), e(o.why)]), 'scope')
    + `<h3>Limits</h3>${list(sc.limits.map((x) => e(x)))}`;
}

// --- 3 ----------------------------------------------------------------------------------------

function ruleBlock(rule: MatrixRule): string {
  const counts = [rule.met.length ? `${rule.met.length} met` : '', rule.violated.length ? `${rule.violated.length} violated` : ''].filter(Boolean).join(', ');
  const violated = rule.violated.length > 0 ? collapsible(rule.violated.map((p) => pathHtml(p)), 'res bad') : '';
  // Acknowledged resources on demand, the reasons shortened: they are in section 5, once each
  // (a rule cites several safeguards, so it appears in several rows).
  const acked = rule.acknowledged.length > 0
    ? ` <details class="bulk inline"><summary>${rule.acknowledged.length} acknowledged</summary>${list(rule.acknowledged.map((a) => `${pathHtml(a.resource)} <span class="reason small" title="${e(a.reason)}">“${e(a.reason.length > 90 ? `${a.reason.slice(0, 89)}…` : a.reason)}”</span>`), 'res')}</details>`
    : '';
  return `<div class="rule">${badge(rule.status, STATUS_LABEL[rule.status])} <strong>${ruleIdHtml(rule.ruleId)}</strong> <span class="muted small">${e(rule.pack)}${counts ? ` · ${e(counts)}` : ''}</span>${acked}${violated}</div>`;
}

/** Rules that passed every resource: one line, the rules and their resources on demand. */
function metRules(rules: MatrixRule[]): string {
  if (rules.length === 0) return '';
  const items = rules.map((rule) => `${ruleIdHtml(rule.ruleId)} <span class="muted small">${e(rule.pack)} · ${plural(rule.met.length, 'resource')}</span>`);
  return `<details class="bulk met-rules"><summary>${plural(rules.length, 'rule')} passed on every resource they evaluated</summary>${list(items, 'res')}</details>`;
}

const evaluated = (rule: MatrixRule): boolean => rule.status !== 'not-evaluated' && rule.status !== 'unknown';

function idleRules(rules: MatrixRule[]): string {
  if (rules.length === 0) return '';
  const what = rules.every((x) => x.status === 'unknown') ? 'without evidence (result unknown)' : 'found nothing to evaluate';
  return `<details class="bulk idle"><summary>${plural(rules.length, 'rule')} ${what}</summary>${list(rules.map((x) => `${ruleIdHtml(x.ruleId)} <span class="muted">${e(x.pack)}</span>`), 'res')}</details>`;
}

function matrix(r: ComplianceReport): string {
  const rows = r.hipaaMatrix.map((m: MatrixRow) => {
    const gap = m.status === 'not-covered' ? '<em>No rule of the packs checks this safeguard.</em>'
      : m.status === 'not-evaluated' ? '<em>Rules cite it, but none found a resource to evaluate in this app.</em>'
        : m.status === 'technical-evidence' ? '<em class="muted">The configuration it relies on passed; the safeguard itself is the organisation\'s to evidence (section 2).</em>' : '';
    return `<tr class="st-${e(m.status)}${m.status === 'not-covered' || m.status === 'not-evaluated' ? ' gap' : ''}" data-citation="${e(m.citation)}"><th scope="row">${e(m.citation)}</th><td>${e(m.title)}${m.inCatalogue ? '' : ' <span class="muted">(not in the catalogue)</span>'}</td><td>${badge(m.status, STATUS_LABEL[m.status])}</td><td>${gap}${m.rules.filter((x) => evaluated(x) && x.status !== 'met').map(ruleBlock).join('')}${metRules(m.rules.filter((x) => x.status === 'met'))}${idleRules(m.rules.filter((x) => !evaluated(x)))}</td></tr>`;
  });
  return `<p class="lead">Each 45 CFR citation the packs use, the rules that check it, and what they found on the resources they evaluated. "Met" is used for technical safeguards (164.312) only; an administrative safeguard whose configuration passed is "technical evidence".</p>
<table class="matrix"><thead><tr><th scope="col">Citation</th><th scope="col">Safeguard</th><th scope="col">Status</th><th scope="col">Rules → resources evaluated</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

// --- 4, 5 -------------------------------------------------------------------------------------

function findings(r: ComplianceReport): string {
  if (r.findings.length === 0) {
    const packs = r.summary.counts.byPack.filter((p) => !p.notRun).map((p) => p.pack);
    return `<p class="ok">No unacknowledged findings.</p><p class="muted">${packs.length > 0 ? `Checked by ${e(packs.join(', '))}. ` : ''}${plural(r.summary.counts.acknowledged, 'finding')} acknowledged with a reason (section 5).</p>`;
  }
  return table(
    ['Severity', 'Rule', 'Resource', 'Message', 'Fix'],
    r.findings.map((f: Finding) => [
      badge(f.severity),
      `<strong>${ruleIdHtml(f.ruleId)}</strong><br><span class="muted">${e(f.pack)}${f.controlId ? ` · ${e(f.controlId)}` : ''}</span>${f.onlyInEvidence ? '<br><span class="small">only in the evidence</span>' : ''}`,
      resourceCell(f.resource),
      rich(f.message),
      `${rich(f.fix)}${f.acknowledge ? `<div class="ack-hint">or acknowledge: <code>${e(f.acknowledge)}</code></div>` : ''}`,
    ]),
    'findings',
  );
}

function ackReason(a: AcknowledgementRow): string {
  if (a.reason.trim() === '') return '<span class="bad">(no reason given: the gate refuses it)</span>';
  return `<blockquote class="reason">${e(a.reason)}</blockquote>`;
}

function ackOrigin(a: AcknowledgementRow): string {
  if (!a.derived) return '';
  if (a.derived.limitation) return '<div class="small muted">recorded by the gate: a known limitation of this AWS rule</div>';
  if (a.derived.from) return `<div class="small muted">recorded by the gate: the same decision as ${e(a.derived.from.rule)} on ${pathHtml(a.derived.from.at)}</div>`;
  return '';
}

/** What an acknowledgement covers, when that is more than the resource it is recorded on. */
function ackCovers(a: AcknowledgementRow): string {
  if (a.covers === 0) return '';
  const own = a.appliesTo.length === 1 && (a.appliesTo[0] === a.resource.path || a.appliesTo[0] === `${a.resource.path}/Resource`);
  if (own && a.covers === 1) return '';
  return `<div class="small">covers ${plural(a.covers, 'finding')} on ${collapsible(a.appliesTo.map((p) => pathHtml(p)), 'res', 2)}</div>`;
}

function ackTable(rows: AcknowledgementRow[]): string {
  return table(
    ['Rule', 'Recorded on', 'Reason', 'Status'],
    rows.map((a) => [
      `<strong>${ruleIdHtml(a.ruleId)}</strong><br><span class="muted small">${e(a.pack)}</span>${a.rule ? `<details class="rule-text"><summary>rule</summary><div class="small">${rich(a.rule.message)}</div></details>` : ''}`,
      `${pathHtml(a.resource.path || '(app)')}${a.resource.type ? ` <span class="muted small">${e(a.resource.type)}</span>` : ''}${ackCovers(a)}${ackOrigin(a)}`,
      `${ackReason(a)}${a.refusal ? `<div class="small bad">${e(a.refusal)}</div>` : ''}`,
      badge(ACK_STATUS[a.status].badge, ACK_STATUS[a.status].text),
    ]),
    'acks',
  );
}

function acknowledgements(r: ComplianceReport): string {
  const rows = r.acknowledgements;
  if (rows.length === 0) return `<p class="muted">No acknowledgements.</p>`;
  const l = countsLine(r);
  const own = rows.filter((a) => !a.derived);
  const derived = rows.filter((a) => a.derived);
  const head = `<p class="lead">Every acknowledgement recorded in the app, the construct it is on, the reason given and the findings it covers: ${e(l.acknowledgements)}. Together they acknowledge ${plural(r.summary.counts.acknowledged, 'finding')}. An acknowledgement the gate refused acknowledges nothing; "not checked" means its plugin reported nothing to this synth.</p>`;
  const derivedBlock = derived.length > 0
    ? `<details class="bulk derived"><summary>${plural(derived.length, 'acknowledgement')} the gate recorded itself (the same decisions passed on to AWS's equivalent rules, and known limitations of AWS rules)</summary>${ackTable(derived)}</details>`
    : '';
  return `${head}${ackTable(own)}${derivedBlock}`;
}

// --- 6 ----------------------------------------------------------------------------------------

function coverage(r: ComplianceReport): string {
  const c = r.coverage;
  if (!c.known) return '<p class="muted">No compliance evidence: which rules evaluated which resource is unknown.</p>';
  const gaps = c.baselineGaps.length === 0
    ? '<p class="ok">Every function, role, policy, bucket, table, log group, key and datastore was evaluated by the rules that check its type.</p>'
    : table(['Resource', 'Status', 'Detail or reason'], c.baselineGaps.map((g) => [resourceCell(g.resource), g.status === 'violated' ? badge('violated') : badge('acknowledged'), g.reason ? `<blockquote class="reason">${e(g.reason)}</blockquote>` : rich(g.detail ?? '')]), 'gaps');
  const types = table(['Type', 'Resources', 'Evaluated by some rule'], c.byType.map((t) => [`<code>${e(t.type)}</code>${t.canHoldPhiOrRunCode ? ' <span class="small muted">can carry PHI or run code</span>' : ''}`, String(t.resources), t.evaluated === t.resources ? String(t.evaluated) : `<span class="num bad">${t.evaluated}</span>`]), 'types');
  const none = c.evaluatedByNone.length === 0 ? '<p class="ok">Every resource was evaluated by some rule.</p>'
    : collapsible(c.evaluatedByNone.map((x) => `${pathHtml(x.path)} <span class="muted small">${e(x.type ?? '')}</span>`), 'res', 8);
  return `<p class="lead">${c.resources} resources in the templates: ${c.evaluated} evaluated by some rule, ${c.evaluatedByNone.length} by none.</p>`
    + `<h3>Functions, roles, buckets, tables, log groups and keys the type's rules did not evaluate</h3>${gaps}`
    + `<h3>Evaluated by no rule</h3><p class="lead">Resources of types no rule checks (routing, API structure, aliases): listed so nothing is silently outside the review.</p>${none}`
    + `<details class="bulk"><summary>By type</summary>${types}</details>`;
}

// --- 7, 8 ------------------------------------------------------------------------------------

/** An app's alarms and monitors (section 7); none is flagged. */
function watchedBy(app: ComplianceReport['apps']['apps'][number]): string {
  const w = app.watchedBy;
  if (!w || w.alarms.length === 0) return badge('violated', 'no alarm');
  const alarms = w.alarms.map((x) => `<li><strong>${e(x.kind)}</strong>: ${e(x.condition)}</li>`).join('');
  const monitors = w.monitors.length > 0 ? `<div class="small muted">${w.monitors.map((x) => e(x)).join('; ')}</div>` : '';
  return `<details><summary>${w.alarms.length} alarms</summary><ul class="small">${alarms}</ul>${monitors}</details>`;
}

function apps(r: ComplianceReport): string {
  const a = r.apps;
  const watched = a.apps.some((app) => app.watchedBy !== undefined);
  const versioned = a.apps.some((app) => app.apiVersions !== undefined);
  const head = `<p class="lead">Registry <span class="path">${e(a.registryFile)}</span>, assessments judged on ${e(a.asOf)}. Cognito app clients in the synthesized app: ${a.appClientsInApp}.</p>`;
  const error = a.error ? `<div class="notice bad" role="alert"><strong>The registry is invalid</strong><pre>${e(a.error)}</pre></div>` : '';
  const rows = a.apps.map((app) => [
    `<strong>${e(app.name)}</strong><br><span class="path">${e(app.id)}</span><br><span class="muted">${e(app.vendor)}</span>`,
    badge('info', app.tier),
    e(app.clientType),
    `<div class="chips">${app.scopes.map((x) => `<code class="chip">${e(x)}</code>`).join(' ')}</div>` + (app.labels.length > 0 ? `<div class="small">labels: ${app.labels.map((l) => e(l)).join(', ')}</div>` : ''),
    app.baa ? `<span class="nowrap">${e(app.baa.reference)}</span>${app.baa.signed ? `<br><span class="muted">signed ${e(app.baa.signed)}</span>` : ''}` : badge('violated', 'none'),
    `${e(app.assessment.date)} <span class="muted">by ${e(app.assessment.reviewer)}</span><br>expires ${e(app.assessment.expires)} ${app.assessment.expired ? badge('violated', 'expired') : badge('met', `${app.assessment.daysToExpiry} days left`)}`,
    `${app.throttle.rateLimit} req/s, burst ${app.throttle.burstLimit}<br>${app.throttle.quotaPerDay.toLocaleString('en-US')} / day`,
    `access ${app.tokenLifetimes.accessTokenMinutes} min<br>refresh ${app.tokenLifetimes.refreshTokenDays} d`,
    ...(watched ? [watchedBy(app)] : []),
    ...(versioned ? [appVersionsHtml(app)] : []),
  ]);
  const appsTable = a.apps.length > 0 ? table(['App', 'Tier', 'Client', 'Scopes', 'BAA', 'Security assessment', 'Throttle', 'Tokens', ...(watched ? ['Watched by'] : []), ...(versioned ? ['API versions'] : [])], rows, 'apps') : a.error ? '' : '<p class="muted">No apps registered.</p>';
  const lp = a.labelPolicy;
  const labels = !lp.configured
    ? `<p><strong>Label policy:</strong> no label policy configured (<span class="path">${e(lp.file)}</span> is absent).</p>`
    : lp.error
      ? `<div class="notice bad"><strong>Label policy</strong> <span class="path">${e(lp.file)}</span> ${e(lp.error)}</div>`
      : lp.content
        ? labelPolicyHtml(lp.file, lp.content)
        : '';
  return `${head}${error}${chaseHtml(a.apps)}${appsTable}${labels}`;
}

const VERSION_BADGE: Record<AppApiVersion['status'], string> = { active: 'met', deprecated: 'acknowledged', retired: 'violated', unknown: 'unknown' };
const VERSION_TEXT: Record<AppApiVersion['status'], string> = { active: 'active', deprecated: 'deprecated', retired: 'retired', unknown: 'not recorded by any gateway' };

/** An app's API versions (the registry's `apiVersions`), each with how the gateways record it. */
function appVersionsHtml(app: AppRow): string {
  if (app.apiVersions === undefined) return '<span class="muted">not in the registry</span>';
  if (app.apiVersions.length === 0) return '<span class="muted">none</span>';
  return app.apiVersions.map((v) => `<code>${e(v.version)}</code> ${badge(VERSION_BADGE[v.status], VERSION_TEXT[v.status])}${v.sunsetAt !== undefined && v.status !== 'active' ? `<br><span class="small">sunset ${e(v.sunsetAt)}</span>` : ''}`).join('<br>');
}

/** Apps on a deprecated, retired or unrecorded API version: what the reviewer must chase. */
function chaseHtml(apps: readonly AppRow[]): string {
  const chase = appsToChase(apps);
  if (chase.length === 0) return '';
  const items = chase.map(({ app, versions }) => `<strong>${e(app.name)}</strong> (<span class="path">${e(app.id)}</span>) uses ${versions.map((v) => `<code>${e(v.version)}</code>, ${e(VERSION_TEXT[v.status])}${v.sunsetAt !== undefined ? `, sunset <strong>${e(v.sunsetAt)}</strong>` : ''}${v.successor !== undefined ? ` (successor <code>${e(v.successor)}</code>)` : ''}`).join('; ')}`);
  return `<div class="notice bad" role="note"><strong>${plural(chase.length, 'app')} on an API version that is deprecated, retired or unknown to the gateways (section ${sectionNumber('api-versions')})</strong>${list(items)}</div>`;
}

// --- API versions, environments ----------------------------------------------------------------

const STATUS_BADGE: Record<ApiVersionRow['status'], string> = { active: 'met', deprecated: 'acknowledged', retired: 'not-covered' };

/** A migration-notes link: only an absolute https URL is a link; anything else is shown as text. */
function linkHtml(url: string): string {
  return /^https:\/\/[^\s<>"'`]+$/.test(url) ? `<a class="path" href="${e(url)}" rel="noreferrer">${nameHtml(url)}</a>` : `<span class="path">${e(url)}</span>`;
}

function versionRowHtml(v: ApiVersionRow, withUsage: boolean): string[] {
  const notice = v.noticeMonths === undefined ? '<span class="muted">–</span>'
    : `${plural(v.noticeMonths, 'month')}${v.shortNotice ? ` ${badge('violated', `under ${MIN_DEPRECATION_NOTICE_MONTHS} months`)}` : ''}`;
  const served = v.served ? (v.status === 'retired' ? badge('violated', 'served, though retired') : badge('met', 'served')) : badge('none', 'not served');
  return [
    `<span class="nowrap"><code>${e(v.version)}</code>${v.current ? ` ${badge('current')}` : ''}</span>`,
    badge(STATUS_BADGE[v.status], v.status),
    served,
    `<span class="path">${e(v.fhirBasePath)}</span>`,
    `<span class="nowrap">${e(v.deprecatedAt ?? '–')}</span>`,
    `<span class="nowrap">${e(v.sunsetAt ?? '–')}</span>`,
    notice,
    v.successor !== undefined ? `<code>${e(v.successor)}</code>` : '<span class="muted">–</span>',
    v.migrationNotesUrl !== undefined ? linkHtml(v.migrationNotesUrl) : '<span class="muted">–</span>',
    ...(withUsage ? [v.usedBy.length > 0 ? v.usedBy.map((id) => `<span class="path">${e(id)}</span>`).join('<br>') : '<span class="muted">no app</span>'] : []),
  ];
}

function apiVersions(r: ComplianceReport): string {
  const a = r.apiVersions;
  if (a.gateways.length === 0) {
    return '<p class="muted">No API versions recorded: no stack records <code>zero-trust-fhir:api-versions</code> (a <code>FhirGateway</code> records the versions it is configured with).</p>';
  }
  const withUsage = r.apps.apps.some((app) => app.apiVersions !== undefined);
  const head = `<p class="lead">The versions each gateway was configured with. A deprecated version answers with <code>Deprecation</code> and <code>Sunset</code> headers until its sunset, then 410; a retired one has no stage. A notice under ${MIN_DEPRECATION_NOTICE_MONTHS} months is flagged, as FHIR.HIPAA-LambdaApiVersionLifecycle flags it.${withUsage ? ` Apps are those whose registry entry names the version (section ${sectionNumber('apps')}).` : ''}</p>`;
  const headers = ['Version', 'Status', 'Stage', 'FHIR base path', 'Notice', 'Sunset', 'Notice period', 'Successor', 'Migration notes', ...(withUsage ? ['Used by'] : [])];
  const gateways = a.gateways.map((g) => `<p>${pathHtml(g.gateway)} <span class="muted">(stack ${e(g.stack)})</span>: the current version, for new apps, is <code>${e(g.current)}</code>.</p>${table(headers, g.versions.map((v) => versionRowHtml(v, withUsage)), 'versions')}`);
  return `${head}${gateways.join('')}`;
}

function environments(r: ComplianceReport): string {
  const env = r.environments;
  const marked = env.marked.length > 0
    ? `The synthesized stacks were marked <strong>${e(env.marked.join(', '))}</strong>.`
    : 'No stack was marked with an environment: the compliance gate judges an unmarked stack as production.';
  const agnostic = env.stacks.filter((s) => s.envAgnostic);
  const refused = agnostic.filter((s) => !s.accountAllowed);
  const accounts = agnostic.length === 0 ? ' Every stack is bound to its AWS account.'
    : ` ${plural(agnostic.length, 'stack')} ${agnostic.length === 1 ? 'is' : 'are'} env-agnostic (no account bound): allowed for sandbox only${refused.length > 0 ? `, and ${refused.map((s) => e(s.stack)).join(', ')} ${refused.length === 1 ? 'is' : 'are'} not sandbox` : ''}.`;
  const stacks = table(['Stack', 'Deployment environment', 'AWS account', 'Binding'], env.stacks.map((s) => [
    e(s.stack),
    s.deploymentEnvironment !== undefined ? `${e(s.deploymentEnvironment)}${s.assumed ? ' <span class="muted small">(assumed by the gate: not stated)</span>' : ''}` : '<span class="muted">not marked (judged as production)</span>',
    s.account !== undefined ? `<code>${e(s.account)}</code>${s.region !== undefined ? ` <span class="muted">${e(s.region)}</span>` : ''}` : '<span class="muted">none (env-agnostic)</span>',
    !s.envAgnostic ? badge('met', 'bound') : s.accountAllowed ? badge('met', 'env-agnostic: sandbox') : badge('violated', 'env-agnostic: sandbox only'),
  ]));
  const inUse = new Set(env.marked);
  const envs = DEPLOYMENT_ENVIRONMENTS;
  const differences = table(
    ['Setting', ...envs.map((x) => (inUse.has(x) ? `${x} (this synth)` : x)), 'Enforced by'],
    env.differences.map((d) => [`<strong>${rich(d.setting)}</strong>`, ...envs.map((x) => rich(d.values[x])), rich(d.enforcedBy)]),
    'envs',
  );
  return `<p class="lead">${marked}${accounts}</p>${stacks}<h3>What a sandbox relaxes and production forbids</h3>${differences}`;
}

/** The label policy as the reviewer needs it: per label, who may see it and the no-Consent default. */
function labelPolicyHtml(file: string, content: LabelPolicy): string {
  const d = labelDefaults(content);
  const raw = `<details><summary>Label policy source: <span class="path">${e(file)}</span></summary><pre>${e(JSON.stringify(content, undefined, 2))}</pre></details>`;
  const consent =
    d.consentEnforced === false
      ? 'FHIR Consent is <strong>not enforced</strong>.'
      : `FHIR Consent is enforced; a Consent change takes effect within <strong>${d.consentCacheSeconds ?? '?'} s</strong> (the proxy's per-patient cache).`;
  return (
    `<h3>Consent and security labels</h3><p>When a patient has no Consent, unlabelled data is <strong>${e(d.general)}</strong>. ${consent} ` +
    'A resource with an unknown or malformed label is treated as the most restrictive (V).</p>' +
    table(['Label', 'Kind', 'Description', 'Grant needed', 'Patient self-access', 'Without a Consent'], d.rows.map((r) => [`<code>${e(r.code)}</code>`, e(r.kind), e(r.description), e(r.clearance), e(r.selfAccess), e(r.withoutConsent)]), 'labels') +
    raw
  );
}

// --- 6 ----------------------------------------------------------------------------------------

function dataFlow(r: ComplianceReport): string {
  const f = r.dataFlow;
  const nodes = table(
    ['Node', 'Present', 'Resources'],
    f.nodes.map((n) => [
      `${e(n.label)} <span class="muted">(${e(n.kind)})</span>`,
      n.present ? badge('met', 'present') : badge('not-covered', 'absent'),
      n.present ? (n.resources.length > 0 ? list(n.resources.map((x) => `${pathHtml(x.path)} <span class="muted">${e(x.type ?? '')}</span>`), 'res') : '<span class="muted">outside the app</span>') : `<span class="muted">looked for ${e(n.lookedFor)}</span>`,
    ]),
    'nodes',
  );
  const labelOf = new Map(f.nodes.map((n) => [n.id, n.label]));
  const edges = list(f.edges.map((x) => `${e(labelOf.get(x.from))} → ${e(labelOf.get(x.to))}: ${x.verified ? 'link found in the templates' : x.present ? 'both ends exist, link not shown by a reference' : 'an end is absent'}`), 'edges');
  return `<p class="lead">Generated from the synthesized templates: the request path (top), the sign-in, and the audit paths (below). Absent nodes are dashed and grey.</p><figure class="flow">${renderDataFlowSvg(f)}</figure><details><summary>Nodes and links</summary>${nodes}${edges}</details>`;
}

// --- 9 ----------------------------------------------------------------------------------------

/** A mark of the inventory: the gate's outcome for that rule on that resource, never the inventory's own judgement. */
function markBadge(m: CheckMark | undefined, ok: string, bad: string): string {
  if (!m) return badge('unknown', 'not checked');
  if (m.status === 'violated') return `${badge('violated', bad)} <span class="small muted">${e(m.rule)}</span>`;
  if (m.status === 'acknowledged') return `<span title="${e(m.reason ?? '')}">${badge('acknowledged', `${bad}, acknowledged`)}</span>`;
  return badge('met', ok);
}

function inventory(r: ComplianceReport): string {
  const inv = r.inventory;
  const keys = inv.kmsKeys.length === 0 ? '<p class="muted">No KMS keys in the app.</p>' : table(
    ['Key', 'Aliases', 'Rotation', 'Retained', 'Grants', 'Protects', 'Granted by'],
    inv.kmsKeys.map((k) => [
      `${resourceCell(k.resource)}${k.description ? `<br><span class="small">${e(k.description)}</span>` : ''}`,
      k.aliases.map((x) => `<code>${e(x)}</code>`).join('<br>') || '<span class="muted">–</span>',
      markBadge(k.checks.rotation, 'on', 'off'),
      markBadge(k.checks.retained, e(k.deletionPolicy ?? 'Retain'), e(k.deletionPolicy ?? 'Delete')),
      markBadge(k.checks.grants, 'AWS resources only', 'anyone'),
      k.protects.length > 0 ? collapsible(k.protects.map((p) => `${pathHtml(p.path)} <span class="muted small">${e(p.type ?? '')}</span>`), 'res', 3) : '<span class="muted">nothing</span>',
      k.grantedBy.length > 0 ? collapsible(k.grantedBy.map((p) => pathHtml(p.path)), 'res', 2) : '<span class="muted">key policy only</span>',
    ]),
    'keys',
  );
  const groups = inv.logGroups.length === 0 ? '<p class="muted">No log groups in the app.</p>' : table(
    ['Log group', 'Name', 'Retention', 'Encryption', 'Used by'],
    inv.logGroups.map((g) => [
      resourceCell(g.resource),
      e(g.name ?? '(generated)'),
      g.implicit
        ? markBadge(g.checks.declared, 'declared', 'implicit: never expires')
        : `${g.retentionDays === null ? 'never expires' : g.retentionDays < 0 ? 'not a literal' : `${g.retentionDays} days`} ${markBadge(g.checks.retention, 'six years', 'under six years')}`,
      g.implicit
        ? markBadge(g.checks.declared, 'declared', 'AWS-owned key')
        : `${g.kmsKey ? `CMK ${pathHtml(g.kmsKey)}` : 'AWS-owned key'} ${markBadge(g.checks.encryption, 'CMK', 'no CMK')}`,
      g.usedBy.length > 0 ? collapsible(g.usedBy.map((u) => `${pathHtml(u.path)} <span class="muted small">${e(u.type ?? '')}</span>`), 'res', 2) : '<span class="muted">–</span>',
    ]),
    'logs',
  );
  const routes = inv.publicRoutes.length === 0
    ? `<p class="ok">No public route: ${r.dataFlow.nodes.find((n) => n.id === 'api')?.present ? 'every method requires an authorizer.' : 'the app has no API yet.'}</p>`
    : table(
      ['Route', 'API', 'Authorization', 'Reason', 'Gate'],
      inv.publicRoutes.map((p) => [
        `<code>${e(p.method)} ${e(p.path)}</code>${p.corsPreflight ? ' <span class="muted">(CORS preflight)</span>' : ''}<br>${pathHtml(p.resource.path)}`,
        `${pathHtml(p.api)} <span class="muted">${e(p.kind)}</span>`,
        e(p.authorization),
        p.reason ? `<span class="reason">${e(p.reason)}</span>` : '<span class="muted">not marked public</span>',
        markBadge(p.check, p.corsPreflight ? 'preflight' : 'allowed', 'not allowed'),
      ]),
      'routes',
    );
  return `<p class="lead">Every mark here is the gate's own result for the rule named beside it: a red mark is always an unacknowledged finding of section 4.</p><h3>KMS keys and what they protect</h3>${keys}<h3>Log groups and retention</h3>${groups}<h3>Public routes</h3>${routes}`;
}

// --- 10 ---------------------------------------------------------------------------------------

function signOff(r: ComplianceReport): string {
  const so = r.signOff;
  const rows = so.fields.map((f) => `<tr><th scope="row">${e(f)}</th><td class="blank${f === 'Notes' ? ' notes' : ''}">${f === 'Decision' ? so.decisions.map((d) => `<span class="choice">☐ ${e(d)}</span>`).join(' ') : ''}</td></tr>`).join('');
  const files = r.review.files.filter((f) => f.stack).map((f) => `${e(f.file)} <code class="sha">${e(short(f.sha256))}</code>`).join(', ');
  return `<p>${e(so.statement)}</p><p class="small muted">Verdict ${e(r.summary.verdict.toUpperCase())}; templates ${files || '–'}; ${e(r.review.kit.name)} ${e(r.review.kit.version)}${r.review.kit.commit ? ` @ ${e(r.review.kit.commit.slice(0, 12))}` : ''}; report ${e(r.generatedAt)}.</p><table class="sign-off"><tbody>${rows}</tbody></table>`;
}

const CSS = `
:root{--fg:#1b1f24;--muted:#5b6570;--line:#d5dbe1;--bg:#fff;--soft:#f5f7f9;--ok:#1e7a34;--bad:#b3261e;--warn:#9a5b00;--info:#1f5fa8}
*{box-sizing:border-box}
html{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
body{margin:0 auto;max-width:1280px;padding:20px 28px 48px}
header.top h1{margin:0 0 2px;font-size:1.5rem}
header.top p{margin:0;color:var(--muted)}
.banner{display:grid;grid-template-columns:minmax(220px,1fr) 2.2fr;gap:12px 24px;margin:12px 0;padding:12px 16px;border:2px solid var(--line);border-radius:8px;background:var(--soft)}
.banner.v-pass{border-color:#a9d8b4}.banner.v-fail,.banner.v-no-assembly{border-color:#efb1ab}
.banner .verdict .badge{font-size:1.6rem;padding:4px 16px;border-radius:8px}
.banner .verdict p{margin:8px 0 0}
nav.toc{margin:8px 0;padding:6px 12px;background:var(--soft);border:1px solid var(--line);border-radius:6px}
nav.toc ol{margin:0;padding-left:20px;columns:3}
nav.toc a{color:var(--info)}
h2{font-size:1.25rem;margin:28px 0 8px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:1.02rem;margin:16px 0 6px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:.92rem}
th,td{border:1px solid var(--line);padding:5px 7px;vertical-align:top;text-align:left;overflow-wrap:break-word;word-break:normal}
thead th{background:var(--soft);font-weight:600}
tbody th{font-weight:600;white-space:nowrap}
.counts td,.counts th{text-align:center}.counts td:first-child{text-align:left}
.num.bad,.bad{color:var(--bad);font-weight:600}
.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86em;overflow-wrap:break-word;word-break:normal}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86em}
code{background:var(--soft);padding:0 3px;border-radius:3px;overflow-wrap:break-word}
code.sha{word-break:break-all}
pre{background:var(--soft);padding:8px;overflow:auto;white-space:pre-wrap}
.muted{color:var(--muted)}.small{font-size:.86em}
.lead{color:var(--muted);margin:4px 0 8px}
.ok{color:var(--ok);font-weight:600}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:.8em;font-weight:600;border:1px solid transparent;white-space:nowrap}
.b-pass,.b-met,.b-success{background:#e3f4e7;color:var(--ok);border-color:#a9d8b4}
.b-technical-evidence,.b-current{background:#e8f1fb;color:var(--info);border-color:#b4cdea}
.b-fail,.b-violated,.b-fatal,.b-error,.b-failure{background:#fbe5e3;color:var(--bad);border-color:#efb1ab}
.b-acknowledged,.b-warning{background:#fff3d6;color:var(--warn);border-color:#f0d28c}
.b-not-evaluated,.b-not-covered,.b-unchecked,.b-no-assembly,.b-none,.b-unknown,.b-info,.b-not-reported{background:#eceff2;color:#404952;border-color:#c9d0d6}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:4px 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.notice{border:1px solid #f0d28c;background:#fffaf0;border-radius:6px;padding:6px 12px;margin:8px 0}
.notice.bad{border-color:#efb1ab;background:#fff6f5}
.notice ul{margin:4px 0 0;padding-left:18px}
.matrix tr.gap{background:#f7f7f9}
.matrix .rule{margin:1px 0 3px}
.matrix .sub-h{font-size:.8em;font-weight:600;color:var(--muted);margin-top:2px}
ul.res{margin:2px 0;padding-left:18px}ul.res.bad li{color:var(--bad)}
details.more>summary{font-size:.85em}
details.inline,details.inline>summary{display:inline}details.inline[open]{display:block;margin-left:12px}details.inline>summary{font-size:.85em}
.chips{line-height:1.9}.chip,.nowrap{white-space:nowrap;overflow-wrap:normal}
.rule-id{overflow-wrap:break-word}
table.findings,table.acks,table.matrix,table.logs,table.keys,table.routes,table.files,table.gaps,table.envs{table-layout:fixed}
table.envs{font-size:.86rem}table.envs th:nth-child(1){width:14%}table.envs th:nth-child(2),table.envs th:nth-child(3),table.envs th:nth-child(4){width:15%}
table.findings th:nth-child(1){width:8%}table.findings th:nth-child(2){width:19%}table.findings th:nth-child(3){width:21%}table.findings th:nth-child(4){width:28%}table.findings th:nth-child(5){width:24%}
table.acks{font-size:.88rem}table.acks th:nth-child(1){width:19%}table.acks th:nth-child(2){width:22%}table.acks th:nth-child(3){width:51%}table.acks th:nth-child(4){width:8%}
table.logs th:nth-child(1){width:28%}table.logs th:nth-child(2){width:17%}table.logs th:nth-child(3){width:18%}table.logs th:nth-child(4){width:19%}table.logs th:nth-child(5){width:18%}
table.keys th:nth-child(1){width:20%}table.keys th:nth-child(2){width:12%}table.keys th:nth-child(3){width:8%}table.keys th:nth-child(4){width:8%}table.keys th:nth-child(5){width:11%}table.keys th:nth-child(6){width:25%}table.keys th:nth-child(7){width:16%}
table.routes th:nth-child(1){width:30%}table.routes th:nth-child(2){width:20%}table.routes th:nth-child(3){width:11%}table.routes th:nth-child(4){width:27%}table.routes th:nth-child(5){width:12%}
table.files th:nth-child(1){width:34%}table.files th:nth-child(2){width:14%}table.files th:nth-child(3){width:42%}table.files th:nth-child(4){width:10%}
table.gaps th:nth-child(1){width:32%}table.gaps th:nth-child(2){width:12%}
table.matrix th:nth-child(1){width:13%}table.matrix th:nth-child(2){width:20%}table.matrix th:nth-child(3){width:11%}table.matrix tbody th{white-space:normal}
table.sign-off th{width:18%}table.sign-off td.blank{height:2.6em}table.sign-off td.notes{height:9em}
.choice{display:inline-block;margin-right:18px}
.reason{font-style:italic}
blockquote.reason{margin:0;padding-left:8px;border-left:3px solid #f0d28c;font-style:normal}
.ack-hint{margin-top:6px;font-size:.85em;color:var(--muted)}
details>summary{cursor:pointer;color:var(--info)}
details.rule-text>summary{font-size:.8em}
figure.flow{margin:8px 0;padding:8px;border:1px solid var(--line);border-radius:6px;background:#fcfdfe}
svg.data-flow{display:block;max-width:100%;height:auto;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
svg .node rect{stroke-width:1.5}
svg .node.request rect{fill:#e8f1fb;stroke:#1f5fa8}
svg .node.audit rect{fill:#eaf6ec;stroke:#2e7d32}
svg .node.identity rect{fill:#f2edf9;stroke:#6a3fa0}
svg .node.external rect{fill:#f3f4f6;stroke:#4b5563}
svg .node.absent rect{fill:#fafafa;stroke:#b0b7bf;stroke-dasharray:5 4}
svg .node text{text-anchor:middle;fill:#1b1f24}
svg .node .label{font-size:12.5px;font-weight:600}
svg .node .sub{font-size:10.5px;fill:#4b5563}
svg .node.absent text{fill:#9aa3ab}
svg .edge path{fill:none;stroke-width:1.8}
svg .edge.verified path{stroke:#1b1f24}
svg .edge.unverified path{stroke:#5b6570;stroke-dasharray:6 4}
svg .edge.missing path{stroke:#c3c9cf;stroke-dasharray:3 4}
svg .edge.audit.verified path{stroke:#2e7d32}
svg .arrow.verified{fill:#1b1f24}svg .arrow.unverified{fill:#5b6570}svg .arrow.missing{fill:#c3c9cf}
svg .edge-label{font-size:10.5px;fill:#4b5563;text-anchor:middle;stroke:#fcfdfe;stroke-width:3px;paint-order:stroke}
svg .row-label{font-size:11px;fill:#5b6570;font-style:italic}
svg .legend text{font-size:11px;fill:#4b5563}
footer{margin-top:28px;padding-top:8px;border-top:1px solid var(--line);color:var(--muted);font-size:.85em}
@page{size:A4;margin:12mm}
@media print{
 html{font-size:9.5pt}
 body{max-width:none;padding:0}
 nav.toc{display:none}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 section.report-section{break-before:page}
 section#summary{break-before:auto}
 h2,h3{break-after:avoid}
 tr,.rule,figure.flow,.banner,table.sign-off{break-inside:avoid}
 details>summary{color:var(--fg)}
 a{color:inherit;text-decoration:none}
}
`;

/** Before printing, open the collapsed details a reader would otherwise miss (not the bulk resource lists). */
const PRINT_SCRIPT = "window.addEventListener('beforeprint',function(){document.querySelectorAll('details:not(.bulk)').forEach(function(d){d.setAttribute('open','')})});";

/** Renders the report as one self-contained HTML document. */
export function renderHtml(r: ComplianceReport): string {
  const scriptHash = createHash('sha256').update(PRINT_SCRIPT).digest('base64');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${scriptHash}'; img-src data:; base-uri 'none'; form-action 'none'`;
  const bodies: Record<ReportSectionId, (report: ComplianceReport) => string> = {
    summary, scope, 'hipaa-matrix': matrix, findings, acknowledgements, coverage, apps, 'api-versions': apiVersions, environments, 'data-flow': dataFlow, inventory, 'sign-off': signOff,
  };
  const sections = REPORT_SECTIONS.map((s, i) => section(i + 1, s.id, s.title, bodies[s.id](r))).join('\n');
  const stacks = r.summary.stacks.map((s) => s.displayName).join(', ') || 'no stacks';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="zero-trust-fhir bin/report.ts">
<title>${e(r.title)} (${e(stacks)})</title>
<style>${CSS}</style>
</head>
<body data-verdict="${e(r.summary.verdict)}">
<header class="top"><h1>${e(r.title)}</h1><p>${e(stacks)} · generated ${e(r.generatedAt)}</p></header>
${banner(r)}
<nav class="toc" aria-label="Contents"><ol>${REPORT_SECTIONS.map((s) => `<li><a href="#${s.id}">${e(s.title)}</a></li>`).join('')}</ol></nav>
<main>
${sections}
</main>
<footer>Sources: ${pathHtml(r.sources.cdkOut)} (manifest ${r.sources.manifest ? 'read' : 'missing'}, validation report ${r.sources.validationReport ? 'read' : 'missing'}, evidence ${r.sources.evidence ? `recorded ${e(r.sources.evidenceGeneratedAt ?? '')}` : 'missing'}), ${pathHtml(r.sources.appRegistry)}, ${pathHtml(r.sources.labelPolicy)}. Report schema ${r.schemaVersion}.</footer>
<script>${PRINT_SCRIPT}</script>
</body>
</html>
`;
}
