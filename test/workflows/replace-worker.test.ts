// replaceNode of a worker on a bootstrapped 3-server sandbox: a worker that answers is
// cordoned and drained (a graceful Talos reset) before its VM is destroyed; one whose VM is
// dead cannot be drained, so the drain is skipped with the reason and the node is replaced
// anyway. Both end with one destroy, one create and the new node Ready.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBootstrap, startReplace } from '../../client/start';
import { startSandbox, type Sandbox } from '../../sandbox';
import { connect, maybeRecordHistory, startInProcessWorker, uniqueQueue, type RunningWorker } from '../helpers/temporal';

const CLUSTER = 'replace-worker';
let box: Sandbox;
let client: Client;
let worker: RunningWorker;
let queue: string;

beforeAll(async () => {
  box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-replace-worker-')), clusterName: CLUSTER });
  client = await connect();
  queue = uniqueQueue('replace-worker');
  worker = await startInProcessWorker(queue);
  await (await startBootstrap(client, queue, box.spec)).handle.result();
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await box?.stop();
});

const server = (name: string) => box.spec.servers.find((s) => s.name === name)!;
const lastSeq = () => box.audit.entries().at(-1)?.seq ?? 0;
const since = (seq: number) => box.audit.entries().filter((e) => e.seq > seq);
const vmEntries = (name: string, action: string, after: number) =>
  since(after).filter((e) => e.service === `proxmox:${server(name).proxmox.node}` && e.target === String(server(name).vms.worker.vmid) && e.action === action && e.outcome === 'ok');
const resets = (name: string, after: number) => since(after).filter((e) => e.service === 'talos' && e.action === 'reset' && e.target === server(name).vms.worker.ip);

describe('replaceNode of a worker', () => {
  it('drains a worker that answers before its VM is destroyed, then it rejoins Ready', async () => {
    const before = lastSeq();
    const run = await startReplace(client, queue, box.spec, { server: 'srv-a', role: 'worker', reason: 'test: healthy worker' });
    const result = await run.handle.result();

    const drainStep = result.steps.find((s) => s.name === 'drain');
    expect(drainStep).toMatchObject({ status: 'done' });
    expect(drainStep!.detail).toMatch(/cordoned, drained/);
    const reset = resets('srv-a', before);
    expect(reset).toHaveLength(1);
    expect(reset[0].detail).toMatchObject({ graceful: true, cordonedAndDrained: true, machineType: 'worker' });
    const destroys = vmEntries('srv-a', 'qmdestroy', before);
    expect(destroys).toHaveLength(1);
    expect(reset[0].seq, 'drained before the VM was destroyed').toBeLessThan(destroys[0].seq);
    expect(vmEntries('srv-a', 'qmcreate', before)).toHaveLength(1);
    // Started and waited for in one step (patch replace-boot-vm): one start, then the config.
    expect(result.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['create-vm', 'boot-vm', 'apply-config']));
    expect(result.steps.map((s) => s.name)).not.toContain('start-vm');
    expect(result.steps.find((s) => s.name === 'boot-vm')!.detail).toMatch(/^started; answers on /);
    expect(vmEntries('srv-a', 'qmstart', before)).toHaveLength(1);
    expect(result.steps.find((s) => s.name === 'wait-ready')).toMatchObject({ status: 'done' });
    await maybeRecordHistory(run.handle, 'replaceNode-worker');
  });

  it('skips the drain of a worker whose VM is dead, says why, and replaces it', async () => {
    const before = lastSeq();
    box.proxmox.get('srv-b')!.killVm(server('srv-b').vms.worker.vmid);
    const run = await startReplace(client, queue, box.spec, { server: 'srv-b', role: 'worker', reason: 'test: dead worker' });
    const result = await run.handle.result();

    const drainStep = result.steps.find((s) => s.name === 'drain');
    expect(drainStep).toMatchObject({ status: 'skipped' });
    expect(drainStep!.detail).toMatch(/does not answer, so it cannot be drained/);
    expect(resets('srv-b', before).filter((e) => e.outcome === 'ok')).toHaveLength(0);
    expect(vmEntries('srv-b', 'qmdestroy', before)).toHaveLength(1);
    expect(vmEntries('srv-b', 'qmcreate', before)).toHaveLength(1);
    expect(result.steps.find((s) => s.name === 'wait-ready')).toMatchObject({ status: 'done' });
  });
});
