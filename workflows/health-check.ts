// healthCheck: one pass of probes over the whole cluster, started by the Temporal Schedule
// `<cluster>/health` (overlap SKIP). Named checks in the manner of Talos's cluster checks:
// every LB's health endpoint, every Talos node's VM and readiness, etcd membership, and
// where each failover IP is routed. The pass hands what it saw to the cluster's watcher,
// which remembers across passes and decides (see cluster-watcher.ts); the pass's result
// carries both, so each run in the Web UI shows what was seen and what was done.
import { proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { summarizeNodes, type ClusterObservation } from '../core/health/observation';
import type { RemediationAction } from '../core/policies/remediation';
import { CLUSTER, OPERATION } from '../core/search-attributes';
import type { HealthCheckIntent } from '../core/intents';
import * as profiles from './activity-profiles';
import { checkIntent } from './accepted-spec';
import { progressQuery, StepLog, type StepRecord } from './progress';

const bookkeeping = proxyActivities<Activities>(profiles.bookkeeping);
const pass = proxyActivities<Activities>(profiles.healthPass);

/** The cluster to check. */
export type HealthCheckInput = HealthCheckIntent;

export interface HealthCheckResult extends ClusterObservation {
  /** The spec generation the pass checked against. */
  generation: string;
  healthy: boolean;
  summary: string;
  actions: RemediationAction[];
  steps: StepRecord[];
}

export async function healthCheck(input: HealthCheckInput): Promise<HealthCheckResult> {
  const log = new StepLog();
  setHandler(progressQuery, () => log.snapshot());
  checkIntent('healthCheck', input);
  if (!workflowInfo().typedSearchAttributes.get(CLUSTER)) {
    upsertSearchAttributes([
      { key: CLUSTER, value: input.cluster },
      { key: OPERATION, value: 'health' },
    ]);
  }

  // The accepted spec and every check in one activity (the checks still run concurrently,
  // each named and timed): the difference between tens and hundreds of clusters per worker
  // (bench/health-capacity.ts).
  const { generation, spec, seen: timed } = await log.run('observe', () => pass.observeAcceptedCluster(input.cluster), (o) => `spec ${o.generation}; ${summarizeNodes(o.seen.nodes)}`);
  const { checks, ...seen } = timed;
  const observeStep = log.steps[log.steps.length - 1];
  for (const check of checks) log.steps.push({ name: `observe: ${check.name}`, status: 'done', startedAt: observeStep.startedAt, durationMs: check.ms, detail: check.summary });
  const observation: ClusterObservation = { ...seen, at: Date.now() };
  const nodes = observation.nodes;
  const actions = await log.run('decide', () => bookkeeping.reportToWatcher({ cluster: input.cluster, report: { observation, generation } }), (a) =>
    a.filter((x) => x.kind !== 'wait').map((x) => `${x.kind} ${'server' in x ? `${x.server}/${x.role}` : x.ip}`).join(', ') || 'nothing to do',
  );
  const unhealthy = nodes.filter((n) => !n.healthy);
  log.phase = 'done';
  return {
    ...observation,
    generation,
    healthy: unhealthy.length === 0,
    summary: unhealthy.length === 0 ? 'all healthy' : `unhealthy: ${unhealthy.map((n) => `${n.server}/${n.role} (${n.detail})`).join(', ')}`,
    actions,
    steps: log.steps,
  };
}
