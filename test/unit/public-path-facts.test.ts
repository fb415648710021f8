// Plan-time checks of the public path against each server's OVH facts, and each LB VM's public
// network settings derived from them.
import { describe, expect, it } from 'vitest';
import { lbPublicNetwork, PUBLIC_ROUTE_TABLE } from '../../core/public-path/lb-network';
import { moveRegionGroup, serverFactIssues, type ServerPublicFacts } from '../../core/public-path/server-facts';
import { UnsafeValueError } from '../../core/spec/grammar';
import { publicPathOf, type PublicPathMode } from '../../core/public-path/modes';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
const withMode = (mode: PublicPathMode, extra: Partial<ClusterSpec> = {}): ClusterSpec => ({
  ...spec,
  ...extra,
  publicPath: { ...publicPathOf(spec), mode, ...(mode === 'vrack-block' ? { block: '203.0.113.8/29' } : {}) },
});

const fact = (over: Partial<ServerPublicFacts> = {}): ServerPublicFacts => ({ vmacSupported: true, gateway: '198.51.100.254', datacenter: 'gra3', region: 'europe', ...over });
const three = (...over: Partial<ServerPublicFacts>[]) => [0, 1, 2].map((i) => fact(over[i]));

describe('moveRegionGroup', () => {
  it.each([
    ['gra1', 'gra-rbx-sbg'],
    ['rbx7', 'gra-rbx-sbg'],
    ['sbg5', 'gra-rbx-sbg'],
    ['gra04', 'gra-rbx-sbg'],
    ['rbx-hz', 'gra-rbx-sbg'],
    ['bhs1', 'bhs'],
    ['waw1', 'waw'],
    ['lim1', 'lim'],
    ['eri1', 'eri'],
  ])('puts %s in group %s', (datacenter, group) => {
    expect(moveRegionGroup(datacenter)).toBe(group);
  });
});

describe('serverFactIssues', () => {
  it('finds nothing wrong with three vmac-capable servers in Gravelines, Roubaix and Strasbourg', () => {
    expect(serverFactIssues(spec, three({ datacenter: 'gra1' }, { datacenter: 'rbx7' }, { datacenter: 'sbg5' }))).toEqual([]);
  });

  it('refuses vmac mode on a server without virtual-MAC support, naming its ovhService and the way out', () => {
    const issues = serverFactIssues(spec, three({}, { vmacSupported: false }));
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toEqual(['servers', 1, 'ovhService']);
    expect(issues[0].message).toMatch(/ns1002.ip-1-2-3.eu does not support virtual MACs/);
    expect(issues[0].message).toMatch(/choose publicPath.mode routed or vrack-block, or another server/);
  });

  it('accepts a server without virtual MACs in routed mode', () => {
    expect(serverFactIssues(withMode('routed'), three({ vmacSupported: false }))).toEqual([]);
  });

  it('refuses servers in two move region groups, naming each with its datacenter', () => {
    const issues = serverFactIssues(spec, three({ datacenter: 'gra1' }, { datacenter: 'gra2' }, { datacenter: 'bhs1', region: 'canada' }));
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toEqual(['servers']);
    expect(issues[0].message).toMatch(/2 move region groups/);
    expect(issues[0].message).toMatch(/servers\[0\] srv-a \(gra1, europe\), servers\[1\] srv-b \(gra2, europe\) \| servers\[2\] srv-c \(bhs1, canada\)/);
    expect(issues[0].message).toMatch(/GRA, RBX and SBG count as one/);
  });

  it('lets a vRack block span regions: its addresses never move between servers', () => {
    expect(serverFactIssues(withMode('vrack-block'), three({ datacenter: 'gra1', gateway: null }, { datacenter: 'waw1', vmacSupported: false }))).toEqual([]);
  });

  it.each(['vmac', 'routed'] as const)('refuses %s mode on a server OVH gives no IPv4 gateway', (mode) => {
    const issues = serverFactIssues(withMode(mode), three({}, {}, { gateway: null }));
    expect(issues.map((i) => i.path)).toEqual([['servers', 2, 'ovhService']]);
    expect(issues[0].message).toMatch(/no IPv4 gateway in specifications\/network \(routing.ipv4.gateway\)/);
  });

  it('reports every problem at once', () => {
    const issues = serverFactIssues(spec, three({ vmacSupported: false }, { vmacSupported: false, gateway: null }, { datacenter: 'waw1' }));
    expect(issues.map((i) => i.path)).toEqual([['servers', 0, 'ovhService'], ['servers', 1, 'ovhService'], ['servers', 1, 'ovhService'], ['servers']]);
  });

  it('refuses to judge with facts missing for a server', () => {
    expect(() => serverFactIssues(spec, [fact(), fact()])).toThrow(/2 fact records for 3 servers/);
  });
});

describe('lbPublicNetwork', () => {
  it('gives vmac the failover IP as a /32 on the public NIC with an on-link default route via the server gateway from OVH', () => {
    const net = lbPublicNetwork(spec, 1, { gateway: '198.51.100.254' });
    expect(net).toEqual({
      mode: 'vmac',
      interface: 'eth1',
      addresses: ['203.0.113.10/32'],
      routes: [
        { to: '0.0.0.0/0', via: '198.51.100.254', dev: 'eth1', onlink: true, table: PUBLIC_ROUTE_TABLE },
        { to: '10.10.0.0/24', dev: 'eth0', onlink: false, table: PUBLIC_ROUTE_TABLE },
      ],
      ruleSources: ['203.0.113.10'],
      togglesLink: true,
      movesIp: true,
    });
  });

  it("never derives a vmac gateway from the server's address: without OVH's gateway it refuses, naming the server", () => {
    expect(() => lbPublicNetwork(spec, 2, { gateway: null })).toThrow(UnsafeValueError);
    expect(() => lbPublicNetwork(spec, 2, undefined)).toThrow(/servers\[2\].ovhService \(specifications\/network routing.ipv4.gateway\)/);
  });

  it('refuses a gateway from OVH that is not an IPv4 address (it is written into keepalived.conf)', () => {
    expect(() => lbPublicNetwork(spec, 0, { gateway: '198.51.100.1 dev lo' })).toThrow(/routing.ipv4.gateway/);
  });

  it('gives routed 192.168.0.2/24 plus the IP, a default via 192.168.0.1 with the IP as source, the same on every server', () => {
    const nets = [0, 1, 2].map((i) => lbPublicNetwork(withMode('routed', { failoverIps: ['203.0.113.10', '203.0.113.11'] }), i, { gateway: `198.51.100.${i + 1}` }));
    expect(nets[0].addresses).toEqual(['192.168.0.2/24', '203.0.113.10/32', '203.0.113.11/32']);
    expect(nets[0].routes[0]).toEqual({ to: '0.0.0.0/0', via: '192.168.0.1', dev: 'eth1', onlink: true, src: '203.0.113.10', table: PUBLIC_ROUTE_TABLE });
    expect(nets[0].ruleSources).toEqual(['203.0.113.10', '203.0.113.11']);
    expect(nets[1]).toEqual(nets[0]);
    expect(nets[2]).toEqual(nets[0]);
  });

  it("gives vrack-block the block's addresses on the vRack NIC, a default via the block's gateway, no link toggling and no move", () => {
    const net = lbPublicNetwork(withMode('vrack-block', { failoverIps: ['203.0.113.9'] }), 0, undefined);
    expect(net.interface).toBe('eth0');
    expect(net.addresses).toEqual(['203.0.113.9/32']);
    expect(net.routes[0]).toEqual({ to: '0.0.0.0/0', via: '203.0.113.14', dev: 'eth0', onlink: true, table: PUBLIC_ROUTE_TABLE });
    expect(net.togglesLink).toBe(false);
    expect(net.movesIp).toBe(false);
  });

  it('keeps replies to vRack clients on the vRack, with the network address of network.cidr', () => {
    const net = lbPublicNetwork({ ...spec, network: { ...spec.network, cidr: '10.10.0.7/24' } }, 0, { gateway: '198.51.100.254' });
    expect(net.routes[1]).toEqual({ to: '10.10.0.0/24', dev: 'eth0', onlink: false, table: PUBLIC_ROUTE_TABLE });
  });
});
