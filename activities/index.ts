// The activity set a worker registers, and the interface the workflows proxy
// (`proxyActivities<Activities>`). One factory per provider, each built once from injected
// dependencies (samples-typescript "activities-dependency-injection"); tests build the same
// set with their own dependencies. Nothing here knows whether it talks to the sandbox or to
// OVH and Proxmox.
import type { Client } from '@temporalio/client';
import type { ClusterSpec, ServerSpec } from '../core/spec/schema';
import { createHealthActivities } from './health/observe-cluster';
import { createWatchActivity } from './health/watch-cluster';
import { joinActivities } from './join';
import { refusingUnsafeValues } from './unsafe-values';
import { createOvhActivities } from './ovh/activities';
import { probeLbHealth, probeLbsHealth } from './probe/lb-probe';
import { probePublicIp, type PublicProbeOptions } from './probe/public-probe';
import { createProxmoxActivities } from './proxmox/activities';
import { policyFromEnv, type WorkerPolicy } from '../core/spec/worker-policy';
import { createSecretResolver, type SecretResolver } from './secrets';
import { createSpecActivities, createSpecResolver, type SpecResolver } from './spec/load-spec';
import { ovhPart, withPartRefs, withSpecRefs, type PartTakingNames, type SpecTakingNames } from './spec/spec-ref';
import { createSshActivities } from './ssh/activities';
import { createTalosActivities } from './talos/activities';
import { createTemporalActivities, schedulePaused, specStamp } from './temporal/activities';

export interface ActivityDeps {
  /** What specs may reach on this worker (secrets, paths, endpoints); defaults to the environment's (policyFromEnv). */
  policy?: WorkerPolicy;
  /** Resolves secret references; defaults to the environment and files, within `policy`. */
  secrets?: SecretResolver;
  /** How often task waits poll their provider. */
  pollIntervalMs?: number;
  /** A Temporal client, for activities that signal other workflows (the cluster lock). */
  temporal?: () => Client;
  /** Where the activities' SpecRefs resolve; defaults to the spec stores (through `temporal`), kept by generation on this worker. */
  specs?: SpecResolver;
}

export function createActivities(deps: ActivityDeps = {}) {
  const policy = deps.policy ?? policyFromEnv(process.env);
  const secrets = deps.secrets ?? createSecretResolver(process.env, policy);
  const ovh = createOvhActivities({ secrets, pollIntervalMs: deps.pollIntervalMs });
  const proxmox = createProxmoxActivities({ secrets, pollIntervalMs: deps.pollIntervalMs });
  const talos = createTalosActivities({ policy, pollIntervalMs: deps.pollIntervalMs });
  const lbProbe = {
    async probeLb(server: ServerSpec) {
      return probeLbHealth(server);
    },
    /** All the spec's LBs in one activity (a failover's probe-lbs step): the results in the servers' order. */
    async probeLbs(spec: ClusterSpec) {
      return probeLbsHealth(spec.servers);
    },
    /** GETs publicPath.probeUrl for the IP until it answers or the bound runs out; "not served" is an answer. */
    async probePublicIp(spec: ClusterSpec, ip: string, options?: PublicProbeOptions) {
      return probePublicIp(spec, ip, options);
    },
  };
  const client = () => {
    if (!deps.temporal) throw new Error('this worker was built without a Temporal client; pass ActivityDeps.temporal');
    return deps.temporal();
  };
  const temporal = createTemporalActivities({ client });
  const ssh = createSshActivities({ secrets });
  const resolver = deps.specs ?? createSpecResolver({ policy, temporal: client });
  const specs = createSpecActivities({ policy, temporal: client }, resolver);
  // A health pass's checks in one activity, over the provider activities (called as functions, with the spec).
  const health = createHealthActivities({
    probeLb: lbProbe.probeLb,
    vmStatuses: proxmox.vmStatuses,
    nodesReady: talos.nodesReady,
    etcdMembers: talos.etcdMembers,
    getIpRouting: ovh.getIpRouting,
    vrrpMaster: ssh.lookVrrpMaster,
  });
  const watch = createWatchActivity({
    currentSpec: resolver.current,
    observeCluster: health.observeCluster,
    schedulePaused: (id) => schedulePaused(client(), id),
    specStamp: (cluster) => specStamp(client(), cluster),
  });
  // As registered, every activity that works on the spec takes a SpecRef (activities/spec/spec-ref.ts).
  const providers = joinActivities(
    joinActivities(
      withSpecRefs(
        resolver,
        withPartRefs(resolver, ovhPart, ovh, [
          'getIpRouting', 'checkIpMovable', 'startIpMove', 'waitForIpTask', 'getDedicatedServer', 'rebootDedicatedServer', 'waitForServerTask',
          'readServerNetworkFacts', 'listVirtualMacs', 'ensureVirtualMac', 'ensureVrackIpBlock', 'ensureVrackMembership', 'waitForVrackTask', 'listVrackMembers',
        ]),
        ['checkServerPublicFacts'],
      ),
      withSpecRefs(resolver, proxmox, ['ensureVm', 'stopVm', 'rebootVm', 'destroyVm', 'vmStatus', 'vmStatuses', 'bootVm', 'checkBootImage', 'listClusterVms', 'setLbPublicLink']),
    ),
    joinActivities(
      withSpecRefs(resolver, ssh, ['pushLbConfigs', 'lookVrrpMaster', 'releaseVrrp']),
      withSpecRefs(resolver, talos, [
        'ensureTalosSecrets', 'renderMachineConfigs', 'applyMachineConfig', 'writeKubeconfig',
        'bootstrapEtcd', 'waitForEtcdMember', 'etcdMembers', 'removeEtcdMember', 'leaveEtcd',
        'drainNode', 'clusterHealth', 'nodeReady', 'nodesReady', 'clusterMembers', 'talosctlVersion',
      ]),
    ),
  );
  const checks = joinActivities(joinActivities(withSpecRefs(resolver, health, ['observeCluster']), watch), withSpecRefs(resolver, lbProbe, ['probePublicIp', 'probeLbs']));
  return refusingUnsafeValues(joinActivities(joinActivities(providers, checks), joinActivities(temporal, specs)));
}

/** What the workflows proxy: every activity a worker registers. */
export type Activities = ReturnType<typeof createActivities>;

/** The activities that still take the whole spec or its OVH part: only the spec store's own policy check, of the spec being applied. */
export type SpecTakingActivities = SpecTakingNames<Activities> | PartTakingNames<Activities, ClusterSpec['ovh']>;
