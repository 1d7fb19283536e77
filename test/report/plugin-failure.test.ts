/**
 * A compliance plugin that crashes (it throws instead of reporting) fails the gate: CDK fails the
 * synth, and the report must say FAIL with the plugin's error, never PASS beside a pack that did
 * not run.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IPolicyValidationPluginBeta1 } from 'aws-cdk-lib';
import { buildComplianceReport } from '../../lib/report/build';
import { readCloudAssembly } from '../../lib/report/cloud-assembly';

function synthWith(plugins: IPolicyValidationPluginBeta1[]): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-plugin-failure-'));
  const app = new App({ outdir, analyticsReporting: false });
  new CfnResource(new Stack(app, 'S'), 'R', { type: 'AWS::CloudFormation::WaitConditionHandle' });
  Validations.of(app).addPlugins(...plugins);
  expect(() => app.synth()).toThrow(/Validation plugin 'CrashingPack' failed/);
  return outdir;
}

const crashing: IPolicyValidationPluginBeta1 = {
  name: 'CrashingPack',
  version: '1.0.0',
  validate: () => {
    throw new Error('cannot read the nested template');
  },
};

test('the verdict is FAIL, naming the plugin and its error', () => {
  const report = buildComplianceReport(readCloudAssembly(synthWith([crashing])));
  expect(report.summary.verdict).toBe('fail');
  expect(report.summary.verdictReason).toMatch(/CrashingPack failed to run \(Validation plugin 'CrashingPack' failed: cannot read the nested template\)/);
  const pack = report.summary.counts.byPack.find((p) => p.pack === 'CrashingPack');
  expect(pack).toMatchObject({ conclusion: 'failure', notRun: expect.stringContaining('cannot read the nested template') });
});

test('a plugin that passes beside it does not turn the verdict to PASS', () => {
  const passing: IPolicyValidationPluginBeta1 = { name: 'QuietPack', version: '1.0.0', validate: () => ({ success: true, violations: [] }) };
  const report = buildComplianceReport(readCloudAssembly(synthWith([passing, crashing])));
  expect(report.summary.verdict).toBe('fail');
});
