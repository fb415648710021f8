// Starting autok8s workflows the one right way: the spec applied to the cluster's spec store
// first (when the caller has one), then an intent-only input, a business-key workflow ID, a
// conflict policy that joins a running workflow instead of starting a second one, and typed
// search attributes so the Web UI can filter by cluster and operation.
import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { BootstrapIntent, FailoverIntent, LbLinkRequest, ReplaceIntent } from '../core/intents';
import { CLUSTER, OPERATION, SERVER, type Operation } from '../core/search-attributes';
import type { ClusterSpec } from '../core/spec/schema';
import { workflowIds } from '../core/workflow-ids';
import type { bootstrapCluster, clusterSpec, failoverIp, lbLink, replaceNode } from '../workflows';
import type { ApplyResult } from '../workflows/cluster-spec';
import { UsageError } from './errors';
import { rootCauseMessage } from './failure';

export interface Started<T> {
  handle: T;
  workflowId: string;
  runId: string;
  /** The generation the run was started with, when the spec was applied on the way. */
  generation?: string;
}

/** A cluster by name (its spec store already has a spec), or a spec to apply first. */
export type ClusterTarget = string | ClusterSpec;

function searchAttributes(cluster: string, operation: Operation) {
  return [
    { key: CLUSTER, value: cluster },
    { key: OPERATION, value: operation },
  ];
}

/**
 * Sends `spec` to its cluster's spec store (starting the store if needed). The store's
 * validator and the worker's policy decide; a refusal comes back as the update's failure.
 */
export async function applySpec(client: Client, taskQueue: string, spec: ClusterSpec, note?: string): Promise<ApplyResult> {
  const cluster = spec.metadata.name;
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof clusterSpec>('clusterSpec', {
    workflowId: workflowIds.spec(cluster),
    taskQueue,
    args: [{ cluster }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: searchAttributes(cluster, 'spec'),
  });
  try {
    return await client.workflow.executeUpdateWithStart<typeof clusterSpec, ApplyResult, [{ spec: ClusterSpec; note?: string }]>('apply', {
      args: [{ spec, ...(note !== undefined ? { note } : {}) }],
      startWorkflowOperation,
    });
  } catch (err) {
    // A refusal is the spec's fault (schema, another cluster's name, outside the worker's policy): bad input.
    if (err instanceof WorkflowUpdateFailedError) throw new UsageError(`the spec store of ${cluster} refused the spec: ${rootCauseMessage(err)}`);
    throw err;
  }
}

/** The cluster's name and, when a spec was given, the generation it became. */
async function resolveTarget(client: Client, taskQueue: string, target: ClusterTarget): Promise<{ cluster: string; generation?: string }> {
  if (typeof target === 'string') return { cluster: target };
  const applied = await applySpec(client, taskQueue, target);
  return { cluster: applied.cluster, generation: applied.generation };
}

/** The memo key a failoverIp run carries its requested target under (null: none requested). */
export const FAILOVER_TARGET_MEMO = 'requestedTo';

/** How many open runs for other targets a targeted trigger waits out before it gives up joining. */
const FAILOVER_QUEUE_ROUNDS = 3;

/**
 * Whether a trigger that asked for `requested` and was joined to an open run (USE_EXISTING)
 * must wait for that run and start its own: the run was started for another target. A trigger
 * without a target joins anything; so does one joined to a run for the same target (a storm).
 */
export function mustQueueBehind(requested: string | undefined, joinedRunTarget: unknown): boolean {
  if (requested === undefined) return false;
  return joinedRunTarget !== requested;
}

/**
 * Starts failoverIp, or joins the run already open for the IP (a storm of triggers makes one
 * move). A trigger naming a target (keepalived's notify_master: `--to <itself>`) that finds a
 * run started for ANOTHER target waits for that run to end and then starts its own: joining
 * would end with the IP where the other run put it (the previous MASTER's), and nothing but the
 * health pass's reconcile would move it (docs/design.md §10.6). Bounded: after
 * FAILOVER_QUEUE_ROUNDS such runs it returns the last one joined.
 */
export async function startFailover(
  client: Client,
  taskQueue: string,
  target: ClusterTarget,
  input: Omit<FailoverIntent, 'cluster' | 'generation'>,
): Promise<Started<WorkflowHandle<typeof failoverIp>>> {
  const { cluster, generation } = await resolveTarget(client, taskQueue, target);
  const workflowId = workflowIds.failover(cluster, input.ip);
  for (let round = 0; ; round += 1) {
    const handle = await client.workflow.start<typeof failoverIp>('failoverIp', {
      taskQueue,
      workflowId,
      args: [{ ...input, cluster, ...(generation ? { generation } : {}) }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: searchAttributes(cluster, 'failover'),
      memo: { [FAILOVER_TARGET_MEMO]: input.to ?? null },
    });
    // With USE_EXISTING this is the running workflow's run when one was already going.
    const started = { handle, workflowId, runId: handle.firstExecutionRunId, generation };
    if (input.to === undefined || round >= FAILOVER_QUEUE_ROUNDS) return started;
    const run = await client.workflow.getHandle<typeof failoverIp>(workflowId, handle.firstExecutionRunId).describe();
    if (run.status.name !== 'RUNNING' || !mustQueueBehind(input.to, run.memo?.[FAILOVER_TARGET_MEMO])) return started;
    // Its outcome is that run's own to report; this trigger only needs it over.
    await handle.result().catch(() => undefined);
  }
}

export async function startBootstrap(
  client: Client,
  taskQueue: string,
  target: ClusterTarget,
  input: Omit<BootstrapIntent, 'cluster' | 'generation'> = {},
): Promise<Started<WorkflowHandle<typeof bootstrapCluster>>> {
  const { cluster, generation } = await resolveTarget(client, taskQueue, target);
  const workflowId = workflowIds.bootstrap(cluster);
  const handle = await client.workflow.start<typeof bootstrapCluster>('bootstrapCluster', {
    taskQueue,
    workflowId,
    args: [{ ...input, cluster, ...(generation ? { generation } : {}) }],
    // A second `autok8s bootstrap` while one runs follows the running one.
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: searchAttributes(cluster, 'bootstrap'),
  });
  return { handle, workflowId, runId: handle.firstExecutionRunId, generation };
}

export async function startReplace(
  client: Client,
  taskQueue: string,
  target: ClusterTarget,
  input: Omit<ReplaceIntent, 'cluster' | 'generation'>,
): Promise<Started<WorkflowHandle<typeof replaceNode>>> {
  const { cluster, generation } = await resolveTarget(client, taskQueue, target);
  const workflowId = workflowIds.replace(cluster, input.server, input.role);
  const handle = await client.workflow.start<typeof replaceNode>('replaceNode', {
    taskQueue,
    workflowId,
    args: [{ ...input, cluster, ...(generation ? { generation } : {}) }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [...searchAttributes(cluster, 'replace'), { key: SERVER, value: input.server }],
  });
  return { handle, workflowId, runId: handle.firstExecutionRunId, generation };
}

/**
 * Asks for an LB VM's public link to be `up` or `down`: starts `<cluster>/lb-link/<server>`
 * with the request, or, while that run goes on, sends it the request as a `linkRequest`
 * signal (signal-with-start, one atomic call). The run leaves the link in the state of the
 * request made last (workflows/lb-link.ts).
 */
export async function startLbLink(
  client: Client,
  taskQueue: string,
  target: ClusterTarget,
  input: { server: string } & LbLinkRequest,
): Promise<Started<WorkflowHandle<typeof lbLink>>> {
  const { cluster, generation } = await resolveTarget(client, taskQueue, target);
  const workflowId = workflowIds.lbLink(cluster, input.server);
  const { server, ...request } = input;
  const handle = await client.workflow.signalWithStart<typeof lbLink, [LbLinkRequest]>('lbLink', {
    taskQueue,
    workflowId,
    args: [{ cluster, server, ...request }],
    signal: 'linkRequest',
    signalArgs: [request],
    typedSearchAttributes: [...searchAttributes(cluster, 'lb-link'), { key: SERVER, value: server }],
  });
  return { handle, workflowId, runId: handle.signaledRunId, generation };
}
