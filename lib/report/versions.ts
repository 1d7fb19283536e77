/**
 * The versions a review names: the kit's own (and its git commit when it runs from a checkout)
 * and the tools that synthesized and checked the app. Read where the code runs, so the evidence
 * records what the synth used and the report what it was built with.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** The kit's package name. */
export const KIT_PACKAGE_NAME = 'zero-trust-fhir';

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The directory of the kit: the nearest `package.json` named `zero-trust-fhir` above this file (source or `dist/`). */
export function kitRoot(from: string = __dirname): string | undefined {
  for (let dir = from, i = 0; i < 8; i++, dir = path.dirname(dir)) {
    if (readJson(path.join(dir, 'package.json'))?.name === KIT_PACKAGE_NAME) return dir;
    if (path.dirname(dir) === dir) break;
  }
  return undefined;
}

/** The kit's version (`unknown` when its package.json cannot be found). */
export function kitVersion(): string {
  const root = kitRoot();
  const version = root ? readJson(path.join(root, 'package.json'))?.version : undefined;
  return typeof version === 'string' ? version : 'unknown';
}

/** The version of an installed package, as the code running here resolves it. */
export function packageVersion(name: string, from: string = __dirname): string | undefined {
  let entry: string;
  try {
    entry = require.resolve(name, { paths: [from] });
  } catch {
    return undefined;
  }
  for (let dir = path.dirname(entry), i = 0; i < 8; i++, dir = path.dirname(dir)) {
    const pkg = readJson(path.join(dir, 'package.json'));
    if (pkg?.name === name && typeof pkg.version === 'string') return pkg.version;
    if (path.dirname(dir) === dir) break;
  }
  return undefined;
}

/** aws-cdk-lib, cdk-nag, constructs and Node.js, as loaded here. */
export function toolVersions(): Record<string, string> {
  const out: Record<string, string> = { [KIT_PACKAGE_NAME]: kitVersion() };
  for (const name of ['aws-cdk-lib', 'cdk-nag', 'constructs']) {
    const v = packageVersion(name);
    if (v) out[name] = v;
  }
  out['Node.js'] = process.versions.node;
  return out;
}

/** The git commit of `dir` and whether its work tree has changes; `undefined` outside a git checkout. */
export function gitCommit(dir: string | undefined = kitRoot()): { commit: string; dirty: boolean } | undefined {
  if (!dir) return undefined;
  const run = (args: string[]): string | undefined => {
    const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8', timeout: 10_000 });
    return r.status === 0 ? r.stdout.trim() : undefined;
  };
  const inside = run(['rev-parse', '--is-inside-work-tree']);
  if (inside !== 'true') return undefined;
  const commit = run(['rev-parse', 'HEAD']);
  if (!commit) return undefined;
  const status = run(['status', '--porcelain', '--untracked-files=no']);
  return { commit, dirty: status !== undefined && status.length > 0 };
}
