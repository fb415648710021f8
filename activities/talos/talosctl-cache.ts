// Where the pinned talosctl and its API descriptors are on this machine (core/talos/
// talosctl-pin.ts says where they may be; scripts/install-talosctl puts them there). Shared
// by the worker's talosctl lookup, the installer, the tests and the simulated Talos nodes.
import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { PINNED_TALOS_VERSION, talosctlCacheEntry, talosctlCacheRoots, type TalosctlCacheEntry } from '../../core/talos/talosctl-pin';

export interface CacheLookup {
  env?: Record<string, string | undefined>;
  home?: string;
}

const roots = (o: CacheLookup) => talosctlCacheRoots(o.env ?? process.env, o.home ?? homedir());

export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return !existsSync(`${path}/.`); // a directory is "executable" too
  } catch {
    return false;
  }
}

/** Can this process create entries under `dir` (or, when it does not exist yet, under its nearest existing parent)? */
function canCreateUnder(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(d)) {
      try {
        accessSync(d, constants.W_OK | constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }
    if (dirname(d) === d) return false;
  }
}

/** The cache entry holding `version`'s talosctl, if any root holds one. */
export function cachedTalosctl(version = PINNED_TALOS_VERSION, o: CacheLookup = {}): TalosctlCacheEntry | undefined {
  return roots(o)
    .map((root) => talosctlCacheEntry(root, version))
    .find((entry) => isExecutableFile(entry.binary));
}

/** Where `version` is installed: the entry that holds it, else the first root this process may write. */
export function talosctlCacheEntryFor(version = PINNED_TALOS_VERSION, o: CacheLookup = {}): TalosctlCacheEntry {
  const found = cachedTalosctl(version, o);
  if (found) return found;
  const all = roots(o);
  const root = all.find(canCreateUnder) ?? all[all.length - 1];
  return talosctlCacheEntry(root, version);
}

/** Path of the pinned (or given) version's talosctl in the cache; it may not exist yet. */
export function talosctlCachePath(version = PINNED_TALOS_VERSION, o: CacheLookup = {}): string {
  return talosctlCacheEntryFor(version, o).binary;
}

/**
 * The API descriptor sets next to that talosctl (FileDescriptorSet, binary protobuf): `talos`
 * is the Talos module's api/api.descriptors, `cosi` the COSI State API with its imports.
 * They exist once scripts/install-talosctl has run.
 */
export function talosApiDescriptorPaths(version = PINNED_TALOS_VERSION, o: CacheLookup = {}): TalosctlCacheEntry['descriptors'] {
  return talosctlCacheEntryFor(version, o).descriptors;
}
