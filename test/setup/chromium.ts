/**
 * Which Chromium the compliance report's browser test (`test/report/browser.test.ts`) drives
 * through playwright-core, which downloads no browser of its own. In order:
 *
 * 1. `CHROMIUM_PATH`, when set: that binary and no other (a wrong path is an error, not a
 *    fallback, so a run never tests a browser it was not told to);
 * 2. Debian's `/usr/bin/chromium` (`apt-get install chromium`; `.ci/run` installs it);
 * 3. the headless Chromium inside the npm package `@sparticuz/chromium` (linux-x64 only), when it
 *    is installed: unpacked from the package (brotli, no download) into the temp directory.
 *
 * When none is there, {@link ChromiumMissing} says so in one line with how to get one;
 * `test/setup/global-setup.ts` stops the jest run with that line.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';

export const SYSTEM_CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_PACKAGE = '@sparticuz/chromium';

/** How to get a browser, for the one-line message. */
export const HOW_TO_GET_CHROMIUM = 'install Debian\'s chromium (apt-get update && apt-get install -y --no-install-recommends chromium), '
  + `or run npm ci so the devDependency ${CHROMIUM_PACKAGE} (linux-x64) is installed, or set CHROMIUM_PATH to a Chromium binary`;

export type ChromiumSource = 'CHROMIUM_PATH' | 'system' | 'package';

/** Where a browser is, before a package's binary is unpacked. */
export type ChromiumLocation =
  | { readonly source: 'CHROMIUM_PATH' | 'system'; readonly path: string }
  | { readonly source: 'package'; readonly packagePath: string };

export interface FoundChromium {
  readonly source: ChromiumSource;
  /** The binary to hand to playwright-core as `executablePath`. */
  readonly path: string;
}

/** No usable browser: its message is one line, ending with how to get one. */
export class ChromiumMissing extends Error {
  constructor(why: string) {
    super(`No Chromium for the compliance report's browser test (test/report/browser.test.ts): ${why}. To get one, ${HOW_TO_GET_CHROMIUM}.`);
    this.name = 'ChromiumMissing';
    // Reporters print the stack: make it the one line.
    this.stack = this.message;
  }
}

export interface LocateOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly systemPath?: string;
  /** Resolves the package's entry point; throws when it is not installed. */
  readonly resolvePackage?: () => string;
  readonly platform?: NodeJS.Platform;
  readonly arch?: string;
}

const isExecutable = (file: string): boolean => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};

/** Finds a browser without starting or unpacking anything; throws {@link ChromiumMissing}. */
export function locateChromium(options: LocateOptions = {}): ChromiumLocation {
  const env = options.env ?? process.env;
  const explicit = env.CHROMIUM_PATH;
  if (explicit) {
    if (isExecutable(explicit)) return { source: 'CHROMIUM_PATH', path: explicit };
    throw new ChromiumMissing(`CHROMIUM_PATH is ${explicit}, which is not an executable file`);
  }
  const systemPath = options.systemPath ?? SYSTEM_CHROMIUM;
  if (isExecutable(systemPath)) return { source: 'system', path: systemPath };

  let packagePath: string;
  try {
    packagePath = (options.resolvePackage ?? (() => require.resolve(CHROMIUM_PACKAGE)))();
  } catch {
    throw new ChromiumMissing(`none at ${systemPath}, CHROMIUM_PATH is not set and ${CHROMIUM_PACKAGE} is not installed`);
  }
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  if (platform !== 'linux' || arch !== 'x64') {
    throw new ChromiumMissing(`none at ${systemPath}, CHROMIUM_PATH is not set and ${CHROMIUM_PACKAGE} ships a linux-x64 browser only (this is ${platform}-${arch})`);
  }
  return { source: 'package', packagePath };
}

interface ChromiumPackage {
  executablePath(input?: string): Promise<string>;
}

/**
 * Finds a browser and makes sure it can be started: a package's binary is unpacked and run with
 * `--version` (a machine without the shared libraries it needs fails here, in one line).
 */
export async function findChromium(options: LocateOptions = {}): Promise<FoundChromium> {
  const location = locateChromium(options);
  if (location.source !== 'package') return location;
  let binary: string;
  try {
    const pkg = require(location.packagePath) as ChromiumPackage | { default: ChromiumPackage };
    binary = await ('default' in pkg ? pkg.default : pkg).executablePath();
  } catch (err) {
    throw new ChromiumMissing(`${CHROMIUM_PACKAGE} could not unpack its browser (${firstLine(err)})`);
  }
  try {
    execFileSync(binary, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new ChromiumMissing(`the browser of ${CHROMIUM_PACKAGE} (${binary}) does not start here (${stderr ? firstLine(stderr) : firstLine(err)})`);
  }
  return { source: 'package', path: binary };
}

function firstLine(what: unknown): string {
  const text = what instanceof Error ? what.message : String(what);
  return text.split('\n').find((l) => l.trim())?.trim() ?? text;
}
