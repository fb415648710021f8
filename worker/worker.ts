// Building a worker: one task queue, the workflow bundle and the activity set.
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Runtime, Worker, DefaultLogger } from '@temporalio/worker';
import { payloadDataConverter } from '../codec/data-converter';
import type { TemporalConnection } from '../client/temporal-connection';
import { cannotReachTemporal } from '../client/tls-probe';
import { TASK_QUEUE } from '../core/workflow-ids';
import { createActivities, defaultActivityDeps, type ActivityDeps } from './activities';
import { workflowBundle } from './bundle';

export interface WorkerOptions {
  /** Where Temporal is and how to authenticate: temporalConnection() (the environment) or localTemporalConnection(). */
  connection: TemporalConnection;
  taskQueue?: string;
  deps?: ActivityDeps;
  /** Bounds on concurrency; defaults suit one small VM. */
  maxConcurrentActivityTaskExecutions?: number;
  /** Defaults to the environment's (codec/data-converter.ts: encrypted when AUTOK8S_PAYLOAD_KEYS is set). */
  dataConverter?: DataConverter;
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
  /** Closes the worker's connections; call after `worker.run()` has returned. */
  close(): Promise<void>;
}

export async function createWorker(options: WorkerOptions): Promise<CreatedWorker> {
  installQuietRuntime();
  // First, so a keyring that cannot be used stops the worker before it connects.
  const dataConverter = options.dataConverter ?? payloadDataConverter();
  const { options: connectionOptions, namespace } = options.connection;
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(connectionOptions);
  } catch (err) {
    throw await cannotReachTemporal(options.connection, err, 'check TEMPORAL_ADDRESS and the TEMPORAL_TLS_* / TEMPORAL_API_KEY settings');
  }
  // Activities that signal other workflows (the cluster lock) use a client of their own, made on first use.
  let client: Client | undefined;
  const temporal = () => (client ??= new Client({ connection: Connection.lazy(connectionOptions), namespace, dataConverter }));
  try {
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue: options.taskQueue ?? TASK_QUEUE,
      workflowBundle: await workflowBundle(),
      dataConverter,
      activities: createActivities({ temporal, ...(options.deps ?? defaultActivityDeps()) }),
      maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 100,
      // On shutdown, in-flight activities are cancelled at once (they resume on another worker
      // from their heartbeats); one that does not stop within 25 s is abandoned rather than
      // holding the process: compose gives the container 30 s (stop_grace_period).
      shutdownForceTime: '25s',
    });
    return {
      worker,
      async close() {
        await client?.connection.close();
        await connection.close();
      },
    };
  } catch (err) {
    await connection.close();
    throw err;
  }
}
