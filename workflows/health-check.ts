// healthCheck: one pass of probes over the whole cluster, started by the Temporal Schedule
// `<cluster>/health` (overlap SKIP). Named checks in the manner of Talos's cluster checks:
// every LB's health endpoint, every Talos node's VM and readiness, etcd membership, and
// where each failover IP is routed. The pass hands what it saw to the cluster's watcher,
// which remembers across passes and decides (see cluster-watcher.ts); the pass's result
// carries both, so each run in the Web UI shows what was seen and what was done.
import { ApplicationFailure, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../worker/activities';
import { summarizeNodes } from '../core/health/observation';
import type { EtcdMemberHealth } from '../core/policies/quorum';
import type { FailoverObservation, NodeObservation, RemediationAction } from '../core/policies/remediation';
import { CLUSTER, OPERATION } from '../core/search-attributes';
import type { ClusterSpec, ServerSpec, VmRole } from '../core/spec/schema';
import * as profiles from './activity-profiles';
import { progressQuery, StepLog, type StepRecord } from './progress';

type Activities = ReturnType<typeof createActivities>;
const probe = proxyActivities<Activities>(profiles.probe);
const local = proxyActivities<Activities>(profiles.local);
const observe = proxyActivities<Activities>(profiles.observe);

export interface HealthCheckInput {
  spec?: ClusterSpec;
  specFile?: string;
}

export interface HealthObservation {
  cluster: string;
  at: number;
  /** The spec the pass ran with, so the watcher follows spec changes; omitted in stored status. */
  spec?: ClusterSpec;
  nodes: NodeObservation[];
  etcd: EtcdMemberHealth[];
  failover: FailoverObservation[];
}

export interface HealthCheckResult extends HealthObservation {
  healthy: boolean;
  summary: string;
  actions: RemediationAction[];
  steps: StepRecord[];
}

export async function healthCheck(input: HealthCheckInput): Promise<HealthCheckResult> {
  const log = new StepLog();
  setHandler(progressQuery, () => log.snapshot());
  const spec = input.spec ?? (input.specFile ? await log.run('load-spec', () => local.loadSpec(input.specFile!)) : undefined);
  if (!spec) throw ApplicationFailure.nonRetryable('healthCheck needs `spec` or `specFile` in its input', 'BadInput');
  if (!workflowInfo().typedSearchAttributes.get(CLUSTER)) {
    upsertSearchAttributes([
      { key: CLUSTER, value: spec.metadata.name },
      { key: OPERATION, value: 'health' },
    ]);
  }

  let observation: HealthObservation;
  if (patched('health-observe-cluster')) {
    // Every check in one activity (they still run concurrently, each named and timed): a
    // pass is two activities instead of about twelve, the difference between tens and
    // hundreds of clusters per worker (bench/health-capacity.ts).
    const seen = await log.run('observe', () => observe.observeCluster(spec), (o) => summarizeNodes(o.nodes));
    const observeStep = log.steps[log.steps.length - 1];
    for (const check of seen.checks ?? []) log.steps.push({ name: `observe: ${check.name}`, status: 'done', startedAt: observeStep.startedAt, durationMs: check.ms, detail: check.summary });
    observation = { cluster: spec.metadata.name, at: Date.now(), nodes: seen.nodes, etcd: seen.etcd, failover: seen.failover };
  } else {
    observation = await observeWithActivityPerCheck(spec, log);
  }
  const nodes = observation.nodes;
  const actions = await log.run('decide', () => local.submitHealthObservation(spec, observation), (a) =>
    a.filter((x) => x.kind !== 'wait').map((x) => `${x.kind} ${'server' in x ? `${x.server}/${x.role}` : x.ip}`).join(', ') || 'nothing to do',
  );
  const unhealthy = nodes.filter((n) => !n.healthy);
  log.phase = 'done';
  return {
    ...observation,
    healthy: unhealthy.length === 0,
    summary: unhealthy.length === 0 ? 'all healthy' : `unhealthy: ${unhealthy.map((n) => `${n.server}/${n.role} (${n.detail})`).join(', ')}`,
    actions,
    steps: log.steps,
  };
}

/** The passes before observeCluster: one activity per check (kept for runs started before the patch). */
async function observeWithActivityPerCheck(spec: ClusterSpec, log: StepLog): Promise<HealthObservation> {
  const [lbs, talosNodes] = await Promise.all([
    log.run('lb-health', () => Promise.all(spec.servers.map((s) => checkLb(s))), summarizeNodes),
    log.run(
      'talos-nodes',
      () =>
        // One talosctl run for every node instead of one per node: the pass's main cost.
        patched('health-batched-node-readiness')
          ? checkNodesBatched(spec)
          : Promise.all(spec.servers.flatMap((s) => (['controlPlane', 'worker'] as const).filter((r) => s.vms[r]).map((r) => checkNode(spec, s, r)))),
      summarizeNodes,
    ),
  ]);
  const nodes = [...lbs, ...talosNodes];
  const etcd = await log.run('etcd-members', () => checkEtcd(spec, nodes), (e) => `${e.filter((m) => m.healthy).length}/${e.length} healthy members`);
  const failover = await log.run('failover-routing', () =>
    Promise.all(
      spec.failoverIps.map(async (ip) => {
        const routing = await probe.getIpRouting(spec.ovh, ip);
        return { ip, routedTo: spec.servers.find((s) => s.ovhService === routing.routedTo)?.name ?? null };
      }),
    ),
  );
  return { cluster: spec.metadata.name, at: Date.now(), nodes, etcd, failover };
}

async function checkLb(server: ServerSpec): Promise<NodeObservation> {
  const result = await probe.probeLb(server);
  return { server: server.name, role: 'lb', healthy: result.healthy, detail: result.detail };
}

/** A Talos node is healthy when its VM runs and Talos reports it ready. */
async function checkNode(spec: ClusterSpec, server: ServerSpec, role: Exclude<VmRole, 'lb'>): Promise<NodeObservation> {
  const unhealthy = (detail: string): NodeObservation => ({ server: server.name, role, healthy: false, detail });
  try {
    const vm = await probe.vmStatus(spec, server.name, role);
    if (!vm.exists) return unhealthy('VM missing');
    if (vm.status !== 'running') return unhealthy(`VM ${vm.status}`);
    const ready = await probe.nodeReady(spec, server.name, role);
    return ready.ready ? { server: server.name, role, healthy: true, detail: ready.stage } : unhealthy(`${ready.stage}: ${ready.detail}`);
  } catch (err) {
    return unhealthy(err instanceof Error ? err.message.split('\n')[0] : String(err));
  }
}

/** A Talos node is healthy when its VM runs and Talos reports it ready; readiness of all in one call. */
async function checkNodesBatched(spec: ClusterSpec): Promise<NodeObservation[]> {
  const message = (err: unknown) => (err instanceof Error ? err.message.split('\n')[0] : String(err));
  const nodes = spec.servers.flatMap((s) => (['controlPlane', 'worker'] as const).filter((role) => s.vms[role]).map((role) => ({ server: s.name, role })));
  const vms = await Promise.all(
    nodes.map((n) =>
      probe.vmStatus(spec, n.server, n.role).then(
        (vm) => ({ ...n, problem: !vm.exists ? 'VM missing' : vm.status !== 'running' ? `VM ${vm.status}` : undefined }),
        (err) => ({ ...n, problem: message(err) }),
      ),
    ),
  );
  const running = vms.filter((v) => v.problem === undefined).map(({ server, role }) => ({ server, role }));
  const readiness =
    running.length === 0
      ? []
      : await probe.nodesReady(spec, running).catch((err) => running.map((n) => ({ ...n, ready: false, stage: 'unreachable', detail: message(err) })));
  return vms.map((v): NodeObservation => {
    if (v.problem !== undefined) return { server: v.server, role: v.role, healthy: false, detail: v.problem };
    const r = readiness.find((x) => x.server === v.server && x.role === v.role);
    if (!r) return { server: v.server, role: v.role, healthy: false, detail: 'not in the readiness answer' };
    return r.ready ? { server: v.server, role: v.role, healthy: true, detail: r.stage } : { server: v.server, role: v.role, healthy: false, detail: `${r.stage}: ${r.detail}` };
  });
}

async function checkEtcd(spec: ClusterSpec, nodes: NodeObservation[]): Promise<EtcdMemberHealth[]> {
  const readyCps = nodes.filter((n) => n.role === 'controlPlane' && n.healthy).map((n) => n.server);
  const cps = spec.servers.filter((s) => s.vms.controlPlane).map((s) => s.name);
  // Ask each ready control plane in turn; when none can list the members (etcd without
  // quorum answers nothing), every member counts as unhealthy, which the quorum guard reads.
  for (const via of readyCps) {
    try {
      const { members } = await probe.etcdMembers(spec, via);
      return cps.map((server) => ({ server, healthy: readyCps.includes(server) && members.some((m) => m.server === server) }));
    } catch {
      continue;
    }
  }
  return cps.map((server) => ({ server, healthy: false }));
}
