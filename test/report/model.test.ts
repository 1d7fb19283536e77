import * as fs from 'fs';
import * as path from 'path';
import * as fc from 'fast-check';
import { HIPAA_CITATION_IDS } from '../../policies/compliance/citations';
import { buildComplianceReport } from '../../lib/report/build';
import { CloudAssemblyInput, hashFile, readCloudAssembly, ResourceInfo, ValidationReportJson } from '../../lib/report/cloud-assembly';
import { ComplianceEvidence, PackEvidence, RuleEvidence } from '../../lib/report/evidence';
import { renderHtml } from '../../lib/report/html';
import { renderMarkdown } from '../../lib/report/markdown';
import { ComplianceReport, SEVERITIES } from '../../lib/report/model';
import { countsLine } from '../../lib/report/text';
import { FIXTURE_NAMES, FixtureName } from './fixtures/apps';

/**
 * One model, one verdict: every count and section of the report comes from one reconciliation of
 * the evidence and the validation report. These invariants hold for the recorded fixtures and for
 * any evidence and validation report, agreeing or not (the property below generates them).
 */
const FIXTURES = path.join(__dirname, 'fixtures');
const OPTIONS = { today: new Date('2026-12-01T00:00:00Z'), generatedAt: new Date('2026-12-01T12:00:00Z') };
const build = (name: FixtureName): ComplianceReport => buildComplianceReport(readCloudAssembly(path.join(FIXTURES, name)), OPTIONS);

/** Every agreement the report promises; throws with the first that fails. */
function expectOneModel(r: ComplianceReport, renderings = true): void {
  const c = r.summary.counts;
  const total = SEVERITIES.reduce((n, k) => n + c.violations[k], 0);
  // The verdict: PASS only with nothing standing anywhere.
  const violatedCitations = r.hipaaMatrix.filter((m) => m.status === 'violated');
  if (r.summary.verdict === 'pass') {
    expect(r.findings).toEqual([]);
    expect(violatedCitations.map((m) => m.citation)).toEqual([]);
    expect(c.byPack.filter((p) => p.conclusion === 'failure').map((p) => p.pack)).toEqual([]);
    expect(r.inventory.kmsKeys.flatMap((k) => Object.values(k.checks)).concat(r.inventory.logGroups.flatMap((g) => Object.values(g.checks))).filter((m) => m?.status === 'violated')).toEqual([]);
  }
  if (violatedCitations.length > 0 || r.findings.length > 0) expect(r.summary.verdict).not.toBe('pass');
  // Findings: by severity, by pack, in the summary.
  expect(total).toBe(r.findings.length);
  for (const k of SEVERITIES) {
    expect(c.violations[k]).toBe(r.findings.filter((f) => f.severity === k).length);
    expect(c.byPack.reduce((n, p) => n + p.violations[k], 0)).toBe(c.violations[k]);
  }
  // Acknowledged findings: the summary, the packs and the acknowledgements section add up.
  expect(c.byPack.reduce((n, p) => n + p.acknowledged, 0)).toBe(c.acknowledged);
  expect(r.acknowledgements.reduce((n, a) => n + a.covers, 0)).toBe(c.acknowledged);
  expect(r.acknowledgements.filter((a) => a.status !== 'in-use').every((a) => a.covers === 0 && a.appliesTo.length === 0)).toBe(true);
  expect(r.acknowledgements.filter((a) => a.refused).every((a) => a.status === 'refused')).toBe(true);
  // Acknowledgements recorded: their statuses add up to the total, which is the section's length.
  const a = c.acknowledgements;
  expect(a.total).toBe(r.acknowledgements.length);
  expect(a.inUse + a.refused + a.unused + a.notChecked + a.outside).toBe(a.total);
  expect(a.inUse).toBe(r.acknowledgements.filter((x) => x.status === 'in-use').length);
  // Every acknowledged resource in the matrix is covered by an acknowledgement in use.
  const covered = new Set(r.acknowledgements.flatMap((x) => x.appliesTo));
  for (const m of r.hipaaMatrix) for (const rule of m.rules) for (const ack of rule.acknowledged) expect(covered.has(ack.resource) ? ack.resource : `${ack.resource} (not covered)`).toBe(ack.resource);
  // Citations by status add up to the matrix.
  expect(Object.values(c.controls).reduce((n, x) => n + x, 0)).toBe(r.hipaaMatrix.length);
  // Resources: the summary is the coverage section.
  expect(c.resources).toEqual({ total: r.coverage.resources, evaluated: r.coverage.evaluated, evaluatedByNone: r.coverage.evaluatedByNone.length });
  if (r.coverage.known) expect(r.coverage.evaluated + r.coverage.evaluatedByNone.length).toBe(r.coverage.resources);
  if (!renderings) return;
  // HTML and Markdown state the same numbers, worded once (text.ts).
  const l = countsLine(r);
  const html = renderHtml(r);
  const md = renderMarkdown(r);
  const json = JSON.parse(JSON.stringify(r)) as ComplianceReport;
  expect(json.summary.counts).toEqual(c);
  for (const line of Object.values(l)) {
    expect(html).toContain(line.replace(/&/g, '&amp;'));
    expect(md).toContain(line);
  }
  expect(html).toContain(`data-verdict="${r.summary.verdict}"`);
}

describe('one model over the recorded fixtures', () => {
  test.each(FIXTURE_NAMES)('%s: verdict, matrix, sections and every count agree in the model, HTML, Markdown and JSON', (name) => {
    expectOneModel(build(name));
  });

  test('acknowledged with the id exactly as the synth prints it (pack-prefixed), a finding counts as acknowledged, never violated', () => {
    const r = build('acknowledged');
    const prefixed = r.acknowledgements.filter((x) => /^(HIPAA\.Security|AwsSolutions|FHIR\.HIPAA)::/.test(x.key));
    expect(prefixed.length).toBeGreaterThan(2);
    for (const x of prefixed) expect(x).toMatchObject({ status: 'in-use', covers: 1 });
    expect(r.summary.verdict).toBe('pass');
    expect(r.summary.counts.controls.violated).toBe(0);
    expect(r.notices.filter((n) => /disagree/.test(n))).toEqual([]);
  });
});

describe('one model over generated evidence (property)', () => {
  const PACKS = ['HIPAA.Security', 'FHIR.HIPAA'];
  const CITATIONS = HIPAA_CITATION_IDS.slice(0, 12);
  type Eval = { result: 'compliant' | 'non-compliant' | 'none'; ack: 'none' | 'bare' | 'namespaced' | 'blank' };
  const arbitrary = fc.record({
    resources: fc.integer({ min: 1, max: 5 }),
    rules: fc.array(fc.record({ pack: fc.constantFrom(...PACKS), citations: fc.subarray(CITATIONS, { minLength: 1, maxLength: 3 }), level: fc.constantFrom('error', 'warning') }), { minLength: 1, maxLength: 4 }),
    evals: fc.array(fc.record({ result: fc.constantFrom('compliant', 'non-compliant', 'none'), ack: fc.constantFrom('none', 'bare', 'namespaced', 'blank') }), { minLength: 20, maxLength: 20 }),
    // The validation report may leave out what the evidence saw violated, or add what it did not.
    drop: fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
    extra: fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
  });

  type Generated = typeof arbitrary extends fc.Arbitrary<infer T> ? T : never;

  function generate(g: Generated): CloudAssemblyInput {
    const resources: ResourceInfo[] = Array.from({ length: g.resources }, (_, i) => ({ stack: 'S', logicalId: `R${i}`, type: 'AWS::Logs::LogGroup', path: `S/R${i}/Resource`, properties: {} }));
    const metadata = new Map<string, { type: string; data?: unknown }[]>();
    const packs = new Map<string, RuleEvidence[]>();
    const violations: Record<string, Array<{ ruleName: string; severity: string; description: string; violatingConstructs: Array<{ constructPath: string }> }>> = {};
    const fatal: Array<{ ruleName: string; severity: string; description: string; violatingConstructs: Array<{ constructPath: string }> }> = [];
    g.rules.forEach((rule, ri) => {
      const id = `${rule.pack}-Rule${ri}`;
      const evaluations: RuleEvidence['evaluations'] = [];
      resources.forEach((res, i) => {
        const k = (ri * 5 + i) % 20;
        const ev = g.evals[k] as Eval;
        if (ev.result === 'none') return;
        if (ev.result === 'compliant') {
          evaluations.push({ resource: res.path!, result: 'compliant' });
          if (g.extra[k]) (violations[rule.pack] ??= []).push({ ruleName: id, severity: rule.level, description: `x (Control IDs: ${rule.citations.join(', ')})`, violatingConstructs: [{ constructPath: res.path! }] });
          return;
        }
        if (ev.ack === 'none') {
          evaluations.push({ resource: res.path!, result: 'non-compliant' });
          if (!g.drop[k]) (violations[rule.pack] ??= []).push({ ruleName: id, severity: rule.level, description: `x (Control IDs: ${rule.citations.join(', ')})`, violatingConstructs: [{ constructPath: res.path! }] });
          return;
        }
        const at = `S/R${i}`;
        const key = ev.ack === 'namespaced' ? `${rule.pack}::${id}` : `Annotation::${id}`;
        const reason = ev.ack === 'blank' ? '' : `reason ${ri}-${i}`;
        metadata.set(at, [...(metadata.get(at) ?? []), { type: 'aws:cdk:acknowledged-rules', data: { [key]: reason } }]);
        evaluations.push({ resource: res.path!, result: 'non-compliant', acknowledged: { id, reason, at } });
        if (ev.ack === 'blank') fatal.push({ ruleName: id, severity: 'fatal', description: 'has no reason', violatingConstructs: [{ constructPath: at }] });
      });
      packs.set(rule.pack, [...(packs.get(rule.pack) ?? []), { id, level: rule.level as 'error', info: `x (Control IDs: ${rule.citations.join(', ')})`, explanation: 'e', citations: rule.citations, notApplicable: 0, evaluations }]);
    });
    const evidence: ComplianceEvidence = {
      schemaVersion: 1,
      generatedAt: '2026-12-01T00:00:00.000Z',
      packs: [...packs.entries()].map(([name, rules]): PackEvidence => ({ name, rules, violations: 0 })),
      resources: resources.map((r) => ({ path: r.path!, stack: 'S', logicalId: r.logicalId, type: r.type })),
      acknowledgements: [],
    };
    const report: ValidationReportJson = {
      pluginReports: [
        ...Object.entries(violations).map(([pluginName, v]) => ({ pluginName, conclusion: 'failure', violations: v })),
        ...(fatal.length > 0 ? [{ pluginName: 'FHIR.HIPAA', conclusion: 'failure', violations: fatal }] : []),
      ],
    };
    return {
      directory: '/generated', manifestFound: true,
      stacks: [{ id: 'S', displayName: 'S', environment: 'aws://unknown-account/unknown-region', templateFile: 'S.template.json', template: { Resources: {} }, metadata }],
      resources, validationReport: report, evidence, constructTypes: new Map(), fileHashes: new Map(), problems: [],
    };
  }

  test('PASS is impossible while any citation shows a violation, and every count agrees', () => {
    fc.assert(fc.property(arbitrary, (g) => {
      const r = buildComplianceReport(generate(g), OPTIONS);
      expectOneModel(r, false);
    }), { numRuns: 300 });
  });

  test('the renderings state the model\'s counts (fewer runs: rendering is slower)', () => {
    fc.assert(fc.property(arbitrary, (g) => {
      expectOneModel(buildComplianceReport(generate(g), OPTIONS), true);
    }), { numRuns: 40 });
  });
});

describe('a report a reviewer can sign', () => {
  const failing = build('failing');
  const passing = build('passing');

  test('states what was reviewed: kit version, tools, every template with its SHA-256, environments, times', () => {
    const r = passing;
    expect(r.review.kit).toMatchObject({ name: 'zero-trust-fhir', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(r.review.tools).toMatchObject({ 'aws-cdk-lib': expect.any(String), 'cdk-nag': expect.any(String), '@cdklabs/cdk-validator-cfnguard': expect.any(String), 'cfn-guard': expect.any(String) });
    const template = r.review.files.find((f) => f.stack === 'Passing')!;
    expect(template).toEqual({ file: 'Passing.template.json', stack: 'Passing', ...hashFile(path.join(FIXTURES, 'passing', 'Passing.template.json')) });
    expect(r.review.files.map((f) => f.file)).toEqual(['Passing.template.json', 'compliance-evidence.json', 'validation-report.json']);
    expect(r.review.environments).toEqual(['sandbox']);
    expect(r.review.synthesizedAt).toBe('2026-11-30T00:00:00.000Z');
  });

  test('names the kit commit when built from a git checkout (npm run report reads it)', () => {
    const r = buildComplianceReport(readCloudAssembly(path.join(FIXTURES, 'passing')), { ...OPTIONS, kitCommit: { commit: 'a'.repeat(40), dirty: true } });
    expect(r.review.kit).toMatchObject({ commit: 'a'.repeat(40), dirty: true });
    expect(renderHtml(r)).toContain(`commit <code>${'a'.repeat(40)}</code> with uncommitted changes`);
  });

  test('says what the packs can and cannot establish: 164.312 and the technical part of 164.308, never physical safeguards, policies, training or contracts', () => {
    const citations = passing.scope.organisationEvidences.map((o) => o.citation).join(' ');
    for (const c of ['164.310(a)(1)', '164.310(b)', '164.310(d)(1)', '164.308(a)(5)(i)', '164.308(b)(1)', '164.314(a)(1)', '164.316(a)']) expect(citations).toContain(c);
    expect(passing.scope.establishes.join(' ')).toMatch(/164\.312.*164\.308/s);
    const html = renderHtml(passing);
    const md = renderMarkdown(passing);
    expect(html).toContain('What only the organisation can evidence');
    expect(md).toContain('**What only the organisation can evidence:**');
  });

  test('an administrative safeguard supported only in part is "technical evidence", never "met"; technical safeguards can be met', () => {
    for (const r of [passing, failing, build('acknowledged')]) {
      for (const row of r.hipaaMatrix) {
        if (/^164\.(308|314|316)/.test(row.citation)) expect(row.status).not.toBe('met');
      }
    }
    expect(passing.hipaaMatrix.find((m) => m.citation === '164.312(a)(2)(iv)')?.status).toBe('met');
    expect(passing.hipaaMatrix.find((m) => m.citation === '164.316(b)(2)(i)')?.status).toBe('technical-evidence');
  });

  test('ends with a sign-off block (reviewer, role, date, decision, notes) in HTML and Markdown', () => {
    const html = renderHtml(failing);
    const md = renderMarkdown(failing);
    const signOff = html.slice(html.indexOf('<section id="sign-off"'));
    for (const f of ['Reviewer', 'Role', 'Date', 'Decision', 'Notes']) {
      expect(signOff).toContain(`<th scope="row">${f}</th>`);
      expect(md.slice(md.search(/^## \d+\. Sign-off$/m))).toContain(`**${f}**`);
    }
    expect(signOff).toContain('☐ Approved with conditions');
    expect(html.indexOf('<section id="sign-off"')).toBeGreaterThan(html.indexOf('<section id="inventory"'));
    expect(md.trim().split('\n').slice(-1)[0]).toMatch(/^\| \*\*Notes\*\*/);
  });
});

describe('every red mark of the inventory is a finding, and the other way round', () => {
  test.each(FIXTURE_NAMES)('%s', (name) => {
    const r = build(name);
    const finding = (rule: string, p: string): boolean => r.findings.some((f) => f.severity !== 'fatal' && f.ruleId.split('[')[0] === rule && f.resource.path === p);
    const marks = [
      ...r.inventory.kmsKeys.flatMap((k) => Object.values(k.checks).map((m) => ({ m, p: k.resource.path }))),
      ...r.inventory.logGroups.flatMap((g) => Object.values(g.checks).map((m) => ({ m, p: g.resource.path }))),
      ...r.inventory.publicRoutes.map((x) => ({ m: x.check, p: x.resource.path })),
    ];
    for (const { m, p } of marks) {
      if (!m) continue;
      expect(`${m.rule} @ ${p}: ${m.status === 'violated'}`).toBe(`${m.rule} @ ${p}: ${finding(m.rule, p)}`);
    }
    // And the HTML shows red exactly there.
    const html = renderHtml(r);
    const inventory = html.slice(html.indexOf('<section id="inventory"'), html.indexOf('<section id="sign-off"'));
    expect((inventory.match(/class="badge b-violated"/g) ?? []).length).toBe(marks.filter(({ m }) => m?.status === 'violated').length);
  });

  test('the failing app marks the 30-day, unencrypted log group and the open route red, each beside its rule', () => {
    const r = build('failing');
    const group = r.inventory.logGroups.find((g) => g.resource.path === 'Failing/ShortLogGroup/Resource')!;
    expect(group.checks).toMatchObject({ retention: { rule: 'FHIR.HIPAA-LogGroupRetention', status: 'acknowledged' }, encryption: { rule: 'FHIR.HIPAA-LogGroupCMKEncryption', status: 'violated' } });
    expect(r.inventory.publicRoutes.find((x) => x.path === '/r4/Patient')?.check).toEqual({ rule: 'FHIR.HIPAA-APIGWMethodAuthorization', status: 'violated' });
  });
});

describe('every resource accounted for', () => {
  test('a function added as plain CloudFormation is a coverage finding naming the rules that skipped it; acknowledged, it shows the reason', () => {
    const failing = build('failing');
    expect(failing.coverage.baselineGaps).toEqual([expect.objectContaining({ resource: expect.objectContaining({ path: 'Failing/PlainFunction', type: 'AWS::Lambda::Function' }), status: 'violated', detail: expect.stringMatching(/not evaluated by HIPAA\.Security-LambdaDLQ/) })]);
    expect(failing.findings.find((f) => f.ruleId === 'FHIR.HIPAA-ResourceEvaluated')?.resource.path).toBe('Failing/PlainFunction');
    const acked = build('acknowledged');
    expect(acked.coverage.baselineGaps).toEqual([expect.objectContaining({ status: 'acknowledged', reason: expect.stringContaining('Fixture: FHIR.HIPAA-ResourceEvaluated') })]);
  });

  test('each resource of the templates is evaluated by some rule or listed, with path and type, as evaluated by none', () => {
    for (const name of FIXTURE_NAMES) {
      const r = build(name);
      const input = readCloudAssembly(path.join(FIXTURES, name));
      const none = new Set(r.coverage.evaluatedByNone.map((x) => x.path));
      for (const res of input.resources) {
        const evaluated = JSON.stringify(input.evidence).includes(`"resource":"${res.path}"`);
        expect(`${res.path}: ${evaluated || none.has(res.path!)}`).toBe(`${res.path}: true`);
      }
      for (const x of r.coverage.evaluatedByNone) expect(x.type).toMatch(/^AWS::/);
      expect(renderHtml(r)).toContain('Evaluated by no rule');
    }
  });
});

describe('readable', () => {
  test('construct paths break only after a /', () => {
    const html = renderHtml(build('failing'));
    expect(html).toContain('<span class="path">Failing/<wbr>ShortLogGroup/<wbr>Resource</span>');
    expect(html).not.toMatch(/overflow-wrap:anywhere|word-break:break-word/);
  });

  test('long lists collapse into details, which open for printing', () => {
    const html = renderHtml(build('acknowledged'));
    expect(html).toMatch(/<details class="(more|bulk[^"]*)">/);
    expect(html).toContain("document.querySelectorAll('details:not(.bulk)')");
  });
});

test('the fixture files are the ones the review hashes', () => {
  for (const name of FIXTURE_NAMES) {
    const r = build(name);
    for (const f of r.review.files) expect(f.sha256).toBe(hashFile(path.join(FIXTURES, name, f.file))!.sha256);
    expect(fs.existsSync(path.join(FIXTURES, name, 'manifest.json'))).toBe(true);
  }
});
