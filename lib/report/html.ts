/**
 * The report as one self-contained HTML file: inline CSS, inline SVG, one small inline script
 * (opens collapsed details before printing) allowed by hash in a Content-Security-Policy that
 * forbids every external load. Every value from templates, metadata, reasons or the registry is
 * escaped.
 */
import type { LabelPolicy } from '../../policies/label-policy';
import { labelDefaults } from './label-defaults';
import { createHash } from 'crypto';
import { escapeHtml } from './escape';
import {
  AcknowledgementRow,
  ComplianceReport,
  ControlStatus,
  Finding,
  MatrixRow,
  MatrixRule,
  ResourceRef,
  SEVERITIES,
} from './model';
import { renderDataFlowSvg } from './svg';

/** Section ids, in order; the browser test checks each renders. */
export const REPORT_SECTIONS = [
  { id: 'summary', title: 'Summary' },
  { id: 'hipaa-matrix', title: 'HIPAA Security Rule matrix' },
  { id: 'findings', title: 'Findings' },
  { id: 'acknowledgements', title: 'Acknowledgements' },
  { id: 'apps', title: 'Third-party apps' },
  { id: 'data-flow', title: 'Data flow' },
  { id: 'inventory', title: 'Inventory' },
] as const;

const e = escapeHtml;

/** Escapes, then shows `code spans` of rule messages as code. */
function rich(text: string): string {
  return e(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

const STATUS_LABEL: Record<ControlStatus, string> = {
  violated: 'violated',
  acknowledged: 'acknowledged',
  met: 'met',
  'not-evaluated': 'not evaluated',
  'not-covered': 'not covered',
  unknown: 'unknown',
};

function badge(kind: string, text: string = kind): string {
  return `<span class="badge b-${e(kind.replace(/[^a-z-]/gi, '').toLowerCase())}">${e(text)}</span>`;
}

function resourceCell(r: ResourceRef): string {
  const meta = [r.logicalId, r.type].filter(Boolean).map((x) => e(x)).join(' · ');
  return `<span class="path">${e(r.path || '(app)')}</span>${meta ? `<br><span class="muted">${meta}</span>` : ''}`;
}

function list(items: string[], cls = ''): string {
  return items.length === 0 ? '' : `<ul${cls ? ` class="${cls}"` : ''}>${items.map((i) => `<li>${i}</li>`).join('')}</ul>`;
}

function table(headers: string[], rows: string[][], cls = ''): string {
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${headers.map((h) => `<th scope="col">${e(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function section(index: number, id: string, title: string, body: string): string {
  return `<section id="${id}" class="report-section" aria-labelledby="${id}-h"><h2 id="${id}-h">${index}. ${e(title)}</h2>${body}</section>`;
}

// --- 1 ----------------------------------------------------------------------------------------

function summary(r: ComplianceReport): string {
  const s = r.summary;
  const verdictText = { pass: 'PASS', fail: 'FAIL', unchecked: 'UNCHECKED', 'no-assembly': 'NO ASSEMBLY' }[s.verdict];
  const v = s.counts.violations;
  const facts = [
    ['Verdict', `${badge(s.verdict, verdictText)} ${e(s.verdictReason)}`],
    ['Stacks', s.stacks.length === 0 ? '<span class="muted">none</span>' : s.stacks.map((st) => e(st.displayName)).join(', ')],
    ['Deployment environment', s.environments.length === 0 ? '<span class="muted">not marked</span>' : s.environments.map((x) => e(x)).join(', ')],
    ['Unacknowledged findings', SEVERITIES.map((k) => `${v[k]} ${k}`).join(' · ')],
    ['Acknowledged findings', String(s.counts.acknowledged)],
    ['HIPAA citations', (Object.keys(s.counts.controls) as ControlStatus[]).filter((k) => s.counts.controls[k] > 0).map((k) => `${s.counts.controls[k]} ${STATUS_LABEL[k]}`).join(' · ')],
  ];
  const dl = `<dl class="facts">${facts.map(([k, val]) => `<dt>${e(k)}</dt><dd>${val}</dd>`).join('')}</dl>`;
  const packs = table(
    ['Pack', 'Gate', ...SEVERITIES, 'Acknowledged', 'Rules applied / in pack', 'Compliant results'],
    s.counts.byPack.map((p) => [
      `<strong>${e(p.pack)}</strong>`,
      badge(p.conclusion === 'failure' ? 'fail' : p.conclusion === 'success' ? 'pass' : 'none', p.conclusion),
      ...SEVERITIES.map((k) => `<span class="num${p.violations[k] > 0 ? ' bad' : ''}">${p.violations[k]}</span>`),
      String(p.acknowledged),
      p.rules !== undefined ? `${p.rulesApplied} / ${p.rules}` : '<span class="muted">no evidence</span>',
      p.compliant !== undefined ? String(p.compliant) : '<span class="muted">–</span>',
    ]),
    'counts',
  );
  const stacks = table(
    ['Stack', 'Description', 'AWS environment', 'Deployment', 'Resources', 'Template'],
    s.stacks.map((st) => [e(st.displayName), e(st.description ?? ''), `<span class="path">${e(st.environment)}</span>`, e(st.deploymentEnvironment ?? '–'), String(st.resourceCount), `<span class="path">${e(st.templateFile)}</span>`]),
  );
  const notices = r.notices.length > 0 ? `<div class="notice" role="note"><strong>Notices</strong>${list(r.notices.map((n) => e(n)))}</div>` : '';
  return `${dl}${notices}<h3>Counts by pack and severity</h3>${packs}<h3>Stacks</h3>${stacks}`;
}

// --- 2 ----------------------------------------------------------------------------------------

function ruleBlock(rule: MatrixRule): string {
  const counts = `${rule.met.length} met · ${rule.acknowledged.length} acknowledged · ${rule.violated.length} violated · ${rule.notApplicable} not applicable`;
  const violated = rule.violated.length > 0 ? `<div class="sub-h">Violated</div>${list(rule.violated.map((p) => `<span class="path">${e(p)}</span>`), 'res bad')}` : '';
  const acked = rule.acknowledged.length > 0
    ? `<div class="sub-h">Acknowledged</div>${list(rule.acknowledged.map((a) => `<span class="path">${e(a.resource)}</span> <span class="reason" title="${e(a.reason)}">“${e(a.reason.length > 140 ? `${a.reason.slice(0, 139)}…` : a.reason)}”</span>`), 'res')}`
    : '';
  return `<div class="rule">${badge(rule.status, STATUS_LABEL[rule.status])} <strong class="rule-id">${e(rule.ruleId)}</strong> <span class="muted">${e(rule.pack)}, ${e(rule.level)}</span><div class="muted small">${e(counts)}</div>${violated}${acked}</div>`;
}

/** Rules that passed every resource: one line each, the resources on demand. */
function metRules(rules: MatrixRule[]): string {
  if (rules.length === 0) return '';
  const items = rules.map((rule) => `${badge('met')} <span class="rule-id">${e(rule.ruleId)}</span> <span class="muted small">${e(rule.pack)} · ${rule.met.length} resource${rule.met.length === 1 ? '' : 's'}</span> <details class="bulk inline"><summary>show</summary>${list(rule.met.map((p) => `<span class="path">${e(p)}</span>`), 'res')}</details>`);
  return list(items, 'met-rules');
}

const evaluated = (rule: MatrixRule): boolean => rule.status !== 'not-evaluated' && rule.status !== 'unknown';

function idleRules(rules: MatrixRule[]): string {
  if (rules.length === 0) return '';
  const what = rules.every((x) => x.status === 'unknown') ? 'without evidence (result unknown)' : 'found nothing to evaluate';
  return `<details class="bulk idle"><summary>${rules.length} rule${rules.length === 1 ? '' : 's'} ${what}</summary>${list(rules.map((x) => `<span class="rule-id">${e(x.ruleId)}</span> <span class="muted">${e(x.pack)}</span>`), 'res')}</details>`;
}

function matrix(r: ComplianceReport): string {
  const rows = r.hipaaMatrix.map((m: MatrixRow) => {
    const gap = m.status === 'not-covered' ? '<em>No rule of the packs checks this safeguard.</em>'
      : m.status === 'not-evaluated' ? '<em>Rules cite it, but none found a resource to evaluate in this app.</em>' : '';
    return `<tr class="st-${e(m.status)}${m.status === 'not-covered' || m.status === 'not-evaluated' ? ' gap' : ''}" data-citation="${e(m.citation)}"><th scope="row">${e(m.citation)}</th><td>${e(m.title)}${m.inCatalogue ? '' : ' <span class="muted">(not in the catalogue)</span>'}</td><td>${badge(m.status, STATUS_LABEL[m.status])}</td><td>${gap}${m.rules.filter((x) => evaluated(x) && x.status !== 'met').map(ruleBlock).join('')}${metRules(m.rules.filter((x) => x.status === 'met'))}${idleRules(m.rules.filter((x) => !evaluated(x)))}</td></tr>`;
  });
  return `<p class="lead">Each 45 CFR citation the packs use, the rules that check it, and what they found on the resources they evaluated. Gaps (not covered, not evaluated) are marked.</p>
<table class="matrix"><thead><tr><th scope="col">Citation</th><th scope="col">Safeguard</th><th scope="col">Status</th><th scope="col">Rules → resources evaluated</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

// --- 3, 4 -------------------------------------------------------------------------------------

function findings(r: ComplianceReport): string {
  if (r.findings.length === 0) {
    const packs = r.summary.counts.byPack.map((p) => p.pack);
    return `<p class="ok">No unacknowledged findings.</p><p class="muted">${packs.length > 0 ? `Checked by ${e(packs.join(', '))}. ` : ''}${r.summary.counts.acknowledged} finding${r.summary.counts.acknowledged === 1 ? ' is' : 's are'} acknowledged with a reason (section 4).</p>`;
  }
  return table(
    ['Severity', 'Rule', 'Resource', 'Message', 'Fix'],
    r.findings.map((f: Finding) => [
      badge(f.severity),
      `<strong class="rule-id">${e(f.ruleId)}</strong><br><span class="muted">${e(f.pack)}</span>`,
      resourceCell(f.resource),
      rich(f.message),
      `${rich(f.fix)}${f.acknowledge ? `<div class="ack-hint">or acknowledge: <code>${e(f.acknowledge)}</code></div>` : ''}`,
    ]),
    'findings',
  );
}

function acknowledgements(r: ComplianceReport): string {
  if (r.acknowledgements.length === 0) return `<p class="muted">No acknowledgements.</p>`;
  return `<p class="lead">Every acknowledged rule, the construct it is recorded on, and the reason given. ${r.acknowledgements.length} in total.</p>${table(
    ['Rule', 'Resource', 'Reason', 'Covers', 'Status'],
    r.acknowledgements.map((a: AcknowledgementRow) => [
      `<strong class="rule-id">${e(a.ruleId)}</strong><br><span class="muted">${e(a.pack)}</span>${a.rule ? `<div class="small">${rich(a.rule.message)}</div>` : ''}`,
      resourceCell(a.resource),
      `<blockquote class="reason">${e(a.reason)}</blockquote>`,
      a.appliesTo.length > 0 ? list(a.appliesTo.map((p) => `<span class="path">${e(p)}</span>`), 'res') : '<span class="muted">–</span>',
      a.refused ? badge('violated', 'refused (non-waivable)') : a.matched === true ? badge('acknowledged', 'in use') : a.matched === false ? badge('not-evaluated', 'matched nothing') : badge('unknown', 'not checked'),
    ]),
    'acks',
  )}`;
}

// --- 5 ----------------------------------------------------------------------------------------

function apps(r: ComplianceReport): string {
  const a = r.apps;
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
  ]);
  const appsTable = a.apps.length > 0 ? table(['App', 'Tier', 'Client', 'Scopes', 'BAA', 'Security assessment', 'Throttle', 'Tokens'], rows, 'apps') : a.error ? '' : '<p class="muted">No apps registered.</p>';
  const lp = a.labelPolicy;
  const labels = !lp.configured
    ? `<p><strong>Label policy:</strong> no label policy configured (<span class="path">${e(lp.file)}</span> is absent).</p>`
    : lp.error
      ? `<div class="notice bad"><strong>Label policy</strong> <span class="path">${e(lp.file)}</span> ${e(lp.error)}</div>`
      : lp.content
        ? labelPolicyHtml(lp.file, lp.content)
        : '';
  return `${head}${error}${appsTable}${labels}`;
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
      n.present ? (n.resources.length > 0 ? list(n.resources.map((x) => `<span class="path">${e(x.path)}</span> <span class="muted">${e(x.type ?? '')}</span>`), 'res') : '<span class="muted">outside the app</span>') : `<span class="muted">looked for ${e(n.lookedFor)}</span>`,
    ]),
    'nodes',
  );
  const labelOf = new Map(f.nodes.map((n) => [n.id, n.label]));
  const edges = list(f.edges.map((x) => `${e(labelOf.get(x.from))} → ${e(labelOf.get(x.to))}: ${x.verified ? 'link found in the templates' : x.present ? 'both ends exist, link not shown by a reference' : 'an end is absent'}`), 'edges');
  return `<p class="lead">Generated from the synthesized templates: the request path (top), the sign-in, and the audit paths (below). Absent nodes are dashed and grey.</p><figure class="flow">${renderDataFlowSvg(f)}</figure><details><summary>Nodes and links</summary>${nodes}${edges}</details>`;
}

// --- 7 ----------------------------------------------------------------------------------------

function inventory(r: ComplianceReport): string {
  const inv = r.inventory;
  const keys = inv.kmsKeys.length === 0 ? '<p class="muted">No KMS keys in the app.</p>' : table(
    ['Key', 'Aliases', 'Rotation', 'Deletion', 'Protects', 'Granted by'],
    inv.kmsKeys.map((k) => [
      `${resourceCell(k.resource)}${k.description ? `<br><span class="small">${e(k.description)}</span>` : ''}`,
      k.aliases.map((x) => `<code>${e(x)}</code>`).join('<br>') || '<span class="muted">–</span>',
      k.rotation === true ? badge('met', 'on') : k.rotation === false ? badge('violated', 'off') : badge('unknown', 'unknown'),
      e(k.deletionPolicy ?? 'Delete'),
      k.protects.length > 0 ? list(k.protects.map((p) => `<span class="path">${e(p.path)}</span> <span class="muted">${e(p.type ?? '')} (${e(p.properties.join(', '))})</span>`), 'res') : badge('not-evaluated', 'nothing'),
      k.grantedBy.length > 0 ? list(k.grantedBy.map((p) => `<span class="path">${e(p.path)}</span>`), 'res') : '<span class="muted">key policy only</span>',
    ]),
    'keys',
  );
  const groups = inv.logGroups.length === 0 ? '<p class="muted">No log groups in the app.</p>' : table(
    ['Log group', 'Name', 'Retention', 'Six years', 'Encryption', 'Deletion', 'Used by'],
    inv.logGroups.map((g) => [
      resourceCell(g.resource),
      e(g.name ?? '(generated)'),
      g.retentionDays === null ? 'never expires' : g.retentionDays < 0 ? 'not a literal' : `${g.retentionDays} days`,
      g.meetsSixYears ? badge('met', 'yes') : badge('violated', 'no'),
      g.kmsKey ? `CMK <span class="path">${e(g.kmsKey)}</span>` : badge('violated', 'AWS-owned key'),
      e(g.implicit ? 'n/a (implicit)' : g.deletionPolicy ?? 'Delete'),
      g.usedBy.length > 0 ? list(g.usedBy.map((u) => `<span class="path">${e(u.path)}</span> <span class="muted">${e(u.type ?? '')}</span>`), 'res') : '<span class="muted">–</span>',
    ]),
    'logs',
  );
  const routes = inv.publicRoutes.length === 0
    ? `<p class="ok">No public route: ${r.dataFlow.nodes.find((n) => n.id === 'api')?.present ? 'every method requires an authorizer.' : 'the app has no API yet.'}</p>`
    : table(
      ['Route', 'API', 'Authorization', 'Reason', 'Allowed'],
      inv.publicRoutes.map((p) => [
        `<code>${e(p.method)} ${e(p.path)}</code>${p.corsPreflight ? ' <span class="muted">(CORS preflight)</span>' : ''}<br><span class="path muted">${e(p.resource.path)}</span>`,
        `<span class="path">${e(p.api)}</span> <span class="muted">${e(p.kind)}</span>`,
        e(p.authorization),
        p.reason ? `<span class="reason">${e(p.reason)}</span>` : '<span class="muted">not marked public</span>',
        p.allowed ? badge('met', 'allowed') : p.corsPreflight ? badge('unknown', 'preflight') : badge('violated', 'not allowed'),
      ]),
      'routes',
    );
  return `<h3>KMS keys and what they protect</h3>${keys}<h3>Log groups and retention</h3>${groups}<h3>Public routes</h3>${routes}`;
}

const CSS = `
:root{--fg:#1b1f24;--muted:#5b6570;--line:#d5dbe1;--bg:#fff;--soft:#f5f7f9;--ok:#1e7a34;--bad:#b3261e;--warn:#9a5b00;--info:#1f5fa8}
*{box-sizing:border-box}
html{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
body{margin:0 auto;max-width:1280px;padding:24px 28px 48px}
header.top h1{margin:0 0 4px;font-size:1.6rem}
header.top p{margin:0;color:var(--muted)}
nav.toc{margin:16px 0 8px;padding:8px 12px;background:var(--soft);border:1px solid var(--line);border-radius:6px}
nav.toc ol{margin:0;padding-left:20px;columns:2}
nav.toc a{color:var(--info)}
h2{font-size:1.3rem;margin:32px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:1.05rem;margin:20px 0 8px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-size:.93rem}
th,td{border:1px solid var(--line);padding:6px 8px;vertical-align:top;text-align:left}
thead th{background:var(--soft);font-weight:600}
tbody th{font-weight:600;white-space:nowrap}
.counts td,.counts th{text-align:center}.counts td:first-child{text-align:left}
.num.bad{color:var(--bad);font-weight:700}
.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86em;overflow-wrap:anywhere}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86em}
code{background:var(--soft);padding:0 3px;border-radius:3px;overflow-wrap:anywhere}
pre{background:var(--soft);padding:8px;overflow:auto;white-space:pre-wrap}
.muted{color:var(--muted)}.small{font-size:.86em}
.lead{color:var(--muted);margin:4px 0 10px}
.ok{color:var(--ok);font-weight:600}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:.8em;font-weight:600;border:1px solid transparent;white-space:nowrap}
.b-pass,.b-met,.b-success{background:#e3f4e7;color:var(--ok);border-color:#a9d8b4}
.b-fail,.b-violated,.b-fatal,.b-error,.b-failure{background:#fbe5e3;color:var(--bad);border-color:#efb1ab}
.b-acknowledged,.b-warning{background:#fff3d6;color:var(--warn);border-color:#f0d28c}
.b-not-evaluated,.b-not-covered,.b-unchecked,.b-no-assembly,.b-none,.b-unknown,.b-info,.b-not-reported{background:#eceff2;color:#404952;border-color:#c9d0d6}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:8px 0 12px}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.notice{border:1px solid #f0d28c;background:#fffaf0;border-radius:6px;padding:8px 12px;margin:10px 0}
.notice.bad{border-color:#efb1ab;background:#fff6f5}
.notice ul{margin:4px 0 0;padding-left:18px}
.matrix tr.gap{background:#f7f7f9}
.matrix .rule{margin:2px 0 8px}
.matrix .sub-h{font-size:.8em;font-weight:600;color:var(--muted);margin-top:4px}
ul.res{margin:2px 0;padding-left:18px}ul.res.bad li{color:var(--bad)}
ul.met-rules{list-style:none;margin:2px 0 4px;padding:0}ul.met-rules li{margin:1px 0}
details.inline,details.inline>summary{display:inline}details.inline[open]{display:block;margin-left:12px}
.chips{line-height:1.9}.chip,.nowrap{white-space:nowrap;overflow-wrap:normal}
.rule-id{overflow-wrap:anywhere}
table.findings,table.acks,table.matrix{table-layout:fixed}
table.findings th:nth-child(1){width:8%}table.findings th:nth-child(2){width:19%}table.findings th:nth-child(3){width:19%}table.findings th:nth-child(4){width:29%}table.findings th:nth-child(5){width:25%}
table.acks th:nth-child(1){width:30%}table.acks th:nth-child(2){width:19%}table.acks th:nth-child(3){width:29%}table.acks th:nth-child(4){width:13%}table.acks th:nth-child(5){width:9%}
table.logs,table.keys,table.routes{table-layout:fixed}
table.logs th:nth-child(1){width:25%}table.logs th:nth-child(2){width:15%}table.logs th:nth-child(3){width:9%}table.logs th:nth-child(4){width:8%}table.logs th:nth-child(5){width:17%}table.logs th:nth-child(6){width:8%}table.logs th:nth-child(7){width:18%}
table.keys th:nth-child(1){width:20%}table.keys th:nth-child(2){width:13%}table.keys th:nth-child(3){width:8%}table.keys th:nth-child(4){width:8%}table.keys th:nth-child(5){width:31%}table.keys th:nth-child(6){width:20%}
table.routes th:nth-child(1){width:30%}table.routes th:nth-child(2){width:20%}table.routes th:nth-child(3){width:11%}table.routes th:nth-child(4){width:28%}table.routes th:nth-child(5){width:11%}
td{overflow-wrap:anywhere}
table.matrix th:nth-child(1){width:13%}table.matrix th:nth-child(2){width:20%}table.matrix th:nth-child(3){width:10%}table.matrix tbody th{white-space:normal;overflow-wrap:anywhere}
.reason{font-style:italic}
blockquote.reason{margin:0;padding-left:8px;border-left:3px solid #f0d28c;font-style:normal}
.ack-hint{margin-top:6px;font-size:.85em;color:var(--muted)}
details>summary{cursor:pointer;color:var(--info)}
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
footer{margin-top:32px;padding-top:8px;border-top:1px solid var(--line);color:var(--muted);font-size:.85em}
@page{size:A4;margin:12mm}
@media print{
 html{font-size:9.5pt}
 body{max-width:none;padding:0}
 nav.toc{display:none}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 section.report-section{break-before:page}
 section#summary{break-before:auto}
 h2,h3{break-after:avoid}
 tr,.rule,figure.flow{break-inside:avoid}
 details>summary{color:var(--fg)}
 details.bulk.inline:not([open]){display:none}
 a{color:inherit;text-decoration:none}
}
`;

/** Before printing, open the details a reader would otherwise miss (not the bulk resource lists). */
const PRINT_SCRIPT = "window.addEventListener('beforeprint',function(){document.querySelectorAll('details:not(.bulk)').forEach(function(d){d.setAttribute('open','')})});";

/** Renders the report as one self-contained HTML document. */
export function renderHtml(r: ComplianceReport): string {
  const scriptHash = createHash('sha256').update(PRINT_SCRIPT).digest('base64');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${scriptHash}'; img-src data:; base-uri 'none'; form-action 'none'`;
  const bodies = [summary(r), matrix(r), findings(r), acknowledgements(r), apps(r), dataFlow(r), inventory(r)];
  const sections = REPORT_SECTIONS.map((s, i) => section(i + 1, s.id, s.title, bodies[i])).join('\n');
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
<header class="top"><h1>${e(r.title)}</h1><p>${e(stacks)} · generated ${e(r.generatedAt)} · verdict ${badge(r.summary.verdict, r.summary.verdict.toUpperCase())}</p></header>
<nav class="toc" aria-label="Contents"><ol>${REPORT_SECTIONS.map((s) => `<li><a href="#${s.id}">${e(s.title)}</a></li>`).join('')}</ol></nav>
<main>
${sections}
</main>
<footer>Sources: <span class="path">${e(r.sources.cdkOut)}</span> (manifest ${r.sources.manifest ? 'read' : 'missing'}, validation report ${r.sources.validationReport ? 'read' : 'missing'}, evidence ${r.sources.evidence ? `recorded ${e(r.sources.evidenceGeneratedAt ?? '')}` : 'missing'}), <span class="path">${e(r.sources.appRegistry)}</span>, <span class="path">${e(r.sources.labelPolicy)}</span>. Report schema ${r.schemaVersion}.</footer>
<script>${PRINT_SCRIPT}</script>
</body>
</html>
`;
}
