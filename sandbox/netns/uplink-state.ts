// What the namespace tier's public side must look like in the kernel, given what the OVH and
// Proxmox simulators say, and the `ip` commands that take it there from what was applied last.
// Pure: sandbox/netns/public-uplink.ts reads the simulators, runs the commands.
//
// The rules are OVH's, for publicPath.mode vmac (issue 16; docs/contracts.md §A.7, §A.8):
// - OVH's network carries a failover IP to the server it is routed to, as frames addressed to
//   the IP's virtual MAC: the uplink namespace routes the IP onto that server's link with a
//   permanent neighbour entry naming the MAC (no ARP: OVH's routers know the MAC);
// - a MAC suspended by a move, or listed on another server, carries nothing: the uplink holds an
//   `unreachable` route, so a client fails at once instead of sending frames nowhere;
// - the server's public bridge floods or forwards the frames; only a NIC whose MAC is the
//   virtual MAC takes them, and only while its link is up. The kernel enforces both: the LB's
//   eth1 gets net1's MAC, and the bridge side of its veth goes down with net1's link_down, so the
//   guest sees its carrier drop as a Proxmox VM does (qemu set_link).

export interface UplinkIpFacts {
  ip: string;
  /** The OVH service the IP is routed to; null when parked. */
  routedTo: string | null;
  /** The IP's virtual MAC at OVH (OvhSimulator.macFor). */
  mac?: { mac: string; server: string; suspended: boolean };
}

/** Where the uplink sends a failover IP: onto a server's link, to a MAC, or nowhere (and why). */
export type UplinkRoute = { server: string; mac: string } | { unreachable: string };

/** The LB VM's public NIC as the server's Proxmox has it (ProxmoxSimulator.nicLink of net1). */
export interface PublicNicFacts {
  server: string;
  nic?: { up: boolean; mac?: string; bridge?: string };
}

/** What the LB namespace's public interface and its veth's bridge side carry. */
export interface PublicNicState {
  /** The guest NIC's MAC; undefined leaves the interface's MAC as it is. */
  mac?: string;
  /** The bridge side of the veth is up (the guest sees carrier). */
  up: boolean;
}

export interface UplinkState {
  routes: Record<string, UplinkRoute>;
  nics: Record<string, PublicNicState>;
}

/** Which interface in which namespace stands for what (sandbox/netns/public-uplink.ts names them). */
export interface UplinkNames {
  uplinkNs: string;
  /** The uplink's interface towards a server's public bridge. */
  uplinkIf(server: string): string;
  /** The namespace holding a server's public bridge. */
  serverNs(server: string): string;
  /** The bridge side of the LB VM's public veth, in the server's namespace. */
  tapIf(server: string): string;
  /** The LB VM's namespace and its public interface (publicPath.interface). */
  lbNs(server: string): string;
  lbIf: string;
  /** The source address of the uplink's client (an internet host). */
  clientIp: string;
}

/**
 * Where OVH's network delivers `ip` now. `servers` maps OVH service → server name for the
 * cluster's servers.
 */
export function uplinkRoute(f: UplinkIpFacts, servers: Record<string, string>): UplinkRoute {
  if (f.routedTo === null) return { unreachable: `OVH routes ${f.ip} nowhere` };
  const server = servers[f.routedTo];
  if (server === undefined) return { unreachable: `OVH routes ${f.ip} to ${f.routedTo}, not a server of the cluster` };
  if (!f.mac) return { unreachable: `${f.ip} has no virtual MAC at OVH` };
  if (f.mac.suspended) return { unreachable: `the virtual MAC ${f.mac.mac} of ${f.ip} is suspended while its move is in progress` };
  if (f.mac.server !== f.routedTo) return { unreachable: `the virtual MAC ${f.mac.mac} of ${f.ip} is on ${f.mac.server}, not on ${f.routedTo} where the IP is routed` };
  return { server, mac: f.mac.mac.toLowerCase() };
}

/** The LB's public NIC in the kernel: net1's MAC, and its link up only when net1 is on the public bridge with link_down unset on a running VM. */
export function publicNicState(f: PublicNicFacts, publicBridge: string): PublicNicState {
  if (!f.nic) return { up: false };
  return { mac: f.nic.mac?.toLowerCase(), up: f.nic.up && f.nic.bridge === publicBridge };
}

const sameRoute = (a: UplinkRoute | undefined, b: UplinkRoute) =>
  a !== undefined && ('unreachable' in a ? 'unreachable' in b : !('unreachable' in b) && a.server === b.server && a.mac === b.mac);

/**
 * The `ip` argument lists that take the kernel from `applied` (undefined: nothing applied yet,
 * every object as created) to `next`. Only what differs is touched, so an event that changes
 * nothing runs nothing.
 */
export function uplinkCommands(applied: UplinkState | undefined, next: UplinkState, names: UplinkNames): string[][] {
  const commands: string[][] = [];
  for (const [server, nic] of Object.entries(next.nics)) {
    const was = applied?.nics[server];
    if (nic.mac !== undefined && nic.mac !== was?.mac) commands.push(['-n', names.lbNs(server), 'link', 'set', names.lbIf, 'address', nic.mac]);
    if (was === undefined || nic.up !== was.up) commands.push(['-n', names.serverNs(server), 'link', 'set', names.tapIf(server), nic.up ? 'up' : 'down']);
  }
  for (const [ip, route] of Object.entries(next.routes)) {
    const was = applied?.routes[ip];
    if (sameRoute(was, route)) continue;
    if (was !== undefined && !('unreachable' in was)) {
      // The old server's neighbour entry goes with its route, so no stale MAC survives a move back.
      commands.push(['-n', names.uplinkNs, 'neigh', 'del', ip, 'dev', names.uplinkIf(was.server)]);
    }
    if ('unreachable' in route) {
      commands.push(['-n', names.uplinkNs, 'route', 'replace', 'unreachable', `${ip}/32`]);
    } else {
      const dev = names.uplinkIf(route.server);
      commands.push(['-n', names.uplinkNs, 'neigh', 'replace', ip, 'lladdr', route.mac, 'dev', dev, 'nud', 'permanent']);
      commands.push(['-n', names.uplinkNs, 'route', 'replace', `${ip}/32`, 'dev', dev, 'src', names.clientIp]);
    }
  }
  return commands;
}

/** One line per change, for the audit log and test messages. */
export function describeRoute(ip: string, route: UplinkRoute): string {
  return 'unreachable' in route ? `${ip} unreachable: ${route.unreachable}` : `${ip} → ${route.server} (frames to ${route.mac})`;
}
