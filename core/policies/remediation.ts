// What the health check does about what it saw (docs/design.md §2.6).
// Pure, with "now" passed in, in the manner of Cluster API's MachineHealthCheck
// `needsRemediation`: the workflow gathers observations and history, this decides.
//
// Rules, in order:
//  - an IP whose active LB is down moves at once to a healthy standby (no waiting: traffic is lost);
//  - a node is judged unhealthy only after `unhealthyAfter` of continuous failure, or when it
//    has not come up within `nodeStartupTimeout` of being (re)created;
//  - the first remedy is a reboot through Proxmox; if the node is still unhealthy
//    `unhealthyAfter` after the reboot, it is replaced;
//  - a node that stays unhealthy after a replacement is reported, not replaced again and again;
//  - never more than `maxUnhealthy` remediations in flight (default 1, where Cluster API
//    defaults to 100%): a second failure during a repair waits its turn;
//  - never a control-plane action (reboot or replace) that the quorum guard refuses.
import type { VmRole } from '../spec/schema';
import { quorumAfterRemoval, type EtcdMemberHealth } from './quorum';

export interface NodeObservation {
  server: string;
  role: VmRole;
  healthy: boolean;
  detail: string;
}

/** What earlier passes learnt about a node; kept by the watcher between passes. */
export interface NodeHistory {
  /** First pass that saw it unhealthy in the current run of failures. */
  unhealthySince?: number;
  /** When autok8s last (re)created the node; startup timeout runs from here until first healthy. */
  startedAt?: number;
  healthySinceStart?: boolean;
  rebootedAt?: number;
  replacedAt?: number;
}

export interface RemediationPolicy {
  unhealthyAfterMs: number;
  nodeStartupTimeoutMs: number;
  maxUnhealthy: number;
  autoRemediate: boolean;
}

export interface FailoverObservation {
  ip: string;
  /** Server whose LB the IP is routed to (null: parked or outside the spec). */
  routedTo: string | null;
}

export type RemediationAction =
  /** `to` and `reason` when the target is decided here (the split-brain reconcile); otherwise failoverIp picks. */
  | { kind: 'failover'; ip: string; from: string | null; why: string; to?: string; reason?: string }
  /** Two VRRP MASTERs, or a mismatch already reconciled once: reported, not acted on (core/policies/vrrp-reconcile.ts). */
  | { kind: 'split-brain'; ip: string; why: string }
  | { kind: 'reboot' | 'replace'; server: string; role: VmRole; why: string }
  | { kind: 'wait' | 'report'; server: string; role: VmRole; why: string };

export interface RemediationFacts {
  now: number;
  nodes: readonly NodeObservation[];
  history: Readonly<Record<string, NodeHistory>>;
  /** Remediations still running (reboot/replace), by node key. */
  inFlight: readonly string[];
  policy: RemediationPolicy;
  etcd: readonly EtcdMemberHealth[];
  desiredControlPlanes: number;
  failover: readonly FailoverObservation[];
}

export const nodeKey = (server: string, role: VmRole) => `${server}/${role}`;

/** Updates a node's history with this pass's observation. Pure: returns the new record. */
export function recordHealth(previous: NodeHistory | undefined, healthy: boolean, now: number): NodeHistory {
  const h: NodeHistory = { ...previous };
  if (healthy) {
    delete h.unhealthySince;
    if (h.startedAt !== undefined) h.healthySinceStart = true;
    // Healthy again: the remedies worked, forget them so a later failure starts from a reboot.
    delete h.rebootedAt;
    delete h.replacedAt;
  } else if (h.unhealthySince === undefined) {
    h.unhealthySince = now;
  }
  return h;
}

export function decideRemediations(facts: RemediationFacts): RemediationAction[] {
  const { now, policy } = facts;
  const actions: RemediationAction[] = [];
  const lbHealthy = (server: string) => facts.nodes.some((n) => n.server === server && n.role === 'lb' && n.healthy);

  for (const f of facts.failover) {
    if (f.routedTo !== null && lbHealthy(f.routedTo)) continue;
    const standby = facts.nodes.find((n) => n.role === 'lb' && n.healthy && n.server !== f.routedTo);
    if (standby) actions.push({ kind: 'failover', ip: f.ip, from: f.routedTo, why: `the LB of ${f.routedTo ?? 'no server'} is down; ${standby.server} is healthy` });
  }

  let budget = policy.maxUnhealthy - facts.inFlight.length;
  for (const node of facts.nodes) {
    if (node.healthy) continue;
    const key = nodeKey(node.server, node.role);
    const h = facts.history[key] ?? {};
    const say = (kind: 'wait' | 'report', why: string) => actions.push({ kind, server: node.server, role: node.role, why });
    if (facts.inFlight.includes(key)) {
      say('wait', 'a remediation is already running');
      continue;
    }
    const since = h.unhealthySince ?? now;
    const starting = h.startedAt !== undefined && !h.healthySinceStart;
    const overdue = starting ? now - h.startedAt! >= policy.nodeStartupTimeoutMs : now - since >= policy.unhealthyAfterMs;
    if (!overdue) {
      say('wait', starting ? `starting for ${now - h.startedAt!} ms of ${policy.nodeStartupTimeoutMs}` : `unhealthy for ${now - since} ms of ${policy.unhealthyAfterMs}`);
      continue;
    }
    if (h.replacedAt !== undefined) {
      say('report', `still unhealthy after a replacement (${node.detail}); needs a person — autok8s will not replace it again`);
      continue;
    }
    const wantReplace = h.rebootedAt !== undefined;
    if (wantReplace && now - h.rebootedAt! < policy.unhealthyAfterMs) {
      say('wait', `rebooted ${now - h.rebootedAt!} ms ago; waiting ${policy.unhealthyAfterMs} ms before replacing`);
      continue;
    }
    if (!policy.autoRemediate) {
      say('report', `unhealthy (${node.detail}); autoRemediate is off`);
      continue;
    }
    if (node.role === 'controlPlane') {
      // Even a reboot is refused without quorum: with a majority down, a person restores etcd.
      const verdict = quorumAfterRemoval(facts.etcd, node.server, facts.desiredControlPlanes);
      if (!verdict.allowed) {
        say('report', `not replaced: ${verdict.why}`);
        continue;
      }
    }
    if (budget <= 0) {
      say('wait', `maxUnhealthy (${policy.maxUnhealthy}) remediations already under way`);
      continue;
    }
    budget -= 1;
    actions.push({
      kind: wantReplace ? 'replace' : 'reboot',
      server: node.server,
      role: node.role,
      why: wantReplace ? `still unhealthy after a reboot (${node.detail})` : `unhealthy (${node.detail})`,
    });
  }
  return actions;
}
