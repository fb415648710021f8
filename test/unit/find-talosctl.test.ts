// Finding talosctl: $TALOSCTL, the spec (within the worker's policy), PATH, the cache; each
// miss in one line, a final error that says how to build the pinned one.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findTalosctl, reportingFinder, TalosctlNotFound } from '../../activities/talos/find-talosctl';
import { resolveTalosctlPath } from '../../activities/talos/talosctl';
import { talosctlCacheEntryFor, talosctlCachePath, talosApiDescriptorPaths } from '../../activities/talos/talosctl-cache';
import { PINNED_TALOS_VERSION, talosctlCacheEntry, talosctlCacheRoots } from '../../core/talos/talosctl-pin';

const scratch = () => mkdtempSync(join(tmpdir(), 'ak8s-find-talosctl-'));
function executable(dir: string, name = 'talosctl'): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, '#!/bin/sh\necho talosctl\n');
  chmodSync(path, 0o755);
  return path;
}
const spec = (talosctl?: string) => ({ metadata: { name: 'prod-gra' }, talos: { talosctl } });

/** A machine with a talosctl in each place; `without` leaves places out. */
function machine() {
  const root = scratch();
  const cache = join(root, 'cache');
  return {
    root,
    env: executable(join(root, 'env')),
    spec: executable(join(root, 'clusters', 'prod-gra')),
    pathDir: join(root, 'bin'),
    onPath: executable(join(root, 'bin')),
    cache,
    cached: executable(join(cache, PINNED_TALOS_VERSION)),
    policy: { secretEnvPrefixes: [], pathRoots: [join(root, 'clusters', '{cluster}')], ovhEndpoints: [] },
  };
}

describe('findTalosctl', () => {
  const m = machine();
  const empty = scratch();
  const envOf = (o: { TALOSCTL?: string; PATH?: string; cache?: string }) => ({ TALOSCTL: o.TALOSCTL, PATH: o.PATH ?? '', AUTOK8S_TALOSCTL_CACHE: o.cache ?? empty });

  it.each([
    { name: "$TALOSCTL first, over the spec's", env: envOf({ TALOSCTL: m.env, PATH: m.pathDir, cache: m.cache }), talosctl: m.spec, expected: { path: m.env, source: 'TALOSCTL' } },
    { name: "then the spec's talos.talosctl", env: envOf({ PATH: m.pathDir, cache: m.cache }), talosctl: m.spec, expected: { path: m.spec, source: 'spec' } },
    { name: 'then talosctl on PATH', env: envOf({ PATH: m.pathDir, cache: m.cache }), talosctl: undefined, expected: { path: m.onPath, source: 'PATH' } },
    { name: 'then the pinned build in the cache', env: envOf({ cache: m.cache }), talosctl: undefined, expected: { path: m.cached, source: 'cache' } },
    { name: 'an empty $TALOSCTL does not count', env: envOf({ TALOSCTL: '', cache: m.cache }), talosctl: undefined, expected: { path: m.cached, source: 'cache' } },
  ])('$name', ({ env, talosctl, expected }) => {
    expect(findTalosctl(spec(talosctl), { env, policy: m.policy })).toMatchObject(expected);
  });

  it('reports each place it passed over, in one line each', () => {
    const found = findTalosctl(spec(), { env: envOf({ TALOSCTL: join(m.root, 'nothing'), cache: m.cache }), policy: m.policy });
    expect(found.source).toBe('cache');
    expect(found.misses).toEqual([`$TALOSCTL=${join(m.root, 'nothing')} is not an executable file`, 'the spec names no talos.talosctl', 'no `talosctl` on PATH']);
  });

  it("takes the spec's talosctl even when it is missing: running it names it, and no other talosctl is tried", () => {
    const gone = join(m.root, 'clusters', 'prod-gra', 'gone');
    expect(findTalosctl(spec(gone), { env: envOf({ PATH: m.pathDir, cache: m.cache }), policy: m.policy })).toEqual({ path: gone, source: 'spec', misses: ['$TALOSCTL is not set'] });
  });

  it("does not run a spec's talosctl outside the worker's policy, nor any other, and says which setting allows it", () => {
    const elsewhere = executable(join(m.root, 'clusters', 'other-cluster'));
    let error: unknown;
    try {
      findTalosctl(spec(elsewhere), { env: envOf({ PATH: m.pathDir, cache: m.cache }), policy: m.policy });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TalosctlNotFound);
    expect((error as TalosctlNotFound).misses[1]).toMatch(/talos\.talosctl .*other-cluster\/talosctl is outside the directories this worker allows .*AUTOK8S_SPEC_PATH_ROOTS.*no other is tried/);
  });

  it('refuses a hostile talos.talosctl even when $TALOSCTL would win', () => {
    expect(() => findTalosctl(spec('/bin/sh -c id'), { env: envOf({ TALOSCTL: m.env }) })).toThrow(/talos\.talosctl/);
  });

  it('fails with every miss and the command that builds the pinned talosctl', () => {
    let error: unknown;
    try {
      findTalosctl(spec(), { env: envOf({}) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TalosctlNotFound);
    expect((error as TalosctlNotFound).misses).toEqual(['$TALOSCTL is not set', 'the spec names no talos.talosctl', 'no `talosctl` on PATH', `no talosctl ${PINNED_TALOS_VERSION} in the cache (${empty})`]);
    expect((error as Error).message).toContain('npm run install-talosctl');
  });

  it('resolveTalosctlPath gives the path the lookup found', () => {
    expect(resolveTalosctlPath(spec(), { env: envOf({ PATH: m.pathDir }) })).toBe(m.onPath);
  });

  it('a reporting lookup says which binary it uses, and why not the others, once per outcome', () => {
    const lines: string[] = [];
    const find = reportingFinder({ env: envOf({ PATH: m.pathDir }), log: (l) => lines.push(l) });
    expect(find(spec())).toBe(m.onPath);
    expect(find(spec())).toBe(m.onPath);
    expect(lines).toEqual([`talosctl: ${m.onPath} (from PATH)`, 'talosctl: not used: $TALOSCTL is not set', 'talosctl: not used: the spec names no talos.talosctl']);
    expect(find(spec(m.spec))).toBe(m.spec);
    expect(lines.slice(3)).toEqual([`talosctl: ${m.spec} (from the spec's talos.talosctl)`, 'talosctl: not used: $TALOSCTL is not set']);
  });
});

describe('the talosctl cache', () => {
  it.each([
    { name: 'machine-wide first, then the user cache', env: {}, expected: ['/var/cache/autok8s/talosctl', '/home/u/.cache/autok8s/talosctl'] },
    { name: 'the user cache follows XDG_CACHE_HOME', env: { XDG_CACHE_HOME: '/xdg' }, expected: ['/var/cache/autok8s/talosctl', '/xdg/autok8s/talosctl'] },
    { name: '$AUTOK8S_TALOSCTL_CACHE replaces both', env: { AUTOK8S_TALOSCTL_CACHE: '/ci/cache' }, expected: ['/ci/cache'] },
  ])('$name', ({ env, expected }) => {
    expect(talosctlCacheRoots(env, '/home/u')).toEqual(expected);
  });

  it('keys each entry by version: the binary and the API descriptors beside it', () => {
    expect(talosctlCacheEntry('/c', 'v1.10.0')).toEqual({
      dir: '/c/v1.10.0',
      binary: '/c/v1.10.0/talosctl',
      descriptors: { talos: '/c/v1.10.0/api/talos-api.descriptors', cosi: '/c/v1.10.0/api/cosi-state.descriptors' },
    });
    expect(() => talosctlCacheEntry('/c', '../../etc')).toThrow(/not a version tag/);
  });

  it('points at the root that holds the version, else the first one this process may write', () => {
    const root = scratch();
    const cache = join(root, 'cache');
    const lookup = { env: { AUTOK8S_TALOSCTL_CACHE: cache }, home: root };
    expect(talosctlCachePath('v1.10.0', lookup)).toBe(join(cache, 'v1.10.0', 'talosctl'));
    expect(talosApiDescriptorPaths('v1.10.0', lookup).cosi).toBe(join(cache, 'v1.10.0', 'api', 'cosi-state.descriptors'));
    // Not root: /var/cache/autok8s is not writable, so the user's cache is where it goes.
    if (process.getuid?.() !== 0) expect(talosctlCacheEntryFor('v1.10.0', { env: { XDG_CACHE_HOME: root }, home: root }).dir).toBe(join(root, 'autok8s', 'talosctl', 'v1.10.0'));
    // A user cache that holds the version is used even when the machine-wide root could be written.
    const held = executable(join(root, 'autok8s', 'talosctl', 'v1.9.0'));
    expect(talosctlCachePath('v1.9.0', { env: { XDG_CACHE_HOME: root }, home: root })).toBe(held);
  });
});
