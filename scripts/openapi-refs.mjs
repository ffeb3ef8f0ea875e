/**
 * The part of an API description the extract scripts keep: every definition a kept path refers to, transitively.
 * Shared by scripts/extract-github-openapi.mjs, extract-gitea-swagger.mjs, extract-bitbucket-openapi.mjs and
 * extract-gitlab-openapi.mjs.
 */

/**
 * Walks `root` (the kept paths) and every definition it reaches through `$ref`, and returns the names reached, by
 * section. `refPattern` must capture the section and the name of a local reference (`#/components/schemas/x` in
 * OpenAPI 3, `#/definitions/x` in Swagger 2); `lookup(section, name)` finds the definition. JSON Pointer escapes in
 * names (`~1` for `/`, `~0` for `~`) are decoded. Any other reference, or one that leads nowhere, throws.
 */
export function referencedNames(root, refPattern, lookup) {
  const wanted = new Map(); // section -> Set(name)
  const queue = [root];
  while (queue.length > 0) {
    const node = queue.pop();
    if (Array.isArray(node)) {
      queue.push(...node);
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    for (const [key, value] of Object.entries(node)) {
      if (key !== '$ref' || typeof value !== 'string') {
        queue.push(value);
        continue;
      }
      const match = refPattern.exec(value);
      if (!match) throw new Error(`unsupported $ref ${value}`);
      const [, section, raw] = match;
      const name = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      const set = wanted.get(section) ?? new Set();
      wanted.set(section, set);
      if (set.has(name)) continue;
      const target = lookup(section, name);
      if (target === undefined) throw new Error(`dangling $ref ${value}`);
      set.add(name);
      queue.push(target);
    }
  }
  return wanted;
}

/** The reached definitions as `{ section: { name: definition } }`, sections and names sorted. */
export function sortedDefinitions(wanted, lookup) {
  return Object.fromEntries(
    [...wanted.keys()]
      .sort()
      .map((section) => [
        section,
        Object.fromEntries([...wanted.get(section)].sort().map((name) => [name, lookup(section, name)])),
      ]),
  );
}
