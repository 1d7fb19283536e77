import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseReportArgs, main as reportMain } from '../../bin/report';
import { buildComplianceReport, BuildReportOptions, exitCodeFor } from '../../lib/report/build';
import { readCloudAssembly, ResourceInfo } from '../../lib/report/cloud-assembly';
import { buildDataFlow } from '../../lib/report/data-flow';
import { StackIndex } from '../../lib/report/inventory';
import { REPORT_SECTIONS, renderHtml } from '../../lib/report/html';
import { MARKDOWN_LIMIT, renderMarkdown } from '../../lib/report/markdown';
import { ComplianceReport, MatrixRow } from '../../lib/report/model';
import { BUNDLED_APP_REGISTRY_METADATA_KEY } from '../../policies/app-registry';
import { APP_MONITORS_METADATA_KEY } from '../../lib/app-monitoring';
import { BUNDLED_LABEL_POLICY_METADATA_KEY } from '../../policies/label-policy';
import { testApp } from '../helpers/registry';
import { FixtureName } from './fixtures/apps';

/**
 * Report building from recorded `cdk.out` fixtures (see fixtures/apps.ts and fixtures/generate.ts):
 * a passing app, a failing production app, and an app whose findings are all acknowledged.
 */
const FIXTURES = path.join(__dirname, 'fixtures');
const OPTIONS: BuildReportOptions = { today: new Date('2026-12-01T00:00:00Z'), generatedAt: new Date('2026-12-01T12:00:00Z') };

const build = (name: FixtureName, options: BuildReportOptions = {}): ComplianceReport =>
  buildComplianceReport(readCloudAssembly(path.join(FIXTURES, name)), { ...OPTIONS, ...options });

const passing = build('passing');
const failing = build('failing');
const acknowledged = build('acknowledged');

const row = (r: ComplianceReport, citation: string): MatrixRow => r.hipaaMatrix.find((m) => m.citation === citation)!;
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-report-'));

describe('passing app', () => {
  test('verdict pass, nothing unacknowledged, nothing acknowledged, every input read', () => {
    expect(passing.summary.verdict).toBe('pass');
    expect(passing.summary.counts.violations).toEqual({ fatal: 0, error: 0, warning: 0, info: 0 });
    expect(passing.findings).toEqual([]);
    // Only the gate's own record for outside checkers: the Guard Rules Registry's retention list omits 2192.
    expect(passing.acknowledgements).toEqual([expect.objectContaining({ pack: 'GuardRulesRegistry', ruleId: 'CW_LOGGROUP_RETENTION_PERIOD_CHECK', status: 'outside', derived: { limitation: 'CW_LOGGROUP_RETENTION_PERIOD_CHECK' } })]);
    expect(passing.summary.counts.acknowledged).toBe(0);
    expect(passing.sources).toMatchObject({ manifest: true, validationReport: true, evidence: true });
    expect(passing.notices).toEqual([]);
    expect(exitCodeFor(passing, 'warning')).toBe(0);
  });

  test('summary names the stack, its deployment environment and each pack with what it evaluated', () => {
    expect(passing.summary.stacks).toEqual([expect.objectContaining({ id: 'Passing', deploymentEnvironment: 'sandbox', environment: 'aws://unknown-account/unknown-region' })]);
    expect(passing.summary.environments).toEqual(['sandbox']);
    expect(passing.summary.counts.byPack.map((p) => p.pack)).toEqual(['HIPAA.Security', 'AwsSolutions', 'FHIR.HIPAA', 'AWS.ControlTower']);
    for (const p of passing.summary.counts.byPack) {
      expect(p.conclusion).toBe('success');
      expect(p.rulesApplied).toBeGreaterThan(0);
      expect(p.compliant).toBeGreaterThan(0);
    }
  });

  test('matrix: encryption and retention are met on the named resources; unrelated safeguards are gaps', () => {
    const encryption = row(passing, '164.312(a)(2)(iv)');
    expect(encryption.status).toBe('met');
    expect(encryption.rules.find((r) => r.ruleId === 'FHIR.HIPAA-LogGroupCMKEncryption')).toMatchObject({ status: 'met', met: ['Passing/AuditLogGroup/Resource'] });
    // An administrative safeguard whose configuration passed is technical evidence, not met.
    expect(row(passing, '164.316(b)(2)(i)').status).toBe('technical-evidence');
    // Cognito rules found nothing to evaluate in this app: visible as a gap, not as "met".
    expect(row(passing, '164.312(a)(2)(iii)').status).toBe('not-evaluated');
    expect(passing.hipaaMatrix.every((m) => m.rules.length > 0 || m.status === 'not-covered')).toBe(true);
  });

  test('inventory: the key protects the log group, which keeps six years', () => {
    const [key] = passing.inventory.kmsKeys;
    expect(key).toMatchObject({ rotation: true, deletionPolicy: 'Retain', aliases: ['alias/fixture/logs'] });
    expect(key.protects).toEqual([expect.objectContaining({ path: 'Passing/AuditLogGroup/Resource', type: 'AWS::Logs::LogGroup', properties: ['KmsKeyId'] })]);
    expect(passing.inventory.logGroups).toEqual([expect.objectContaining({ retentionDays: 2192, meetsSixYears: true, kmsKey: 'Passing/Logs/Resource' })]);
    expect(passing.inventory.publicRoutes).toEqual([]);
  });

  test('data flow: only the client exists; every other node is drawn as absent', () => {
    const present = passing.dataFlow.nodes.filter((n) => n.present).map((n) => n.id);
    expect(present).toEqual(['client']);
    expect(passing.dataFlow.edges.every((e) => !e.verified)).toBe(true);
    expect(renderHtml(passing)).toMatch(/data-node="healthlake" data-present="false"/);
  });
});

describe('failing app (production)', () => {
  test('verdict fail with counts by severity; --fail-on error and warning exit 1', () => {
    expect(failing.summary.verdict).toBe('fail');
    // Two refused acknowledgements: a non-waivable rule in production, and one with no reason.
    expect(failing.summary.counts.violations.fatal).toBe(2);
    expect(failing.summary.counts.violations.error).toBeGreaterThanOrEqual(5);
    expect(failing.summary.counts.byPack.filter((p) => p.conclusion === 'failure').map((p) => p.pack).sort()).toEqual(['AWS.ControlTower', 'AwsSolutions', 'FHIR.HIPAA', 'HIPAA.Security']);
    expect(exitCodeFor(failing, 'error')).toBe(1);
    expect(exitCodeFor(failing, 'warning')).toBe(1);
    expect(exitCodeFor(failing, 'none')).toBe(0);
  });

  test('each finding names rule, resource, message and the fix, with the acknowledgement alternative', () => {
    const cmk = failing.findings.find((f) => f.ruleId === 'FHIR.HIPAA-LogGroupCMKEncryption')!;
    expect(cmk).toMatchObject({
      pack: 'FHIR.HIPAA',
      severity: 'error',
      resource: expect.objectContaining({ path: 'Failing/ShortLogGroup/Resource', type: 'AWS::Logs::LogGroup', logicalId: expect.stringMatching(/^ShortLogGroup/) }),
      citations: ['164.312(a)(2)(iv)', '164.312(e)(2)(ii)'],
    });
    expect(cmk.message).toMatch(/not encrypted with a customer-managed KMS key/);
    expect(cmk.fix).toMatch(/^Set `encryptionKey`/);
    expect(cmk.acknowledge).toBe("acknowledge(<Failing/ShortLogGroup/Resource>, 'FHIR.HIPAA-LogGroupCMKEncryption', '<how the control is met another way>')");
    const granular = failing.findings.filter((f) => f.ruleId.startsWith('FHIR.HIPAA-APIGWGatewayResponseHSTS['));
    expect(granular).toHaveLength(2);
    const cdkNag = failing.findings.find((f) => f.ruleId === 'HIPAA.Security-CloudWatchLogGroupEncrypted')!;
    expect(cdkNag.citations).toEqual(['164.312(a)(2)(iv)', '164.312(e)(2)(ii)']);
    expect(cdkNag.fix.length).toBeGreaterThan(20);
  });

  test('the refused acknowledgement of a non-waivable rule is a fatal finding without an acknowledgement hint', () => {
    const fatal = failing.findings.find((f) => f.severity === 'fatal' && f.ruleId === 'FHIR.HIPAA-APIGWMethodAuthorization')!;
    expect(fatal).toMatchObject({ resource: expect.objectContaining({ path: 'Failing/Api/Default/r4/Patient/GET' }) });
    expect(fatal.acknowledge).toBeUndefined();
    expect(fatal.fix).toMatch(/remove it and fix the finding: this rule cannot be waived in production/);
    expect(failing.acknowledgements.find((a) => a.ruleId === 'FHIR.HIPAA-APIGWMethodAuthorization')).toMatchObject({ refused: true, status: 'refused', appliesTo: [] });
    // The violation it tried to cover stands, as a finding of its own.
    expect(failing.findings.find((f) => f.severity === 'error' && f.ruleId === 'FHIR.HIPAA-APIGWMethodAuthorization')).toMatchObject({ resource: expect.objectContaining({ path: 'Failing/Api/Default/r4/Patient/GET/Resource' }) });
  });

  test('an acknowledgement made with Validations directly with an empty reason is refused, shown as such, and covers nothing', () => {
    const blank = failing.acknowledgements.find((a) => a.ruleId === 'HIPAA.Security-CloudWatchLogGroupRetentionPeriod')!;
    expect(blank).toMatchObject({ reason: '', status: 'refused', refused: true, appliesTo: [] });
    expect(failing.findings.find((f) => f.severity === 'fatal' && f.ruleId === 'HIPAA.Security-CloudWatchLogGroupRetentionPeriod')?.message).toMatch(/has no reason/);
    const html = renderHtml(failing);
    expect(html).toContain('(no reason given: the gate refuses it)');
    expect(html).not.toMatch(/>undefined</);
    expect(renderMarkdown(failing)).toContain('❌ _no reason given_');
  });

  test('acknowledgements: rule, resource, reason and what it covers', () => {
    expect(failing.acknowledgements.find((a) => a.ruleId === 'FHIR.HIPAA-LogGroupRetention')).toEqual(expect.objectContaining({
      pack: 'FHIR.HIPAA',
      key: 'Annotation::FHIR.HIPAA-LogGroupRetention',
      resource: { path: 'Failing/ShortLogGroup', stack: 'Failing', logicalId: expect.stringMatching(/^ShortLogGroup/), type: 'AWS::Logs::LogGroup' },
      reason: 'Scratch log group; events are exported nightly & kept six years elsewhere.',
      appliesTo: ['Failing/ShortLogGroup/Resource'],
      matched: true,
      refused: false,
      rule: expect.objectContaining({ citations: ['164.312(b)', '164.316(b)(2)(i)'] }),
    }));
  });

  test('matrix: violated and acknowledged citations name the rules, resources and reasons; a refused acknowledgement counts as violated', () => {
    const encryption = row(failing, '164.312(a)(2)(iv)');
    expect(encryption.status).toBe('violated');
    expect(encryption.rules.filter((r) => r.status === 'violated').map((r) => r.ruleId).sort()).toEqual(['FHIR.HIPAA-LogGroupCMKEncryption', 'HIPAA.Security-CloudWatchLogGroupEncrypted']);
    const retention = row(failing, '164.316(b)(2)(i)');
    expect(retention.status).toBe('acknowledged');
    expect(retention.rules[0].acknowledged).toEqual([{ resource: 'Failing/ShortLogGroup/Resource', id: 'FHIR.HIPAA-LogGroupRetention', reason: 'Scratch log group; events are exported nightly & kept six years elsewhere.', acknowledgedAt: 'Failing/ShortLogGroup' }]);
    const auth = row(failing, '164.312(d)').rules.find((r) => r.ruleId === 'FHIR.HIPAA-APIGWMethodAuthorization')!;
    expect(auth).toMatchObject({ status: 'violated', violated: ['Failing/Api/Default/r4/Patient/GET/Resource'], met: ['Failing/Api/Default/r4/metadata/GET/Resource'] });
  });

  test('public routes: the marked route is allowed with its reason; the unmarked one is not', () => {
    expect(failing.inventory.publicRoutes.map((r) => [r.method, r.path, r.allowed, r.reason ?? null])).toEqual([
      ['GET', '/r4/Patient', false, null],
      ['GET', '/r4/metadata', true, 'The capability statement is read before a client holds a token <SMART>.'],
    ]);
  });

  test('data flow: the API exists, the WAF in front of it does not', () => {
    const node = (id: string) => failing.dataFlow.nodes.find((n) => n.id === id)!;
    expect(node('api')).toMatchObject({ present: true, resources: [expect.objectContaining({ type: 'AWS::ApiGateway::RestApi' })] });
    expect(node('waf').present).toBe(false);
    expect(failing.dataFlow.edges.find((e) => e.from === 'waf' && e.to === 'api')).toMatchObject({ present: false, verified: false });
  });

  test('HTML: every section, findings marked, and every value from templates and reasons escaped', () => {
    const html = renderHtml(failing);
    for (const s of REPORT_SECTIONS) expect(html).toContain(`<section id="${s.id}"`);
    expect(html).toContain('Demo route &lt;b&gt;left open&lt;/b&gt;');
    expect(html).toContain('a token &lt;SMART&gt;.');
    expect(html).not.toMatch(/<b>left open|<SMART>|<script>alert/);
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain('class="badge b-fatal"');
  });

  test('Markdown: escaped for a PR comment, code spans kept, under the size limit', () => {
    const md = renderMarkdown(failing);
    expect(md).toMatch(/^# Compliance report/);
    for (const s of REPORT_SECTIONS) expect(md).toContain(`. ${s.title}`);
    expect(md).toContain('Demo route &lt;b&gt;left open&lt;/b&gt;');
    expect(md).toContain('`encryptionKey`');
    expect(md).not.toMatch(/<b>|<SMART>/);
    expect(md.length).toBeLessThan(MARKDOWN_LIMIT);
  });
});

describe('app with acknowledged findings', () => {
  test('passes with every finding acknowledged; each acknowledgement carries its reason and covers a resource', () => {
    expect(acknowledged.summary.verdict).toBe('pass');
    expect(acknowledged.findings).toEqual([]);
    expect(acknowledged.acknowledgements.length).toBeGreaterThanOrEqual(9);
    for (const a of acknowledged.acknowledgements) {
      expect(a.reason).toContain(`Fixture: ${a.ruleId} accepted`);
      expect(a.matched).toBe(true);
      expect(a.appliesTo.length).toBeGreaterThan(0);
    }
    expect(acknowledged.summary.counts.acknowledged).toBe(acknowledged.acknowledgements.reduce((n, a) => n + a.appliesTo.length, 0));
    expect(exitCodeFor(acknowledged, 'warning')).toBe(0);
  });

  test('matrix shows acknowledged safeguards with the reasons', () => {
    const encryption = row(acknowledged, '164.312(a)(2)(iv)');
    expect(encryption.status).toBe('acknowledged');
    expect(encryption.rules.flatMap((r) => r.acknowledged.map((a) => a.reason)).every((x) => x.includes('"Security"'))).toBe(true);
  });

  test('HTML and Markdown show every reason, escaped', () => {
    const html = renderHtml(acknowledged);
    const md = renderMarkdown(acknowledged);
    for (const a of acknowledged.acknowledgements) {
      const escaped = `Fixture: ${a.ruleId.replace(/&/g, '&amp;')} accepted for this staging sandbox &lt;i&gt;only&lt;/i&gt; &amp; reviewed by &quot;Security&quot;.`;
      expect(html).toContain(escaped);
    }
    expect(html).not.toContain('<i>only</i>');
    expect(md).toContain('&lt;i&gt;only&lt;/i&gt; &amp; reviewed by &quot;Security&quot;');
  });
});

describe('inputs that are missing or wrong', () => {
  test('no cloud assembly: the report is still written, says so, and fails any gate', () => {
    const r = buildComplianceReport(readCloudAssembly(path.join(tmp(), 'missing')), OPTIONS);
    expect(r.summary.verdict).toBe('no-assembly');
    expect(exitCodeFor(r, 'error')).toBe(1);
    expect(renderHtml(r)).toContain('NO ASSEMBLY');
    expect(renderMarkdown(r)).toContain('NO ASSEMBLY');
  });

  test('evidence from another synth is ignored, with a notice; the matrix then shows only what failed', () => {
    const dir = tmp();
    fs.cpSync(path.join(FIXTURES, 'failing'), dir, { recursive: true });
    const evidenceFile = path.join(dir, 'compliance-evidence.json');
    const evidence = JSON.parse(fs.readFileSync(evidenceFile, 'utf8'));
    evidence.resources.pop();
    fs.writeFileSync(evidenceFile, JSON.stringify(evidence));
    const r = buildComplianceReport(readCloudAssembly(dir), OPTIONS);
    expect(r.sources.evidence).toBe(false);
    expect(r.notices.join('\n')).toMatch(/does not match the templates/);
    expect(row(r, '164.312(a)(2)(iv)').status).toBe('violated');
    expect(row(r, '164.312(a)(2)(iii)').status).toBe('unknown');
    expect(r.summary.verdict).toBe('fail');
  });

  /** A team's registry (one app of its own) and the kit's label policy, as FhirGateway records them. */
  const TEAM_REGISTRY = { source: 'config/apps.json', document: { apps: [testApp({ id: 'team-portal', name: 'Team Portal' })] } };
  const TEAM_LABELS = { source: 'config/labels.json', document: JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'policies', 'labels.json'), 'utf8')) };

  /** A copy of the passing fixture whose proxy bundled the given documents (construct metadata, as FhirGateway writes it). */
  function bundled(documents: { registry?: object; labels?: object }): string {
    const dir = tmp();
    fs.cpSync(path.join(FIXTURES, 'passing'), dir, { recursive: true });
    const metadataFile = path.join(dir, 'Passing.metadata.json');
    const metadata = JSON.parse(fs.readFileSync(metadataFile, 'utf8'));
    metadata['/Passing/Gateway/Proxy'] = [
      ...(documents.registry ? [{ type: BUNDLED_APP_REGISTRY_METADATA_KEY, data: documents.registry }] : []),
      ...(documents.labels ? [{ type: BUNDLED_LABEL_POLICY_METADATA_KEY, data: documents.labels }] : []),
    ];
    fs.writeFileSync(metadataFile, JSON.stringify(metadata));
    return dir;
  }

  test("apps: the registry the app bundled, not the kit's sample, with assessment expiry judged on the report date", () => {
    const dir = bundled({ registry: TEAM_REGISTRY });
    const r = buildComplianceReport(readCloudAssembly(dir), OPTIONS);
    expect(r.apps.apps.map((a) => a.id)).toEqual(['team-portal']);
    expect(r.apps.registryFile).toBe('config/apps.json (bundled in Passing/Gateway/Proxy)');
    expect(r.sources.appRegistry).toBe('config/apps.json (bundled in Passing/Gateway/Proxy)');
    expect(r.apps.apps.every((a) => !a.assessment.expired)).toBe(true);
    const later = buildComplianceReport(readCloudAssembly(dir), { ...OPTIONS, today: new Date('2031-01-01T00:00:00Z') });
    expect(later.apps.apps.every((a) => a.assessment.expired && a.assessment.daysToExpiry < 0)).toBe(true);
    expect(renderHtml(r)).toContain('Team Portal');
    expect(renderMarkdown(r)).toContain('team-portal');
  });

  test('apps: what watches each app (AppMonitoring metadata); an app nothing watches is flagged', () => {
    const dir = bundled({ registry: { source: 'config/apps.json', document: { apps: [testApp({ id: 'team-portal', name: 'Team Portal' }), testApp({ id: 'team-unwatched', name: 'Unwatched', identifier: { system: 'https://fhir.example.org/sid/smart-app', value: 'unwatched' } })] } } });
    const metadataFile = path.join(dir, 'Passing.metadata.json');
    const metadata = JSON.parse(fs.readFileSync(metadataFile, 'utf8'));
    // Recorded on a construct of the fixture's tree (the reader keeps paths the tree has).
    metadata['/Passing/Gateway/Proxy'] = [...metadata['/Passing/Gateway/Proxy'], {
      type: APP_MONITORS_METADATA_KEY,
      data: { version: 1, apps: [{ appId: 'team-portal', monitors: ['dashboard row', 'Cognito drift guard'], alarms: [
        { kind: 'distinct-patients', condition: 'Sum of DistinctPatients per 1 hour > 5', path: 'Passing/Monitoring/Portal/DistinctPatients' },
        { kind: 'scope-denials', condition: 'Sum of Denials (Reason=scope) >= 20 in 3 of 3 periods of 5 minutes', path: 'Passing/Monitoring/Portal/ScopeDenials' },
      ] }] },
    }];
    fs.writeFileSync(metadataFile, JSON.stringify(metadata));
    const r = buildComplianceReport(readCloudAssembly(dir), OPTIONS);
    const byId = new Map(r.apps.apps.map((a) => [a.id, a]));
    expect(r.apps.error).toBeUndefined();
    expect(byId.get('team-portal')?.watchedBy?.alarms.map((a) => a.kind)).toEqual(['distinct-patients', 'scope-denials']);
    expect(byId.get('team-unwatched')?.watchedBy).toEqual({ alarms: [], monitors: [] });
    const html = renderHtml(r);
    expect(html).toContain('Sum of DistinctPatients per 1 hour &gt; 5');
    expect(html).toContain('no alarm');
    expect(renderMarkdown(r)).toContain('**no alarm**');
    // Without any monitoring recorded, no column at all (nothing claimed).
    const plain = buildComplianceReport(readCloudAssembly(bundled({ registry: TEAM_REGISTRY })), OPTIONS);
    expect(plain.apps.apps[0].watchedBy).toBeUndefined();
    expect(renderHtml(plain)).not.toContain('Watched by');
  });

  test('apps: the label policy the app bundled; none bundled is reported as such', () => {
    const none = buildComplianceReport(readCloudAssembly(bundled({ registry: TEAM_REGISTRY })), OPTIONS);
    expect(none.apps.labelPolicy).toMatchObject({ configured: false });
    expect(renderHtml(none)).toContain('no label policy configured');
    const some = buildComplianceReport(readCloudAssembly(bundled({ registry: TEAM_REGISTRY, labels: TEAM_LABELS })), OPTIONS);
    expect(some.apps.labelPolicy).toMatchObject({ file: 'config/labels.json (bundled in Passing/Gateway/Proxy)', configured: true, content: { defaultConfidentiality: 'N', labels: expect.arrayContaining([expect.objectContaining({ code: 'SUD', noConsent: 'deny' })]) } });
    expect(some.apps.labelPolicy.error).toBeUndefined();
    expect(renderHtml(some)).toContain('Consent and security labels');
    const invalid = buildComplianceReport(readCloudAssembly(bundled({ registry: { source: 'config/apps.json', document: { apps: [{ id: 1 }] } } })), OPTIONS);
    expect(invalid.apps.apps).toEqual([]);
    expect(invalid.apps.error).toMatch(/^config\/apps\.json: /);
  });

  test('apps: a registry file given to the report is shown instead, with labels.json beside it', () => {
    const dir = tmp();
    fs.copyFileSync(path.join(__dirname, '..', '..', 'policies', 'apps.json'), path.join(dir, 'apps.json'));
    fs.copyFileSync(path.join(__dirname, '..', '..', 'policies', 'apps.schema.json'), path.join(dir, 'apps.schema.json'));
    const none = build('passing', { registryFile: path.join(dir, 'apps.json') });
    expect(none.apps.apps.length).toBeGreaterThan(0);
    expect(none.apps.labelPolicy).toMatchObject({ configured: false });
    fs.copyFileSync(path.join(__dirname, '..', '..', 'policies', 'labels.json'), path.join(dir, 'labels.json'));
    const some = build('passing', { registryFile: path.join(dir, 'apps.json') });
    expect(some.apps.labelPolicy).toMatchObject({ configured: true, content: { defaultConfidentiality: 'N' } });
  });

  test('apps: assessment expiry defaults to the synth date recorded in the evidence, the date the gate judged', () => {
    const dir = bundled({ registry: TEAM_REGISTRY });
    const evidenceFile = path.join(dir, 'compliance-evidence.json');
    const evidence = JSON.parse(fs.readFileSync(evidenceFile, 'utf8'));
    fs.writeFileSync(evidenceFile, JSON.stringify({ ...evidence, synthDate: '2031-01-01' }));
    const { today: _omitted, ...noToday } = OPTIONS;
    const r = buildComplianceReport(readCloudAssembly(dir), noToday);
    expect(r.sources.evidence).toBe(true);
    expect(r.apps.asOf).toBe('2031-01-01');
    expect(r.apps.apps.length).toBeGreaterThan(0);
    expect(r.apps.apps.every((a) => a.assessment.expired && a.assessment.daysToExpiry < 0)).toBe(true);
    // An explicit date (npm run report -- --today) still wins.
    expect(buildComplianceReport(readCloudAssembly(dir), OPTIONS).apps.asOf).toBe('2026-12-01');
  });

  test('an invalid label policy is validated (loadLabelPolicy) and reported as the section error, not shown as a policy', () => {
    const dir = tmp();
    fs.copyFileSync(path.join(__dirname, '..', '..', 'policies', 'apps.json'), path.join(dir, 'apps.json'));
    fs.writeFileSync(path.join(dir, 'labels.json'), JSON.stringify({ labels: [{ code: 'R', unlockedBy: ['<grant>'] }] }));
    const bad = build('passing', { registryFile: path.join(dir, 'apps.json') });
    expect(bad.apps.labelPolicy.configured).toBe(true);
    expect(bad.apps.labelPolicy.content).toBeUndefined();
    expect(bad.apps.labelPolicy.error).toMatch(/labels\.json: field "defaultConfidentiality": is required/);
    expect(bad.apps.labelPolicy.error).toMatch(/labels\.json: field "labels\[0\]\.unlockedBy": unknown field/);
    expect(renderHtml(bad)).not.toContain('Consent and security labels');
    expect(renderMarkdown(bad)).toContain('field &quot;defaultConfidentiality&quot;: is required');
    expect(renderMarkdown(bad)).not.toContain('| Label | Kind | Grant needed');
    // The error text is escaped in the HTML like every other value.
    fs.writeFileSync(path.join(dir, 'labels.json'), '{"labels": [<grant>]}');
    const unparsable = build('passing', { registryFile: path.join(dir, 'apps.json') });
    expect(unparsable.apps.labelPolicy.error).toMatch(/labels\.json: is not valid JSON/);
    expect(renderHtml(unparsable)).toContain('&lt;grant&gt;');
  });

  test("an app that bundles no registry or label policy shows none, never the kit's sample files", () => {
    expect(passing.apps.apps).toEqual([]);
    expect(passing.apps.error).toBeUndefined();
    expect(passing.sources.appRegistry).toBe('none: the synthesized app bundles no app registry');
    expect(passing.sources.labelPolicy).toBe('none: the synthesized app bundles no label policy');
    expect(passing.apps.labelPolicy).toMatchObject({ configured: false });
  });

  test("acknowledgements CDK applied itself (another plugin's findings) are matched from the validation report", () => {
    const dir = tmp();
    fs.cpSync(path.join(FIXTURES, 'passing'), dir, { recursive: true });
    const metadataFile = path.join(dir, 'Passing.metadata.json');
    const metadata = JSON.parse(fs.readFileSync(metadataFile, 'utf8'));
    metadata['/Passing'].push({ type: 'aws:cdk:acknowledged-rules', data: { 'CloudFormation-Validate::W3010': 'Literal AZs are expected <here>.' } });
    fs.writeFileSync(metadataFile, JSON.stringify(metadata));
    const suppressed = { ruleName: 'W3010', description: 'AZs should not be hardcoded', severity: 'warning', violatingConstructs: [{ constructPath: 'Passing/AuditLogGroup/Resource' }], acknowledgedId: 'CloudFormation-Validate::W3010', reason: 'Literal AZs are expected <here>.', acknowledgedAt: 'Passing' };
    fs.writeFileSync(path.join(dir, 'validation-report.json'), JSON.stringify({ version: '55.0.0', title: 'Validation Report', pluginReports: [{ pluginName: 'CloudFormation Validate', conclusion: 'success', violations: [], suppressedViolations: [suppressed] }] }));
    const r = buildComplianceReport(readCloudAssembly(dir), OPTIONS);
    expect(r.acknowledgements.filter((a) => a.pack !== 'GuardRulesRegistry')).toEqual([expect.objectContaining({ pack: 'CloudFormation Validate', ruleId: 'W3010', reason: 'Literal AZs are expected <here>.', appliesTo: ['Passing/AuditLogGroup/Resource'], matched: true, status: 'in-use' })]);
    expect(r.summary.counts.byPack.find((p) => p.pack === 'CloudFormation Validate')).toMatchObject({ conclusion: 'success', acknowledged: 1 });
    expect(r.summary.verdict).toBe('pass');
  });

  test('an invalid registry is reported in the apps section, not thrown', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'apps.json'), '{"apps": [{"id": 1}]}');
    const r = build('passing', { registryFile: path.join(dir, 'apps.json') });
    expect(r.apps.apps).toEqual([]);
    expect(r.apps.error).toMatch(/apps\.json/);
  });
});

describe('data flow: the proxy is a function whose role can call HealthLake', () => {
  const fn = (id: string, role: string): ResourceInfo => ({ stack: 'S', logicalId: id, type: 'AWS::Lambda::Function', path: `S/${id}/Resource`, properties: { Role: { 'Fn::GetAtt': [role, 'Arn'] } } });
  const role = (id: string, statement: Record<string, unknown>): ResourceInfo => ({
    stack: 'S', logicalId: id, type: 'AWS::IAM::Role', path: `S/${id}/Resource`,
    properties: { Policies: [{ PolicyName: 'p', PolicyDocument: { Version: '2012-10-17', Statement: [statement] } }] },
  });

  test('a wildcard (health*:*, *) or NotAction grant counts, as in the FHIR.HIPAA rules; other grants and Deny do not', () => {
    const resources = [
      fn('Wildcard', 'WildcardRole'), role('WildcardRole', { Effect: 'Allow', Action: 'health*:*', Resource: '*' }),
      fn('Star', 'StarRole'), role('StarRole', { Effect: 'Allow', Action: ['s3:GetObject', '*'], Resource: '*' }),
      fn('NotAction', 'NotActionRole'), role('NotActionRole', { Effect: 'Allow', NotAction: ['s3:*'], Resource: '*' }),
      fn('S3Only', 'S3OnlyRole'), role('S3OnlyRole', { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }),
      fn('Denied', 'DeniedRole'), role('DeniedRole', { Effect: 'Deny', Action: 'healthlake:*', Resource: '*' }),
      fn('NotHealthLake', 'NotHealthLakeRole'), role('NotHealthLakeRole', { Effect: 'Allow', NotAction: ['healthlake:*'], Resource: '*' }),
    ];
    const flow = buildDataFlow(new StackIndex(resources));
    const proxy = flow.nodes.find((n) => n.id === 'proxy')!;
    expect(proxy.present).toBe(true);
    expect(proxy.resources.map((r) => r.path).sort()).toEqual(['S/NotAction/Resource', 'S/Star/Resource', 'S/Wildcard/Resource']);
  });
});

describe('npm run report', () => {
  test('parses its arguments and rejects unknown ones', () => {
    expect(parseReportArgs(['--fail-on', 'warning', '--cdk-out=out', '--today', '2027-01-02'])).toEqual({ cdkOut: 'out', outDir: undefined, failOn: 'warning', today: new Date('2027-01-02T00:00:00Z') });
    expect(() => parseReportArgs(['--fail-on', 'fatal'])).toThrow(/error, warning or none/);
    expect(() => parseReportArgs(['--bogus'])).toThrow(/unknown argument/);
  });

  test('writes the three formats and exits 1 on --fail-on error when findings exist, 0 otherwise, 2 on bad usage', () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const out = tmp();
      expect(reportMain(['--cdk-out', path.join(FIXTURES, 'failing'), '--out-dir', out, '--fail-on', 'error'])).toBe(1);
      for (const f of ['compliance-report.html', 'compliance-report.md', 'compliance-report.json']) expect(fs.statSync(path.join(out, f)).size).toBeGreaterThan(1000);
      const json = JSON.parse(fs.readFileSync(path.join(out, 'compliance-report.json'), 'utf8')) as ComplianceReport;
      expect(Object.keys(json)).toEqual(['schemaVersion', 'title', 'generatedAt', 'review', 'sources', 'notices', 'summary', 'scope', 'hipaaMatrix', 'findings', 'acknowledgements', 'coverage', 'apps', 'apiVersions', 'environments', 'dataFlow', 'inventory', 'signOff']);
      expect(json.summary.verdict).toBe('fail');
      expect(reportMain(['--cdk-out', path.join(FIXTURES, 'acknowledged'), '--out-dir', out, '--fail-on', 'warning'])).toBe(0);
      expect(reportMain(['--cdk-out', path.join(FIXTURES, 'failing'), '--out-dir', out])).toBe(0);
      expect(reportMain(['--fail-on'])).toBe(2);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });
});

describe('the label policy in the report', () => {
  test('states, per label, the grant, self-access and the default without a Consent', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { labelDefaults } = require('../../lib/report/label-defaults') as typeof import('../../lib/report/label-defaults');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { loadLabelPolicy, parseLabelPolicy, LabelPolicyError } = require('../../policies/label-policy') as typeof import('../../policies/label-policy');
    const policy = loadLabelPolicy();
    const d = labelDefaults(policy);
    expect(d.rows.map((r) => r.code)).toEqual(policy.labels.map((l: { code: string }) => l.code));
    const sud = d.rows.find((r) => r.code === 'SUD');
    expect(sud?.withoutConsent).toMatch(/withheld \(opt-in/);
    expect(d.consentCacheSeconds).toBeLessThanOrEqual(60);
    // A document of another shape never reaches labelDefaults: validation rejects it first.
    expect(() => parseLabelPolicy({ not: 'a policy' })).toThrow(LabelPolicyError);
  });
});
