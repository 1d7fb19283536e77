/**
 * How the browser test's Chromium is found (test/setup/chromium.ts), with fake binaries and a fake
 * package: CHROMIUM_PATH, then /usr/bin/chromium, then @sparticuz/chromium, else one line saying
 * how to get one.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChromiumMissing, findChromium, locateChromium, LocateOptions } from './chromium';

let dir: string;
let good: string;
let broken: string;
const nowhere = (): string => path.join(dir, 'no-such-chromium');
const notInstalled = (): string => { throw new Error("Cannot find module '@sparticuz/chromium'"); };

/** A package whose executablePath() answers `binary`, like @sparticuz/chromium's CJS build. */
function fakePackage(name: string, binary: string): string {
  const file = path.join(dir, `${name}.js`);
  fs.writeFileSync(file, `module.exports = class { static async executablePath() { return ${JSON.stringify(binary)}; } };\n`);
  return file;
}

function missing(options: LocateOptions): ChromiumMissing {
  try {
    locateChromium(options);
  } catch (err) {
    if (err instanceof ChromiumMissing) return err;
    throw err;
  }
  throw new Error('a browser was found');
}

function expectOneLineWithTheWays(err: ChromiumMissing): void {
  expect(err.message).not.toContain('\n');
  expect(err.stack).toBe(err.message);
  expect(err.message).toContain('apt-get install -y --no-install-recommends chromium');
  expect(err.message).toContain('@sparticuz/chromium');
  expect(err.message).toContain('CHROMIUM_PATH');
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztf-chromium-find-'));
  good = path.join(dir, 'good-chromium');
  fs.writeFileSync(good, '#!/bin/sh\necho "Chromium 1.2.3"\n', { mode: 0o755 });
  broken = path.join(dir, 'broken-chromium');
  fs.writeFileSync(broken, '#!/bin/sh\necho "chromium: error while loading shared libraries: libnss3.so: cannot open shared object file" >&2\nexit 127\n', { mode: 0o755 });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('locateChromium', () => {
  test('CHROMIUM_PATH first, before /usr/bin/chromium and the package', () => {
    expect(locateChromium({ env: { CHROMIUM_PATH: good }, systemPath: broken, resolvePackage: () => 'pkg.js' }))
      .toEqual({ source: 'CHROMIUM_PATH', path: good });
  });

  test('a CHROMIUM_PATH that is not there is one line, with no fallback to another browser', () => {
    const err = missing({ env: { CHROMIUM_PATH: nowhere() }, systemPath: good, resolvePackage: () => 'pkg.js' });
    expect(err.message).toContain(`CHROMIUM_PATH is ${nowhere()}, which is not an executable file`);
    expectOneLineWithTheWays(err);
  });

  test('a CHROMIUM_PATH that is a directory or not executable is refused', () => {
    const plain = path.join(dir, 'plain');
    fs.writeFileSync(plain, '', { mode: 0o644 });
    expect(missing({ env: { CHROMIUM_PATH: dir } }).message).toContain(`CHROMIUM_PATH is ${dir},`);
    expect(missing({ env: { CHROMIUM_PATH: plain } }).message).toContain('not an executable file');
  });

  test("then Debian's /usr/bin/chromium, before the package", () => {
    expect(locateChromium({ env: {}, systemPath: good, resolvePackage: () => 'pkg.js' })).toEqual({ source: 'system', path: good });
  });

  test('then the package, on linux-x64', () => {
    expect(locateChromium({ env: {}, systemPath: nowhere(), resolvePackage: () => '/x/index.cjs', platform: 'linux', arch: 'x64' }))
      .toEqual({ source: 'package', packagePath: '/x/index.cjs' });
  });

  test('none of the three: one line that names each way to get one', () => {
    const err = missing({ env: {}, systemPath: nowhere(), resolvePackage: notInstalled });
    expect(err.message).toMatch(/^No Chromium for the compliance report's browser test \(test\/report\/browser\.test\.ts\): none at .*no-such-chromium, CHROMIUM_PATH is not set and @sparticuz\/chromium is not installed\. To get one, /);
    expectOneLineWithTheWays(err);
  });

  test('the package elsewhere than linux-x64 is no browser', () => {
    const err = missing({ env: {}, systemPath: nowhere(), resolvePackage: () => '/x/index.cjs', platform: 'darwin', arch: 'arm64' });
    expect(err.message).toContain('ships a linux-x64 browser only (this is darwin-arm64)');
    expectOneLineWithTheWays(err);
  });
});

describe('findChromium', () => {
  const viaPackage = (packagePath: string): LocateOptions => ({ env: {}, systemPath: nowhere(), resolvePackage: () => packagePath, platform: 'linux', arch: 'x64' });

  test('a path is used as it is', async () => {
    await expect(findChromium({ env: { CHROMIUM_PATH: good } })).resolves.toEqual({ source: 'CHROMIUM_PATH', path: good });
  });

  test("the package's browser is unpacked and must start", async () => {
    await expect(findChromium(viaPackage(fakePackage('pkg-good', good)))).resolves.toEqual({ source: 'package', path: good });
  });

  test("a package browser that does not start here (missing shared libraries) is one line with the loader's reason", async () => {
    const err = await findChromium(viaPackage(fakePackage('pkg-broken', broken))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChromiumMissing);
    expect((err as Error).message).toContain(`the browser of @sparticuz/chromium (${broken}) does not start here (chromium: error while loading shared libraries: libnss3.so`);
    expectOneLineWithTheWays(err as ChromiumMissing);
  });

  test('a package that cannot unpack its browser is one line', async () => {
    const file = path.join(dir, 'pkg-throws.js');
    fs.writeFileSync(file, 'module.exports = class { static async executablePath() { throw new Error("The input directory \\"/x/bin\\" does not exist.\\nmore"); } };\n');
    const err = await findChromium(viaPackage(file)).catch((e: unknown) => e);
    expect((err as Error).message).toContain('@sparticuz/chromium could not unpack its browser (The input directory "/x/bin" does not exist.)');
    expectOneLineWithTheWays(err as ChromiumMissing);
  });
});
