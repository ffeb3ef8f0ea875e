import { isAbortError, untilAborted, withTimeout } from '../../lib/time/abort';

test('untilAborted rejects with the signal reason when the signal fires first', async () => {
  const controller = new AbortController();
  const never = new Promise<string>(() => undefined);
  const pending = untilAborted(never, controller.signal);
  controller.abort(new DOMException('too slow', 'TimeoutError'));
  await expect(pending).rejects.toMatchObject({ name: 'TimeoutError' });
});

test('untilAborted passes through value and error otherwise', async () => {
  const signal = new AbortController().signal;
  await expect(untilAborted(Promise.resolve(42), signal)).resolves.toBe(42);
  await expect(untilAborted(Promise.reject(new Error('no')), signal)).rejects.toThrow('no');
});

test('an already aborted signal rejects at once', async () => {
  await expect(untilAborted(Promise.resolve(1), AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
});

test.each([
  [new DOMException('x', 'AbortError'), true],
  [new DOMException('x', 'TimeoutError'), true],
  [Object.assign(new Error('The user aborted a request.'), { type: 'aborted' }), true],
  [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), false],
  [undefined, false],
])('isAbortError(%s) is %s', (error, expected) => {
  expect(isAbortError(error)).toBe(expected);
});

test('withTimeout aborts after its time, follows its parent, and clears its timer', async () => {
  await expect(
    withTimeout(
      5,
      undefined,
      (signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    ),
  ).rejects.toMatchObject({ name: 'TimeoutError' });
  const parent = new AbortController();
  const child = withTimeout(
    60_000,
    parent.signal,
    (signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
  );
  parent.abort(new DOMException('budget', 'TimeoutError'));
  await expect(child).rejects.toMatchObject({ message: 'budget' });
  await expect(withTimeout(60_000, undefined, async () => 'done')).resolves.toBe('done');
});
