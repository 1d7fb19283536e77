import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../bin/app';
import { createCompliancePacks } from '../policies';
import { deploymentEnvironmentOf } from '../policies/compliance/environment';
import { createTestApp } from './helpers/app';

// One synth of the reference app, with its compliance plugins, for the whole file.
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-ref-'));
const { app, stack } = buildApp(createTestApp({ outdir }));
const assembly = app.synth();

describe('reference app', () => {
  test('synthesizes with the compliance gate: zero unacknowledged findings in any plugin', () => {
    const reportPath = path.join(assembly.directory, 'validation-report.json');
    const report = fs.existsSync(reportPath) ? JSON.parse(fs.readFileSync(reportPath, 'utf8')) : { pluginReports: [] };
    const violations = report.pluginReports.flatMap((r: { pluginName: string; violations: { ruleName: string }[] }) => r.violations.map((v) => `${r.pluginName}: ${v.ruleName}`));
    expect(violations).toEqual([]);
  });

  test('each compliance pack, run directly, finds nothing unacknowledged', () => {
    for (const pack of createCompliancePacks()) {
      expect({ pack: pack.readPackName, violations: pack.validateScope(stack).violations.map((v) => v.ruleName) }).toEqual({ pack: pack.readPackName, violations: [] });
    }
  });

  test('is env-agnostic: no account or region is baked in, no context lookup was needed', () => {
    expect(stack.account).toMatch(/^\$\{Token/);
    expect(stack.region).toMatch(/^\$\{Token/);
    const missing = assembly.manifest.missing ?? [];
    expect(missing).toEqual([]);
  });

  test('builds the stack named by cdk.json for the configured environment', () => {
    expect(stack.stackName).toBe('ZeroTrustFhir');
    expect(stack.deploymentEnvironment).toBe('sandbox');
  });

  test('holds the data tier: one datastore, one trail, three keys', () => {
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::HealthLake::FHIRDatastore', 1);
    template.resourceCountIs('AWS::CloudTrail::Trail', 1);
    template.resourceCountIs('AWS::KMS::Key', 3);
  });

  test('bad configuration fails with a message naming the key', () => {
    expect(() => buildApp(createTestApp({ context: { zeroTrustFhir: { environment: 'prod' } } }))).toThrow(/"zeroTrustFhir\.environment".*sandbox \| staging \| production/);
  });
});

describe('reference app: deployment environment', () => {
  test('the stack is marked with its environment for the FHIR.HIPAA pack', () => {
    expect(deploymentEnvironmentOf(stack.datastore)).toBe('sandbox');
  });
});

describe('reference app in production', () => {
  test('passes every pack with production rules on (COMPLIANCE object lock, non-waivable rules)', () => {
    const prod = buildApp(createTestApp({ context: {
        zeroTrustFhir: {
          environment: 'production',
          stackName: 'FhirProd',
          domainName: 'fhir.example.org',
          certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/0b9e8f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
          corsAllowedOrigins: ['https://portal.example.org'],
          alarmEmail: 'soc@example.org',
          accounts: { sandbox: { account: '111111111111', region: 'us-east-1' }, production: { account: '333333333333', region: 'us-east-1' } },
        },
      }, }));
    expect(deploymentEnvironmentOf(prod.stack)).toBe('production');
    expect(prod.stack.account).toBe('333333333333');
    for (const pack of createCompliancePacks()) {
      expect({ pack: pack.readPackName, violations: pack.validateScope(prod.stack).violations.map((v) => v.ruleName) }).toEqual({ pack: pack.readPackName, violations: [] });
    }
    Template.fromStack(prod.stack).hasResourceProperties('AWS::S3::Bucket', { ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'COMPLIANCE' } } } });
  });
});

describe('reference app: every acknowledgement is still needed', () => {
  // The evidence file records, per acknowledgement in the construct tree, which findings it
  // suppressed. One that suppresses nothing is stale: its finding was fixed, so it must go.
  const evidence = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'compliance-evidence.json'), 'utf8')) as {
    acknowledgements: { id: string; at: string; reason: string; suppressed: unknown[] }[];
  };
  const ours = evidence.acknowledgements.filter((a) => /^(HIPAA\.Security|AwsSolutions|FHIR\.HIPAA)-/.test(a.id));

  test('the kit acknowledges findings (construct-level and reference-stack ones)', () => {
    expect(ours.length).toBeGreaterThan(10);
  });

  test.each(ours.map((a) => [a.id, a.at, a]))('%s at %s suppresses a finding and says why', (_id, _at, ack) => {
    expect(ack.suppressed.length).toBeGreaterThan(0);
    expect(ack.reason.length).toBeGreaterThan(60);
  });
});

describe('reference app: the report shows what watches each app', () => {
  test('every registered app has its six per-app alarms listed in the reviewer\'s report', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { buildComplianceReport } = require('../lib/report/build') as typeof import('../lib/report/build');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { readCloudAssembly } = require('../lib/report/cloud-assembly') as typeof import('../lib/report/cloud-assembly');
    const report = buildComplianceReport(readCloudAssembly(assembly.directory));
    expect(report.apps.apps.length).toBeGreaterThan(0);
    for (const app of report.apps.apps) {
      expect({ app: app.id, kinds: (app.watchedBy?.alarms ?? []).map((a) => a.kind).sort() }).toEqual({
        app: app.id,
        kinds: ['client-drift', 'denials-anomaly', 'distinct-patients', 'registry-expiring', 'requests-anomaly', 'scope-denials'],
      });
    }
  });
});
