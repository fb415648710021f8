// The Talos API of every simulated node, behind one object: per-node state (maintenance
// mode → installing → running with a config; reset back to maintenance), per-cluster etcd
// (bootstrap, members joining as learners and being promoted, removal, leave, quorum),
// and the answers a real node gives, including its refusals. A node answers only while
// its VM runs (`lookupNode`); a VM recreated with a new machine key is a fresh node.
//
// Time is lazy: phases and etcd joins advance when someone looks (`tick`), from the
// timestamps recorded when things happened, so there are no timers to leak.
import { randomBytes } from 'node:crypto';
import type { AuditOutcome } from '../audit';
import { configDiff, MachineConfigInvalid, readMachineConfig, type MachineConfigFacts } from './machine-config';
import type { EtcdMemberView, HealthCheckView, ResourceView, TalosAnswer, TalosAuth, TalosCall, TalosResults } from './protocol';
import * as say from './wording';

export interface TalosTiming {
  /** From a config applied in maintenance mode to the node running with it (install + reboot). */
  installMs: number;
  /** From a reset to the node back in maintenance mode. */
  rebootMs: number;
  /** From a control plane running (and etcd bootstrapped) to it joining as a learner, and again to its promotion. */
  etcdJoinMs: number;
  /** From a worker running (and etcd bootstrapped) to its kubelet reporting ready. */
  kubeletReadyMs: number;
}

export const DEFAULT_TALOS_TIMING: TalosTiming = { installMs: 300, rebootMs: 300, etcdJoinMs: 200, kubeletReadyMs: 200 };

/**
 * A reset's own course, before the reboot: a graceful reset cordons and drains the node and
 * leaves etcd before it stops its services (seconds on a real node), and apid stops last.
 * talosctl opens its event stream beside the Reset call, not before it, so the stream is set
 * up during that time (sandbox/talos/grpc/machine-service.ts emits the events on this course).
 */
export const RESET_COURSE = { startedMs: 50, stopAllServicesMs: 1_000, apiStopsMs: 1_500 };

/** How long a reset keeps a node from maintenance mode: its course, then the reboot. */
export const resetDurationMs = (timing: TalosTiming) => Math.max(timing.rebootMs, RESET_COURSE.apiStopsMs);

export type NodeLookup = (ip: string) => { running: boolean; machineKey: string } | undefined;

export type AuditSink = (entry: { action: string; target: string; outcome: AuditOutcome; detail?: Record<string, unknown> }) => void;

type Phase = 'maintenance' | 'installing' | 'running' | 'resetting';
type EtcdState = 'none' | 'member' | 'removed' | 'left' | 'split';

interface SimNode {
  ip: string;
  machineKey: string;
  phase: Phase;
  phaseSince: number;
  runningSince?: number;
  config?: MachineConfigFacts;
  /** What the node's etcd data directory holds. */
  etcd: EtcdState;
  notReady: boolean;
  /** The applied config moved the node to another address: nothing answers here any more. */
  lostAddress: boolean;
  nodeId: string;
  createdAt: number;
}

interface SimMember {
  id: string;
  hostname: string;
  ip: string;
  machineKey: string;
  learner: boolean;
  addedAt: number;
}

interface SimCluster {
  /** CA fingerprint: what makes nodes and talosconfigs one cluster. */
  key: string;
  name: string;
  endpoint: string;
  bootstrapCount: number;
  bootstrappedAt?: number;
  members: SimMember[];
  /** A second bootstrap on a node with an empty etcd started a separate etcd cluster. */
  splitBrain: boolean;
  /** The OS CA key (base64 PEM) from a control-plane config: what trustd signs workers' certificates with. */
  osCaKey?: string;
}

/** What a node's Talos API port presents now: nothing, the maintenance service, or apid with the cluster's OS CA. */
export type TalosNodeWire =
  | { serving: false }
  | { serving: true; mode: 'maintenance' }
  | { serving: true; mode: 'configured'; caFingerprint: string; hostname: string; osCa: { crt: string; key?: string } };

export interface TalosNodeView {
  ip: string;
  machineKey: string;
  phase: Phase;
  cluster?: string;
  machineType?: string;
  hostname?: string;
  etcd: EtcdState;
  ready: boolean;
}

export interface TalosMemberView extends EtcdMemberView {
  ip: string;
  cluster: string;
  alive: boolean;
}

type GrpcCode = 'InvalidArgument' | 'NotFound' | 'AlreadyExists' | 'FailedPrecondition' | 'Unimplemented' | 'Unavailable' | 'Unknown' | 'PermissionDenied';

class RpcError extends Error {
  constructor(
    readonly code: GrpcCode,
    readonly desc: string,
  ) {
    super(`rpc error: code = ${code} desc = ${desc}`);
  }
}

class Unanswered extends Error {
  constructor(
    readonly scope: 'transport' | 'node',
    readonly node: string,
    message: string,
  ) {
    super(message);
  }
}

const ACTIONS: Record<TalosCall['op'], string> = {
  applyConfiguration: 'apply-config',
  bootstrap: 'bootstrap',
  etcdMemberList: 'etcd members',
  etcdRemoveMemberById: 'etcd remove-member',
  etcdLeaveCluster: 'etcd leave',
  etcdSnapshot: 'etcd snapshot',
  version: 'version',
  kubeconfig: 'kubeconfig',
  reset: 'reset',
  health: 'health',
  get: 'get',
};
const MUTATING = new Set<TalosCall['op']>(['applyConfiguration', 'bootstrap', 'etcdRemoveMemberById', 'etcdLeaveCluster', 'reset']);

/** talosctl's words for a call: audit actions and fault-injection methods. */
export function actionOf(call: TalosCall): string {
  return call.op === 'applyConfiguration' && call.dryRun ? 'apply-config --dry-run' : ACTIONS[call.op];
}

/** Calls that change a node or etcd (a dry run changes nothing): each is audited. */
export function isMutating(call: TalosCall): boolean {
  return MUTATING.has(call.op) && !(call.op === 'applyConfiguration' && call.dryRun);
}

const majority = (n: number) => Math.floor(n / 2) + 1;

export class TalosApi {
  private readonly nodeState = new Map<string, SimNode>();
  private readonly clusters = new Map<string, SimCluster>();
  private readonly timing: TalosTiming;
  private readonly now: () => number;

  constructor(
    private readonly options: {
      lookupNode: NodeLookup;
      audit: AuditSink;
      talosVersion?: string;
      timing?: Partial<TalosTiming>;
      now?: () => number;
    },
  ) {
    this.timing = { ...DEFAULT_TALOS_TIMING, ...options.timing };
    this.now = options.now ?? Date.now;
  }

  get talosVersion(): string {
    return this.options.talosVersion ?? 'v1.8.3';
  }

  // ---- One call -------------------------------------------------------------------

  handle(call: TalosCall): TalosAnswer {
    this.tick();
    const action = isMutating(call) ? actionOf(call) : undefined;
    try {
      const endpoint = this.reach(call.endpoint, call.auth);
      if (!endpoint.ok) throw new Unanswered('transport', call.endpoint, endpoint.message);
      let target = endpoint.node;
      if (call.node !== call.endpoint) {
        const proxied = this.reach(call.node, call.auth);
        if (!proxied.ok) throw new Unanswered('node', call.node, proxied.message);
        target = proxied.node;
      }
      const result = this.dispatch(call, target);
      return { ok: true, result };
    } catch (err) {
      let failure: { scope: 'transport' | 'node'; node: string; message: string };
      if (err instanceof Unanswered) failure = { scope: err.scope, node: err.node, message: err.message };
      else if (err instanceof RpcError) failure = { scope: 'node', node: call.node, message: err.message };
      else throw err;
      if (action) this.options.audit({ action, target: call.node, outcome: 'rejected', detail: { reason: failure.message } });
      return { ok: false, failure };
    }
  }

  private dispatch(call: TalosCall, node: SimNode): unknown {
    switch (call.op) {
      case 'applyConfiguration':
        return this.applyConfiguration(node, call.auth, call.configText, call.mode, call.dryRun);
      case 'bootstrap':
        return this.bootstrap(node);
      case 'etcdMemberList':
        return this.etcdMemberList(node);
      case 'etcdRemoveMemberById':
        return this.etcdRemoveMember(node, call.memberId);
      case 'etcdLeaveCluster':
        return this.etcdLeave(node);
      case 'etcdSnapshot':
        return this.etcdSnapshot(node);
      case 'version':
        if (call.auth.insecure) throw new RpcError('Unimplemented', say.MAINTENANCE_NOT_IMPLEMENTED);
        return { tag: this.talosVersion, sha: 'a1b2c3d4' } satisfies TalosResults['version'];
      case 'kubeconfig':
        return this.kubeconfig(node);
      case 'reset':
        return this.reset(node, call.graceful);
      case 'health':
        return { checks: this.healthChecks(node, call.controlPlaneNodes, call.workerNodes, call.auth) } satisfies TalosResults['health'];
      case 'get':
        return this.getResources(node, call.resource);
    }
  }

  // ---- Reachability and trust -------------------------------------------------------

  /** The VM lookups of one `wires` pass, so each address is looked up once in it. */
  private lookups?: Map<string, ReturnType<NodeLookup>>;

  private lookupNode(ip: string): ReturnType<NodeLookup> {
    if (!this.lookups) return this.options.lookupNode(ip);
    if (!this.lookups.has(ip)) this.lookups.set(ip, this.options.lookupNode(ip));
    return this.lookups.get(ip);
  }

  /** The node at `ip` as it is now: undefined when no running VM has that address. */
  private current(ip: string): SimNode | undefined {
    const vm = this.lookupNode(ip);
    if (!vm || !vm.running) return undefined;
    let node = this.nodeState.get(ip);
    if (!node || node.machineKey !== vm.machineKey) {
      // A new machine at this address (recreated VM): empty disk, maintenance mode.
      const now = this.now();
      node = { ip, machineKey: vm.machineKey, phase: 'maintenance', phaseSince: now, etcd: 'none', notReady: false, lostAddress: false, nodeId: randomBytes(16).toString('base64url'), createdAt: now };
      this.nodeState.set(ip, node);
    }
    return node;
  }

  private reach(ip: string, auth: TalosAuth): { ok: true; node: SimNode } | { ok: false; message: string } {
    const node = this.current(ip);
    if (!node || node.lostAddress) return { ok: false, message: say.dialFailure(ip, 'no route to host') };
    if (node.phase === 'installing' || node.phase === 'resetting') return { ok: false, message: say.dialFailure(ip, 'connection refused') };
    if (auth.insecure) return node.phase === 'maintenance' ? { ok: true, node } : { ok: false, message: say.CERTIFICATE_REQUIRED };
    // A maintenance node presents a self-signed certificate; a configured one its cluster's CA.
    if (node.phase !== 'running' || node.config?.caFingerprint !== auth.caFingerprint) return { ok: false, message: say.UNKNOWN_AUTHORITY };
    return { ok: true, node };
  }

  // ---- Lazy time --------------------------------------------------------------------

  /** Advances phases and etcd joins to now. Called before every answer and every view. */
  tick(): void {
    // A VM recreated at a known address is a new machine, whoever looks first.
    for (const ip of [...this.nodeState.keys()]) this.current(ip);
    const now = this.now();
    for (const node of this.nodeState.values()) {
      if (node.phase === 'installing' && now - node.phaseSince >= this.timing.installMs) {
        node.phase = 'running';
        node.phaseSince = node.runningSince = node.phaseSince + this.timing.installMs;
        // The config's static address is where the node lives after its reboot.
        const addresses = node.config?.addresses ?? [];
        if (addresses.length > 0 && !addresses.includes(node.ip)) node.lostAddress = true;
      } else if (node.phase === 'resetting' && now - node.phaseSince >= resetDurationMs(this.timing)) {
        Object.assign(node, { phase: 'maintenance', phaseSince: node.phaseSince + resetDurationMs(this.timing), runningSince: undefined, config: undefined, etcd: 'none' });
      }
    }
    for (const cluster of this.clusters.values()) this.advanceEtcd(cluster, now);
  }

  private advanceEtcd(cluster: SimCluster, now: number): void {
    if (cluster.bootstrappedAt === undefined) return;
    for (const node of this.nodeState.values()) {
      if (node.phase !== 'running' || node.lostAddress || node.etcd !== 'none' || !this.isAlive(node)) continue;
      if (node.config?.caFingerprint !== cluster.key || node.config.machineType === 'worker') continue;
      const joinAt = Math.max(node.runningSince ?? now, cluster.bootstrappedAt) + this.timing.etcdJoinMs;
      // etcd refuses a second member with the same peer URL: a stale member blocks the rejoin.
      if (now < joinAt || !this.hasLeader(cluster) || cluster.members.some((m) => m.ip === node.ip)) continue;
      cluster.members.push({ id: newMemberId(), hostname: this.hostnameOf(node), ip: node.ip, machineKey: node.machineKey, learner: true, addedAt: now });
      node.etcd = 'member';
    }
    for (const m of cluster.members) {
      if (m.learner && now >= m.addedAt + this.timing.etcdJoinMs && this.memberAlive(m) && this.hasLeader(cluster)) m.learner = false;
    }
  }

  private isAlive(node: SimNode): boolean {
    const vm = this.lookupNode(node.ip);
    return vm !== undefined && vm.running && vm.machineKey === node.machineKey;
  }

  private memberAlive(m: SimMember): boolean {
    const node = this.nodeState.get(m.ip);
    return node !== undefined && node.machineKey === m.machineKey && this.isAlive(node) && node.phase === 'running' && !node.lostAddress && node.etcd === 'member';
  }

  private hasLeader(cluster: SimCluster): boolean {
    const voters = cluster.members.filter((m) => !m.learner);
    return voters.length > 0 && voters.filter((m) => this.memberAlive(m)).length >= majority(voters.length);
  }

  private hostnameOf(node: SimNode): string {
    return node.config?.hostname ?? `talos-${node.ip.replace(/\./g, '-')}`;
  }

  private clusterOf(node: SimNode): SimCluster {
    const config = node.config;
    if (!config) throw new RpcError('FailedPrecondition', 'the node has no machine config');
    let cluster = this.clusters.get(config.caFingerprint);
    if (!cluster) {
      cluster = { key: config.caFingerprint, name: config.clusterName, endpoint: config.endpoint, bootstrapCount: 0, members: [], splitBrain: false };
      this.clusters.set(cluster.key, cluster);
    }
    cluster.osCaKey ??= config.osCa.key;
    return cluster;
  }

  private requireControlPlane(node: SimNode, api: string): void {
    if (node.config?.machineType === 'worker') throw new RpcError('Unimplemented', say.onlyOnControlPlane(api));
  }

  private nodeReady(node: SimNode): { ready: boolean; unmet: { name: string; reason: string }[] } {
    if (node.phase !== 'running' || !node.config) return { ready: false, unmet: [say.UNMET.services] };
    const cluster = this.clusterOf(node);
    const unmet: { name: string; reason: string }[] = [];
    if (node.notReady) unmet.push(say.UNMET.services);
    if (cluster.bootstrappedAt === undefined) unmet.push(say.UNMET.nodeReady);
    else if (node.config.machineType === 'worker') {
      if (this.now() < Math.max(node.runningSince ?? 0, cluster.bootstrappedAt) + this.timing.kubeletReadyMs) unmet.push(say.UNMET.nodeReady);
    } else if (!cluster.members.some((m) => m.ip === node.ip && m.machineKey === node.machineKey && !m.learner && this.memberAlive(m))) {
      unmet.push(say.UNMET.etcd);
    }
    return { ready: unmet.length === 0, unmet };
  }

  // ---- Machine API ------------------------------------------------------------------

  private applyConfiguration(node: SimNode, auth: TalosAuth, text: string, mode: string, dryRun: boolean): TalosResults['applyConfiguration'] {
    let facts: MachineConfigFacts;
    try {
      facts = readMachineConfig(text);
    } catch (err) {
      if (!(err instanceof MachineConfigInvalid)) throw err;
      throw new RpcError('InvalidArgument', auth.insecure ? `configuration validation failed: ${err.message}` : err.message);
    }
    if (auth.insecure) {
      if (!['auto', 'reboot', 'try'].includes(mode)) throw new RpcError('Unimplemented', say.maintenanceModeUnsupported(mode));
      if (dryRun) return { modeDetails: say.MAINTENANCE_DRY_RUN };
      Object.assign(node, { config: facts, phase: 'installing', phaseSince: this.now(), etcd: 'none' });
      this.clusterOf(node);
      this.options.audit({ action: 'apply-config', target: node.ip, outcome: 'ok', detail: { insecure: true, machineType: facts.machineType, hostname: facts.hostname, cluster: facts.clusterName } });
      return { modeDetails: '' };
    }
    const before = node.config!;
    if (facts.machineType !== before.machineType) {
      // (unverified wording) Talos refuses to turn a worker into a control plane or back.
      throw new RpcError('InvalidArgument', `machine type can't be changed from ${JSON.stringify(before.machineType)} to ${JSON.stringify(facts.machineType)}`);
    }
    const details = mode === 'reboot' ? say.APPLIED_WITH_REBOOT : mode === 'staged' ? 'Staged configuration to be applied after the next reboot' : say.APPLIED_WITHOUT_REBOOT;
    if (dryRun) return { modeDetails: say.dryRunSummary(details, configDiff(before.text, facts.text)) };
    node.config = facts;
    if (mode === 'reboot') Object.assign(node, { phase: 'installing', phaseSince: this.now() });
    this.options.audit({ action: 'apply-config', target: node.ip, outcome: 'ok', detail: { insecure: false, mode, changed: before.digest !== facts.digest } });
    return { modeDetails: details };
  }

  private bootstrap(node: SimNode): TalosResults['bootstrap'] {
    if (node.config?.machineType === 'worker') throw new RpcError('FailedPrecondition', say.BOOTSTRAP_ON_WORKER);
    if (node.etcd !== 'none') throw new RpcError('AlreadyExists', say.BOOTSTRAP_ALREADY_EXISTS);
    const cluster = this.clusterOf(node);
    cluster.bootstrapCount += 1;
    if (cluster.members.length > 0 || cluster.splitBrain) {
      // Faithful and dangerous: a node with an empty etcd directory starts a new etcd cluster.
      cluster.splitBrain = true;
      node.etcd = 'split';
      this.options.audit({ action: 'bootstrap', target: node.ip, outcome: 'ok', detail: { cluster: cluster.name, splitBrain: true } });
      return {};
    }
    const now = this.now();
    cluster.members = [{ id: newMemberId(), hostname: this.hostnameOf(node), ip: node.ip, machineKey: node.machineKey, learner: false, addedAt: now }];
    cluster.bootstrappedAt = now;
    node.etcd = 'member';
    this.options.audit({ action: 'bootstrap', target: node.ip, outcome: 'ok', detail: { cluster: cluster.name } });
    return {};
  }

  private memberView(m: SimMember): EtcdMemberView {
    return { id: m.id, hostname: m.hostname, peerUrls: [`https://${m.ip}:2380`], clientUrls: [`https://${m.ip}:2379`], learner: m.learner };
  }

  private etcdMemberList(node: SimNode): TalosResults['etcdMemberList'] {
    this.requireControlPlane(node, 'member list');
    const cluster = this.clusterOf(node);
    if (node.etcd === 'split') {
      return { members: [this.memberView({ id: '0000000000000001', hostname: this.hostnameOf(node), ip: node.ip, machineKey: node.machineKey, learner: false, addedAt: 0 })] };
    }
    if (node.etcd !== 'member') throw new RpcError('Unknown', say.ETCD_NOT_RUNNING);
    if (!this.hasLeader(cluster)) throw new RpcError('Unavailable', say.ETCD_NO_LEADER);
    return { members: cluster.members.map((m) => this.memberView(m)) };
  }

  /** etcd's strict reconfiguration check: the started voters left must still be a majority. */
  private assertRemovable(cluster: SimCluster, member: SimMember, verb: string): void {
    if (member.learner) return;
    const votersLeft = cluster.members.filter((m) => !m.learner && m !== member);
    if (votersLeft.length > 0 && votersLeft.filter((m) => this.memberAlive(m)).length < majority(votersLeft.length)) {
      throw new RpcError('Unknown', `${verb}: ${say.ETCD_NOT_ENOUGH_STARTED}`);
    }
  }

  private dropMember(cluster: SimCluster, member: SimMember, state: EtcdState): void {
    cluster.members = cluster.members.filter((m) => m !== member);
    const node = this.nodeState.get(member.ip);
    if (node && node.machineKey === member.machineKey && node.etcd === 'member') node.etcd = state;
  }

  private etcdRemoveMember(node: SimNode, memberId: string): TalosResults['etcdRemoveMemberById'] {
    this.requireControlPlane(node, 'etcd remove member');
    const cluster = this.clusterOf(node);
    if (!this.hasLeader(cluster)) throw new RpcError('Unknown', `failed to remove member: ${say.ETCD_NO_LEADER}`);
    const member = cluster.members.find((m) => m.id === memberId);
    if (!member) throw new RpcError('NotFound', say.ETCD_MEMBER_NOT_FOUND);
    this.assertRemovable(cluster, member, 'failed to remove member');
    this.dropMember(cluster, member, 'removed');
    this.options.audit({ action: 'etcd remove-member', target: node.ip, outcome: 'ok', detail: { memberId, hostname: member.hostname, memberIp: member.ip } });
    return {};
  }

  private etcdLeave(node: SimNode): TalosResults['etcdLeaveCluster'] {
    this.requireControlPlane(node, 'etcd leave');
    const cluster = this.clusterOf(node);
    const member = cluster.members.find((m) => m.ip === node.ip && m.machineKey === node.machineKey);
    if (!member || node.etcd !== 'member') throw new RpcError('Unknown', `failed to leave cluster: ${say.ETCD_MEMBER_NOT_FOUND}`);
    if (!this.hasLeader(cluster)) throw new RpcError('Unknown', `failed to leave cluster: ${say.ETCD_NO_LEADER}`);
    this.assertRemovable(cluster, member, 'failed to leave cluster');
    this.dropMember(cluster, member, 'left');
    this.options.audit({ action: 'etcd leave', target: node.ip, outcome: 'ok', detail: { memberId: member.id, hostname: member.hostname } });
    return {};
  }

  private etcdSnapshot(node: SimNode): TalosResults['etcdSnapshot'] {
    this.requireControlPlane(node, 'etcd snapshot');
    if (node.etcd !== 'member') throw new RpcError('Unknown', say.ETCD_NOT_RUNNING);
    if (!this.hasLeader(this.clusterOf(node))) throw new RpcError('Unavailable', say.ETCD_NO_LEADER);
    // etcd snapshots end with a SHA-256: size % 512 == 32 is what talosctl checks.
    return { size: 512 * (40 + this.clusterOf(node).members.length) + 32 };
  }

  private kubeconfig(node: SimNode): TalosResults['kubeconfig'] {
    this.requireControlPlane(node, 'kubeconfig');
    const config = node.config!;
    return { clusterName: config.clusterName, endpoint: config.endpoint, k8sCaCrt: config.k8sCaCrt };
  }

  private reset(node: SimNode, graceful: boolean): TalosResults['reset'] {
    if (graceful && node.config?.machineType !== 'worker' && node.etcd === 'member') {
      const cluster = this.clusterOf(node);
      const member = cluster.members.find((m) => m.ip === node.ip && m.machineKey === node.machineKey);
      if (member) {
        if (!this.hasLeader(cluster)) throw new RpcError('Unknown', `failed to leave etcd cluster: ${say.ETCD_NO_LEADER}`);
        this.assertRemovable(cluster, member, 'failed to leave etcd cluster');
        this.dropMember(cluster, member, 'left');
      }
    }
    // A graceful reset of a configured node cordons and drains it first (Talos runs
    // CordonAndDrainNode before it leaves etcd and wipes the disk); a forced one does not.
    const drained = graceful && node.phase === 'running' && node.config !== undefined;
    Object.assign(node, { phase: 'resetting', phaseSince: this.now() });
    this.options.audit({ action: 'reset', target: node.ip, outcome: 'ok', detail: { graceful, cordonedAndDrained: drained, machineType: node.config?.machineType ?? 'none' } });
    return { readyInMs: resetDurationMs(this.timing) };
  }

  // ---- Health and resources ---------------------------------------------------------

  private healthChecks(via: SimNode, cps: string[], workers: string[], auth: TalosAuth): HealthCheckView[] {
    const cluster = this.clusterOf(via);
    const all = [...cps, ...workers];
    const reached = new Map(all.map((ip) => [ip, this.reach(ip, auth)] as const));
    const nodeAt = (ip: string) => {
      const r = reached.get(ip);
      return r?.ok ? r.node : undefined;
    };
    const problems = (ips: string[], test: (ip: string, node: SimNode | undefined) => string | undefined) =>
      ips.map((ip) => test(ip, nodeAt(ip))).filter((p): p is string => p !== undefined);

    const checks: [string, string[]][] = [
      [
        say.HEALTH_CHECKS[0],
        [
          ...(cluster.bootstrappedAt === undefined ? ['etcd is not bootstrapped'] : !this.hasLeader(cluster) ? [say.ETCD_NO_LEADER] : []),
          ...problems(cps, (ip, node) => {
            if (!node) return `${ip}: service "etcd" not in expected state "Running": node not reachable`;
            const member = cluster.members.find((m) => m.ip === ip && m.machineKey === node.machineKey);
            return member && !member.learner && this.memberAlive(member) ? undefined : `${ip}: service "etcd" not in expected state "Running"`;
          }),
        ],
      ],
      [say.HEALTH_CHECKS[1], cluster.splitBrain ? ['etcd members differ between nodes: a second etcd cluster was bootstrapped'] : []],
      [
        say.HEALTH_CHECKS[2],
        cluster.members
          .filter((m) => !cps.includes(m.ip) || !this.memberAlive(m))
          .map((m) => `etcd member ${m.id} (${m.hostname}, ${m.ip}) is not a healthy control plane node`),
      ],
      [
        say.HEALTH_CHECKS[3],
        all.flatMap((ip) => {
          const r = reached.get(ip);
          return r && !r.ok ? [`${ip}: ${r.message}`] : [];
        }),
      ],
      [say.HEALTH_CHECKS[4], problems(all, (ip, node) => (node && !node.notReady ? undefined : `${ip}: service "kubelet" not in expected state "Running"`))],
      [say.HEALTH_CHECKS[5], problems(all, (ip, node) => (node?.phase === 'running' ? undefined : `${ip}: boot sequence not finished`))],
      [
        say.HEALTH_CHECKS[6],
        problems(all, (ip, node) => {
          const want = cps.includes(ip) ? 'controlplane' : 'worker';
          return node?.config?.machineType === want && cluster.bootstrappedAt !== undefined ? undefined : `${ip}: expected a ${want} node to be registered`;
        }),
      ],
      [say.HEALTH_CHECKS[7], problems(all, (ip, node) => (node && this.nodeReady(node).ready ? undefined : `${ip}: node is not ready`))],
    ];
    return checks.map(([name, found]) => ({ name, ok: found.length === 0, detail: found.length === 0 ? 'OK' : found.join('; ') }));
  }

  private getResources(node: SimNode, resource: string): TalosResults['get'] {
    const kind = resource.toLowerCase();
    const stamp = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (['members', 'member', 'members.cluster.talos.dev'].includes(kind)) {
      if (!node.config) throw new RpcError('PermissionDenied', say.MAINTENANCE_NOT_IMPLEMENTED);
      const key = node.config.caFingerprint;
      const items: ResourceView[] = [...this.nodeState.values()]
        .filter((n) => n.phase === 'running' && !n.lostAddress && n.config?.caFingerprint === key && this.isAlive(n))
        .sort((a, b) => this.hostnameOf(a).localeCompare(this.hostnameOf(b)))
        .map((n) => ({
          node: node.ip,
          metadata: { namespace: 'cluster', type: 'Members.cluster.talos.dev', id: this.hostnameOf(n), version: 1, owner: 'cluster.MemberController', phase: 'running', created: stamp(n.createdAt), updated: stamp(n.runningSince ?? n.createdAt) },
          spec: {
            nodeId: n.nodeId,
            addresses: [n.ip],
            hostname: this.hostnameOf(n),
            machineType: n.config!.machineType,
            operatingSystem: `Talos (${this.talosVersion})`,
            ...(n.config!.machineType !== 'worker' ? { controlPlane: { apiServerPort: 6443 } } : {}),
          },
        }));
      return { items };
    }
    if (['machinestatus', 'machinestatuses', 'machinestatuses.runtime.talos.dev'].includes(kind)) {
      const { ready, unmet } = this.nodeReady(node);
      return {
        items: [
          {
            node: node.ip,
            metadata: { namespace: 'runtime', type: 'MachineStatuses.runtime.talos.dev', id: 'machine', version: 1, owner: 'runtime.MachineStatusController', phase: 'running', created: stamp(node.createdAt), updated: stamp(node.phaseSince) },
            spec: { stage: node.phase, status: { ready, unmetConditions: unmet } },
          },
        ],
      };
    }
    throw new RpcError('NotFound', `resource ${JSON.stringify(resource)} is not registered`);
  }

  // ---- The wire ----------------------------------------------------------------------

  /**
   * What the node at `ip` presents on its API port now (the gRPC nodes ask on every
   * connection). A configured worker's certificate comes from its cluster's CA key, learnt
   * from a control-plane config, as trustd on a control plane would sign it.
   */
  wire(ip: string): TalosNodeWire {
    this.tick();
    return this.wireNow(ip);
  }

  /**
   * What each of `ips` presents, from one look at the VMs: the gRPC nodes reconcile their
   * ports many times a second, and a look per address (each asking every Proxmox simulator
   * about every node) grew with the square of the cluster.
   */
  wires(ips: string[]): Map<string, TalosNodeWire> {
    this.lookups = new Map();
    try {
      this.tick();
      return new Map(ips.map((ip) => [ip, this.wireNow(ip)]));
    } finally {
      this.lookups = undefined;
    }
  }

  private wireNow(ip: string): TalosNodeWire {
    const node = this.current(ip);
    if (!node || node.lostAddress) return { serving: false };
    if (node.phase === 'maintenance') return { serving: true, mode: 'maintenance' };
    if (node.phase !== 'running' || !node.config) return { serving: false };
    const key = node.config.osCa.key ?? this.clusters.get(node.config.caFingerprint)?.osCaKey;
    return { serving: true, mode: 'configured', caFingerprint: node.config.caFingerprint, hostname: this.hostnameOf(node), osCa: { crt: node.config.osCa.crt, key } };
  }

  // ---- Views for tests and the demo -------------------------------------------------

  nodes(): TalosNodeView[] {
    this.tick();
    return [...this.nodeState.values()].map((n) => ({
      ip: n.ip,
      machineKey: n.machineKey,
      phase: n.phase,
      cluster: n.config?.clusterName,
      machineType: n.config?.machineType,
      hostname: n.config?.hostname,
      etcd: n.etcd,
      ready: n.config ? this.nodeReady(n).ready : false,
    }));
  }

  etcdMembers(clusterName?: string): TalosMemberView[] {
    this.tick();
    return [...this.clusters.values()]
      .filter((c) => clusterName === undefined || c.name === clusterName)
      .flatMap((c) => c.members.map((m) => ({ ...this.memberView(m), ip: m.ip, cluster: c.name, alive: this.memberAlive(m) })));
  }

  bootstrapCount(clusterName?: string): number {
    return [...this.clusters.values()].filter((c) => clusterName === undefined || c.name === clusterName).reduce((sum, c) => sum + c.bootstrapCount, 0);
  }

  setNotReady(ip: string, on: boolean): void {
    const node = this.current(ip) ?? this.nodeState.get(ip);
    if (!node) throw new Error(`no Talos node at ${ip}: its VM is not known or not running`);
    node.notReady = on;
  }
}

function newMemberId(): string {
  for (;;) {
    const id = randomBytes(8).toString('hex');
    if (id !== '0000000000000000') return id;
  }
}
