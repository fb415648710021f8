// The activities' own Temporal client closes cleanly while a call of an activity is still
// retrying: no retry timer may fire onto the closed channel ("Channel has been shut down",
// thrown from a timer, ends the process). A loopback port where nothing listens makes every
// attempt fail with UNAVAILABLE, which the SDK retries after a backoff.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { activityClient } from '../../worker/activity-client';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const uncaught: unknown[] = [];
const record = (err: unknown) => uncaught.push(err);

afterEach(() => {
  process.off('uncaughtException', record);
});

describe('the activities’ Temporal client', () => {
  it('closed while a call is between retries: the call ends, and no retry runs on the closed channel', async () => {
    process.on('uncaughtException', record);
    const c = activityClient({ address: `127.0.0.1:${await closedPort()}` }, 'default', {});
    const call = c.client().connection.workflowService.getSystemInfo({}).then(
      () => 'answered',
      (err: Error) => err.message,
    );
    // Long enough for the first attempts to fail and a retry to be scheduled.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await c.close();
    const ended = await Promise.race([call, new Promise((resolve) => setTimeout(() => resolve('never ended'), 10_000))]);
    expect(ended).toMatch(/UNAVAILABLE|No connection established|ECONNREFUSED/);
    // Past the longest backoff (5 s and its jitter): a timer left behind would have fired by now.
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    expect(uncaught.map(String)).toEqual([]);
  }, 30_000);

  it('closes at once when it never connected', async () => {
    const c = activityClient({ address: '127.0.0.1:1' }, 'default', {});
    await expect(c.close()).resolves.toBeUndefined();
  });
});
