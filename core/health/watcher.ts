// What the cluster's watcher (workflows/cluster-watcher.ts) keeps between health passes and
// answers to its status query: shared by the watcher, the activity that reports to it, and
// the CLI, demo and bench that read it.
import type { NodeHistory, RemediationAction } from '../policies/remediation';
import type { ClusterObservation } from './observation';

export interface WatcherState {
  history: Record<string, NodeHistory>;
  /** Node keys (`server/role`) with a reboot or replacement running. */
  inFlight: string[];
  recent: { at: number; action: RemediationAction; outcome?: string }[];
  lastObservation?: ClusterObservation;
  lastActions: RemediationAction[];
  /** Failover IPs the split-brain reconcile moved, with the mismatch it repaired ("<from>→<to>"): not repaired twice. */
  reconciled?: Record<string, string>;
}

/**
 * One health pass's report to the watcher: what it saw, and the generation of the accepted
 * spec it saw it with. Never a spec: the watcher loads that generation from the cluster's
 * spec store itself, so a forged report cannot hand it endpoints or secrets.
 */
export interface WatcherReport {
  observation: ClusterObservation;
  generation: string;
}

/** The watcher's answer to a watch window's report: what it decided, and when that decision could change with nothing new to see (core/health/watch-window.ts). */
export interface WatcherAnswer {
  actions: RemediationAction[];
  recheckAt?: number;
}
