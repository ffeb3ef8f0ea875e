import { parseYamlOrJson } from '../../lib/config/structured-text';

test('JSON documents are read as JSON, YAML as YAML, and YAML that merely starts like JSON still parses', () => {
  expect(parseYamlOrJson('{"clusters": {"prod": {"kubeconfig": "a"}}}')).toEqual({
    clusters: { prod: { kubeconfig: 'a' } },
  });
  expect(parseYamlOrJson('  [1, 2]')).toEqual([1, 2]);
  expect(parseYamlOrJson('clusters:\n  prod: { kubeconfig: a }\n')).toEqual({
    clusters: { prod: { kubeconfig: 'a' } },
  });
  // A YAML flow mapping with unquoted keys is not JSON.
  expect(parseYamlOrJson('{ a: 1, b: [x, y] }')).toEqual({ a: 1, b: ['x', 'y'] });
});

test('YAML options still apply on the YAML path (alias bombs are refused)', () => {
  const bomb = 'a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c]\n';
  expect(() => parseYamlOrJson(bomb, { maxAliasCount: 2 })).toThrow();
});
