/**
 * Where the kit's Lambda handlers are once built, and the one Node.js version they are built for
 * and run on.
 *
 * The handlers are bundled when the package is built (`npm run build:handlers`,
 * `scripts/build-handlers.ts`, run by `npm run build`, `npm test`, `npm run synth` and `npm pack`)
 * into `assets/handlers/<function>/` at the package root, and shipped in the package, the way
 * aws-cdk-lib ships its own handlers (`custom-resource-handlers/dist/`). Constructs use those
 * folders as Lambda code: the repository's own synth and a team's app installing the package take
 * the same path, and neither needs esbuild nor the kit's TypeScript sources.
 *
 * This module imports nothing from the CDK: the build script reads it too.
 */
import * as fs from 'fs';
import * as path from 'path';

/**
 * The major version of Node.js the handlers run on in Lambda (runtime `nodejs24.x`, the newest
 * this CDK knows, which AwsSolutions-L1 requires) and are built for (esbuild target `node24`).
 * The CDK app itself runs on Node.js 20 or later (`engines`).
 */
export const LAMBDA_NODE_MAJOR = 24;

/** The esbuild target of every handler bundle: the Lambda runtime's Node.js. */
export const HANDLER_ESBUILD_TARGET = `node${LAMBDA_NODE_MAJOR}`;

/** The nearest folder at or above `dir` that holds a `package.json`. */
function packageRootOf(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) throw new Error(`zero-trust-fhir: no package.json above ${dir}`);
  }
}

/**
 * The kit's package root: the repository (from `lib/private/`) or the installed package (from
 * `dist/lib/private/`).
 */
export const PACKAGE_ROOT = packageRootOf(__dirname);

/** Where the built handlers are: `assets/handlers/<function>/index.js` (+ its source map and data). */
export const HANDLER_ASSETS_DIR = path.join(PACKAGE_ROOT, 'assets', 'handlers');

/** The compact FHIR R4 base definitions in the proxy's asset (`/var/task/fhir-r4-definitions.json`). */
export const FHIR_DEFINITIONS_ASSET_FILE = 'fhir-r4-definitions.json';

/**
 * The built asset folder of a handler (`lambdas/<handlerDir>/index.ts` in the sources). Throws,
 * saying how to build them, when it is missing.
 */
export function handlerAssetDir(handlerDir: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(handlerDir)) throw new Error(`zero-trust-fhir: "${handlerDir}" is not a handler name`);
  const dir = path.join(HANDLER_ASSETS_DIR, handlerDir);
  if (!fs.existsSync(path.join(dir, 'index.js'))) {
    throw new Error(
      `zero-trust-fhir: the Lambda handler "${handlerDir}" is not built (${path.relative(process.cwd(), dir) || dir}/index.js is missing). ` +
        'In a checkout of the kit, run `npm run build:handlers` (npm ci, npm test, npm run synth and npm pack do it); an installed package ships it.',
    );
  }
  return dir;
}
