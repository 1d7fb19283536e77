import { CfnCondition, CfnParameter, CfnResource, Fn, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NagRuleCompliance } from 'cdk-nag';
import { FHIR_HIPAA_RULES } from '../../../policies/compliance/fhir-hipaa-checks';
import { findingsOf, granularFindings, newStack, ruleId, validate, violatingPaths } from './helpers';

/**
 * One stack whose rule-relevant values are parameters, conditions and other intrinsics, the way
 * a `CfnInclude`d template or a parameterised stack would write them.
 */
function tokenStack(): Stack {
  const stack = newStack();
  const text = new CfnParameter(stack, 'Text', { type: 'String' }).valueAsString;
  const number = new CfnParameter(stack, 'Number', { type: 'Number' }).valueAsNumber;
  const list = new CfnParameter(stack, 'List', { type: 'CommaDelimitedList' }).valueAsList;
  new CfnCondition(stack, 'Cond', { expression: Fn.conditionEquals(text, 'x') });
  const either = (a: unknown, b: unknown) => Fn.conditionIf('Cond', a, b);
  const res = (id: string, type: string, properties: Record<string, unknown>) => new CfnResource(stack, id, { type, properties });

  res('Datastore', 'AWS::HealthLake::FHIRDatastore', { DatastoreTypeVersion: 'R4', SseConfiguration: { KmsEncryptionConfig: { CmkType: text, KmsKeyId: text } } });
  res('Policy', 'AWS::IAM::Policy', { PolicyName: 'p', Roles: [text], PolicyDocument: { Statement: [{ Effect: 'Allow', Action: text, Resource: text, Condition: either({}, {}) }] } });
  res('Role', 'AWS::IAM::Role', { AssumeRolePolicyDocument: {}, ManagedPolicyArns: list, Policies: either([], []) });
  const api = res('Api', 'AWS::ApiGateway::RestApi', { Name: text, DisableExecuteApiEndpoint: text });
  res('Mapping', 'AWS::ApiGateway::BasePathMapping', { DomainName: text, RestApiId: api.ref });
  res('Method', 'AWS::ApiGateway::Method', { HttpMethod: text, AuthorizationType: text, ResourceId: text, RestApiId: api.ref, MethodResponses: either([], []), Integration: either({}, {}) });
  const stage = res('Stage', 'AWS::ApiGateway::Stage', { RestApiId: api.ref, StageName: text, MethodSettings: either([], []), AccessLogSetting: { DestinationArn: text, Format: text } });
  res('Deployment', 'AWS::ApiGateway::Deployment', { RestApiId: api.ref, StageDescription: either({}, {}) });
  res('Domain', 'AWS::ApiGateway::DomainName', { DomainName: text, SecurityPolicy: text });
  res('Authorizer', 'AWS::ApiGateway::Authorizer', { RestApiId: api.ref, Type: 'TOKEN', AuthorizerResultTtlInSeconds: number, IdentitySource: text });
  res('GatewayResponse', 'AWS::ApiGateway::GatewayResponse', { RestApiId: api.ref, ResponseType: text, ResponseParameters: either({}, {}) });
  const acl = res('Acl', 'AWS::WAFv2::WebACL', { Scope: 'REGIONAL', DefaultAction: { Allow: {} }, Rules: either([], []) });
  res('Assoc', 'AWS::WAFv2::WebACLAssociation', { ResourceArn: Fn.join('', ['arn:aws:apigateway:us-east-1::/restapis/', api.ref, '/stages/', stage.ref]), WebACLArn: acl.getAtt('Arn') });
  res('WafLogging', 'AWS::WAFv2::LoggingConfiguration', { ResourceArn: acl.getAtt('Arn'), LogDestinationConfigs: [text], RedactedFields: either([], []) });
  res('Pool', 'AWS::Cognito::UserPool', { MfaConfiguration: text, UserPoolTier: text, UserPoolAddOns: either({}, {}), DeletionProtection: text, AdminCreateUserConfig: either({}, {}) });
  res('Client', 'AWS::Cognito::UserPoolClient', {
    UserPoolId: text, AllowedOAuthFlows: list, AllowedOAuthScopes: Fn.split(',', text), GenerateSecret: text, PreventUserExistenceErrors: text,
    EnableTokenRevocation: text, AccessTokenValidity: number, IdTokenValidity: number, TokenValidityUnits: either({}, {}), WriteAttributes: list,
  });
  res('Key', 'AWS::KMS::Key', { EnableKeyRotation: text, KeySpec: text, KeyPolicy: either({}, {}) });
  res('Logs', 'AWS::Logs::LogGroup', { KmsKeyId: text, RetentionInDays: number });
  const role = new iam.Role(stack, 'FnRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  role.addToPolicy(new iam.PolicyStatement({ actions: ['healthlake:ReadResource'], resources: [text], conditions: { StringEquals: { 'aws:SourceVpce': text } } }));
  res('Fn', 'AWS::Lambda::Function', { Role: role.roleArn, Code: { ZipFile: 'x' }, VpcConfig: { SubnetIds: Fn.split(',', text), SecurityGroupIds: [] }, Environment: { Variables: { DB_PASSWORD: text, API_KEY: either('a', 'b') } } });
  res('Trail', 'AWS::CloudTrail::Trail', { IsLogging: true, S3BucketName: text, IsMultiRegionTrail: text, CloudWatchLogsLogGroupArn: text, CloudWatchLogsRoleArn: text, EventSelectors: either([], []) });
  return stack;
}

describe('token and intrinsic values', () => {
  const stack = tokenStack();
  const report = validate(stack);

  test('no rule throws on any resource', () => {
    const resources = stack.node.findAll().filter(CfnResource.isCfnResource);
    for (const r of resources) {
      for (const rule of FHIR_HIPAA_RULES) expect(() => rule.rule(r)).not.toThrow();
    }
    expect(report.violations.filter((v) => v.description.startsWith('Rule threw an error'))).toEqual([]);
  });

  test.each([
    ['HealthLakeCMKEncryption'], ['APIGWMethodAuthorization'], ['APIGWStageThrottling'], ['APIGWNoDataTrace'], ['APIGWDomainTLSPolicy'],
    ['APIGWExecuteApiEndpointDisabled'], ['CognitoMFARequired'], ['CognitoDeletionProtection'], ['CognitoClientNoImplicitFlow'],
    ['CognitoClientUserExistenceErrors'], ['CognitoClientTokenRevocation'], ['KMSKeyRotation'], ['LogGroupRetention'], ['CloudTrailMultiRegion'],
    ['CloudTrailDataEvents'], ['APIGWGatewayResponseHSTS'],
  ])('%s: an unresolved value it needs is a finding', (rule) => {
    expect(findingsOf(stack, rule, report).length).toBeGreaterThan(0);
  });

  test('granular findings name what could not be resolved', () => {
    expect(granularFindings(stack, 'HealthLakeDataAccessScoped')).toEqual(['Statement::0::UnresolvedAction']);
    expect(granularFindings(stack, 'APIGWAuthorizerCaching')).toEqual(['IdentitySource', 'ResultTtl']);
    expect(granularFindings(stack, 'APIGWAccessLogging')).toEqual(['DestinationUnverifiable', 'FormatMissing']);
    expect(granularFindings(stack, 'WAFv2ManagedRuleGroups')).toEqual(['RulesUnresolved']);
    expect(granularFindings(stack, 'WAFv2LogRedaction')).toEqual(['NotRedacted::authorization', 'NotRedacted::cookie']);
    expect(granularFindings(stack, 'CognitoClientOAuthFlows')).toEqual(['FlowsUnresolved']);
    expect(granularFindings(stack, 'CognitoClientNoWildcardScopes')).toEqual(['ScopesUnresolved']);
    expect(granularFindings(stack, 'CognitoClientTokenValidity')).toEqual(['AccessToken', 'IdToken']);
    expect(granularFindings(stack, 'CognitoClientLaunchAttributesReadOnly')).toEqual(['WriteAttributesUnresolved']);
    expect(granularFindings(stack, 'LambdaHealthLakeIsolated')).toEqual(['SubnetsUnresolved']);
    expect(violatingPaths(stack, 'APIGWNoDataTrace')).toEqual(['Test/Deployment', 'Test/Stage']);
  });

  test('values that are references pass, or leave the rule not applicable', () => {
    for (const rule of ['APIGWNoCORSWildcard', 'KMSKeyPolicyNoWildcardPrincipal', 'LogGroupCMKEncryption', 'LambdaNoSecretsInEnvironment',
      'CloudTrailCloudWatchLogs', 'CognitoClientWildcardTypeScopes', 'CognitoNoSelfSignUp']) {
      expect(findingsOf(stack, rule, report)).toEqual([]);
    }
    const key = stack.node.findChild('Key') as CfnResource;
    expect(FHIR_HIPAA_RULES.find((r) => r.rule.name === 'KMSKeyPolicyNoWildcardPrincipal')!.rule(key)).toBe(NagRuleCompliance.NOT_APPLICABLE);
    expect(report.violations.map((v) => v.ruleName)).not.toContain(ruleId('APIGWStageWAFAssociation'));
  });
});
