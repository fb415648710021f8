// Heartbeats, cancellation and pauses that work inside a Temporal activity and also in a
// plain test or script that calls the activity function directly (no context: no heartbeat).
// One module for the OVH, Proxmox and Talos activities.
import { asyncLocalStorage, type Context } from '@temporalio/activity';

/** The current activity context, or undefined outside an activity. */
export function activityContext(): Context | undefined {
  return asyncLocalStorage.getStore();
}

/**
 * Least time between two heartbeats of one activity: a quarter of its heartbeat timeout,
 * between 1 and 5 s (1 s when it has none). Poll loops report progress on every round
 * (every 200 ms–1 s); the SDK encodes and hands each heartbeat to its core, which throttles
 * what reaches the server anyway (to 80 % of the heartbeat timeout). Dropping the rounds in
 * between keeps a large bootstrap's hundreds of waits cheap. The first heartbeat of an
 * activity always goes out, a dead worker is still noticed within the heartbeat timeout,
 * and a cancellation still arrives within a gap of the server deciding it.
 */
export function heartbeatGapMs(heartbeatTimeoutMs: number | undefined): number {
  if (!heartbeatTimeoutMs) return 1000;
  return Math.min(5000, Math.max(1000, Math.floor(heartbeatTimeoutMs / 4)));
}
const lastBeat = new WeakMap<Context, number>();

/** Heartbeats with the details inside an activity, at most once per heartbeatGapMs; a no-op elsewhere. */
export function heartbeat(details: Record<string, unknown>): void {
  const ctx = activityContext();
  if (!ctx) return;
  const now = Date.now();
  const last = lastBeat.get(ctx);
  if (last !== undefined && now - last < heartbeatGapMs(ctx.info.heartbeatTimeoutMs)) return;
  lastBeat.set(ctx, now);
  ctx.heartbeat(details);
}

/** True inside an activity on its first attempt; false on a retry and outside an activity (nothing known). */
export function isFirstActivityAttempt(): boolean {
  return activityContext()?.info.attempt === 1;
}

/** The activity's cancellation signal, so a cancelled activity kills its child process or request. */
export function cancellationSignal(): AbortSignal | undefined {
  return activityContext()?.cancellationSignal;
}

/** Sleeps; inside an activity the sleep ends with a CancelledFailure when the activity is cancelled. */
export function pause(ms: number): Promise<void> {
  const ctx = activityContext();
  if (ctx) return ctx.sleep(ms);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves after `ms`, or rejects with the signal's reason (a CancelledFailure in an activity) when it aborts first. */
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
