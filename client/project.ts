// Where the project lives, and loading its heavier parts on demand.
//
// The CLI runs from a prebuilt bundle when one is fresh (see bin/autok8s.js): the
// `failover` that keepalived's notify_master runs must start fast. The worker, the sandbox
// and the dev tooling are not in that bundle (they need their own files around them, and
// no command on the fast path uses them), so commands load them from source here, with
// the TypeScript loader registered on first use.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'autok8s') return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find the autok8s project above ${from}`);
  }
}

export const PROJECT_ROOT = findRoot(__dirname);

let typescriptLoader = false;

/** Requires a project source module (path relative to the project root, no extension). */
export function loadSource<T>(relativePath: string): T {
  if (!typescriptLoader) {
    require('tsx/cjs'); // idempotent when the CLI already runs from source
    typescriptLoader = true;
  }
  // A computed path, so the bundler leaves this module out of the fast bundle.
  return require(join(PROJECT_ROOT, relativePath)) as T;
}
