// healthCheck: one watch window over a cluster, started by the Temporal Schedule
// `<cluster>/health` (one run per window, overlap BUFFER_ONE so windows follow each other;
// pause, resume and inspect it in the Web UI). Why windows and not a run per probe: a run
// per probe costs ~8 billable actions and ~17 KB of history every 30 s; a window costs a few
// actions an hour while nothing changes (docs/design.md §9).
//
// The window is a chain of legs of the watchCluster activity: each probes every interval
// (the spec's health.interval) and comes back only when what it sees needs a decision — a
// node or LB went unhealthy or recovered, etcd membership changed, an IP moved, the VRRP
// picture changed, the spec changed, or the watcher said its decision changes by then
// (unhealthyAfter running out) — or at the window's end. The workflow hands each such
// observation to the cluster's watcher, which remembers and decides (cluster-watcher.ts), and
// records it as one step: the Web UI shows each change and decision, and a quiet hour as one
// line.
import { proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { WatchLegResult } from '../activities/health/watch-cluster';
import type { ClusterObservation } from '../core/health/observation';
import type { RemediationAction } from '../core/policies/remediation';
import { CLUSTER, OPERATION } from '../core/search-attributes';
import { parseDuration } from '../core/spec/duration';
import { workflowIds } from '../core/workflow-ids';
import type { HealthCheckIntent } from '../core/intents';
import * as profiles from './activity-profiles';
import { checkIntent } from './accepted-spec';
import { progressQuery, StepLog, type StepRecord } from './progress';

const bookkeeping = proxyActivities<Activities>(profiles.bookkeeping);

/** The cluster to watch, the window's length and an optional probe interval. */
export type HealthCheckInput = HealthCheckIntent;

export const DEFAULT_WINDOW = '1h';
/** Steps kept in the result: an incident reported every probe must not grow it without bound. */
const STEPS_KEPT = 40;

export interface HealthCheckResult {
  cluster: string;
  /** The spec generation the window last checked against. */
  generation?: string;
  probes: number;
  /** Observations handed to the watcher. */
  reports: number;
  healthy: boolean;
  summary: string;
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
  const windowMs = parseDuration(input.window ?? DEFAULT_WINDOW);
  const watch = proxyActivities<Activities>(profiles.watchLeg(windowMs));
  const until = workflowInfo().startTime.getTime() + windowMs;

  let baseline: ClusterObservation | undefined;
  let generation: string | undefined;
  let recheckAt: number | undefined;
  let probes = 0;
  let reports = 0;
  let dropped = 0;
  for (;;) {
    const leg: WatchLegResult = await log.run(
      'watch',
      () =>
        watch.watchCluster({
          cluster: input.cluster,
          until,
          ...(input.every !== undefined ? { everyMs: parseDuration(input.every) } : {}),
          beatEveryMs: profiles.heartbeatEveryMs(windowMs),
          baseline,
          generation,
          recheckAt,
          scheduleId: workflowIds.health(input.cluster),
        }),
      (l) => `${l.end} after ${l.probes} probe${l.probes === 1 ? '' : 's'}: ${l.summary}`,
    );
    probes += leg.probes;
    generation = leg.generation;
    if (leg.observation !== undefined) {
      const report = { observation: leg.observation, generation: leg.generation };
      const answer = await log.run('decide', () => bookkeeping.reportChangeToWatcher({ cluster: input.cluster, report }), (a) => describeActions(a.actions));
      reports += 1;
      baseline = leg.observation;
      recheckAt = answer.recheckAt;
    }
    if (log.steps.length > STEPS_KEPT) dropped += log.steps.splice(0, log.steps.length - STEPS_KEPT).length;
    if (leg.end === 'window-end') break;
  }
  log.phase = 'done';
  const unhealthy = baseline?.nodes.filter((n) => !n.healthy) ?? [];
  return {
    cluster: input.cluster,
    generation,
    probes,
    reports,
    healthy: baseline !== undefined && unhealthy.length === 0,
    summary:
      (baseline === undefined ? 'nothing observed' : unhealthy.length === 0 ? `all ${baseline.nodes.length} healthy` : `unhealthy: ${unhealthy.map((n) => `${n.server}/${n.role} (${n.detail})`).join(', ')}`) +
      `; ${probes} probes, ${reports} reported to the watcher${dropped > 0 ? `; ${dropped} earlier steps not kept` : ''}`,
    steps: log.steps,
  };
}

/** What the watcher decided, in one line: the actions it takes, and how many nodes it waits on. */
function describeActions(actions: readonly RemediationAction[]): string {
  const waits = actions.filter((a) => a.kind === 'wait').length;
  const done = actions.filter((a) => a.kind !== 'wait').map((a) => `${a.kind} ${'server' in a ? `${a.server}/${a.role}` : a.ip}`);
  return [...done, ...(waits > 0 ? [`waiting on ${waits}`] : [])].join(', ') || 'nothing to do';
}
