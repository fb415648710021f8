// The split-brain reconcile of the health pass (docs/design.md §10.6): every failover IP must
// be routed to the server whose LB is keepalived's MASTER and healthy. Pure, like the rest of
// the watcher's decisions.
//
// Why it is needed: keepalived runs notify_master only on a transition. A BACKUP that stops
// hearing adverts for a moment becomes MASTER beside the real one, its notify_master moves the
// IP, and when it hears the real MASTER again it steps down; the real MASTER never transitioned,
// so nothing moves the IP back (keepalived issues #100, #950). The IP then sits on a server
// whose LB holds no address and whose public link is down.
//
// Rules:
//  - decide only on a clear picture: exactly one LB holds the VRRP addresses, it is healthy, and
//    every LB was looked at (an LB that could not be looked at might be a second MASTER);
//  - two or more MASTERs: a split brain is under way; wait for the election to settle;
//  - a mismatch is repaired once: the watcher remembers it (IP → "from→to"), and while the same
//    mismatch persists the pass reports it instead of moving again (a move that did not stick
//    needs a person, not a loop); the memory of an IP is dropped once its routing matches;
//  - an IP the LB-down rule already moves this pass is left to it.
import type { FailoverObservation, NodeObservation, RemediationAction } from './remediation';

/** What a health pass saw of keepalived on one LB: whether it holds the VRRP addresses (MASTER); null when it could not be looked at. */
export interface VrrpObservation {
  server: string;
  master: boolean | null;
}

export interface ReconcileFacts {
  failover: readonly FailoverObservation[];
  nodes: readonly NodeObservation[];
  vrrp: readonly VrrpObservation[];
  /** IPs whose mismatch was already repaired once, with the mismatch ("<from>→<to>"). */
  reconciled: Readonly<Record<string, string>>;
  /** IPs another rule moves in this pass. */
  moving: readonly string[];
}

export const RECONCILE_REASON = 'reconcile';

export function decideReconcile(facts: ReconcileFacts): { actions: RemediationAction[]; reconciled: Record<string, string> } {
  const reconciled = { ...facts.reconciled };
  const actions: RemediationAction[] = [];
  const masters = facts.vrrp.filter((v) => v.master === true).map((v) => v.server);
  const unknown = facts.vrrp.filter((v) => v.master === null).map((v) => v.server);
  for (const f of facts.failover) {
    if (f.routedTo !== null && masters.length === 1 && f.routedTo === masters[0]) delete reconciled[f.ip];
  }
  if (facts.vrrp.length === 0 || unknown.length > 0 || masters.length !== 1) {
    if (masters.length > 1) {
      for (const f of facts.failover) actions.push({ kind: 'split-brain', ip: f.ip, why: `${masters.join(' and ')} are all VRRP MASTER; waiting for the election to settle` });
    }
    return { actions, reconciled };
  }
  const master = masters[0];
  const healthy = facts.nodes.some((n) => n.server === master && n.role === 'lb' && n.healthy);
  if (!healthy) return { actions, reconciled };
  for (const f of facts.failover) {
    if (f.routedTo === master || facts.moving.includes(f.ip)) continue;
    const mismatch = `${f.routedTo ?? 'nowhere'}→${master}`;
    if (reconciled[f.ip] === mismatch) {
      actions.push({ kind: 'split-brain', ip: f.ip, why: `still routed to ${f.routedTo ?? 'nowhere'} while ${master} is VRRP MASTER, after one reconcile; not moving again — check the failover runs of ${f.ip}` });
      continue;
    }
    reconciled[f.ip] = mismatch;
    actions.push({
      kind: 'failover',
      ip: f.ip,
      from: f.routedTo,
      to: master,
      reason: RECONCILE_REASON,
      why: `routed to ${f.routedTo ?? 'nowhere'} but ${master} is the VRRP MASTER and healthy (a BACKUP that was briefly MASTER moved it)`,
    });
  }
  return { actions, reconciled };
}
