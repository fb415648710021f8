// Running talosctl: the binary found by path, argument arrays (never a shell), a timeout,
// stdout and stderr captured. One pure argument builder per command, spelled as in
// docs/contracts.md §C.1, so the exact command lines are unit-tested without any binary.
import { GRAMMAR, requireGrammar, UnsafeValueError } from '../../core/spec/grammar';
import { findTalosctl, INSTALL_TALOSCTL_HINT, type FindTalosctlDeps } from './find-talosctl';
import { execFileOffThread } from '../exec-thread';

/** The talosctl to run for `spec`: $TALOSCTL, talos.talosctl, PATH, the cache (./find-talosctl.ts). */
export function resolveTalosctlPath(spec: Parameters<typeof findTalosctl>[0], deps: FindTalosctlDeps = {}): string {
  return findTalosctl(spec, deps).path;
}

export interface TalosctlResult {
  args: string[];
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Our timeout killed the process. */
  timedOut: boolean;
  durationMs: number;
}

export interface RunOptions {
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Aborts the run (an activity's cancellation signal). */
  signal?: AbortSignal;
}

/** The binary itself could not be started (missing, not executable). */
export class TalosctlSpawnError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
  ) {
    super(
      code === 'ENOENT'
        ? `talosctl not found at ${JSON.stringify(path)}; ${INSTALL_TALOSCTL_HINT}`
        : `cannot run talosctl at ${JSON.stringify(path)} (${code}); check that it is an executable file`,
    );
    this.name = 'TalosctlSpawnError';
  }
}

/**
 * Runs talosctl once. Resolves for every exit code (callers classify failures); rejects
 * only when the binary cannot be started or the run was aborted.
 */
export async function runTalosctl(path: string, args: string[], options: RunOptions): Promise<TalosctlResult> {
  const started = Date.now();
  // From the exec thread: starting a process blocks the starting thread for 3–10 ms (./exec-thread.ts).
  const { error: err, stdout, stderr } = await execFileOffThread(path, args, {
    timeout: options.timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 32 * 1024 * 1024,
    env: options.env,
    cwd: options.cwd,
    signal: options.signal,
  });
  const durationMs = Date.now() - started;
  // Killed because the caller gave up (an activity's cancellation): that is the outcome, not an exit code.
  if (err && options.signal?.aborted) throw options.signal.reason;
  if (!err) return { args, exitCode: 0, stdout, stderr, timedOut: false, durationMs };
  if (typeof err.code === 'string' && (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'ENOTDIR')) {
    throw new TalosctlSpawnError(path, err.code);
  }
  const timedOut = err.killed === true && err.signal === 'SIGKILL' && durationMs >= options.timeoutMs - 50;
  return { args, exitCode: typeof err.code === 'number' ? err.code : null, stdout, stderr, timedOut, durationMs };
}

// ---- Argument builders (docs/contracts.md §C.1). Global flags follow the command words. ----
// Each argument is checked against its grammar: no shell is involved, but a value such as
// "--insecure", "-e=evil" or a host name instead of an address would still change what
// talosctl does. Nodes are IPv4 addresses, files absolute paths (never read as a flag).

const address = (ip: string, what: string) => requireGrammar(GRAMMAR.ipv4, ip, what);
const file = (path: string, what: string) => requireGrammar(GRAMMAR.argPath, path, what);
function oneOf<T extends string>(value: T, allowed: readonly T[], what: string): T {
  if (!allowed.includes(value)) throw new UnsafeValueError(what, value, `one of ${allowed.join(', ')}`);
  return value;
}

/** Who to talk to for an authenticated call: `-n` target, `-e` endpoint, the talosconfig. */
export interface AuthTarget {
  node: string;
  /** Defaults to the node itself: the worker reaches each node directly over the vRack. */
  endpoint?: string;
  talosconfig: string;
}

function authFlags(t: AuthTarget): string[] {
  return ['-n', address(t.node, 'talosctl -n (node address)'), '-e', address(t.endpoint ?? t.node, 'talosctl -e (endpoint address)'), '--talosconfig', file(t.talosconfig, 'talosconfig path')];
}

export function genSecretsArgs(outputFile: string): string[] {
  return ['gen', 'secrets', '-o', file(outputFile, 'secrets bundle path')];
}

export type GenOutputType = 'controlplane' | 'worker' | 'talosconfig';

export interface GenConfigInput {
  clusterName: string;
  /** https://<api-vip>:6443 */
  endpoint: string;
  secretsFile: string;
  /** Patch files applied to every type, to control planes, to workers (each passed as @file). */
  patches?: string[];
  controlPlanePatches?: string[];
  workerPatches?: string[];
  installDisk: string;
  kubernetesVersion: string;
  talosVersion: string;
  outputTypes: GenOutputType[];
  /** A directory for several types; a file path for one. */
  output: string;
}

export function genConfigArgs(input: GenConfigInput): string[] {
  const at = (path: string) => `@${file(path, 'config patch path')}`;
  return [
    'gen',
    'config',
    requireGrammar(GRAMMAR.dnsLabel, input.clusterName, 'metadata.name'),
    requireGrammar(GRAMMAR.httpsIpEndpoint, input.endpoint, 'network.apiVip'),
    '--with-secrets',
    file(input.secretsFile, 'secrets bundle path'),
    ...(input.patches ?? []).flatMap((p) => ['--config-patch', at(p)]),
    ...(input.controlPlanePatches ?? []).flatMap((p) => ['--config-patch-control-plane', at(p)]),
    ...(input.workerPatches ?? []).flatMap((p) => ['--config-patch-worker', at(p)]),
    '--install-disk',
    requireGrammar(GRAMMAR.devicePath, input.installDisk, 'talos.installDisk'),
    '--kubernetes-version',
    requireGrammar(GRAMMAR.versionTag, input.kubernetesVersion, 'talos.kubernetesVersion'),
    '--talos-version',
    requireGrammar(GRAMMAR.versionTag, input.talosVersion, 'talos.version'),
    '-t',
    input.outputTypes.map((t) => oneOf(t, ['controlplane', 'worker', 'talosconfig'], 'talosctl gen config -t')).join(','),
    '-o',
    file(input.output, 'machine config output path'),
  ];
}

export type ApplyMode = 'auto' | 'no-reboot' | 'reboot' | 'staged' | 'try';

export type ApplyConfigInput =
  /** Maintenance mode: no talosconfig, the node itself is the endpoint. */
  | { insecure: true; node: string; file: string; mode?: ApplyMode; dryRun?: boolean }
  | ({ insecure?: false; file: string; mode?: ApplyMode; dryRun?: boolean } & AuthTarget);

export function applyConfigArgs(input: ApplyConfigInput): string[] {
  const target = input.insecure ? ['--insecure', '-n', address(input.node, 'talosctl -n (node address)')] : authFlags(input);
  const mode = input.mode ? ['--mode', oneOf(input.mode, ['auto', 'no-reboot', 'reboot', 'staged', 'try'], 'talosctl apply-config --mode')] : [];
  return ['apply-config', ...target, '-f', file(input.file, 'machine config path'), ...mode, ...(input.dryRun ? ['--dry-run'] : [])];
}

export function bootstrapArgs(t: AuthTarget): string[] {
  return ['bootstrap', ...authFlags(t)];
}

export interface HealthInput extends AuthTarget {
  controlPlaneNodes: string[];
  workerNodes: string[];
  /** Go duration, e.g. 10m. */
  waitTimeout: string;
}

export function healthArgs(input: HealthInput): string[] {
  return [
    'health',
    ...authFlags(input),
    '--control-plane-nodes',
    input.controlPlaneNodes.map((ip) => address(ip, 'talosctl health --control-plane-nodes')).join(','),
    ...(input.workerNodes.length > 0 ? ['--worker-nodes', input.workerNodes.map((ip) => address(ip, 'talosctl health --worker-nodes')).join(',')] : []),
    '--wait-timeout',
    requireGrammar(GRAMMAR.duration, input.waitTimeout, 'talosctl health --wait-timeout'),
  ];
}

export function etcdMembersArgs(t: AuthTarget): string[] {
  return ['etcd', 'members', ...authFlags(t)];
}

export function etcdRemoveMemberArgs(memberId: string, t: AuthTarget): string[] {
  if (!/^[0-9a-f]{16}$/.test(memberId)) throw new Error(`etcd member ID ${JSON.stringify(memberId)} is not 16 lowercase hex digits`);
  return ['etcd', 'remove-member', memberId, ...authFlags(t)];
}

export function etcdLeaveArgs(t: AuthTarget): string[] {
  return ['etcd', 'leave', ...authFlags(t)];
}

export function etcdSnapshotArgs(path: string, t: AuthTarget): string[] {
  return ['etcd', 'snapshot', file(path, 'etcd snapshot path'), ...authFlags(t)];
}

export function kubeconfigArgs(path: string, t: AuthTarget): string[] {
  return ['kubeconfig', file(path, 'kubeconfig path'), ...authFlags(t), '--force', '--merge=false'];
}

export function resetArgs(t: AuthTarget, opts: { graceful?: boolean; reboot?: boolean; wait?: boolean } = {}): string[] {
  const { graceful = true, reboot = true, wait = true } = opts;
  return ['reset', ...authFlags(t), `--graceful=${graceful}`, ...(reboot ? ['--reboot'] : []), ...(wait ? ['--wait'] : [])];
}

export function versionArgs(opts: { clientOnly: true } | ({ clientOnly?: false } & AuthTarget)): string[] {
  return opts.clientOnly ? ['version', '--short', '--client'] : ['version', '--short', ...authFlags(opts)];
}

export function getMembersArgs(t: AuthTarget): string[] {
  return ['get', 'members', '-o', 'json', ...authFlags(t)];
}

export function getMachineStatusArgs(t: AuthTarget): string[] {
  return ['get', 'machinestatus', '-o', 'json', ...authFlags(t)];
}

/** One call for many nodes: apid on the endpoint proxies to each node (`-n a,b,c`). */
export function getMachineStatusManyArgs(nodes: string[], endpoint: string, talosconfig: string): string[] {
  const ns = nodes.map((ip) => address(ip, 'talosctl -n (node address)')).join(',');
  return ['get', 'machinestatus', '-o', 'json', '-n', ns, '-e', address(endpoint, 'talosctl -e (endpoint address)'), '--talosconfig', file(talosconfig, 'talosconfig path')];
}
