// Which LB VM, if any, the simulated internet would hand a packet for a failover IP to
// (sandbox/public-internet.ts). Pure: the caller reads OVH's routing and virtual MACs and each
// server's LB VM from the simulators; whether HAProxy answers is the caller's last, live check.
//
// The rules follow OVH's guides as quoted in issue 16 and docs/contracts.md §A.8:
// - vmac: OVH delivers an Additional IP to the server it is routed to, as frames addressed to
//   the IP's virtual MAC; only a NIC with that MAC on the public bridge receives them, and a
//   MAC suspended by a move is on no server until the move task ends.
// - routed: the host routes the IP to its LB VM's public NIC (any MAC).
// - vrack-block: the block is routed into the vRack and the LB holding the VRRP address gets it.
// - In every mode the LB VM must hold the IP: keepalived adds its `virtual_ipaddress` on the
//   MASTER and removes it on a BACKUP, FAULT or stop (core/render/keepalived.ts; keepalived's
//   keepalived.conf(5), "virtual_ipaddress"). A packet that reaches an LB VM not holding the
//   address is not for any of its interfaces and is dropped: a moved IP with the NIC up on a
//   BACKUP still serves nothing. With two MASTERs (a split brain) in vrack-block, the vRack
//   delivers to the one whose gratuitous ARP came last (the latest takeover).
import { nicLinkUp } from '../core/public-path/lb-nic';
import type { PublicPathMode } from '../core/public-path/modes';
import type { VrrpState } from './vrrp-sim';

export interface LbVmFacts {
  server: string;
  ovhService: string;
  vmid: number;
  /** The LB VM as the server's Proxmox has it; undefined when there is no such VM. */
  vm?: { running: boolean; net1?: string };
  /** keepalived's VRRP state in that LB VM (sandbox/vrrp-sim.ts); only MASTER holds the addresses. */
  vrrp: VrrpState;
}

export interface DeliveryFacts {
  mode: PublicPathMode;
  ip: string;
  /** publicPath.bridge: the bridge on the server's public NIC. */
  bridge: string;
  /** Where OVH routes the IP (vmac, routed) or the block (vrack-block) now; null when parked. */
  routedTo: string | null;
  /** The spec's vRack (vrack-block: the block must be routed there). */
  vrack: string;
  /** The virtual MAC carrying the IP at OVH (vmac). */
  mac?: { mac: string; server: string; suspended: boolean };
  /** Every server's LB VM, in spec order (keepalived's VRRP priority order). */
  lbs: LbVmFacts[];
  /** The servers whose keepalived is MASTER, the latest takeover first (whose gratuitous ARP came last). */
  holders: string[];
}

/** The LBs that could answer, best first, or why the packet goes nowhere. */
export type Candidates = { candidates: string[] } | { why: string };

/** The MAC and bridge of a Proxmox NIC value (`virtio=02:00:00:AA:BB:CC,bridge=vmbr0,link_down=1`). */
export function nicParts(value: string): { mac?: string; bridge?: string } {
  const parts = value.split(',');
  const mac = parts[0]?.split('=')[1];
  const bridge = parts.find((p) => p.startsWith('bridge='))?.slice('bridge='.length);
  return { mac: mac ? mac.toUpperCase() : undefined, bridge };
}

function vmIssue(lb: LbVmFacts): string | undefined {
  if (!lb.vm) return `${lb.server}'s LB VM ${lb.vmid} does not exist`;
  if (!lb.vm.running) return `${lb.server}'s LB VM ${lb.vmid} is not running`;
  return undefined;
}

export function deliveryCandidates(f: DeliveryFacts): Candidates {
  if (f.mode === 'vrack-block') {
    if (f.routedTo !== f.vrack) return { why: `the block of ${f.ip} is not routed into the vRack ${f.vrack} (routed to ${f.routedTo ?? 'nowhere'})` };
    // The LB holding the VRRP address, whose VM runs; the latest takeover's gratuitous ARP wins.
    const byServer = new Map(f.lbs.map((lb) => [lb.server, lb]));
    const up = f.holders.filter((server) => byServer.get(server) !== undefined && vmIssue(byServer.get(server)!) === undefined);
    if (up.length > 0) return { candidates: up };
    return { why: `no running LB VM holds ${f.ip}: ${f.lbs.map((lb) => vmIssue(lb) ?? `${lb.server}'s keepalived is ${lb.vrrp}`).join('; ')}` };
  }
  if (f.routedTo === null) return { why: `OVH routes ${f.ip} nowhere` };
  const lb = f.lbs.find((x) => x.ovhService === f.routedTo);
  if (!lb) return { why: `OVH routes ${f.ip} to ${f.routedTo}, not a server of the cluster` };
  if (f.mode === 'vmac') {
    if (!f.mac) return { why: `${f.ip} has no virtual MAC at OVH: ${lb.server} drops its frames` };
    if (f.mac.suspended) return { why: `the virtual MAC ${f.mac.mac} of ${f.ip} is suspended while its move is in progress` };
    if (f.mac.server !== f.routedTo) return { why: `the virtual MAC ${f.mac.mac} of ${f.ip} is on ${f.mac.server}, not on ${lb.server} where the IP is routed` };
  }
  const missing = vmIssue(lb);
  if (missing) return { why: missing };
  const net1 = lb.vm!.net1;
  if (net1 === undefined) return { why: `${lb.server}'s LB VM ${lb.vmid} has no net1 (public NIC)` };
  const nic = nicParts(net1);
  if (nic.bridge !== f.bridge) return { why: `${lb.server}'s LB VM ${lb.vmid} net1 is on bridge ${nic.bridge ?? '(none)'}, not the public bridge ${f.bridge}` };
  if (f.mode === 'vmac' && nic.mac !== f.mac!.mac.toUpperCase()) {
    return { why: `${lb.server}'s LB VM ${lb.vmid} net1 has MAC ${nic.mac ?? '(none)'}, not ${f.ip}'s virtual MAC ${f.mac!.mac.toUpperCase()}` };
  }
  if (!nicLinkUp(net1)) return { why: `${lb.server}'s LB VM ${lb.vmid} net1 link is down (link_down=1)` };
  if (lb.vrrp !== 'MASTER') return { why: `${lb.server}'s LB VM ${lb.vmid} does not hold ${f.ip}: its keepalived is ${lb.vrrp}, not MASTER` };
  return { candidates: [lb.server] };
}
