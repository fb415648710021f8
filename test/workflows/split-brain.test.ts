// The split-brain trap of keepalived with a move API (keepalived issues #100, #950), end to end
// on the in-process sandbox (vmac): a BACKUP that hears no advert for a while becomes MASTER,
// its notify_master moves the failover IP, and when it hears the real MASTER again it steps
// down; the real MASTER never transitions, so nothing moves the IP back and the IP serves
// nothing. The health watch sees who holds the VRRP addresses (ip addr over SSH) and where OVH
// routes the IP, and the watcher moves it back to the MASTER once (reason "reconcile").
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WatcherState } from '../../core/health/watcher';
import { workflowIds } from '../../core/workflow-ids';
import type { FailoverIpResult } from '../../workflows/failover-ip';
import type { HealthCheckResult } from '../../workflows/health-check';
import { keepalivedSandbox, type KeepalivedSandbox } from '../helpers/keepalived-sandbox';
import { connect, startInProcessWorker, uniqueQueue, waitUntil, type RunningWorker } from '../helpers/temporal';

const CLUSTER = 'split-brain';
/** Long enough for B's move and its verification to finish while B is MASTER (the takeover bound of failoverIp). */
const DEAF_MS = 12_000;

let client: Client;
let worker: RunningWorker;
let queue: string;
let k: KeepalivedSandbox;
let passes = 0;

beforeAll(async () => {
  client = await connect();
  queue = uniqueQueue('split-brain');
  worker = await startInProcessWorker(queue);
  // Nodes other than the LBs are never created here: no remediation of them, only the failover IP's.
  k = await keepalivedSandbox({ clusterName: CLUSTER, mode: 'vmac', client, queue, health: { autoRemediate: false } });
}, 120_000);

afterAll(async () => {
  await client?.workflow.getHandle(workflowIds.watcher(CLUSTER)).terminate('test over').catch(() => undefined);
  await worker?.stop();
  await client?.connection.close();
  await k?.box.stop();
});

/**
 * One health look: a watch window as short as one probe (its first look always goes to the
 * watcher), then what the watcher received and decided from it.
 */
const pass = async () => {
  await client.workflow.execute<(input: { cluster: string; window: string }) => Promise<HealthCheckResult>>('healthCheck', {
    taskQueue: queue,
    workflowId: `${workflowIds.health(CLUSTER)}/window-${++passes}`,
    args: [{ cluster: CLUSTER, window: '1s' }],
  });
  const { lastObservation, lastActions } = await watcherStatus();
  return { vrrp: lastObservation?.vrrp, failover: lastObservation?.failover, actions: lastActions };
};
const watcherStatus = () => client.workflow.getHandle(workflowIds.watcher(CLUSTER)).query<WatcherState>('status');
const failoverRun = () => client.workflow.getHandle<() => Promise<FailoverIpResult>>(workflowIds.failover(CLUSTER, k.ip));

describe('the split-brain reconcile', () => {
  it('a pass on a consistent cluster sees A, where the IP is routed, as VRRP MASTER, looks no further and decides nothing', async () => {
    const seen = await pass();
    expect(seen.vrrp).toEqual([{ server: 'srv-a', master: true }]);
    expect(seen.failover).toEqual([{ ip: k.ip, routedTo: 'srv-a' }]);
    expect(seen.actions.filter((a) => 'ip' in a)).toEqual([]);
  });

  it('a BACKUP briefly MASTER moves the IP; the reconcile brings it back to the real MASTER, once', async () => {
    const movesBefore = k.moves();
    k.box.vrrp.isolate('srv-b', DEAF_MS);
    await waitUntil('srv-b becomes MASTER beside srv-a', () => k.box.vrrp.holders().length === 2, 30_000);
    await k.servedBy('srv-b');
    await waitUntil('srv-b steps down', () => k.box.vrrp.state('srv-b') === 'BACKUP', 30_000);
    await k.box.vrrp.settled();
    // The trap: the IP stays on srv-b, whose LB is BACKUP (link down, no address); srv-a never notified again.
    const trapped = await failoverRun().result();
    expect(trapped).toMatchObject({ to: 'srv-b', moved: true, reason: 'keepalived' });
    await waitUntil("srv-b's public link is down again", () => k.linkUp('srv-b') === false);
    expect(k.box.ovh.routing(k.ip)).toBe(k.serviceOf('srv-b'));
    expect((await k.box.internet.serves(k.ip)).served).toBe(false);
    expect(k.moves() - movesBefore).toBe(1);

    const first = await pass();
    expect(first.vrrp).toEqual([
      { server: 'srv-a', master: true },
      { server: 'srv-b', master: false },
    ]);
    expect(first.actions.filter((a) => 'ip' in a)).toEqual([expect.objectContaining({ kind: 'failover', ip: k.ip, from: 'srv-b', to: 'srv-a', reason: 'reconcile' })]);
    await waitUntil('the IP is routed to srv-a again', () => k.box.ovh.routing(k.ip) === k.serviceOf('srv-a'), 30_000);
    const reconciled = await failoverRun().result();
    expect(reconciled).toMatchObject({ from: 'srv-b', to: 'srv-a', moved: true, reason: 'reconcile', serving: { served: true, by: 'srv-a' } });
    await k.servedBy('srv-a');

    // The next passes find routing and MASTER in agreement: nothing more, and the record says what was done.
    const after = [await pass(), await pass()];
    expect(after.flatMap((p) => p.actions.filter((a) => 'ip' in a))).toEqual([]);
    expect(k.moves() - movesBefore).toBe(2);
    // The watcher's record: the reconcile launched once (no outcome yet), then its outcome.
    const reconciles = async () => (await watcherStatus()).recent.filter((r) => r.action.kind === 'failover' && r.action.reason === 'reconcile');
    await waitUntil('the watcher recorded the outcome', async () => (await reconciles()).some((r) => r.outcome !== undefined));
    expect((await reconciles()).map((r) => [r.action.kind === 'failover' && `${r.action.from}→${r.action.to}`, r.outcome])).toEqual([
      ['srv-b→srv-a', undefined],
      ['srv-b→srv-a', 'moved to srv-a'],
    ]);
    expect((await watcherStatus()).reconciled).toEqual({});
  });
});
