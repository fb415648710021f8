// The real talosctl the tests run: $TALOSCTL when it is the pinned version, else the pinned
// build in the machine's cache, which scripts/install-talosctl makes and the tests' global
// setup runs when Go is there (test/global-setup.ts). Only the pinned version is accepted: the
// simulated nodes serve that version's API (sandbox/talos/grpc/descriptors.ts). Tiers that need
// it skip without it, with the reason in their title, and fail under CI (./prerequisites.ts).
import { PINNED_TALOS_VERSION } from '../../core/talos/talosctl-pin';
import { talosApiDescriptorPaths } from '../../sandbox/talos/grpc/descriptors';
import { findPinnedTalosctl } from '../../sandbox/talos/real-talosctl';

export interface RealTalosctl {
  path: string;
  version: string;
  /** The API descriptor sets the simulated nodes load for that version. */
  descriptors: { talos: string; cosi: string };
}

/** The pinned real talosctl (`found`, also as `talosctl`), or why there is none (`missing`). */
export function findRealTalosctl(env: NodeJS.ProcessEnv = process.env): { found?: RealTalosctl; talosctl?: RealTalosctl; missing?: string } {
  const pinned = findPinnedTalosctl(env);
  if ('missing' in pinned) return { missing: pinned.missing };
  let descriptors: RealTalosctl['descriptors'];
  try {
    descriptors = talosApiDescriptorPaths(PINNED_TALOS_VERSION, env);
  } catch (err) {
    return { missing: (err as Error).message };
  }
  const found = { ...pinned, descriptors };
  return { found, talosctl: found };
}
