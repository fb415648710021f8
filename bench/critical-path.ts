// The critical path of bootstrapCluster: the shortest wall time the simulated provider
// latencies allow, whatever autok8s does around them. Pure, derived from the workflow's
// structure (workflows/bootstrap-cluster.ts and provision-server.ts), phase by phase with
// the workflow's own step names, so a benchmark can set measured step times beside it.
//
// bootstrapCluster configures each server's Talos machines as soon as that server's VMs
// answer; with every server equally fast (fixed latencies) its bound is:
//
//   provision-servers   every server in parallel (a child workflow each): the vRack task
//                       beside its VMs, each VM created, then started and awaited (bootVm);
//                       the Talos secrets and configs are made meanwhile (no latency).
//   then two branches, the longer one counts:
//   talos               configure-control-planes (apply-config returns at once; the installs
//                       run on), etcd-bootstrap (the first control plane's install),
//                       configure-workers beside the etcd steps (a worker applied while the
//                       first control plane installs is running when etcd is bootstrapped),
//                       etcd-members (each other control plane joins as a learner one
//                       etcd-join after the bootstrap, promoted one etcd-join later),
//                       cluster-health (the workers installed beside the control planes and
//                       are ready one kubelet-ready after the bootstrap: only what outlasts
//                       the members counts), kubeconfig (local).
//   traffic             push-lb-configs (SSH, no latency), route <ip> (an OVH move each, when
//                       the IP is not on a healthy LB yet).
//
// What it leaves out on purpose (it is the overhead a benchmark measures against this):
// Temporal scheduling, HTTP/TLS calls, talosctl process runs, polling granularity.

export interface SimulatedLatencies {
  /** OVH: a vRack membership task, a failover IP move task. */
  vrackTaskMs: number;
  moveMs: number;
  /** Proxmox: qmcreate and qmstart tasks, then start → guest agent answering. */
  createMs: number;
  startMs: number;
  bootMs: number;
  /** Talos: config applied in maintenance → running; running → etcd learner (and learner → voter); running → kubelet ready. */
  installMs: number;
  etcdJoinMs: number;
  kubeletReadyMs: number;
}

export interface BootstrapShape {
  servers: number;
  controlPlanes: number;
  workers: number;
  /** Servers not yet in the vRack (each joins in parallel; any one makes the join part of the path). */
  vrackJoins: number;
  /** Failover IPs that have to move (each is its own sequential `route <ip>` step). */
  failoverMoves: number;
  /** Failover IPs in the spec (a `route <ip>` step each, moved or not). */
  failoverIps: number;
}

export interface PhaseBound {
  /** The bootstrapCluster step name (StepLog), e.g. "etcd-members" or "route 203.0.113.10". */
  phase: string;
  ms: number;
  why: string;
  /** Which branch after provisioning the phase belongs to (none: before the branches). */
  branch?: 'talos' | 'traffic';
}

/** The critical path phase by phase, in the workflow's order. */
export function criticalPathPhases(l: SimulatedLatencies, shape: BootstrapShape, failoverIpNames?: readonly string[]): PhaseBound[] {
  if (shape.servers < 1) throw new Error('a cluster has at least one server');
  if (shape.controlPlanes < 1 || shape.controlPlanes > shape.servers) throw new Error(`controlPlanes must be between 1 and servers (${shape.servers})`);
  const vrack = shape.vrackJoins > 0 ? l.vrackTaskMs : 0;
  const vm = l.createMs + l.startMs + l.bootMs;
  const ips = failoverIpNames ?? Array.from({ length: shape.failoverIps }, (_, i) => `ip${i + 1}`);
  // Moves are sequential steps; which IPs move does not change the total, so the first ones carry them.
  const routes: PhaseBound[] = ips.map((ip, i) => ({
    phase: `route ${ip}`,
    ms: i < shape.failoverMoves ? l.moveMs : 0,
    why: i < shape.failoverMoves ? 'OVH move task' : 'already on a healthy LB: no move',
  }));
  const members = shape.controlPlanes > 1 ? 2 * l.etcdJoinMs : 0;
  // Workers are ready one kubelet-ready after the bootstrap (they installed meanwhile).
  const workersAfterMembers = shape.workers > 0 ? Math.max(0, l.kubeletReadyMs - members) : 0;
  return [
    { phase: 'provision-servers', ms: Math.max(vrack, vm), why: 'vRack task beside VM create + start + boot (servers and VMs in parallel)' },
    { phase: 'talos-secrets', ms: 0, why: 'local, beside provisioning' },
    { phase: 'talos-configs', ms: 0, why: 'local, beside provisioning' },
    { phase: 'configure-control-planes', ms: 0, why: 'apply-config returns at once; the installs run on', branch: 'talos' },
    { phase: 'etcd-bootstrap', ms: l.installMs, why: 'first control plane installs and reboots', branch: 'talos' },
    { phase: 'configure-workers', ms: 0, why: 'beside the etcd bootstrap: apply-config returns at once, the workers install meanwhile', branch: 'talos' },
    { phase: 'etcd-members', ms: members, why: shape.controlPlanes > 1 ? 'other control planes join as learners, then are promoted' : 'the bootstrap node is the only member', branch: 'talos' },
    { phase: 'cluster-health', ms: workersAfterMembers, why: shape.workers > 0 ? 'workers installed beside the control planes: ready one kubelet-ready after the bootstrap' : 'no workers', branch: 'talos' },
    { phase: 'kubeconfig', ms: 0, why: 'local', branch: 'talos' },
    { phase: 'push-lb-configs', ms: 0, why: 'SSH pushes, beside the Talos branch', branch: 'traffic' },
    ...routes.map((r) => ({ ...r, branch: 'traffic' as const })),
  ];
}

/** The bootstrap's critical path in ms: its sequential phases, and of parallel branches the longer. */
export function criticalPathMs(l: SimulatedLatencies, shape: BootstrapShape): number {
  const phases = criticalPathPhases(l, shape);
  const sum = (list: PhaseBound[]) => list.reduce((total, p) => total + p.ms, 0);
  return sum(phases.filter((p) => !p.branch)) + Math.max(sum(phases.filter((p) => p.branch === 'talos')), sum(phases.filter((p) => p.branch === 'traffic')));
}
