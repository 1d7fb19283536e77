/**
 * Each Lambda handler's esbuild-minified bundle, built the way the package build does it (the
 * Lambda runtime's Node.js syntax target, CJS, the runtime's @aws-sdk/* external). Target from the identity issue: the
 * SMART authorizer at most 150 KB. Files added to an asset after bundling (the proxy's compact
 * FHIR definitions, about 4 MB) are not counted here.
 */
import * as fs from 'fs';
import { buildSync } from 'esbuild';
import { HANDLER_BUNDLE_OPTIONS, LAMBDAS_DIR, handlerEntry } from './handler-bundle';

export async function run(): Promise<void> {
  const handlers = fs.readdirSync(LAMBDAS_DIR).filter((d) => d !== 'shared' && fs.existsSync(handlerEntry(d))).sort();
  console.log('| handler | minified bundle | target |');
  console.log('|---|---|---|');
  for (const handler of handlers) {
    const result = buildSync({ ...HANDLER_BUNDLE_OPTIONS, entryPoints: [handlerEntry(handler)], write: false });
    const kb = result.outputFiles.reduce((n, f) => n + f.contents.byteLength, 0) / 1024;
    console.log(`| ${handler} | ${kb.toFixed(1)} KB | ${handler === 'smart-authorizer' ? '≤ 150 KB' : ''} |`);
  }
}
