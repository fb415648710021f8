// Building a worker: one task queue, the workflow bundle and the activity set, as one
// version of the autok8s Worker Deployment (worker/deployment.ts).
import type { DataConverter, WorkerDeploymentVersion } from '@temporalio/common';
import { NativeConnection, Runtime, Worker, DefaultLogger } from '@temporalio/worker';
import { UsageError } from '../client/errors';
import type { TemporalConnection } from '../client/temporal-connection';
import { activityClient } from './activity-client';
import { cannotReachTemporal } from '../client/tls-probe';
import { payloadDataConverter } from '../codec/data-converter';
import { TASK_QUEUE } from '../core/workflow-ids';
import { createActivities, type ActivityDeps } from '../activities';
import { workflowBundle } from './bundle';
import { ensureCurrentVersion, type CurrentVersionOutcome, type CurrentVersionPolicy } from './current-version';
import { deploymentVersionFromEnv, deploymentVersionProblem, type DeploymentVersionOf } from './deployment';

export interface WorkerOptions {
  /** Where Temporal is and how to authenticate: temporalConnection() (the environment) or localTemporalConnection(). */
  connection: TemporalConnection;
  taskQueue?: string;
  deps?: ActivityDeps;
  /** Bounds on concurrency; defaults suit one small VM. */
  maxConcurrentActivityTaskExecutions?: number;
  /** Defaults to the environment's (codec/data-converter.ts: encrypted when AUTOK8S_PAYLOAD_KEYS is set). */
  dataConverter?: DataConverter;
  /** Deployment name and build ID; defaults to the environment's (AUTOK8S_DEPLOYMENT_NAME, AUTOK8S_BUILD_ID, the checkout). */
  deployment?: WorkerDeploymentVersion;
  /** When this worker makes its version the deployment's current one (worker/current-version.ts); default 'if-none'. */
  currentVersion?: CurrentVersionPolicy;
}

let runtimeInstalled = false;

/** Keeps the SDK's own logging to warnings, so CLI output stays readable. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already installed by someone else in this process: keep theirs.
  }
}

export interface CreatedWorker {
  worker: Worker;
  deployment: DeploymentVersionOf;
  /** Whether this worker's version is the deployment's current one, which new runs go to. */
  current: CurrentVersionOutcome;
  /** Closes the worker's connections; call after `worker.run()` has returned. */
  close(): Promise<void>;
}

export async function createWorker(options: WorkerOptions): Promise<CreatedWorker> {
  installQuietRuntime();
  // First, so a keyring that cannot be used stops the worker before it connects.
  const dataConverter = options.dataConverter ?? payloadDataConverter();
  const deployment = options.deployment ? { ...options.deployment, commitKnown: true } : deploymentVersionFromEnv();
  const problem = deploymentVersionProblem(deployment);
  if (problem) throw new UsageError(problem); // exit status 2: nothing was started
  const { options: connectionOptions, namespace } = options.connection;
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(connectionOptions);
  } catch (err) {
    throw await cannotReachTemporal(options.connection, err, 'check TEMPORAL_ADDRESS and the TEMPORAL_TLS_* / TEMPORAL_API_KEY settings');
  }
  // Activities that signal other workflows (the cluster lock, the spec store) use a client of their own, made on first use.
  const activitiesClient = activityClient(connectionOptions, namespace, dataConverter);
  const temporal = activitiesClient.client;
  try {
    // Before the Worker is built: the server keeps new runs for this version until it polls,
    // and a built Worker cannot be let go without running it, so this failure must come first.
    const current = await ensureCurrentVersion(connection.workflowService, { namespace, version: deployment, policy: options.currentVersion ?? 'if-none' });
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue: options.taskQueue ?? TASK_QUEUE,
      workflowBundle: await workflowBundle(),
      dataConverter,
      activities: createActivities({ ...options.deps, temporal }),
      // Each watched cluster's watch window holds one slot for its whole window, asleep between
      // probes (docs/design.md §9): 500 watched clusters and 100 slots for everything else.
      maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 600,
      // On shutdown, in-flight activities are cancelled at once (they resume on another worker
      // from their heartbeats); one that does not stop within 25 s is abandoned rather than
      // holding the process: compose gives the container 30 s (stop_grace_period).
      shutdownForceTime: '25s',
      workerDeploymentOptions: {
        useWorkerVersioning: true,
        version: { deploymentName: deployment.deploymentName, buildId: deployment.buildId },
        // Each workflow states its own (workflows/versioning.ts); pinned is the safe default.
        defaultVersioningBehavior: 'PINNED',
      },
    });
    return {
      worker,
      deployment,
      current,
      async close() {
        await activitiesClient.close();
        await connection.close();
      },
    };
  } catch (err) {
    await connection.close();
    throw err;
  }
}
