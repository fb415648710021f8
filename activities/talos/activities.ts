// The Talos activities: JSON in, JSON out, each idempotent (look before acting, "already
// done" is success), driving the talosctl binary. By concern: configs.ts (secrets, machine
// configs, kubeconfig), etcd.ts, nodes.ts; what they share is in context.ts.
import { joinActivities } from '../join';
import { createTalosConfigActivities } from './configs';
import { createTalosContext, type TalosActivityDeps } from './context';
import { createTalosEtcdActivities } from './etcd';
import { createTalosNodeActivities } from './nodes';

export type { TalosActivityDeps } from './context';
export type { RenderedConfig } from './configs';
export type { EtcdMemberInfo } from './etcd';

export function createTalosActivities(deps: TalosActivityDeps = {}) {
  const ctx = createTalosContext(deps);
  return joinActivities(joinActivities(createTalosConfigActivities(ctx), createTalosEtcdActivities(ctx)), createTalosNodeActivities(ctx));
}

export type TalosActivities = ReturnType<typeof createTalosActivities>;
