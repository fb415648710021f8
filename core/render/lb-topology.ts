// What the three LB renderers share: which server is rendered, its peers, the backends,
// the well-known ports and the header every rendered file starts with. Pure.
import { parseCidr } from '../net/ipv4';
import type { ClusterSpec, ServerSpec } from '../spec/schema';
import { specHash } from './spec-hash';

/** Ports the LB VM serves. 8404 is the default of `lbHealthUrl` (core/lb-endpoints.ts). */
export const LB_PORTS = {
  /** HAProxy L4 → control planes' kube-apiserver. */
  kubeApi: 6443,
  /** HAProxy L4 → control planes' Talos apid (talosctl through the VIP). */
  talosApi: 50000,
  /** HAProxy L4 → workers' ingress, plain HTTP. */
  ingressHttp: 80,
  /** HAProxy L4 → workers' ingress, TLS passed through (the ingress controller terminates it). */
  ingressHttps: 443,
  /** HAProxy `monitor-uri /healthz`: what failover probes before routing an IP here. */
  haproxyHealth: 8404,
  /** Nginx L7 caching entry; a separate port because HAProxy holds :80 (Linux refuses a second listener on it). */
  nginxWeb: 8080,
  /** Nginx's own `/healthz`. */
  nginxHealth: 8405,
} as const;

export interface RenderedLb {
  server: ServerSpec;
  index: number;
}

/** The server being rendered; a name not in the spec is a caller bug, reported with the valid names. */
export function lbServer(spec: ClusterSpec, serverName: string): RenderedLb {
  const index = spec.servers.findIndex((s) => s.name === serverName);
  if (index < 0) {
    throw new Error(`server ${serverName} is not in cluster ${spec.metadata.name}; choose one of ${spec.servers.map((s) => s.name).join(', ')}`);
  }
  return { server: spec.servers[index], index };
}

/**
 * VRRP priority by server order: the first server is preferred (highest), each next one
 * lower, all distinct and within 1..254 (255 is reserved for the address owner).
 */
export function vrrpPriority(index: number, count: number): number {
  if (count > 199) throw new Error(`${count} LBs: VRRP priorities 1..254 cannot keep ${count} distinct values with room to spare; use at most 199`);
  const step = count <= 1 ? 10 : Math.max(1, Math.min(10, Math.floor(198 / (count - 1))));
  return 200 - index * step;
}

export function prefixLength(spec: ClusterSpec): number {
  const cidr = parseCidr(spec.network.cidr);
  if (!cidr) throw new Error(`network.cidr ${spec.network.cidr} is not an IPv4 CIDR`);
  return cidr.prefix;
}

export interface Backend {
  name: string;
  ip: string;
}

export function controlPlaneBackends(spec: ClusterSpec): Backend[] {
  return spec.servers.flatMap((s) => (s.vms.controlPlane ? [{ name: s.name, ip: s.vms.controlPlane.ip }] : []));
}

export function workerBackends(spec: ClusterSpec): Backend[] {
  return spec.servers.map((s) => ({ name: s.name, ip: s.vms.worker.ip }));
}

/**
 * Refuses values that would need quoting inside a config file (paths, commands). Spec
 * fields are already restricted (DNS labels, IPv4); this guards renderer options.
 */
export function safeToken(value: string, what: string): string {
  if (!/^[A-Za-z0-9_./@:+-]+$/.test(value)) {
    throw new Error(`${what} ${JSON.stringify(value)} may only contain letters, digits and _ . / @ : + -; choose a path without spaces or quotes`);
  }
  return value;
}

/** The first lines of every rendered file: what it is, where it came from, and the spec hash. */
export function renderHeader(file: string, spec: ClusterSpec, serverName: string): string {
  return [
    `# ${file} for LB ${serverName} of cluster ${spec.metadata.name}, rendered by autok8s.`,
    `# spec-hash: ${specHash(spec)}`,
    '# Local edits are replaced by the next push; change the cluster spec instead.',
    '',
  ].join('\n');
}

/** Reads the spec hash back from a rendered file's header (undefined when there is none). */
export function headerSpecHash(fileText: string): string | undefined {
  return /^# spec-hash: (sha256:[0-9a-f]{64})$/m.exec(fileText.split('\n', 4).join('\n'))?.[1];
}
