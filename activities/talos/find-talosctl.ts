// Which talosctl the worker runs, found as the Temporal CLI is (client/dev/find-temporal-cli.ts):
// $TALOSCTL (the worker's operator), the spec's talos.talosctl (within the worker's policy; when
// the spec names one, it is the last place looked at), `talosctl` on PATH, then the pinned
// build in the machine's cache (scripts/install-talosctl). Each place that did not give one is
// a miss, reported in one line, so whoever reads the log sees why the next place was tried and
// which binary ran.
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { GRAMMAR, requireGrammar } from '../../core/spec/grammar';
import type { ClusterSpec } from '../../core/spec/schema';
import { concretePolicy, pathAllowed, type WorkerPolicy } from '../../core/spec/worker-policy';
import { PINNED_TALOS_VERSION, talosctlCacheRoots } from '../../core/talos/talosctl-pin';
import { cachedTalosctl, isExecutableFile } from './talosctl-cache';

export type TalosctlSource = 'TALOSCTL' | 'spec' | 'PATH' | 'cache';

export interface FoundTalosctl {
  path: string;
  source: TalosctlSource;
  /** One line per place looked at before it, saying why it gave nothing. */
  misses: string[];
}

export interface FindTalosctlDeps {
  env?: NodeJS.ProcessEnv;
  /** The worker's policy: a spec's talosctl outside its path roots is not run. Omitted: the caller checked the spec. */
  policy?: WorkerPolicy;
  home?: string;
}

export const INSTALL_TALOSCTL_HINT = `build the pinned talosctl ${PINNED_TALOS_VERSION} with \`npm run install-talosctl\` (needs Go), or set $TALOSCTL on the worker, or talos.talosctl in the spec`;

export class TalosctlNotFound extends Error {
  constructor(readonly misses: string[]) {
    super(['no talosctl to run:', ...misses.map((m) => `  - ${m}`), `To fix: ${INSTALL_TALOSCTL_HINT}.`].join('\n'));
    this.name = 'TalosctlNotFound';
  }
}

/** Where talosctl comes from for `spec`; throws TalosctlNotFound listing every miss. */
export function findTalosctl(spec: { metadata?: { name: string }; talos: Pick<ClusterSpec['talos'], 'talosctl'> }, deps: FindTalosctlDeps = {}): FoundTalosctl {
  const env = deps.env ?? process.env;
  const home = deps.home ?? homedir();
  const named = spec.talos.talosctl;
  // The program the worker runs: a plain path, never words a shell or a flag parser would split.
  // Checked whatever wins, so a hostile spec is refused, not merely outranked.
  if (named !== undefined) requireGrammar(GRAMMAR.specPath, named, 'talos.talosctl');
  const misses: string[] = [];

  if (env.TALOSCTL) {
    if (isExecutableFile(env.TALOSCTL)) return { path: env.TALOSCTL, source: 'TALOSCTL', misses };
    misses.push(`$TALOSCTL=${env.TALOSCTL} is not an executable file`);
  } else {
    misses.push('$TALOSCTL is not set');
  }

  if (named === undefined) {
    misses.push('the spec names no talos.talosctl');
  } else {
    // The spec's choice is final: it may be a stand-in that plays the cluster's nodes (the
    // sandbox's), and another talosctl would dial their addresses for real. So a missing one
    // fails where it is run (naming it), and one outside the policy is not run at all.
    const policy = deps.policy && spec.metadata ? concretePolicy(deps.policy, spec.metadata.name, home) : undefined;
    if (policy && !pathAllowed(named, policy, home)) {
      misses.push(`talos.talosctl ${named} is outside the directories this worker allows (${policy.pathRoots.join(', ') || 'none'}; worker setting AUTOK8S_SPEC_PATH_ROOTS), and no other is tried for a spec that names one`);
      throw new TalosctlNotFound(misses);
    }
    return { path: named, source: 'spec', misses };
  }

  const onPath = (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'talosctl')).find(isExecutableFile);
  if (onPath) return { path: onPath, source: 'PATH', misses };
  misses.push('no `talosctl` on PATH');

  const cached = cachedTalosctl(PINNED_TALOS_VERSION, { env, home });
  if (cached) return { path: cached.binary, source: 'cache', misses };
  misses.push(`no talosctl ${PINNED_TALOS_VERSION} in the cache (${talosctlCacheRoots(env, home).join(', ')})`);
  throw new TalosctlNotFound(misses);
}

/** The report of a lookup, one line for the binary, then one per miss. */
export function describeFoundTalosctl(found: FoundTalosctl): string[] {
  const from = { TALOSCTL: '$TALOSCTL', spec: "the spec's talos.talosctl", PATH: 'PATH', cache: `the cache (the pinned ${PINNED_TALOS_VERSION} build)` }[found.source];
  return [`talosctl: ${found.path} (from ${from})`, ...found.misses.map((m) => `talosctl: not used: ${m}`)];
}

/**
 * A lookup that reports each distinct outcome once: the worker resolves talosctl for every call,
 * and the log should say which binary ran without repeating it a thousand times.
 */
export function reportingFinder(deps: FindTalosctlDeps & { log?: (line: string) => void } = {}) {
  // stderr: a CLI that runs a worker in-process (demo, dev) keeps stdout for its own output.
  const log = deps.log ?? ((line: string) => console.error(line));
  const reported = new Set<string>();
  return (spec: Parameters<typeof findTalosctl>[0]): string => {
    let found: FoundTalosctl;
    try {
      found = findTalosctl(spec, deps);
    } catch (err) {
      if (err instanceof TalosctlNotFound && !reported.has(err.message)) {
        reported.add(err.message);
        for (const line of err.message.split('\n')) log(`talosctl: ${line.trim()}`);
      }
      throw err;
    }
    const lines = describeFoundTalosctl(found);
    const key = lines.join('\n');
    if (!reported.has(key)) {
      reported.add(key);
      for (const line of lines) log(line);
    }
    return found.path;
  };
}
