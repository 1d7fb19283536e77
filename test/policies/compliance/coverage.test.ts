import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { createCompliancePacks } from '../../../policies';
import { COVERAGE_BASELINE } from '../../../policies/compliance/coverage';
import { lastRun } from '../../../policies/compliance/observe';
import { FhirHipaaChecks } from '../../../policies/compliance/fhir-hipaa-checks';

/**
 * FHIR.HIPAA-ResourceEvaluated: a resource that can carry PHI or run code must have been
 * evaluated by the gate's baseline rules for its type. It reads what the gate's other packs
 * evaluated, so it runs with them (createCompliancePacks), in their order.
 */
const ID = 'FHIR.HIPAA-ResourceEvaluated';

function gate(stack: Stack): Array<{ rule: string; path: string; description: string }> {
  return createCompliancePacks().flatMap((pack) => pack.validateScope(stack).violations
    .filter((v) => v.ruleName === ID)
    .flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '', description: v.description }))));
}

const plainFunction = (stack: Stack, id = 'Provider') => new CfnResource(stack, id, {
  type: 'AWS::Lambda::Function',
  properties: { Handler: 'index.handler', Runtime: 'nodejs22.x', Role: 'arn:aws:iam::111122223333:role/r', Code: { ZipFile: 'exports.handler = async () => 1' } },
});

describe(ID, () => {
  test('Noncompliance 1: a plain CfnResource function is evaluated by no cdk-nag Lambda rule; the finding names them', () => {
    const stack = new Stack(new App(), 'Plain');
    plainFunction(stack);
    const [finding, ...rest] = gate(stack);
    expect(rest).toEqual([]);
    expect(finding.path).toBe('Plain/Provider');
    expect(finding.description).toMatch(/^AWS::Lambda::Function Plain\/Provider was not evaluated by HIPAA\.Security-LambdaDLQ, HIPAA\.Security-LambdaConcurrency, HIPAA\.Security-LambdaInsideVPC, AwsSolutions-L1 \(it is a plain CfnResource/);
    expect(finding.description).toMatch(/\(Control IDs: 164\.308\(a\)\(1\)\(ii\)\(A\), 164\.308\(a\)\(8\)\)$/);
  });

  test('Noncompliance 2: a plain CfnResource role', () => {
    const stack = new Stack(new App(), 'Plain');
    new CfnResource(stack, 'Role', { type: 'AWS::IAM::Role', properties: { AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] } } });
    expect(gate(stack).map((f) => f.path)).toEqual(['Plain/Role']);
  });

  test('Compliance 1: the typed constructs are evaluated by every baseline rule', () => {
    const stack = new Stack(new App(), 'Typed');
    const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => 1') });
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/k'] }));
    expect(gate(stack)).toEqual([]);
  });

  test('Compliance 2: acknowledged with what was reviewed (the acknowledgement clears it)', () => {
    const stack = new Stack(new App(), 'Reviewed');
    const fn = plainFunction(stack);
    Validations.of(fn).acknowledge({ id: ID, reason: 'Reviewed by hand: deploy-time provider, no PHI, outside the VPC by design.' });
    expect(gate(stack)).toEqual([]);
  });

  test('not applicable when FHIR.HIPAA runs alone (no other pack to compare with), and to types without a baseline', () => {
    const stack = new Stack(new App(), 'Alone');
    plainFunction(stack);
    new CfnResource(stack, 'Topic', { type: 'AWS::SNS::Topic' });
    expect(new FhirHipaaChecks().validateScope(stack).violations.filter((v) => v.ruleName === ID)).toEqual([]);
    expect(COVERAGE_BASELINE['AWS::SNS::Topic']).toBeUndefined();
  });

  test('never runs the other packs itself: from createCompliancePacks but run alone (before its peers), it is not applicable', () => {
    const stack = new Stack(new App(), 'First');
    plainFunction(stack);
    const [hipaa, aws, fhir] = createCompliancePacks();
    expect(fhir.validateScope(stack).violations.filter((v) => v.ruleName === ID)).toEqual([]);
    expect([lastRun(hipaa, stack), lastRun(aws, stack)]).toEqual([undefined, undefined]);
    // In the gate's order, it reports.
    hipaa.validateScope(stack);
    aws.validateScope(stack);
    expect(fhir.validateScope(stack).violations.filter((v) => v.ruleName === ID).map((v) => v.violatingResources[0].constructPath)).toEqual(['First/Provider']);
  });

  test('every baseline names only rules of the gate\'s packs', () => {
    const stack = new Stack(new App(), 'All');
    new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('x') });
    const known = new Set<string>(FhirHipaaChecks.RULE_IDS);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { observePack, lastRun } = require('../../../policies/compliance/observe') as typeof import('../../../policies/compliance/observe');
    for (const pack of createCompliancePacks()) {
      observePack(pack);
      pack.validateScope(stack);
      for (const id of lastRun(pack, stack)!.rules.keys()) known.add(id);
    }
    for (const [type, rules] of Object.entries(COVERAGE_BASELINE)) for (const id of rules) expect(`${type}: ${known.has(id) ? id : `${id} (unknown)`}`).toBe(`${type}: ${id}`);
  });
});

describe('acknowledgements without a reason', () => {
  test('Validations.of(c).acknowledge with an empty reason is refused at synth with a fatal finding, for any rule', () => {
    const stack = new Stack(new App(), 'Blank');
    const fn = plainFunction(stack);
    Validations.of(fn).acknowledge({ id: ID, reason: '' });
    Validations.of(stack).acknowledge({ id: 'HIPAA.Security-LambdaDLQ', reason: '   ' });
    const fatal = new FhirHipaaChecks().validateScope(stack).violations.filter((v) => v.severity === 'fatal');
    expect(fatal.map((v) => [v.ruleName, v.violatingResources[0].constructPath])).toEqual([
      ['HIPAA.Security-LambdaDLQ', 'Blank'],
      [ID, 'Blank/Provider'],
    ]);
    expect(fatal[0].description).toMatch(/has no reason/);
  });
});
