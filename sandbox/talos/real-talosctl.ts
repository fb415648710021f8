// The real talosctl a sandbox hands its workers: $TALOSCTL when it is the pinned version, else
// the pinned build in the machine's cache (scripts/install-talosctl). Only the pinned version:
// the simulated nodes serve that version's API (sandbox/talos/grpc/descriptors.ts), and a
// talosctl of another version would be tested against an API it does not speak.
import { execFileSync } from 'node:child_process';
import { cachedTalosctl } from '../../activities/talos/talosctl-cache';
import { PINNED_TALOS_VERSION } from '../../core/talos/talosctl-pin';
import { parseVersionShort } from '../../core/talos/version';

export const BUILD_TALOSCTL_HINT = 'build it with `npm run install-talosctl` (needs Go; minutes once per machine)';

function clientTag(path: string): string | undefined {
  try {
    return parseVersionShort(execFileSync(path, ['version', '--client'], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] })).client;
  } catch {
    return undefined;
  }
}

/** The pinned real talosctl's path, or why there is none. */
export function findPinnedTalosctl(env: NodeJS.ProcessEnv = process.env): { path: string; version: string } | { missing: string } {
  const cached = cachedTalosctl(PINNED_TALOS_VERSION, { env });
  const candidates = [...(env.TALOSCTL ? [env.TALOSCTL] : []), ...(cached ? [cached.binary] : [])];
  const seen: string[] = [];
  for (const path of candidates) {
    const tag = clientTag(path);
    if (tag === PINNED_TALOS_VERSION) return { path, version: tag };
    seen.push(tag ? `${path} is ${tag}` : `${path} does not run`);
  }
  const where = seen.length > 0 ? seen.join('; ') : 'not in $TALOSCTL nor in the cache';
  return { missing: `no real talosctl ${PINNED_TALOS_VERSION} (${where}); ${BUILD_TALOSCTL_HINT}` };
}
