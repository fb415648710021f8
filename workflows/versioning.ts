// How each workflow meets a new worker version (Worker Deployment Versioning; README,
// "Changing a workflow"). PINNED: a run stays on the build that started it, so a change to
// its code needs no patched() branch; old runs finish on old workers. AUTO_UPGRADE: the
// run moves to the current version at its next workflow task, so its own changes need
// patched(): the watcher, the lock and the spec store run for as long as the cluster exists and would
// otherwise keep every old worker alive. A workflow missing from this table is a compile error.
import type { VersioningBehavior } from '@temporalio/common';
import { setWorkflowOptions } from '@temporalio/workflow';
import { bootstrapCluster } from './bootstrap-cluster';
import { clusterLock } from './cluster-lock';
import { clusterSpec } from './cluster-spec';
import { clusterWatcher } from './cluster-watcher';
import { failoverIp } from './failover-ip';
import { healthCheck } from './health-check';
import type * as registered from './index';
import { lbLink } from './lb-link';
import { provisionServer } from './provision-server';
import { replaceNode } from './replace-node';

type WorkflowName = keyof typeof registered;

export const versioningBehaviors = {
  failoverIp: 'PINNED',
  provisionServer: 'PINNED',
  bootstrapCluster: 'PINNED',
  replaceNode: 'PINNED',
  healthCheck: 'PINNED',
  lbLink: 'PINNED',
  clusterWatcher: 'AUTO_UPGRADE',
  clusterLock: 'AUTO_UPGRADE',
  clusterSpec: 'AUTO_UPGRADE',
} as const satisfies Record<WorkflowName, VersioningBehavior>;

const workflows: Record<WorkflowName, (...args: never[]) => Promise<unknown>> = {
  failoverIp,
  provisionServer,
  bootstrapCluster,
  replaceNode,
  healthCheck,
  lbLink,
  clusterWatcher,
  clusterLock,
  clusterSpec,
};

for (const name of Object.keys(versioningBehaviors) as WorkflowName[]) {
  setWorkflowOptions({ versioningBehavior: versioningBehaviors[name] }, workflows[name]);
}
