// The talosctl command lines the adapter builds, checked against docs/contracts.md §C.1 word for
// word, and the order in which the binary is looked up.
import { describe, expect, it } from 'vitest';
import {
  applyConfigArgs,
  bootstrapArgs,
  etcdLeaveArgs,
  etcdMembersArgs,
  etcdRemoveMemberArgs,
  genConfigArgs,
  genSecretsArgs,
  getMachineStatusArgs,
  getMembersArgs,
  healthArgs,
  kubeconfigArgs,
  resetArgs,
  versionArgs,
} from '../../activities/talos/talosctl';

const tc = '/state/talosconfig';
const cp = { node: '10.10.0.21', talosconfig: tc };

describe('talosctl argument builders', () => {
  const cases: { name: string; args: string[]; expected: string[] }[] = [
    { name: 'gen secrets writes the bundle with -o', args: genSecretsArgs('/state/secrets.yaml'), expected: ['gen', 'secrets', '-o', '/state/secrets.yaml'] },
    {
      name: 'gen config names cluster, endpoint, secrets, every patch kind, versions, types and output',
      args: genConfigArgs({
        clusterName: 'prod-gra',
        endpoint: 'https://10.10.0.5:6443',
        secretsFile: '/state/secrets.yaml',
        patches: ['/state/all.yaml'],
        controlPlanePatches: ['/state/cp.yaml'],
        workerPatches: ['/state/w.yaml'],
        installDisk: '/dev/sda',
        kubernetesVersion: 'v1.31.2',
        talosVersion: 'v1.8.3',
        outputTypes: ['controlplane', 'worker', 'talosconfig'],
        output: '/state/out',
      }),
      expected: [
        'gen', 'config', 'prod-gra', 'https://10.10.0.5:6443',
        '--with-secrets', '/state/secrets.yaml',
        '--config-patch', '@/state/all.yaml',
        '--config-patch-control-plane', '@/state/cp.yaml',
        '--config-patch-worker', '@/state/w.yaml',
        '--install-disk', '/dev/sda',
        '--kubernetes-version', 'v1.31.2',
        '--talos-version', 'v1.8.3',
        '-t', 'controlplane,worker,talosconfig',
        '-o', '/state/out',
      ],
    },
    {
      name: 'gen config for one node has one patch and one output type',
      args: genConfigArgs({
        clusterName: 'c',
        endpoint: 'https://10.10.0.5:6443',
        secretsFile: '/s.yaml',
        patches: ['/p/srv-a-cp.yaml'],
        installDisk: '/dev/vda',
        kubernetesVersion: 'v1.31.2',
        talosVersion: 'v1.8.3',
        outputTypes: ['controlplane'],
        output: '/c/srv-a-cp.yaml',
      }),
      expected: ['gen', 'config', 'c', 'https://10.10.0.5:6443', '--with-secrets', '/s.yaml', '--config-patch', '@/p/srv-a-cp.yaml', '--install-disk', '/dev/vda', '--kubernetes-version', 'v1.31.2', '--talos-version', 'v1.8.3', '-t', 'controlplane', '-o', '/c/srv-a-cp.yaml'],
    },
    {
      name: 'apply-config in maintenance mode is insecure, by node, without talosconfig',
      args: applyConfigArgs({ insecure: true, node: '10.10.0.21', file: '/c/srv-a-cp.yaml' }),
      expected: ['apply-config', '--insecure', '-n', '10.10.0.21', '-f', '/c/srv-a-cp.yaml'],
    },
    {
      name: 'apply-config dry run in maintenance mode',
      args: applyConfigArgs({ insecure: true, node: '10.10.0.21', file: '/c/a.yaml', dryRun: true }),
      expected: ['apply-config', '--insecure', '-n', '10.10.0.21', '-f', '/c/a.yaml', '--dry-run'],
    },
    {
      name: 'apply-config on a configured node authenticates through the node itself',
      args: applyConfigArgs({ ...cp, file: '/c/a.yaml', mode: 'auto' }),
      expected: ['apply-config', '-n', '10.10.0.21', '-e', '10.10.0.21', '--talosconfig', tc, '-f', '/c/a.yaml', '--mode', 'auto'],
    },
    { name: 'bootstrap names node and endpoint', args: bootstrapArgs(cp), expected: ['bootstrap', '-n', '10.10.0.21', '-e', '10.10.0.21', '--talosconfig', tc] },
    {
      name: 'health lists control planes and workers and a wait timeout',
      args: healthArgs({ ...cp, controlPlaneNodes: ['10.10.0.21', '10.10.0.22', '10.10.0.23'], workerNodes: ['10.10.0.31', '10.10.0.32'], waitTimeout: '10m' }),
      expected: ['health', '-n', '10.10.0.21', '-e', '10.10.0.21', '--talosconfig', tc, '--control-plane-nodes', '10.10.0.21,10.10.0.22,10.10.0.23', '--worker-nodes', '10.10.0.31,10.10.0.32', '--wait-timeout', '10m'],
    },
    {
      name: 'health without workers leaves the flag out',
      args: healthArgs({ ...cp, controlPlaneNodes: ['10.10.0.21'], workerNodes: [], waitTimeout: '5m' }),
      expected: ['health', '-n', '10.10.0.21', '-e', '10.10.0.21', '--talosconfig', tc, '--control-plane-nodes', '10.10.0.21', '--wait-timeout', '5m'],
    },
    { name: 'etcd members', args: etcdMembersArgs(cp), expected: ['etcd', 'members', '-n', '10.10.0.21', '-e', '10.10.0.21', '--talosconfig', tc] },
    {
      name: 'etcd remove-member takes the hex ID and a healthy control plane',
      args: etcdRemoveMemberArgs('3c4f1d2a9b8e7f60', { node: '10.10.0.22', talosconfig: tc }),
      expected: ['etcd', 'remove-member', '3c4f1d2a9b8e7f60', '-n', '10.10.0.22', '-e', '10.10.0.22', '--talosconfig', tc],
    },
    { name: 'etcd leave runs on the leaving node', args: etcdLeaveArgs({ node: '10.10.0.23', talosconfig: tc }), expected: ['etcd', 'leave', '-n', '10.10.0.23', '-e', '10.10.0.23', '--talosconfig', tc] },
    {
      name: 'kubeconfig writes a file, forced, never merged',
      args: kubeconfigArgs('/state/kubeconfig', cp),
      expected: ['kubeconfig', '/state/kubeconfig', '-n', '10.10.0.21', '-e', '10.10.0.21', '--talosconfig', tc, '--force', '--merge=false'],
    },
    { name: 'reset is graceful, reboots and waits by default', args: resetArgs(cp), expected: ['reset', '-n', '10.10.0.21', '-e', '10.10.0.21', '--talosconfig', tc, '--graceful=true', '--reboot', '--wait'] },
    { name: 'reset can be forced', args: resetArgs(cp, { graceful: false, wait: false }), expected: ['reset', '-n', '10.10.0.21', '-e', '10.10.0.21', '--talosconfig', tc, '--graceful=false', '--reboot'] },
    { name: 'client version', args: versionArgs({ clientOnly: true }), expected: ['version', '--short', '--client'] },
    { name: 'node version', args: versionArgs(cp), expected: ['version', '--short', '-n', '10.10.0.21', '-e', '10.10.0.21', '--talosconfig', tc] },
    { name: 'members as a JSON stream', args: getMembersArgs(cp), expected: ['get', 'members', '-o', 'json', '-n', '10.10.0.21', '-e', '10.10.0.21', '--talosconfig', tc] },
    { name: 'machine status as JSON', args: getMachineStatusArgs(cp), expected: ['get', 'machinestatus', '-o', 'json', '-n', '10.10.0.21', '-e', '10.10.0.21', '--talosconfig', tc] },
    {
      name: 'an explicit endpoint is used instead of the node',
      args: etcdMembersArgs({ node: '10.10.0.22', endpoint: '10.10.0.21', talosconfig: tc }),
      expected: ['etcd', 'members', '-n', '10.10.0.22', '-e', '10.10.0.21', '--talosconfig', tc],
    },
  ];
  it.each(cases)('$name', ({ args, expected }) => {
    expect(args).toEqual(expected);
  });

  it('refuses a member ID that is not 16 hex digits', () => {
    expect(() => etcdRemoveMemberArgs('3c4f', cp)).toThrow(/16 lowercase hex digits/);
    expect(() => etcdRemoveMemberArgs('3C4F1D2A9B8E7F60', cp)).toThrow(/16 lowercase hex digits/);
  });
});
