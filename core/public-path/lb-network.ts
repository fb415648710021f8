// The public network settings of one LB VM, derived from the spec and what OVH says about its
// server. keepalived holds all of it while MASTER (core/render/keepalived.ts): the addresses,
// the routes and the policy rules come and go with the VRRP state, so a BACKUP holds nothing
// public. Pure.
//
// The LB VM keeps its vRack default route (ipconfig0 gw=network.gateway) in the main table. The
// public default route lives in a table of its own, chosen by a rule per failover IP ("from IP"),
// so replies to the public side leave through the public path and everything else stays on the
// vRack. A second default route in the main table would be refused (it exists) or win for all
// traffic.
import { parseCidr } from '../net/ipv4';
import { GRAMMAR, requireGrammar, UnsafeValueError } from '../spec/grammar';
import type { ClusterSpec } from '../spec/schema';
import { numberToIpv4, publicPathOf, ROUTED_HOST_ADDRESS, ROUTED_PREFIX, ROUTED_VM_ADDRESS, vrackBlockGateway, type PublicPathMode } from './modes';
import type { ServerPublicFacts } from './server-facts';

/** The routing table of the public default route inside the LB VM (1..252 are free for local use). */
export const PUBLIC_ROUTE_TABLE = 100;
/** The rules' preference: after the local table (0), before main (32766); keepalived warns when a rule has none. */
export const PUBLIC_RULE_PREFERENCE = 1000;

export interface LbPublicRoute {
  /** Destination CIDR (0.0.0.0/0 for the default route). */
  to: string;
  via?: string;
  dev: string;
  /** The gateway is not inside any prefix of the interface: OVH's /32 setup and the routed bridge's table. */
  onlink: boolean;
  src?: string;
  table: number;
}

export interface LbPublicNetwork {
  mode: PublicPathMode;
  /** The interface inside the VM that carries the public addresses (the vRack one in vrack-block mode). */
  interface: string;
  /** What keepalived adds while MASTER, as address/prefix on `interface`. */
  addresses: string[];
  routes: LbPublicRoute[];
  /** Source addresses whose traffic looks up PUBLIC_ROUTE_TABLE. */
  ruleSources: string[];
  /** Whether the LB VM's public NIC (Proxmox net1) is up only on the MASTER: vmac and routed. */
  togglesLink: boolean;
  /** Whether a takeover asks OVH to move the failover IPs: not for a block routed into the vRack. */
  movesIp: boolean;
}

/**
 * The public settings of the LB on `spec.servers[index]`, given that server's facts (needed for
 * vmac: its gateway; the others ignore them). The gateway comes from OVH's API, never derived
 * from the server's own address (OVH dropped the ".254 of the main IP" rule in October 2024).
 */
export function lbPublicNetwork(spec: ClusterSpec, index: number, facts: Pick<ServerPublicFacts, 'gateway'> | undefined): LbPublicNetwork {
  const section = publicPathOf(spec);
  const ips = spec.failoverIps.map((ip, i) => requireGrammar(GRAMMAR.ipv4, ip, `failoverIps[${i}]`));
  const vrackIf = requireGrammar(GRAMMAR.interfaceName, spec.network.interface, 'network.interface');
  const vrackCidr = parseCidr(spec.network.cidr);
  if (!vrackCidr) throw new UnsafeValueError('network.cidr', spec.network.cidr, 'an IPv4 CIDR such as 10.10.0.0/24');
  const table = PUBLIC_ROUTE_TABLE;
  // Replies from a failover IP to a vRack client stay on the vRack.
  const vrackRoute: LbPublicRoute = { to: `${numberToIpv4(vrackCidr.network)}/${vrackCidr.prefix}`, dev: vrackIf, onlink: false, table };
  const hostAddresses = ips.map((ip) => `${ip}/32`);

  switch (section.mode) {
    case 'vmac': {
      const pubIf = requireGrammar(GRAMMAR.interfaceName, section.interface, 'publicPath.interface');
      const gateway = requireGrammar(GRAMMAR.ipv4, facts?.gateway ?? undefined, `servers[${index}].ovhService (specifications/network routing.ipv4.gateway)`);
      return {
        mode: 'vmac',
        interface: pubIf,
        addresses: hostAddresses,
        routes: [{ to: '0.0.0.0/0', via: gateway, dev: pubIf, onlink: true, table }, vrackRoute],
        ruleSources: ips,
        togglesLink: true,
        movesIp: true,
      };
    }
    case 'routed': {
      const pubIf = requireGrammar(GRAMMAR.interfaceName, section.interface, 'publicPath.interface');
      return {
        mode: 'routed',
        interface: pubIf,
        // The same private address on every LB: each host's routed bridge is a segment of its own,
        // and every LB's keepalived must list the same addresses.
        addresses: [`${ROUTED_VM_ADDRESS}/${ROUTED_PREFIX}`, ...hostAddresses],
        // The failover IP as source, as OVH's routed guide configures it.
        routes: [{ to: '0.0.0.0/0', via: ROUTED_HOST_ADDRESS, dev: pubIf, onlink: true, src: ips[0], table }, vrackRoute],
        ruleSources: ips,
        togglesLink: true,
        movesIp: true,
      };
    }
    case 'vrack-block': {
      const block = section.block === undefined ? undefined : parseCidr(section.block);
      if (!block) throw new UnsafeValueError('publicPath.block', section.block, 'an IPv4 block such as 203.0.113.8/29 in vrack-block mode');
      return {
        mode: 'vrack-block',
        interface: vrackIf,
        addresses: hostAddresses,
        routes: [{ to: '0.0.0.0/0', via: vrackBlockGateway(block), dev: vrackIf, onlink: true, table }, vrackRoute],
        ruleSources: ips,
        togglesLink: false,
        movesIp: false,
      };
    }
    default:
      throw new UnsafeValueError('publicPath.mode', (section as { mode: unknown }).mode, 'one of vmac, routed, vrack-block');
  }
}
