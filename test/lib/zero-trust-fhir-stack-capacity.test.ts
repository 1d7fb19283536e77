import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AppRegistryDocument, ZeroTrustFhirStack } from '../../lib';
import { applyCompliancePacks } from '../../policies';
import { lastControlTowerRun } from '../../policies/compliance/control-tower';
import { createTestApp } from '../helpers/app';
import { testApp } from '../helpers/registry';

/**
 * How many apps one ZeroTrustFhirStack holds. Each app adds 5 resources to the stack (Cognito app
 * client, managed-login branding, API key, usage plan, usage plan key) and 6 alarms to its nested
 * stack AppMonitors: with the alarms in the stack itself, 29 apps reached CloudFormation's 500
 * resources per stack. One synth, through the compliance packs and the Control Tower cross-check.
 */
describe('a ZeroTrustFhirStack with many registered apps', () => {
  test('45 apps synthesize through the packs: the alarms in the nested stack, which the cross-check reads too', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-capacity-'));
    const app = createTestApp({ outdir });
    const apps = Array.from({ length: 45 }, (_, i) => testApp({
      id: `team-app-${String(i).padStart(3, '0')}`, name: `Team App ${i}`, identifier: { system: 'https://team.example/sid/app', value: `team-app-${i}` },
    }));
    const stack = new ZeroTrustFhirStack(app, 'Many', { environment: 'sandbox', appRegistry: AppRegistryDocument.fromApps(apps) });
    applyCompliancePacks(app);
    const assembly = app.synth();
    const parent = Object.keys((assembly.getStackByName('Many').template as { Resources: object }).Resources).length;
    const nested = JSON.parse(fs.readFileSync(path.join(outdir, stack.monitoringStack.templateFile), 'utf8')) as { Resources: Record<string, { Type: string }> };
    const alarms = Object.values(nested.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').length;
    expect(alarms).toBeGreaterThanOrEqual(6 * 45);
    expect(parent + Object.keys(nested.Resources).length).toBeGreaterThan(500);
    expect(parent).toBeLessThanOrEqual(500);
    // The Control Tower controls evaluated the nested template's resources.
    expect(lastControlTowerRun(app)?.resources.get(stack.monitoringStack.templateFile)?.size).toBe(Object.keys(nested.Resources).length);
  });
});
