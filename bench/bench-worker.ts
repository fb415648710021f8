// The worker and client every benchmark entry runs against: one in-process worker on a task
// queue of the entry's own, with the sandbox's secrets, and a client; stop() takes both down
// (the worker drained first). What differs between entries is only the poll interval and the
// activity slots.
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { openConnection } from '../client/connection';
import { stopWorker } from '../client/lifecycle';
import { localTemporalConnection } from '../client/temporal-connection';
import { SANDBOXES_POLICY } from '../test/helpers/policy';
import { createWorker } from '../worker/worker';

export interface BenchWorker {
  worker: Worker;
  client: Client;
  stop(): Promise<void>;
}

export async function startBenchWorker(o: { address: string; taskQueue: string; pollIntervalMs: number; maxConcurrentActivityTaskExecutions?: number; dataConverter?: DataConverter }): Promise<BenchWorker> {
  const { worker, close } = await createWorker({
    connection: localTemporalConnection(o.address),
    taskQueue: o.taskQueue,
    deps: { policy: SANDBOXES_POLICY, pollIntervalMs: o.pollIntervalMs },
    maxConcurrentActivityTaskExecutions: o.maxConcurrentActivityTaskExecutions,
    dataConverter: o.dataConverter ?? {}, // clear payloads unless an entry asks: the environment's keyring does not apply
  });
  const running = worker.run();
  let client: Client;
  try {
    client = new Client({ connection: await openConnection(localTemporalConnection(o.address)), dataConverter: o.dataConverter });
  } catch (err) {
    await stopWorker(worker, running);
    await close();
    throw err;
  }
  return {
    worker,
    client,
    async stop() {
      await stopWorker(worker, running);
      await close();
      await client.connection.close();
    },
  };
}
