// In which order LB configs are pushed: every standby LB first, the active one (the LB
// holding the VIP / the failover IPs) last. A config that breaks something then breaks
// it on a standby, where the push's probe catches it and the rollout stops before the
// LB that carries the traffic is touched. Pure; the caller finds out which LB is active.
import type { ClusterSpec } from '../spec/schema';

export interface LbPushStep {
  server: string;
  role: 'standby' | 'active';
}

export interface LbPushPlan {
  steps: LbPushStep[];
  why: string;
}

/** @param activeServer name of the server whose LB is active now, if known. */
export function planLbPush(spec: Pick<ClusterSpec, 'servers'>, activeServer?: string): LbPushPlan {
  const names = spec.servers.map((s) => s.name);
  const active = activeServer !== undefined && names.includes(activeServer) ? activeServer : undefined;
  const steps: LbPushStep[] = [
    ...names.filter((n) => n !== active).map((server) => ({ server, role: 'standby' as const })),
    ...(active ? [{ server: active, role: 'active' as const }] : []),
  ];
  const why =
    active !== undefined
      ? `standby LBs first (${names.filter((n) => n !== active).join(', ') || 'none'}), the active LB ${active} last`
      : activeServer !== undefined
        ? `active LB ${activeServer} is not a server of the spec; pushing in spec order`
        : 'no active LB known; pushing in spec order';
  return { steps, why };
}
