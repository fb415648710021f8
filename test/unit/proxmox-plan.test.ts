// The Proxmox VM plan, table-style: the desired config of each role, how an actual config
// differs from it, and whose VM sits at the spec's VMID.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec, VmRole } from '../../core/spec/schema';
import { clusterVmRole, desiredVmConfig, diffVmConfig, findOwnedVm, type VmListEntry } from '../../activities/proxmox/vm-plan';
import { ROOT } from '../helpers/paths';

const spec: ClusterSpec = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));
const srvA = spec.servers[0];
const withTemplate: ClusterSpec = { ...spec, servers: [{ ...srvA, proxmox: { ...srvA.proxmox, lbTemplateVmid: 9000 } }, ...spec.servers.slice(1)] };

describe('desiredVmConfig', () => {
  const cases: { name: string; spec: ClusterSpec; role: VmRole; expected: Record<string, unknown>; params: Record<string, string>; absent?: string[] }[] = [
    {
      name: 'a control plane boots the Talos ISO with its static vRack address through cloud-init',
      spec,
      role: 'controlPlane',
      expected: { vmid: 102, name: 'prod-gra-srv-a-cp', node: 'pve-a', ip: '10.10.0.21', tags: ['autok8s', 'cluster-prod-gra', 'role-cp'], cloneFrom: undefined },
      params: {
        vmid: '102',
        name: 'prod-gra-srv-a-cp',
        tags: 'autok8s;cluster-prod-gra;role-cp',
        memory: '8192',
        cores: '4',
        net0: 'virtio,bridge=vmbr1',
        scsi0: 'local-lvm:64',
        ide0: 'local-lvm:cloudinit',
        ipconfig0: 'ip=10.10.0.21/24,gw=10.10.0.1',
        ide2: 'local:iso/talos-nocloud-amd64.iso,media=cdrom',
        boot: 'order=scsi0;ide2',
        agent: '1',
        onboot: '1',
      },
    },
    {
      name: 'a worker gets its own size, name and role tag',
      spec,
      role: 'worker',
      expected: { vmid: 103, name: 'prod-gra-srv-a-worker', ip: '10.10.0.31' },
      params: { memory: '32768', cores: '8', scsi0: 'local-lvm:200', tags: 'autok8s;cluster-prod-gra;role-worker', ipconfig0: 'ip=10.10.0.31/24,gw=10.10.0.1' },
    },
    {
      name: 'an LB without a template boots from its disk only (no Talos ISO)',
      spec,
      role: 'lb',
      expected: { vmid: 101, name: 'prod-gra-srv-a-lb', cloneFrom: undefined },
      params: { boot: 'order=scsi0', tags: 'autok8s;cluster-prod-gra;role-lb' },
      absent: ['ide2'],
    },
    { name: 'an LB with lbTemplateVmid is cloned from the template', spec: withTemplate, role: 'lb', expected: { vmid: 101, cloneFrom: 9000 }, params: { name: 'prod-gra-srv-a-lb' } },
  ];
  it.each(cases)('$name', ({ spec: s, role, expected, params, absent }) => {
    const desired = desiredVmConfig(s, s.servers[0], role);
    expect(desired).toMatchObject(expected);
    expect(desired.params).toMatchObject(params);
    expect(desired.params.description).toContain(`autok8s:prod-gra/srv-a/${{ lb: 'lb', controlPlane: 'cp', worker: 'worker' }[role]}`);
    for (const key of absent ?? []) expect(desired.params).not.toHaveProperty(key);
  });

  it('refuses a role the server does not have', () => {
    const noCp = { ...srvA, vms: { lb: srvA.vms.lb, worker: srvA.vms.worker } };
    expect(() => desiredVmConfig(spec, noCp, 'controlPlane')).toThrow(/srv-a has no vms.controlPlane/);
  });
});

describe('diffVmConfig', () => {
  const desired = desiredVmConfig(spec, srvA, 'controlPlane');
  // What Proxmox stores for a VM created from exactly these parameters.
  const stored: Record<string, string> = {
    ...Object.fromEntries(Object.entries(desired.params).filter(([k]) => k !== 'vmid')),
    net0: 'virtio=BC:24:11:AA:BB:CC,bridge=vmbr1',
    scsi0: 'local-lvm:vm-102-disk-0,size=64G',
    ide0: 'local-lvm:vm-102-cloudinit,media=cdrom',
    smbios1: 'uuid=5f2c0e1a-0000-4000-8000-000000000000',
    digest: 'abc',
  };
  const cases: { name: string; actual: Record<string, string>; set: Record<string, string>; drift?: RegExp[] }[] = [
    { name: 'a freshly created VM matches (MAC, allocated volumes and extra keys are not differences)', actual: stored, set: {} },
    { name: 'tags in another order are the same tags', actual: { ...stored, tags: 'role-cp;autok8s;cluster-prod-gra' }, set: {} },
    { name: 'agent written as enabled=1 is the same agent', actual: { ...stored, agent: 'enabled=1' }, set: {} },
    { name: 'changed memory and cores are set back', actual: { ...stored, memory: '4096', cores: '2' }, set: { memory: '8192', cores: '4' } },
    { name: 'a missing role tag is put back', actual: { ...stored, tags: 'autok8s;cluster-prod-gra' }, set: { tags: 'autok8s;cluster-prod-gra;role-cp' } },
    { name: 'a NIC moved to another bridge comes back with its MAC kept', actual: { ...stored, net0: 'virtio=BC:24:11:AA:BB:CC,bridge=vmbr0' }, set: { net0: 'virtio=BC:24:11:AA:BB:CC,bridge=vmbr1' } },
    { name: 'a changed static address is set back', actual: { ...stored, ipconfig0: 'ip=10.10.0.99/24,gw=10.10.0.1' }, set: { ipconfig0: 'ip=10.10.0.21/24,gw=10.10.0.1' } },
    { name: 'onboot turned off is turned on again', actual: { ...stored, onboot: '0' }, set: { onboot: '1' } },
    { name: 'a missing system disk is added', actual: Object.fromEntries(Object.entries(stored).filter(([k]) => k !== 'scsi0')), set: { scsi0: 'local-lvm:64' } },
    { name: 'a smaller disk is reported, never resized', actual: { ...stored, scsi0: 'local-lvm:vm-102-disk-0,size=32G' }, set: {}, drift: [/32 GiB, the spec says 64 GiB; grow it with qm disk resize 102 scsi0 64G/] },
    { name: 'a bigger disk is reported: disks cannot shrink', actual: { ...stored, scsi0: 'local-lvm:vm-102-disk-0,size=128G' }, set: {}, drift: [/cannot shrink/] },
    { name: 'a disk on another storage is reported, never moved', actual: { ...stored, scsi0: 'ceph:vm-102-disk-0,size=64G' }, set: {}, drift: [/storage ceph/] },
  ];
  it.each(cases)('$name', ({ actual, set, drift }) => {
    const diff = diffVmConfig(actual, desired);
    expect(diff.set).toEqual(set);
    expect(diff.drift.map((d) => d.why)).toEqual((drift ?? []).map((re) => expect.stringMatching(re)));
  });
});

describe('findOwnedVm', () => {
  const ours: VmListEntry = { vmid: 102, name: 'prod-gra-srv-a-cp', status: 'running', tags: 'autok8s;cluster-prod-gra;role-cp' };
  const cases: { name: string; list: VmListEntry[]; kind: string; why?: RegExp }[] = [
    { name: 'nothing at the VMID: missing', list: [{ vmid: 101, name: 'prod-gra-srv-a-lb', tags: 'autok8s;cluster-prod-gra;role-lb' }], kind: 'missing' },
    { name: 'our tags at the VMID: ours', list: [ours], kind: 'ours' },
    { name: 'our marker in the description (a clone not yet tagged): ours', list: [{ vmid: 102, name: 'prod-gra-srv-a-cp', description: 'managed by autok8s:prod-gra/srv-a/cp; changes made here are reconciled away' }], kind: 'ours' },
    { name: 'a create in flight holds the VMID: busy', list: [{ vmid: 102, name: 'VM 102', lock: 'create' }], kind: 'busy' },
    {
      name: 'somebody else’s VM at the VMID: conflict, never touched',
      list: [{ vmid: 102, name: 'customer-db', tags: 'prod' }],
      kind: 'conflict',
      why: /VM 102 on node pve-a is "customer-db" with tags prod, which autok8s did not create.*servers\[0\]\.vms\.controlPlane\.vmid/,
    },
    { name: 'a VM of the same name without our tags: conflict', list: [{ vmid: 102, name: 'prod-gra-srv-a-cp' }], kind: 'conflict', why: /without autok8s tags/ },
    { name: 'another cluster’s control plane at the VMID: conflict', list: [{ vmid: 102, name: 'staging-srv-a-cp', tags: 'autok8s;cluster-staging;role-cp' }], kind: 'conflict' },
    { name: 'another role of this cluster at the VMID: conflict', list: [{ vmid: 102, name: 'prod-gra-srv-a-worker', tags: 'autok8s;cluster-prod-gra;role-worker' }], kind: 'conflict' },
    { name: 'ours under another VMID: conflict, no second VM', list: [{ ...ours, vmid: 150 }], kind: 'conflict', why: /already exists on node pve-a as VM 150, but the spec says VMID 102/ },
  ];
  it.each(cases)('$name', ({ list, kind, why }) => {
    const decision = findOwnedVm(list, spec, srvA, 'controlPlane');
    expect(decision.kind).toBe(kind);
    if (why) expect(decision.kind === 'conflict' && decision.why).toMatch(why);
  });
});

describe('clusterVmRole', () => {
  it.each([
    { tags: 'autok8s;cluster-prod-gra;role-cp', role: 'controlPlane' },
    { tags: 'autok8s;cluster-prod-gra;role-lb', role: 'lb' },
    { tags: 'cluster-prod-gra;role-worker', role: undefined },
    { tags: 'autok8s;cluster-staging;role-worker', role: undefined },
  ])('$tags → $role', ({ tags, role }) => {
    expect(clusterVmRole({ vmid: 1, tags }, spec)).toBe(role);
  });
});
