// The sandbox's talosctl stand-in: one talosctl command line, run against a StandInIo
// (environment, working directory, stdout/stderr) and answered with talosctl's exit code.
// Local effects (secrets, configs, kubeconfig, snapshots) happen here; everything a node
// would answer comes from the TalosSimulator named by $AUTOK8S_TALOS_SIM in io.env.
// It runs in two places: inside the sandbox process, where TalosSimulator serves the Go
// forwarder's `/exec` calls (the `talosctl` TalosSimulator.writeStandIn writes, when Go was
// there at `npm install`), and as a process of its own through cli.ts (the node-bundle
// fallback, and sandbox/bin/talosctl).
import { CommandError } from './client';
import { parseCommandLine, UsageError, type CommandSpec, type FlagSpec } from './flags';
import { genConfig, genSecrets } from './gen';
import type { Invocation, StandInIo } from './io';
import * as node from './node-commands';

const clientVersion = (p: Invocation) => p.io.env.AUTOK8S_TALOSCTL_VERSION || 'v1.8.3';

const GEN_FORCE: FlagSpec = { long: 'force', short: 'f', kind: 'bool' };

const COMMANDS: (CommandSpec & { run: (p: Invocation) => void | Promise<void> })[] = [
  {
    path: ['gen', 'secrets'],
    args: { min: 0, max: 0 },
    flags: [
      GEN_FORCE,
      { long: 'output-file', short: 'o', kind: 'string', default: 'secrets.yaml' },
      { long: 'talos-version', kind: 'string' },
      { long: 'from-controlplane-config', kind: 'string' },
      { long: 'from-kubernetes-pki', short: 'p', kind: 'string' },
      { long: 'kubernetes-bootstrap-token', short: 't', kind: 'string' },
    ],
    run: (p) => {
      if (p.flags['from-controlplane-config'] || p.flags['from-kubernetes-pki']) throw new CommandError('talosctl (sandbox stand-in): gen secrets --from-* is not supported');
      return genSecrets(p);
    },
  },
  {
    path: ['gen', 'config'],
    args: { min: 2, max: 2 },
    flags: [
      GEN_FORCE,
      { long: 'with-secrets', kind: 'string' },
      { long: 'config-patch', kind: 'stringArray' },
      { long: 'config-patch-control-plane', kind: 'stringArray' },
      { long: 'config-patch-worker', kind: 'stringArray' },
      { long: 'install-disk', kind: 'string', default: '/dev/sda' },
      { long: 'install-image', kind: 'string' },
      { long: 'kubernetes-version', kind: 'string', default: '1.31.2' },
      { long: 'talos-version', kind: 'string' },
      { long: 'output-types', short: 't', kind: 'strings', default: ['controlplane', 'worker', 'talosconfig'] },
      { long: 'output', short: 'o', kind: 'string' },
      { long: 'output-dir', kind: 'string' },
      { long: 'additional-sans', kind: 'strings' },
      { long: 'dns-domain', kind: 'string', default: 'cluster.local' },
      { long: 'version', kind: 'string', default: 'v1alpha1' },
      { long: 'registry-mirror', kind: 'strings' },
      { long: 'persist', short: 'p', kind: 'bool', default: true },
      { long: 'with-examples', kind: 'bool', default: true },
      { long: 'with-docs', kind: 'bool', default: true },
      { long: 'with-cluster-discovery', kind: 'bool', default: true },
      { long: 'with-kubespan', kind: 'bool' },
    ],
    run: (p) => genConfig(p, clientVersion(p)),
  },
  {
    path: ['apply-config'],
    args: { min: 0, max: 0 },
    flags: [
      { long: 'file', short: 'f', kind: 'string' },
      { long: 'insecure', short: 'i', kind: 'bool' },
      { long: 'dry-run', kind: 'bool' },
      { long: 'cert-fingerprint', kind: 'strings' },
      { long: 'config-patch', short: 'p', kind: 'stringArray' },
      { long: 'timeout', kind: 'string', default: '1m0s' },
      { long: 'mode', short: 'm', kind: 'string', default: 'auto' },
    ],
    run: node.applyConfig,
  },
  {
    path: ['bootstrap'],
    args: { min: 0, max: 0 },
    flags: [
      { long: 'recover-from', kind: 'string' },
      { long: 'recover-skip-hash-check', kind: 'bool' },
    ],
    run: node.bootstrap,
  },
  {
    path: ['health'],
    args: { min: 0, max: 0 },
    flags: [
      { long: 'init-node', kind: 'string' },
      { long: 'control-plane-nodes', kind: 'strings' },
      { long: 'worker-nodes', kind: 'strings' },
      { long: 'wait-timeout', kind: 'string', default: '20m0s' },
      { long: 'k8s-endpoint', kind: 'string' },
      { long: 'server', kind: 'bool', default: true },
      { long: 'run-e2e', kind: 'bool' },
    ],
    run: node.health,
  },
  { path: ['etcd', 'members'], args: { min: 0, max: 0 }, flags: [], run: node.etcdMembers },
  { path: ['etcd', 'remove-member'], args: { min: 1, max: 1 }, flags: [], run: node.etcdRemoveMember },
  { path: ['etcd', 'leave'], args: { min: 0, max: 0 }, flags: [], run: node.etcdLeave },
  { path: ['etcd', 'snapshot'], args: { min: 1, max: 1 }, flags: [], run: node.etcdSnapshot },
  {
    path: ['get'],
    args: { min: 1, max: 2 },
    flags: [
      { long: 'output', short: 'o', kind: 'string', default: 'table' },
      { long: 'namespace', kind: 'string' },
      { long: 'watch', short: 'w', kind: 'bool' },
      { long: 'insecure', short: 'i', kind: 'bool' },
    ],
    run: node.get,
  },
  {
    path: ['kubeconfig'],
    args: { min: 0, max: 1 },
    flags: [
      { long: 'force', short: 'f', kind: 'bool' },
      { long: 'force-context-name', kind: 'string' },
      { long: 'merge', short: 'm', kind: 'bool', default: true },
    ],
    run: node.kubeconfig,
  },
  {
    path: ['reset'],
    args: { min: 0, max: 0 },
    flags: [
      { long: 'graceful', kind: 'bool', default: true },
      { long: 'reboot', kind: 'bool' },
      { long: 'wait', kind: 'bool', default: true },
      { long: 'insecure', kind: 'bool' },
      { long: 'system-labels-to-wipe', kind: 'stringArray' },
      { long: 'user-disks-to-wipe', kind: 'stringArray' },
      { long: 'wipe-mode', kind: 'string', default: 'all' },
      { long: 'timeout', kind: 'string', default: '30m0s' },
      { long: 'debug', kind: 'bool' },
    ],
    run: node.reset,
  },
  {
    path: ['version'],
    args: { min: 0, max: 0 },
    flags: [
      { long: 'short', kind: 'bool' },
      { long: 'client', kind: 'bool' },
      { long: 'insecure', short: 'i', kind: 'bool' },
      { long: 'json', kind: 'bool' },
    ],
    run: (p) => node.version(p, clientVersion(p)),
  },
];

/** Runs one talosctl command line; resolves to its exit code (never rejects). */
export async function runStandIn(argv: string[], io: StandInIo): Promise<number> {
  try {
    const parsed = parseCommandLine(argv, COMMANDS);
    const command = COMMANDS.find((c) => c === parsed.command)!;
    await command.run({ ...parsed, io });
    return 0;
  } catch (err) {
    if (err instanceof CommandError || err instanceof UsageError) {
      // talosctl prints the error chain on stderr and exits 1 (cmd/talosctl/cmd/root.go).
      io.err(err.message + '\n');
      return 1;
    }
    io.err(`talosctl (sandbox stand-in) crashed: ${(err as Error).stack ?? String(err)}\n`);
    return 2;
  }
}
