/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking runs once for the whole tree (`tsc --noEmit` in `npm test`);
    // ts-jest only transpiles, which keeps the suite fast on a 2-core machine.
    '^.+\\.tsx?$': ['ts-jest', { diagnostics: false }],
  },
  // The compliance report's browser test needs a Chromium: with none, the run stops here with one
  // line saying how to get one (test/setup/chromium.ts), not with the suite's tests failing one by one.
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  testTimeout: 120000,
  maxWorkers: 2,
};
