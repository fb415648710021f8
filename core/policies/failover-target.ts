// Choosing where a failover IP goes. Pure: the workflow gathers the facts (where the IP
// is routed, which LBs answer their health probe) and this decides. docs/design.md §4.5: only to
// a healthy LB, never to the server it is already on.
import type { ServerSpec } from '../spec/schema';

export interface LbProbe {
  server: string;
  healthy: boolean;
  detail: string;
}

export type FailoverDecision =
  | { kind: 'move'; to: string; toService: string; why: string }
  | { kind: 'noop'; to: string; why: string }
  | { kind: 'refuse'; why: string };

export interface FailoverFacts {
  servers: readonly Pick<ServerSpec, 'name' | 'ovhService'>[];
  /** OVH service the IP is routed to now (null when parked). */
  routedToService: string | null;
  /** Server the caller asked for, if any. */
  requested?: string;
  probes: readonly LbProbe[];
  /** A server to move away from whatever its probe says (its LB is about to be replaced). */
  avoid?: string;
}

export function decideFailoverTarget(facts: FailoverFacts): FailoverDecision {
  const current = facts.servers.find((s) => s.ovhService === facts.routedToService);
  const healthy = (name: string) => name !== facts.avoid && facts.probes.find((p) => p.server === name)?.healthy === true;
  const probeDetail = (name: string) => (name === facts.avoid ? 'being replaced' : (facts.probes.find((p) => p.server === name)?.detail ?? 'not probed'));

  if (facts.requested !== undefined) {
    const target = facts.servers.find((s) => s.name === facts.requested);
    if (!target) {
      return { kind: 'refuse', why: `server ${facts.requested} is not in the spec; choose one of ${facts.servers.map((s) => s.name).join(', ')}` };
    }
    if (current?.name === target.name) return { kind: 'noop', to: target.name, why: `already routed to ${target.name}` };
    if (!healthy(target.name)) {
      return { kind: 'refuse', why: `the LB of ${target.name} is not healthy (${probeDetail(target.name)}); a failover IP only moves to a healthy LB` };
    }
    return { kind: 'move', to: target.name, toService: target.ovhService, why: `requested ${target.name}` };
  }

  // No target named: keep a healthy current placement, otherwise the first healthy other LB in spec order.
  if (current && healthy(current.name)) return { kind: 'noop', to: current.name, why: `already routed to ${current.name}, whose LB is healthy` };
  const candidate = facts.servers.find((s) => s.name !== current?.name && healthy(s.name));
  if (!candidate) {
    const seen = facts.probes.map((p) => `${p.server}: ${p.detail}`).join('; ');
    return { kind: 'refuse', why: `no healthy LB to move to (${seen || 'no LB probed'})` };
  }
  const from = current ? current.name : facts.routedToService === null ? 'nowhere (parked)' : `${facts.routedToService} (not in the spec)`;
  return { kind: 'move', to: candidate.name, toService: candidate.ovhService, why: `routed to ${from}; ${candidate.name} is the first healthy LB` };
}
