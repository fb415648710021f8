// The health schedule `<cluster>/health`: a Temporal Schedule that starts one healthCheck
// pass per interval, skipping a pass while the previous one still runs.
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription } from '@temporalio/client';
import { CLUSTER, OPERATION } from '../core/search-attributes';
import { schedulePhaseMs } from '../core/schedule/phase';
import { parseDuration } from '../core/spec/duration';
import type { ClusterSpec } from '../core/spec/schema';
import { workflowIds } from '../core/workflow-ids';
import type { HealthCheckInput } from '../workflows/health-check';
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
  every: string;
}

/**
 * Applies the spec to the cluster's spec store, then creates the schedule, or updates its
 * interval when it exists. Idempotent. Each pass loads the accepted spec itself, so a later
 * `autok8s apply` reaches the passes without touching the schedule.
 */
export async function upsertHealthSchedule(client: Client, taskQueue: string, spec: ClusterSpec, every: string): Promise<ScheduleResult> {
  await applySpec(client, taskQueue, spec);
  const scheduleId = workflowIds.health(spec.metadata.name);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'healthCheck',
    args: [{ cluster: spec.metadata.name } satisfies HealthCheckInput],
    taskQueue,
    workflowId: `${scheduleId}/pass`,
    typedSearchAttributes: [
      { key: CLUSTER, value: spec.metadata.name },
      { key: OPERATION, value: 'health' as const },
    ],
  };
  try {
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec: scheduleSpec(spec.metadata.name, every), action }));
    return { scheduleId, created: false, every };
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  await client.schedule.create({
    scheduleId,
    spec: scheduleSpec(spec.metadata.name, every),
    action,
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    state: { note: `autok8s health checks of ${spec.metadata.name}` },
  });
  return { scheduleId, created: true, every };
}

export async function describeHealthSchedule(client: Client, cluster: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(workflowIds.health(cluster)).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}
