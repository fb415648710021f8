// What a health watch window (workflows/health-check.ts) reports to the watcher, and when.
// Pure, table-tested: the observation activity probes every interval but hands an
// observation to the workflow only when a decision could come out differently — what the
// policies read changed (docs/design.md §9), or time alone changes the decision
// (`nextDecisionAt`). Every other probe costs Temporal nothing.
import type { NodeHistory, RemediationPolicy } from '../policies/remediation';
import { nodeKey } from '../policies/remediation';
import type { ClusterObservation } from './observation';

/**
 * What changed between the observation the watcher last received and a new one, as
 * sentences for the Web UI ("srv-b/worker unhealthy: VM stopped"). Only what a decision
 * reads counts: health flags, etcd membership, where each failover IP is routed, which LB
 * is VRRP MASTER. A node's detail text changing while it stays unhealthy is not a change.
 */
export function changesBetween(before: ClusterObservation | undefined, after: ClusterObservation): string[] {
  if (before === undefined) return [];
  const changes: string[] = [];
  const was = new Map(before.nodes.map((n) => [nodeKey(n.server, n.role), n]));
  for (const n of after.nodes) {
    const key = nodeKey(n.server, n.role);
    const old = was.get(key);
    was.delete(key);
    if (old === undefined) changes.push(`${key} appeared (${n.healthy ? 'healthy' : `unhealthy: ${n.detail}`})`);
    else if (old.healthy && !n.healthy) changes.push(`${key} unhealthy: ${n.detail}`);
    else if (!old.healthy && n.healthy) changes.push(`${key} healthy again`);
  }
  for (const key of was.keys()) changes.push(`${key} no longer observed`);

  const members = new Map(before.etcd.map((m) => [m.server, m.healthy]));
  for (const m of after.etcd) {
    if (members.get(m.server) !== m.healthy) changes.push(`etcd member ${m.server} ${m.healthy ? 'healthy' : 'unhealthy or missing'}`);
  }
  if (before.etcd.length !== after.etcd.length) changes.push(`etcd: ${before.etcd.length} → ${after.etcd.length} members expected`);

  const routes = new Map(before.failover.map((f) => [f.ip, f.routedTo]));
  for (const f of after.failover) {
    const old = routes.get(f.ip);
    if (old === undefined) changes.push(`${f.ip} routing known again: ${f.routedTo ?? 'parked'}`);
    else if (old !== f.routedTo) changes.push(`${f.ip} moved ${old ?? 'parked'} → ${f.routedTo ?? 'parked'}`);
    routes.delete(f.ip);
  }
  for (const ip of routes.keys()) changes.push(`${ip} routing unknown`);

  const masters = (o: ClusterObservation) => {
    const v = o.vrrp;
    return v === undefined ? undefined : v.map((x) => `${x.server}:${x.master === null ? '?' : x.master ? 'MASTER' : 'BACKUP'}`).join(' ');
  };
  const [vb, va] = [masters(before), masters(after)];
  if (vb !== va) changes.push(`VRRP ${vb ?? 'not looked at'} → ${va ?? 'not looked at'}`);
  return changes;
}

export interface DecisionClock {
  now: number;
  nodes: ClusterObservation['nodes'];
  history: Readonly<Record<string, NodeHistory>>;
  inFlight: readonly string[];
  policy: Pick<RemediationPolicy, 'unhealthyAfterMs' | 'nodeStartupTimeoutMs'>;
}

/**
 * When the watcher's decision on the same observation could next come out differently,
 * from the clocks `decideRemediations` reads (unhealthyAfter since the failure, the startup
 * timeout since a (re)creation, unhealthyAfter since a reboot); `now` when a repair runs (its
 * end frees the budget and starts the after-reboot clock), so the window reports every probe
 * while one does; undefined when only a change can change the decision.
 */
export function nextDecisionAt(facts: DecisionClock): number | undefined {
  const { now, policy } = facts;
  if (facts.inFlight.length > 0) return now;
  const due: number[] = [];
  for (const n of facts.nodes) {
    if (n.healthy) continue;
    const h = facts.history[nodeKey(n.server, n.role)] ?? {};
    if (h.startedAt !== undefined && !h.healthySinceStart) due.push(h.startedAt + policy.nodeStartupTimeoutMs);
    else if (h.unhealthySince !== undefined) due.push(h.unhealthySince + policy.unhealthyAfterMs);
    if (h.rebootedAt !== undefined) due.push(h.rebootedAt + policy.unhealthyAfterMs);
  }
  const future = due.filter((t) => t > now);
  return future.length === 0 ? undefined : Math.min(...future);
}

/** Why a watch leg came back to its workflow. */
export type LegEnd = 'first' | 'change' | 'due' | 'spec' | 'window-end';

/** Whether a probe's observation goes to the watcher, and why; undefined: keep probing quietly. */
export function legEnd(facts: { baseline: ClusterObservation | undefined; seen: ClusterObservation; changes: readonly string[]; specChanged: boolean; recheckAt?: number; now: number }): Exclude<LegEnd, 'window-end'> | undefined {
  if (facts.baseline === undefined) return 'first';
  if (facts.specChanged) return 'spec';
  if (facts.changes.length > 0) return 'change';
  if (facts.recheckAt !== undefined && facts.now >= facts.recheckAt) return 'due';
  return undefined;
}

/** "all 9 healthy for 60 min (120 probes)" / "2/9 unhealthy for 3 min (6 probes)": a quiet stretch in one line. */
export function quietSummary(seen: ClusterObservation | undefined, sinceMs: number, untilMs: number, probes: number): string {
  const ms = untilMs - sinceMs;
  const span = ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
  if (seen === undefined) return `no probe in ${span}`;
  const bad = seen.nodes.filter((n) => !n.healthy);
  const state = bad.length === 0 ? `all ${seen.nodes.length} healthy` : `${bad.length}/${seen.nodes.length} unhealthy (${bad.map((n) => nodeKey(n.server, n.role)).join(', ')})`;
  return `${state} for ${span} (${probes} probe${probes === 1 ? '' : 's'})`;
}
