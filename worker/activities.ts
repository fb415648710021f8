// The activity set the worker registers: one factory per provider, each built once from
// injected dependencies (samples-typescript "activities-dependency-injection"). Tests build
// the same set with their own dependencies (a different env, a sandbox CA); nothing here
// knows whether it talks to the sandbox or to OVH and Proxmox.
import { ApplicationFailure } from '@temporalio/common';
import { createHealthActivities } from '../activities/health/observe-cluster';
import { createOvhActivities } from '../activities/ovh/activities';
import { createProxmoxActivities } from '../activities/proxmox/activities';
import { createSshActivities } from '../activities/ssh/activities';
import { createTalosActivities } from '../activities/talos/activities';
import { probeLbHealth } from '../activities/probe/lb-probe';
import { createSecretResolver, type SecretResolver } from '../activities/secrets';
import { createTemporalActivities } from '../activities/temporal/activities';
import type { Client } from '@temporalio/client';
import { loadSpecFile, SpecError } from '../core/spec/load';
import type { ClusterSpec, ServerSpec } from '../core/spec/schema';
import { refusingUnsafeValues } from './unsafe-values';

export interface ActivityDeps {
  secrets: SecretResolver;
  /** How often task waits poll their provider. */
  pollIntervalMs?: number;
  /** A Temporal client, for activities that signal other workflows (the cluster lock). */
  temporal?: () => Client;
}

export function defaultActivityDeps(): ActivityDeps {
  return { secrets: createSecretResolver() };
}

export function createActivities(deps: ActivityDeps = defaultActivityDeps()) {
  const ovh = createOvhActivities({ secrets: deps.secrets, pollIntervalMs: deps.pollIntervalMs });
  const proxmox = createProxmoxActivities({ secrets: deps.secrets, pollIntervalMs: deps.pollIntervalMs });
  const talos = createTalosActivities({ pollIntervalMs: deps.pollIntervalMs });
  return refusingUnsafeValues({
    ...ovh,
    ...proxmox,
    ...createSshActivities({ secrets: deps.secrets }),
    ...talos,
    // A health pass's checks in one activity, over the provider activities above.
    ...createHealthActivities({
      probeLb: (server) => probeLbHealth(server),
      vmStatuses: proxmox.vmStatuses,
      nodesReady: talos.nodesReady,
      etcdMembers: talos.etcdMembers,
      getIpRouting: ovh.getIpRouting,
    }),
    ...createTemporalActivities({
      client: () => {
        if (!deps.temporal) throw new Error('this worker was built without a Temporal client; pass ActivityDeps.temporal');
        return deps.temporal();
      },
    }),

    /** Reads and validates a spec file on the worker (for `temporal workflow start` with specFile). */
    async loadSpec(file: string): Promise<ClusterSpec> {
      try {
        return loadSpecFile(file);
      } catch (err) {
        if (err instanceof SpecError) throw ApplicationFailure.nonRetryable(err.message, 'BadSpec');
        throw err;
      }
    },

    async probeLb(server: ServerSpec) {
      return probeLbHealth(server);
    },
  });
}
