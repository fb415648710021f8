// One destructive operation per cluster at a time (docs/design.md §4.4), the Temporal-native way:
// a lock workflow per cluster (`<cluster>/lock`) that grants the lock to one workflow and
// queues (or refuses) the others, after the samples' mutex pattern. Requesters reach it
// with signal-with-start from an activity; it answers them with signals.
//
// A holder that dies without releasing (terminated, timed out) would block the cluster for
// ever, so while someone waits the lock checks every minute whether its holder still runs.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineSignal,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ClusterLockState, IfBusy, LockHolder, LockRequest } from '../core/cluster-lock';
import * as profiles from './activity-profiles';

const bookkeeping = proxyActivities<Activities>(profiles.bookkeeping);


export const acquireSignal = defineSignal<[LockRequest]>('acquire');
export const releaseSignal = defineSignal<[{ workflowId: string }]>('release');
export const grantedSignal = defineSignal<[LockHolder]>('lockGranted');
export const refusedSignal = defineSignal<[LockHolder]>('lockRefused');

const IDLE_EXIT_MS = 10 * 60_000;
const HOLDER_CHECK_MS = 60_000;

export async function clusterLock(state: ClusterLockState = { queue: [] }): Promise<void> {
  let { holder } = state;
  const queue = [...state.queue];
  const outbox: { to: string; granted: boolean; holder: LockHolder }[] = [];
  let handled = 0;

  const grantNext = () => {
    while (!holder && queue.length > 0) {
      const next = queue.shift()!;
      holder = { workflowId: next.workflowId, operation: next.operation, since: Date.now() };
      outbox.push({ to: next.workflowId, granted: true, holder });
    }
  };
  setHandler(acquireSignal, (request) => {
    handled += 1;
    if (holder?.workflowId === request.workflowId) {
      outbox.push({ to: request.workflowId, granted: true, holder }); // a retried request from the holder
    } else if (!holder) {
      queue.unshift(request);
      grantNext();
    } else if (request.ifBusy === 'fail') {
      outbox.push({ to: request.workflowId, granted: false, holder });
    } else if (!queue.some((q) => q.workflowId === request.workflowId)) {
      queue.push(request);
    }
  });
  setHandler(releaseSignal, ({ workflowId }) => {
    handled += 1;
    if (holder?.workflowId === workflowId) holder = undefined;
    const queued = queue.findIndex((q) => q.workflowId === workflowId);
    if (queued >= 0) queue.splice(queued, 1);
    grantNext();
  });

  for (;;) {
    // Deliver answers (signals to the requesters) outside the handlers, which must not await.
    while (outbox.length > 0) {
      const message = outbox.shift()!;
      await getExternalWorkflowHandle(message.to)
        .signal(message.granted ? grantedSignal : refusedSignal, message.holder)
        .catch(() => {
          // The requester is gone: if it was just granted the lock, hand it on.
          if (message.granted && holder?.workflowId === message.to) {
            holder = undefined;
            grantNext();
          }
        });
    }
    if (workflowInfo().continueAsNewSuggested || handled > 500) {
      await condition(() => outbox.length === 0);
      await continueAsNew<typeof clusterLock>({ holder, queue });
    }
    const idle = !holder && queue.length === 0;
    const woke = await condition(() => outbox.length > 0 || (!holder && queue.length > 0), idle ? IDLE_EXIT_MS : HOLDER_CHECK_MS);
    if (woke) continue;
    if (idle) return; // nobody needs the lock; the next acquire starts a fresh run
    if (holder && queue.length > 0 && !(await bookkeeping.isWorkflowRunning(holder.workflowId))) {
      holder = undefined;
      grantNext();
    }
  }
}

/**
 * Runs `fn` holding the cluster's lock. With ifBusy 'fail', a busy cluster ends the calling
 * workflow at once with a non-retryable error naming the running operation.
 */
export async function withClusterLock<T>(cluster: string, operation: string, ifBusy: IfBusy, fn: () => Promise<T>): Promise<T> {
  const self = workflowInfo().workflowId;
  let answer: { granted: boolean; holder: LockHolder } | undefined;
  // The lock signals only the workflow it answers, so any answer that arrives is ours.
  setHandler(grantedSignal, (holder) => {
    answer = { granted: true, holder };
  });
  setHandler(refusedSignal, (holder) => {
    answer ??= { granted: false, holder };
  });
  await bookkeeping.requestClusterLock(cluster, { workflowId: self, operation, ifBusy });
  await condition(() => answer !== undefined);
  if (!answer!.granted) {
    const h = answer!.holder;
    throw ApplicationFailure.nonRetryable(
      `cluster ${cluster} is busy: ${h.operation} (${h.workflowId}) is running; wait for it, or start again with --if-busy wait to queue behind it`,
      'ClusterBusy',
    );
  }
  try {
    return await fn();
  } finally {
    await CancellationScope.nonCancellable(() => bookkeeping.releaseClusterLock(cluster, self));
  }
}
