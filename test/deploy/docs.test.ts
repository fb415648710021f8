// docs/production.md stays true to the code it describes: the files it names exist, its
// table of OVH calls names every OVH activity (and nothing else), and the access rules it
// recommends grant every call a workflow makes, under OVH's wildcard rule. And every
// `docs/<file>.md §N` the code and the docs cite names a section heading that exists.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
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
          .replace('{uuid}', '5e1f0000-0000-4000-8000-0000001e8483')
          .replace('{service}', 'ns1001.ip-1-2-3.eu');
        const full = path.startsWith('.../') ? undefined : path;
        if (full) expect(granted(accessRules, method, full), `${method} ${full}`).toBe(true);
      }
    }
    expect(granted(accessRules, 'POST', '/dedicated/server/ns1001.ip-1-2-3.eu/reboot')).toBe(false);
    expect(granted(accessRules, 'DELETE', '/ip/203.0.113.10/32')).toBe(false);
  });
});

/** Every .ts and .md file of the project (not dependencies, build output or dot-directories). */
function projectFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || entry.name === 'node_modules' || (dir === join(ROOT, 'test') && entry.name === 'output')) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return projectFiles(path);
    return /\.(ts|md)$/.test(entry.name) ? [path] : [];
  });
}

/**
 * The section numbers a markdown file's headings define: `## 4. Invariants` → 4, `### 4.7 …` →
 * 4.7, `## A. OVH API` → A, `### A.2 Errors` → A.2. A lone capital needs its dot, so a heading
 * such as "### A workflow that seems stuck" defines nothing.
 */
function sectionIds(markdown: string): string[] {
  return [...markdown.matchAll(/^#{1,6}\s+(\d+(?:\.\d+)*|[A-Z](?:\.\d+)+|[A-Z](?=\.))\.?\s/gm)].map((m) => m[1]);
}

/** Every `docs/<file>.md §<section>` in a text, with the line it is on. */
function sectionReferences(text: string): { doc: string; section: string; line: number }[] {
  return [...text.matchAll(/docs\/([\w-]+\.md)\s+§\s*((?:\d+|[A-Z])(?:\.\d+)*)/g)].map((m) => ({
    doc: m[1],
    section: m[2],
    line: text.slice(0, m.index).split('\n').length,
  }));
}

describe('section references into docs/', () => {
  // This file names the documents in its own examples; the scan is about everything else.
  const files = projectFiles().filter((file) => file !== __filename);

  it('reads a heading "### 4.7 No secrets" as section 4.7 and "## A. OVH API" as section A', () => {
    expect(sectionIds('# Title\n## 4. Invariants\n### 4.7 No secrets\n## A. OVH API\n### A.2 Errors\n### A workflow that seems stuck\n')).toEqual(['4', '4.7', 'A', 'A.2']);
    expect(sectionReferences('see docs/design.md §4.7 and\n(docs/contracts.md §A.2)')).toEqual([
      { doc: 'design.md', section: '4.7', line: 1 },
      { doc: 'contracts.md', section: 'A.2', line: 2 },
    ]);
  });

  it('finds each section number once per document, so a reference cannot be ambiguous', () => {
    for (const doc of readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'))) {
      const ids = sectionIds(readFileSync(join(ROOT, 'docs', doc), 'utf8'));
      expect(ids.filter((id, i) => ids.indexOf(id) !== i), `docs/${doc}`).toEqual([]);
    }
  });

  it('resolves every docs/<file>.md §N cited in code and docs to an existing section heading', () => {
    const sections = new Map<string, string[]>();
    const unresolved: string[] = [];
    let cited = 0;
    for (const file of files) {
      for (const ref of sectionReferences(readFileSync(file, 'utf8'))) {
        cited += 1;
        const docPath = join(ROOT, 'docs', ref.doc);
        if (!sections.has(ref.doc)) sections.set(ref.doc, existsSync(docPath) ? sectionIds(readFileSync(docPath, 'utf8')) : []);
        if (!sections.get(ref.doc)!.includes(ref.section)) unresolved.push(`${relative(ROOT, file)}:${ref.line} docs/${ref.doc} §${ref.section}`);
      }
    }
    // The code cites the design and the contracts in a few dozen places; far fewer means the pattern broke.
    expect(cited).toBeGreaterThan(20);
    expect(unresolved).toEqual([]);
  });

  it('cites design.md and contracts.md in code only by their path in the repository', () => {
    const bare = files
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((text, i) => (/(?<![\w/])(design|contracts)\.md/.test(text) ? [`${relative(ROOT, file)}:${i + 1}`] : [])),
      );
    expect(bare).toEqual([]);
  });
});
