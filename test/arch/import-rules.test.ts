// The layering holds over every source file of the repository, and each rule is shown to
// catch the import it exists for.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths';
import { importSpecifiers, repoRelative, violations } from './import-rules';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
    return /\.(ts|mts|js)$/.test(name) ? [path] : [];
  });
}

describe('import rules', () => {
  it('hold for every file of core/, activities/, workflows/ and sandbox/', () => {
    const files = ['core', 'activities', 'workflows', 'sandbox'].flatMap((d) => sources(join(ROOT, d)));
    expect(files.length).toBeGreaterThan(100);
    const broken = files.flatMap((f) => violations(repoRelative(ROOT, f), readFileSync(f, 'utf8')));
    expect(broken).toEqual([]);
  });

  it.each([
    { name: 'core importing an activity is refused', file: 'core/render/haproxy.ts', source: "import { x } from '../../activities/ssh/push';", why: /core\/ is pure/ },
    { name: 'an activity importing a workflow type is refused', file: 'activities/temporal/activities.ts', source: "import type { X } from '../../workflows/health-check';", why: /activities\/ never import workflows/ },
    { name: 'a workflow importing the worker is refused', file: 'workflows/failover-ip.ts', source: "import type { createActivities } from '../worker/activities';", why: /never import worker/ },
    { name: 'a workflow importing a Node built-in is refused', file: 'workflows/failover-ip.ts', source: "import { readFile } from 'node:fs/promises';", why: /deterministic/ },
    { name: 'a workflow requiring a Node built-in is refused', file: 'workflows/failover-ip.ts', source: "const fs = require('fs');", why: /deterministic/ },
    { name: 'the sandbox importing a workflow is refused', file: 'sandbox/index.ts', source: "export { failoverIp } from '../workflows/failover-ip';", why: /sandbox\/ never imports workflows/ },
  ])('$name', ({ file, source, why }) => {
    const found = violations(file, source);
    expect(found).toHaveLength(1);
    expect(found[0].why).toMatch(why);
  });

  it.each([
    { name: 'core importing core is allowed', file: 'core/render/haproxy.ts', source: "import { parseCidr } from '../net/ipv4';" },
    { name: 'a workflow importing the activity interface is allowed', file: 'workflows/failover-ip.ts', source: "import type { Activities } from '../activities';" },
    { name: 'an activity importing core is allowed', file: 'activities/ssh/push.ts', source: "import { renderHaproxy } from '../../core/render/haproxy';" },
  ])('$name', ({ file, source }) => {
    expect(violations(file, source)).toEqual([]);
  });

  it('finds imports, re-exports, side-effect imports, requires and dynamic imports', () => {
    const source = ["import a from './a';", "import type { B } from '../b';", "export * from './c';", "import './d';", "const e = require('./e');", "const f = await import('./f');"].join('\n');
    expect(importSpecifiers(source).sort()).toEqual(['../b', './a', './c', './d', './e', './f']);
  });
});
