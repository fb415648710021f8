// How a failover IP reaches the active LB VM, and the spec-only checks of each way (docs/design.md
// "The public path"). Pure and free of Node modules: the schema, the renderers and workflows use it.
//
// - vmac: the IP is bridged to the LB VM's second NIC (on the Proxmox public bridge, vmbr0) that
//   carries the IP's OVH virtual MAC; inside the VM the IP is a /32 with an on-link default route
//   via the server's gateway (GET /dedicated/server/{sn}/specifications/network routing.ipv4.gateway).
// - routed: the host routes the IP into a host-side bridge (192.168.0.1/24 there, a /32 route per
//   failover IP); the VM has 192.168.0.2/24 plus the IP and a default route via 192.168.0.1.
// - vrack-block: an IP block routed into the vRack; its addresses are VRRP addresses on the vRack
//   interface and move by gratuitous ARP alone, with no OVH move call.
import { ipv4ToNumber, isHostInCidr, notPublicBecause, parseCidr, type Ipv4Cidr } from '../net/ipv4';

export const PUBLIC_PATH_MODES = ['vmac', 'routed', 'vrack-block'] as const;
export type PublicPathMode = (typeof PUBLIC_PATH_MODES)[number];

export const PUBLIC_PATH_DEFAULTS = {
  /**
   * vmac is OVH's documented way to give a Proxmox VM an Additional IP on the servers most
   * clusters use (Advance, Rise, Kimsufi ranges with virtual MACs), needs nothing on the host
   * beyond the stock vmbr0, and is checked against each server's `vmac.supported` before
   * anything is created; servers without virtual MACs are told to choose routed.
   */
  mode: 'vmac' as PublicPathMode,
  /** The Proxmox bridge on the server's public NIC, as a stock OVH Proxmox install names it. */
  bridge: 'vmbr0',
  /** The LB VM's second NIC (net1) as Debian names it: eth0 is the vRack (network.interface). */
  interface: 'eth1',
  /**
   * The largest block prefix accepted: a /29 leaves 5 usable addresses once OVH's network,
   * gateway and broadcast are set aside, the smallest block usable on several servers.
   */
  blockMaxPrefix: 29,
} as const;

/** In routed mode every LB VM has this address on its public NIC (each host's routed bridge is its own segment). */
export const ROUTED_VM_ADDRESS = '192.168.0.2';
/** ... and the host has this one on the routed bridge, the VM's default gateway. */
export const ROUTED_HOST_ADDRESS = '192.168.0.1';
export const ROUTED_PREFIX = 24;

/**
 * OVH's gateway of an IP block routed into the vRack: the last usable address (broadcast − 1);
 * the network, gateway and broadcast addresses are not usable by hosts (OVH vRack guide).
 */
export function vrackBlockGateway(block: Ipv4Cidr): string {
  return numberToIpv4(block.network + 2 ** (32 - block.prefix) - 2);
}

function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  const end = (c: Ipv4Cidr) => c.network + 2 ** (32 - c.prefix);
  return a.network < end(b) && b.network < end(a);
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** The block as written, parsed, when it is a well-formed and network-aligned IPv4 CIDR. */
export function parseAlignedBlock(text: string): Ipv4Cidr | undefined {
  const cidr = parseCidr(text);
  if (!cidr) return undefined;
  return ipv4ToNumber(text.split('/')[0]) === cidr.network ? cidr : undefined;
}

export interface PublicPathSection {
  mode: PublicPathMode;
  bridge: string;
  interface: string;
  block?: string;
  /** The public-side probe, `{ip}` standing for the failover IP (core/public-path/probe-url.ts). */
  probeUrl?: string;
}

/** The spec's publicPath with its defaults: the section is optional in the schema. */
export function publicPathOf(spec: { publicPath?: Partial<PublicPathSection> }): PublicPathSection {
  const section = spec.publicPath ?? {};
  return {
    mode: section.mode ?? PUBLIC_PATH_DEFAULTS.mode,
    bridge: section.bridge ?? PUBLIC_PATH_DEFAULTS.bridge,
    interface: section.interface ?? PUBLIC_PATH_DEFAULTS.interface,
    ...(section.block !== undefined ? { block: section.block } : {}),
    ...(section.probeUrl !== undefined ? { probeUrl: section.probeUrl } : {}),
  };
}

type Issue = { path: (string | number)[]; message: string };

/**
 * The publicPath rules the per-field schema cannot say. `wellFormedIp` tells whether a failover
 * IP passed its own grammar (malformed ones already have an issue and are not echoed again).
 */
export function publicPathIssues(
  section: PublicPathSection,
  context: { failoverIps: string[]; vrackInterface: string; vrackBridges: string[]; vrackCidr: string; wellFormedIp: (ip: string) => boolean },
): Issue[] {
  const issues: Issue[] = [];
  const at = (...path: (string | number)[]) => ['publicPath', ...path];
  const vrack = parseCidr(context.vrackCidr);
  const routedNet = parseCidr(`${ROUTED_HOST_ADDRESS}/${ROUTED_PREFIX}`)!;
  if (section.mode === 'routed' && vrack && cidrsOverlap(vrack, routedNet)) {
    issues.push({
      path: at('mode'),
      message: `routed mode puts ${ROUTED_VM_ADDRESS}/${ROUTED_PREFIX} on the LB VM's public NIC (OVH's routed setup), which overlaps network.cidr ${context.vrackCidr}; number the vRack elsewhere, or choose publicPath.mode vmac`,
    });
  }
  if (section.mode === 'vmac' && context.failoverIps.length > 1) {
    // The LB VM has one public NIC with one MAC, and OVH refuses to move an IP whose virtual MAC
    // carries other IPs too (issue 16's facts; docs/contracts.md §A.7).
    issues.push({
      path: ['failoverIps'],
      message: `publicPath.mode vmac carries one failover IP (the LB VM's public NIC has one virtual MAC, and OVH does not move an IP whose MAC carries others); list one, or choose publicPath.mode routed or vrack-block for ${context.failoverIps.length}`,
    });
  }
  if (section.mode !== 'vrack-block') {
    if (section.block !== undefined) {
      issues.push({ path: at('block'), message: `is used only in mode vrack-block; remove it, or set publicPath.mode: vrack-block` });
    }
    if (section.interface === context.vrackInterface) {
      issues.push({
        path: at('interface'),
        message: `${section.interface} is network.interface, the vRack NIC; the public NIC is the LB VM's second one (e.g. eth1)`,
      });
    }
    const i = context.vrackBridges.indexOf(section.bridge);
    if (i >= 0) {
      issues.push({
        path: at('bridge'),
        message: `${section.bridge} is servers[${i}].proxmox.bridge, the vRack bridge; name the bridge on the server's public NIC (vmbr0 on a stock OVH Proxmox)`,
      });
    }
    return issues;
  }
  if (section.block === undefined) {
    issues.push({ path: at('block'), message: `is required in mode vrack-block: the IP block routed into the vRack, a /${PUBLIC_PATH_DEFAULTS.blockMaxPrefix} or larger such as 203.0.113.8/29` });
    return issues;
  }
  const block = parseCidr(section.block);
  if (!block) {
    issues.push({ path: at('block'), message: 'must be an IPv4 block such as 203.0.113.8/29 (the block routed into the vRack)' });
    return issues;
  }
  if (block.prefix > PUBLIC_PATH_DEFAULTS.blockMaxPrefix) {
    issues.push({
      path: at('block'),
      message: `a /${block.prefix} is too small: OVH sets aside the network, gateway and broadcast addresses of a block in the vRack; use a /${PUBLIC_PATH_DEFAULTS.blockMaxPrefix} or larger, or publicPath.mode vmac or routed for single failover IPs`,
    });
    return issues;
  }
  const network = numberToIpv4(block.network);
  if (!parseAlignedBlock(section.block)) {
    issues.push({ path: at('block'), message: `is not a network address; write the block as ${network}/${block.prefix}` });
    return issues;
  }
  const notPublic = notPublicBecause(network);
  if (notPublic) {
    issues.push({ path: at('block'), message: `${section.block} is ${notPublic}, not a public block; name the OVH IP block routed into the vRack` });
    return issues;
  }
  const gateway = vrackBlockGateway(block);
  context.failoverIps.forEach((ip, i) => {
    if (!context.wellFormedIp(ip)) return;
    if (!isHostInCidr(ip, block) || ip === gateway) {
      issues.push({
        path: ['failoverIps', i],
        message: `${ip} is not a usable address of publicPath.block ${section.block} (usable: ${numberToIpv4(block.network + 1)} to ${numberToIpv4(block.network + 2 ** (32 - block.prefix) - 3)}; ${gateway} is OVH's gateway); list addresses of the block`,
      });
    }
  });
  return issues;
}
