// The LB VM's public NIC (net1) in the VM plan: when the desired config has one, and how an
// actual net1 is compared (model, MAC and bridge are bootstrap's; the link is keepalived's).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { desiredVmConfig, diffVmConfig } from '../../activities/proxmox/vm-plan';
import { publicPathOf, type PublicPathSection } from '../../core/public-path/modes';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { ROOT } from '../helpers/paths';

const spec: ClusterSpec = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));
const srvA = spec.servers[0];
const withPath = (publicPath: Partial<PublicPathSection>): ClusterSpec => ({ ...spec, publicPath: { ...publicPathOf(spec), ...publicPath } });
const VMAC = '02:00:00:ab:cd:ef';

describe('desiredVmConfig: the LB VM public NIC', () => {
  it.each([
    ['vmac mode with the virtual MAC: the MAC on the public bridge, plug pulled', spec, { publicMac: VMAC }, 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=1'],
    ['vmac mode asked to start the link up', spec, { publicMac: VMAC, publicLinkUp: true }, 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=0'],
    ['vmac mode before the virtual MAC is known: no net1 yet', spec, {}, undefined],
    ['routed mode: Proxmox chooses the MAC', withPath({ mode: 'routed' }), {}, 'virtio,bridge=vmbr0,link_down=1'],
    ['vrack-block mode: never a net1', withPath({ mode: 'vrack-block', block: '203.0.113.8/29' }), { publicMac: VMAC }, undefined],
  ])('%s', (_, s, options, net1) => {
    expect(desiredVmConfig(s, s.servers[0], 'lb', options).params.net1).toBe(net1);
  });

  it('gives Talos VMs no public NIC, whatever is asked', () => {
    expect(desiredVmConfig(spec, srvA, 'controlPlane', { publicMac: VMAC }).params.net1).toBeUndefined();
  });

  it('refuses a malformed virtual MAC, naming the server', () => {
    expect(() => desiredVmConfig(spec, spec.servers[1], 'lb', { publicMac: '01:00:5e:00:00:01' })).toThrow(/servers\[1\]\.ovhService virtual MAC/);
  });
});

describe('diffVmConfig: net1', () => {
  const desired = desiredVmConfig(spec, srvA, 'lb', { publicMac: VMAC });
  /** The actual config: the desired one as Proxmox stores it, with net1 as given. */
  const actualWith = (net1: string | undefined) => {
    const { net1: _omit, vmid: _vmid, ...rest } = desired.params;
    return { ...rest, net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr1', ...(net1 !== undefined ? { net1 } : {}) };
  };
  const diffOf = (net1: string | undefined) => diffVmConfig(actualWith(net1), desired).set;

  it.each([
    ['adds a missing public NIC with the desired link', undefined, { net1: 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=1' }],
    ['leaves a NIC alone whose link keepalived brought up', 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=0', {}],
    ['leaves a NIC alone whose link was never written (up)', 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0', {}],
    ['ignores the case of the MAC', 'virtio=02:00:00:ab:cd:ef,bridge=vmbr0,link_down=1', {}],
    ['replaces an old MAC with the virtual MAC, keeping the link up', 'virtio=BC:24:11:12:34:56,bridge=vmbr0,link_down=0', { net1: 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=0' }],
    ['moves the NIC to the public bridge, keeping the link down', 'virtio=02:00:00:AB:CD:EF,bridge=vmbr1,link_down=1', { net1: 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=1' }],
    ['changes the model', 'e1000=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=1', { net1: 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=1' }],
  ])('%s', (_, net1, set) => {
    expect(diffOf(net1)).toEqual(set);
  });

  it('in routed mode keeps whatever MAC Proxmox chose', () => {
    const routed = withPath({ mode: 'routed' });
    const want = desiredVmConfig(routed, routed.servers[0], 'lb');
    const actual: Record<string, string> = { ...want.params, net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr1', net1: 'virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,link_down=0' };
    delete actual.vmid;
    expect(diffVmConfig(actual, want).set).toEqual({});
  });
});
