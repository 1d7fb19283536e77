import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { handlerNames } from '../../scripts/build-handlers';
import { consumerLockfile, PackedKit, REPO_ROOT } from './consumer-project';

/**
 * The kit as teams get it: `npm pack` (which builds it), a new CDK project outside the repository
 * that installs the tarball (`npm ci`, offline), the README's examples (`examples/**`, copied as
 * they are) compiled by tsc against the installed package with the settings of `cdk init`, then
 * `cdk synth` of the whole platform and of the team's own stack through the compliance gate, and
 * the reviewer's report from the package's command. The figures are printed at the end.
 */
const run = promisify(execFile);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-package-'));
const project = path.join(work, 'team-fhir-app');
const bin = (name: string) => path.join(REPO_ROOT, 'node_modules', '.bin', name);
const figures: Record<string, string> = {};
const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as PackedKit['manifest'] & {
  exports: Record<string, string | { types: string; default: string }>;
  typesVersions: Record<string, Record<string, string[]>>;
  bin: Record<string, string>;
  main: string;
  types: string;
  engines: { node: string };
};

interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
  readonly files: ReadonlyArray<{ readonly path: string; readonly size: number }>;
}

async function sh(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string; seconds: number }> {
  const started = Date.now();
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr, seconds: (Date.now() - started) / 1000 };
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${path.basename(file)} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${(e.stdout ?? '').slice(-4000)}\n${(e.stderr ?? '').slice(-4000)}`);
  }
}

const seconds = (s: number) => `${s.toFixed(1)} s`;

let packed: PackResult;
let tarball: string;
let platformOut: string;
let teamOut: string;

beforeAll(async () => {
  // 1. Pack: `prepack` compiles the library, `prepare` builds the handler assets.
  const pack = await sh('npm', ['pack', '--pack-destination', work, '--json'], REPO_ROOT);
  const json = pack.stdout.slice(pack.stdout.search(/^\[/m));
  packed = (JSON.parse(json) as PackResult[])[0];
  tarball = path.join(work, packed.filename);
  figures['npm pack (build included)'] = seconds(pack.seconds);
  figures['tarball'] = `${(packed.size / 1024).toFixed(0)} KB packed, ${(packed.unpackedSize / 1024 / 1024).toFixed(1)} MB unpacked, ${packed.entryCount} files`;

  // 2. A new project: the CDK and the kit, locked; `npm ci` offline from npm's cache.
  fs.mkdirSync(project);
  const lockOf = (name: string) => (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> }).packages[`node_modules/${name}`].version;
  const direct = { 'aws-cdk-lib': lockOf('aws-cdk-lib'), constructs: lockOf('constructs') };
  const spec = `file:../${packed.filename}`;
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'team-fhir-app', version: '1.0.0', private: true, dependencies: { ...direct, [manifest.name]: spec } }, undefined, 2));
  fs.writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify(consumerLockfile('team-fhir-app', direct, { tarball, manifest }, spec), undefined, 2));
  const install = await sh('npm', ['ci', '--offline', '--no-audit', '--no-fund'], project).catch((err: Error) => {
    throw new Error(`${err.message}\n(npm takes the tarballs from its cache, filled by this repository's \`npm ci\`; ENOTCACHED means the cache was cleared)`);
  });
  figures['npm ci of the new project (offline)'] = seconds(install.seconds);

  // 3. The examples, compiled as `cdk init` sets TypeScript up (NodeNext modules, strict).
  fs.cpSync(path.join(REPO_ROOT, 'examples'), project, { recursive: true });
  fs.writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['es2022'], strict: true, noImplicitReturns: true, skipLibCheck: true, isolatedModules: true, types: [] },
      include: ['platform', 'team-stack'],
    }),
  );
  const tsc = await sh(bin('tsc'), ['-p', '.'], project);
  figures['tsc of the examples'] = seconds(tsc.seconds);

  // 4. cdk synth, both apps at once, with the feature flags of this CDK version (as `cdk init` writes them).
  const flags = Object.fromEntries(Object.entries((JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context).filter(([k]) => k.startsWith('@aws-cdk')));
  fs.writeFileSync(path.join(project, 'cdk.json'), JSON.stringify({ app: 'node platform/app.js', context: flags }, undefined, 2));
  platformOut = path.join(project, 'cdk.out');
  teamOut = path.join(project, 'cdk.out.team');
  const [platform, team] = await Promise.all([
    sh(bin('cdk'), ['synth', '--quiet', '-o', platformOut], project),
    sh(bin('cdk'), ['synth', '--quiet', '--app', 'node team-stack/app.js', '-o', teamOut], project),
  ]);
  figures['cdk synth, whole platform (examples/platform)'] = seconds(platform.seconds);
  figures['cdk synth, team stack (examples/team-stack)'] = seconds(team.seconds);
  figures['new project: npm ci + tsc + platform synth'] = seconds(install.seconds + tsc.seconds + platform.seconds);
}, 300_000);

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  console.log(`the kit as a package (${new Date().toISOString()}, node ${process.version}):\n${Object.entries(figures).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
});

const installed = () => path.join(project, 'node_modules', manifest.name);

describe('npm pack', () => {
  test('ships the compiled library, its declarations and the built handlers; no sources, tests, benches or fixtures', () => {
    const files = packed.files.map((f) => f.path);
    const outside = files.filter((f) => !/^(dist\/.+\.(js|d\.ts|json)|assets\/handlers\/[a-z-]+\/.+|README\.md|package\.json|policies\/compliance\/RULES\.md)$/.test(f));
    expect(outside).toEqual([]);
    expect(files.filter((f) => /(^|\/)(test|tests|bench|fixtures|examples|scripts|e2e)\/|\.test\.|\.bench\./.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    for (const name of handlerNames()) expect(files).toEqual(expect.arrayContaining([`assets/handlers/${name}/index.js`, `assets/handlers/${name}/index.js.map`]));
    expect(files).toEqual(expect.arrayContaining(['assets/handlers/fhir-proxy/fhir-r4-definitions.json', 'dist/policies/apps.json', 'dist/policies/labels.json', 'dist/policies/apps.schema.json']));
  });

  test('every documented entry point, its types and the report command are in the tarball', () => {
    const files = new Set(packed.files.map((f) => f.path));
    const targets = [manifest.main, manifest.types, ...Object.values(manifest.bin), ...Object.values(manifest.typesVersions['*']).flat()];
    for (const target of Object.values(manifest.exports)) targets.push(...(typeof target === 'string' ? [target] : [target.types, target.default]));
    expect(targets.map((t) => t.replace(/^\.\//, '')).filter((t) => !files.has(t))).toEqual([]);
    expect(Object.keys(manifest.exports)).toEqual(['.', './policies', './report', './report/evidence', './package.json']);
  });
});

describe('a new CDK project that installed the tarball', () => {
  test('has the kit as compiled JavaScript, with no esbuild and none of the handlers\' runtime packages', () => {
    expect(fs.existsSync(path.join(installed(), 'dist', 'lib', 'index.js'))).toBe(true);
    expect(fs.existsSync(path.join(installed(), 'lambdas'))).toBe(false);
    expect(fs.lstatSync(installed()).isSymbolicLink()).toBe(false);
    for (const absent of ['esbuild', 'ts-node', 'typescript', '@medplum/core', 'aws-jwt-verify', '@aws-lambda-powertools/logger']) {
      expect([absent, fs.existsSync(path.join(project, 'node_modules', absent))]).toEqual([absent, false]);
    }
    // cdk-nag came as a peer dependency.
    expect(fs.existsSync(path.join(project, 'node_modules', 'cdk-nag', 'package.json'))).toBe(true);
  });

  test('synthesizes the whole platform through the compliance gate, every function running the handler shipped in the package', () => {
    // The stack's template and its nested stacks' (the per-app monitoring, with the drift guard, is in AppMonitors).
    const templates = fs.readdirSync(platformOut).filter((f) => f === 'Fhir.template.json' || (f.startsWith('Fhir') && f.endsWith('.nested.template.json')))
      .map((f) => JSON.parse(fs.readFileSync(path.join(platformOut, f), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> });
    const functions = templates.flatMap((t) => Object.values(t.Resources)).filter((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Runtime).startsWith('nodejs24'));
    const shipped = Object.fromEntries(handlerNames().map((n) => [fs.readFileSync(path.join(installed(), 'assets', 'handlers', n, 'index.js'), 'utf8'), n]));
    const deployed = functions.flatMap((f) => {
      const dir = path.join(platformOut, `asset.${String((f.Properties.Code as { S3Key?: string }).S3Key).replace(/\.zip$/, '')}`);
      const code = fs.existsSync(path.join(dir, 'index.js')) ? fs.readFileSync(path.join(dir, 'index.js'), 'utf8') : '';
      // The CDK's own functions (the log retention provider) run its code, not the kit's.
      return shipped[code] ? [{ name: shipped[code], dir, env: (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables }] : [];
    });
    expect(deployed.map((d) => d.name).sort()).toEqual(handlerNames());
    const proxy = deployed.find((d) => d.name === 'fhir-proxy')!;
    for (const file of ['fhir-r4-definitions.json', 'index.js.map']) {
      expect([file, fs.readFileSync(path.join(proxy.dir, file)).equals(fs.readFileSync(path.join(installed(), 'assets', 'handlers', 'fhir-proxy', file)))]).toEqual([file, true]);
    }
    for (const file of ['labels.json', 'apps.json', 'profiles/zt-observation.json']) {
      expect(fs.readFileSync(path.join(proxy.dir, file), 'utf8')).toBe(fs.readFileSync(path.join(installed(), 'dist', 'policies', file), 'utf8'));
    }
    expect(proxy.env).toMatchObject({ FHIR_DEFINITIONS_FILE: '/var/task/fhir-r4-definitions.json', PROFILES_DIR: '/var/task/profiles', LABEL_POLICY_FILE: '/var/task/labels.json', APP_REGISTRY_FILE: '/var/task/apps.json' });
  });

  test("synthesizes the team's own stack (the README example) through the compliance gate", () => {
    const template = JSON.parse(fs.readFileSync(path.join(teamOut, 'MyFhir.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }>; Outputs: Record<string, unknown> };
    const types = new Set(Object.values(template.Resources).map((r) => r.Type));
    for (const t of ['AWS::HealthLake::FHIRDatastore', 'AWS::KMS::Key', 'AWS::EC2::VPC', 'AWS::CloudTrail::Trail']) expect(types).toContain(t);
    expect(Object.keys(template.Outputs)).toContain('FhirEndpoint');
  });

  test("writes the reviewer's report with the package's command", async () => {
    const report = await sh(path.join(project, 'node_modules', '.bin', 'zero-trust-fhir-report'), ['--cdk-out', platformOut, '--fail-on', 'warning'], project);
    expect(report.stdout).toMatch(/compliance report: PASS: 0 fatal, 0 error, 0 warning/);
    expect(fs.existsSync(path.join(platformOut, 'compliance-report.html'))).toBe(true);
    figures['zero-trust-fhir-report'] = seconds(report.seconds);
  }, 60_000);
});
