import { withoutTrailingSlashes } from '../../lib/http/trailing-slashes';

test.each([
  ['https://relay.example/', 'https://relay.example'],
  ['https://relay.example///', 'https://relay.example'],
  ['/api/v4', '/api/v4'],
  ['/', ''],
  ['', ''],
  ['a//b//', 'a//b'],
])('%j → %j', (input, expected) => {
  expect(withoutTrailingSlashes(input)).toBe(expected);
});

test('a hook URL of 200,000 slashes and a letter (a repository admin can write one) comes back unchanged', () => {
  const hostile = `https://relay.example${'/'.repeat(200_000)}a`;
  expect(withoutTrailingSlashes(hostile)).toBe(hostile);
  expect(withoutTrailingSlashes(`${hostile}${'/'.repeat(200_000)}`)).toBe(hostile);
});
