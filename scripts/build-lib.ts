#!/usr/bin/env node
/**
 * `npm run build:lib`: compiles the kit's construct library to `dist/` (JavaScript and
 * declarations, `tsconfig.build.json`: `lib/`, `policies/` and the report command
 * `bin/report.ts`, with the `lambdas/` modules they import), then copies the data the compiled
 * code reads next to it: the sample app registry and label policy (`dist/policies/apps.json`,
 * `labels.json`; the schemas come with the compile, being imported) and the profiles
 * (`dist/policies/profiles/*.json`) that `FhirGateway` adds to the proxy's asset at synth time.
 * `dist/` is removed first, so nothing stale is packed.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PACKAGE_ROOT } from '../lib/private/handler-assets';

export const DIST_DIR = path.join(PACKAGE_ROOT, 'dist');

/** Data files of `policies/` the compiled code reads by path, relative to `policies/`. */
export function policyDataFiles(): string[] {
  const profiles = fs.readdirSync(path.join(PACKAGE_ROOT, 'policies', 'profiles')).filter((f) => f.endsWith('.json')).sort();
  return ['apps.json', 'labels.json', ...profiles.map((f) => `profiles/${f}`)];
}

function main(): number {
  const started = Date.now();
  fs.rmSync(DIST_DIR, { recursive: true, force: true });
  const tsc = path.join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(PACKAGE_ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (result.status !== 0) return result.status ?? 1;
  for (const file of policyDataFiles()) {
    const target = path.join(DIST_DIR, 'policies', file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(path.join(PACKAGE_ROOT, 'policies', file), target);
  }
  console.log(`compiled the library into ${path.relative(process.cwd(), DIST_DIR) || '.'} in ${Date.now() - started} ms`);
  return 0;
}

if (require.main === module) process.exitCode = main();
