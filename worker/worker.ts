// Building a worker: one task queue, the workflow bundle and the activity set.
import { NativeConnection, Runtime, Worker, DefaultLogger } from '@temporalio/worker';
import { TASK_QUEUE } from '../core/workflow-ids';
import { createActivities, defaultActivityDeps, type ActivityDeps } from './activities';
import { workflowBundle } from './bundle';

export interface WorkerOptions {
  address: string;
  namespace?: string;
  taskQueue?: string;
  deps?: ActivityDeps;
  /** Bounds on concurrency; defaults suit one small VM. */
  maxConcurrentActivityTaskExecutions?: number;
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

export async function createWorker(options: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  installQuietRuntime();
  const connection = await NativeConnection.connect({ address: options.address });
  try {
    const worker = await Worker.create({
      connection,
      namespace: options.namespace ?? 'default',
      taskQueue: options.taskQueue ?? TASK_QUEUE,
      workflowBundle: await workflowBundle(),
      activities: createActivities(options.deps ?? defaultActivityDeps()),
      maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 100,
    });
    return { worker, connection };
  } catch (err) {
    await connection.close();
    throw err;
  }
}
