// Making a worker's deployment version the deployment's Current Version. A versioned worker
// gets no task until its version is current (or ramping): the server keeps new runs for
// the current version, and with none current, for unversioned workers only.
//
// Who does it: a worker whose deployment has no current version yet makes itself current
// (the first deployment, a fresh dev server, a test run), and the dev/demo stack, the only
// worker of its deployment, always does. A new build in production waits for the operator's
// `temporal worker deployment set-current-version` (README, "Changing a workflow"), so
// starting a worker never moves new runs onto code nobody chose to roll out.
import { hostname } from 'node:os';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import type { WorkflowService } from '@temporalio/client';

export type CurrentVersionPolicy =
  /** Become current only when the deployment has no current version. */
  | 'if-none'
  /** Become current whatever is current now: for a stack that is the deployment's only worker. */
  | 'always';

export type CurrentVersionDecision = 'already-current' | 'make-current' | 'another-is-current';

/** What a worker starting with `policy` does, given the deployment's current build ID (undefined: none). */
export function decideCurrentVersion(policy: CurrentVersionPolicy, currentBuildId: string | undefined, ownBuildId: string): CurrentVersionDecision {
  if (currentBuildId === ownBuildId) return 'already-current';
  if (currentBuildId === undefined || policy === 'always') return 'make-current';
  return 'another-is-current';
}

export interface CurrentVersionOutcome {
  outcome: 'already-current' | 'made-current' | 'another-is-current';
  /** The deployment's current build ID afterwards. */
  currentBuildId: string;
}

/** The command an operator runs to make `v` current (README, "Changing a workflow"). */
export function setCurrentCommand(v: WorkerDeploymentVersion): string {
  return `temporal worker deployment set-current-version --deployment-name ${v.deploymentName} --build-id '${v.buildId}' --yes`;
}

/** One line for the worker's start-up log. */
export function describeCurrentVersion(v: WorkerDeploymentVersion, o: CurrentVersionOutcome): string {
  const self = `deployment ${v.deploymentName}, build ${v.buildId}`;
  if (o.outcome === 'made-current') return `${self} (made current)`;
  if (o.outcome === 'already-current') return `${self} (current)`;
  return `${self} (not current: ${o.currentBuildId} is; this worker gets new runs once it is made current: ${setCurrentCommand(v)})`;
}

const GRPC_NOT_FOUND = 5;
const GRPC_FAILED_PRECONDITION = 9; // among others, a conflict token that no longer matches
const GRPC_ABORTED = 10;
const ATTEMPTS = 5;

async function currentOf(service: WorkflowService, namespace: string, deploymentName: string): Promise<{ currentBuildId?: string; conflictToken?: Uint8Array }> {
  try {
    const { workerDeploymentInfo, conflictToken } = await service.describeWorkerDeployment({ namespace, deploymentName });
    return { currentBuildId: workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId || undefined, conflictToken: conflictToken ?? undefined };
  } catch (err) {
    // No worker of this deployment has polled yet and nobody set a version: none is current.
    if ((err as { code?: number }).code === GRPC_NOT_FOUND) return {};
    throw err;
  }
}

const ROUTING_UPDATE_IN_PROGRESS = 1; // temporal.api.enums.v1.RoutingConfigUpdateState
const PROPAGATION_WAIT_MS = 30_000;

/**
 * The server accepts a new current version at once and then tells the deployment's task
 * queues; until they know, their new runs still go to the version current before. Waiting
 * here means "the worker is up" also means "new runs come to it". After the bound the worker
 * starts anyway: the routing arrives without it, a little later.
 */
async function untilRoutingPropagated(service: WorkflowService, namespace: string, deploymentName: string): Promise<void> {
  const deadline = Date.now() + PROPAGATION_WAIT_MS;
  while (Date.now() < deadline) {
    const { workerDeploymentInfo } = await service.describeWorkerDeployment({ namespace, deploymentName });
    if (workerDeploymentInfo?.routingConfigUpdateState !== ROUTING_UPDATE_IN_PROGRESS) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Makes `version` current when `policy` says so. Workers of one build starting together
 * (test files, replicas) may race: a request refused because the deployment changed since
 * it was read is decided again on a fresh read.
 */
export async function ensureCurrentVersion(
  service: WorkflowService,
  o: { namespace: string; version: WorkerDeploymentVersion; policy: CurrentVersionPolicy },
): Promise<CurrentVersionOutcome> {
  const { deploymentName, buildId } = o.version;
  for (let attempt = 1; ; attempt++) {
    const { currentBuildId, conflictToken } = await currentOf(service, o.namespace, deploymentName);
    const decision = decideCurrentVersion(o.policy, currentBuildId, buildId);
    if (decision !== 'make-current') return { outcome: decision, currentBuildId: currentBuildId! };
    try {
      await service.setWorkerDeploymentCurrentVersion({
        namespace: o.namespace,
        deploymentName,
        buildId,
        conflictToken,
        identity: `autok8s worker ${process.pid}@${hostname()}`,
        // This worker polls as soon as it runs; the server has not seen it poll yet.
        allowNoPollers: true,
        // 'always' is for a stack whose one worker replaces the last one on the same task queue.
        ignoreMissingTaskQueues: o.policy === 'always',
      });
      await untilRoutingPropagated(service, o.namespace, deploymentName);
      return { outcome: 'made-current', currentBuildId: buildId };
    } catch (err) {
      const code = (err as { code?: number }).code;
      if ((code === GRPC_FAILED_PRECONDITION || code === GRPC_ABORTED) && attempt < ATTEMPTS) continue;
      throw new Error(`could not make ${deploymentName} build ${buildId} the current version: ${(err as Error).message}. Set it with: ${setCurrentCommand(o.version)}`, { cause: err });
    }
  }
}
