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
    expect(planBootstrap(spec, bootstrapped)).toEqual({ changes: [], conflicts: [], unknown: [] });
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
});
