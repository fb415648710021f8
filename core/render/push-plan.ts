// In which order LB configs are pushed: every standby LB first, the active one (the LB
// holding the VIP / the failover IPs) last. A config that breaks something then breaks
// it on a standby, where the push's probe catches it and the rollout stops before the
// LB that carries the traffic is touched. Pure; the caller finds out which LB is active.
//
// Except at the first election: where keepalived does not run yet on the LB meant to be
// active (a bootstrap), the LB started first wins (nopreempt keeps a MASTER that came up
// before a higher priority), so the active LB is pushed first and the standbys join it as
// BACKUPs. There is no traffic yet for a bad config to break.
import type { ClusterSpec } from '../spec/schema';

export interface LbPushStep {
  server: string;
  role: 'standby' | 'active';
}

export interface LbPushPlan {
  steps: LbPushStep[];
  why: string;
}

/**
 * @param activeServer name of the server whose LB is active now, if known.
 * @param firstElection keepalived does not run yet on that LB: it must start first to win.
 */
export function planLbPush(spec: Pick<ClusterSpec, 'servers'>, activeServer?: string, firstElection = false): LbPushPlan {
  const names = spec.servers.map((s) => s.name);
  const active = activeServer !== undefined && names.includes(activeServer) ? activeServer : undefined;
  const standbys = names.filter((n) => n !== active).map((server) => ({ server, role: 'standby' as const }));
  const activeStep = active ? [{ server: active, role: 'active' as const }] : [];
  const steps: LbPushStep[] = firstElection && active ? [...activeStep, ...standbys] : [...standbys, ...activeStep];
  const why =
    active !== undefined && firstElection
      ? `the active LB ${active} first: its keepalived does not run yet, and the first to start wins the first election; then the standby LBs (${standbys.map((s) => s.server).join(', ') || 'none'})`
      : active !== undefined
      ? `standby LBs first (${names.filter((n) => n !== active).join(', ') || 'none'}), the active LB ${active} last`
      : activeServer !== undefined
        ? `active LB ${activeServer} is not a server of the spec; pushing in spec order`
        : 'no active LB known; pushing in spec order';
  return { steps, why };
}

/** What a look at an LB VM said about its keepalived: running, not running, or no answer. */
export type KeepalivedLook = 'running' | 'stopped' | 'unknown';

/**
 * Whether a push is the first election: no LB runs keepalived, and every LB answered so.
 * One LB running it (a cluster in service, even with a failed unit elsewhere) or one that
 * could not be asked keeps the canary order: standbys first.
 */
export function isFirstElection(looks: readonly KeepalivedLook[]): boolean {
  return looks.length > 0 && looks.every((l) => l === 'stopped');
}
