// What the public path needs on each Proxmox host that autok8s neither sets up nor can see
// (docs/production.md "The public path"): `autok8s plan` lists it, to be checked by hand. Pure.
//
// routed: the host forwards the failover IPs into a bridge of its own (OVH's routed setup):
// IPv4 forwarding on, the bridge holding the VM's gateway address, a /32 route per IP to it.
// vmac and vrack-block need nothing beyond the stock vmbr0 and the vRack bridge.
import type { ClusterSpec } from '../spec/schema';
import { publicPathOf, ROUTED_HOST_ADDRESS, ROUTED_PREFIX } from './modes';

/** One line per server: what its Proxmox host must have for the spec's public path; empty when nothing. */
export function hostPrerequisites(spec: ClusterSpec): string[] {
  const { mode, bridge } = publicPathOf(spec);
  if (mode !== 'routed') return [];
  const routes = spec.failoverIps.map((ip) => `a route ${ip}/32 dev ${bridge}`).join(', ');
  return spec.servers.map(
    (s) =>
      `${s.name} (Proxmox node ${s.proxmox.node}), publicPath.mode routed: net.ipv4.ip_forward=1 (sysctl net.ipv4.ip_forward), ${bridge} up with ${ROUTED_HOST_ADDRESS}/${ROUTED_PREFIX} (ip -4 addr show ${bridge}), ${routes} (ip route show dev ${bridge}); autok8s cannot see the host's network`,
  );
}
