/**
 * Jest `globalSetup`: when the run includes the compliance report's browser test, find its
 * Chromium first (`./chromium.ts`), unpacking a packaged one once for all workers. With none,
 * the run stops here with one line that says how to get one, instead of the suite's tests
 * failing one by one.
 *
 * Runs that leave the browser test out (`npx jest test/lambdas`) are not checked. Nor are runs
 * whose test files jest picks later (`--onlyChanged`, `--findRelatedTests`, `--changedSince`) or
 * by test name (`-t`); there the browser suite, finding no browser, fails one test with the same
 * line.
 */
import * as path from 'path';
import type { GlobalConfig, ProjectConfig } from 'jest';
import { findChromium } from './chromium';

export const BROWSER_TEST = path.join(__dirname, '..', 'report', 'browser.test.ts');

/** Whether jest's own path filter (`npx jest <pattern>`) keeps the browser test. */
export function runIncludesBrowserTest(globalConfig: GlobalConfig, projectConfig: ProjectConfig): boolean {
  if (globalConfig.listTests || globalConfig.onlyChanged || globalConfig.findRelatedTests || globalConfig.changedSince
    || globalConfig.testNamePattern) {
    return false;
  }
  try {
    return globalConfig.testPathPatterns.toExecutor({ rootDir: projectConfig.rootDir }).isMatch(BROWSER_TEST);
  } catch {
    return true; // an invalid pattern: jest reports it itself
  }
}

export default async function globalSetup(globalConfig: GlobalConfig, projectConfig: ProjectConfig): Promise<void> {
  if (!runIncludesBrowserTest(globalConfig, projectConfig)) return;
  // Throws ChromiumMissing, whose stack is its one-line message: jest prints that line and exits 1.
  await findChromium();
}
