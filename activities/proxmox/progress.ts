// Progress of long waits: a heartbeat when running inside a Temporal activity (so a dead
// worker is noticed and the activity can be cancelled), nothing otherwise — the helpers
// also run from plain tests and scripts.
import { heartbeat } from '../activity-context';

export type OnProgress = (details: Record<string, unknown>) => void;

/** Heartbeats with the details inside an activity (throttled, see activity-context); a no-op elsewhere. */
export const heartbeatProgress: OnProgress = heartbeat;

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
