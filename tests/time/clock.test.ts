import { parseRfc3339Nano, rfc3339Nano, systemClock } from '../../lib/time/clock';

test.each([
  [1_764_018_542_123_456_789n, '2025-11-24T21:09:02.123456789Z'],
  [1_764_018_542_120_000_000n, '2025-11-24T21:09:02.12Z'],
  [1_764_018_542_000_000_000n, '2025-11-24T21:09:02Z'],
  [1_764_018_542_000_000_001n, '2025-11-24T21:09:02.000000001Z'],
  [0n, '1970-01-01T00:00:00Z'],
])('%s formats like Go RFC3339Nano in UTC', (ns, text) => {
  expect(rfc3339Nano(ns)).toBe(text);
});

test('the system clock has sub-millisecond resolution and agrees with Date.now()', () => {
  const values = new Set(Array.from({ length: 50 }, () => systemClock()));
  expect(values.size).toBeGreaterThan(1);
  const ms = Number(systemClock() / 1_000_000n);
  expect(Math.abs(ms - Date.now())).toBeLessThan(1000);
});

test('parseRfc3339Nano reads back what rfc3339Nano writes, offsets and short fractions, and refuses anything else', () => {
  for (const ns of [0n, 1_795_563_156_271_952_495n, 1_795_563_156_100_000_000n, 1_795_563_156_000_000_001n]) {
    expect(parseRfc3339Nano(rfc3339Nano(ns))).toBe(ns);
  }
  expect(parseRfc3339Nano('2026-11-24T21:23:35.9Z')).toBe(parseRfc3339Nano('2026-11-24T21:23:35.900000000Z'));
  expect(parseRfc3339Nano('2026-11-24T22:23:35+01:00')).toBe(parseRfc3339Nano('2026-11-24T21:23:35Z'));
  for (const bad of [
    '',
    'now',
    '2026-11-24',
    '2026-11-24T21:23:35',
    '2026-11-24T21:23:35.1234567890Z',
    '2026-13-45T99:99:99Z',
  ]) {
    expect(parseRfc3339Nano(bad)).toBeUndefined();
  }
});
