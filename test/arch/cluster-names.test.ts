// Test files share one Temporal dev server, and a cluster's spec store (`<cluster>/spec`) runs
// on the task queue of the file that first applied it: two files whose sandboxes have the same
// cluster name wait on each other's workers, and whichever runs second hangs (seen in CI).
// Each file that starts a sandbox names its own cluster.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths';

/** Files that start a sandbox against the suite's shared dev server (the web UI test runs its own). */
const OWN_SERVER = new Set(['test/browser/web-ui.test.ts']);

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'output' ? [] : testFiles(path);
    return e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/**
 * The cluster names a file's sandboxes use: every `clusterName: '<x>'`, and every
 * `clusterName: NAME` whose `const NAME = '<x>'` is in the file; 'sandbox' (the default) when a
 * file starts a sandbox and never mentions a cluster name.
 */
export function sandboxClusterNames(source: string): string[] {
  if (!source.includes('startSandbox(')) return [];
  const consts = new Map([...source.matchAll(/const (\w+) = '([^']+)'/g)].map((m) => [m[1], m[2]]));
  const given = [...source.matchAll(/clusterName(?::\s*(?:'([^']+)'|(\w+))|[,\s}])/g)];
  // Names passed through a function's parameter cannot be read here; such a file names its own.
  const names = given.map((m) => m[1] ?? consts.get(m[2])).filter((n): n is string => n !== undefined);
  return given.length > 0 ? [...new Set(names)] : ['sandbox'];
}

describe('sandbox cluster names in the test suite', () => {
  it('reads names given literally or through a constant, and the default', () => {
    expect(sandboxClusterNames("startSandbox({ clusterName: 'a', dir })")).toEqual(['a']);
    expect(sandboxClusterNames('startSandbox({ dir, servers: 2, latency: { ovh: {} } })')).toEqual(['sandbox']);
    expect(sandboxClusterNames("const CLUSTER = 'b';\nstartSandbox({\n  dir,\n  clusterName: CLUSTER,\n})\nstartSandbox({ clusterName: 'c' })")).toEqual(['b', 'c']);
    expect(sandboxClusterNames("renderSpec({ clusterName: 'not-a-sandbox' })")).toEqual([]);
  });

  it('gives every test file its own cluster names', () => {
    const owners = new Map<string, string>();
    const clashes: string[] = [];
    for (const file of testFiles(join(ROOT, 'test'))) {
      const rel = relative(ROOT, file);
      if (OWN_SERVER.has(rel) || rel === 'test/arch/cluster-names.test.ts') continue;
      for (const name of new Set(sandboxClusterNames(readFileSync(file, 'utf8')))) {
        const owner = owners.get(name);
        if (owner && owner !== rel) clashes.push(`${name}: ${owner} and ${rel}`);
        else owners.set(name, rel);
      }
    }
    expect(owners.size).toBeGreaterThan(10);
    expect(clashes).toEqual([]);
  });
});
