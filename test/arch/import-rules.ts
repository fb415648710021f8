// The project's layering, as data and a pure check over import statements: which top-level
// folder may import which. Kept apart from the test so the test can show each rule bites.
import { builtinModules } from 'node:module';
import { dirname, join, normalize, relative } from 'node:path';

export interface ImportRule {
  /** Folder the importing file lives in (top level of the repository). */
  from: string;
  /** Why, as the failure message says it. */
  why: string;
  /** True when importing `target` (a repository path, or a package name) from `from` breaks the rule. */
  forbids(target: ImportTarget): boolean;
}

export type ImportTarget = { kind: 'project'; path: string } | { kind: 'package'; name: string };

const topFolder = (path: string) => path.split('/')[0];
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

export const IMPORT_RULES: ImportRule[] = [
  {
    from: 'core',
    why: 'core/ is pure and imports nothing else of the project',
    forbids: (t) => t.kind === 'project' && topFolder(t.path) !== 'core',
  },
  {
    from: 'activities',
    why: 'activities/ never import workflows/ (shared types live in core/)',
    forbids: (t) => t.kind === 'project' && topFolder(t.path) === 'workflows',
  },
  {
    from: 'workflows',
    why: 'workflows/ never import worker/ (the activity interface is activities/index.ts)',
    forbids: (t) => t.kind === 'project' && topFolder(t.path) === 'worker',
  },
  {
    from: 'workflows',
    why: 'workflows/ are deterministic: no Node built-ins (everything that touches the world is an activity)',
    forbids: (t) => t.kind === 'package' && NODE_BUILTINS.has(t.name),
  },
  {
    from: 'sandbox',
    why: 'sandbox/ never imports workflows/ (it stands in for providers, not for autok8s)',
    forbids: (t) => t.kind === 'project' && topFolder(t.path) === 'workflows',
  },
];

/** Every module specifier a TypeScript source imports, re-exports or requires. */
export function importSpecifiers(source: string): string[] {
  const found = new Set<string>();
  const patterns = [/^\s*(?:import|export)\s[^'"]*?\sfrom\s+['"]([^'"]+)['"]/gm, /^\s*import\s+['"]([^'"]+)['"]/gm, /\b(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.add(m[1]);
  return [...found];
}

/** What a specifier in `file` (a repository-relative path) refers to. */
export function resolveTarget(file: string, specifier: string): ImportTarget {
  if (!specifier.startsWith('.')) return { kind: 'package', name: specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0] };
  return { kind: 'project', path: normalize(join(dirname(file), specifier)).split('\\').join('/') };
}

export interface Violation {
  file: string;
  specifier: string;
  why: string;
}

/** The rules `file` (repository-relative) breaks with `source`. */
export function violations(file: string, source: string, rules: readonly ImportRule[] = IMPORT_RULES): Violation[] {
  const from = topFolder(file);
  return importSpecifiers(source).flatMap((specifier) => {
    const target = resolveTarget(file, specifier);
    return rules.filter((r) => r.from === from && r.forbids(target)).map((r) => ({ file, specifier, why: r.why }));
  });
}

export const repoRelative = (root: string, path: string) => relative(root, path).split('\\').join('/');
