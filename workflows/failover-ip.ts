// failoverIp: move one OVH failover IP to a healthy server's LB (docs/design.md §2.3).
//
// Workflow ID `<cluster>/failover/<ip>`; starters use the USE_EXISTING conflict policy, so a
// storm of triggers (keepalived notify_master on several LBs, the health schedule) joins
// one run and makes one move. The activities look before they act, so a retried move call
// whose first attempt was applied adopts the pending OVH task instead of moving twice.
import { ApplicationFailure, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { decideFailoverTarget } from '../core/policies/failover-target';
import { CLUSTER, OPERATION } from '../core/search-attributes';
import type { FailoverIntent } from '../core/intents';
import * as profiles from './activity-profiles';
import { checkIntent, loadAcceptedSpec } from './accepted-spec';
import { progressQuery, StepLog, type StepRecord } from './progress';

const call = proxyActivities<Activities>(profiles.providerCall);
const wait = proxyActivities<Activities>(profiles.providerTaskWait);
const probe = proxyActivities<Activities>(profiles.probe);

/** Which IP to route, and where: `to` a server (default: the first healthy LB in spec order), `avoid` one about to be replaced. */
export type FailoverIpInput = FailoverIntent;

export interface FailoverIpResult {
  cluster: string;
  ip: string;
  /** Server (or OVH service, if not in the spec) the IP was routed to before; null when parked. */
  from: string | null;
  to: string;
  moved: boolean;
  why: string;
  reason: string;
  /** The spec generation the run worked with. */
  generation: string;
  taskId?: number;
  steps: StepRecord[];
  totalMs: number;
}

export async function failoverIp(input: FailoverIpInput): Promise<FailoverIpResult> {
  const log = new StepLog();
  setHandler(progressQuery, () => log.snapshot());
  const startedAt = Date.now();

  checkIntent('failoverIp', input);
  const { spec, generation } = await loadAcceptedSpec(log, input.cluster, input.generation);
  if (!spec.failoverIps.includes(input.ip)) {
    throw ApplicationFailure.nonRetryable(`${input.ip} is not one of the cluster's failoverIps (${spec.failoverIps.join(', ')})`, 'BadInput');
  }
  if (!workflowInfo().typedSearchAttributes.get(CLUSTER)) {
    upsertSearchAttributes([
      { key: CLUSTER, value: spec.metadata.name },
      { key: OPERATION, value: 'failover' },
    ]);
  }

  const nameOf = (service: string | null) => (service === null ? null : (spec.servers.find((s) => s.ovhService === service)?.name ?? service));

  const readRouting = () => log.run('read-routing', () => call.getIpRouting(spec.ovh, input.ip), (r) => `routed to ${nameOf(r.routedTo) ?? 'nowhere'}`);
  const probeLbs = () =>
    log.run(
      'probe-lbs',
      () => Promise.all(spec.servers.map((server) => probe.probeLb(server))),
      (all) => all.map((p) => `${p.server}: ${p.healthy ? 'healthy' : p.detail}`).join('; '),
    );
  const waitPendingMove = async (pending: { taskId: number; destination: string | null }) => {
    // A move is already under way (an earlier run, or someone in the OVH panel): let it land,
    // then decide from where the IP really is. Moving again now would be refused (409) anyway.
    await log.run('wait-pending-move', () => wait.waitForIpTask(spec.ovh, input.ip, pending.taskId), () => `task ${pending.taskId} to ${nameOf(pending.destination)}`);
  };

  // Reading the routing and probing the LBs are independent: both at once shortens the path
  // from a keepalived takeover to the OVH move call (bench: failover-detection).
  let [routing, probes] = await Promise.all([readRouting(), probeLbs()]);
  if (routing.pendingMove) {
    await waitPendingMove(routing.pendingMove);
    [routing, probes] = await Promise.all([readRouting(), probeLbs()]); // the wait can be long: look again
  }
  const decision = decideFailoverTarget({ servers: spec.servers, routedToService: routing.routedTo, requested: input.to, probes, avoid: input.avoid });
  const from = nameOf(routing.routedTo);
  const result = (moved: boolean, to: string, why: string, taskId?: number): FailoverIpResult => ({
    cluster: spec.metadata.name,
    ip: input.ip,
    from,
    to,
    moved,
    why,
    reason: input.reason ?? 'manual',
    generation,
    taskId,
    steps: log.steps,
    totalMs: Date.now() - startedAt,
  });

  if (decision.kind === 'refuse') throw ApplicationFailure.nonRetryable(decision.why, 'FailoverRefused');
  if (decision.kind === 'noop') {
    log.skip('move', decision.why);
    log.phase = 'done';
    return result(false, decision.to, decision.why);
  }
  const to = decision.to;
  const toService = spec.servers.find((s) => s.name === to)!.ovhService;

  const movable = await log.run('check-movable', () => call.checkIpMovable(spec.ovh, input.ip, toService));
  if (!movable.movable) {
    throw ApplicationFailure.nonRetryable(`OVH refuses to move ${input.ip} to ${to} (${toService}): ${movable.reason ?? 'no reason given'}`, 'FailoverRefused');
  }
  const started = await log.run(
    'start-move',
    () => call.startIpMove(spec.ovh, input.ip, toService),
    (s) => (s.alreadyRouted ? 'already routed' : s.adoptedPendingTask ? `adopted pending task ${s.taskId}` : `task ${s.taskId}`),
  );
  if (started.taskId !== null) {
    const taskId = started.taskId;
    await log.run('wait-move-task', () => wait.waitForIpTask(spec.ovh, input.ip, taskId), (w) => `task ${w.taskId} ${w.status}`);
  }
  const after = await log.run('verify-routing', () => call.getIpRouting(spec.ovh, input.ip), (r) => `routed to ${nameOf(r.routedTo)}`);
  if (after.routedTo !== toService) {
    throw ApplicationFailure.nonRetryable(
      `the move task finished but ${input.ip} is routed to ${nameOf(after.routedTo) ?? 'nowhere'}, not ${to}; check the OVH control panel`,
      'FailoverUnverified',
    );
  }
  log.phase = 'done';
  // Moved means: this run found the IP elsewhere and leaves it verified on the target (a retried
  // call may find its own earlier, applied move already done).
  return result(routing.routedTo !== toService, to, decision.why, started.taskId ?? undefined);
}
