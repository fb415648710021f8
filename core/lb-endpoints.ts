// Where the worker reaches each LB VM. Defaults follow the rendered configs (HAProxy's
// monitor-uri, sshd on :22); the spec overrides them when the worker sees the VMs through
// other addresses (a bastion, a port forward, the sandbox).
import { cidrContains, LOOPBACK_BLOCK, parseCidr } from './net/ipv4';
import { LB_PORTS } from './render/lb-topology';
import type { ServerSpec } from './spec/schema';

export function lbHealthUrl(server: ServerSpec): string {
  return server.lbHealthUrl ?? `http://${server.vms.lb.ip}:${LB_PORTS.haproxyHealth}/healthz`;
}

/**
 * Why the worker must not probe `url` as an LB health endpoint, or undefined when it may:
 * the probe stays on the vRack (`cidr`) or on loopback (a port forward on the worker, as the
 * sandbox uses), so a spec cannot point it at a cloud metadata service or anywhere else.
 */
export function healthUrlOutsideVrack(url: string, cidrText: string): string | undefined {
  const host = /^https?:\/\/([^:/]+)/.exec(url)?.[1];
  const cidr = parseCidr(cidrText);
  if (host === undefined || cidr === undefined) return `${JSON.stringify(url)} has no IPv4 host to check against network.cidr ${cidrText}`;
  if (cidrContains(cidr, host) || cidrContains(LOOPBACK_BLOCK, host)) return undefined;
  return `${host} is outside network.cidr ${cidrText}; the LB health URL must point into the vRack (or at loopback for a port forward on the worker)`;
}

export function lbSshAddress(server: ServerSpec): { host: string; port: number } {
  const [host, port] = (server.ssh.address ?? `${server.vms.lb.ip}:22`).split(':');
  return { host, port: Number(port) };
}
