import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AppRegistryDocument, LabelPolicyDocument, ZeroTrustFhirStack } from '../../lib';
import { BUNDLED_APP_REGISTRY_METADATA_KEY, loadAppRegistry } from '../../policies/app-registry';
import { createTestApp } from '../helpers/app';
import { testApp } from '../helpers/registry';

/** A team's registry file in its own repository: apps the kit's sample does not have. */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-stack-'));
const appsFile = path.join(dir, 'apps.json');
fs.writeFileSync(appsFile, JSON.stringify({
  apps: [
    testApp({ id: 'team-portal', identifier: { system: 'https://team.example/sid/app', value: 'team-portal' } }),
    testApp({ id: 'team-backend', clientType: 'confidential', redirectUris: [], scopes: ['system/Patient.rs'], identifier: { system: 'https://team.example/sid/app', value: 'team-backend' } }),
  ],
}));

const stack = new ZeroTrustFhirStack(createTestApp(), 'Team', {
  environment: 'staging',
  appRegistry: AppRegistryDocument.fromFile(appsFile),
  operations: { meta: { permission: 'r', levels: ['instance'] } },
  maxBodyBytes: 2_000_000,
  healthLakeTimeout: Duration.seconds(5),
  consentCacheTtl: Duration.seconds(30),
  clientIdentifierSystem: 'https://team.example/sid/client',
  apiVersions: [{ version: 'v1', status: 'active' }],
  groupLabels: { 'behavioral-health': ['PSY', 'R'] },
});
const template = Template.fromStack(stack);
const variables = (fn: { node: { defaultChild?: unknown } }): Record<string, unknown> =>
  template.toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as never)].Properties.Environment.Variables;

describe("ZeroTrustFhirStack: the team's configuration", () => {
  test("one Cognito client per app of the team's registry, none of the kit's sample apps", () => {
    expect(Object.values(template.findResources('AWS::Cognito::UserPoolClient')).map((c) => c.Properties.ClientName).sort()).toEqual(['team-backend', 'team-portal']);
  });

  test("the FHIR proxy carries the team's registry (recorded for the report) and maps each client to its app", () => {
    expect(stack.gateway.appRegistry.apps.map((a) => a.id)).toEqual(['team-portal', 'team-backend']);
    const recorded = stack.gateway.proxyFunction.node.metadata.find((m) => m.type === BUNDLED_APP_REGISTRY_METADATA_KEY)?.data as { source: string };
    expect(recorded.source).toMatch(/apps\.json$/);
    const appClientIds = JSON.stringify(variables(stack.gateway.proxyFunction.fn).APP_CLIENT_IDS);
    expect(appClientIds).toContain('team-portal');
    expect(appClientIds).not.toContain('harbor-patient-portal');
  });

  test("the proxy's settings pass through to its environment", () => {
    expect(variables(stack.gateway.proxyFunction.fn)).toMatchObject({
      ALLOWED_OPERATIONS: '{"meta":{"permission":"r","levels":["instance"]}}',
      MAX_BODY_BYTES: '2000000',
      HEALTHLAKE_TIMEOUT_MS: '5000',
      CONSENT_CACHE_TTL_SECONDS: '30',
      CLIENT_IDENTIFIER_SYSTEM: 'https://team.example/sid/client',
      API_VERSIONS: '[{"version":"v1","status":"active"}]',
    });
    expect(variables(stack.identity.launchContextTrigger.fn)).toMatchObject({ GROUP_LABELS: '{"behavioral-health":["PSY","R"]}' });
  });

  test.each<[string, object, RegExp]>([
    ['both appRegistry and apps', { appRegistry: AppRegistryDocument.sample(), apps: loadAppRegistry() }, /^ZeroTrustFhirStack: give appRegistry or apps, not both/],
    ['an invalid apps entry', { apps: [testApp({ scopes: ['patient/Observation.read', 'system/Patient.rs'] })] }, /^ZeroTrustFhirStack: apps: app "acme-portal" \(apps\[0\]\): field "scopes\[1\]": system\/ scopes are only for confidential clients/],
    ['a group cleared for a label the policy lacks', { groupLabels: { psych: ['PSYCH'] } }, /^ZeroTrustFhirStack: groupLabels\.psych: "PSYCH" is not a label of the label policy \(policies\/labels\.json\)/],
    ['a bad proxy setting', { readableNonCompartmentTypes: ['Observation'] }, /^FhirGateway: readableNonCompartmentTypes: Observation is in the Patient compartment/],
    ['a label policy given as a path', { labelPolicy: 'labels.json' as unknown as LabelPolicyDocument }, /^ZeroTrustFhirStack: labelPolicy must be a LabelPolicyDocument: LabelPolicyDocument.fromFile/],
  ])('%s fails the synth, naming the prop', (_name, props, message) => {
    expect(() => new ZeroTrustFhirStack(createTestApp(), 'Bad', { environment: 'sandbox', ...props })).toThrow(message);
  });
});
