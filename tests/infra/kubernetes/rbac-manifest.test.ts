import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { fluxKinds } from '../../../lib/kube/kinds';
import { relayIdentity } from '../../../lib/kube/scoped-kubeconfig';
import { relayRulesWithWatch } from '../../support/relay-harness';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Manifest {
  apiVersion: string;
  kind: string;
  type?: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  rules?: Rule[];
  roleRef?: { apiGroup: string; kind: string; name: string };
  subjects?: unknown;
  [key: string]: unknown;
}

const dir = 'infra/kubernetes';
// The admission policies have a test of their own (admission-policy.test.ts).
const files = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f) && f !== 'relay-admission-policy.yaml')
  .sort();
const manifests = new Map(
  files.map((file) => {
    const docs = parseAllDocuments(readFileSync(join(dir, file), 'utf8'));
    for (const d of docs) expect(d.errors).toEqual([]);
    return [file, docs.map((d) => d.toJS() as Manifest).filter((m) => m !== null)] as const;
  }),
);
const all = [...manifests.values()].flat();
const roles = all.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role');

/** "group/resource" for every Flux kind the relay patches (lib/kube/kinds.ts). */
const fluxResources = Object.values(fluxKinds)
  .map((k) => `${k.apiVersion.split('/')[0]}/${k.plural}`)
  .sort();
const eventsRule = { apiGroups: [''], resources: ['events'], verbs: ['create'] };

test('the manifests are the cluster-wide variant and the namespaced one (ServiceAccount + Role applied per namespace)', () => {
  const kinds = Object.fromEntries([...manifests].map(([file, docs]) => [file, docs.map((d) => d.kind)]));
  expect(kinds).toEqual({
    'relay-rbac.yaml': ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'],
    'relay-role.yaml': ['Role', 'RoleBinding'],
    'relay-serviceaccount.yaml': ['ServiceAccount'],
    // Apart, so that an EKS cluster (no kubeconfig) gets no long-lived token at all.
    'relay-token.yaml': ['Secret'],
  });
});

const watchRule = { apiGroups: ['source.toolkit.fluxcd.io'], resources: ['gitrepositories'], verbs: ['watch'] };

test('every role grants exactly get, list, patch on the Flux kinds, watch on GitRepositories and create on core events, nothing else', () => {
  expect(roles.length).toBe(2);
  for (const role of roles) {
    const rules = role.rules ?? [];
    const granted = new Set<string>();
    const core = rules.filter((r) => r.apiGroups.includes(''));
    // The events rule is the only rule touching the core group, and it is exactly create on events.
    expect(core).toEqual([eventsRule]);
    for (const rule of rules) {
      expect(rule.resourceNames).toBeUndefined();
      expect(rule.nonResourceURLs).toBeUndefined();
      for (const list of [rule.apiGroups, rule.resources, rule.verbs])
        for (const item of list) expect(item).not.toContain('*');
      if (rule === core[0]) continue;
      // The one watch rule: GitRepositories only, for the relay's index.
      if (rule.verbs.includes('watch')) {
        expect(rule).toEqual(watchRule);
        continue;
      }
      expect([...rule.verbs].sort()).toEqual(['get', 'list', 'patch']);
      for (const group of rule.apiGroups) {
        expect(group).toMatch(/^[a-z]+\.toolkit\.fluxcd\.io$/);
        for (const resource of rule.resources) granted.add(`${group}/${resource}`);
      }
    }
    expect([...granted].sort()).toEqual(fluxResources);
    expect(rules.filter((r) => r.verbs.includes('watch'))).toEqual([watchRule]);
  }
  // Both variants grant the same thing.
  expect(roles[0]!.rules).toEqual(roles[1]!.rules);
});

test("each binding binds its own role to the relay ServiceAccount and the EKS access entries' group, and the token Secret belongs to it", () => {
  const subject = [
    { kind: 'ServiceAccount', name: relayIdentity.serviceAccount, namespace: relayIdentity.namespace },
    { kind: 'Group', name: relayIdentity.group, apiGroup: 'rbac.authorization.k8s.io' },
  ];
  const cluster = manifests.get('relay-rbac.yaml')!;
  const clusterBinding = cluster.find((d) => d.kind === 'ClusterRoleBinding')!;
  expect(clusterBinding.subjects).toEqual(subject);
  expect(clusterBinding.roleRef).toEqual({
    apiGroup: 'rbac.authorization.k8s.io',
    kind: 'ClusterRole',
    name: cluster.find((d) => d.kind === 'ClusterRole')!.metadata.name,
  });

  const perNamespace = manifests.get('relay-role.yaml')!;
  const roleBinding = perNamespace.find((d) => d.kind === 'RoleBinding')!;
  expect(roleBinding.subjects).toEqual(subject);
  expect(roleBinding.roleRef).toEqual({
    apiGroup: 'rbac.authorization.k8s.io',
    kind: 'Role',
    name: perNamespace.find((d) => d.kind === 'Role')!.metadata.name,
  });
  // No namespace of their own: `kubectl apply -n <ns>` puts them in each watched namespace.
  for (const doc of perNamespace) expect(doc.metadata.namespace).toBeUndefined();

  for (const file of ['relay-rbac.yaml', 'relay-serviceaccount.yaml']) {
    const account = manifests.get(file)!.find((d) => d.kind === 'ServiceAccount')!;
    expect(account.metadata).toEqual({ name: relayIdentity.serviceAccount, namespace: relayIdentity.namespace });
  }
  // The defaults of `npm run kubeconfig` (--namespace, --secret-name) name this Secret.
  const [token] = manifests.get('relay-token.yaml')!;
  expect(token!.type).toBe('kubernetes.io/service-account-token');
  expect(token!.metadata).toEqual({
    name: relayIdentity.tokenSecret,
    namespace: relayIdentity.namespace,
    annotations: { 'kubernetes.io/service-account.name': relayIdentity.serviceAccount },
  });
  // The two variants' ServiceAccount is the same object: switching variants keeps the token.
  const pick = (file: string) => manifests.get(file)!.filter((d) => d.kind === 'ServiceAccount');
  expect(pick('relay-serviceaccount.yaml')).toEqual(pick('relay-rbac.yaml'));
});

test('the integration tests grant the relay no more than the manifests do', () => {
  const manifestRules = roles[0]!.rules!;
  const fluxGroups = new Set(fluxResources.map((r) => r.split('/')[0]));
  for (const rule of relayRulesWithWatch) {
    expect(rule.namespaces).toBeUndefined();
    for (const group of rule.apiGroups) {
      for (const verb of rule.verbs) {
        const matching = manifestRules.filter((m) => m.apiGroups.includes(group) && m.verbs.includes(verb));
        expect({ group, verb, granted: matching.length > 0 }).toEqual({ group, verb, granted: true });
        for (const resource of rule.resources) {
          // '*' on a Flux group is no wider than the manifest: the test API server serves exactly the Flux kinds of
          // lib/kube/kinds.ts in those groups.
          if (resource === '*' && fluxGroups.has(group)) continue;
          expect({ group, verb, resource, granted: matching.some((m) => m.resources.includes(resource)) }).toEqual({
            group,
            verb,
            resource,
            granted: true,
          });
        }
      }
    }
  }
});
