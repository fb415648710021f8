// Crash tests of bootstrapCluster: the worker process is SIGKILLed at 11 points drawn from
// the audit log's steps (at least one in each phase: the public path's virtual MAC, vRack,
// VMs, Talos/etcd, LB pushes), a new worker takes over, and every run must complete with no
// duplicate VM, one virtual MAC and exactly one etcd bootstrap. Then the Temporal dev server itself is restarted mid-run on the same
// SQLite file, and the run completes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startDevServer } from '../../client/dev/dev-server';
import { startBootstrap } from '../../client/start';
import { startSandbox, type Sandbox } from '../../sandbox';
import type { AuditEntry } from '../../sandbox/audit';
import { connect, startChildWorker, uniqueQueue, type ChildWorker } from '../helpers/temporal';

/** Where to kill: the n-th audit entry of a service (prefix) and, optionally, action. */
interface KillPoint {
  phase: string;
  servicePrefix: string;
  action?: string;
  nth: number;
}

const KILL_POINTS: KillPoint[] = [
  { phase: 'virtual-mac', servicePrefix: 'ovh', action: 'POST /dedicated/server/{serviceName}/virtualMac', nth: 1 },
  { phase: 'vrack', servicePrefix: 'ovh', action: 'POST /vrack/{serviceName}/dedicatedServerInterface', nth: 2 },
  { phase: 'vms', servicePrefix: 'proxmox:', action: 'qmcreate', nth: 1 },
  { phase: 'vms', servicePrefix: 'proxmox:', action: 'qmcreate', nth: 6 },
  { phase: 'vms', servicePrefix: 'proxmox:', action: 'qmstart', nth: 4 },
  { phase: 'talos', servicePrefix: 'talos', action: 'apply-config', nth: 1 },
  { phase: 'talos', servicePrefix: 'talos', action: 'apply-config', nth: 3 },
  { phase: 'etcd', servicePrefix: 'talos', action: 'bootstrap', nth: 1 },
  { phase: 'talos', servicePrefix: 'talos', action: 'apply-config', nth: 5 },
  { phase: 'lb', servicePrefix: 'ssh:', nth: 1 },
  { phase: 'lb', servicePrefix: 'ssh:', nth: 12 },
];

const matches = (p: KillPoint) => (e: AuditEntry) => e.service.startsWith(p.servicePrefix) && (p.action === undefined || e.action === p.action);

let client: Client;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client?.connection.close();
});

async function assertBuiltOnce(box: Sandbox): Promise<void> {
  const creates = box.audit.entries({ action: 'qmcreate', outcome: 'ok' }).filter((e) => e.service.startsWith('proxmox:'));
  expect(new Set(creates.map((e) => `${e.service}/${e.target}`)).size).toBe(9);
  expect(creates).toHaveLength(9);
  expect([...box.proxmox.values()].flatMap((sim) => sim.vms())).toHaveLength(9);
  expect(box.audit.entries({ service: 'talos', action: 'bootstrap', outcome: 'ok' })).toHaveLength(1);
  expect(box.talos!.etcdMembers()).toHaveLength(3);
  // The failover IP's virtual MAC, made once on srv-a where OVH routes it, whatever was killed.
  expect(box.audit.entries({ service: 'ovh', action: 'POST /dedicated/server/{serviceName}/virtualMac', outcome: 'ok' })).toHaveLength(1);
  expect(box.ovh.virtualMacsOf(box.spec.servers[0].ovhService)).toEqual([{ mac: expect.any(String), ips: box.spec.failoverIps }]);
}

describe('bootstrapCluster survives a SIGKILL of its worker', () => {
  it.each(KILL_POINTS)('killed at $phase: the $nth-th $servicePrefix $action', async (point) => {
    const box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-crash-')), clusterName: `crash-${KILL_POINTS.indexOf(point)}` });
    const queue = uniqueQueue('crash');
    let worker: ChildWorker = startChildWorker(queue);
    try {
      await worker.ready;
      let seen = 0;
      const killed = new Promise<AuditEntry>((resolve) => {
        const stop = box.audit.subscribe((entry) => {
          if (!matches(point)(entry) || ++seen !== point.nth) return;
          stop();
          void worker.kill('SIGKILL').then(() => resolve(entry));
        });
      });
      const { handle } = await startBootstrap(client, queue, box.spec);
      const at = await Promise.race([killed, handle.result().then(() => undefined)]);
      expect(at, 'the kill point was reached before the bootstrap finished').toBeDefined();
      worker = startChildWorker(queue);
      await worker.ready;
      const result = await handle.result();
      expect(result.cluster).toBe(box.spec.metadata.name);
      await assertBuiltOnce(box);
    } finally {
      await worker.kill('SIGTERM');
      await box.stop();
    }
  });
});

describe('bootstrapCluster survives a restart of the Temporal server', () => {
  it('completes after the dev server is stopped mid-run and started again on the same database', async () => {
    const dbFile = join(mkdtempSync(join(tmpdir(), 'ak8s-db-')), 'temporal.db');
    const port = await freePort();
    let server = await startDevServer({ port, uiPort: false, dbFile });
    const box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-restart-')), clusterName: 'restart' });
    const queue = uniqueQueue('restart');
    const worker = startChildWorker(queue, { TEMPORAL_ADDRESS: server.address });
    const own = new Client({ connection: await Connection.connect({ address: server.address }) });
    try {
      await worker.ready;
      const { handle } = await startBootstrap(own, queue, box.spec);
      await box.audit.waitFor({ action: 'qmstart', outcome: 'ok' }, 60_000);
      await server.stop();
      server = await startDevServer({ port, uiPort: false, dbFile });
      const result = await own.workflow.getHandle(handle.workflowId).result();
      expect(result.cluster).toBe('restart');
      await assertBuiltOnce(box);
    } finally {
      await worker.kill('SIGTERM');
      await own.connection.close();
      await box.stop();
      await server.stop();
    }
  });
});
