/**
 * How the kit's Lambda handlers are bundled, for the bundle-size figures: the settings of
 * `scripts/build-handlers.ts`, which builds the assets the constructs deploy (minified, the Lambda
 * runtime's Node.js syntax, CJS, the runtime's `@aws-sdk/*` left out).
 */
export { HANDLER_BUNDLE_OPTIONS, LAMBDAS_DIR, handlerEntry } from '../scripts/build-handlers';
