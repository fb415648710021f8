// The stand-in's cobra-like command line and Talos's strategic merge, as pure functions.
import { describe, expect, it } from 'vitest';
import { parseCommandLine, parseGoDuration, UsageError, type CommandSpec } from '../../sandbox/talos/standin/flags';
import { strategicMerge } from '../../sandbox/talos/standin/gen';

const commands: CommandSpec[] = [
  { path: ['etcd', 'members'], args: { min: 0, max: 0 }, flags: [] },
  { path: ['etcd', 'remove-member'], args: { min: 1, max: 1 }, flags: [] },
  {
    path: ['kubeconfig'],
    args: { min: 0, max: 1 },
    flags: [
      { long: 'force', short: 'f', kind: 'bool' },
      { long: 'merge', short: 'm', kind: 'bool', default: true },
    ],
  },
  {
    path: ['gen', 'config'],
    args: { min: 2, max: 2 },
    flags: [
      { long: 'config-patch', kind: 'stringArray' },
      { long: 'output-types', short: 't', kind: 'strings', default: ['controlplane', 'worker', 'talosconfig'] },
    ],
  },
];

describe('parseCommandLine', () => {
  it('finds the command after global flags and reads flags in every form', () => {
    const p = parseCommandLine(['-n', '10.10.0.21', 'kubeconfig', '/tmp/k', '--talosconfig=/tc', '-e', '10.10.0.22', '--force', '--merge=false'], commands);
    expect(p.command.path).toEqual(['kubeconfig']);
    expect(p.args).toEqual(['/tmp/k']);
    expect(p.flags).toMatchObject({ nodes: ['10.10.0.21'], endpoints: ['10.10.0.22'], talosconfig: '/tc', force: true, merge: false });
  });

  it('splits string slices on commas, replacing the default, and keeps string arrays whole', () => {
    const p = parseCommandLine(['gen', 'config', 'c', 'https://x:6443', '-t', 'controlplane', '--config-patch', '@a.yaml', '--config-patch', '{"a": [1,2]}', '-n', 'a,b', '-n', 'c'], commands);
    expect(p.flags['output-types']).toEqual(['controlplane']);
    expect(p.flags['config-patch']).toEqual(['@a.yaml', '{"a": [1,2]}']);
    expect(p.flags.nodes).toEqual(['a', 'b', 'c']);
  });

  it.each([
    { argv: ['etcd', 'members', '--bogus'], message: 'unknown flag: --bogus' },
    { argv: ['etcd', 'members', '-x'], message: "unknown shorthand flag: 'x' in -x" },
    { argv: ['etcd', 'remove-member'], message: 'accepts 1 arg(s), received 0' },
    { argv: ['etcd', 'members', 'extra'], message: 'unknown command "extra" for "talosctl etcd members"' },
    { argv: ['etcd', 'status'], message: 'unknown command "status" for "talosctl etcd"' },
    { argv: ['reboot'], message: 'unknown command "reboot" for "talosctl"' },
    { argv: ['kubeconfig', '--merge=perhaps'], message: 'invalid argument "perhaps" for "--merge" flag' },
    { argv: ['etcd', 'members', '--talosconfig'], message: 'flag needs an argument: --talosconfig' },
  ])('refuses $argv', ({ argv, message }) => {
    expect(() => parseCommandLine(argv, commands)).toThrow(UsageError);
    expect(() => parseCommandLine(argv, commands)).toThrow(message);
  });
});

describe('parseGoDuration', () => {
  it.each([
    ['10m', 600_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['20m0s', 1_200_000],
    ['1.5h', 5_400_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });
  it('refuses what Go refuses', () => {
    expect(() => parseGoDuration('10')).toThrow(/invalid duration/);
    expect(() => parseGoDuration('ten minutes')).toThrow(/invalid duration/);
  });
});

describe('strategicMerge (Talos config patches)', () => {
  it('merges mappings, appends lists, merges interfaces by name and replaces pod subnets', () => {
    const base = {
      machine: { certSANs: ['a'], network: { interfaces: [{ interface: 'eth0', dhcp: true, addresses: ['10.0.0.1/24'] }] }, install: { disk: '/dev/sda', wipe: false } },
      cluster: { network: { podSubnets: ['10.244.0.0/16'] } },
    };
    const patch = {
      machine: { certSANs: ['b'], network: { interfaces: [{ interface: 'eth0', dhcp: false, addresses: ['10.0.0.2/24'] }, { interface: 'eth1', dhcp: true }] }, install: { disk: '/dev/vda' } },
      cluster: { network: { podSubnets: ['10.32.0.0/12'] } },
    };
    expect(strategicMerge(base, patch)).toEqual({
      machine: {
        certSANs: ['a', 'b'],
        network: { interfaces: [{ interface: 'eth0', dhcp: false, addresses: ['10.0.0.1/24', '10.0.0.2/24'] }, { interface: 'eth1', dhcp: true }] },
        install: { disk: '/dev/vda', wipe: false },
      },
      cluster: { network: { podSubnets: ['10.32.0.0/12'] } },
    });
  });
});
