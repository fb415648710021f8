import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planBootstrap, type ObservedCluster } from '../../core/plan/bootstrap-plan';
import { parseSpec } from '../../core/spec/load';
import { VM_ROLES } from '../../core/spec/schema';

const spec = parseSpec(readFileSync(join(__dirname, '..', 'fixtures', 'cluster.yaml'), 'utf8'));
const everyVm = (state: Partial<ObservedCluster['vms'][number]>) =>
  spec.servers.flatMap((s) => VM_ROLES.filter((r) => s.vms[r]).map((role) => ({ server: s.name, role, vmid: s.vms[role]!.vmid, exists: true, owned: true, status: 'running', ...state })));
const bootstrapped: ObservedCluster = {
  vrackMembers: spec.servers.map((s) => s.ovhService),
  vms: everyVm({}),
  talos: { secrets: true, talosconfig: true, kubeconfig: true, etcdMembers: spec.servers.map((s) => s.name) },
  lbFiles: spec.servers.map((s) => ({ server: s.name, path: '/etc/haproxy/haproxy.cfg', state: 'same' as const })),
  failover: [{ ip: '203.0.113.10', routedTo: 'srv-a' }],
};

describe('planBootstrap', () => {
  it('plans nothing for a bootstrapped cluster', () => {
    expect(planBootstrap(spec, bootstrapped)).toEqual({ changes: [], conflicts: [], unknown: [], checks: [] });
  });

  it('plans every step for an empty cluster, etcd bootstrapped once on the first control plane', () => {
    const plan = planBootstrap(spec, {
      vrackMembers: [],
      vms: everyVm({ exists: false, owned: false, status: undefined }),
      talos: { secrets: false, talosconfig: false, kubeconfig: false, etcdMembers: { error: 'no talosconfig yet' } },
      lbFiles: spec.servers.map((s) => ({ server: s.name, path: '/etc/haproxy/haproxy.cfg', state: 'missing' as const })),
      failover: [{ ip: '203.0.113.10', routedTo: null }],
    });
    expect(plan.changes.filter((c) => c.change.startsWith('create VM'))).toHaveLength(9);
    expect(plan.changes.filter((c) => c.change.startsWith('join vRack'))).toHaveLength(3);
    expect(plan.changes.filter((c) => c.change.startsWith('bootstrap etcd'))).toEqual([{ target: 'srv-a', change: 'bootstrap etcd (exactly once), unless it already is' }]);
    expect(plan.changes.filter((c) => c.change.startsWith('push'))).toHaveLength(3);
    expect(plan.unknown).toEqual([]);
  });

  it('refuses to plan over a VM that autok8s did not create', () => {
    const plan = planBootstrap(spec, { ...bootstrapped, vms: bootstrapped.vms.map((vm) => (vm.vmid === 202 ? { ...vm, owned: false } : vm)) });
    expect(plan.conflicts).toEqual([expect.stringMatching(/srv-b\/controlPlane: VM 202 exists but was not created by autok8s/)]);
  });

  it('starts stopped VMs and says what it could not see', () => {
    const plan = planBootstrap(spec, {
      ...bootstrapped,
      vms: bootstrapped.vms.map((vm) => (vm.vmid === 303 ? { ...vm, status: 'stopped' } : vm.vmid === 101 ? { ...vm, error: 'Proxmox unreachable' } : vm)),
    });
    expect(plan.changes).toEqual([{ target: 'srv-c/worker', change: 'start VM 303 (stopped)' }]);
    expect(plan.unknown).toEqual(['srv-a/lb: Proxmox unreachable']);
  });

  it.each([
    ['vmac (the default) needs nothing on the host beyond vmbr0', {}, []],
    ['vrack-block needs nothing beyond the vRack bridge', { mode: 'vrack-block', block: '203.0.113.8/29' }, []],
  ] as const)('lists no host check for %s', (_, publicPath, checks) => {
    expect(planBootstrap({ ...spec, publicPath: { ...spec.publicPath, bridge: 'vmbr0', interface: 'eth1', mode: 'vmac', ...publicPath } }, bootstrapped).checks).toEqual(checks);
  });

  it("lists routed mode's forwarding on each Proxmox host, which autok8s cannot see, to check by hand", () => {
    const plan = planBootstrap({ ...spec, publicPath: { mode: 'routed', bridge: 'vmbr2', interface: 'eth1' } }, bootstrapped);
    expect(plan.checks).toHaveLength(spec.servers.length);
    expect(plan.checks[1]).toBe(
      `srv-b (Proxmox node ${spec.servers[1].proxmox.node}), publicPath.mode routed: net.ipv4.ip_forward=1 (sysctl net.ipv4.ip_forward), vmbr2 up with 192.168.0.1/24 (ip -4 addr show vmbr2), a route 203.0.113.10/32 dev vmbr2 (ip route show dev vmbr2); autok8s cannot see the host's network`,
    );
    expect(plan.changes).toEqual([]);
  });
});
