// The hash stamped in every rendered LB file's header: which spec (as far as the LB layer
// is concerned) a file was rendered from. It covers only the fields that change the LB
// configs, so editing e.g. health.interval does not make every LB config look stale.
// Pure (no Node imports): workflows can compute it to compare with what a host carries.
import { publicPathOf } from '../public-path/modes';
import type { ClusterSpec } from '../spec/schema';
import { sha256Hex } from './sha256';

/** Bump when a renderer's output changes for the same spec, so headers say "re-rendered". */
export const LB_RENDER_VERSION = 2;

/**
 * The spec fields that shape keepalived.conf, haproxy.cfg and nginx.conf, and the one fact from
 * OVH that shapes a keepalived.conf: the public gateway its LB routes through (`publicGateway`,
 * given for keepalived.conf with a public network only; a moved gateway re-renders that file).
 */
export function lbRelevantFields(spec: ClusterSpec, publicGateway?: string): unknown {
  // probeUrl is how the worker looks at the public side, not part of any LB file.
  const { probeUrl: _probeUrl, ...publicPath } = publicPathOf(spec);
  return {
    renderVersion: LB_RENDER_VERSION,
    cluster: spec.metadata.name,
    failoverIps: spec.failoverIps,
    publicPath,
    publicGateway,
    network: {
      cidr: spec.network.cidr,
      apiVip: spec.network.apiVip,
      vrrpRouterId: spec.network.vrrpRouterId,
      interface: spec.network.interface,
    },
    // Order matters: VRRP priorities follow server order.
    servers: spec.servers.map((s) => ({
      name: s.name,
      lb: s.vms.lb.ip,
      controlPlane: s.vms.controlPlane?.ip ?? null,
      worker: s.vms.worker.ip,
    })),
  };
}

/** JSON with object keys sorted at every level, so equal data always gives equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `sha256:<hex>` over the canonical JSON of the LB-relevant spec fields. */
export function specHash(spec: ClusterSpec, publicGateway?: string): string {
  return `sha256:${sha256Hex(canonicalJson(lbRelevantFields(spec, publicGateway)))}`;
}
