// Activities that talk to Temporal itself. Workflows cannot signal-with-start or
// update-with-start a workflow they do not parent, so these do it for them: reaching the
// per-cluster lock, handing a health pass's report to the cluster's watcher, and
// checking whether a lock holder still runs.
import { Context } from '@temporalio/activity';
import { ScheduleNotFoundError, WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { RemediationAction } from '../../core/policies/remediation';
import type { WatcherAnswer, WatcherReport } from '../../core/health/watcher';
import { CLUSTER, OPERATION } from '../../core/search-attributes';
import { workflowIds } from '../../core/workflow-ids';
import type { LockRequest } from '../../core/cluster-lock';

export function createTemporalActivities(deps: { client: () => Client }) {
  return {
    async requestClusterLock(cluster: string, request: LockRequest): Promise<void> {
      await deps.client().workflow.signalWithStart('clusterLock', {
        workflowId: workflowIds.lock(cluster),
        taskQueue: Context.current().info.taskQueue,
        args: [{ queue: [] }],
        // Searchable with the cluster's other runs in the Web UI.
        typedSearchAttributes: [
          { key: CLUSTER, value: cluster },
          { key: OPERATION, value: 'lock' },
        ],
        signal: 'acquire',
        signalArgs: [request],
      });
    },

    async releaseClusterLock(cluster: string, workflowId: string): Promise<void> {
      try {
        await deps.client().workflow.getHandle(workflowIds.lock(cluster)).signal('release', { workflowId });
      } catch (err) {
        // No lock workflow running means nothing is held: releasing is already done.
        if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
      }
    },

    /** Gives the watcher this pass's report (starting it if needed) and returns what it decided. */
    async reportToWatcher({ cluster, report }: { cluster: string; report: WatcherReport }): Promise<RemediationAction[]> {
      return deps.client().workflow.executeUpdateWithStart<any, RemediationAction[], [WatcherReport]>('report', {
        args: [report],
        startWorkflowOperation: watcherStart(cluster),
      });
    },

    /** A watch window's report of a change: the watcher's decision and when it could change without one (update `reportChange`). */
    async reportChangeToWatcher({ cluster, report }: { cluster: string; report: WatcherReport }): Promise<WatcherAnswer> {
      return deps.client().workflow.executeUpdateWithStart<any, WatcherAnswer, [WatcherReport]>('reportChange', {
        args: [report],
        startWorkflowOperation: watcherStart(cluster),
      });
    },

    async isWorkflowRunning(workflowId: string): Promise<boolean> {
      try {
        const description = await deps.client().workflow.getHandle(workflowId).describe();
        return description.status.name === 'RUNNING';
      } catch (err) {
        if ((err as Error).name === 'WorkflowNotFoundError') return false;
        throw err;
      }
    },
  };
}

function watcherStart(cluster: string) {
  return new WithStartWorkflowOperation('clusterWatcher', {
    workflowId: workflowIds.watcher(cluster),
    taskQueue: Context.current().info.taskQueue,
    args: [{ cluster }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [
      { key: CLUSTER, value: cluster },
      { key: OPERATION, value: 'watch' },
    ],
  });
}

/**
 * Whether the schedule is paused: a describe, which Temporal does not bill as an action. No
 * schedule is not paused: a window started by hand watches, and a window whose schedule was
 * deleted ends with its window.
 */
export async function schedulePaused(client: Client, scheduleId: string): Promise<boolean> {
  try {
    return (await client.schedule.getHandle(scheduleId).describe()).state.paused;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

/**
 * A stamp of the cluster's spec store that changes with every accepted apply (each is an
 * update in its history; a continue-as-new changes the run ID): a describe, not a query, so
 * watching for a new spec costs no action; the spec is queried only when the stamp moves.
 */
export async function specStamp(client: Client, cluster: string): Promise<string | undefined> {
  try {
    const d = await client.workflow.getHandle(workflowIds.spec(cluster)).describe();
    return `${d.runId}:${d.historyLength}`;
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
    throw err;
  }
}
