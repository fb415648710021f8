// keepalived for the sandbox's LB hosts: the VRRP simulation (sandbox/vrrp-sim.ts) set up
// from the spec as core/render/keepalived.ts renders it (priorities in spec order, advert_int),
// tracking each host's HAProxy stand-in, and giving the MASTER's host the addresses its
// `virtual_ipaddress` block lists, which the host's `ip addr` then shows.
import { KEEPALIVED_DEFAULTS } from '../core/render/keepalived';
import { prefixLength, vrrpPriority } from '../core/render/lb-topology';
import { publicPathOf } from '../core/public-path/modes';
import type { ClusterSpec } from '../core/spec/schema';
import type { AuditLog } from './audit';
import type { InProcessLbHost } from './lbhost/host';
import { VrrpSimulation } from './vrrp-sim';

export interface KeepalivedHostsOptions {
  spec: ClusterSpec;
  lbHosts: Map<string, InProcessLbHost>;
  audit?: AuditLog;
  advertIntMs?: number;
  running?: boolean;
}

/** The addresses the MASTER holds: the API VIP on the vRack NIC, the failover IPs as /32 on the public NIC (vrack-block: the vRack NIC). */
export function vrrpAddresses(spec: ClusterSpec): { dev: string; cidr: string }[] {
  const path = publicPathOf(spec);
  const publicDev = path.mode === 'vrack-block' ? spec.network.interface : path.interface;
  return [{ dev: spec.network.interface, cidr: `${spec.network.apiVip}/${prefixLength(spec)}` }, ...spec.failoverIps.map((ip) => ({ dev: publicDev, cidr: `${ip}/32` }))];
}

export function startKeepalived(o: KeepalivedHostsOptions): VrrpSimulation {
  const lbs = o.spec.servers.filter((s) => s.vms.lb);
  const held = vrrpAddresses(o.spec);
  return new VrrpSimulation({
    members: lbs.map((s) => ({ server: s.name, priority: vrrpPriority(o.spec.servers.indexOf(s), o.spec.servers.length) })),
    advertIntMs: o.advertIntMs ?? KEEPALIVED_DEFAULTS.advertIntSeconds * 1000,
    haproxyAnswers: async (server) => o.lbHosts.get(server)?.healthy ?? false,
    onHold: (server, holds) => o.lbHosts.get(server)?.holdAddresses(holds ? held : []),
    audit: o.audit,
    running: o.running,
  });
}
