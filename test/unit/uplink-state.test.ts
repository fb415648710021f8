// The namespace tier's public side, decided from the simulators' state (sandbox/netns/uplink-state.ts):
// where OVH's network sends a failover IP, what the LB's public NIC carries, and the `ip` commands
// between two states.
import { describe, expect, it } from 'vitest';
import { publicNicState, uplinkCommands, uplinkRoute, type UplinkNames, type UplinkState } from '../../sandbox/netns/uplink-state';

const IP = '203.0.113.10';
const MAC = '02:00:00:9C:00:01';
const SERVERS = { 'ns1.ip-198-51-100.eu': 'srv-a', 'ns2.ip-198-51-100.eu': 'srv-b' };
const A = 'ns1.ip-198-51-100.eu';
const B = 'ns2.ip-198-51-100.eu';

describe('uplinkRoute: where OVH carries a failover IP in vmac mode', () => {
  it.each([
    ['to the routed server, as frames to its virtual MAC', { routedTo: A, mac: { mac: MAC, server: A, suspended: false } }, { server: 'srv-a', mac: MAC.toLowerCase() }],
    ['nowhere while the IP is parked', { routedTo: null, mac: { mac: MAC, server: A, suspended: false } }, { unreachable: `OVH routes ${IP} nowhere` }],
    ['nowhere when routed to a server outside the cluster', { routedTo: 'ns9.example', mac: { mac: MAC, server: 'ns9.example', suspended: false } }, { unreachable: `OVH routes ${IP} to ns9.example, not a server of the cluster` }],
    ['nowhere without a virtual MAC', { routedTo: A }, { unreachable: `${IP} has no virtual MAC at OVH` }],
    ['nowhere while a move holds the MAC suspended', { routedTo: A, mac: { mac: MAC, server: A, suspended: true } }, { unreachable: `the virtual MAC ${MAC} of ${IP} is suspended while its move is in progress` }],
    ['nowhere when the MAC is listed on another server than the routing', { routedTo: B, mac: { mac: MAC, server: A, suspended: false } }, { unreachable: `the virtual MAC ${MAC} of ${IP} is on ${A}, not on ${B} where the IP is routed` }],
  ])('sends it %s', (_name, facts, expected) => {
    expect(uplinkRoute({ ip: IP, ...facts }, SERVERS)).toEqual(expected);
  });
});

describe("publicNicState: the LB's public NIC follows Proxmox's net1", () => {
  it.each([
    ['carries net1\'s MAC with the link up when net1 is up on the public bridge', { up: true, mac: MAC, bridge: 'vmbr0' }, { mac: MAC.toLowerCase(), up: true }],
    ['is down while net1 has link_down=1 (or the VM is stopped)', { up: false, mac: MAC, bridge: 'vmbr0' }, { mac: MAC.toLowerCase(), up: false }],
    ['is down when net1 sits on another bridge than the public one', { up: true, mac: MAC, bridge: 'vmbr1' }, { mac: MAC.toLowerCase(), up: false }],
    ['is down, its MAC untouched, when the VM has no net1', undefined, { up: false }],
  ])('%s', (_name, nic, expected) => {
    expect(publicNicState({ server: 'srv-a', nic }, 'vmbr0')).toEqual(expected);
  });
});

describe('uplinkCommands: only what differs is applied', () => {
  const names: UplinkNames = {
    uplinkNs: 'up',
    uplinkIf: (s) => (s === 'srv-a' ? 'srv0' : 'srv1'),
    serverNs: (s) => `pub-${s}`,
    tapIf: () => 'tap',
    lbNs: (s) => `lb-${s}`,
    lbIf: 'eth1',
    clientIp: '192.0.2.10',
  };
  const mac = MAC.toLowerCase();
  const onA: UplinkState = { routes: { [IP]: { server: 'srv-a', mac } }, nics: { 'srv-a': { mac, up: true }, 'srv-b': { mac, up: false } } };

  it('sets up every NIC and route the first time', () => {
    expect(uplinkCommands(undefined, onA, names)).toEqual([
      ['-n', 'lb-srv-a', 'link', 'set', 'eth1', 'address', mac],
      ['-n', 'pub-srv-a', 'link', 'set', 'tap', 'up'],
      ['-n', 'lb-srv-b', 'link', 'set', 'eth1', 'address', mac],
      ['-n', 'pub-srv-b', 'link', 'set', 'tap', 'down'],
      ['-n', 'up', 'neigh', 'replace', IP, 'lladdr', mac, 'dev', 'srv0', 'nud', 'permanent'],
      ['-n', 'up', 'route', 'replace', `${IP}/32`, 'dev', 'srv0', 'src', '192.0.2.10'],
    ]);
  });

  it('runs nothing when nothing changed', () => {
    expect(uplinkCommands(onA, structuredClone(onA), names)).toEqual([]);
  });

  it('makes the IP unreachable while its MAC is suspended, dropping the old neighbour entry', () => {
    const moving: UplinkState = { ...onA, routes: { [IP]: { unreachable: 'suspended' } } };
    expect(uplinkCommands(onA, moving, names)).toEqual([
      ['-n', 'up', 'neigh', 'del', IP, 'dev', 'srv0'],
      ['-n', 'up', 'route', 'replace', 'unreachable', `${IP}/32`],
    ]);
  });

  it('flips the links and reroutes onto the new server after a move', () => {
    const onB: UplinkState = { routes: { [IP]: { server: 'srv-b', mac } }, nics: { 'srv-a': { mac, up: false }, 'srv-b': { mac, up: true } } };
    expect(uplinkCommands(onA, onB, names)).toEqual([
      ['-n', 'pub-srv-a', 'link', 'set', 'tap', 'down'],
      ['-n', 'pub-srv-b', 'link', 'set', 'tap', 'up'],
      ['-n', 'up', 'neigh', 'del', IP, 'dev', 'srv0'],
      ['-n', 'up', 'neigh', 'replace', IP, 'lladdr', mac, 'dev', 'srv1', 'nud', 'permanent'],
      ['-n', 'up', 'route', 'replace', `${IP}/32`, 'dev', 'srv1', 'src', '192.0.2.10'],
    ]);
  });
});
