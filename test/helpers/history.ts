// What a workflow history says about its activities: each one's type, how many attempts it
// took and how it ended. Tests read retries from here ("failed once, not retried") instead
// of inferring them from how long a run took.
import { decodeRetryState, defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

export interface ActivityRun {
  type: string;
  /** The attempt that ended the activity (the server records only the last start). 0 while none started. */
  attempts: number;
  outcome: 'open' | 'completed' | 'failed' | 'timed out' | 'canceled';
  /** Why a failed activity was not retried further: NON_RETRYABLE_FAILURE, MAXIMUM_ATTEMPTS_REACHED, ... */
  retryState?: string;
}

const idOf = (id: unknown): string => String(id);

/** Pure: every activity the history scheduled, in order. */
export function activityRuns(history: temporal.api.history.v1.IHistory): ActivityRun[] {
  const runs = new Map<string, ActivityRun>();
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes) runs.set(idOf(e.eventId), { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', attempts: 0, outcome: 'open' });
    const started = e.activityTaskStartedEventAttributes;
    if (started) runs.get(idOf(started.scheduledEventId))!.attempts = started.attempt ?? 0;
    if (e.activityTaskCompletedEventAttributes) runs.get(idOf(e.activityTaskCompletedEventAttributes.scheduledEventId))!.outcome = 'completed';
    const failed = e.activityTaskFailedEventAttributes;
    if (failed) Object.assign(runs.get(idOf(failed.scheduledEventId))!, { outcome: 'failed', retryState: decodeRetryState(failed.retryState) });
    const timedOut = e.activityTaskTimedOutEventAttributes;
    if (timedOut) Object.assign(runs.get(idOf(timedOut.scheduledEventId))!, { outcome: 'timed out', retryState: decodeRetryState(timedOut.retryState) });
    if (e.activityTaskCanceledEventAttributes) runs.get(idOf(e.activityTaskCanceledEventAttributes.scheduledEventId))!.outcome = 'canceled';
  }
  return [...runs.values()];
}

export interface TimelineEvent {
  kind: 'activity scheduled' | 'activity closed' | 'child started' | 'child closed';
  /** The activity type or the child's workflow type. */
  name: string;
  /** The activity's arguments (payloads in clear), for telling calls of one type apart. */
  args: unknown[];
}

/**
 * Pure: the order in which a workflow scheduled and closed its activities and children (a
 * history has one total order, the event IDs), to say "A began before B ended" without clocks.
 */
export function timeline(history: temporal.api.history.v1.IHistory): TimelineEvent[] {
  const scheduled = new Map<string, TimelineEvent>();
  const out: TimelineEvent[] = [];
  const argsOf = (payloads: temporal.api.common.v1.IPayload[] | null | undefined) => (payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p));
  for (const e of history.events ?? []) {
    const activity = e.activityTaskScheduledEventAttributes;
    if (activity) {
      const event: TimelineEvent = { kind: 'activity scheduled', name: activity.activityType?.name ?? '?', args: argsOf(activity.input?.payloads) };
      scheduled.set(`activity ${idOf(e.eventId)}`, event);
      out.push(event);
    }
    for (const end of [e.activityTaskCompletedEventAttributes, e.activityTaskFailedEventAttributes, e.activityTaskTimedOutEventAttributes, e.activityTaskCanceledEventAttributes]) {
      const from = end && scheduled.get(`activity ${idOf(end.scheduledEventId)}`);
      if (from) out.push({ ...from, kind: 'activity closed' });
    }
    const child = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (child) {
      const event: TimelineEvent = { kind: 'child started', name: child.workflowType?.name ?? '?', args: argsOf(child.input?.payloads) };
      scheduled.set(`child ${idOf(e.eventId)}`, event);
      out.push(event);
    }
    for (const end of [
      e.childWorkflowExecutionCompletedEventAttributes,
      e.childWorkflowExecutionFailedEventAttributes,
      e.childWorkflowExecutionCanceledEventAttributes,
      e.childWorkflowExecutionTimedOutEventAttributes,
      e.childWorkflowExecutionTerminatedEventAttributes,
    ]) {
      const from = end && scheduled.get(`child ${idOf(end.initiatedEventId)}`);
      if (from) out.push({ ...from, kind: 'child closed' });
    }
  }
  return out;
}
