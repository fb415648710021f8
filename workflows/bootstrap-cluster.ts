// bootstrapCluster: from a cluster spec to a running cluster (design.md §2).
//
//   servers (parallel children) → Talos secrets & configs → control planes configured →
//   etcd bootstrapped on exactly one control plane → control planes in etcd → workers
//   configured → cluster healthy → LB configs pushed → failover IPs routed → kubeconfig.
//
// Exactly-once etcd bootstrap has two guards: this workflow calls `bootstrapEtcd` once
// (a replay re-uses the recorded result), and the activity itself looks at etcd before it
// acts, so a retry after a lost answer does not bootstrap a second time.
import { ApplicationFailure, executeChild, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../worker/activities';
import { CLUSTER, OPERATION } from '../core/search-attributes';
import type { ClusterSpec } from '../core/spec/schema';
import { workflowIds } from '../core/workflow-ids';
import * as profiles from './activity-profiles';
import { failoverIp, type FailoverIpResult } from './failover-ip';
import { withClusterLock, type IfBusy } from './cluster-lock';
import { progressQuery, StepLog, type StepRecord } from './progress';
import { provisionServer, type ProvisionServerResult } from './provision-server';

type Activities = ReturnType<typeof createActivities>;

const call = proxyActivities<Activities>(profiles.providerCall);
const wait = proxyActivities<Activities>(profiles.providerTaskWait);
const local = proxyActivities<Activities>(profiles.local);

export interface BootstrapClusterInput {
  spec?: ClusterSpec;
  specFile?: string;
  /** When another destructive operation holds the cluster: queue behind it (default) or fail at once. */
  ifBusy?: IfBusy;
}

export interface BootstrapClusterResult {
  cluster: string;
  /** False when the cluster was already bootstrapped and nothing had to change. */
  changed: boolean;
  summary: string[];
  servers: ProvisionServerResult[];
  etcdBootstrappedOn: string;
  etcdAlreadyBootstrapped: boolean;
  failover: FailoverIpResult[];
  kubeconfig: string;
  steps: StepRecord[];
  totalMs: number;
}

export async function bootstrapCluster(input: BootstrapClusterInput): Promise<BootstrapClusterResult> {
  const log = new StepLog();
  const serverPhase = new Map<string, string>();
  setHandler(progressQuery, () => ({ ...log.snapshot(), servers: Object.fromEntries(serverPhase) }));
  const startedAt = Date.now();

  const spec = input.spec ?? (input.specFile ? await log.run('load-spec', () => local.loadSpec(input.specFile!)) : undefined);
  if (!spec) throw ApplicationFailure.nonRetryable('bootstrapCluster needs `spec` or `specFile` in its input', 'BadInput');
  const cluster = spec.metadata.name;
  if (!workflowInfo().typedSearchAttributes.get(CLUSTER)) {
    upsertSearchAttributes([
      { key: CLUSTER, value: cluster },
      { key: OPERATION, value: 'bootstrap' },
    ]);
  }
  return withClusterLock(cluster, 'bootstrap', input.ifBusy ?? 'wait', () =>
    patched('bootstrap-overlapped-phases') ? bootstrapOverlapped(spec, log, serverPhase, startedAt) : bootstrapSequential(spec, log, serverPhase, startedAt),
  );
}

/** Every server in parallel, a provisionServer child each: vRack, three VMs, booted. */
function provisionAll(spec: ClusterSpec, log: StepLog, serverPhase: Map<string, string>): Promise<ProvisionServerResult[]> {
  const cluster = spec.metadata.name;
  return log.run('provision-servers', () =>
    Promise.all(
      spec.servers.map(async (server) => {
        serverPhase.set(server.name, 'provisioning');
        const result = await executeChild(provisionServer, {
          workflowId: workflowIds.provisionServer(cluster, server.name),
          args: [{ spec, server: server.name }],
          typedSearchAttributes: [
            { key: CLUSTER, value: cluster },
            { key: OPERATION, value: 'provision-server' },
          ],
        });
        serverPhase.set(server.name, 'provisioned');
        return result;
      }),
    ),
  );
}

/** Each failover IP routed to a healthy LB of the cluster (a failoverIp child each, one after the other). */
async function routeFailoverIps(spec: ClusterSpec, log: StepLog): Promise<FailoverIpResult[]> {
  const failover: FailoverIpResult[] = [];
  for (const ip of spec.failoverIps) {
    failover.push(
      await log.run(`route ${ip}`, () =>
        executeChild(failoverIp, {
          workflowId: `${workflowIds.failover(spec.metadata.name, ip)}/bootstrap`,
          args: [{ spec, ip, reason: 'bootstrap' }],
          typedSearchAttributes: [
            { key: CLUSTER, value: spec.metadata.name },
            { key: OPERATION, value: 'failover' },
          ],
        }),
      ),
    );
  }
  return failover;
}

/**
 * The bootstrap with every step that does not wait on another overlapped with the ones that
 * do, as the Talos guide does it (apply every node's config, then bootstrap etcd once):
 *
 *   provision-servers  ∥  talos-secrets → talos-configs          (configs need only the spec)
 *   then  configure-control-planes → etcd-bootstrap → etcd-members → cluster-health → kubeconfig
 *                                  ∥ configure-workers              (workers install meanwhile)
 *     ∥   push-lb-configs → route <ip>                             (the LBs need only their VMs)
 *
 * Same invariants as before: one bootstrapEtcd call, every step an idempotent activity. The
 * LBs take traffic before the control planes answer, which for a new cluster is no traffic;
 * HAProxy's checks keep unready backends out.
 */
async function bootstrapOverlapped(spec: ClusterSpec, log: StepLog, serverPhase: Map<string, string>, startedAt: number): Promise<BootstrapClusterResult> {
  const cluster = spec.metadata.name;
  const controlPlanes = spec.servers.filter((s) => s.vms.controlPlane).map((s) => s.name);
  const workers = spec.servers.filter((s) => s.vms.worker).map((s) => s.name);
  const etcdNode = controlPlanes[0];

  const [servers, secrets] = await Promise.all([
    provisionAll(spec, log, serverPhase),
    (async () => {
      const made = await log.run('talos-secrets', () => local.ensureTalosSecrets(spec), (s) => (s.created ? 'generated' : 'already in the state store'));
      await log.run('talos-configs', () => local.renderMachineConfigs(spec));
      return made;
    })(),
  ]);

  const talos = async () => {
    const cpApplied = await log.run('configure-control-planes', () => Promise.all(controlPlanes.map((server) => call.applyMachineConfig(spec, server, 'controlPlane'))));
    // The workers are configured while etcd comes up: they install meanwhile and join once it answers.
    const [etcd, workerApplied] = await Promise.all([
      (async () => {
        const bootstrapped = await log.run('etcd-bootstrap', () => call.bootstrapEtcd(spec, etcdNode), (r) => (r.alreadyBootstrapped ? `already bootstrapped` : `bootstrapped on ${etcdNode}`));
        await log.run('etcd-members', () => Promise.all(controlPlanes.map((server) => wait.waitForEtcdMember(spec, server))));
        return bootstrapped;
      })(),
      log.run('configure-workers', () => Promise.all(workers.map((server) => call.applyMachineConfig(spec, server, 'worker')))),
    ]);
    await log.run('cluster-health', () => wait.clusterHealth(spec));
    const kubeconfig = await log.run('kubeconfig', () => local.writeKubeconfig(spec), (k) => k.path);
    return { applied: [...cpApplied, ...workerApplied].filter((a) => a.applied).length, etcd, kubeconfig };
  };
  const traffic = async () => {
    const pushes = await log.run('push-lb-configs', () => call.pushLbConfigs(spec), (r) => `${r.changed.length} files changed`);
    return { pushes, failover: await routeFailoverIps(spec, log) };
  };
  const [t, r] = await Promise.all([talos(), traffic()]);

  const summary: string[] = [];
  const createdVms = servers.flatMap((s) => s.vms.filter((vm) => vm.created).map((vm) => `${s.server}/${vm.role}`));
  if (createdVms.length > 0) summary.push(`created ${createdVms.length} VMs`);
  if (secrets.created) summary.push('generated Talos secrets');
  if (t.etcd.bootstrapped) summary.push(`bootstrapped etcd on ${etcdNode}`);
  if (t.applied > 0) summary.push(`applied ${t.applied} machine configs`);
  if (r.pushes.changed.length > 0) summary.push(`pushed ${r.pushes.changed.length} LB config files`);
  for (const routed of r.failover) if (routed.moved) summary.push(`routed ${routed.ip} to ${routed.to}`);
  log.phase = 'done';
  return {
    cluster,
    changed: summary.length > 0,
    summary: summary.length > 0 ? summary : ['already bootstrapped: nothing to change'],
    servers,
    etcdBootstrappedOn: etcdNode,
    etcdAlreadyBootstrapped: t.etcd.alreadyBootstrapped,
    failover: r.failover,
    kubeconfig: t.kubeconfig.path,
    steps: log.steps,
    totalMs: Date.now() - startedAt,
  };
}

/** The bootstrap before 'bootstrap-overlapped-phases': one phase after the other (kept for runs started before it). */
async function bootstrapSequential(spec: ClusterSpec, log: StepLog, serverPhase: Map<string, string>, startedAt: number): Promise<BootstrapClusterResult> {
  const cluster = spec.metadata.name;
  const controlPlanes = spec.servers.filter((s) => s.vms.controlPlane).map((s) => s.name);
  const summary: string[] = [];

  // 1. Every server in parallel: vRack, three VMs, booted.
  const servers = await provisionAll(spec, log, serverPhase);
  const createdVms = servers.flatMap((s) => s.vms.filter((vm) => vm.created).map((vm) => `${s.server}/${vm.role}`));
  if (createdVms.length > 0) summary.push(`created ${createdVms.length} VMs`);

  // 2. Talos secrets (generated once, kept in the state store) and machine configs.
  const secrets = await log.run('talos-secrets', () => local.ensureTalosSecrets(spec), (s) => (s.created ? 'generated' : 'already in the state store'));
  if (secrets.created) summary.push('generated Talos secrets');
  await log.run('talos-configs', () => local.renderMachineConfigs(spec));

  // 3. Control planes configured, etcd bootstrapped once, every control plane an etcd member.
  const cpApplied = await log.run('configure-control-planes', () =>
    Promise.all(controlPlanes.map((server) => call.applyMachineConfig(spec, server, 'controlPlane'))),
  );
  const etcdNode = controlPlanes[0];
  const etcd = await log.run('etcd-bootstrap', () => call.bootstrapEtcd(spec, etcdNode), (r) =>
    r.alreadyBootstrapped ? `already bootstrapped` : `bootstrapped on ${etcdNode}`,
  );
  if (etcd.bootstrapped) summary.push(`bootstrapped etcd on ${etcdNode}`);
  await log.run('etcd-members', () => Promise.all(controlPlanes.map((server) => wait.waitForEtcdMember(spec, server))));

  // 4. Workers join, then the whole cluster must be healthy.
  const workerApplied = await log.run('configure-workers', () =>
    Promise.all(spec.servers.map((s) => call.applyMachineConfig(spec, s.name, 'worker'))),
  );
  const applied = [...cpApplied, ...workerApplied].filter((a) => a.applied).length;
  if (applied > 0) summary.push(`applied ${applied} machine configs`);
  await log.run('cluster-health', () => wait.clusterHealth(spec));

  // 5. LB configs (standby LBs first, the one holding the traffic last), then traffic.
  const pushes = await log.run('push-lb-configs', () => call.pushLbConfigs(spec), (r) => `${r.changed.length} files changed`);
  if (pushes.changed.length > 0) summary.push(`pushed ${pushes.changed.length} LB config files`);
  const failover = await routeFailoverIps(spec, log);
  for (const routed of failover) if (routed.moved) summary.push(`routed ${routed.ip} to ${routed.to}`);

  const kubeconfig = await log.run('kubeconfig', () => local.writeKubeconfig(spec), (k) => k.path);
  log.phase = 'done';
  return {
    cluster,
    changed: summary.length > 0,
    summary: summary.length > 0 ? summary : ['already bootstrapped: nothing to change'],
    servers,
    etcdBootstrappedOn: etcdNode,
    etcdAlreadyBootstrapped: etcd.alreadyBootstrapped,
    failover,
    kubeconfig: kubeconfig.path,
    steps: log.steps,
    totalMs: Date.now() - startedAt,
  };
}
