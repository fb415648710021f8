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
    // max(vRack, VMs) + install + 2 × etcd join + what the workers' kubelet-ready outlasts the members by
    { name: 'fresh 3-server cluster, IP already routed', s: shape({}), want: 10 + 100 + 1_000 + 10_000 + 2 * 100_000 + (1_000_000 - 2 * 100_000) },
    { name: 'a vRack task longer than the VMs is the provisioning bound', s: shape({}), l: { ...L, vrackTaskMs: 50_000 }, want: 50_000 + 10_000 + 2 * 100_000 + (1_000_000 - 2 * 100_000) },
    { name: 'servers already in the vRack: the VMs alone', s: shape({ vrackJoins: 0 }), l: { ...L, vrackTaskMs: 50_000 }, want: 10 + 100 + 1_000 + 10_000 + 2 * 100_000 + (1_000_000 - 2 * 100_000) },
    { name: 'one control plane: no etcd join wait', s: shape({ servers: 1, controlPlanes: 1, workers: 1, vrackJoins: 1 }), want: 10 + 100 + 1_000 + 10_000 + 1_000_000 },
    { name: 'kubelet-ready shorter than the etcd joins adds nothing', s: shape({}), l: { ...L, kubeletReadyMs: 5 }, want: 10 + 100 + 1_000 + 10_000 + 2 * 100_000 },
    { name: 'an IP move longer than the Talos branch is the path', s: shape({ failoverMoves: 1 }), want: 10 + 100 + 1_000 + 10_000_000 },
    { name: 'two IPs to move: two sequential moves', s: shape({ failoverIps: 2, failoverMoves: 2 }), want: 10 + 100 + 1_000 + 2 * 10_000_000 },
    { name: 'no workers', s: shape({ workers: 0 }), want: 10 + 100 + 1_000 + 10_000 + 2 * 100_000 },
  ])('$name', ({ s, l, want }) => {
    expect(criticalPathMs(l ?? L, s)).toBe(want);
  });

  it('does not grow with the server count: servers and VMs run in parallel', () => {
    const at = (servers: number) => criticalPathMs(L, shape({ servers, controlPlanes: servers === 3 ? 3 : 5, workers: servers, vrackJoins: servers }));
    expect(new Set([3, 6, 12, 24].map(at)).size).toBe(1);
  });

  it('phases carry their branch, and the two branches follow provisioning', () => {
    const phases = criticalPathPhases(L, shape({}), ['203.0.113.10']);
    expect(phases.filter((p) => p.branch === 'talos').map((p) => p.phase)).toEqual(['configure-control-planes', 'etcd-bootstrap', 'configure-workers', 'etcd-members', 'cluster-health', 'kubeconfig']);
    expect(phases.filter((p) => p.branch === 'traffic').map((p) => p.phase)).toEqual(['push-lb-configs', 'route 203.0.113.10']);
    expect(phases.filter((p) => !p.branch).map((p) => p.phase)).toEqual(['provision-servers', 'talos-secrets', 'talos-configs']);
    expect(phases.find((p) => p.phase === 'etcd-members')!.ms).toBe(200_000);
  });

  it('refuses shapes a cluster cannot have', () => {
    expect(() => criticalPathMs(L, shape({ servers: 0 }))).toThrow(/at least one server/);
    expect(() => criticalPathMs(L, shape({ controlPlanes: 4, servers: 3 }))).toThrow(/controlPlanes/);
  });
});
