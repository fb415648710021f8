// Starting autok8s workflows the one right way: business-key workflow IDs, a conflict
// policy that joins a running workflow instead of starting a second one, and typed search
// attributes so the Web UI can filter by cluster and operation.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { CLUSTER, OPERATION, type Operation } from '../core/search-attributes';
import type { ClusterSpec } from '../core/spec/schema';
import { workflowIds } from '../core/workflow-ids';
import type { FailoverIpInput } from '../workflows/failover-ip';
import type { bootstrapCluster, failoverIp, replaceNode } from '../workflows';
import type { BootstrapClusterInput } from '../workflows/bootstrap-cluster';
import type { ReplaceNodeInput } from '../workflows/replace-node';
import { SERVER } from '../core/search-attributes';

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

export async function startBootstrap(
  client: Client,
  taskQueue: string,
  spec: ClusterSpec,
  input: Omit<BootstrapClusterInput, 'spec' | 'specFile'> = {},
): Promise<Started<WorkflowHandle<typeof bootstrapCluster>>> {
  const workflowId = workflowIds.bootstrap(spec.metadata.name);
  const handle = await client.workflow.start<typeof bootstrapCluster>('bootstrapCluster', {
    taskQueue,
    workflowId,
    args: [{ ...input, spec }],
    // A second `autok8s bootstrap` while one runs follows the running one.
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: searchAttributes(spec, 'bootstrap'),
  });
  return { handle, workflowId, runId: handle.firstExecutionRunId };
}

export async function startReplace(
  client: Client,
  taskQueue: string,
  spec: ClusterSpec,
  input: Omit<ReplaceNodeInput, 'spec' | 'specFile'>,
): Promise<Started<WorkflowHandle<typeof replaceNode>>> {
  const workflowId = workflowIds.replace(spec.metadata.name, input.server, input.role);
  const handle = await client.workflow.start<typeof replaceNode>('replaceNode', {
    taskQueue,
    workflowId,
    args: [{ ...input, spec }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [...searchAttributes(spec, 'replace'), { key: SERVER, value: input.server }],
  });
  return { handle, workflowId, runId: handle.firstExecutionRunId };
}
