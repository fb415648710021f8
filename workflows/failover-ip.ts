// failoverIp: move one OVH failover IP to a healthy server's LB (docs/design.md §2.3).
//
// Workflow ID `<cluster>/failover/<ip>`; starters use the USE_EXISTING conflict policy, so a
// storm of triggers (keepalived notify_master on several LBs, the health schedule) joins
// one run and makes one move. The activities look before they act, so a retried move call
// whose first attempt was applied adopts the pending OVH task instead of moving twice.
import { ApplicationFailure, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { decideFailoverTarget } from '../core/policies/failover-target';
import { publicPathOf } from '../core/public-path/modes';
import { CLUSTER, OPERATION } from '../core/search-attributes';
import type { FailoverIntent } from '../core/intents';
import * as profiles from './activity-profiles';
import { checkIntent, loadAcceptedSpec, refTo } from './accepted-spec';
import { progressQuery, StepLog, type StepRecord } from './progress';

const call = proxyActivities<Activities>(profiles.providerCall);
const wait = proxyActivities<Activities>(profiles.ipMoveWait);
const probe = proxyActivities<Activities>(profiles.probe);
const publicSide = proxyActivities<Activities>(profiles.publicProbe);

/**
 * How long verify-serving waits for the moved IP to answer on the public side. The new MASTER's
 * public link comes up with keepalived's notify_master, before it asks for the move, and OVH
 * lists the virtual MAC on the target once the move task is done: a path still silent 30 s
 * after that is broken, not slow.
 */
const SERVING_BOUND_MS = 30_000;

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
  /**
   * Whether the IP served traffic through publicPath.probeUrl when the run ended. A move fails
   * (FailoverNotServing) rather than finish unserved; a noop reports what it saw. Absent detail
   * "no publicPath.probeUrl": the spec names no probe, serving was not verified.
   */
  serving: { served: boolean; by?: string; detail: string };
  steps: StepRecord[];
  totalMs: number;
}

export async function failoverIp(input: FailoverIpInput): Promise<FailoverIpResult> {
  const log = new StepLog();
  setHandler(progressQuery, () => log.snapshot());
  const startedAt = Date.now();

  checkIntent('failoverIp', input);
  const { spec, generation } = await loadAcceptedSpec(log, input.cluster, input.generation);
  const ref = refTo(spec, generation);
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

  const readRouting = () => log.run('read-routing', () => call.getIpRouting(ref, input.ip), (r) => `routed to ${nameOf(r.routedTo) ?? 'nowhere'}`);
  // Every LB in one activity (one billable action, not one per LB): one answer per LB, in spec order.
  const probeLbs = () => log.run('probe-lbs', () => probe.probeLbs(ref), (all) => all.map((p) => `${p.server}: ${p.healthy ? 'healthy' : p.detail}`).join('; '));
  const waitPendingMove = async (pending: { taskId: number; destination: string | null }) => {
    // A move is already under way (an earlier run, or someone in the OVH panel): let it land,
    // then decide from where the IP really is. Moving again now would be refused (409) anyway.
    await log.run('wait-pending-move', () => wait.waitForIpTask(ref, input.ip, pending.taskId), () => `task ${pending.taskId} to ${nameOf(pending.destination)}`);
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
  const probeUrl = publicPathOf(spec).probeUrl;
  const notVerified = 'no publicPath.probeUrl: serving not verified';
  const servingOf = (p: { served: boolean; servedBy?: string; detail: string }) => ({ served: p.served, ...(p.servedBy ? { by: p.servedBy } : {}), detail: p.detail });
  const result = (moved: boolean, to: string, why: string, serving: FailoverIpResult['serving'], taskId?: number): FailoverIpResult => ({
    cluster: spec.metadata.name,
    ip: input.ip,
    from,
    to,
    moved,
    why,
    reason: input.reason ?? 'manual',
    generation,
    taskId,
    serving,
    steps: log.steps,
    totalMs: Date.now() - startedAt,
  });

  if (decision.kind === 'refuse') throw ApplicationFailure.nonRetryable(decision.why, 'FailoverRefused');
  if (decision.kind === 'noop') {
    log.skip('move', decision.why);
    // Nothing moved, so nothing of the path changed here: one look, reported, never a failure
    // (the health pass and keepalived own a path that is broken without a move).
    let serving: FailoverIpResult['serving'] = { served: false, detail: notVerified };
    if (probeUrl === undefined) log.skip('verify-serving', notVerified);
    else serving = servingOf(await log.run('verify-serving', () => publicSide.probePublicIp(ref, input.ip), (p) => p.detail));
    log.phase = 'done';
    return result(false, decision.to, decision.why, serving);
  }
  const to = decision.to;
  const toService = spec.servers.find((s) => s.name === to)!.ovhService;

  const movable = await log.run('check-movable', () => call.checkIpMovable(ref, input.ip, toService));
  if (!movable.movable) {
    throw ApplicationFailure.nonRetryable(`OVH refuses to move ${input.ip} to ${to} (${toService}): ${movable.reason ?? 'no reason given'}`, 'FailoverRefused');
  }
  const started = await log.run(
    'start-move',
    () => call.startIpMove(ref, input.ip, toService),
    (s) => (s.alreadyRouted ? 'already routed' : s.adoptedPendingTask ? `adopted pending task ${s.taskId}` : `task ${s.taskId}`),
  );
  if (started.taskId !== null) {
    const taskId = started.taskId;
    await log.run('wait-move-task', () => wait.waitForIpTask(ref, input.ip, taskId), (w) => `task ${w.taskId} ${w.status}`);
  }
  const after = await log.run('verify-routing', () => call.getIpRouting(ref, input.ip), (r) => `routed to ${nameOf(r.routedTo)}`);
  if (after.routedTo !== toService) {
    throw ApplicationFailure.nonRetryable(
      `the move task finished but ${input.ip} is routed to ${nameOf(after.routedTo) ?? 'nowhere'}, not ${to}; check the OVH control panel`,
      'FailoverUnverified',
    );
  }
  // Done means the public IP serves traffic: for vmac OVH lists the IP under the target's
  // virtual MAC, and a request to the IP as the public side sends it is answered.
  let serving: FailoverIpResult['serving'] = { served: false, detail: notVerified };
  if (probeUrl === undefined) {
    log.skip('verify-serving', notVerified);
  } else {
    if (publicPathOf(spec).mode === 'vmac') {
      const macs = await log.run(
        'verify-virtual-mac',
        () => call.listVirtualMacs(ref, toService),
        (all) => all.find((m) => m.ips.includes(input.ip))?.mac ?? `no virtual MAC of ${input.ip} on ${to}`,
      );
      if (!macs.some((m) => m.ips.includes(input.ip))) {
        throw ApplicationFailure.nonRetryable(
          `${input.ip} is routed to ${to} but OVH lists it under none of ${to}'s virtual MACs (${macs.map((m) => m.mac).join(', ') || 'none'}); its traffic is dropped at the server. Check the IP's virtual MAC in the OVH control panel`,
          'FailoverNotServing',
        );
      }
    }
    const probed = await log.run('verify-serving', () => publicSide.probePublicIp(ref, input.ip, { untilServedMs: SERVING_BOUND_MS }), (p) => p.detail);
    if (!probed.served) {
      throw ApplicationFailure.nonRetryable(
        `${input.ip} is routed to ${to} but does not serve traffic: ${probed.detail}. Check ${to}'s LB public link (net1 link_down) and HAProxy`,
        'FailoverNotServing',
      );
    }
    serving = servingOf(probed);
  }
  log.phase = 'done';
  // Moved means: this run found the IP elsewhere and leaves it verified on the target (a retried
  // call may find its own earlier, applied move already done).
  return result(routing.routedTo !== toService, to, decision.why, serving, started.taskId ?? undefined);
}
