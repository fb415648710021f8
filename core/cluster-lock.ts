// The messages of the per-cluster lock (workflows/cluster-lock.ts): shared by the lock
// workflow, the workflows that take it and the activity that reaches it, so they live here
// and neither side imports the other.

/** When another destructive operation holds the cluster: queue behind it, or fail at once. */
export type IfBusy = 'wait' | 'fail';

export interface LockRequest {
  workflowId: string;
  operation: string;
  ifBusy: IfBusy;
}

export interface LockHolder {
  workflowId: string;
  operation: string;
  since: number;
}

/** What the lock carries across continue-as-new. */
export interface ClusterLockState {
  holder?: LockHolder;
  queue: LockRequest[];
}
