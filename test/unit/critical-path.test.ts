import { describe, expect, it } from 'vitest';
import { criticalPathMs, criticalPathPhases, type BootstrapShape, type SimulatedLatencies } from '../../bench/critical-path';

// Distinct powers of ten per latency, so a hand-computed total shows which ones are on the path.
const L: SimulatedLatencies = {
  vrackTaskMs: 1,
  createMs: 10,
  startMs: 100,
  bootMs: 1_000,
  installMs: 10_000,
  etcdJoinMs: 100_000,
  kubeletReadyMs: 1_000_000,
  moveMs: 10_000_000,
};

const shape = (s: Partial<BootstrapShape>): BootstrapShape => ({ servers: 3, controlPlanes: 3, workers: 3, vrackJoins: 3, failoverMoves: 0, failoverIps: 1, ...s });

describe('criticalPathMs', () => {
  it.each([
    // vrack + create + start + boot, install (etcd API), 2 × etcd join, install + kubelet (workers)
    { name: 'fresh 3-server cluster, IP already routed', s: shape({}), want: 1 + 10 + 100 + 1_000 + 10_000 + 2 * 100_000 + 10_000 + 1_000_000 },
    { name: 'servers already in the vRack: no vRack task', s: shape({ vrackJoins: 0 }), want: 10 + 100 + 1_000 + 10_000 + 2 * 100_000 + 10_000 + 1_000_000 },
    { name: 'one control plane: no etcd join wait', s: shape({ servers: 1, controlPlanes: 1, workers: 1, vrackJoins: 1 }), want: 1 + 10 + 100 + 1_000 + 10_000 + 10_000 + 1_000_000 },
    { name: 'no workers: no worker install in the health wait', s: shape({ workers: 0 }), want: 1 + 10 + 100 + 1_000 + 10_000 + 2 * 100_000 },
    { name: 'the IP must move: one OVH move task', s: shape({ failoverMoves: 1 }), want: 1 + 10 + 100 + 1_000 + 10_000 + 2 * 100_000 + 10_000 + 1_000_000 + 10_000_000 },
    { name: 'variant: vRack join beside the VMs takes the longer of the two', s: shape({ vrackBesideVms: true }), want: /* VMs 10 + 100 + 1_000 outlast the vRack's 1 */ 10 + 100 + 1_000 + 10_000 + 2 * 100_000 + 10_000 + 1_000_000 },
    { name: 'two IPs to move: two sequential moves', s: shape({ failoverIps: 2, failoverMoves: 2 }), want: 1 + 10 + 100 + 1_000 + 10_000 + 2 * 100_000 + 10_000 + 1_000_000 + 2 * 10_000_000 },
  ])('$name', ({ s, want }) => {
    expect(criticalPathMs(L, s)).toBe(want);
  });

  it('does not grow with the server count: servers and VMs run in parallel', () => {
    const at = (servers: number) => criticalPathMs(L, shape({ servers, controlPlanes: servers === 3 ? 3 : 5, workers: servers, vrackJoins: servers }));
    expect(new Set([3, 6, 12, 24].map(at)).size).toBe(1);
  });

  it('lists the workflow steps in order, with the phase bounds summing to the total', () => {
    const phases = criticalPathPhases(L, shape({}), ['203.0.113.10']);
    expect(phases.map((p) => p.phase)).toEqual([
      'provision-servers',
      'talos-secrets',
      'talos-configs',
      'configure-control-planes',
      'etcd-bootstrap',
      'etcd-members',
      'configure-workers',
      'cluster-health',
      'push-lb-configs',
      'route 203.0.113.10',
      'kubeconfig',
    ]);
    expect(phases.reduce((sum, p) => sum + p.ms, 0)).toBe(criticalPathMs(L, shape({})));
    expect(phases.find((p) => p.phase === 'etcd-members')!.ms).toBe(200_000);
  });

  it.each([
    // max(vRack, VMs) + install + 2 × etcd join + what the workers' kubelet-ready outlasts the members by
    { name: 'overlapped: fresh 3-server cluster', s: shape({ overlapped: true }), want: 10 + 100 + 1_000 + 10_000 + 2 * 100_000 + (1_000_000 - 2 * 100_000) },
    { name: 'overlapped: kubelet-ready shorter than the etcd joins adds nothing', s: shape({ overlapped: true }), l: { ...L, kubeletReadyMs: 5 }, want: 10 + 100 + 1_000 + 10_000 + 2 * 100_000 },
    { name: 'overlapped: an IP move longer than the Talos branch is the path', s: shape({ overlapped: true, failoverMoves: 1 }), want: 10 + 100 + 1_000 + 10_000_000 },
    { name: 'overlapped: no workers', s: shape({ overlapped: true, workers: 0 }), want: 10 + 100 + 1_000 + 10_000 + 2 * 100_000 },
  ])('$name', ({ s, l, want }) => {
    expect(criticalPathMs(l ?? L, s)).toBe(want);
  });

  it('overlapped: phases carry their branch, and the two branches follow provisioning', () => {
    const phases = criticalPathPhases(L, shape({ overlapped: true }), ['203.0.113.10']);
    expect(phases.filter((p) => p.branch === 'talos').map((p) => p.phase)).toEqual(['configure-control-planes', 'etcd-bootstrap', 'configure-workers', 'etcd-members', 'cluster-health', 'kubeconfig']);
    expect(phases.filter((p) => p.branch === 'traffic').map((p) => p.phase)).toEqual(['push-lb-configs', 'route 203.0.113.10']);
    expect(phases.filter((p) => !p.branch).map((p) => p.phase)).toEqual(['provision-servers', 'talos-secrets', 'talos-configs']);
  });

  it('refuses shapes a cluster cannot have', () => {
    expect(() => criticalPathMs(L, shape({ servers: 0 }))).toThrow(/at least one server/);
    expect(() => criticalPathMs(L, shape({ controlPlanes: 4, servers: 3 }))).toThrow(/controlPlanes/);
  });
});
