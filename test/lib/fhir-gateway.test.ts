import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ACCESS_LOG_FIELDS, AuditTrail, FhirDatastore, FhirGateway, FhirGatewayProps, FhirKeys, SegmentedNetwork, SmartAppRegistry, SmartIdentity } from '../../lib';
import { loadAppRegistry } from '../../policies/app-registry';
import { createTestApp } from '../helpers/app';

const apps = loadAppRegistry();

function platform(stackId: string, environment: 'sandbox' | 'staging' | 'production' = 'staging') {
  const stack = new Stack(createTestApp(), stackId);
  const keys = new FhirKeys(stack, 'Keys');
  const network = new SegmentedNetwork(stack, 'Network', { keys });
  const datastore = new FhirDatastore(stack, 'Datastore', { keys, network });
  const audit = new AuditTrail(stack, 'Audit', { keys, environment });
  const identity = new SmartIdentity(stack, 'Identity', { keys, network, environment, apps });
  const registry = new SmartAppRegistry(stack, 'Apps', { identity, apps });
  const base: FhirGatewayProps = { keys, network, datastore, audit, identity, registry, environment };
  return { stack, base };
}

const { stack, base } = platform('GwStack');
const gateway = new FhirGateway(stack, 'Gateway', { ...base, corsAllowedOrigins: ['https://portal.example.org'] });
const template = Template.fromStack(stack);
const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).map((m) => m.Properties);
const pathOf = (resourceRef: unknown): string => {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const walk = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    if (!id || !resources[id]) return '';
    return `${walk(resources[id].Properties.ParentId)}/${resources[id].Properties.PathPart}`;
  };
  return walk(resourceRef);
};
const routes = methods.map((m) => ({ route: `${m.HttpMethod} ${pathOf(m.ResourceId)}`, auth: m.AuthorizationType, m }));

describe('FhirGateway: routes', () => {
  test('a regional REST API', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] }, ApiKeySourceType: 'AUTHORIZER' });
  });
  test('/r4 and /r4/{proxy+} go to the proxy behind the SMART authorizer', () => {
    for (const route of ['ANY /r4', 'ANY /r4/{proxy+}']) {
      const m = routes.find((r) => r.route === route)!;
      expect(m.auth).toBe('CUSTOM');
      expect(m.m.AuthorizerId).toEqual(stack.resolve(gateway.authorizer.authorizerId));
      expect(JSON.stringify(m.m.Integration.Uri)).toContain(stack.getLogicalId(gateway.proxyFunction.fn.node.defaultChild as never));
    }
  });
  test('exactly the five SMART routes are public', () => {
    const anonymous = routes.filter((r) => r.auth === 'NONE' && !r.route.startsWith('OPTIONS')).map((r) => r.route).sort();
    expect(anonymous).toEqual(['GET /r4/.well-known/smart-configuration', 'GET /r4/metadata', 'POST /auth/introspect', 'POST /auth/revoke', 'POST /auth/token']);
  });
  test('a method added without the authorizer fails the synth, naming it', () => {
    const { stack: s, base: b } = platform('Extended');
    const gw = new FhirGateway(s, 'Gateway', b);
    gw.api.root.addResource('export').addMethod('GET', new apigateway.MockIntegration());
    expect(() => Template.fromStack(s)).toThrow(/method GET \/export has no SMART authorizer/);
  });
});

describe('FhirGateway: the authorizer', () => {
  test('caches results at most 300 s, keyed by the Authorization header', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', { Type: 'REQUEST', IdentitySource: 'method.request.header.Authorization', AuthorizerResultTtlInSeconds: 60 });
    const { stack: s, base: b } = platform('LongCache');
    expect(() => new FhirGateway(s, 'Gateway', { ...b, authorizerCacheTtl: Duration.minutes(10) })).toThrow(/at most 300 s/);
  });
  test('knows every registered client, its tier and usage key', () => {
    const fn = template.toJSON().Resources[stack.getLogicalId(gateway.authorizerFunction.fn.node.defaultChild as never)];
    expect(JSON.stringify(fn.Properties.Environment.Variables.CLIENTS)).toContain('usageIdentifierKey');
  });
});

describe('FhirGateway: stage', () => {
  test('JSON access logs with every field the reviewer needs, to a CMK log group kept six years', () => {
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0].Properties;
    expect(JSON.parse(stage.AccessLogSetting.Format)).toEqual(ACCESS_LOG_FIELDS);
    for (const v of ['$context.requestId', '$context.extendedRequestId', '$context.identity.sourceIp', '$context.authorizer.principalId', '$context.authorizer.clientId', '$context.tlsVersion', '$context.cipherSuite', '$context.authorizer.error', '$context.integrationLatency']) {
      expect(stage.AccessLogSetting.Format).toContain(v);
    }
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: stack.resolve(base.keys.logs.keyArn), RetentionInDays: 2192 });
  });
  test('execution logging at ERROR, no data trace, metrics, throttling on */*', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true, ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 })],
    });
  });
  test('X-Ray tracing', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
  });
  test('execution logs go to a pre-created CMK log group', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: Match.objectLike({ 'Fn::Join': Match.anyValue() }), KmsKeyId: stack.resolve(base.keys.logs.keyArn) });
  });
  test('a usage plan per registered app, with its throttle and quota', () => {
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', apps.length);
    for (const app of apps) {
      template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
        Throttle: { RateLimit: app.throttle.rateLimit, BurstLimit: app.throttle.burstLimit },
        Quota: { Limit: app.throttle.quotaPerDay, Period: 'DAY' },
      });
    }
  });
});

describe('FhirGateway: responses and CORS', () => {
  test.each(['DEFAULT_4XX', 'DEFAULT_5XX', 'UNAUTHORIZED', 'ACCESS_DENIED', 'THROTTLED', 'WAF_FILTERED'])('%s carries HSTS, nosniff, no-store and a generic OperationOutcome', (type) => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: type,
      ResponseParameters: {
        'gatewayresponse.header.Strict-Transport-Security': "'max-age=63072000; includeSubDomains'",
        'gatewayresponse.header.X-Content-Type-Options': "'nosniff'",
        'gatewayresponse.header.Cache-Control': "'no-store'",
      },
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"resourceType":"OperationOutcome"') },
    });
  });
  test('gateway response bodies echo nothing from the request', () => {
    for (const r of Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'))) {
      expect(r.Properties.ResponseTemplates['application/json']).not.toMatch(/\$context|\$input|\$util/);
    }
  });
  test('CORS only for the listed origins, never *', () => {
    expect(JSON.stringify(template.toJSON())).not.toContain("'*'");
    const options = methods.filter((m) => m.HttpMethod === 'OPTIONS');
    expect(options.length).toBeGreaterThan(0);
    expect(JSON.stringify(options)).toContain("'https://portal.example.org'");
  });
  test.each([['*'], ['http://portal.example.org'], ['https://portal.example.org/path']])('origin %p is refused', (origin) => {
    const { stack: s, base: b } = platform('BadCors');
    expect(() => new FhirGateway(s, 'Gateway', { ...b, corsAllowedOrigins: [origin] })).toThrow(/not an exact https origin/);
  });
});

describe('FhirGateway: domains and environments', () => {
  const withDomain = platform('Domain', 'production');
  const cert = acm.Certificate.fromCertificateArn(withDomain.stack, 'Cert', 'arn:aws:acm:us-east-1:111122223333:certificate/abc');
  const gw = new FhirGateway(withDomain.stack, 'Gateway', { ...withDomain.base, corsAllowedOrigins: [], customDomain: { domainName: 'fhir.example.org', certificate: cert } });
  const t = Template.fromStack(withDomain.stack);
  test('a custom domain uses TLS 1.2 by default', () => {
    t.hasResourceProperties('AWS::ApiGateway::DomainName', { DomainName: 'fhir.example.org', SecurityPolicy: 'TLS_1_2', EndpointConfiguration: { Types: ['REGIONAL'] } });
  });
  test('a custom domain disables the execute-api endpoint', () => {
    t.hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: true });
    expect(gw.fhirBaseUrl).toBe('https://fhir.example.org/r4');
  });
  test('TLS 1.3 policies take the STRICT endpoint access mode', () => {
    const p = platform('Tls13', 'staging');
    const c = acm.Certificate.fromCertificateArn(p.stack, 'Cert', 'arn:aws:acm:us-east-1:111122223333:certificate/abc');
    new FhirGateway(p.stack, 'Gateway', { ...p.base, customDomain: { domainName: 'fhir.example.org', certificate: c, securityPolicy: apigateway.SecurityPolicy.TLS13_1_3_2025_09 } });
    Template.fromStack(p.stack).hasResourceProperties('AWS::ApiGateway::DomainName', { SecurityPolicy: 'SecurityPolicy_TLS13_1_3_2025_09', EndpointAccessMode: 'STRICT' });
  });
  test('mutual TLS for system/ integrations uses the given trust store', () => {
    const p = platform('Mtls', 'staging');
    const c = acm.Certificate.fromCertificateArn(p.stack, 'Cert', 'arn:aws:acm:us-east-1:111122223333:certificate/abc');
    const trustStore = s3.Bucket.fromBucketName(p.stack, 'TrustStore', 'fhir-truststore');
    new FhirGateway(p.stack, 'Gateway', { ...p.base, customDomain: { domainName: 'fhir.example.org', certificate: c, mutualTls: { bucket: trustStore, key: 'ca-bundle.pem' } } });
    Template.fromStack(p.stack).hasResourceProperties('AWS::ApiGateway::DomainName', { MutualTlsAuthentication: { TruststoreUri: 's3://fhir-truststore/ca-bundle.pem' } });
  });

  test('production requires a custom domain and an explicit CORS list', () => {
    const p = platform('ProdNoDomain', 'production');
    expect(() => new FhirGateway(p.stack, 'Gateway', { ...p.base, corsAllowedOrigins: [] })).toThrow(/production requires customDomain/);
    const q = platform('ProdNoCors', 'production');
    const c = acm.Certificate.fromCertificateArn(q.stack, 'Cert', 'arn:aws:acm:us-east-1:111122223333:certificate/abc');
    expect(() => new FhirGateway(q.stack, 'Gateway', { ...q.base, customDomain: { domainName: 'fhir.example.org', certificate: c } })).toThrow(/corsAllowedOrigins/);
  });
});

describe('FhirGateway: the proxy', () => {
  test('runs in the isolated subnets with the proxy security group and logs to the AuditEvent log group', () => {
    const fn = template.toJSON().Resources[stack.getLogicalId(gateway.proxyFunction.fn.node.defaultChild as never)].Properties;
    expect(fn.VpcConfig.SecurityGroupIds).toEqual([stack.resolve(base.network.proxySecurityGroup.securityGroupId)]);
    expect(fn.LoggingConfig.LogGroup).toEqual(stack.resolve(base.audit.auditEventLogGroup.logGroupName));
  });
  test('knows the label policy, the app registry and which app each client is', () => {
    const env = template.toJSON().Resources[stack.getLogicalId(gateway.proxyFunction.fn.node.defaultChild as never)].Properties.Environment.Variables;
    expect(env).toMatchObject({ LABEL_POLICY_FILE: '/var/task/labels.json', APP_REGISTRY_FILE: '/var/task/apps.json', FHIR_DEFINITIONS_FILE: '/var/task/fhir-r4-definitions.json' });
    for (const app of apps) expect(JSON.stringify(env.APP_CLIENT_IDS)).toContain(app.id);
  });

  test('may call HealthLake through the endpoint only', () => {
    const policy = template.toJSON().Resources[stack.getLogicalId(gateway.proxyFunction.role.policy.node.defaultChild as never)].Properties.PolicyDocument;
    const hl = policy.Statement.find((s: { Action: string[] }) => JSON.stringify(s.Action).includes('healthlake:'));
    expect(hl.Condition.StringEquals['aws:SourceVpce']).toEqual(stack.resolve(base.network.healthLakeEndpoint.vpcEndpointId));
  });
});
