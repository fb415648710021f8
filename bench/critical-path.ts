// The critical path of bootstrapCluster: the shortest wall time the simulated provider
// latencies allow, whatever autok8s does around them. Pure, derived from the workflow's
// structure (workflows/bootstrap-cluster.ts and provision-server.ts), phase by phase with
// the workflow's own step names, so a benchmark can set measured step times beside it.
//
// Today's workflow configures each server's Talos
// machines as soon as that server's VMs answer instead of after the slowest server. With
// every server equally fast (fixed latencies) its bound is the `overlapped` shape's:
//
//   provision-servers   max(vRack task, VM create + start + boot); the Talos secrets and
//                       configs are made meanwhile (local: no latency).
//   then two branches, the longer one counts:
//   talos               configure-control-planes, then configure-workers beside the etcd
//                       steps (apply-config returns at once, the installs run on; a worker
//                       applied while the first control plane installs is running when etcd
//                       is bootstrapped), etcd-bootstrap (the first
//                       control plane's install), etcd-members (2 × etcd join), cluster-health
//                       (the workers installed beside the control planes and are ready one
//                       kubelet-ready after the bootstrap: only what outlasts the members
//                       counts), kubeconfig (local).
//   traffic             push-lb-configs (SSH, no latency), route <ip> (an OVH move each, when
//                       the IP is not on a healthy LB yet).
//
// The sequential structure below (overlapped: false) is kept for comparison:
//
//   provision-servers   every server in parallel (a child workflow each): its vRack join
//                       beside its VMs (vrackBesideVms; without it, the join first), each VM
//                       ensured, then booted (start + guest agent answering) in one activity.
//   talos-secrets, talos-configs, configure-control-planes
//                       local files and apply-config calls: no simulated latency (the node
//                       starts installing when its config is applied).
//   etcd-bootstrap      waits for the first control plane's Talos API: its install.
//   etcd-members        every other control plane joins as a learner one etcd-join after the
//                       bootstrap and is promoted one etcd-join later (sandbox/talos/talos-api.ts).
//   configure-workers   apply-config calls: no simulated latency.
//   cluster-health      the workers install, then their kubelets report ready.
//   push-lb-configs     SSH pushes: no simulated latency.
//   route <ip>          an OVH move only when the IP is not already on a healthy LB of the cluster.
//   kubeconfig          a local talosctl call.
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
  /**
   * The vRack join running beside the VMs, as provisionServer does it; false models the join
   * before them. Default false.
   */
  vrackBesideVms?: boolean;
  /** Today's workflow: configs beside provisioning, workers beside control planes, LB branch beside Talos (implies vrackBesideVms). */
  overlapped?: boolean;
}

export interface PhaseBound {
  /** The bootstrapCluster step name (StepLog), e.g. "etcd-members" or "route 203.0.113.10". */
  phase: string;
  ms: number;
  why: string;
  /** Overlapped shape: which branch after provisioning the phase belongs to. */
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
  if (shape.overlapped) {
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
  return [
    shape.vrackBesideVms
      ? { phase: 'provision-servers', ms: Math.max(vrack, vm), why: 'vRack task beside VM create + start + boot (servers and VMs in parallel)' }
      : { phase: 'provision-servers', ms: vrack + vm, why: `${vrack > 0 ? 'vRack task, then ' : ''}VM create + start + boot (servers and VMs in parallel)` },
    { phase: 'talos-secrets', ms: 0, why: 'local' },
    { phase: 'talos-configs', ms: 0, why: 'local' },
    { phase: 'configure-control-planes', ms: 0, why: 'apply-config returns at once; the install runs on' },
    { phase: 'etcd-bootstrap', ms: l.installMs, why: 'first control plane installs and reboots' },
    {
      phase: 'etcd-members',
      ms: shape.controlPlanes > 1 ? 2 * l.etcdJoinMs : 0,
      why: shape.controlPlanes > 1 ? 'other control planes join as learners, then are promoted' : 'the bootstrap node is the only member',
    },
    { phase: 'configure-workers', ms: 0, why: 'apply-config returns at once; the install runs on' },
    { phase: 'cluster-health', ms: shape.workers > 0 ? l.installMs + l.kubeletReadyMs : 0, why: shape.workers > 0 ? 'workers install, then kubelets ready' : 'no workers' },
    { phase: 'push-lb-configs', ms: 0, why: 'SSH pushes' },
    ...routes,
    { phase: 'kubeconfig', ms: 0, why: 'local' },
  ];
}

/** The bootstrap's critical path in ms: its sequential phases, and of parallel branches the longer. */
export function criticalPathMs(l: SimulatedLatencies, shape: BootstrapShape): number {
  const phases = criticalPathPhases(l, shape);
  const sum = (list: PhaseBound[]) => list.reduce((total, p) => total + p.ms, 0);
  return sum(phases.filter((p) => !p.branch)) + Math.max(sum(phases.filter((p) => p.branch === 'talos')), sum(phases.filter((p) => p.branch === 'traffic')));
}
