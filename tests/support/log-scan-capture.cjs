'use strict';
// setupFilesAfterEnv: copies everything this worker writes to process.stdout and process.stderr (Powertools Logger
// writes through its own Console on process.stdout) into the run's log scan directory. The streams are the worker's
// real ones, shared by every test file the worker runs, so the wrapper is installed once per process (marked with a
// global symbol) and flushed after each file. A test that replaces `write` with a spy (captureOutput) bypasses the
// wrapper while the spy is in place; captureOutput hands its lines over itself (log-scan.ts recordCapturedOutput).
//
// While a test file runs, what it writes is kept only in that file (its path is printed when a test fails), so
// `npm test` shows Jest's report and the figures, not the relay's JSON log lines; RELAY_TEST_OUTPUT=show passes them
// through as well. Between files the streams are untouched: Jest's own reporter writes there when it runs in band.
const { appendFileSync } = require('node:fs');
const { join } = require('node:path');

const key = Symbol.for('flux-webhook-relay.log-scan');
const dir = process.env.RELAY_LOG_SCAN_DIR;
const show = process.env.RELAY_TEST_OUTPUT === 'show';

if (dir) {
  let state = process.stdout[key];
  if (!state) {
    state = { chunks: [], size: 0, file: join(dir, `output-${process.pid}.log`), inTestFile: false };
    state.flush = () => {
      if (state.chunks.length === 0) return;
      appendFileSync(state.file, state.chunks.join(''));
      state.chunks = [];
      state.size = 0;
    };
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write;
      stream.write = function write(chunk, ...rest) {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        state.chunks.push(text);
        state.size += text.length;
        if (state.size > 1 << 20) state.flush();
        if (state.inTestFile && !show) {
          // write(chunk, [encoding], [callback]): the caller may wait for its callback.
          const callback = rest.find((arg) => typeof arg === 'function');
          if (callback) process.nextTick(callback);
          return true;
        }
        return original.call(this, chunk, ...rest);
      };
    }
    process.stdout[key] = state;
  }
  state.inTestFile = true;
  afterAll(() => {
    state.flush();
    state.inTestFile = false;
  });
}
