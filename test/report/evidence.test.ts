import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { NagPack } from 'cdk-nag';
import * as logs from 'aws-cdk-lib/aws-logs';
import { collectComplianceEvidence, COMPLIANCE_EVIDENCE_FILE, ComplianceEvidence, RuleEvidence } from '../../lib/report/evidence';
import { compliancePacksOf } from '../../policies';
import { FIXTURE_NAMES } from './fixtures/apps';
import { synthesizeFixture } from './fixtures/generate';
import { extractControlIds } from '../../policies/compliance/citations';
import { FhirHipaaChecks } from '../../policies/compliance/fhir-hipaa-checks';
import { synthDate, TODAY_CONTEXT_KEY } from '../../policies/compliance/registered-apps';

describe('compliance evidence', () => {
  const app = new App();
  const stack = new Stack(app, 'Evidence');
  const short = new logs.LogGroup(stack, 'Short', { retention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY });
  new logs.LogGroup(stack, 'Long', { retention: logs.RetentionDays.SIX_YEARS, removalPolicy: RemovalPolicy.DESTROY });
  Validations.of(short).acknowledge({ id: 'FHIR.HIPAA-LogGroupRetention', reason: 'Short-lived scratch logs.' });
  Validations.of(stack).acknowledge({ id: 'FHIR.HIPAA-NoSuchFinding', reason: 'Matches nothing.' });
  const pack = new FhirHipaaChecks();
  const evidence = collectComplianceEvidence(app, [pack]);
  const rule = (id: string): RuleEvidence => evidence.packs[0].rules.find((r) => r.id === id)!;

  test('records every rule of the pack with its level, message and citations', () => {
    expect(evidence.packs.map((p) => p.name)).toEqual(['FHIR.HIPAA']);
    expect(evidence.packs[0].rules.map((r) => r.id)).toEqual([...FhirHipaaChecks.RULE_IDS]);
    expect(rule('FHIR.HIPAA-LogGroupRetention')).toMatchObject({ level: 'error', citations: ['164.312(b)', '164.316(b)(2)(i)'] });
  });

  test('records compliant, non-compliant and acknowledged results per resource; not-applicable only counted', () => {
    expect(rule('FHIR.HIPAA-LogGroupRetention').evaluations).toEqual([
      { resource: 'Evidence/Short/Resource', result: 'non-compliant', acknowledged: { id: 'FHIR.HIPAA-LogGroupRetention', reason: 'Short-lived scratch logs.', at: 'Evidence/Short' } },
      { resource: 'Evidence/Long/Resource', result: 'compliant' },
    ]);
    expect(rule('FHIR.HIPAA-LogGroupCMKEncryption').evaluations.map((e) => e.result)).toEqual(['non-compliant', 'non-compliant']);
    expect(rule('FHIR.HIPAA-HealthLakeCMKEncryption')).toMatchObject({ evaluations: [], notApplicable: 2 });
    expect(evidence.packs[0].violations).toBe(2);
  });

  test('lists resources and every acknowledgement with what it suppressed', () => {
    expect(evidence.resources).toEqual([
      { path: 'Evidence/Short/Resource', stack: 'Evidence', logicalId: expect.stringMatching(/^Short/), type: 'AWS::Logs::LogGroup' },
      { path: 'Evidence/Long/Resource', stack: 'Evidence', logicalId: expect.stringMatching(/^Long/), type: 'AWS::Logs::LogGroup' },
    ]);
    expect(evidence.acknowledgements).toEqual([
      expect.objectContaining({ id: 'FHIR.HIPAA-NoSuchFinding', at: 'Evidence', suppressed: [] }),
      expect.objectContaining({ id: 'FHIR.HIPAA-LogGroupRetention', at: 'Evidence/Short', reason: 'Short-lived scratch logs.', suppressed: ['Evidence/Short/Resource'] }),
    ]);
  });

  test('leaves the pack as it was: the observation is removed after the run', () => {
    expect(Object.prototype.hasOwnProperty.call(pack, 'applyRule')).toBe(false);
    expect(pack.validateScope(app).violations.map((v) => v.ruleName)).toEqual(['FHIR.HIPAA-LogGroupCMKEncryption']);
  });
});

describe('evidence recorded at synth from the gate itself', () => {
  const REPO_ROOT = path.resolve(__dirname, '..', '..');
  const comparable = (e: ComplianceEvidence): unknown => {
    const { generatedAt: _generatedAt, synthDate: _synthDate, ...rest } = e;
    return JSON.parse(JSON.stringify(rest).split(REPO_ROOT + path.sep).join(''));
  };

  test.each(FIXTURE_NAMES)('%s: each pack runs once per synth, and the evidence equals a separate run of fresh packs', (name) => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `ztf-evidence-${name}-`));
    const runs = jest.spyOn(NagPack.prototype, 'validateScope');
    try {
      synthesizeFixture(name, outdir);
      // Three packs, each run once per synth: the evidence plugin observed the gate's own
      // instances (the acknowledged app is synthesized twice: once to learn its findings).
      expect(runs.mock.calls.filter(([scope]) => App.isApp(scope)).length).toBe(name === 'acknowledged' ? 6 : 3);
    } finally {
      runs.mockRestore();
    }
    const written = JSON.parse(fs.readFileSync(path.join(outdir, COMPLIANCE_EVIDENCE_FILE), 'utf8')) as ComplianceEvidence;
    expect(written.error).toBeUndefined();
    expect(written.packs.map((p) => p.name)).toEqual(['HIPAA.Security', 'AwsSolutions', 'FHIR.HIPAA', 'AWS.ControlTower']);
    expect(written.crossChecks).toEqual([{ name: 'AWS.ControlTower', ran: true, version: expect.stringMatching(/^\d+\.\d+\.\d+$/) }]);
    expect(Object.keys(written.tools ?? {})).toEqual(expect.arrayContaining(['zero-trust-fhir', 'aws-cdk-lib', 'cdk-nag', 'Node.js', '@cdklabs/cdk-validator-cfnguard', 'cfn-guard']));
    // The same content as the recorded fixture (written when the plugin ran its own pack instances).
    const recorded = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', name, COMPLIANCE_EVIDENCE_FILE), 'utf8')) as ComplianceEvidence;
    expect(comparable(written)).toEqual(comparable(recorded));
  });

  test('the gate instances are the ones applyCompliancePacks returned; observing them leaves their results unchanged', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-evidence-gate-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'Gate');
    new logs.LogGroup(stack, 'Short', { retention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { applyCompliancePacks } = require('../../policies') as typeof import('../../policies');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { recordComplianceEvidence } = require('../../lib/report/evidence') as typeof import('../../lib/report/evidence');
    const gate = applyCompliancePacks(app);
    expect(compliancePacksOf(app)).toEqual(gate);
    const before = gate.map((p) => p.validateScope(app).violations.map((v) => [v.ruleName, v.violatingResources.length]));
    recordComplianceEvidence(app);
    expect(gate.map((p) => p.validateScope(app).violations.map((v) => [v.ruleName, v.violatingResources.length]))).toEqual(before);
  });
});

describe('the synth date in the evidence', () => {
  test('is the zeroTrustFhir:today context value the rules judge dates by, else the UTC date', () => {
    const pinned = new App({ context: { [TODAY_CONTEXT_KEY]: '2030-05-06' } });
    new Stack(pinned, 'Pinned');
    expect(collectComplianceEvidence(pinned, []).synthDate).toBe('2030-05-06');
    const unpinned = new App();
    new Stack(unpinned, 'Unpinned');
    expect(collectComplianceEvidence(unpinned, []).synthDate).toBe(synthDate(unpinned));
    expect(collectComplianceEvidence(unpinned, []).synthDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  test('is left out, not thrown, when the context value is not a date', () => {
    const bad = new App({ context: { [TODAY_CONTEXT_KEY]: 'tomorrow' } });
    new Stack(bad, 'Bad');
    const evidence = collectComplianceEvidence(bad, []);
    expect(evidence.error).toBeUndefined();
    expect(evidence.synthDate).toBeUndefined();
  });
});

describe('extractControlIds', () => {
  test.each([
    ['The CloudWatch Log Group is not encrypted with an AWS KMS key - (Control IDs: 164.312(a)(2)(iv), 164.312(e)(2)(ii)).', ['164.312(a)(2)(iv)', '164.312(e)(2)(ii)']],
    ['The Lambda function is not configured with a dead-letter configuration - (Control ID: 164.312(b)).', ['164.312(b)']],
    ['Set `x` (the kit does). (Control IDs: 164.312(b), 164.316(b)(2)(i))', ['164.312(b)', '164.316(b)(2)(i)']],
    ['The REST API does not have request validation enabled.', []],
  ])('%s', (message, expected) => {
    expect(extractControlIds(message)).toEqual(expected);
  });
});
