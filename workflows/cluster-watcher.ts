// clusterWatcher: the memory of the health checks (`<cluster>/watcher`).
//
// Why a second workflow: the Temporal Schedule `<cluster>/health` starts one short
// `healthCheck` pass per interval, so passes can be paused, resumed and inspected one by one
// in the Web UI, but a pass cannot remember how long a node has been unhealthy or which
// repairs are running. Each pass hands its observations to this long-lived workflow through
// an Update-with-Start (`report`); the watcher keeps that history, applies the pure remediation policy
// and answers with what it decided, so the pass's own result shows the decision. It runs the
// remediations (Proxmox reboots, `replaceNode` and `failoverIp` children), never more than
// `maxUnhealthy` at once, and continues as new when its history grows, carrying its state.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import type { WatcherAnswer, WatcherReport, WatcherState } from '../core/health/watcher';
import { nextDecisionAt } from '../core/health/watch-window';
import { decideRemediations, nodeKey, recordHealth, type RemediationAction } from '../core/policies/remediation';
import { decideReconcile } from '../core/policies/vrrp-reconcile';
import { parseDuration } from '../core/spec/duration';
import type { ClusterSpec } from '../core/spec/schema';
import { CLUSTER, OPERATION, SERVER } from '../core/search-attributes';
import { workflowIds } from '../core/workflow-ids';
import { intentProblem } from '../core/intents';
import * as profiles from './activity-profiles';
import { failoverIp } from './failover-ip';
import { replaceNode } from './replace-node';

const call = proxyActivities<Activities>(profiles.providerCall);
const bookkeeping = proxyActivities<Activities>(profiles.bookkeeping);


export interface ClusterWatcherInput {
  cluster: string;
  state?: WatcherState;
}

export const reportUpdate = defineUpdate<RemediationAction[], [WatcherReport]>('report');
/**
 * A watch window's report (workflows/health-check.ts): the same decision, with when it could
 * change on the same observation, so the window reports again only then or on a change.
 * A second handler rather than a new answer for `report`: windows and passes of older
 * pinned versions may still call `report`. Adds no command, so no patched().
 */
export const reportChangeUpdate = defineUpdate<WatcherAnswer, [WatcherReport]>('reportChange');
export const watcherStatusQuery = defineQuery<WatcherState>('status');

const RECENT_LIMIT = 50;
const UPDATES_BEFORE_CONTINUE = 500;

export async function clusterWatcher(input: ClusterWatcherInput): Promise<void> {
  const cluster = input.cluster;
  // The accepted spec of the latest report (every report carries the one its pass loaded);
  // remediations run with that generation.
  let spec: ClusterSpec | undefined;
  let generation: string | undefined;
  const state: WatcherState = input.state ?? { history: {}, inFlight: [], recent: [], lastActions: [] };
  const inFlight = new Set(state.inFlight);
  let updates = 0;

  const remember = (action: RemediationAction, outcome?: string) => {
    state.recent.push({ at: Date.now(), action, outcome });
    if (state.recent.length > RECENT_LIMIT) state.recent.splice(0, state.recent.length - RECENT_LIMIT);
  };

  const launch = (action: RemediationAction): void => {
    if (action.kind === 'failover') {
      // Same ID keepalived's trigger uses: if that run is going, ours simply is not needed.
      startChild(failoverIp, {
        workflowId: workflowIds.failover(cluster, action.ip),
        args: [{ cluster, generation, ip: action.ip, ...(action.to !== undefined ? { to: action.to } : {}), reason: action.reason ?? `health check: ${action.why}` }],
        typedSearchAttributes: [
          { key: CLUSTER, value: cluster },
          { key: OPERATION, value: 'failover' },
        ],
      }).then(
        (child) => child.result().then((r) => remember(action, r.moved ? `moved to ${r.to}` : r.why)),
        (err) => remember(action, err instanceof WorkflowExecutionAlreadyStartedError ? 'joined the failover already running' : String(err)),
      ).catch((err) => remember(action, `failed: ${String(err)}`));
      return;
    }
    if (action.kind !== 'reboot' && action.kind !== 'replace') return;
    const key = nodeKey(action.server, action.role);
    const h = (state.history[key] ??= {});
    inFlight.add(key);
    const done = (outcome: string) => {
      inFlight.delete(key);
      remember(action, outcome);
    };
    if (action.kind === 'reboot') {
      h.rebootedAt = Date.now();
      call.rebootVm({ cluster, generation: generation! }, action.server, action.role).then((r) => done(`VM ${r.vmid} ${r.action}`), (err) => done(`reboot failed: ${String(err)}`));
      return;
    }
    h.replacedAt = Date.now();
    h.startedAt = Date.now();
    h.healthySinceStart = false;
    startChild(replaceNode, {
      workflowId: workflowIds.replace(cluster, action.server, action.role),
      args: [{ cluster, generation, server: action.server, role: action.role, reason: `health check: ${action.why}`, ifBusy: 'wait' }],
      typedSearchAttributes: [
        { key: CLUSTER, value: cluster },
        { key: OPERATION, value: 'replace' },
        { key: SERVER, value: action.server },
      ],
    })
      .then((child) => child.result())
      .then((r) => done(`replaced with VM ${r.newVmid}`), (err) => done(`replace failed: ${String(err)}`));
  };

  let policy: Parameters<typeof nextDecisionAt>[0]['policy'] = { unhealthyAfterMs: 0, nodeStartupTimeoutMs: 0 };
  const decide = async (report: WatcherReport): Promise<RemediationAction[]> => {
      updates += 1;
      const { observation } = report;
      if (report.generation !== generation || spec === undefined) {
        // Once per generation: the accepted spec, checked by a worker against its policy.
        const loaded = await bookkeeping.acceptedSpec(cluster, report.generation);
        spec = loaded.spec;
        generation = loaded.generation;
      }
      const now = Date.now();
      for (const node of observation.nodes) {
        const key = nodeKey(node.server, node.role);
        state.history[key] = recordHealth(state.history[key], node.healthy, now);
      }
      const actions = decideRemediations({
        now,
        nodes: observation.nodes,
        history: state.history,
        inFlight: [...inFlight],
        policy: {
          ...(policy = { unhealthyAfterMs: parseDuration(spec.health.unhealthyAfter), nodeStartupTimeoutMs: parseDuration(spec.health.nodeStartupTimeout) }),
          maxUnhealthy: spec.health.maxUnhealthy,
          autoRemediate: spec.health.autoRemediate,
        },
        etcd: observation.etcd,
        desiredControlPlanes: spec.servers.filter((s) => s.vms.controlPlane).length,
        failover: observation.failover,
      });
      if (observation.vrrp !== undefined) {
        // The split-brain reconcile: the IP back to the VRRP MASTER, once per mismatch.
        const moving = actions.flatMap((a) => (a.kind === 'failover' ? [a.ip] : []));
        const decided = decideReconcile({ failover: observation.failover, nodes: observation.nodes, vrrp: observation.vrrp, reconciled: state.reconciled ?? {}, moving });
        state.reconciled = decided.reconciled;
        actions.push(...decided.actions);
      }
      for (const action of actions) {
        if (action.kind === 'failover' || action.kind === 'reboot' || action.kind === 'replace') {
          remember(action);
          launch(action);
        }
      }
      state.lastObservation = observation;
      state.lastActions = actions;
      return actions;
  };
  const validator = (report: WatcherReport) => {
    const problem = intentProblem('watcherReport', report);
    if (problem !== undefined) throw new Error(problem);
    if (report.observation.cluster !== cluster) failValidation(report.observation.cluster, cluster);
  };
  setHandler(reportUpdate, decide, { validator });
  setHandler(
    reportChangeUpdate,
    async (report) => {
      const actions = await decide(report);
      const recheckAt = nextDecisionAt({ now: Date.now(), nodes: report.observation.nodes, history: state.history, inFlight: [...inFlight], policy });
      return recheckAt === undefined ? { actions } : { actions, recheckAt };
    },
    { validator },
  );
  setHandler(watcherStatusQuery, () => ({ ...state, inFlight: [...inFlight] }));

  await condition(() => updates >= UPDATES_BEFORE_CONTINUE || workflowInfo().continueAsNewSuggested);
  // Let running repairs finish first: children would not follow this run into the next.
  await condition(() => inFlight.size === 0 && allHandlersFinished());
  await continueAsNew<typeof clusterWatcher>({ cluster, state: { ...state, inFlight: [] } });
}

function failValidation(got: string, want: string): never {
  throw new Error(`observation for cluster ${got} sent to the watcher of ${want}`);
}
