// The real talosctl the tests run: the pinned build in the machine's cache, which
// scripts/install-talosctl makes and the tests' global setup runs when Go is there
// (test/global-setup.ts). Tiers that need it skip without it, with the reason in their title,
// and fail under CI (./prerequisites.ts).
import { execFileSync } from 'node:child_process';
import { cachedTalosctl } from '../../activities/talos/talosctl-cache';
import { parseVersionShort } from '../../core/talos/version';
import { PINNED_TALOS_VERSION } from '../../core/talos/talosctl-pin';

export interface RealTalosctl {
  path: string;
  /** The API descriptor sets written beside it at install time. */
  descriptors: { talos: string; cosi: string };
}

/** The pinned real talosctl, or why there is none. */
export function findRealTalosctl(): { found: RealTalosctl } | { missing: string } {
  const entry = cachedTalosctl(PINNED_TALOS_VERSION);
  const build = `build it with \`npm run install-talosctl\` (needs Go)`;
  if (!entry) return { missing: `the pinned talosctl ${PINNED_TALOS_VERSION} is not in the cache; ${build}` };
  let tag: string | undefined;
  try {
    tag = parseVersionShort(execFileSync(entry.binary, ['version', '--client'], { encoding: 'utf8', timeout: 60_000 })).client;
  } catch (err) {
    return { missing: `${entry.binary} does not run (${(err as Error).message.split('\n')[0]}); ${build}` };
  }
  if (tag !== PINNED_TALOS_VERSION) return { missing: `${entry.binary} is talosctl ${tag ?? '(no tag)'}, not ${PINNED_TALOS_VERSION}; ${build}` };
  return { found: { path: entry.binary, descriptors: entry.descriptors } };
}
