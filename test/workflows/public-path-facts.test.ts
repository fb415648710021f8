// A bootstrap whose public path a server cannot carry stops before anything is created: in
// vmac mode (the default) a server without virtual MACs could never deliver the failover IP
// to its LB VM, and servers in two move region groups could never pass the IP between them
// (docs/design.md §10.2). The refusal names the field and creates nothing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootCauseMessage } from '../../client/failure';
import { startBootstrap } from '../../client/start';
import { startSandbox, type Sandbox } from '../../sandbox';
import { activityRuns } from '../helpers/history';
import { connect, startInProcessWorker, uniqueQueue, type RunningWorker } from '../helpers/temporal';

let client: Client;
let worker: RunningWorker;
const boxes: Sandbox[] = [];

beforeAll(async () => {
  client = await connect();
  worker = await startInProcessWorker(uniqueQueue('public-facts'));
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  for (const box of boxes) await box.stop();
});

async function refusedBootstrap(clusterName: string, ovhServers: NonNullable<Parameters<typeof startSandbox>[0]['ovhServers']>): Promise<{ box: Sandbox; message: string }> {
  const box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), `ak8s-${clusterName}-`)), clusterName, servers: 3, ovhServers });
  boxes.push(box);
  const { handle } = await startBootstrap(client, worker.worker.options.taskQueue, box.spec);
  const err = await handle.result().then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err).toBeInstanceOf(Error);
  const runs = activityRuns(await handle.fetchHistory());
  expect(runs.filter((r) => r.type === 'checkServerPublicFacts')).toEqual([{ type: 'checkServerPublicFacts', attempts: 1, outcome: 'failed', retryState: 'NON_RETRYABLE_FAILURE' }]);
  // Nothing created: no VM, no changing OVH call, no vRack member.
  expect(box.audit.entries({ action: 'qmcreate' })).toHaveLength(0);
  expect(box.audit.entries({ service: 'ovh' }).filter((e) => /^(POST|PUT|DELETE) /.test(e.action))).toEqual([]);
  expect(box.ovh.vrackMembers(box.spec.ovh.vrack)).toEqual([]);
  return { box, message: rootCauseMessage(err) };
}

describe('bootstrapCluster checks every server can carry the public path before creating anything', () => {
  it('refuses vmac mode on a server without virtual MACs, naming the server', async () => {
    const { box, message } = await refusedBootstrap('novmac', [{}, { vmacSupported: false }, {}]);
    expect(message).toContain('servers[1].ovhService');
    expect(message).toContain(box.spec.servers[1].ovhService);
    expect(message).toMatch(/virtual MAC/);
  });

  it('refuses servers in two move region groups, naming each', async () => {
    const { message } = await refusedBootstrap('tworegions', [{ datacenter: 'gra3' }, { datacenter: 'rbx7' }, { datacenter: 'bhs5' }]);
    expect(message).toMatch(/region group/);
    expect(message).toMatch(/bhs5/);
  });

  it('refuses vmac when OVH routes the failover IP to no server of the cluster (its virtual MAC could be made nowhere), before any VM', async () => {
    const box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-elsewhere-')), clusterName: 'elsewhere', servers: 3 });
    boxes.push(box);
    // The IP stays routed to srv-a's server, which this cluster does not list.
    const spec = { ...box.spec, servers: box.spec.servers.slice(1, 2) };
    const { handle } = await startBootstrap(client, worker.worker.options.taskQueue, spec);
    const err = await handle.result().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(rootCauseMessage(err)).toMatch(
      new RegExp(`no VM was created: failoverIps\\[0\\] 203\\.0\\.113\\.10 is routed to ${box.spec.servers[0].ovhService.replace(/\./g, '\\.')}, not a server of this cluster; .*move it to one of srv-b`),
    );
    expect(box.audit.entries({ action: 'qmcreate' })).toHaveLength(0);
    expect(box.audit.entries({ service: 'ovh' }).filter((e) => /^POST .*virtualMac/.test(e.action))).toEqual([]);
  });
});
