import * as fs from 'fs';
import * as path from 'path';
import { App, AppProps } from 'aws-cdk-lib';

/** The `context` block of `cdk.json` (feature flags and `zeroTrustFhir`). `new App()` under jest does not read it. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return cdkJson.context;
}

export interface TestAppOptions {
  /** Context merged over `cdk.json`'s. */
  readonly context?: Record<string, unknown>;
  /** Bundle Lambda assets with esbuild (slow); construct tests leave it off. @default false */
  readonly bundle?: boolean;
  readonly outdir?: string;
}

/** An App with `cdk.json`'s context, Lambda bundling skipped unless asked for. */
export function createTestApp(options: TestAppOptions = {}): App {
  // A fixed synth date, so app-registry assessments do not expire under the test suite; tests of
  // expiry set their own `zeroTrustFhir:today`.
  const context: Record<string, unknown> = { ...cdkJsonContext(), 'zeroTrustFhir:today': '2026-11-29', ...(options.context ?? {}) };
  if (!options.bundle) context['aws:cdk:bundling-stacks'] = [];
  const props: AppProps = { context, outdir: options.outdir };
  return new App(props);
}
