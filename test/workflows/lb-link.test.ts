// lbLink end to end: the `autok8s lb link` command in a real process, a real Temporal dev
// server and worker, the Proxmox adapter over TLS to the simulator. The sandbox's LB VM on
// srv-a is made as bootstrap will make it in vmac mode (ensureVm with the virtual MAC), and
// the simulator says whether its public NIC is up.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { rootCauseMessage } from '../../client/failure';
import { applySpec, startLbLink } from '../../client/start';
import type { ClusterSpec } from '../../core/spec/schema';
import { startSandbox, type Sandbox } from '../../sandbox';
import { runAutok8s } from '../helpers/cli';
import { connect, maybeRecordHistory, startInProcessWorker, temporalAddress, uniqueQueue, type RunningWorker } from '../helpers/temporal';
import { knownSpecs, refOf } from '../../activities/spec/known-specs';

const CLUSTER = 'lblink'; // a cluster name of its own: its spec store is this file's
const VMAC = '02:00:00:5e:10:01';
let box: Sandbox;
let client: Client;
let worker: RunningWorker;
let queue: string;
let lbVmid: number;

const link = () => box.proxmox.get('srv-a')!.nicLink(lbVmid);
const linkWrites = () => box.audit.entries({ service: 'proxmox:pve-a', action: 'qmconfig' }).length;
const autok8s = (args: string[]) => runAutok8s(args, { TEMPORAL_ADDRESS: temporalAddress(), AUTOK8S_TASK_QUEUE: queue }, 90_000);

beforeAll(async () => {
  box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-lblink-')), clusterName: CLUSTER, servers: 2 });
  client = await connect();
  queue = uniqueQueue('lblink');
  worker = await startInProcessWorker(queue);
  await applySpec(client, queue, box.spec);
  // The LB VM as bootstrap leaves it: net1 with the virtual MAC on vmbr0, plug pulled, running.
  const act = createActivities({ policy: box.workerPolicy, specs: knownSpecs(box.spec) });
  await act.ensureVm(refOf(box.spec), 'srv-a', 'lb', { publicMac: VMAC });
  await act.bootVm(refOf(box.spec), 'srv-a', 'lb', { timeoutMs: 30_000 });
  lbVmid = box.spec.servers[0].vms.lb!.vmid;
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await box?.stop();
});

describe('autok8s lb link', () => {
  it('takes the public link down, then up: the simulator sees the NIC follow, with its MAC kept', async () => {
    expect(link()).toEqual({ up: false, mac: VMAC.toUpperCase(), bridge: 'vmbr0' });
    const firstUp = await autok8s(['lb', 'link', 'up', '--cluster', CLUSTER, '--server', 'srv-a', '--wait', '-o', 'json']);
    expect(firstUp.stderr).toBe('');
    expect(firstUp.code).toBe(0);
    expect(link()?.up).toBe(true);

    const down = await autok8s(['lb', 'link', 'down', '--cluster', CLUSTER, '--server', 'srv-a', '--reason', 'keepalived', '--wait', '-o', 'json']);
    expect(down.code).toBe(0);
    expect(JSON.parse(down.stdout)).toMatchObject({ cluster: CLUSTER, server: 'srv-a', state: 'down', changes: ['down'], reason: 'keepalived', workflowId: `${CLUSTER}/lb-link/srv-a` });
    expect(link()?.up).toBe(false);

    const up = await autok8s(['lb', 'link', 'up', '--cluster', CLUSTER, '--server', 'srv-a', '--wait', '-o', 'json']);
    expect(up.code).toBe(0);
    const result = JSON.parse(up.stdout);
    expect(result).toMatchObject({ state: 'up', changes: ['up'], reason: 'manual' });
    expect(result.steps.map((s: { name: string }) => s.name)).toEqual(['spec', 'link-up']);
    expect(link()).toEqual({ up: true, mac: VMAC.toUpperCase(), bridge: 'vmbr0' });
    await maybeRecordHistory({ workflowId: `${CLUSTER}/lb-link/srv-a` }, 'lbLink-up');
  }, 120_000);

  it('a storm of opposite triggers arriving in the reverse of the order they were made ends in the state made last, with one write', async () => {
    expect(link()?.up).toBe(true);
    const writesBefore = linkWrites();
    const at = Date.now();
    // Made at at+0 … at+11, alternating up/down, the last (at+11) asking down; sent newest first.
    const requests = Array.from({ length: 12 }, (_, i) => ({ state: i % 2 === 0 ? ('up' as const) : ('down' as const), at: at + i, reason: `flap ${i}` })).reverse();
    const started = [];
    for (const request of requests) started.push(await startLbLink(client, queue, CLUSTER, { server: 'srv-a', ...request }));
    expect(new Set(started.map((s) => s.runId)).size).toBe(1);
    const result = await started[0].handle.result();
    expect(result).toMatchObject({ state: 'down', changes: ['down'], reason: 'flap 11', ignored: 0 });
    expect(result.requests).toBe(13); // the start input, and the first trigger's request again as its signal
    expect(link()?.up).toBe(false);
    expect(linkWrites() - writesBefore).toBe(1);
    await maybeRecordHistory(started[0].handle, 'lbLink-storm');
  }, 60_000);

  it('a storm of concurrent alternating triggers ends in the state of the one made last', async () => {
    const at = Date.now();
    const requests = Array.from({ length: 10 }, (_, i) => ({ state: i % 2 === 0 ? ('down' as const) : ('up' as const), at: at + i }));
    const started = await Promise.all(requests.map((request) => startLbLink(client, queue, CLUSTER, { server: 'srv-a', ...request })));
    expect(new Set(started.map((s) => s.runId)).size).toBe(1);
    const result = await started[0].handle.result();
    expect(result.state).toBe('up');
    expect(result.changes.at(-1)).toBe('up');
    expect(link()?.up).toBe(true);
  }, 60_000);

  it('refuses a server that is not in the spec, naming the field, without touching Proxmox', async () => {
    const writesBefore = linkWrites();
    const { handle } = await startLbLink(client, queue, CLUSTER, { server: 'srv-z', state: 'down' });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(rootCauseMessage(err)).toMatch(/^server: srv-z is not a server of cluster lblink \(srv-a, srv-b\)/);
    expect(linkWrites()).toBe(writesBefore);
  });

  it('refuses an LB VM without a public NIC, saying how it gets one', async () => {
    const act = createActivities({ policy: box.workerPolicy, specs: knownSpecs(box.spec) });
    await act.ensureVm(refOf(box.spec), 'srv-b', 'lb'); // no virtual MAC given: no net1
    const { handle } = await startLbLink(client, queue, CLUSTER, { server: 'srv-b', state: 'up' });
    const err = await handle.result().catch((e: unknown) => e);
    expect(rootCauseMessage(err)).toMatch(/has no public NIC \(net1\): bootstrap with publicPath mode vmac\/routed creates it/);
  });

  it('refuses a cluster in vrack-block mode: its LB VMs have no public link', async () => {
    const vrack: ClusterSpec = { ...box.spec, metadata: { ...box.spec.metadata, name: `${CLUSTER}-vb` }, publicPath: { mode: 'vrack-block', bridge: 'vmbr0', interface: 'eth1', block: '203.0.113.8/29' } };
    const { handle } = await startLbLink(client, queue, vrack, { server: 'srv-a', state: 'up' });
    const err = await handle.result().catch((e: unknown) => e);
    expect(rootCauseMessage(err)).toMatch(/^publicPath\.mode: vrack-block gives the LB VMs no public NIC/);
  });
});
