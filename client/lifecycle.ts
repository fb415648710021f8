// Stopping the long-running commands (dev, demo, sandbox up, codec-server) cleanly: every
// part is stopped even when one of them fails to (a Temporal dev server must never be left
// behind because the sandbox's stop threw), and a failure is reported and turns into exit
// status 1 rather than an unhandled rejection.
import type { Worker } from '@temporalio/worker';

export type StopStep = readonly [what: string, stop: () => Promise<void> | void];

/** Runs every step in order, whatever the earlier ones did; throws one error naming each step that failed. */
export async function stopAll(steps: readonly StopStep[]): Promise<void> {
  const failures: string[] = [];
  for (const [what, stop] of steps) {
    try {
      await stop();
    } catch (err) {
      failures.push(`${what}: ${(err as Error).message ?? String(err)}`);
    }
  }
  if (failures.length > 0) throw new Error(`stopping did not go cleanly:\n  ${failures.join('\n  ')}`);
}

/**
 * Stops a worker whose `run()` promise is `running`. The SDK's runtime also shuts workers
 * down on SIGINT/SIGTERM, and a worker that failed is no longer running: asking either
 * to shut down again would throw, so only a running worker is asked.
 */
export async function stopWorker(worker: Worker, running: Promise<void>): Promise<void> {
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running.catch(() => undefined); // its failure, if any, was reported when it happened
}

/**
 * Blocks until SIGINT/SIGTERM or until `failed` rejects (a part stopped on its own), then
 * runs `cleanup` once. A cleanup that fails, or a part that failed, is written to stderr
 * and sets exit status 1. A second Ctrl-C during the cleanup finds no handler left and
 * ends the process at once: the usual way to force a stop that hangs.
 */
export function untilSignal(cleanup: () => Promise<void>, failed?: Promise<unknown>): Promise<void> {
  return new Promise((resolveDone) => {
    let stopping = false;
    const stop = (cause?: unknown) => {
      if (stopping) return;
      stopping = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (cause !== undefined) {
        process.stderr.write(`autok8s: ${(cause as Error).message ?? String(cause)}; stopping everything\n`);
        process.exitCode = 1;
      }
      cleanup()
        .catch((err: Error) => {
          process.stderr.write(`autok8s: ${err.message}\n`);
          process.exitCode = 1;
        })
        .finally(resolveDone);
    };
    const onSignal = () => stop();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    failed?.catch((err: unknown) => stop(err ?? new Error('a part stopped')));
  });
}
