// Named timeout/retry profiles, defined once (samples-typescript saga pattern). Errors that
// retrying cannot fix are thrown as non-retryable ApplicationFailures by the activities
// themselves (bad credentials, bad input, quorum refusals), so the profiles only shape
// how transient failures are retried.
import type { ActivityOptions } from '@temporalio/workflow';

/**
 * One call to a provider (OVH, Proxmox, talosctl, an SSH push): retried with backoff on 5xx,
 * 429, resets. The activities heartbeat while they wait on a task, so a worker that dies
 * mid-call is noticed after the heartbeat timeout, not after the whole start-to-close.
 */
export const providerCall: ActivityOptions = {
  startToCloseTimeout: '5m',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 12 },
};

/** Waiting on a provider task (an OVH IP move takes ~1 min, up to 5): heartbeats every poll. */
export const providerTaskWait: ActivityOptions = {
  startToCloseTimeout: '15m',
  // Polls heartbeat every second or so; a lost worker is noticed within this and the wait resumes elsewhere.
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
};

/**
 * Waiting on an OVH IP move (waitForIpTask: ~1 min, up to 5). The wait's heartbeat does two
 * things only: it tells the server the worker is alive, and its response carries a cancellation
 * to the activity. Every heartbeat that reaches the server is a billable action, and the SDK
 * sends one at most every 80 % of the heartbeat timeout (the polls' heartbeats in between are
 * folded into the next), so a one-minute move costs 3 heartbeats at 30 s (at 0, 24 and 48 s)
 * where it cost 8 at 10 s. The bounds this buys:
 * - a worker that dies mid-wait is noticed at most 30 s after its last heartbeat and the wait
 *   resumes on another worker a second later (it polls the same task: idempotent). The move
 *   goes on at OVH meanwhile, so only the verify steps after it start later, by at most 31 s;
 * - a cancellation reaches the activity within 24 s (the next heartbeat's response). The
 *   workflow does not wait for it (activities are cancelled TRY_CANCEL: the workflow sees the
 *   cancellation at once), and the wait changes nothing at OVH: a late stop only holds a slot.
 */
export const ipMoveWait: ActivityOptions = {
  ...providerTaskWait,
  heartbeatTimeout: '30s',
};

/** A health probe: its failure is an answer, not something to retry for long. */
export const probe: ActivityOptions = {
  startToCloseTimeout: '15s',
  retry: { initialInterval: '500ms', maximumAttempts: 2 },
};

/**
 * Waiting for the failover IP to serve traffic (probePublicIp with a bound of its own, up to a
 * minute): heartbeats between tries, so a lost worker is noticed and the wait resumes elsewhere.
 */
export const publicProbe: ActivityOptions = {
  startToCloseTimeout: '2m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
};

/**
 * A health pass's observation (observeCluster): each check inside has its own 10 s bound and
 * turns a failure into an answer, so the activity itself fails only when the worker does.
 */
export const healthPass: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumAttempts: 2 },
};

/**
 * A watch window's heartbeat timeout: a twelfth of the window, between 5 s and 5 min. A
 * heartbeat is a billable action, so it is sent at 80 % of this (heartbeatEveryMs), not per
 * probe; a worker that dies mid-window is noticed after this long and the leg resumes on
 * another from its heartbeat. 5 min at a 1 h window: 15 heartbeats an hour.
 */
export const watchHeartbeatMs = (windowMs: number) => Math.min(300_000, Math.max(5_000, Math.round(windowMs / 12)));
export const heartbeatEveryMs = (windowMs: number) => Math.round(watchHeartbeatMs(windowMs) * 0.8);

/** One leg of a watch window (watchCluster): lasts at most the window; retried from its heartbeat when a worker dies. */
export const watchLeg = (windowMs: number): ActivityOptions => ({
  startToCloseTimeout: windowMs + 120_000,
  heartbeatTimeout: watchHeartbeatMs(windowMs),
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});

/**
 * Work on the worker itself, short and safe to repeat: the spec file, the Talos state store,
 * messages to the cluster's lock and watcher. (Ordinary activities, not Temporal local ones.)
 */
export const bookkeeping: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', maximumAttempts: 5 },
};
