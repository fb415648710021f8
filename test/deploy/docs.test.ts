// docs/production.md stays true to the code it describes: the files it names exist, its
// table of OVH calls names every OVH activity (and nothing else), and the access rules it
// recommends grant every call a workflow makes, under OVH's wildcard rule.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createOvhActivities } from '../../activities/ovh/activities';
import { ROOT } from '../helpers/paths';

const DOC = readFileSync(join(ROOT, 'docs', 'production.md'), 'utf8');

/** The rows of the markdown table that follows `heading`. */
function tableAfter(heading: string): string[][] {
  const start = DOC.indexOf(heading);
  expect(start, `docs/production.md has "${heading}"`).toBeGreaterThanOrEqual(0);
  const lines = DOC.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim()));
  }
  return rows;
}

/** OVH access rules: `*` matches any run of characters, `/` included. */
function granted(rules: { method: string; path: string }[], method: string, path: string): boolean {
  return rules.some((r) => r.method === method && new RegExp(`^${r.path.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(path));
}

describe('docs/production.md', () => {
  it('names only files that exist', () => {
    const named = [...DOC.matchAll(/`((?:activities|workflows|client|core|worker|deploy|test|sandbox)\/[\w./-]+\.(?:ts|sh|yaml|md))`/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(5);
    for (const file of new Set(named)) expect(existsSync(join(ROOT, file)), file).toBe(true);
  });

  it('lists every OVH activity in its table of calls, and no other', () => {
    const activities = Object.keys(createOvhActivities({ secrets: async () => '' }));
    const rows = tableAfter('### The calls autok8s makes');
    const named = new Set(rows.flatMap((r) => [...r[2].matchAll(/`(\w+)`/g)].map((m) => m[1])));
    expect([...named].sort()).toEqual([...activities].sort());
  });

  it('recommends access rules that grant every call a workflow makes, and not the unused reboot', () => {
    const json = /### Access rules[\s\S]*?```json\n([\s\S]*?)```/.exec(DOC)?.[1];
    const { accessRules } = JSON.parse(json!) as { accessRules: { method: string; path: string }[] };
    const rows = tableAfter('### The calls autok8s makes').filter((r) => !r[3].startsWith('no workflow'));
    expect(rows.length).toBeGreaterThan(5);
    for (const [method, paths] of rows) {
      for (const [, template] of paths.matchAll(/`([^`]+)`/g)) {
        // Fill the placeholders with the example values the rules use.
        const path = template
          .replace('{ip}', '203.0.113.10/32')
          .replace('{taskId}', '42')
          .replace('{id}', '42')
          .replace('{vrack}', 'pn-123456')
          .replace('{service}', 'ns1001.ip-1-2-3.eu');
        const full = path.startsWith('.../') ? undefined : path;
        if (full) expect(granted(accessRules, method, full), `${method} ${full}`).toBe(true);
      }
    }
    expect(granted(accessRules, 'POST', '/dedicated/server/ns1001.ip-1-2-3.eu/reboot')).toBe(false);
    expect(granted(accessRules, 'DELETE', '/ip/203.0.113.10/32')).toBe(false);
  });
});
