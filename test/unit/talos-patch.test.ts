// Per-node machine-config patches rendered from the fixture spec: what a control plane and
// a worker get, and that rendering is pure.
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadSpecFile } from '../../core/spec/load';
import { clusterEndpoint, talosNodes } from '../../core/talos/nodes';
import { renderNodePatch } from '../../core/talos/patch';
import { ROOT } from '../helpers/paths';

const spec = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));

describe('renderNodePatch', () => {
  it('gives a control plane its static address, hostname, install disk, VIP SAN and etcd subnet', () => {
    const text = renderNodePatch(spec, 'srv-b', 'controlPlane');
    expect(parse(text)).toEqual({
      machine: {
        network: {
          hostname: 'srv-b-cp',
          interfaces: [{ interface: 'eth0', dhcp: false, addresses: ['10.10.0.22/24'], routes: [{ network: '0.0.0.0/0', gateway: '10.10.0.1' }] }],
        },
        install: { disk: '/dev/sda', image: 'ghcr.io/siderolabs/installer:v1.8.3' },
        certSANs: ['10.10.0.5'],
      },
      cluster: {
        controlPlane: { endpoint: 'https://10.10.0.5:6443' },
        etcd: { advertisedSubnets: ['10.10.0.0/24'] },
      },
    });
    expect(text).toMatch(/^# autok8s: machine-config patch for srv-b-cp \(cluster prod-gra, Talos v1\.8\.3\)\n/);
  });

  it('gives a worker the same network and install settings, without control-plane fields', () => {
    const patch = parse(renderNodePatch(spec, 'srv-c', 'worker'));
    expect(patch).toEqual({
      machine: {
        network: {
          hostname: 'srv-c-worker',
          interfaces: [{ interface: 'eth0', dhcp: false, addresses: ['10.10.0.33/24'], routes: [{ network: '0.0.0.0/0', gateway: '10.10.0.1' }] }],
        },
        install: { disk: '/dev/sda', image: 'ghcr.io/siderolabs/installer:v1.8.3' },
      },
      cluster: { controlPlane: { endpoint: 'https://10.10.0.5:6443' } },
    });
  });

  it('follows the spec: interface name, prefix length, gateway, disk and version', () => {
    const changed = {
      ...spec,
      network: { ...spec.network, cidr: '10.20.0.0/16', gateway: '10.20.0.254', interface: 'ens18' },
      talos: { ...spec.talos, installDisk: '/dev/vda', version: 'v1.11.2' },
    };
    const patch = parse(renderNodePatch(changed, 'srv-a', 'controlPlane'));
    expect(patch.machine.network.interfaces[0]).toEqual({ interface: 'ens18', dhcp: false, addresses: ['10.10.0.21/16'], routes: [{ network: '0.0.0.0/0', gateway: '10.20.0.254' }] });
    expect(patch.machine.install).toEqual({ disk: '/dev/vda', image: 'ghcr.io/siderolabs/installer:v1.11.2' });
    expect(patch.cluster.etcd).toEqual({ advertisedSubnets: ['10.20.0.0/16'] });
  });

  it('is pure: the same spec renders the same text', () => {
    expect(renderNodePatch(spec, 'srv-a', 'worker')).toBe(renderNodePatch(spec, 'srv-a', 'worker'));
  });

  it('refuses a server or role the spec does not have', () => {
    expect(() => renderNodePatch(spec, 'srv-z', 'worker')).toThrow(/srv-z is not in the spec.*srv-a, srv-b, srv-c/);
    const noCp = { ...spec, servers: spec.servers.map((s) => (s.name === 'srv-c' ? { ...s, vms: { lb: s.vms.lb, worker: s.vms.worker } } : s)) };
    expect(() => renderNodePatch(noCp, 'srv-c', 'controlPlane')).toThrow(/srv-c has no vms.controlPlane/);
  });
});

describe('talosNodes', () => {
  it('lists control planes first, then workers, with their hostnames', () => {
    expect(talosNodes(spec).map((n) => `${n.hostname}@${n.ip}:${n.machineType}`)).toEqual([
      'srv-a-cp@10.10.0.21:controlplane',
      'srv-b-cp@10.10.0.22:controlplane',
      'srv-c-cp@10.10.0.23:controlplane',
      'srv-a-worker@10.10.0.31:worker',
      'srv-b-worker@10.10.0.32:worker',
      'srv-c-worker@10.10.0.33:worker',
    ]);
    expect(clusterEndpoint(spec)).toBe('https://10.10.0.5:6443');
  });
});
