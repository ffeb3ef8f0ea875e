'use strict';
// Jest globalSetup: one directory per run for the figures (figures.ts) and the log scan (log-scan-core.cjs). The
// paths go to the workers through the environment, which they inherit: they are started after globalSetup.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = async function globalSetup() {
  const dir = mkdtempSync(join(tmpdir(), 'relay-test-run-'));
  process.env.RELAY_TEST_RUN_DIR = dir;
  process.env.RELAY_TEST_FIGURES = join(dir, 'figures.jsonl');
  process.env.RELAY_LOG_SCAN_DIR = dir;
};
