// Every workflow the worker registers. The bundler starts here, so only workflow-safe
// modules may be imported below (no Node built-ins, no I/O).
export { failoverIp } from './failover-ip';
export { provisionServer } from './provision-server';
export { bootstrapCluster } from './bootstrap-cluster';
export { clusterLock } from './cluster-lock';
export { replaceNode } from './replace-node';
export { healthCheck } from './health-check';
export { clusterWatcher } from './cluster-watcher';
export { clusterSpec } from './cluster-spec';
export { lbLink } from './lb-link';
import './versioning'; // each workflow's versioning behaviour, set on the functions above
