// Activities that talk to Temporal itself: reaching the per-cluster lock workflow with
// signal-with-start (workflows cannot start a workflow they do not parent), and checking
// whether a lock holder still runs.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { workflowIds } from '../../core/workflow-ids';
import type { LockRequest } from '../../workflows/cluster-lock';

export function createTemporalActivities(deps: { client: () => Client }) {
  return {
    async requestClusterLock(cluster: string, request: LockRequest): Promise<void> {
      await deps.client().workflow.signalWithStart('clusterLock', {
        workflowId: workflowIds.lock(cluster),
        taskQueue: Context.current().info.taskQueue,
        args: [{ queue: [] }],
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
