import * as fs from 'fs';
import { buildSync } from 'esbuild';
import { HANDLER_BUNDLE_OPTIONS, LAMBDAS_DIR, handlerEntry } from '../../bench/handler-bundle';

/**
 * Construct tests skip Lambda bundling; this one really bundles every handler the way the
 * constructs do (esbuild, node22, minified, the Lambda runtime's @aws-sdk/* left external), so a
 * handler that cannot be bundled fails the suite rather than a deploy.
 */
const handlers = fs
  .readdirSync(LAMBDAS_DIR)
  .filter((d) => d !== 'shared' && fs.existsSync(handlerEntry(d)))
  .sort();

describe('every Lambda handler bundles with esbuild', () => {
  test('there are handlers to bundle', () => {
    expect(handlers).toContain('smart-authorizer');
  });

  test.each(handlers)('%s', (handler) => {
    const result = buildSync({ ...HANDLER_BUNDLE_OPTIONS, entryPoints: [handlerEntry(handler)], write: false, metafile: true });
    expect(result.errors).toEqual([]);
    const bytes = result.outputFiles.reduce((n, f) => n + f.contents.byteLength, 0);
    expect(bytes).toBeGreaterThan(1000);
    // No handler may pull in the CDK or the test tooling.
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs.filter((i) => /node_modules\/(aws-cdk-lib|constructs|cdk-nag|jest|fast-check)\//.test(i))).toEqual([]);
  });
});
