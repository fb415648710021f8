// A bootstrap whose Talos ISO is the metal image stops at its first step, before anything
// is created: the metal image ignores the Proxmox cloud-init drive, so every Talos VM would
// boot without its address and the run would wait out nodeStartupTimeout on each of them.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootCauseMessage } from '../../client/failure';
import { startBootstrap } from '../../client/start';
import { startSandbox, type Sandbox } from '../../sandbox';
import { activityRuns } from '../helpers/history';
import { connect, startInProcessWorker, uniqueQueue, type RunningWorker } from '../helpers/temporal';

let box: Sandbox;
let client: Client;
let worker: RunningWorker;

beforeAll(async () => {
  box = await startSandbox({
    dir: mkdtempSync(join(tmpdir(), 'ak8s-metal-')),
    clusterName: 'metal',
    servers: 3,
    // What Talos's Proxmox guide downloads, under the name it is saved with.
    images: { isos: [{ volid: 'local:iso/metal-amd64.iso', platform: 'metal', guestAgent: false }], isoVolume: 'local:iso/metal-amd64.iso' },
  });
  client = await connect();
  worker = await startInProcessWorker(uniqueQueue('metal'));
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await box?.stop();
});

describe('bootstrapCluster with a metal image', () => {
  it('fails at its first step with a message naming the image, and creates nothing', async () => {
    const queue = worker.worker.options.taskQueue;
    const { handle } = await startBootstrap(client, queue, box.spec);
    const err = await handle.result().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const message = rootCauseMessage(err);
    expect(message).toMatch(/servers\[\d\]\.proxmox\.isoVolume local:iso\/metal-amd64\.iso is a Talos metal image/);
    expect(message).toContain('nocloud-amd64.iso');
    // Refused once, not retried; no provisioning child started.
    const runs = activityRuns(await handle.fetchHistory());
    expect(runs.filter((r) => r.type === 'checkBootImage' && r.outcome === 'failed')).toEqual(
      expect.arrayContaining([{ type: 'checkBootImage', attempts: 1, outcome: 'failed', retryState: 'NON_RETRYABLE_FAILURE' }]),
    );
    expect(runs.filter((r) => r.attempts > 1)).toEqual([]);
    // Nothing created anywhere: no VM, no vRack membership, no Talos secrets.
    expect(box.audit.entries({ action: 'qmcreate' })).toHaveLength(0);
    expect(box.audit.entries({ service: 'ovh' }).filter((e) => /^(POST|PUT|DELETE) /.test(e.action))).toEqual([]);
    expect(box.ovh.vrackMembers(box.spec.ovh.vrack)).toEqual([]);
    const stateDir = join(box.dir, 'state');
    expect(existsSync(stateDir) ? readdirSync(stateDir, { recursive: true }) : []).toEqual([]);
  });
});
