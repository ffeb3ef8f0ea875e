/**
 * The shape of the code, checked: lib/ (the core) and functions/ (the thin handlers) form no import cycle, type-only
 * imports included, and the core never reaches into the handlers, the scripts or the tests; user-facing scripts import
 * nothing from tests/. Imports are read from the source text (relative specifiers only: packages cannot close a cycle
 * through our files).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|cjs|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative imports and re-exports of a file, resolved to repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [
    ...text.matchAll(
      /(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s*['"](\.[^'"]+)['"]|require\(\s*['"](\.[^'"]+)['"]\s*\)|import\(\s*['"](\.[^'"]+)['"]\s*\)/g,
    ),
  ].map((m) => m[1] ?? m[2] ?? m[3]!);
  return specifiers.map((spec) => {
    const base = resolve(root, dirname(file), spec);
    const candidates = [base, `${base}.ts`, join(base, 'index.ts'), `${base}.cjs`];
    const found = candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? base;
    return relative(root, found);
  });
}

function graphOf(dirs: string[]): Map<string, string[]> {
  return new Map(dirs.flatMap(sourceFiles).map((file) => [file, importsOf(file)]));
}

/** Every cycle's files, found with Tarjan's strongly connected components (a component of two or more is a cycle). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const lowlinks = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    lowlinks.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        visit(next);
        lowlinks.set(node, Math.min(lowlinks.get(node)!, lowlinks.get(next)!));
      } else if (onStack.has(next)) {
        lowlinks.set(node, Math.min(lowlinks.get(node)!, indices.get(next)!));
      }
    }
    if (lowlinks.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return found;
}

test('the cycle finder finds a cycle (so the assertions below can fail)', () => {
  const graph = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['a.ts']],
  ]);
  expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
});

test('lib/ and functions/ have no import cycle', () => {
  expect(cycles(graphOf(['lib', 'functions']))).toEqual([]);
});

test('lib/ imports nothing from functions/, scripts/, tests/ or dev/', () => {
  const outward = [...graphOf(['lib'])].flatMap(([file, imports]) =>
    imports.filter((i) => /^(functions|scripts|tests|dev)\//.test(i)).map((i) => `${file} -> ${i}`),
  );
  expect(outward).toEqual([]);
});

test('user-facing scripts import nothing from tests/', () => {
  // The benches (scripts/bench*.ts) measure against the tests' loopback servers; they are not user-facing commands.
  const userFacing = sourceFiles('scripts').filter((f) => !/scripts\/bench[^/]*\.ts$/.test(f));
  const intoTests = userFacing.flatMap((file) =>
    importsOf(file)
      .filter((i) => i.startsWith('tests/'))
      .map((i) => `${file} -> ${i}`),
  );
  expect(intoTests).toEqual([]);
});

test('Lambda event types stop at functions/: lib/ never imports aws-lambda', () => {
  const lambdaTypes = sourceFiles('lib').filter((file) =>
    /from\s*['"]aws-lambda['"]/.test(readFileSync(join(root, file), 'utf8')),
  );
  expect(lambdaTypes).toEqual([]);
});

test('the environment is read in one module (lib/runtime/env.ts), so every variable has its default and meaning there', () => {
  const readers = [...sourceFiles('lib'), ...sourceFiles('functions')].filter(
    (file) =>
      file !== 'lib/runtime/env.ts' &&
      /process\.env\b/.test(readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')),
  );
  expect(readers).toEqual([]);
});
