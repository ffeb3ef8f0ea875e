// @kubernetes/client-node 1.x and its openid-client/jose/oauth4webapi, and @marcbachmann/cel-js, are ESM-only; Jest on
// Node 20 runs CommonJS, so swc transpiles them along with our TypeScript (docs/decisions.md, "Jest with swc").
const esmOnly = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose', '@marcbachmann/cel-js'];
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j|mj)s$': [
      '@swc/jest',
      { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  testTimeout: 20000,
  // Figures and the whole-run log scan (tests/support/figures.ts, log-scan-*.cjs): globalSetup names the run's
  // directory, every test file's output is copied there, the reporter prints the figures and the scan, and
  // globalTeardown fails the run if any captured line carries a secret the fixtures created.
  globalSetup: '<rootDir>/tests/support/log-scan-setup.cjs',
  globalTeardown: '<rootDir>/tests/support/log-scan-teardown.cjs',
  setupFilesAfterEnv: ['<rootDir>/tests/support/log-scan-capture.cjs'],
  reporters: ['default', '<rootDir>/tests/support/figures-reporter.cjs'],
};
