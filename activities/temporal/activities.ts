// Activities that talk to Temporal itself. Workflows cannot signal-with-start or
// update-with-start a workflow they do not parent, so these do it for them: reaching the
// per-cluster lock, handing a health pass's report to the cluster's watcher, and
// checking whether a lock holder still runs.
import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { RemediationAction } from '../../core/policies/remediation';
import type { WatcherReport } from '../../core/health/watcher';
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
      const startWorkflowOperation = new WithStartWorkflowOperation('clusterWatcher', {
        workflowId: workflowIds.watcher(cluster),
        taskQueue: Context.current().info.taskQueue,
        args: [{ cluster }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: [
          { key: CLUSTER, value: cluster },
          { key: OPERATION, value: 'watch' },
        ],
      });
      return deps.client().workflow.executeUpdateWithStart<any, RemediationAction[], [WatcherReport]>('report', {
        args: [report],
        startWorkflowOperation,
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
