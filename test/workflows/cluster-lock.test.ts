// One destructive operation per cluster at a time (docs/design.md §4.4), on a bootstrapped
// sandbox: a replacement that finds the cluster lock held either fails at once, naming the
// holder (ifBusy 'fail', from a workflow start and from the CLI), or queues behind it and
// starts its work only once the holder is done (ifBusy 'wait').
//
// Each holder is a real replaceNode of a worker. To be sure it still holds the lock while the
// second request arrives, its Proxmox node answers the VM create late (a `delay` fault): the
// holder is then between its destroy and its create for that long.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootCauseMessage } from '../../client/failure';
import { startBootstrap, startReplace } from '../../client/start';
import { workflowIds } from '../../core/workflow-ids';
import { startSandbox, type Sandbox } from '../../sandbox';
import type { AuditEntry } from '../../sandbox/audit';
import { connect, startInProcessWorker, temporalAddress, uniqueQueue, waitUntil, type RunningWorker } from '../helpers/temporal';
import { runAutok8s as autok8s } from '../helpers/cli';

const CLUSTER = 'cluster-lock';
let box: Sandbox;
let client: Client;
let worker: RunningWorker;
let queue: string;

async function startFreshSandbox(): Promise<Sandbox> {
  return startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-lock-')), clusterName: CLUSTER });
}

beforeAll(async () => {
  box = await startFreshSandbox();
  client = await connect();
  queue = uniqueQueue('cluster-lock');
  worker = await startInProcessWorker(queue);
  await (await startBootstrap(client, queue, box.spec)).handle.result();
}, 180_000);

afterAll(async () => {
  await client?.workflow.getHandle(workflowIds.lock(CLUSTER)).terminate('test over').catch(() => undefined);
  await worker?.stop();
  await client?.connection.close();
  await box?.stop();
});

const server = (name: string) => box.spec.servers.find((s) => s.name === name)!;
const lastSeq = () => box.audit.entries().at(-1)?.seq ?? 0;

/** Every simulator call that acted on this server's worker VM (its Proxmox VMID or its Talos node) after `since`. */
function touches(name: string, since: number): AuditEntry[] {
  const s = server(name);
  const vm = s.vms.worker;
  return box.audit
    .entries()
    .filter((e) => e.seq > since)
    .filter((e) => (e.service === `proxmox:${s.proxmox.node}` && e.target === String(vm.vmid)) || (e.service === 'talos' && e.target === vm.ip));
}
const vmAction = (name: string, action: string, since: number) => touches(name, since).filter((e) => e.action === action && e.outcome === 'ok');

/** The holder's Proxmox node answers its next VM create after `ms`, so the holder keeps the lock at least that long. */
function slowNextCreate(name: string, ms: number): void {
  const node = server(name).proxmox.node;
  box.faults.add({ service: `proxmox:${node}`, method: 'POST', path: `^/nodes/${node}/qemu$`, effect: { kind: 'delay', ms }, times: 1 });
}

/** Starts replacing `name`'s worker and returns once it has destroyed the old VM: it holds the lock. */
async function holderMidway(name: string, since: number) {
  const holder = await startReplace(client, queue, box.spec, { server: name, role: 'worker', reason: 'lock test: holder' });
  await waitUntil(`${name}'s worker VM was destroyed by the holder`, () => vmAction(name, 'qmdestroy', since).length > 0, 60_000, 50);
  return holder;
}

/** The lock workflow's signals in history order: "<signal> from <workflow>" received, "<signal> to <workflow>" sent. */
async function lockRecord(): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowIds.lock(CLUSTER)).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const received = e.workflowExecutionSignaledEventAttributes;
    if (received) {
      const [request] = (received.input?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload<{ workflowId: string }>(p));
      return [`${received.signalName} from ${request?.workflowId}`];
    }
    const sent = e.signalExternalWorkflowExecutionInitiatedEventAttributes;
    return sent ? [`${sent.signalName} to ${sent.workflowExecution?.workflowId}`] : [];
  });
}

const busyMessage = (holder: string) => `cluster ${CLUSTER} is busy: replace ${holder}/worker (${workflowIds.replace(CLUSTER, holder, 'worker')}) is running`;

describe('the cluster lock: one destructive operation per cluster at a time', () => {
  it("ifBusy 'fail': a second replacement fails at once, non-retryably, naming the holder, and touches nothing", async () => {
    const since = lastSeq();
    slowNextCreate('srv-a', 6000);
    const holder = await holderMidway('srv-a', since);

    const refusedSince = lastSeq();
    const refused = await startReplace(client, queue, box.spec, { server: 'srv-c', role: 'worker', reason: 'lock test: refused', ifBusy: 'fail' });
    const err = await refused.handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ nonRetryable: true, type: 'ClusterBusy' });
    expect(rootCauseMessage(err)).toContain(busyMessage('srv-a'));
    // Refused while the holder was still mid-way: it had not created its new VM yet.
    expect((await holder.handle.describe()).status.name).toBe('RUNNING');
    expect(vmAction('srv-a', 'qmcreate', since)).toHaveLength(0);

    // The refused run asked for the lock and did nothing else.
    const history = await refused.handle.fetchHistory();
    const activities = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : []));
    expect(activities).toEqual(['acceptedSpec', 'requestClusterLock']);

    const result = await holder.handle.result();
    expect(result.newVmid).toBe(server('srv-a').vms.worker.vmid);
    expect(touches('srv-c', refusedSince)).toEqual([]);
    expect(vmAction('srv-a', 'qmdestroy', since)).toHaveLength(1);
    expect(vmAction('srv-a', 'qmcreate', since)).toHaveLength(1);
  });

  it("ifBusy 'wait': a replacement queues behind the running one, starts its work after it, and completes", async () => {
    const since = lastSeq();
    slowNextCreate('srv-b', 4000);
    const holder = await holderMidway('srv-b', since);

    const waiter = await startReplace(client, queue, box.spec, { server: 'srv-c', role: 'worker', reason: 'lock test: waiter', ifBusy: 'wait' });
    await holder.handle.result();
    const waiterResult = await waiter.handle.result();

    // The lock's own history, in order: the waiter asked while the holder held the lock, and
    // was granted it only after the holder, done, released it.
    const record = await lockRecord();
    const asked = record.lastIndexOf(`acquire from ${waiter.workflowId}`);
    const released = record.lastIndexOf(`release from ${holder.workflowId}`);
    const granted = record.lastIndexOf(`lockGranted to ${waiter.workflowId}`);
    expect(asked, record.join('\n')).toBeGreaterThanOrEqual(0);
    expect([asked < released, released < granted], record.join('\n')).toEqual([true, true]);
    // And the simulators saw the same order: every call of the waiter after the holder's last.
    const holderCalls = touches('srv-b', since);
    const waiterCalls = touches('srv-c', since);
    expect(waiterCalls.length).toBeGreaterThan(0);
    expect(waiterCalls[0].seq).toBeGreaterThan(Math.max(...holderCalls.map((e) => e.seq)));
    expect(waiterResult.newVmid).toBe(server('srv-c').vms.worker.vmid);
    expect(vmAction('srv-c', 'qmdestroy', since)).toHaveLength(1);
    expect(vmAction('srv-c', 'qmcreate', since)).toHaveLength(1);
  });

  it('the CLI with --if-busy fail exits 1 and says which operation holds the cluster', async () => {
    const since = lastSeq();
    // Long enough for the CLI process to start, even from sources through tsx on a busy machine.
    slowNextCreate('srv-a', 15_000);
    const holder = await holderMidway('srv-a', since);

    const refusedSince = lastSeq();
    const cli = await autok8s(['replace', '-f', box.specFile, '--server', 'srv-c', '--role', 'worker', '--if-busy', 'fail', '--wait'], {
      TEMPORAL_ADDRESS: temporalAddress(),
      AUTOK8S_TASK_QUEUE: queue,
    });
    expect(cli.code, cli.stderr).toBe(1);
    expect(cli.stderr).toContain(busyMessage('srv-a'));
    expect(vmAction('srv-a', 'qmcreate', since), 'the holder was still mid-way when the CLI was refused').toHaveLength(0);

    await holder.handle.result();
    expect(touches('srv-c', refusedSince)).toEqual([]);
  });
});
