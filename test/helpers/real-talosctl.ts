// The real talosctl the tests run: $TALOSCTL when it is the pinned version, else the pinned
// build in the machine's cache, which scripts/install-talosctl makes and the tests' global
// setup runs when Go is there (test/global-setup.ts). Only the pinned version is accepted: the
// simulated nodes serve that version's API (sandbox/talos/grpc/descriptors.ts). Tiers that need
// it skip without it, with the reason in their title, and fail under CI (./prerequisites.ts).
import { execFileSync } from 'node:child_process';
import { cachedTalosctl } from '../../activities/talos/talosctl-cache';
import { parseVersionShort } from '../../core/talos/version';
import { PINNED_TALOS_VERSION } from '../../core/talos/talosctl-pin';
import { talosApiDescriptorPaths } from '../../sandbox/talos/grpc/descriptors';

export interface RealTalosctl {
  path: string;
  version: string;
  /** The API descriptor sets the simulated nodes load for that version. */
  descriptors: { talos: string; cosi: string };
}

function clientTag(path: string): string | undefined {
  try {
    return parseVersionShort(execFileSync(path, ['version', '--client'], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] })).client;
  } catch {
    return undefined;
  }
}

/** The pinned real talosctl (`found`, also as `talosctl`), or why there is none (`missing`). */
export function findRealTalosctl(env: NodeJS.ProcessEnv = process.env): { found?: RealTalosctl; talosctl?: RealTalosctl; missing?: string } {
  const build = 'build it with `npm run install-talosctl` (needs Go)';
  const candidates = [...(env.TALOSCTL ? [env.TALOSCTL] : []), ...(cachedTalosctl(PINNED_TALOS_VERSION) ? [cachedTalosctl(PINNED_TALOS_VERSION)!.binary] : [])];
  const seen: string[] = [];
  for (const path of candidates) {
    const tag = clientTag(path);
    if (tag !== PINNED_TALOS_VERSION) {
      seen.push(tag ? `${path} is ${tag}` : `${path} does not run`);
      continue;
    }
    let descriptors: RealTalosctl['descriptors'];
    try {
      descriptors = talosApiDescriptorPaths(PINNED_TALOS_VERSION, env);
    } catch (err) {
      return { missing: (err as Error).message };
    }
    const found = { path, version: tag, descriptors };
    return { found, talosctl: found };
  }
  const where = seen.length > 0 ? seen.join('; ') : `not in $TALOSCTL nor in the cache`;
  return { missing: `no real talosctl ${PINNED_TALOS_VERSION} (${where}); ${build}` };
}
