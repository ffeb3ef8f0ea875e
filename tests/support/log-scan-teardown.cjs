'use strict';
// Jest globalTeardown: fails the run when any captured output line carries a secret the fixtures created. A throwing
// globalTeardown makes Jest print the error and exit non-zero (jest-cli catches the rejected run), so `npm test` fails
// even when every test passed. The figures reporter already scanned (its onRunComplete runs before this hook) and
// left its result; without that reporter the scan runs here.
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { collect, describeLeaks, scanLogs } = require('./log-scan-core.cjs');

module.exports = async function globalTeardown() {
  const dir = process.env.RELAY_LOG_SCAN_DIR;
  if (!dir) return;
  const saved = join(dir, 'log-scan-result.json');
  let result;
  if (existsSync(saved)) {
    result = JSON.parse(readFileSync(saved, 'utf8'));
  } else {
    const { outputs, secrets } = collect(dir);
    result = scanLogs(outputs, secrets);
  }
  if (result.leaks.length > 0) {
    throw new Error(`log scan: ${result.leaks.length} captured line(s) carry a test secret:\n${describeLeaks(result)}`);
  }
};
