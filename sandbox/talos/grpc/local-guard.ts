// Real talosctl dials exactly the node addresses of the spec it is given. The sandbox may
// hand it a spec only when every Talos node address is on this machine's loopback
// (127.0.0.0/8), where the simulated nodes listen: never a 10.x or any address that could
// reach another machine.
import { cidrContains, isIpv4, LOOPBACK_BLOCK } from '../../../core/net/ipv4';
import type { ClusterSpec } from '../../../core/spec/schema';

export interface NonLocalAddress {
  /** Where in the spec, e.g. servers[0].vms.controlPlane.ip. */
  path: string;
  ip: string;
}

/** An IPv4 address in 127.0.0.0/8, in the one spelling Go and Node read alike (no leading zeros). */
export const LOOPBACK = { test: (ip: string): boolean => isIpv4(ip) && cidrContains(LOOPBACK_BLOCK, ip) };

/** The Talos node addresses (control planes and workers) of `spec` that are not loopback addresses. */
export function nonLocalTalosAddresses(spec: { servers: Pick<ClusterSpec['servers'][number], 'vms'>[] }): NonLocalAddress[] {
  return spec.servers.flatMap((server, i) =>
    (['controlPlane', 'worker'] as const).flatMap((role) => {
      const ip = server.vms[role]?.ip;
      return ip !== undefined && !LOOPBACK.test(ip) ? [{ path: `servers[${i}].vms.${role}.ip`, ip }] : [];
    }),
  );
}

export class NonLocalTalosNodes extends Error {
  override readonly name = 'NonLocalTalosNodes';
}

/** Throws, naming each address, unless the real talosctl would dial only loopback addresses for `spec`. */
export function requireLocalTalosNodes(spec: { servers: Pick<ClusterSpec['servers'][number], 'vms'>[] }): void {
  const outside = nonLocalTalosAddresses(spec);
  if (outside.length === 0) return;
  throw new NonLocalTalosNodes(
    `refusing to run the real talosctl against this spec: it would dial ${outside.map((a) => `${a.ip} (${a.path})`).join(', ')}, which ${outside.length === 1 ? 'is' : 'are'} not on this machine; the sandbox's Talos nodes must be on loopback (127.0.0.0/8), e.g. 127.10.0.0/24`,
  );
}
