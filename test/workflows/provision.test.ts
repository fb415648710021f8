// provisionServer on its own: one server joins the vRack and gets its three VMs, once.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../sandbox';
import type { provisionServer } from '../../workflows';
import { applySpec } from '../../client/start';
import { connect, maybeRecordHistory, startInProcessWorker, uniqueQueue, type RunningWorker } from '../helpers/temporal';

let box: Sandbox;
let client: Client;
let worker: RunningWorker;
let queue: string;

beforeAll(async () => {
  box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-provision-')), clusterName: 'provision' });
  client = await connect();
  queue = uniqueQueue('provision');
  worker = await startInProcessWorker(queue);
});
afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await box?.stop();
});

describe('provisionServer', () => {
  it('joins the vRack and creates, starts and boots the three VMs; a second run changes nothing', async () => {
    const workflowId = `provision/provision/srv-a/${Math.random()}`;
    const { generation } = await applySpec(client, queue, box.spec);
    const run = () =>
      client.workflow.execute<typeof provisionServer>('provisionServer', {
        taskQueue: queue,
        workflowId,
        args: [{ cluster: box.spec.metadata.name, generation, server: 'srv-a' }],
      });
    const first = await run();
    await maybeRecordHistory({ workflowId }, 'provisionServer-fresh');
    expect(first.joinedVrack).toBe(true);
    expect(first.vms.map((v) => [v.role, v.created, v.ip])).toEqual([
      ['lb', true, box.spec.servers[0].vms.lb.ip],
      ['controlPlane', true, box.spec.servers[0].vms.controlPlane!.ip],
      ['worker', true, box.spec.servers[0].vms.worker.ip],
    ]);
    const sim = box.proxmox.get('srv-a')!;
    expect(sim.vms().filter((vm) => vm.status === 'running')).toHaveLength(3);
    expect(box.ovh.vrackMembers(box.spec.ovh.vrack)).toContain(box.spec.servers[0].ovhService);
    // Each VM: created, then started and awaited in one boot-vm step.
    expect(first.steps.map((s) => s.name).filter((n) => n.startsWith('lb: '))).toEqual(['lb: ensure-vm', 'lb: boot-vm']);
    expect(first.steps.find((s) => s.name === 'worker: boot-vm')?.detail).toMatch(/^started; answers on /);

    const second = await run();
    expect(second.joinedVrack).toBe(false);
    expect(second.vms.every((v) => !v.created)).toBe(true);
    expect(box.audit.count({ service: 'proxmox:pve-a', action: 'qmcreate', outcome: 'ok' })).toBe(3);
  });
});
