import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { FhirDatastore, FhirKeys, SegmentedNetwork } from '../../lib';
import { HANDLER_ASSETS_DIR, handlerAssetDir, LAMBDA_NODE_MAJOR } from '../../lib/private/handler-assets';
import { KIT_LAMBDA_RUNTIME, KitFunction } from '../../lib/private/kit-function';
import { createCompliancePacks } from '../../policies';
import { createTestApp } from '../helpers/app';

const stack = new Stack(createTestApp(), 'FnStack');
const keys = new FhirKeys(stack, 'Keys');
const network = new SegmentedNetwork(stack, 'Network', { keys });
const datastore = new FhirDatastore(stack, 'Datastore', { keys, network });
const inVpc = new KitFunction(stack, 'InVpc', {
  handlerDir: 'smart-authorizer',
  description: 'test function in the isolated subnets',
  invocation: 'synchronous',
  logsKey: keys.logs,
  vpc: network.vpc,
  vpcSubnets: network.isolatedSubnets,
  securityGroups: [network.proxySecurityGroup],
});
datastore.grantFhirAccess(inVpc);
inVpc.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [keys.data.keyArn] }));
const template = Template.fromStack(stack);

describe('KitFunction', () => {
  test('runs Node.js 24 on ARM with reserved concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Architectures: ['arm64'], ReservedConcurrentExecutions: 50 });
  });

  test('runs the Node.js the handlers are built for', () => {
    expect(KIT_LAMBDA_RUNTIME.name).toBe(`nodejs${LAMBDA_NODE_MAJOR}.x`);
  });

  test('its code is the handler built with the package, not bundled at synth time', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps' }) } });
    const asset = inVpc.fn.node.findChild('Code') as unknown as { assetPath: string };
    expect(asset.assetPath).toBeDefined();
    expect(handlerAssetDir('smart-authorizer')).toBe(path.join(HANDLER_ASSETS_DIR, 'smart-authorizer'));
  });

  test('logs to its own log group, CMK-encrypted and kept six years', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: stack.resolve(inVpc.logGroup.logGroupName), LogFormat: 'JSON' } });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: stack.resolve(keys.logs.keyArn), RetentionInDays: 2192 });
  });

  test('has no inline policy and no AWS-managed policy; grants land in its one managed policy', () => {
    template.resourceCountIs('AWS::IAM::Policy', 0);
    const role = template.toJSON().Resources[stack.getLogicalId(inVpc.role.node.defaultChild as iam.CfnRole)];
    expect(JSON.stringify(role.Properties.ManagedPolicyArns ?? [])).not.toContain(':iam::aws:policy/');
    for (const statement of [
      Match.objectLike({ Action: Match.arrayWith(['healthlake:ReadResource']) }),
      
      Match.objectLike({ Sid: 'WriteOwnLogGroup' }),
      Match.objectLike({ Action: 'kms:Decrypt', Resource: stack.resolve(keys.data.keyArn) }),
    ]) {
      template.hasResourceProperties('AWS::IAM::ManagedPolicy', { Roles: [stack.resolve(inVpc.role.roleName)], PolicyDocument: { Statement: Match.arrayWith([statement]) } });
    }
  });

  test('the VPC networking wildcard sits in a separate, acknowledged policy', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [stack.resolve(inVpc.role.roleName)],
      PolicyDocument: { Statement: [Match.objectLike({ Sid: 'LambdaVpcNetworkInterfaces', Resource: '*' })] },
    });
    const main = template.toJSON().Resources[stack.getLogicalId(inVpc.role.policy.node.defaultChild as iam.CfnManagedPolicy)];
    expect(JSON.stringify(main.Properties.PolicyDocument)).not.toContain('"Resource":"*"');
  });

  test('an AWS-managed policy is refused', () => {
    expect(() => inVpc.role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'))).toThrow(/not allowed/);
  });

  test('a synchronous HealthLake function in the isolated subnets passes all three packs', () => {
    const findings = createCompliancePacks().flatMap((p) => p.validateScope(stack).violations.map((v) => v.ruleName));
    expect(findings).toEqual([]);
  });

  test('an asynchronous function gets an encrypted, TLS-only dead-letter queue', () => {
    const s = new Stack(createTestApp(), 'Async');
    const k = new FhirKeys(s, 'Keys');
    const fn = new KitFunction(s, 'Fn', { handlerDir: 'smart-authorizer', description: 'async', logsKey: k.logs, invocation: 'asynchronous', deadLetterKey: k.audit });
    const t = Template.fromStack(s);
    t.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: s.resolve(k.audit.keyArn) });
    t.hasResourceProperties('AWS::Lambda::Function', { DeadLetterConfig: { TargetArn: s.resolve(fn.deadLetterQueue!.queueArn) } });
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [s.resolve(fn.role.roleName)],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: s.resolve(k.audit.keyArn) })]) },
    });
    expect(createCompliancePacks().flatMap((p) => p.validateScope(s).violations.map((v) => v.ruleName)).filter((r) => /DLQ|SQS/.test(r))).toEqual([]);
  });

  describe('asset files added at synth time', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-kitfn-'));
    afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

    function synthWith(files: Record<string, string>, id = 'Files'): { dir: string; key: string } {
      const s = new Stack(createTestApp({ bundle: true, outdir }), id);
      const k = new FhirKeys(s, 'Keys');
      new KitFunction(s, 'Fn', { handlerDir: 'waf-guard', description: 'files', logsKey: k.logs, invocation: 'synchronous', assetFiles: files });
      const fn = Object.values(Template.fromStack(s).findResources('AWS::Lambda::Function'))[0] as { Properties: { Code: { S3Key: string } } };
      const key = fn.Properties.Code.S3Key;
      return { dir: path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`), key };
    }

    test('the asset is the built handler plus the files, nothing else', () => {
      const { dir } = synthWith({ 'labels.json': '{"a":1}', 'profiles/p.json': '{}' });
      const list = (d: string, prefix = ''): string[] =>
        fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? list(path.join(d, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
      expect(list(dir).sort()).toEqual(['index.js', 'index.js.map', 'labels.json', 'profiles/p.json']);
      expect(fs.readFileSync(path.join(dir, 'index.js'))).toEqual(fs.readFileSync(path.join(handlerAssetDir('waf-guard'), 'index.js')));
      expect(fs.readFileSync(path.join(dir, 'labels.json'), 'utf8')).toBe('{"a":1}');
    });

    test('a changed file is a new asset; the same files are the same asset', () => {
      const a = synthWith({ 'labels.json': '{"a":1}' }, 'A').key;
      expect(synthWith({ 'labels.json': '{"a":1}' }, 'B').key).toBe(a);
      expect(synthWith({ 'labels.json': '{"a":2}' }, 'C').key).not.toBe(a);
    });

    test.each(['../x.json', '/etc/x.json', 'a//b.json', './x.json', 'index.js'])('"%s" is refused', (name) => {
      expect(() => synthWith({ [name]: '{}' }, `Bad${name.replace(/[^a-z]/gi, '')}`)).toThrow(/must be a relative path inside the asset|would replace a file of the built handler/);
    });
  });

  test('a handler that is not built is named, with the command that builds it', () => {
    const s = new Stack(createTestApp(), 'Missing');
    const k = new FhirKeys(s, 'Keys');
    expect(() => new KitFunction(s, 'Fn', { handlerDir: 'no-such-handler', description: 'x', logsKey: k.logs, invocation: 'synchronous' })).toThrow(/not built .*npm run build:handlers/);
  });
});
