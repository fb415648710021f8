// scripts/install-talosctl's decisions without a six-minute build: a cache that holds the
// pinned talosctl and its descriptors is kept as it is; a binary of another version is rebuilt,
// and a Go too old to do it is named. And the descriptor sets it wrote describe the API the
// simulated nodes serve: Talos's machine service and the COSI State service.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { FileDescriptorSet, type IFileDescriptorSet } from 'protobufjs/ext/descriptor';
import { describe, expect, it } from 'vitest';
import { installTalosctl } from '../../client/dev/install-talosctl';
import { talosctlCacheEntry, PINNED_TALOS_VERSION } from '../../core/talos/talosctl-pin';
import { requireInCi } from '../helpers/prerequisites';
import { findRealTalosctl } from '../helpers/real-talosctl';

const real = findRealTalosctl();
const missing = 'missing' in real ? real.missing : undefined;
const scratch = () => mkdtempSync(join(tmpdir(), 'autok8s-install-talosctl-'));
function script(path: string, body: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('install-talosctl', () => {
  it('rebuilds a cached talosctl of another version, and names a Go too old to build it', async () => {
    const cache = scratch();
    const entry = talosctlCacheEntry(cache, PINNED_TALOS_VERSION);
    script(entry.binary, `printf 'Client:\\n\\tTag:         v1.9.0\\n'`);
    const oldGo = script(join(cache, 'go1.19', 'go'), '[ "$1 $2" = "env GOVERSION" ] && echo go1.19.8 || exit 3');
    const lines: string[] = [];
    await expect(installTalosctl({ env: { AUTOK8S_TALOSCTL_CACHE: cache }, go: oldGo, log: (l) => lines.push(l) })).rejects.toThrow(/go1\.19\.8: building talosctl v1\.10\.0 needs Go 1\.24.*npm run install-talosctl/);
    expect(lines[0]).toBe(`${entry.binary} answers v1.9.0, not ${PINNED_TALOS_VERSION}: rebuilding it`);
  });
});

describe.skipIf(requireInCi(missing, 'the real talosctl tier'))(`install-talosctl with the pinned build${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const found = 'found' in real ? real.found : undefined;

  it('keeps a cache that holds the pinned talosctl and its descriptors: nothing is built', async () => {
    const cache = scratch();
    const entry = talosctlCacheEntry(cache, PINNED_TALOS_VERSION);
    mkdirSync(join(entry.dir, 'api'), { recursive: true });
    copyFileSync(found!.path, entry.binary);
    chmodSync(entry.binary, 0o755);
    writeFileSync(entry.descriptors.talos, 'x');
    writeFileSync(entry.descriptors.cosi, 'x');
    const lines: string[] = [];
    const noGo = script(join(cache, 'no-go', 'go'), 'echo "go must not run" >&2; exit 3');
    const installed = await installTalosctl({ env: { AUTOK8S_TALOSCTL_CACHE: cache }, go: noGo, log: (l) => lines.push(l) });
    expect(installed.made).toEqual([]);
    expect(installed.entry.binary).toBe(entry.binary);
    expect(installed.clientVersion).toMatch(new RegExp(`Tag:\\s+${PINNED_TALOS_VERSION.replace(/\./g, '\\.')}`));
    expect(lines).toEqual([`talosctl ${PINNED_TALOS_VERSION} is cached at ${entry.binary}`]);
  });

  it("writes Talos's API descriptors: MachineService with the calls autok8s makes", () => {
    const root = protobuf.Root.fromDescriptor(readFileSync(found!.descriptors.talos));
    const methods = Object.keys(root.lookupService('machine.MachineService').methods);
    expect(methods).toEqual(expect.arrayContaining(['ApplyConfiguration', 'Bootstrap', 'EtcdMemberList', 'EtcdRemoveMemberByID', 'EtcdLeaveCluster', 'EtcdSnapshot', 'Kubeconfig', 'Reset', 'Version']));
    expect(Object.keys(root.lookupService('cluster.ClusterService').methods)).toContain('HealthCheck');
  });

  it('writes the COSI State API that `talosctl get` calls, with what it imports', () => {
    const bytes = readFileSync(found!.descriptors.cosi);
    const set = FileDescriptorSet.decode(bytes) as unknown as IFileDescriptorSet;
    expect((set.file ?? []).map((f) => f.name)).toEqual(expect.arrayContaining(['v1alpha1/state.proto', 'v1alpha1/resource.proto', 'google/protobuf/timestamp.proto']));
    const root = protobuf.Root.fromDescriptor(bytes);
    expect(Object.keys(root.lookupService('cosi.resource.State').methods)).toEqual(expect.arrayContaining(['Get', 'List', 'Watch']));
  });
});

// The whole build from the Go module proxy into an empty cache: minutes with a cold Go build
// cache (17 min on 2 loaded cores), about half a minute with a warm one, so only on request.
const buildRequested = process.env.AUTOK8S_TEST_TALOSCTL_BUILD === '1';
describe.skipIf(!buildRequested || missing !== undefined)(
  `install-talosctl from scratch${buildRequested ? '' : ' (skipped: set AUTOK8S_TEST_TALOSCTL_BUILD=1 to build talosctl from the module proxy)'}`,
  () => {
    it('builds the pinned talosctl and both descriptor sets into an empty cache, the same descriptors as the cached ones', async () => {
      const cache = scratch();
      const installed = await installTalosctl({ env: { ...process.env, AUTOK8S_TALOSCTL_CACHE: cache }, log: () => undefined });
      expect(installed.made).toEqual(['binary', 'talos descriptors', 'cosi descriptors']);
      expect(installed.entry.binary).toBe(join(cache, PINNED_TALOS_VERSION, 'talosctl'));
      expect(installed.clientVersion).toMatch(new RegExp(`Tag:\\s+${PINNED_TALOS_VERSION.replace(/\./g, '\\.')}`));
      const found = 'found' in real ? real.found : undefined;
      expect(readFileSync(installed.entry.descriptors.cosi)).toEqual(readFileSync(found!.descriptors.cosi));
      expect(readFileSync(installed.entry.descriptors.talos)).toEqual(readFileSync(found!.descriptors.talos));
    }, 60 * 60_000);
  },
);

