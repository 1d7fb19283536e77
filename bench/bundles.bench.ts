/**
 * Each Lambda handler's esbuild-minified bundle, built the way the constructs build it (node22
 * syntax target, CJS, the runtime's @aws-sdk/* external). Target from the identity issue: the
 * SMART authorizer at most 150 KB. Files added to an asset after bundling (the proxy's compact
 * FHIR definitions, about 4 MB) are not counted here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildSync } from 'esbuild';

export async function run(): Promise<void> {
  const dir = path.join(__dirname, '..', 'lambdas');
  const handlers = fs.readdirSync(dir).filter((d) => d !== 'shared' && fs.existsSync(path.join(dir, d, 'index.ts'))).sort();
  console.log('| handler | minified bundle | target |');
  console.log('|---|---|---|');
  for (const handler of handlers) {
    const result = buildSync({
      entryPoints: [path.join(dir, handler, 'index.ts')],
      bundle: true,
      minify: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      external: ['@aws-sdk/*'],
      write: false,
      logLevel: 'silent',
    });
    const kb = result.outputFiles.reduce((n, f) => n + f.contents.byteLength, 0) / 1024;
    console.log(`| ${handler} | ${kb.toFixed(1)} KB | ${handler === 'smart-authorizer' ? '≤ 150 KB' : ''} |`);
  }
}
