// The talosctl autok8s builds, caches and tests with (docs/contracts.md §C.6).
//
// One pinned version, built from the Go module proxy by scripts/install-talosctl into a cache
// keyed by version that every clone on the machine shares (CI, the tests, the demo): first
// /var/cache/autok8s, else the user's cache when that is not writable, and
// $AUTOK8S_TALOSCTL_CACHE instead of both. Beside the binary, the pinned version's own API
// descriptors, from which the simulated Talos nodes are built. Pure: the caller passes the
// environment and the home directory.
import { join } from 'node:path';

/**
 * The Talos version of the pinned talosctl, and the documented default of spec.talos.version.
 * Why this one: the proxy serves v1.8.0, v1.9.0 and v1.10.0 of the module (not v1.8.3), and
 * v1.10.0 builds with the Go here; its configs still use the v1alpha1 network settings
 * core/talos/patch.ts renders (they move to separate documents in 1.12).
 */
export const PINNED_TALOS_VERSION = 'v1.10.0';

/** The COSI runtime that Talos v1.10.0's go.mod requires: its State API is what `talosctl get` calls. */
export const PINNED_COSI_RUNTIME_VERSION = 'v0.10.2';

/** A directory that replaces both cache roots (a test's scratch, a CI cache volume). */
export const TALOSCTL_CACHE_ENV = 'AUTOK8S_TALOSCTL_CACHE';

/** Where a cache may live, in the order looked at: machine-wide first, then the user's. */
export function talosctlCacheRoots(env: Record<string, string | undefined>, home: string): string[] {
  const override = env[TALOSCTL_CACHE_ENV];
  if (override) return [override];
  const userCache = env.XDG_CACHE_HOME || join(home, '.cache');
  return ['/var/cache/autok8s/talosctl', join(userCache, 'autok8s', 'talosctl')];
}

export interface TalosctlCacheEntry {
  /** <root>/<version> */
  dir: string;
  /** <root>/<version>/talosctl */
  binary: string;
  /** The API descriptor sets written at install time (FileDescriptorSet, binary protobuf). */
  descriptors: {
    /** The Talos module's own api/api.descriptors: machine, cluster, common, resource, … services. */
    talos: string;
    /** cosi.resource.State (Get, List, Watch) of the COSI runtime, with its imports. */
    cosi: string;
  };
}

export function talosctlCacheEntry(root: string, version: string): TalosctlCacheEntry {
  if (!/^v\d+\.\d+\.\d+$/.test(version)) throw new Error(`talosctl cache: ${JSON.stringify(version)} is not a version tag such as ${PINNED_TALOS_VERSION}`);
  const dir = join(root, version);
  return { dir, binary: join(dir, 'talosctl'), descriptors: { talos: join(dir, 'api', 'talos-api.descriptors'), cosi: join(dir, 'api', 'cosi-state.descriptors') } };
}
