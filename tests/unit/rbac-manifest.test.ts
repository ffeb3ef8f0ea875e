import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { fluxKinds } from '../../lib/kube/kinds';
import { relayRules } from '../support/relay-harness';

interface Manifest {
  kind: string;
  type?: string;
  metadata: { name: string; annotations?: Record<string, string> };
  rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
  subjects?: unknown;
}

const docs = parseAllDocuments(readFileSync('infra/kubernetes/relay-rbac.yaml', 'utf8')).map((d) => d.toJS() as Manifest);

test('the ClusterRole grants only get, list and patch, only on Flux kinds, and covers every kind the relay patches', () => {
  const roles = docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role');
  expect(roles).toHaveLength(1);
  const rules = roles[0]!.rules ?? [];
  expect(rules.length).toBeGreaterThan(0);
  const granted = new Set<string>();
  for (const rule of rules) {
    expect(rule.verbs.sort()).toEqual(['get', 'list', 'patch']);
    for (const group of rule.apiGroups) {
      expect(group).toMatch(/\.toolkit\.fluxcd\.io$/);
      for (const resource of rule.resources) {
        expect(resource).not.toContain('*');
        granted.add(`${group}/${resource}`);
      }
    }
  }
  const needed = Object.values(fluxKinds).map((k) => `${k.apiVersion.split('/')[0]}/${k.plural}`);
  expect([...granted].sort()).toEqual(needed.sort());
});

test('the binding names the relay ServiceAccount, and the token Secret belongs to it', () => {
  const binding = docs.find((d) => d.kind === 'ClusterRoleBinding')!;
  expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'flux-webhook-relay', namespace: 'flux-system' }]);
  const token = docs.find((d) => d.kind === 'Secret')!;
  expect(token.type).toBe('kubernetes.io/service-account-token');
  expect(token.metadata.annotations?.['kubernetes.io/service-account.name']).toBe('flux-webhook-relay');
});

test('the integration tests grant the relay no more than the manifest does', () => {
  for (const rule of relayRules) expect(rule.verbs.sort()).toEqual(['get', 'list', 'patch']);
});
