// Which LB VM's public NIC is up, and where the virtual MAC lives, when bootstrap (or a
// replacement) builds the public path (docs/design.md §10.3). Pure: the workflow reads where
// OVH routes the failover IP, this decides.
//
// One LB at a time answers for the failover IP: keepalived's MASTER, whose notify_master
// brings its link up. Before keepalived runs, the LB of the server OVH already routes the IP
// to is the one that should answer, so its link starts up and every other LB's starts down
// (link_down=1). A replaced LB VM always comes back with its link down: keepalived brings it
// up if and when that LB wins.
import type { ClusterSpec } from '../spec/schema';
import { publicPathOf } from './modes';

export interface PublicNicPlan {
  /** The server whose LB VM's public link starts up; undefined in vrack-block mode (no public NIC). */
  active?: string;
  /** vmac: the virtual MAC to create (or find) for `ip`, on the server OVH routes it to. */
  virtualMac?: { ip: string; server: string; ovhService: string; virtualMachineName: string };
  /** Why the plan is what it is, for the step log. */
  why: string;
}

export type PublicNicDecision = PublicNicPlan | { refuse: string };

/**
 * The plan for a cluster whose first failover IP OVH routes to `routedToService` (an OVH
 * service name, null when parked). Every LB VM's NIC carries the same MAC in vmac mode, so
 * the first failover IP decides for all (the spec allows one failover IP in vmac mode).
 */
export function planPublicNics(spec: ClusterSpec, routedToService: string | null): PublicNicDecision {
  const { mode } = publicPathOf(spec);
  if (mode === 'vrack-block') return { why: 'vrack-block: the addresses live on the vRack NIC, no public NIC' };
  const ip = spec.failoverIps[0];
  if (ip === undefined) return { refuse: `publicPath.mode ${mode} needs a failover IP to carry; list one in failoverIps` };
  const current = spec.servers.find((s) => s.ovhService === routedToService);
  const where = routedToService === null ? 'nowhere (parked)' : `${routedToService}, not a server of this cluster`;
  if (mode === 'vmac') {
    if (!current) {
      return {
        refuse: `failoverIps[0] ${ip} is routed to ${where}; OVH creates an IP's virtual MAC only on the server the IP is routed to, so move it to one of ${spec.servers.map((s) => `${s.name} (${s.ovhService})`).join(', ')} in the OVH control panel and bootstrap again`,
      };
    }
    // The name OVH shows beside the MAC: the LB VM's Proxmox name (activities/proxmox/vm-plan.ts vmName).
    const virtualMachineName = `${spec.metadata.name}-${current.name}-lb`;
    return { active: current.name, virtualMac: { ip, server: current.name, ovhService: current.ovhService, virtualMachineName }, why: `${ip} is routed to ${current.name}: its LB answers` };
  }
  // routed: any MAC will do; an IP routed elsewhere is moved by bootstrap to the first healthy LB
  // (core/policies/failover-target.ts), the first server in spec order when all answer.
  if (current) return { active: current.name, why: `${ip} is routed to ${current.name}: its LB answers` };
  return { active: spec.servers[0].name, why: `${ip} is routed to ${where}; bootstrap routes it to ${spec.servers[0].name}, the first LB` };
}

/** ensureVm's public NIC options for `server`'s LB VM under `plan` (vm-plan.ts LbPublicNicOptions). */
export function lbNicOptions(plan: PublicNicPlan, server: string, mac: string | undefined): { publicMac?: string; publicLinkUp: boolean } {
  return { ...(mac !== undefined ? { publicMac: mac } : {}), publicLinkUp: plan.active === server };
}
