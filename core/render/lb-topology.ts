// What the three LB renderers share: which server is rendered, its peers, the backends,
// the well-known ports and the header every rendered file starts with. Pure.
import { parseCidr } from '../net/ipv4';
import { GRAMMAR, requireGrammar, UnsafeValueError } from '../spec/grammar';
import { LIMITS } from '../spec/limits';
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

/**
 * The server being rendered; a name not in the spec is a caller bug, reported with the valid
 * names. Checks the names every rendered file carries (cluster, server) and the count that
 * VRRP priorities depend on, so each renderer refuses a spec that skipped validation.
 */
export function lbServer(spec: ClusterSpec, serverName: string): RenderedLb {
  requireGrammar(GRAMMAR.dnsLabel, spec.metadata.name, 'metadata.name');
  if (!Array.isArray(spec.servers) || spec.servers.length < 1 || spec.servers.length > LIMITS.servers) {
    throw new UnsafeValueError('servers', Array.isArray(spec.servers) ? `${spec.servers.length} servers` : spec.servers, `a list of 1 to ${LIMITS.servers} servers`);
  }
  const index = spec.servers.findIndex((s) => s.name === serverName);
  if (index < 0) {
    throw new Error(`server ${JSON.stringify(serverName)} is not in cluster ${spec.metadata.name}; choose one of ${spec.servers.map((s) => s.name).join(', ')}`);
  }
  requireGrammar(GRAMMAR.dnsLabel, serverName, `servers[${index}].name`);
  return { server: spec.servers[index], index };
}

/**
 * VRRP priority by server order: the first server is preferred (highest), each next one
 * lower, all distinct and within 1..254 (255 is reserved for the address owner).
 */
export function vrrpPriority(index: number, count: number): number {
  if (count > LIMITS.servers) throw new Error(`${count} LBs: VRRP priorities 1..254 cannot keep ${count} distinct values with room to spare; use at most ${LIMITS.servers}`);
  const step = count <= 1 ? 10 : Math.max(1, Math.min(10, Math.floor(198 / (count - 1))));
  return 200 - index * step;
}

export function prefixLength(spec: ClusterSpec): number {
  const cidr = typeof spec.network.cidr === 'string' ? parseCidr(spec.network.cidr) : undefined;
  if (!cidr) throw new UnsafeValueError('network.cidr', spec.network.cidr, 'an IPv4 CIDR such as 10.10.0.0/24');
  return cidr.prefix;
}

export interface Backend {
  name: string;
  ip: string;
}

/** A backend line's name and address, checked: both are written into haproxy.cfg and nginx.conf. */
function backend(spec: ClusterSpec, i: number, role: 'controlPlane' | 'worker'): Backend {
  const s = spec.servers[i];
  return {
    name: requireGrammar(GRAMMAR.dnsLabel, s.name, `servers[${i}].name`),
    ip: requireGrammar(GRAMMAR.ipv4, s.vms[role]?.ip, `servers[${i}].vms.${role}.ip`),
  };
}

export function controlPlaneBackends(spec: ClusterSpec): Backend[] {
  return spec.servers.flatMap((s, i) => (s.vms.controlPlane ? [backend(spec, i, 'controlPlane')] : []));
}

export function workerBackends(spec: ClusterSpec): Backend[] {
  return spec.servers.map((_, i) => backend(spec, i, 'worker'));
}

/** Each LB's vRack address, checked: keepalived writes them as its unicast source and peers. */
export function lbAddress(spec: ClusterSpec, i: number): string {
  return requireGrammar(GRAMMAR.ipv4, spec.servers[i]?.vms?.lb?.ip, `servers[${i}].vms.lb.ip`);
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
export function renderHeader(file: string, spec: ClusterSpec, serverName: string, publicGateway?: string): string {
  // Comment lines: a newline in either name would end the comment and start configuration.
  requireGrammar(GRAMMAR.dnsLabel, spec.metadata.name, 'metadata.name');
  requireGrammar(GRAMMAR.dnsLabel, serverName, 'server name');
  return [
    `# ${file} for LB ${serverName} of cluster ${spec.metadata.name}, rendered by autok8s.`,
    `# spec-hash: ${specHash(spec, publicGateway)}`,
    '# Local edits are replaced by the next push; change the cluster spec instead.',
    '',
  ].join('\n');
}

/** Reads the spec hash back from a rendered file's header (undefined when there is none). */
export function headerSpecHash(fileText: string): string | undefined {
  return /^# spec-hash: (sha256:[0-9a-f]{64})$/m.exec(fileText.split('\n', 4).join('\n'))?.[1];
}
