'use strict';
// setupFilesAfterEnv: copies everything this worker writes to process.stdout and process.stderr (Powertools Logger
// writes through its own Console on process.stdout) into the run's log scan directory. The streams are the worker's
// real ones, shared by every test file the worker runs, so the wrapper is installed once per process (marked with a
// global symbol) and flushed after each file. A test that replaces `write` with a spy (captureOutput) bypasses the
// wrapper while the spy is in place; captureOutput hands its lines over itself (log-scan.ts recordCapturedOutput).
const { appendFileSync } = require('node:fs');
const { join } = require('node:path');

const key = Symbol.for('flux-webhook-relay.log-scan');
const dir = process.env.RELAY_LOG_SCAN_DIR;

if (dir) {
  let state = process.stdout[key];
  if (!state) {
    state = { chunks: [], size: 0, file: join(dir, `output-${process.pid}.log`) };
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
        return original.call(this, chunk, ...rest);
      };
    }
    process.stdout[key] = state;
  }
  afterAll(() => state.flush());
}
