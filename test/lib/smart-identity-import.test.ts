import { CfnWaitConditionHandle, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { FhirKeys, importRecordsFor, importRecordsOf, SegmentedNetwork, SmartAppRegistry, SmartIdentity, SmartIdentityProps } from '../../lib';
import { loadAppRegistry } from '../../policies/app-registry';
import { createTestApp } from '../helpers/app';
import { validate } from '../policies/compliance/helpers';

const apps = loadAppRegistry();
const POOL_ID = 'us-east-1_AbCdEf123';
const POOL_ARN = `arn:aws:cognito-idp:us-east-1:111122223333:userpool/${POOL_ID}`;

// The pool is referenced in another stack (the platform's); what the kit adds lands in this one.
const app = createTestApp();
const platform = new Stack(app, 'Platform');
const teamPool = cognito.UserPool.fromUserPoolArn(platform, 'Pool', POOL_ARN);
new CfnWaitConditionHandle(platform, 'Placeholder'); // a stack needs one resource
const stack = new Stack(app, 'IdImport');
const keys = new FhirKeys(stack, 'Keys');
const network = new SegmentedNetwork(stack, 'Network', { keys });
const identity = new SmartIdentity(stack, 'Identity', { keys, network, environment: 'production', apps, userPool: teamPool, domainPrefix: 'team-fhir-login' });
identity.setPublicBaseUrls('https://fhir.example.org/r4', 'https://fhir.example.org/auth');
new SmartAppRegistry(stack, 'Apps', { identity, apps });
const assembly = app.synth();
const template = Template.fromJSON(assembly.getStackByName('IdImport').template);

describe('SmartIdentity with an imported user pool', () => {
  test('creates no user pool, in this stack or the platform\'s', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    expect(Object.keys(assembly.getStackByName('Platform').template.Resources)).toEqual(['Placeholder']);
    expect(identity.importedUserPool).toBe(true);
    expect(identity.userPool.userPoolId).toBe(POOL_ID);
  });

  test('adds the four SMART resource servers to the imported pool', () => {
    for (const identifier of ['patient', 'user', 'system', 'launch']) template.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', { Identifier: identifier, UserPoolId: POOL_ID });
  });

  test('adds one app client per registered app to the imported pool', () => {
    const clients = Object.values(template.findResources('AWS::Cognito::UserPoolClient'));
    expect(clients.map((c) => c.Properties.ClientName).sort()).toEqual(apps.map((a) => a.id).sort());
    for (const client of clients) expect(client.Properties.UserPoolId).toBe(POOL_ID);
  });

  test('adds the managed-login domain, whose URL the façade uses', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { UserPoolId: POOL_ID, Domain: 'team-fhir-login', ManagedLoginVersion: 2 });
    expect(identity.issuer).toContain(`/${POOL_ID}`);
  });

  test('creates the pre-token trigger and lets only this pool invoke it; it cannot set the pool\'s trigger', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction', Principal: 'cognito-idp.amazonaws.com', SourceArn: POOL_ARN,
      FunctionName: { 'Fn::GetAtt': [stack.getLogicalId(identity.launchContextTrigger.fn.node.defaultChild as never), 'Arn'] },
    });
  });

  test('records the import on the construct and on the domain, where the gate reports [user-pool] naming the settings; no warning', () => {
    const [record] = importRecordsOf(identity);
    expect(record).toMatchObject({ kind: 'user-pool', resources: [POOL_ARN], acknowledgementId: 'FHIR.HIPAA-ImportedResourceAttested[user-pool]' });
    expect(record.rulesThatCannotSee).toEqual(expect.arrayContaining(['FHIR.HIPAA-CognitoMFARequired', 'FHIR.HIPAA-CognitoThreatProtection', 'FHIR.HIPAA-CognitoDeletionProtection', 'FHIR.HIPAA-CognitoNoSelfSignUp']));
    expect(importRecordsFor(identity.domain.node.defaultChild as never)).toEqual([record]);
    const violations = validate(stack).violations.filter((v) => v.ruleName.startsWith('FHIR.HIPAA-ImportedResourceAttested'));
    expect(violations.map((v) => `${v.ruleName} @ ${v.violatingResources[0].constructPath}`)).toEqual(['FHIR.HIPAA-ImportedResourceAttested[user-pool] @ IdImport/Identity/UserPool/Domain/Resource']);
    expect(violations[0].description).toMatch(/^Imported user pool \(arn:aws:cognito-idp:us-east-1:111122223333:userpool\/us-east-1_AbCdEf123\): the kit cannot check at synth that the pool requires MFA .*threat protection.*deletion protection.*no self sign-up, required in production.*pre-token-generation trigger \(event version V3_0\) is this construct's launch-context function \(IdImport\/Identity\/LaunchContext\/Resource\).*'FHIR\.HIPAA-ImportedResourceAttested\[user-pool\]'/);
    expect(assembly.getStackByName('IdImport').messages.filter((m) => m.level === 'warning')).toEqual([]);
  });
});

describe('SmartIdentity with an imported user pool: what is checked at synth', () => {
  const attempt = (props: Partial<SmartIdentityProps>) => () => {
    const s = new Stack(createTestApp(), 'S');
    const k = new FhirKeys(s, 'Keys');
    new SmartIdentity(s, 'Identity', { keys: k, network: new SegmentedNetwork(s, 'Network', { keys: k }), environment: 'sandbox', apps, ...props });
  };

  test('a user pool setting the kit cannot apply to an imported pool', () => {
    expect(attempt({ userPool: cognito.UserPool.fromUserPoolArn(new Stack(createTestApp(), 'P'), 'Pool', POOL_ARN), allowSelfSignUpInSandbox: true }))
      .toThrow(/^SmartIdentity: allowSelfSignUpInSandbox is a setting of the user pool the kit creates; an imported userPool keeps its own sign-up setting\. Remove allowSelfSignUpInSandbox\.$/);
  });

  test('something that is not a user pool', () => {
    expect(attempt({ userPool: POOL_ARN as unknown as cognito.IUserPool })).toThrow(/^SmartIdentity: userPool is not a user pool; give cognito\.UserPool\.fromUserPoolArn/);
  });
});
