// Reading the cluster watcher for the health tests: the passes it received (each pass's
// observation and the actions it decided), and from its history how many remediations it
// ever ran at once. Tests wait on these events instead of sleeping "long enough".
import type { temporal } from '@temporalio/proto';
import type { RemediationAction } from '../../core/policies/remediation';
import type { WatcherState } from '../../core/health/watcher';
import { waitUntil } from './temporal';

export interface Pass {
  /** The pass's observation time (its workflow clock), which tells passes apart. */
  at: number;
  healthy: boolean;
  actions: RemediationAction[];
}

const passOf = (s: WatcherState): Pass | undefined =>
  s.lastObservation && { at: s.lastObservation.at, healthy: s.lastObservation.nodes.every((n) => n.healthy), actions: s.lastActions };

/**
 * Polls the watcher's status until `done` holds for the passes it received after this call
 * (oldest first); returns those passes. Passes come every second; polling every 100 ms sees
 * each one.
 */
export async function passesUntil(
  status: () => Promise<WatcherState>,
  what: string,
  done: (passes: Pass[], state: WatcherState) => boolean,
  timeoutMs = 30_000,
  /** Also skip passes that observed before this time (ms since the epoch): a pass in flight when something changed reports after it. */
  observedAfter = 0,
): Promise<Pass[]> {
  const since = Math.max((await status().catch(() => undefined))?.lastObservation?.at ?? 0, observedAfter);
  const passes: Pass[] = [];
  await waitUntil(
    what,
    async () => {
      const state = await status().catch(() => undefined);
      if (!state) return false;
      const pass = passOf(state);
      if (pass && pass.at > since && pass.at !== passes.at(-1)?.at) passes.push(pass);
      return done(passes, state);
    },
    timeoutMs,
    100,
  );
  return passes;
}

/** Waits for `n` more passes (observed after `observedAfter`, if given) and returns them. */
export const nextPasses = (status: () => Promise<WatcherState>, n: number, timeoutMs = 30_000, observedAfter = 0) =>
  passesUntil(status, `${n} more health passes`, (p) => p.length >= n, timeoutMs, observedAfter);

/** Waits for a pass after this call that finds every node healthy, with no repair running. */
export const healthyAgain = (status: () => Promise<WatcherState>, timeoutMs = 30_000) =>
  passesUntil(status, 'a pass finds the cluster healthy again', (p, state) => p.length > 0 && p.at(-1)!.healthy && state.inFlight.length === 0, timeoutMs);

/** What a pass decided for one node, as "<kind>: <why>", or undefined when it decided nothing for it. */
export function decisionFor(pass: Pass, server: string, role: string): string | undefined {
  const action = pass.actions.find((a) => 'server' in a && a.server === server && a.role === role);
  return action && `${action.kind}: ${action.why}`;
}

/**
 * Pure: the most remediations (rebootVm activities and replaceNode children) that a watcher
 * history shows running at the same time.
 */
export function mostRemediationsAtOnce(history: temporal.api.history.v1.IHistory): number {
  const open = new Set<string>();
  let most = 0;
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'rebootVm') open.add(`activity ${e.eventId}`);
    for (const end of [e.activityTaskCompletedEventAttributes, e.activityTaskFailedEventAttributes, e.activityTaskTimedOutEventAttributes, e.activityTaskCanceledEventAttributes]) {
      if (end) open.delete(`activity ${end.scheduledEventId}`);
    }
    if (e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === 'replaceNode') open.add(`child ${e.eventId}`);
    for (const end of [
      e.startChildWorkflowExecutionFailedEventAttributes,
      e.childWorkflowExecutionCompletedEventAttributes,
      e.childWorkflowExecutionFailedEventAttributes,
      e.childWorkflowExecutionCanceledEventAttributes,
      e.childWorkflowExecutionTimedOutEventAttributes,
      e.childWorkflowExecutionTerminatedEventAttributes,
    ]) {
      if (end) open.delete(`child ${end.initiatedEventId}`);
    }
    most = Math.max(most, open.size);
  }
  return most;
}
