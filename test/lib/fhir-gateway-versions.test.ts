/**
 * Several API versions side by side (#16): one REST API, a stage per version that is not
 * retired, each with the same routes, logs, throttling and usage plans, reachable (Lambda
 * permissions per stage and method), mapped at its own base path on the custom domain; the
 * functions get the list and the `{version}` bases; the report gets the versions as metadata.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { AuditTrail, FhirDatastore, FhirGateway, FhirKeys, SegmentedNetwork, SmartAppRegistry, SmartIdentity } from '../../lib';
import { API_VERSIONS_METADATA_KEY } from '../../lib/api-versions';
import { AppRegistryDocument, loadAppRegistry } from '../../policies/app-registry';
import type { ApiLifecycle } from '../../lambdas/shared/api-lifecycle';
import { createTestApp } from '../helpers/app';

const VERSIONS: ApiLifecycle[] = [
  { version: 'v0', status: 'retired', successor: 'v2' },
  { version: 'v1', status: 'deprecated', deprecatedAt: '2026-06-01', sunsetAt: '2027-06-01', successor: 'v2', migrationNotesUrl: 'https://fhir.example.org/docs/v2' },
  { version: 'v2', status: 'active' },
];

const stack = new Stack(createTestApp(), 'Versions');
const keys = new FhirKeys(stack, 'Keys');
const network = new SegmentedNetwork(stack, 'Network', { keys });
const datastore = new FhirDatastore(stack, 'Datastore', { keys, network });
const audit = new AuditTrail(stack, 'Audit', { keys, environment: 'staging' });
const appRegistry = AppRegistryDocument.fromApps(loadAppRegistry());
const identity = new SmartIdentity(stack, 'Identity', { keys, network, environment: 'staging', apps: appRegistry.apps });
const registry = new SmartAppRegistry(stack, 'Apps', { identity, registry: appRegistry });
const certificate = acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:111122223333:certificate/abc');
const gateway = new FhirGateway(stack, 'Gateway', {
  keys, network, datastore, audit, identity, registry, environment: 'staging',
  customDomain: { domainName: 'fhir.example.org', certificate },
  apiVersions: VERSIONS,
});
// A team's route, added after the gateway is built: reachable from every stage too.
gateway.addRoute('/reports/{id}', 'GET', new apigateway.LambdaIntegration(gateway.proxyFunction.fn));
const template = Template.fromStack(stack);
const json = template.toJSON();
const resources = json.Resources as Record<string, { Type: string; Properties: any; DependsOn?: string[] }>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const variables = (fn: { node: { defaultChild?: unknown } }) => resources[stack.getLogicalId(fn.node.defaultChild as never)].Properties.Environment.Variables;

describe('FhirGateway: a stage per API version', () => {
  test('the current version is the last active one; its stage is the deployment stage; a retired version has no stage', () => {
    expect(gateway.currentVersion).toBe('v2');
    expect(gateway.stages.map((s) => stack.resolve(s.stageName))).toEqual([{ Ref: expect.any(String) }, { Ref: expect.any(String) }]);
    expect(gateway.stages[1]).toBe(gateway.stage);
    const stages = ofType('AWS::ApiGateway::Stage').map(([, r]) => r.Properties);
    expect(stages.map((s) => s.StageName).sort()).toEqual(['v1', 'v2']);
    const deployments = new Set(stages.map((s) => JSON.stringify(s.DeploymentId)));
    expect(deployments.size).toBe(1);
  });

  test('every stage has the same logging, tracing, throttling and no data trace', () => {
    const stages = ofType('AWS::ApiGateway::Stage').map(([, r]) => r.Properties);
    const settings = stages.map(({ StageName: _n, ...rest }) => JSON.stringify(rest));
    expect(new Set(settings).size).toBe(1);
    expect(stages[0]).toMatchObject({ TracingEnabled: true, MethodSettings: [{ DataTraceEnabled: false, LoggingLevel: 'ERROR', MetricsEnabled: true, HttpMethod: '*', ResourcePath: '/*' }] });
  });

  test('each stage has its own CMK execution log group, kept six years, and API Gateway may write to each', () => {
    const groups = ofType('AWS::Logs::LogGroup').map(([, r]) => JSON.stringify(r.Properties.LogGroupName ?? '')).filter((n) => n.includes('API-Gateway-Execution-Logs_'));
    expect(groups).toHaveLength(2);
    expect(groups.some((g) => g.includes('/v1'))).toBe(true);
    expect(groups.some((g) => g.includes('/v2'))).toBe(true);
    expect(gateway.executionLogGroups.size).toBe(2);
  });

  test('each method integrated with a Lambda may be invoked from every stage, and only from its own method and path', () => {
    const permissions = ofType('AWS::Lambda::Permission').map(([, r]) => JSON.stringify(r.Properties.SourceArn));
    const deploymentStage = stack.getLogicalId(gateway.stage.node.defaultChild as never);
    const fromStage = (p: string, stage: string, route: string): boolean =>
      stage === 'v2' ? p.includes(`{"Ref":"${deploymentStage}"}`) && p.endsWith(`"${route}"]]}`) : p.endsWith(`"/${stage}${route}"]]}`);    for (const stage of ['v1', 'v2']) {
      for (const route of ['/*/r4', '/*/r4/*', '/GET/r4/metadata', '/GET/r4/.well-known/smart-configuration', '/GET/auth/authorize', '/POST/auth/token', '/POST/auth/introspect', '/POST/auth/revoke', '/GET/reports/*']) {
        expect([stage, route, permissions.filter((p) => fromStage(p, stage, route)).length]).toEqual([stage, route, 1]);
      }
    }
    expect(permissions.some((p) => p.includes('/v0/'))).toBe(false);
    expect(permissions.every((p) => !p.includes('"/*/*/*"'))).toBe(true);
  });

  test('every usage plan covers every stage', () => {
    for (const [, plan] of ofType('AWS::ApiGateway::UsagePlan')) {
      expect(plan.Properties.ApiStages).toHaveLength(2);
    }
  });

  test('the custom domain maps each version at its own base path, and nothing at the root', () => {
    const mappings = ofType('AWS::ApiGateway::BasePathMapping').map(([, r]) => r.Properties.BasePath);
    expect(mappings.sort()).toEqual(['v1', 'v2']);
    expect(gateway.fhirBaseUrl).toBe('https://fhir.example.org/v2/r4');
    expect(gateway.authBaseUrl).toBe('https://fhir.example.org/v2/auth');
  });

  test('the proxy and the façade get every version and the {version} bases', () => {
    expect(variables(gateway.proxyFunction.fn)).toMatchObject({ API_VERSIONS: JSON.stringify(VERSIONS), PUBLIC_BASE_URL: 'https://fhir.example.org/{version}/r4' });
    expect(variables(identity.facade.fn)).toMatchObject({
      API_VERSIONS: JSON.stringify(VERSIONS),
      FHIR_BASE_URL: 'https://fhir.example.org/{version}/r4',
      AUTH_BASE_URL: 'https://fhir.example.org/{version}/auth',
    });
  });

  test('the versions are recorded for the report, retired included, with their base paths', () => {
    const entry = gateway.node.metadata.find((m) => m.type === API_VERSIONS_METADATA_KEY);
    expect(entry?.data).toEqual({
      current: 'v2',
      versions: [
        { ...VERSIONS[0], served: false, fhirBasePath: '/v0/r4' },
        { ...VERSIONS[1], served: true, fhirBasePath: '/v1/r4' },
        { ...VERSIONS[2], served: true, fhirBasePath: '/v2/r4' },
      ],
    });
  });
});

describe("FhirGateway: the versions the registry's apps use", () => {
  function gatewayFor(appVersions: string[], versions: ApiLifecycle[]): () => FhirGateway {
    return () => {
      const s = new Stack(createTestApp(), 'AppVersions');
      const k = new FhirKeys(s, 'Keys');
      const n = new SegmentedNetwork(s, 'Network', { keys: k });
      const d = new FhirDatastore(s, 'Datastore', { keys: k, network: n });
      const a = new AuditTrail(s, 'Audit', { keys: k, environment: 'staging' });
      const apps = AppRegistryDocument.fromApps(loadAppRegistry().map((app) => ({ ...app, apiVersions: appVersions })));
      const i = new SmartIdentity(s, 'Identity', { keys: k, network: n, environment: 'staging', apps: apps.apps });
      const r = new SmartAppRegistry(s, 'Apps', { identity: i, registry: apps });
      return new FhirGateway(s, 'Gateway', { keys: k, network: n, datastore: d, audit: a, identity: i, registry: r, environment: 'staging', apiVersions: versions });
    };
  }
  test('an app on a version that is not listed fails the synth, naming the app and the versions', () => {
    expect(gatewayFor(['v3'], VERSIONS)).toThrow(/^FhirGateway: app "harbor-patient-portal" of .* uses API version v3, which is not in apiVersions \(v0, v1, v2\)\. Add the version to apiVersions/);
  });
  test('an app on a retired version fails the synth, naming the successor', () => {
    expect(gatewayFor(['v0'], VERSIONS)).toThrow(/uses API version v0, which is retired \(its successor is v2\)\. Migrate the app/);
  });
  test('apps on a deprecated and on the current version are fine', () => {
    expect(gatewayFor(['v1', 'v2'], VERSIONS)).not.toThrow();
  });
});
