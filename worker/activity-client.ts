// The Temporal client the activities use (the cluster lock's signals, the spec stores' queries,
// the watch window's describes): connected on first use, and closed only when no retry of
// the SDK's is still waiting. The SDK retries a failed call after a backoff timer (up to 5 s);
// a timer that fires after the connection was closed starts its call on a closed channel, and
// that throws "Channel has been shut down" from the timer, out of reach of any catch: it took
// down a process that had stopped its worker cleanly (an activity abandoned at shutdown, still
// retrying). So closing first stops new retries, then waits out the last one scheduled.
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';

export interface ActivityClient {
  /** The client, connected on first use. */
  client(): Client;
  /** Stops retries, waits for the last scheduled one to start, then closes the connection (if one was made). */
  close(): Promise<void>;
}

export function activityClient(connectionOptions: ConnectionOptions, namespace: string, dataConverter: DataConverter): ActivityClient {
  let closing = false;
  /** When the latest retry timer scheduled fires (ms since the epoch). */
  let lastRetryAt = 0;
  const defaults = defaultGrpcRetryOptions();
  const retries = makeGrpcRetryInterceptor({
    retryableDecider: (attempt, status) => !closing && defaults.retryableDecider(attempt, status),
    delayFunction: (attempt, status) => {
      const delay = defaults.delayFunction(attempt, status);
      lastRetryAt = Math.max(lastRetryAt, Date.now() + delay);
      return delay;
    },
  });
  let made: Client | undefined;
  return {
    client: () => (made ??= new Client({ connection: Connection.lazy({ ...connectionOptions, interceptors: [retries] }), namespace, dataConverter })),
    async close() {
      closing = true;
      if (!made) return;
      // A retry already scheduled still runs (its call ends without another retry): let it start on an open channel.
      const wait = lastRetryAt - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 50));
      await made.connection.close();
    },
  };
}
