import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FHIR_DEFINITIONS_ASSET_FILE, HANDLER_ESBUILD_TARGET, LAMBDA_NODE_MAJOR } from '../../lib/private/handler-assets';
import { buildHandlers, BuiltHandler, handlerNames, HANDLER_BUNDLE_OPTIONS } from '../../scripts/build-handlers';

/**
 * Construct tests use the handler assets as built; this one really builds every handler with the
 * package's build (`scripts/build-handlers.ts`: esbuild, minified, the Lambda runtime's Node.js,
 * its @aws-sdk/* left external), into a folder of its own, so a handler that cannot be bundled
 * or loaded fails the suite rather than a deploy.
 */
const REPO_ROOT = path.join(__dirname, '..', '..');
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-handlers-'));
let built: BuiltHandler[];

beforeAll(() => {
  built = buildHandlers({ outDir });
}, 120_000);

afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

describe('every Lambda handler is built by the package build', () => {
  test('every handler folder is built, and nothing else', () => {
    expect(handlerNames()).toEqual(expect.arrayContaining(['fhir-proxy', 'smart-authorizer', 'smart-facade', 'smart-launch-context', 'waf-guard', 'cognito-guard']));
    expect(built.map((b) => b.name)).toEqual(handlerNames());
    expect(fs.readdirSync(outDir).sort()).toEqual(handlerNames());
  });

  test('bundles target the Lambda runtime the constructs deploy (one Node.js version)', () => {
    expect(HANDLER_BUNDLE_OPTIONS.target).toBe(HANDLER_ESBUILD_TARGET);
    expect(HANDLER_ESBUILD_TARGET).toBe(`node${LAMBDA_NODE_MAJOR}`);
  });

  test.each(handlerNames())('%s: bundled without the CDK or test tooling, with a source map', (name) => {
    const b = built.find((x) => x.name === name)!;
    expect(b.bundleBytes).toBeGreaterThan(1000);
    expect(b.files).toEqual(expect.arrayContaining(['index.js', 'index.js.map']));
    expect(fs.readFileSync(path.join(b.dir, 'index.js'), 'utf8')).toMatch(/\/\/# sourceMappingURL=index\.js\.map\s*$/);
    expect(b.inputs.filter((i) => /node_modules\/(aws-cdk-lib|constructs|cdk-nag|esbuild|jest|fast-check)\//.test(i))).toEqual([]);
    // The runtime's AWS SDK stays out of the bundle.
    expect(b.inputs.filter((i) => /node_modules\/@aws-sdk\//.test(i))).toEqual([]);
  });

  test('the proxy asset holds the compact FHIR R4 definitions its validator reads', () => {
    const proxy = built.find((b) => b.name === 'fhir-proxy')!;
    expect(proxy.files).toContain(FHIR_DEFINITIONS_ASSET_FILE);
    const definitions = JSON.parse(fs.readFileSync(path.join(proxy.dir, FHIR_DEFINITIONS_ASSET_FILE), 'utf8')) as Array<{ name?: string }>;
    expect(definitions.map((d) => d.name)).toEqual(expect.arrayContaining(['Patient', 'Observation', 'HumanName']));
  });

  test('every bundle loads on this Node.js and exports the handler the constructs name', () => {
    // A child process per bundle, the runtime's AWS SDK resolved from this repository (Lambda
    // provides it); what the handlers log about their missing configuration is ignored.
    const exports = Object.fromEntries(
      built.map((b) => [
        b.name,
        JSON.parse(
          execFileSync(process.execPath, ['-e', `process.stdout.write('\\n'+JSON.stringify(Object.keys(require(${JSON.stringify(path.join(b.dir, 'index.js'))}))))`], {
            env: { ...process.env, NODE_PATH: path.join(REPO_ROOT, 'node_modules') },
            encoding: 'utf8',
            stdio: 'pipe',
          })
            .trim()
            .split('\n')
            .pop()!,
        ) as string[],
      ]),
    );
    expect(exports).toEqual({
      'fhir-proxy': expect.arrayContaining(['handler']),
      'smart-authorizer': expect.arrayContaining(['handler']),
      'smart-facade': expect.arrayContaining(['router']),
      'smart-launch-context': expect.arrayContaining(['handler']),
      'waf-guard': expect.arrayContaining(['handler']),
      'cognito-guard': expect.arrayContaining(['handler']),
    });
  });

  test('a rebuild replaces files in place and removes what a handler no longer produces', () => {
    const stale = path.join(outDir, 'waf-guard', 'left-over.js');
    fs.writeFileSync(stale, '');
    fs.mkdirSync(path.join(outDir, 'removed-handler'));
    buildHandlers({ outDir });
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(path.join(outDir, 'removed-handler'))).toBe(false);
    expect(fs.readdirSync(path.join(outDir, 'waf-guard')).sort()).toEqual(['index.js', 'index.js.map']);
  });
});
