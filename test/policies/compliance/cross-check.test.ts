import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnParameter, NestedStack, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { FhirKeys } from '../../../lib/fhir-keys';
import { acknowledge, applyCompliancePacks, gateSetupOf } from '../../../policies';
import { CONTROL_TOWER_PACK_NAME, controlTowerRules, controlTowerUnavailable, lastControlTowerRun } from '../../../policies/compliance/control-tower';
import { RULE_EQUIVALENCES } from '../../../policies/compliance/equivalent-rules';
import { DERIVED_ACKNOWLEDGEMENT_METADATA_KEY } from '../../../policies/compliance/shared-acknowledgements';

/**
 * The AWS-authored cross-check (AWS Control Tower proactive controls through
 * @cdklabs/cdk-validator-cfnguard) and the decisions the gate shares with AWS's Guard rules.
 */
interface Report { pluginReports: Array<{ pluginName: string; violations?: Array<{ ruleName: string; violatingConstructs?: Array<{ constructPath?: string }> }>; suppressedViolations?: Array<{ ruleName: string; reason?: string; violatingConstructs?: Array<{ constructPath?: string }> }> }> }

function synth(build: (stack: Stack) => void): { ok: boolean; dir: string; report: Report; template: Record<string, { Type: string; Metadata?: Record<string, unknown>; Properties?: Record<string, unknown> }> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-ct-'));
  const app = new App({ outdir: dir, context: { 'aws:cdk:bundling-stacks': [], '@aws-cdk/core:validateAgainstDefaultRules': false } });
  const stack = new Stack(app, 'Cross');
  build(stack);
  applyCompliancePacks(app, { environment: 'sandbox' });
  let ok = true;
  try {
    app.synth();
  } catch {
    ok = false;
  }
  const report = fs.existsSync(path.join(dir, 'validation-report.json')) ? JSON.parse(fs.readFileSync(path.join(dir, 'validation-report.json'), 'utf8')) as Report : { pluginReports: [] };
  const template = JSON.parse(fs.readFileSync(path.join(dir, 'Cross.template.json'), 'utf8')).Resources;
  return { ok, dir, report, template };
}

const ct = (r: Report) => r.pluginReports.find((p) => p.pluginName === CONTROL_TOWER_PACK_NAME);
const violated = (r: Report) => (ct(r)?.violations ?? []).flatMap((v) => (v.violatingConstructs ?? []).map((c) => `${v.ruleName} @ ${c.constructPath}`)).sort();
const suppressed = (r: Report) => (ct(r)?.suppressedViolations ?? []).flatMap((v) => (v.violatingConstructs ?? []).map((c) => ({ rule: v.ruleName, at: c.constructPath, reason: v.reason ?? '' })));

describe('the package', () => {
  test('ships cfn-guard and the Control Tower rules, and runs here (offline)', () => {
    expect(controlTowerUnavailable()).toBeUndefined();
    const rules = controlTowerRules();
    expect(rules.length).toBeGreaterThan(150);
    expect(rules.find((r) => r.controlId === 'CT.KMS.PR.3')).toMatchObject({ name: 'kms_create_grant_aws_service_check', types: ['AWS::KMS::Key'] });
  });

  test('every Control Tower rule the equivalence table names is a bundled rule, for the types it evaluates', () => {
    const byName = new Map(controlTowerRules().map((r) => [r.name, r]));
    for (const eq of RULE_EQUIVALENCES) {
      for (const name of eq.controlTower) {
        expect(byName.has(name) ? name : `${name} (not bundled)`).toBe(name);
        for (const type of byName.get(name)!.types) expect(eq.types).toContain(type);
      }
    }
  });
});

describe('AWS.ControlTower at synth', () => {
  test('applyCompliancePacks registers it (the package is installed) and it fails the synth on a key that lets anyone create grants', () => {
    const { ok, report } = synth((stack) => {
      new kms.Key(stack, 'Key', { enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
    });
    expect(ok).toBe(false);
    expect(violated(report)).toEqual(['kms_create_grant_aws_service_check @ Cross/Key/Resource']);
  });

  test('FhirKeys\' keys pass CT.KMS.PR.3 (the grant control on all three keys)', () => {
    const { report } = synth((stack) => {
      new FhirKeys(stack, 'Keys');
    });
    expect(violated(report).filter((v) => v.startsWith('kms_'))).toEqual([]);
  });

  test('an acknowledgement of a gate rule is shared with its Control Tower equivalent, with the same reason and where it came from', () => {
    const { report, template } = synth((stack) => {
      const keys = new FhirKeys(stack, 'Keys');
      const fn = new lambda.Function(stack, 'Fn', {
        runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => 1'),
        logGroup: new logs.LogGroup(stack, 'FnLogs', { encryptionKey: keys.logs, retention: logs.RetentionDays.SIX_YEARS }),
        reservedConcurrentExecutions: 1, deadLetterQueue: new sqs.Queue(stack, 'Dlq', { enforceSSL: true, encryptionMasterKey: keys.data }),
      });
      acknowledge(fn, 'HIPAA.Security-LambdaInsideVPC', 'Calls only a public AWS API, holds no PHI; reviewed.');
    });
    const derived = suppressed(report).filter((s) => s.rule === 'lambda_inside_vpc_check');
    expect(derived).toEqual([{ rule: 'lambda_inside_vpc_check', at: 'Cross/Fn/Resource', reason: 'Same check as HIPAA.Security-LambdaInsideVPC, acknowledged on Cross/Fn: Calls only a public AWS API, holds no PHI; reviewed.' }]);
    // The dead-letter queue itself has no dead-letter queue: a limitation of CT.SQS.PR.1, acknowledged with why.
    expect(suppressed(report).find((s) => s.rule === 'sqs_dlq_check')?.reason).toMatch(/^This queue is itself the dead-letter queue of Cross\/Fn\/Resource/);
    const fnEntry = Object.values(template).find((r) => r.Type === 'AWS::Lambda::Function')!;
    expect(fnEntry.Metadata?.guard).toEqual({ SuppressedRules: ['HIPAA.Security-LambdaInsideVPC', 'LAMBDA_INSIDE_VPC', 'lambda_inside_vpc_check'] });
    // Nothing left for the Control Tower controls (the other packs' findings are not this test's).
    expect(violated(report)).toEqual([]);
  });

  test('a nested stack\'s template is checked too: a finding there lands on its construct, parameters resolved to what the parent passes', () => {
    const { ok, report } = synth((stack) => {
      const keys = new FhirKeys(stack, 'Keys');
      const nested = new NestedStack(stack, 'Nested');
      // A key that lets anyone create grants, inside the nested stack: CT.KMS.PR.3 flags it.
      new kms.Key(nested, 'Key', { enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
      // Encrypted with the parent's key, which reaches the nested template as a parameter:
      // CT.SQS.PR.2 accepts it (a reference to a key of the parent), CT.SQS.PR.1 asks for a DLQ.
      const queue = new sqs.Queue(nested, 'Queue', { enforceSSL: true, encryptionMasterKey: keys.data });
      acknowledge(queue, 'AWS.ControlTower::sqs_dlq_check', 'A queue of the test; nothing consumes it.');
    });
    expect(ok).toBe(false);
    expect(violated(report)).toContain('kms_create_grant_aws_service_check @ Cross/Nested/Key/Resource');
    expect(violated(report).filter((v) => v.includes('/Nested/') && !v.startsWith('kms_create_grant'))).toEqual([]);
    expect(suppressed(report)).toContainEqual({ rule: 'sqs_dlq_check', at: 'Cross/Nested/Queue/Resource', reason: 'A queue of the test; nothing consumes it.' });
    // What the controls evaluated there: the nested stack's own resources (not the parent's key the copy names).
    const nestedRun = [...(lastControlTowerRun()?.resources ?? [])].find(([file]) => /^CrossNested[0-9A-F]{8}\.nested\.template\.json$/.test(file));
    expect([...nestedRun![1].values()].sort()).toEqual(['AWS::KMS::Key', 'AWS::SQS::Queue', 'AWS::SQS::QueuePolicy']);
  });

  test('a nested template that cannot be checked fails the synth, naming it', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], '@aws-cdk/core:validateAgainstDefaultRules': false } });
    const stack = new Stack(app, 'Unchecked');
    const nested = new NestedStack(stack, 'Nested');
    // A parameter of the nested stack's own that the parent does not pass: the reference to a key
    // cannot be resolved, and cfn-guard's result for it cannot be read.
    const keyId = new CfnParameter(nested, 'KeyId', { type: 'String' });
    new sqs.CfnQueue(nested, 'Queue', { kmsMasterKeyId: keyId.valueAsString });
    applyCompliancePacks(app, { environment: 'sandbox' });
    expect(() => app.synth()).toThrow();
    expect(lastControlTowerRun(app)).toBeUndefined();
    const validation = JSON.parse(fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8')) as { pluginReports: Array<{ pluginName: string; summary?: { status?: string; metadata?: Record<string, unknown> } }> };
    expect(JSON.stringify(validation.pluginReports.find((p) => p.pluginName === CONTROL_TOWER_PACK_NAME))).toMatch(/nested stack Nested\w+ \(UncheckedNested[0-9A-F]{8}\.nested\.template\.json\) cannot be checked/);
  });

  test('can be turned off, and the gate says why it did not run', () => {
    const app = new App();
    new Stack(app, 'Off');
    applyCompliancePacks(app, { awsControlTower: false });
    expect(gateSetupOf(app)?.controlTower).toEqual({ enabled: false, reason: expect.stringMatching(/turned off/) });
  });
});

describe('Metadata.guard.SuppressedRules: outside checkers see the gate\'s decisions', () => {
  const guard = path.join(path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json')), 'bin', process.platform === 'darwin' ? 'macos' : 'ubuntu', process.arch === 'arm64' ? 'aarch64' : 'x86_64', 'cfn-guard');
  // A Guard rule in the Guard Rules Registry's convention: it skips a resource whose metadata names it.
  const rule = [
    "let functions = Resources.*[ Type == 'AWS::Lambda::Function'",
    '  Metadata.guard.SuppressedRules not exists or',
    '  Metadata.guard.SuppressedRules.* != "LAMBDA_INSIDE_VPC" ]',
    'rule LAMBDA_INSIDE_VPC when %functions !empty {',
    '  %functions.Properties.VpcConfig exists',
    '}',
  ].join('\n');

  test('a cfn-guard run over cdk.out, outside the kit, skips the function the gate acknowledged and flags the one it did not', () => {
    const { dir } = synth((stack) => {
      const keys = new FhirKeys(stack, 'Keys');
      const make = (id: string) => new lambda.Function(stack, id, {
        runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => 1'),
        logGroup: new logs.LogGroup(stack, `${id}Logs`, { encryptionKey: keys.logs, retention: logs.RetentionDays.SIX_YEARS }),
      });
      acknowledge(make('Reviewed'), 'HIPAA.Security-LambdaInsideVPC', 'Calls only a public AWS API, holds no PHI; reviewed.');
      make('Unreviewed');
    });
    const ruleFile = path.join(dir, 'lambda-inside-vpc.guard');
    fs.writeFileSync(ruleFile, rule);
    const run = spawnSync(guard, ['validate', '--rules', ruleFile, '--data', path.join(dir, 'Cross.template.json'), '--output-format', 'json', '--show-summary', 'none', '--structured']);
    const out = JSON.stringify(JSON.parse(run.stdout.toString('utf8')));
    expect(out).toMatch(/Unreviewed/);
    expect(out).not.toMatch(/Reviewed[A-F0-9]{8}/);
  });

  test('every acknowledgement of the reference app is in the template of each resource it covers', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { buildApp } = require('../../../bin/app') as typeof import('../../../bin/app');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createTestApp } = require('../../helpers/app') as typeof import('../../helpers/app');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-ref-guard-'));
    const { app } = buildApp(createTestApp({ outdir: dir }));
    app.synth();
    const evidence = JSON.parse(fs.readFileSync(path.join(dir, 'compliance-evidence.json'), 'utf8')) as { acknowledgements: Array<{ id: string; suppressed: string[] }> };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { readCloudAssembly } = require('../../../lib/report/cloud-assembly') as typeof import('../../../lib/report/cloud-assembly');
    const input = readCloudAssembly(dir);
    // Each resource in its own template (the per-app monitoring is in a nested stack).
    const guardOf = (stack: string, logicalId: string): string[] => ((input.stacks.find((s) => s.id === stack)?.template.Resources?.[logicalId]?.Metadata?.guard as { SuppressedRules?: string[] } | undefined)?.SuppressedRules ?? []);
    const byPath = new Map(input.resources.map((r) => [r.path, guardOf(r.stack, r.logicalId)]));
    const missing: string[] = [];
    let checked = 0;
    for (const ack of evidence.acknowledgements) {
      for (const p of ack.suppressed) {
        checked++;
        if (!(byPath.get(p) ?? []).includes(ack.id)) missing.push(`${ack.id} @ ${p}`);
      }
    }
    expect(checked).toBeGreaterThan(30);
    expect(missing).toEqual([]);
  });

  test('derived acknowledgements are marked as such in the construct metadata', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Marked');
    const q = new sqs.Queue(stack, 'Dlq');
    new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('x'), deadLetterQueue: q });
    applyCompliancePacks(app, { environment: 'sandbox' });
    try {
      app.synth();
    } catch {
      // The packs' findings on this bare function are not this test's.
    }
    const marks = (q.node.defaultChild as sqs.CfnQueue).node.metadata.filter((m) => m.type === DERIVED_ACKNOWLEDGEMENT_METADATA_KEY).map((m) => m.data);
    expect(marks).toEqual([{ id: 'AWS.ControlTower::sqs_dlq_check', limitation: 'sqs_dlq_check' }]);
  });
});
