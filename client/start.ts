// Starting autok8s workflows the one right way: business-key workflow IDs, a conflict
// policy that joins a running workflow instead of starting a second one, and typed search
// attributes so the Web UI can filter by cluster and operation.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { CLUSTER, OPERATION, type Operation } from '../core/search-attributes';
import type { ClusterSpec } from '../core/spec/schema';
import { workflowIds } from '../core/workflow-ids';
import type { FailoverIpInput } from '../workflows/failover-ip';
import type { failoverIp } from '../workflows';

export interface Started<T> {
  handle: T;
  workflowId: string;
  runId: string;
}

function searchAttributes(spec: ClusterSpec, operation: Operation) {
  return [
    { key: CLUSTER, value: spec.metadata.name },
    { key: OPERATION, value: operation },
  ];
}

export async function startFailover(
  client: Client,
  taskQueue: string,
  spec: ClusterSpec,
  input: Omit<FailoverIpInput, 'spec' | 'specFile'>,
): Promise<Started<WorkflowHandle<typeof failoverIp>>> {
  const workflowId = workflowIds.failover(spec.metadata.name, input.ip);
  const handle = await client.workflow.start<typeof failoverIp>('failoverIp', {
    taskQueue,
    workflowId,
    args: [{ ...input, spec }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: searchAttributes(spec, 'failover'),
  });
  // With USE_EXISTING this is the running workflow's run when one was already going.
  return { handle, workflowId, runId: handle.firstExecutionRunId };
}
