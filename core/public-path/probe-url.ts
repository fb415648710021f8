// The URL that shows a failover IP serving traffic as the public side sees it (docs/design.md
// §10.5). Pure. The spec's `publicPath.probeUrl` is a template with `{ip}` exactly once; in
// production it names the IP itself (http://{ip}/: HAProxy's :80 frontend passes the request
// to the ingress, and any HTTP answer proves OVH's routing, the LB VM's public NIC and HAProxy
// all carried it); the sandbox points it at its simulated internet on loopback.
import { GRAMMAR, requireGrammar } from '../spec/grammar';
import type { ClusterSpec } from '../spec/schema';
import { publicPathOf } from './modes';

/**
 * The response header in which the public side may name the server that answered; the sandbox's
 * simulated internet sets it (sandbox/public-internet.ts), a real ingress may if it wants to.
 */
export const SERVED_BY_HEADER = 'x-autok8s-served-by';

/** The probe URL for `ip`, or undefined when the spec names none (serving is then not verified). */
export function publicProbeUrl(spec: ClusterSpec, ip: string): string | undefined {
  const template = publicPathOf(spec).probeUrl;
  if (template === undefined) return undefined;
  const checked = requireGrammar(GRAMMAR.probeUrlTemplate, template, 'publicPath.probeUrl');
  return checked.replace('{ip}', requireGrammar(GRAMMAR.ipv4, ip, 'failoverIps'));
}
