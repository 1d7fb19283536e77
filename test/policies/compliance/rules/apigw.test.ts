import { Duration, Fn, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { PUBLIC_ROUTE_METADATA_KEY, markPublicRoute } from '../../../../policies/compliance/public-routes';
import { acknowledge } from '../../../../policies/compliance/acknowledge';
import { expectCompliant, expectNoncompliant, findingsOf, granularFindings, newStack, ruleId, validate, violatingPaths } from '../helpers';

const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  sourceIp: '$context.identity.sourceIp',
  principal: '$context.authorizer.principalId',
  status: '$context.status',
  tlsVersion: '$context.tlsVersion',
});

const HSTS = { 'Strict-Transport-Security': "'max-age=63072000; includeSubDomains'" };

interface ApiFixture {
  readonly stack: Stack;
  readonly api: apigw.RestApi;
  readonly fn: lambda.IFunction;
  readonly authorizer: apigw.TokenAuthorizer;
  readonly stage: apigw.CfnStage;
}

interface ApiOptions {
  readonly deployOptions?: apigw.StageOptions;
  readonly waf?: boolean;
  readonly gatewayResponses?: boolean;
  readonly restApiProps?: Partial<apigw.RestApiProps>;
}

/** A REST API that every API Gateway rule accepts; options take one control away. */
function compliantApi(options: ApiOptions = {}): ApiFixture {
  const stack = newStack();
  const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_20_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})') });
  const key = new kms.Key(stack, 'LogKey', { enableKeyRotation: true });
  const logGroup = new logs.LogGroup(stack, 'AccessLogs', { encryptionKey: key, retention: logs.RetentionDays.SIX_YEARS });
  const authorizer = new apigw.TokenAuthorizer(stack, 'Authorizer', { handler: fn, resultsCacheTtl: Duration.minutes(5) });
  const api = new apigw.RestApi(stack, 'Api', {
    deployOptions: {
      throttlingRateLimit: 100,
      throttlingBurstLimit: 200,
      accessLogDestination: new apigw.LogGroupLogDestination(logGroup),
      accessLogFormat: apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      ...options.deployOptions,
    },
    ...options.restApiProps,
  });
  const r4 = api.root.addResource('r4');
  r4.addResource('{proxy+}').addMethod('ANY', new apigw.LambdaIntegration(fn), { authorizer });
  const metadata = r4.addResource('metadata').addMethod('GET', new apigw.LambdaIntegration(fn));
  markPublicRoute(metadata, { method: 'GET', path: '/r4/metadata', reason: 'SMART clients read the capability statement before they hold a token' });
  if (options.gatewayResponses !== false) {
    api.addGatewayResponse('Default4xx', { type: apigw.ResponseType.DEFAULT_4XX, responseHeaders: HSTS });
    api.addGatewayResponse('Default5xx', { type: apigw.ResponseType.DEFAULT_5XX, responseHeaders: HSTS });
  }
  if (options.waf !== false) {
    const acl = new wafv2.CfnWebACL(stack, 'Acl', {
      scope: 'REGIONAL', defaultAction: { allow: {} }, rules: [],
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'acl', sampledRequestsEnabled: true },
    });
    new wafv2.CfnWebACLAssociation(stack, 'AclAssociation', { resourceArn: api.deploymentStage.stageArn, webAclArn: acl.attrArn });
  }
  return { stack, api, fn, authorizer, stage: api.deploymentStage.node.defaultChild as apigw.CfnStage };
}

describe('FHIR.HIPAA-APIGWMethodAuthorization', () => {
  const rule = 'APIGWMethodAuthorization';

  test('Noncompliance 1: a method without an authorizer and not marked public', () => {
    const { stack, api, fn } = compliantApi();
    api.root.addResource('admin').addMethod('GET', new apigw.LambdaIntegration(fn));
    expect(violatingPaths(stack, rule)).toEqual(['Test/Api/Default/admin/GET/Resource']);
  });

  test('Noncompliance 2: AWS_IAM authorization', () => {
    const { stack, api, fn } = compliantApi();
    api.root.addResource('iam').addMethod('GET', new apigw.LambdaIntegration(fn), { authorizationType: apigw.AuthorizationType.IAM });
    expectNoncompliant(stack, rule);
  });

  test('Noncompliance 3: a marker naming a route that is not an allowed public route', () => {
    const { stack, api, fn } = compliantApi();
    const method = api.root.getResource('r4')!.addResource('Patient').addMethod('GET', new apigw.LambdaIntegration(fn));
    method.node.addMetadata(PUBLIC_ROUTE_METADATA_KEY, { method: 'GET', path: '/r4/Patient', reason: 'convenience' });
    expectNoncompliant(stack, rule);
  });

  test('Noncompliance 4: an allowed public route marker on a method at another path', () => {
    const { stack, api, fn } = compliantApi();
    const method = api.root.getResource('r4')!.addResource('Observation').addMethod('GET', new apigw.LambdaIntegration(fn));
    method.node.addMetadata(PUBLIC_ROUTE_METADATA_KEY, { method: 'GET', path: '/r4/metadata', reason: 'mislabelled' });
    expectNoncompliant(stack, rule);
  });

  test('Noncompliance 5: CUSTOM without an AuthorizerId', () => {
    const { stack, api, fn } = compliantApi();
    const method = api.root.addResource('custom').addMethod('GET', new apigw.LambdaIntegration(fn));
    const cfn = method.node.defaultChild as apigw.CfnMethod;
    cfn.addPropertyOverride('AuthorizationType', 'CUSTOM');
    expectNoncompliant(stack, rule);
  });

  test('Compliance: authorizer on FHIR routes, a marked public route, a CORS preflight', () => {
    const { stack, api, fn } = compliantApi();
    const token = api.root.addResource('auth').addResource('token');
    token.addMethod('POST', new apigw.LambdaIntegration(fn));
    markPublicRoute(token.node.findChild('POST'), { method: 'POST', path: '/auth/token', reason: 'OAuth token endpoint authenticates the client itself' });
    token.addCorsPreflight({ allowOrigins: ['https://app.example.org'] });
    expectCompliant(stack, rule);
  });
});

describe('FHIR.HIPAA-APIGWPublicRoute', () => {
  const rule = 'APIGWPublicRoute';
  /** A method marked public the way FhirGateway.addPublicRoute marks it. */
  const declare = (method: apigw.Method, route: { method: string; path: string; reason: string }) => method.node.addMetadata(PUBLIC_ROUTE_METADATA_KEY, route);

  test('Noncompliance 1: a route a team declared public, named in the finding with its reason', () => {
    const { stack, api, fn } = compliantApi();
    const health = api.root.addResource('health').addMethod('GET', new apigw.LambdaIntegration(fn));
    declare(health, { method: 'GET', path: '/health', reason: 'load balancer health check' });
    expect(violatingPaths(stack, rule)).toEqual(['Test/Api/Default/health/GET/Resource']);
    const finding = validate(stack).violations.find((v) => v.ruleName === ruleId(rule))!;
    expect(finding.description).toMatch(/^The method GET \/health answers without the SMART authorizer \(declared public: load balancer health check\)\./);
    // Not also a non-waivable method-authorization finding: this rule is the one to acknowledge.
    expectCompliant(stack, 'APIGWMethodAuthorization');
  });

  test('Noncompliance 2: a declared public route at a nested path', () => {
    const { stack, api, fn } = compliantApi();
    const status = api.root.addResource('ops').addResource('status').addMethod('HEAD', new apigw.LambdaIntegration(fn));
    declare(status, { method: 'HEAD', path: '/ops/status', reason: 'uptime probe' });
    expectNoncompliant(stack, rule);
  });

  test('Compliance: the kit\'s public SMART routes, authorized methods, and nothing that only the method rule judges', () => {
    const { stack, api, fn } = compliantApi();
    // Under /r4 a declaration does not count: a method-authorization finding, not this one.
    const patient = api.root.getResource('r4')!.addResource('Patient').addMethod('GET', new apigw.LambdaIntegration(fn));
    declare(patient, { method: 'GET', path: '/r4/Patient', reason: 'convenience' });
    // A declaration naming another route, or without a reason, does not count either.
    const admin = api.root.addResource('admin').addMethod('GET', new apigw.LambdaIntegration(fn));
    declare(admin, { method: 'GET', path: '/health', reason: 'mislabelled' });
    const blank = api.root.addResource('blank').addMethod('GET', new apigw.LambdaIntegration(fn));
    declare(blank, { method: 'GET', path: '/blank', reason: ' ' });
    expectCompliant(stack, rule);
    expect(violatingPaths(stack, 'APIGWMethodAuthorization')).toEqual(['Test/Api/Default/admin/GET/Resource', 'Test/Api/Default/blank/GET/Resource', 'Test/Api/Default/r4/Patient/GET/Resource']);
  });

  test('Compliance: acknowledged on the method, also in production (the rule is waivable)', () => {
    const stack = newStack('production');
    const api = new apigw.RestApi(stack, 'Api');
    const health = api.root.addResource('health').addMethod('GET', new apigw.MockIntegration());
    declare(health, { method: 'GET', path: '/health', reason: 'load balancer health check' });
    acknowledge(health, ruleId(rule), 'Answers 200 from a mock integration; reads no data and runs no code.');
    expect(findingsOf(stack, rule)).toEqual([]);
  });
});

describe('FHIR.HIPAA-APIGWStageWAFAssociation', () => {
  const rule = 'APIGWStageWAFAssociation';
  const acl = (stack: Stack, id = 'OtherAcl') => new wafv2.CfnWebACL(stack, id, {
    scope: 'REGIONAL', defaultAction: { allow: {} },
    visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: id, sampledRequestsEnabled: true },
  });

  test('Noncompliance 1: no association', () => {
    const { stack } = compliantApi({ waf: false });
    expectNoncompliant(stack, rule);
  });

  test('Noncompliance 2: an association to another API\'s stage only', () => {
    const { stack } = compliantApi({ waf: false });
    const other = new apigw.RestApi(stack, 'Other');
    other.root.addMethod('GET', new apigw.MockIntegration());
    new wafv2.CfnWebACLAssociation(stack, 'Assoc', { resourceArn: other.deploymentStage.stageArn, webAclArn: acl(stack).attrArn });
    expect(violatingPaths(stack, rule)).toEqual(['Test/Api/DeploymentStage.prod/Resource']);
  });

  test('Compliance 1: associated through stage.stageArn', () => {
    const { stack } = compliantApi();
    expectCompliant(stack, rule);
  });

  test('Compliance 2: associated through a joined ARN naming the literal stage name', () => {
    const { stack, api } = compliantApi({ waf: false });
    new wafv2.CfnWebACLAssociation(stack, 'Assoc', {
      resourceArn: Fn.join('', ['arn:aws:apigateway:us-east-1::/restapis/', api.restApiId, '/stages/prod']),
      webAclArn: acl(stack).attrArn,
    });
    expectCompliant(stack, rule);
  });

  test('Compliance 3: associated from another stack of the app', () => {
    const { stack, api } = compliantApi({ waf: false });
    const firewall = new Stack(stack.node.scope!, 'Firewall');
    new wafv2.CfnWebACLAssociation(firewall, 'Assoc', { resourceArn: api.deploymentStage.stageArn, webAclArn: acl(firewall).attrArn });
    expectCompliant(stack, rule);
  });
});

describe('FHIR.HIPAA-APIGWStageThrottling', () => {
  const rule = 'APIGWStageThrottling';

  test('Noncompliance 1: no throttling', () => {
    const { stack } = compliantApi({ deployOptions: { throttlingRateLimit: undefined, throttlingBurstLimit: undefined } });
    expectNoncompliant(stack, rule);
  });

  test('Noncompliance 2: rate without burst', () => {
    const { stack } = compliantApi({ deployOptions: { throttlingBurstLimit: undefined } });
    expectNoncompliant(stack, rule);
  });

  test('Compliance: rate and burst on */*', () => {
    expectCompliant(compliantApi().stack, rule);
  });
});

describe('FHIR.HIPAA-APIGWAccessLogging', () => {
  const rule = 'APIGWAccessLogging';

  test('Noncompliance 1: no access log', () => {
    const { stack, stage } = compliantApi();
    stage.addPropertyDeletionOverride('AccessLogSetting');
    expect(granularFindings(stack, rule)).toEqual(['NoAccessLogSetting']);
  });

  test('Noncompliance 2: log group without a KMS key', () => {
    const stack = newStack();
    const api = new apigw.RestApi(stack, 'Api', {
      deployOptions: { accessLogDestination: new apigw.LogGroupLogDestination(new logs.LogGroup(stack, 'Plain')), accessLogFormat: apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT) },
    });
    api.root.addMethod('GET', new apigw.MockIntegration());
    expect(granularFindings(stack, rule)).toEqual(['LogGroupNotEncrypted']);
  });

  test('Noncompliance 3: common log format, not JSON and missing fields', () => {
    const { stack } = compliantApi({ deployOptions: { accessLogFormat: apigw.AccessLogFormat.clf() } });
    expect(granularFindings(stack, rule)).toEqual(expect.arrayContaining(['FormatNotJson', 'MissingField::principal', 'MissingField::tlsVersion']));
  });

  test('Noncompliance 4: JSON without the principal and TLS version', () => {
    const { stack } = compliantApi({ deployOptions: { accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields() } });
    expect(granularFindings(stack, rule)).toEqual(['MissingField::principal', 'MissingField::tlsVersion']);
  });

  test('Noncompliance 5: a destination that is not a log group of the stack', () => {
    const { stack, stage } = compliantApi();
    stage.addPropertyOverride('AccessLogSetting.DestinationArn', 'arn:aws:firehose:us-east-1:111122223333:deliverystream/amazon-apigateway-x');
    expect(granularFindings(stack, rule)).toEqual(['DestinationUnverifiable']);
  });

  test('Compliance: encrypted log group, JSON with every field', () => {
    expectCompliant(compliantApi().stack, rule);
  });

  test('Compliance: the destination as a joined log-group ARN (logGroupDestinationArnWithoutWildcard)', () => {
    const { stack, stage } = compliantApi();
    const logGroupId = stack.resolve((stack.node.findChild('AccessLogs').node.defaultChild as logs.CfnLogGroup).logicalId);
    stage.addPropertyOverride('AccessLogSetting.DestinationArn', {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:', { Ref: logGroupId }]],
    });
    expectCompliant(stack, rule);
  });
});

describe('FHIR.HIPAA-APIGWNoDataTrace', () => {
  const rule = 'APIGWNoDataTrace';

  test('Noncompliance 1: dataTraceEnabled on the stage', () => {
    const { stack } = compliantApi({ deployOptions: { dataTraceEnabled: true } });
    expectNoncompliant(stack, rule);
  });

  test('Noncompliance 2: data trace in a deployment\'s StageDescription', () => {
    const stack = newStack();
    const api = new apigw.CfnRestApi(stack, 'Api', { name: 'api' });
    new apigw.CfnDeployment(stack, 'Deployment', { restApiId: api.ref, stageName: 'v1', stageDescription: { dataTraceEnabled: true } });
    expectNoncompliant(stack, rule);
  });

  test('Noncompliance 3: one method setting traces', () => {
    const { stack } = compliantApi({ deployOptions: { methodOptions: { '/r4/metadata/GET': { dataTraceEnabled: true } } } });
    expectNoncompliant(stack, rule);
  });

  test('Compliance: no data trace anywhere', () => {
    expectCompliant(compliantApi({ deployOptions: { dataTraceEnabled: false } }).stack, rule);
  });
});

describe('FHIR.HIPAA-APIGWDomainTLSPolicy', () => {
  const rule = 'APIGWDomainTLSPolicy';
  const domain = (securityPolicy?: string) => {
    const stack = newStack();
    new apigw.CfnDomainName(stack, 'Domain', { domainName: 'fhir.example.org', regionalCertificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/x', securityPolicy });
    return stack;
  };

  test('Noncompliance 1: TLS_1_0', () => expectNoncompliant(domain('TLS_1_0'), rule));
  test('Noncompliance 2: no security policy (legacy default)', () => expectNoncompliant(domain(undefined), rule));
  test('Compliance 1: TLS_1_2', () => expectCompliant(domain('TLS_1_2'), rule));
  test('Compliance 2: an enhanced TLS 1.3 policy', () => expectCompliant(domain('SecurityPolicy_TLS13_1_3_2025_09'), rule));
});

describe('FHIR.HIPAA-APIGWExecuteApiEndpointDisabled', () => {
  const rule = 'APIGWExecuteApiEndpointDisabled';
  const mapped = (disable: boolean) => {
    const { stack, api } = compliantApi({ restApiProps: { disableExecuteApiEndpoint: disable } });
    const domain = new apigw.DomainName(stack, 'Domain', {
      domainName: 'fhir.example.org', securityPolicy: apigw.SecurityPolicy.TLS_1_2,
      certificate: acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:111122223333:certificate/x'),
    });
    new apigw.BasePathMapping(stack, 'Mapping', { domainName: domain, restApi: api });
    return stack;
  };

  test('Noncompliance: mapped to a custom domain with the default endpoint on', () => {
    expect(violatingPaths(mapped(false), rule)).toEqual(['Test/Api/Resource']);
  });

  test('Compliance 1: mapped, default endpoint disabled', () => expectCompliant(mapped(true), rule));
  test('Compliance 2: not mapped to any domain (not applicable)', () => expectCompliant(compliantApi().stack, rule));
});

describe('FHIR.HIPAA-APIGWNoCORSWildcard', () => {
  const rule = 'APIGWNoCORSWildcard';

  test('Noncompliance 1: preflight allowing all origins', () => {
    const { stack, api } = compliantApi();
    api.root.getResource('r4')!.addCorsPreflight({ allowOrigins: apigw.Cors.ALL_ORIGINS });
    expectNoncompliant(stack, rule);
  });

  test('Noncompliance 2: a gateway response with a wildcard origin', () => {
    const { stack, api } = compliantApi();
    api.addGatewayResponse('Denied', { type: apigw.ResponseType.ACCESS_DENIED, responseHeaders: { ...HSTS, 'Access-Control-Allow-Origin': "'*'" } });
    expect(violatingPaths(stack, rule)).toEqual(['Test/Api/Denied/Resource']);
  });

  test('Noncompliance 3: an integration response with a wildcard origin', () => {
    const { stack, api } = compliantApi();
    api.root.addResource('mock').addMethod('GET', new apigw.MockIntegration({
      integrationResponses: [{ statusCode: '200', responseParameters: { 'method.response.header.Access-Control-Allow-Origin': "'*'" } }],
    }), { authorizationType: apigw.AuthorizationType.NONE, methodResponses: [{ statusCode: '200', responseParameters: { 'method.response.header.Access-Control-Allow-Origin': true } }] });
    expectNoncompliant(stack, rule);
  });

  test('Compliance: origins listed', () => {
    const { stack, api } = compliantApi();
    api.root.getResource('r4')!.addCorsPreflight({ allowOrigins: ['https://app.example.org', 'https://other.example.org'] });
    expectCompliant(stack, rule);
  });
});

describe('FHIR.HIPAA-APIGWAuthorizerCaching', () => {
  const rule = 'APIGWAuthorizerCaching';

  test('Noncompliance 1: decisions cached for an hour', () => {
    const { stack } = compliantApi();
    const fn = stack.node.findChild('Fn') as lambda.Function;
    const auth = new apigw.TokenAuthorizer(stack, 'Slow', { handler: fn, resultsCacheTtl: Duration.hours(1) });
    new apigw.RestApi(stack, 'Api2').root.addMethod('GET', new apigw.MockIntegration(), { authorizer: auth });
    expect(granularFindings(stack, rule)).toEqual(['ResultTtl']);
  });

  test('Noncompliance 2: a request authorizer keyed on a query parameter', () => {
    const { stack } = compliantApi();
    const fn = stack.node.findChild('Fn') as lambda.Function;
    const auth = new apigw.RequestAuthorizer(stack, 'ByQuery', { handler: fn, identitySources: [apigw.IdentitySource.queryString('token')] });
    new apigw.RestApi(stack, 'Api2').root.addMethod('GET', new apigw.MockIntegration(), { authorizer: auth });
    expect(granularFindings(stack, rule)).toEqual(['IdentitySource']);
  });

  test('Compliance: token authorizer on the Authorization header, 300 s', () => {
    expectCompliant(compliantApi().stack, rule);
  });
});

describe('FHIR.HIPAA-APIGWGatewayResponseHSTS', () => {
  const rule = 'APIGWGatewayResponseHSTS';

  test('Noncompliance 1: a RestApi without DEFAULT_4XX/DEFAULT_5XX is reported on the RestApi', () => {
    const { stack } = compliantApi({ gatewayResponses: false });
    expect(granularFindings(stack, rule)).toEqual(['MissingGatewayResponse::DEFAULT_4XX', 'MissingGatewayResponse::DEFAULT_5XX']);
    expect(violatingPaths(stack, rule)).toEqual(['Test/Api/Resource', 'Test/Api/Resource']);
  });

  test('Noncompliance 2: a gateway response without HSTS', () => {
    const { stack, api } = compliantApi();
    api.addGatewayResponse('Throttled', { type: apigw.ResponseType.THROTTLED, responseHeaders: { 'Cache-Control': "'no-store'" } });
    expect(violatingPaths(stack, rule)).toEqual(['Test/Api/Throttled/Resource']);
  });

  test('Noncompliance 3: HSTS max-age shorter than a year', () => {
    const { stack, api } = compliantApi();
    api.addGatewayResponse('Unauthorized', { type: apigw.ResponseType.UNAUTHORIZED, responseHeaders: { 'Strict-Transport-Security': "'max-age=300'" } });
    expectNoncompliant(stack, rule);
  });

  test('Compliance: DEFAULT_4XX and DEFAULT_5XX with HSTS', () => {
    expectCompliant(compliantApi().stack, rule);
  });
});
