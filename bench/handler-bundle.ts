/**
 * How the kit's Lambda handlers are bundled, for the bundle-size figures and the bundling test:
 * the same settings `KitFunction` gives esbuild (minified, node22 syntax, CJS, the runtime's
 * `@aws-sdk/*` left external).
 */
import * as path from 'path';
import type { BuildOptions } from 'esbuild';

export const LAMBDAS_DIR = path.join(__dirname, '..', 'lambdas');

export const HANDLER_BUNDLE_OPTIONS: BuildOptions = {
  bundle: true,
  minify: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  external: ['@aws-sdk/*'],
  logLevel: 'silent',
};

/** The entry file of a handler folder under `lambdas/`. */
export function handlerEntry(handlerDir: string): string {
  return path.join(LAMBDAS_DIR, handlerDir, 'index.ts');
}
