// bootstrapCluster: from a cluster spec to a running cluster (docs/design.md §2.1).
//
//   the public path's OVH side (vmac: the failover IP's virtual MAC) →
//   servers (parallel children, each configured for Talos as soon as its VMs answer) →
//   etcd bootstrapped on exactly one control plane → control planes in etcd → cluster
//   healthy → kubeconfig; beside it, LB configs pushed → failover IPs routed.
//
// Exactly-once etcd bootstrap has two guards: this workflow calls `bootstrapEtcd` once
// (a replay re-uses the recorded result), and the activity itself looks at etcd before it
// acts, so a retry after a lost answer does not bootstrap a second time.
import { ApplicationFailure, executeChild, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { CLUSTER, OPERATION } from '../core/search-attributes';
import type { ClusterSpec } from '../core/spec/schema';
import { workflowIds } from '../core/workflow-ids';
import * as profiles from './activity-profiles';
import { failoverIp, type FailoverIpResult } from './failover-ip';
import type { BootstrapIntent } from '../core/intents';
import { withClusterLock } from './cluster-lock';
import { checkIntent, loadAcceptedSpec, refTo } from './accepted-spec';
import { progressQuery, StepLog, type StepRecord } from './progress';
import { provisionServer, type ProvisionServerResult } from './provision-server';
import { attachVrackBlock, lbPublicNicIntent, setUpPublicNics, type PublicNics } from './public-path-setup';
import { publicPathOf } from '../core/public-path/modes';

const call = proxyActivities<Activities>(profiles.providerCall);
const wait = proxyActivities<Activities>(profiles.providerTaskWait);
const bookkeeping = proxyActivities<Activities>(profiles.bookkeeping);

/** The cluster to bootstrap; when another destructive operation holds it, queue behind it (ifBusy wait, the default) or fail at once. */
export type BootstrapClusterInput = BootstrapIntent;

export interface BootstrapClusterResult {
  cluster: string;
  /** The spec generation the run worked with. */
  generation: string;
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

  const { cluster } = checkIntent('bootstrapCluster', input);
  const { spec, generation } = await loadAcceptedSpec(log, cluster, input.generation);
  if (!workflowInfo().typedSearchAttributes.get(CLUSTER)) {
    upsertSearchAttributes([
      { key: CLUSTER, value: cluster },
      { key: OPERATION, value: 'bootstrap' },
    ]);
  }
  return withClusterLock(cluster, 'bootstrap', input.ifBusy ?? 'wait', () => bootstrapPipelined(spec, generation, log, serverPhase, startedAt));
}

/**
 * Every server in parallel, a provisionServer child each (vRack, three VMs, booted): one promise
 * per server, in spec order. Each child starts once the public NICs are decided (the LB VM is
 * created with its net1, whose MAC OVH makes first).
 */
function provisionEach(spec: ClusterSpec, generation: string, serverPhase: Map<string, string>, publicNics: Promise<PublicNics>): Promise<ProvisionServerResult>[] {
  const cluster = spec.metadata.name;
  return spec.servers.map(async (server) => {
    const lbPublicNic = lbPublicNicIntent(await publicNics, server.name);
    serverPhase.set(server.name, 'provisioning');
    const result = await executeChild(provisionServer, {
      workflowId: workflowIds.provisionServer(cluster, server.name),
      args: [{ cluster, generation, server: server.name, ...(lbPublicNic ? { lbPublicNic } : {}) }],
      typedSearchAttributes: [
        { key: CLUSTER, value: cluster },
        { key: OPERATION, value: 'provision-server' },
      ],
    });
    serverPhase.set(server.name, 'provisioned');
    return result;
  });
}

/** Each failover IP routed to a healthy LB of the cluster (a failoverIp child each, one after the other). */
async function routeFailoverIps(spec: ClusterSpec, generation: string, log: StepLog): Promise<FailoverIpResult[]> {
  const failover: FailoverIpResult[] = [];
  for (const ip of spec.failoverIps) {
    if (publicPathOf(spec).mode === 'vrack-block') {
      log.skip(`route ${ip}`, 'vrack-block: the block is routed into the vRack; keepalived holds the address, nothing moves at OVH');
      continue;
    }
    failover.push(
      await log.run(`route ${ip}`, () =>
        executeChild(failoverIp, {
          workflowId: `${workflowIds.failover(spec.metadata.name, ip)}/bootstrap`,
          args: [{ cluster: spec.metadata.name, generation, ip, reason: 'bootstrap' }],
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

interface BootstrapOutcome {
  servers: ProvisionServerResult[];
  secrets: { created: boolean };
  etcdNode: string;
  etcd: { bootstrapped: boolean; alreadyBootstrapped: boolean };
  /** Machine configs applied (not already in place). */
  applied: number;
  pushes: { changed: unknown[] };
  failover: FailoverIpResult[];
  kubeconfig: string;
  /** What the public path's steps made at OVH (a virtual MAC, the block in the vRack). */
  publicPathMade: string[];
}

/** The run's result: what changed, in the order it happens. */
function bootstrapResult(spec: ClusterSpec, generation: string, log: StepLog, startedAt: number, o: BootstrapOutcome): BootstrapClusterResult {
  const summary: string[] = [];
  const createdVms = o.servers.flatMap((s) => s.vms.filter((vm) => vm.created).map((vm) => `${s.server}/${vm.role}`));
  if (createdVms.length > 0) summary.push(`created ${createdVms.length} VMs`);
  summary.push(...o.publicPathMade);
  const reconciledVms = o.servers.flatMap((s) => s.vms.filter((vm) => !vm.created && vm.reconciled.length > 0).map((vm) => `${s.server}/${vm.role} (${vm.reconciled.join(', ')})`));
  if (reconciledVms.length > 0) summary.push(`reconciled ${reconciledVms.join('; ')}`);
  if (o.secrets.created) summary.push('generated Talos secrets');
  if (o.etcd.bootstrapped) summary.push(`bootstrapped etcd on ${o.etcdNode}`);
  if (o.applied > 0) summary.push(`applied ${o.applied} machine configs`);
  if (o.pushes.changed.length > 0) summary.push(`pushed ${o.pushes.changed.length} LB config files`);
  for (const routed of o.failover) if (routed.moved) summary.push(`routed ${routed.ip} to ${routed.to}`);
  log.phase = 'done';
  return {
    cluster: spec.metadata.name,
    generation,
    changed: summary.length > 0,
    summary: summary.length > 0 ? summary : ['already bootstrapped: nothing to change'],
    servers: o.servers,
    etcdBootstrappedOn: o.etcdNode,
    etcdAlreadyBootstrapped: o.etcd.alreadyBootstrapped,
    failover: o.failover,
    kubeconfig: o.kubeconfig,
    steps: log.steps,
    totalMs: Date.now() - startedAt,
  };
}

/**
 * Each server goes on as soon as it is ready, instead of every server waiting for the
 * slowest one (with many servers, the last child workflows start and finish a second or
 * more after the first):
 *
 *   per server:  provisionServer  →  apply its control-plane and worker configs
 *                                    (once the Talos configs exist, made meanwhile)
 *   talos:       first control plane configured → etcd-bootstrap → etcd-members (each
 *                control plane once configured) → every config applied → cluster-health
 *                → kubeconfig
 *   public path: routing <ip> → virtual-mac <ip> (vmac), before any child starts: the
 *                LB VMs are created with their public NIC (docs/design.md §10.3)
 *   traffic:     every server provisioned → vrack-ip-block (vrack-block) → push-lb-configs
 *                → route <ip>
 *
 * Invariants: one bootstrapEtcd call, after the first control plane has its config; every
 * step an idempotent activity. configure-control-planes and configure-workers are steps of
 * parts: each starts with its first apply, so their durations are time spent, not waited.
 * The LBs take traffic before the control planes answer, which for a new cluster is no
 * traffic; HAProxy's checks keep unready backends out.
 */
async function bootstrapPipelined(spec: ClusterSpec, generation: string, log: StepLog, serverPhase: Map<string, string>, startedAt: number): Promise<BootstrapClusterResult> {
  const ref = refTo(spec, generation);
  const controlPlanes = spec.servers.filter((s) => s.vms.controlPlane).map((s) => s.name);
  const workers = spec.servers.filter((s) => s.vms.worker).map((s) => s.name);
  const etcdNode = controlPlanes[0];

  // Before anything is created: every server's Talos ISO is on its node and is not, by its
  // name, the metal image (which would leave every Talos VM without its address).
  // And the spec's public path works on every server as OVH describes it (virtual MACs, a
  // gateway, one move region group: docs/design.md §10.2). Both only read; they run together.
  const [, publicFacts] = await Promise.all([
    log.run('boot-images', () => Promise.all(spec.servers.map((s) => call.checkBootImage(ref, s.name))), (r) => r.map((i) => i.isoVolume).filter((v, i, all) => all.indexOf(v) === i).join(', ')),
    log.run('public-path-facts', () => call.checkServerPublicFacts(ref), (r) => r.facts.map((f) => `${f.server} ${f.datacenter}${f.vmacSupported ? ' vmac' : ''}`).join(', ')),
  ]);
  // keepalived.conf's public route goes through each server's own gateway, as OVH reports it.
  const gateways = publicFacts.facts.map((f) => f.gateway);
  // The public NICs (vmac: the virtual MAC, made on the server OVH routes the IP to) before
  // any LB VM is created, beside the Talos secrets.
  const publicNics = setUpPublicNics(spec, ref, log);

  const secretsAndConfigs = (async () => {
    const made = await log.run('talos-secrets', () => bookkeeping.ensureTalosSecrets(ref), (s) => (s.created ? 'generated' : 'already in the state store'));
    await log.run('talos-configs', () => bookkeeping.renderMachineConfigs(ref));
    return made;
  })();
  const children = provisionEach(spec, generation, serverPhase, publicNics);
  const provisioning = log.run('provision-servers', () => Promise.all(children));
  const provisioned = (server: string) => children[spec.servers.findIndex((s) => s.name === server)];

  /** Each server's machine of `role` configured once that server is provisioned and the configs exist: one promise per server. */
  const configure = (servers: string[], role: 'controlPlane' | 'worker', stepName: string) => {
    const part = log.parts(stepName, servers.length);
    return servers.map(async (server) => {
      await Promise.all([provisioned(server), secretsAndConfigs]);
      return part(() => call.applyMachineConfig(ref, server, role));
    });
  };
  const cpApplied = configure(controlPlanes, 'controlPlane', 'configure-control-planes');
  const workerApplied = configure(workers, 'worker', 'configure-workers');
  // Each of these is awaited where it is needed, some only late: mark them handled now, so a
  // failure before then is not an unhandled rejection (it still fails the run where awaited).
  for (const p of [publicNics, secretsAndConfigs, provisioning, ...cpApplied, ...workerApplied]) p.catch(() => undefined);

  const talos = async () => {
    await cpApplied[0];
    const etcd = await log.run('etcd-bootstrap', () => call.bootstrapEtcd(ref, etcdNode), (r) => (r.alreadyBootstrapped ? `already bootstrapped` : `bootstrapped on ${etcdNode}`));
    await log.run('etcd-members', () =>
      Promise.all(
        controlPlanes.map(async (server, i) => {
          await cpApplied[i];
          return wait.waitForEtcdMember(ref, server);
        }),
      ),
    );
    const applied = await Promise.all([...cpApplied, ...workerApplied]);
    await log.run('cluster-health', () => wait.clusterHealth(ref));
    const kubeconfig = await log.run('kubeconfig', () => bookkeeping.writeKubeconfig(ref), (k) => k.path);
    return { etcd, applied: applied.filter((a) => a.applied).length, kubeconfig: kubeconfig.path };
  };
  const traffic = async () => {
    await provisioning;
    const blockMade = await attachVrackBlock(spec, ref, log);
    const { plan, made } = await publicNics;
    const active = plan.active;
    const pushes = await log.run('push-lb-configs', () => call.pushLbConfigs(ref, { gateways, ...(active ? { activeServer: active } : {}) }), (r) => `${r.changed.length} files changed`);
    return { pushes, failover: await routeFailoverIps(spec, generation, log), publicPathMade: [made, blockMade].filter((m): m is string => m !== undefined) };
  };
  const [servers, secrets, t, r] = await Promise.all([provisioning, secretsAndConfigs, talos(), traffic()]);
  return bootstrapResult(spec, generation, log, startedAt, { servers, secrets, etcdNode, etcd: t.etcd, applied: t.applied, pushes: r.pushes, failover: r.failover, kubeconfig: t.kubeconfig, publicPathMade: r.publicPathMade });
}
