// The health schedule `<cluster>/health`: a Temporal Schedule that starts one healthCheck
// watch window per window length (default 1 h); overlap BUFFER_ONE, so a window that ends a
// little after the next start time is followed at once by the next, with no gap.
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription } from '@temporalio/client';
import { CLUSTER, OPERATION } from '../core/search-attributes';
import { schedulePhaseMs } from '../core/schedule/phase';
import { parseDuration } from '../core/spec/duration';
import type { ClusterSpec } from '../core/spec/schema';
import { workflowIds } from '../core/workflow-ids';
import { DEFAULT_WINDOW, type HealthCheckInput } from '../workflows/health-check';
import { applySpec } from './start';

/**
 * Every interval, at the cluster's own phase (core/schedule/phase.ts): schedules of many
 * clusters spread over the interval instead of firing together.
 */
function scheduleSpec(cluster: string, every: string) {
  const ms = parseDuration(every);
  return { intervals: [{ every: ms, offset: schedulePhaseMs(cluster, ms) }] };
}

export interface ScheduleResult {
  scheduleId: string;
  created: boolean;
  /** Probe interval: the override, or the spec's health.interval. */
  every: string;
  window: string;
}

/**
 * Applies the spec to the cluster's spec store, then creates the schedule, or updates it
 * when it exists. Idempotent. Each window loads the accepted spec itself and notices a new
 * one, so a later `autok8s apply` (health.interval included) reaches the running window
 * without touching the schedule. `every` overrides health.interval (demos, tests).
 */
export async function upsertHealthSchedule(client: Client, taskQueue: string, spec: ClusterSpec, every?: string, window: string = DEFAULT_WINDOW): Promise<ScheduleResult> {
  await applySpec(client, taskQueue, spec);
  const scheduleId = workflowIds.health(spec.metadata.name);
  const input: HealthCheckInput = { cluster: spec.metadata.name, window, ...(every !== undefined ? { every } : {}) };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'healthCheck',
    args: [input],
    taskQueue,
    workflowId: `${scheduleId}/window`,
    typedSearchAttributes: [
      { key: CLUSTER, value: spec.metadata.name },
      { key: OPERATION, value: 'health' as const },
    ],
  };
  try {
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec: scheduleSpec(spec.metadata.name, window), action }));
    return { scheduleId, created: false, every: every ?? spec.health.interval, window };
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  await client.schedule.create({
    scheduleId,
    spec: scheduleSpec(spec.metadata.name, window),
    action,
    policies: { overlap: ScheduleOverlapPolicy.BUFFER_ONE, catchupWindow: '1 minute' },
    state: { note: `autok8s health watch of ${spec.metadata.name}` },
  });
  // The first window now, not up to a window later at the schedule's first time; the
  // scheduled runs then follow it back to back (BUFFER_ONE). SKIP, not trigger()'s default
  // ALLOW_ALL, which would run a second window beside one already started.
  await client.schedule.getHandle(scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
  return { scheduleId, created: true, every: every ?? spec.health.interval, window };
}

export async function describeHealthSchedule(client: Client, cluster: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(workflowIds.health(cluster)).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}
