import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ACCESS_LOG_FIELDS, AuditTrail, FhirDatastore, FhirGateway, FhirGatewayProps, FhirKeys, SegmentedNetwork, SmartAppRegistry, SmartIdentity } from '../../lib';
import { AppRegistryDocument, BUNDLED_APP_REGISTRY_METADATA_KEY, loadAppRegistry } from '../../policies/app-registry';
import { BUNDLED_LABEL_POLICY_METADATA_KEY, DEFAULT_LABEL_POLICY_FILE, LabelPolicyDocument } from '../../policies/label-policy';
import { createCompliancePacks } from '../../policies';
import { acknowledge } from '../../policies/compliance/acknowledge';
import { createTestApp } from '../helpers/app';
import { testApp } from '../helpers/registry';

const apps = loadAppRegistry();

function platform(stackId: string, environment: 'sandbox' | 'staging' | 'production' = 'staging', options: { registry?: AppRegistryDocument; bundle?: boolean } = {}) {
  const stack = new Stack(createTestApp({ bundle: options.bundle }), stackId);
  const keys = new FhirKeys(stack, 'Keys');
  const network = new SegmentedNetwork(stack, 'Network', { keys });
  const datastore = new FhirDatastore(stack, 'Datastore', { keys, network });
  const audit = new AuditTrail(stack, 'Audit', { keys, environment });
  const appRegistry = options.registry ?? AppRegistryDocument.fromApps(apps);
  const identity = new SmartIdentity(stack, 'Identity', { keys, network, environment, apps: appRegistry.apps });
  const registry = new SmartAppRegistry(stack, 'Apps', { identity, registry: appRegistry });
  const base: FhirGatewayProps = { keys, network, datastore, audit, identity, registry, environment };
  return { stack, base };
}

/** The environment variables of a function in a synthesized stack. */
function variablesOf(s: Stack, fn: { node: { defaultChild?: unknown } }): Record<string, unknown> {
  return Template.fromStack(s).toJSON().Resources[s.getLogicalId(fn.node.defaultChild as never)].Properties.Environment.Variables;
}

/** A team's registry file: one app of its own, not one of the kit's sample apps. */
function teamFiles(): { dir: string; apps: string; labels: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-team-'));
  const team = testApp({ id: 'team-portal', name: 'Team Portal', identifier: { system: 'https://team.example/sid/app', value: 'team-portal' }, labels: ['R'] });
  const appsFile = path.join(dir, 'apps.json');
  fs.writeFileSync(appsFile, `${JSON.stringify({ apps: [team] }, undefined, 2)}\n`);
  const labels = JSON.parse(fs.readFileSync(DEFAULT_LABEL_POLICY_FILE, 'utf8'));
  labels.consent.cacheTtlSeconds = 15;
  labels.purposeOfUse.apps = { 'team-portal': 'TREAT' };
  const labelsFile = path.join(dir, 'labels.json');
  fs.writeFileSync(labelsFile, JSON.stringify(labels));
  return { dir, apps: appsFile, labels: labelsFile };
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
  test('exactly the six SMART routes are public', () => {
    const anonymous = routes.filter((r) => r.auth === 'NONE' && !r.route.startsWith('OPTIONS')).map((r) => r.route).sort();
    expect(anonymous).toEqual(['GET /auth/authorize', 'GET /r4/.well-known/smart-configuration', 'GET /r4/metadata', 'POST /auth/introspect', 'POST /auth/revoke', 'POST /auth/token']);
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
    const variables = fn.Properties.Environment.Variables;
    // CLIENTS: `<client id>=<tier>,<app id> …`; every usage key is the template with the app id in it.
    for (const r of base.registry.registrations) expect(JSON.stringify(variables.CLIENTS)).toContain(`=${r.tier},${r.appId}`);
    expect(variables.USAGE_KEY_TEMPLATE).toMatch(/^ztf-usage-\{app\}-[a-z0-9]+$/);
    for (const r of base.registry.registrations) expect(r.usageIdentifierKey).toBe(variables.USAGE_KEY_TEMPLATE.replace('{app}', r.appId));
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
    // The proxy's answers, not only the preflight and the façade, name the same origins.
    expect(variablesOf(stack, gateway.proxyFunction.fn).ALLOWED_ORIGINS).toBe('https://portal.example.org');
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
    expect(gw.fhirBaseUrl).toBe('https://fhir.example.org/v1/r4');
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

describe("FhirGateway: the team's app registry and label policy", () => {
  const files = teamFiles();
  const registry = AppRegistryDocument.fromFile(files.apps);
  const labelPolicy = LabelPolicyDocument.fromFile(files.labels);
  const p = platform('TeamRegistry', 'staging', { registry, bundle: true });
  const gw = new FhirGateway(p.stack, 'Gateway', { ...p.base, labelPolicy });
  const assetDir = (gw.proxyFunction.fn.node.findChild('Code') as unknown as { assetPath: string }).assetPath;
  const assetRoot = path.isAbsolute(assetDir) ? assetDir : path.join((p.stack.node.root as App).outdir, assetDir);

  test("the proxy's asset carries exactly the team's registry and label policy, not the kit's samples", () => {
    const root = assetRoot;
    expect(fs.readFileSync(path.join(root, 'apps.json'), 'utf8')).toBe(fs.readFileSync(files.apps, 'utf8'));
    expect(fs.readFileSync(path.join(root, 'labels.json'), 'utf8')).toBe(fs.readFileSync(files.labels, 'utf8'));
    expect(fs.existsSync(path.join(root, 'profiles', 'zt-observation.json'))).toBe(true);
  });

  test('the Cognito clients are the registry\'s, and the proxy maps each client to its app', () => {
    const t = Template.fromStack(p.stack);
    expect(Object.values(t.findResources('AWS::Cognito::UserPoolClient')).map((c) => c.Properties.ClientName)).toEqual(['team-portal']);
    const env = variablesOf(p.stack, gw.proxyFunction.fn);
    expect(JSON.stringify(env.APP_CLIENT_IDS)).toContain('team-portal');
    expect(JSON.stringify(env.APP_CLIENT_IDS)).not.toContain('harbor-patient-portal');
  });

  test('what the asset carries is recorded on the proxy for the reviewer\'s report', () => {
    const metadata = (type: string) => gw.proxyFunction.node.metadata.find((m) => m.type === type)?.data;
    expect(metadata(BUNDLED_APP_REGISTRY_METADATA_KEY)).toEqual({ source: registry.source, document: JSON.parse(fs.readFileSync(files.apps, 'utf8')) });
    expect(metadata(BUNDLED_LABEL_POLICY_METADATA_KEY)).toEqual({ source: labelPolicy.source, document: JSON.parse(fs.readFileSync(files.labels, 'utf8')) });
    expect(gw.appRegistry).toBe(registry);
    expect(gw.labelPolicy).toBe(labelPolicy);
  });

  test('by default the proxy carries the registry the SmartAppRegistry was made from', () => {
    expect(gateway.appRegistry.apps.map((a) => a.id)).toEqual(apps.map((a) => a.id));
    expect(gateway.labelPolicy.source).toBe('policies/labels.json');
  });

  test('a client a function names whose app is missing from the bundled registry fails the synth, naming the client and the app', () => {
    const q = platform('MissingApp');
    new FhirGateway(q.stack, 'Gateway', { ...q.base, appRegistry: AppRegistryDocument.fromApps(apps.filter((a) => a.id !== 'cardio-insight'), 'partial registry') });
    expect(() => Template.fromStack(q.stack)).toThrow(/variable APP_CLIENT_IDS maps client MissingApp\/Identity\/UserPool\/cardio-insight to app "cardio-insight", which is not in the app registry bundled into the FHIR proxy's asset \(partial registry\)/);
    expect(() => Template.fromStack(q.stack)).toThrow(/function MissingApp\/Gateway\/Authorizer variable CLIENTS names client MissingApp\/Identity\/UserPool\/cardio-insight, the client of app "cardio-insight"/);
  });

  test('a registry or label policy that is invalid fails when it is made, naming the file and the field', () => {
    const bad = path.join(files.dir, 'bad-apps.json');
    fs.writeFileSync(bad, JSON.stringify({ apps: [{ ...testApp(), redirectUris: ['http://team.example/cb'] }] }));
    expect(() => AppRegistryDocument.fromFile(bad)).toThrow(/bad-apps\.json: app "acme-portal" \(apps\[0\]\): field "redirectUris\[0\]": must use https/);
    expect(() => AppRegistryDocument.fromFile(path.join(files.dir, 'none.json'))).toThrow(/none\.json: cannot be read \(ENOENT\)/);
    expect(() => LabelPolicyDocument.fromObject({ labels: [] }, 'team labels')).toThrow(/team labels: field "defaultConfidentiality": is required/);
  });
});

describe("FhirGateway: the proxy's settings are props", () => {
  test('defaults: the four readable non-compartment types, the issuer as user identifier system, nothing else optional', () => {
    const env = variablesOf(stack, gateway.proxyFunction.fn);
    expect(env.READABLE_NON_COMPARTMENT_TYPES).toBe('Medication Practitioner Organization Location');
    expect(env.USER_IDENTIFIER_SYSTEM).toEqual(stack.resolve(base.identity.issuer));
    for (const absent of ['ALLOWED_OPERATIONS', 'REQUIRED_PROFILES', 'MAX_BODY_BYTES', 'HEALTHLAKE_TIMEOUT_MS', 'CONSENT_CACHE_TTL_SECONDS', 'CLIENT_IDENTIFIER_SYSTEM']) {
      expect([absent, env[absent]]).toEqual([absent, undefined]);
    }
    // One version, v1, active, unless apiVersions says otherwise.
    expect(env.API_VERSIONS).toBe('[{"version":"v1","status":"active"}]');
  });

  test('the construct writes what the props say, for the proxy and the SMART façade', () => {
    const p = platform('ProxyProps');
    const apiVersions = [{ version: 'v1', status: 'deprecated' as const, deprecatedAt: '2027-01-01', sunsetAt: '2027-07-01', successor: 'v2' }, { version: 'v2', status: 'active' as const }];
    const gw = new FhirGateway(p.stack, 'Gateway', {
      ...p.base,
      corsAllowedOrigins: ['https://portal.example.org'],
      readableNonCompartmentTypes: ['Medication', 'Substance'],
      operations: { meta: { permission: 'r', levels: ['instance'] } },
      requiredProfiles: { Observation: ['https://zero-trust-fhir.example.org/fhir/StructureDefinition/zt-observation'] },
      maxBodyBytes: 1_048_576,
      healthLakeTimeout: Duration.seconds(8),
      consentCacheTtl: Duration.seconds(20),
      clientIdentifierSystem: 'https://fhir.example.org/sid/client',
      userIdentifierSystem: 'https://fhir.example.org/sid/user',
      apiVersions,
    });
    expect(variablesOf(p.stack, gw.proxyFunction.fn)).toMatchObject({
      READABLE_NON_COMPARTMENT_TYPES: 'Medication Substance',
      ALLOWED_OPERATIONS: '{"meta":{"permission":"r","levels":["instance"]}}',
      REQUIRED_PROFILES: '{"Observation":["https://zero-trust-fhir.example.org/fhir/StructureDefinition/zt-observation"]}',
      MAX_BODY_BYTES: '1048576',
      HEALTHLAKE_TIMEOUT_MS: '8000',
      CONSENT_CACHE_TTL_SECONDS: '20',
      CLIENT_IDENTIFIER_SYSTEM: 'https://fhir.example.org/sid/client',
      USER_IDENTIFIER_SYSTEM: 'https://fhir.example.org/sid/user',
      API_VERSIONS: JSON.stringify(apiVersions),
      ALLOWED_ORIGINS: 'https://portal.example.org',
    });
    expect(variablesOf(p.stack, p.base.identity.facade.fn)).toMatchObject({ ALLOWED_ORIGINS: 'https://portal.example.org', API_VERSIONS: JSON.stringify(apiVersions) });
  });

  const ZT = 'https://zero-trust-fhir.example.org/fhir/StructureDefinition/zt-observation';
  test.each<[string, Partial<FhirGatewayProps>, RegExp]>([
    ['a type inside the Patient compartment', { readableNonCompartmentTypes: ['Observation'] }, /^FhirGateway: readableNonCompartmentTypes: Observation is in the Patient compartment/],
    ['a type that is not R4', { readableNonCompartmentTypes: ['Drug'] }, /^FhirGateway: readableNonCompartmentTypes: "Drug" is not an R4 resource type/],
    ['a built-in operation', { operations: { everything: { permission: 'r', levels: ['instance'] } } }, /^FhirGateway: operations: invalid operation name everything/],
    ['a body limit of zero', { maxBodyBytes: 0 }, /^FhirGateway: maxBodyBytes: must be a whole number from 1 to 10485760/],
    ['a HealthLake timeout past the proxy\'s own', { healthLakeTimeout: Duration.seconds(30) }, /^FhirGateway: healthLakeTimeout is 30 seconds; give 1 ms to 25 s/],
    ['a Consent cache over a minute', { consentCacheTtl: Duration.minutes(2) }, /^FhirGateway: consentCacheTtl is 2 minutes; give whole seconds from 0 to 60/],
    ['a Consent cache in fractions of a second', { consentCacheTtl: Duration.millis(1500) }, /^FhirGateway: consentCacheTtl is 1 second 500 millis; give whole seconds/],
    ['an identifier system that is not a URI', { userIdentifierSystem: 'cognito' }, /^FhirGateway: userIdentifierSystem: must be an absolute URI/],
    ['a required profile the proxy does not carry', { requiredProfiles: { Observation: ['https://example.org/StructureDefinition/none'] } }, /^FhirGateway: requiredProfiles\.Observation: https:\/\/example\.org\/StructureDefinition\/none is not the url of a profile in the kit's policies\/profiles/],
    ['a required profile of another type', { requiredProfiles: { Condition: [ZT] } }, /^FhirGateway: requiredProfiles\.Condition: .* constrains Observation, not Condition/],
    ['a profiles folder that does not exist', { profilesDir: '/nonexistent/profiles' }, /^FhirGateway: profilesDir: \/nonexistent\/profiles is not a folder/],
    ['a deprecated version without a sunset', { apiVersions: [{ version: 'v1', status: 'deprecated', deprecatedAt: '2027-01-01' }] }, /^FhirGateway: apiVersions: versions\[0\]: a deprecated version \(v1\) needs deprecatedAt and sunsetAt\. Give a list such as/],
    ['a version listed twice', { apiVersions: [{ version: 'v2', status: 'active' }, { version: 'v2', status: 'active' }] }, /^FhirGateway: apiVersions: version v2 is listed twice/],
    ['only retired versions', { apiVersions: [{ version: 'v1', status: 'retired' }] }, /^FhirGateway: apiVersions: at least one version must be active or deprecated/],
  ])('%s fails at synth, naming the prop', (_name, props, message) => {
    const q = platform('BadProps');
    expect(() => new FhirGateway(q.stack, 'Gateway', { ...q.base, ...props })).toThrow(message);
  });

  test('a profiles folder with something other than a StructureDefinition fails naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-profiles-'));
    fs.writeFileSync(path.join(dir, 'patient.json'), JSON.stringify({ resourceType: 'Patient', id: 'x' }));
    const q = platform('BadProfiles');
    expect(() => new FhirGateway(q.stack, 'Gateway', { ...q.base, profilesDir: dir })).toThrow(/^FhirGateway: profilesDir \(.*\): patient\.json holds something other than a StructureDefinition/);
  });
});

describe('FhirGateway: routes a team adds', () => {
  const p = platform('TeamRoutes');
  const gw = new FhirGateway(p.stack, 'Gateway', p.base);
  const reports = gw.addRoute('/reports/{id}', 'get', new apigateway.MockIntegration());
  const health = gw.addPublicRoute('/health', 'GET', new apigateway.MockIntegration(), { reason: 'load balancer health check: answers 200 and reads nothing' });
  const t = Template.fromStack(p.stack);
  const cfn = (m: apigateway.Method) => t.toJSON().Resources[p.stack.getLogicalId(m.node.defaultChild as never)].Properties;

  test('addRoute puts the method behind the SMART authorizer, the Authorization header required', () => {
    expect(cfn(reports)).toMatchObject({ HttpMethod: 'GET', AuthorizationType: 'CUSTOM', AuthorizerId: p.stack.resolve(gw.authorizer.authorizerId), RequestParameters: { 'method.request.header.Authorization': true } });
    expect(reports.resource.path).toBe('/reports/{id}');
  });

  test('addPublicRoute adds the method without the authorizer, marked public with its reason', () => {
    expect(cfn(health)).toMatchObject({ HttpMethod: 'GET', AuthorizationType: 'NONE' });
    expect(health.node.metadata.find((m) => m.type === 'zero-trust-fhir:public-route')?.data).toEqual({ method: 'GET', path: '/health', reason: 'load balancer health check: answers 200 and reads nothing' });
  });

  test('a public route is a FHIR.HIPAA finding naming the method, the only one on it, until acknowledged there', () => {
    const onHealth = () => createCompliancePacks().flatMap((pack) => pack.validateScope(p.stack).violations
      .filter((v) => v.violatingResources.some((r) => (r.constructPath ?? '').startsWith(health.node.path)))
      .map((v) => ({ rule: v.ruleName, description: v.description })));
    expect(onHealth()).toEqual([{ rule: 'FHIR.HIPAA-APIGWPublicRoute', description: expect.stringMatching(/^The method GET \/health answers without the SMART authorizer \(declared public: load balancer health check/) }]);
    acknowledge(health, 'FHIR.HIPAA-APIGWPublicRoute', 'Answers 200 from a mock integration: no data, no Lambda, nothing about the caller.');
    expect(onHealth()).toEqual([]);
  });

  test.each<[string, () => unknown, RegExp]>([
    ['a public route without a reason', () => gw.addPublicRoute('/status', 'GET', new apigateway.MockIntegration(), { reason: '  ' }), /^FhirGateway\.addPublicRoute: GET \/status needs a reason/],
    ['a route under /r4', () => gw.addRoute('/r4/custom', 'GET', new apigateway.MockIntegration()), /^FhirGateway\.addRoute: GET \/r4\/custom is under \/r4, which only the FHIR proxy serves/],
    ['a public route under /auth', () => gw.addPublicRoute('/auth/login', 'POST', new apigateway.MockIntegration(), { reason: 'x' }), /^FhirGateway\.addPublicRoute: POST \/auth\/login is under \/auth/],
    ['OPTIONS', () => gw.addRoute('/reports', 'OPTIONS', new apigateway.MockIntegration()), /^FhirGateway\.addRoute: OPTIONS \/reports: CORS preflight is the gateway's/],
    ['an unknown method', () => gw.addRoute('/reports', 'FETCH', new apigateway.MockIntegration()), /^FhirGateway\.addRoute: FETCH \/reports: the method must be one of GET, POST/],
    ['a malformed path', () => gw.addRoute('reports//x', 'GET', new apigateway.MockIntegration()), /^FhirGateway\.addRoute: GET reports\/\/x: the path must start with \//],
    ['a route that exists', () => gw.addRoute('/health', 'GET', new apigateway.MockIntegration()), /^FhirGateway\.addRoute: GET \/health exists already/],
  ])('%s is refused, naming the route', (_name, add, message) => {
    expect(add).toThrow(message);
  });

  test('a method added around the gateway fails the synth naming its path, HTTP method and construct, and the fix', () => {
    const q = platform('AroundGateway');
    const g = new FhirGateway(q.stack, 'Gateway', q.base);
    g.api.root.addResource('admin').addMethod('DELETE', new apigateway.MockIntegration());
    expect(() => Template.fromStack(q.stack)).toThrow(
      /FhirGateway: method DELETE \/admin has no SMART authorizer \(construct AroundGateway\/Gateway\/Api\/Default\/admin\/DELETE\)\. Add it with gateway\.addRoute\('\/admin', 'DELETE', integration\)/,
    );
  });
});
