// Heartbeats, cancellation and pauses that work inside a Temporal activity and also in a
// plain test that calls the activity function directly (no context: no heartbeat).
import { asyncLocalStorage } from '@temporalio/activity';

export function activityContext() {
  return asyncLocalStorage.getStore();
}

export function heartbeat(details: Record<string, unknown>): void {
  activityContext()?.heartbeat(details);
}

/** The activity's cancellation signal, so a cancelled activity kills its talosctl child. */
export function cancellationSignal(): AbortSignal | undefined {
  return activityContext()?.cancellationSignal;
}

/** Sleeps; inside an activity the sleep ends with a CancelledFailure when the activity is cancelled. */
export function pause(ms: number): Promise<void> {
  const ctx = activityContext();
  if (ctx) return ctx.sleep(ms);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
