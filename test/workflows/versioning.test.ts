// Worker Deployment Versioning on the dev server, as README "Changing a workflow" ships a
// change: build A runs; build B comes up beside it and is made current with the Temporal
// CLI command the README gives. A bootstrap started on A is pinned there and finishes on
// A; a run started afterwards goes to B; the lock, which auto-upgrades, moves to B.
//
// The bootstrap has to be running when B becomes current, so it waits for the cluster lock,
// held by a run that is not going to end by itself: an idle clusterWatcher stands in as the
// holder (the lock grants by workflow ID and signals the holder, which needs to exist). The
// test releases the lock once B is current.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { decodeVersioningBehavior } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTemporalCli } from '../../client/dev/find-temporal-cli';
import { startBootstrap, startFailover } from '../../client/start';
import { workflowIds } from '../../core/workflow-ids';
import { startSandbox, type Sandbox } from '../../sandbox';
import { connect, startInProcessWorker, temporalAddress, uniqueQueue, waitUntil, type RunningWorker } from '../helpers/temporal';

const CLUSTER = 'versioning';
const IP = '203.0.113.10';
let box: Sandbox;
let client: Client;
let queue: string;
let deploymentName: string;
const workers: RunningWorker[] = [];

beforeAll(async () => {
  box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-versioning-')), clusterName: CLUSTER, servers: 1, failoverIps: [IP] });
  client = await connect();
  queue = uniqueQueue('versioning');
  // A deployment of its own: making B current here must not take runs from other test files' workers.
  deploymentName = queue;
});

afterAll(async () => {
  for (const id of [workflowIds.watcher(CLUSTER), workflowIds.lock(CLUSTER)]) {
    await client?.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  }
  for (const w of workers) await w.stop();
  await client?.connection.close();
  await box?.stop();
});

interface VersionedTask {
  buildId?: string | null;
  behavior?: string | null;
}

/** The deployment version and behaviour each workflow task of a run was completed with, and the event before each. */
async function workflowTasks(handle: WorkflowHandle): Promise<(VersionedTask & { after: string[] })[]> {
  const { events } = await handle.fetchHistory();
  const seen: string[] = [];
  const tasks: (VersionedTask & { after: string[] })[] = [];
  for (const e of events ?? []) {
    const done = e.workflowTaskCompletedEventAttributes;
    if (done) tasks.push({ buildId: done.deploymentVersion?.buildId, behavior: decodeVersioningBehavior(done.versioningBehavior), after: [...seen] });
    const signal = e.workflowExecutionSignaledEventAttributes?.signalName;
    if (signal) seen.push(`signal:${signal}`);
  }
  return tasks;
}

async function versioningOf(handle: WorkflowHandle): Promise<VersionedTask> {
  const info = (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo;
  return { buildId: info?.deploymentVersion?.buildId, behavior: decodeVersioningBehavior(info?.behavior) };
}

async function signalsReceived(handle: WorkflowHandle, name: string): Promise<number> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === name).length;
}

async function start(buildId: string): Promise<RunningWorker> {
  const worker = await startInProcessWorker(queue, 100, { deploymentName, buildId });
  workers.push(worker);
  return worker;
}

describe('Worker Deployment Versioning', () => {
  it('a pinned bootstrap finishes on build A after build B is made current; a new run goes to B; the auto-upgrading lock moves to B', async () => {
    const a = await start('A');
    expect(a.current).toEqual({ outcome: 'made-current', currentBuildId: 'A' }); // a fresh deployment: its first worker makes itself current

    // The holder takes the lock, then the bootstrap queues behind it.
    const watcher = await client.workflow.start('clusterWatcher', { taskQueue: queue, workflowId: workflowIds.watcher(CLUSTER), args: [{ cluster: CLUSTER }] });
    const lock = client.workflow.getHandle(workflowIds.lock(CLUSTER));
    await client.workflow.signalWithStart('clusterLock', {
      taskQueue: queue,
      workflowId: workflowIds.lock(CLUSTER),
      args: [{ queue: [] }],
      signal: 'acquire',
      signalArgs: [{ workflowId: watcher.workflowId, operation: 'versioning test holder', ifBusy: 'fail' }],
    });
    await waitUntil('the holder was granted the lock', async () => (await signalsReceived(watcher, 'lockGranted')) === 1);
    const { handle: bootstrap } = await startBootstrap(client, queue, box.spec, { ifBusy: 'wait' });
    await waitUntil('the bootstrap asked for the lock', async () => (await signalsReceived(lock, 'acquire')) === 2);
    expect(await versioningOf(bootstrap)).toEqual({ buildId: 'A', behavior: 'PINNED' });

    // Build B polls beside A, is not made current by starting, and then is, by the README's command.
    const b = await start('B');
    expect(b.current).toEqual({ outcome: 'another-is-current', currentBuildId: 'A' });
    const connection = client.connection;
    await waitUntil('build B polls the task queue', async () => {
      const described = await connection.workflowService
        .describeWorkerDeploymentVersion({ namespace: 'default', deploymentVersion: { deploymentName, buildId: 'B' } })
        .catch((err: { code?: number }) => {
          if (err.code === 5) return undefined; // NOT_FOUND: the server has not seen B poll yet
          throw err;
        });
      return (described?.workerDeploymentVersionInfo?.taskQueueInfos ?? []).some((q) => q.name === queue);
    });
    const cli = findTemporalCli({ allowInstall: false }).path;
    execFileSync(cli, ['worker', 'deployment', 'set-current-version', '--address', temporalAddress(), '--deployment-name', deploymentName, '--build-id', 'B', '--yes'], { encoding: 'utf8' });
    const { workerDeploymentInfo } = await connection.workflowService.describeWorkerDeployment({ namespace: 'default', deploymentName });
    expect(workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId).toBe('B');
    // The server then tells the task queue; until it has, new tasks may still go to A.
    await waitUntil('the task queue knows B is current', async () => {
      const { workerDeploymentInfo: now } = await connection.workflowService.describeWorkerDeployment({ namespace: 'default', deploymentName });
      return now?.routingConfigUpdateState === temporal.api.enums.v1.RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED;
    });

    // The holder lets go: the lock grants the bootstrap, which carries on where it started.
    await lock.signal('release', { workflowId: watcher.workflowId });
    const result = await bootstrap.result();
    expect(result.cluster).toBe(CLUSTER);
    expect(box.ovh.routing(IP)).toBe(box.spec.servers[0].ovhService);

    const bootstrapTasks = await workflowTasks(bootstrap);
    const afterGrant = bootstrapTasks.filter((t) => t.after.includes('signal:lockGranted'));
    expect(afterGrant.length).toBeGreaterThan(0); // its whole bootstrap ran after B was made current ...
    expect(new Set(bootstrapTasks.map((t) => t.buildId))).toEqual(new Set(['A'])); // ... and every step of it on A
    expect(await versioningOf(bootstrap)).toEqual({ buildId: 'A', behavior: 'PINNED' });
    // Its child, started after the switch, ran on the parent's build too.
    const provision = client.workflow.getHandle(workflowIds.provisionServer(CLUSTER, box.spec.servers[0].name));
    expect(new Set((await workflowTasks(provision)).map((t) => t.buildId))).toEqual(new Set(['A']));

    // A run started now goes to B.
    const { handle: failover } = await startFailover(client, queue, box.spec, { ip: IP, to: box.spec.servers[0].name, reason: 'versioning test' });
    expect((await failover.result()).moved).toBe(false);
    expect(await versioningOf(failover)).toEqual({ buildId: 'B', behavior: 'PINNED' });
    expect(new Set((await workflowTasks(failover)).map((t) => t.buildId))).toEqual(new Set(['B']));

    // The lock started on A and answered the release on B.
    const lockTasks = await workflowTasks(lock);
    expect(lockTasks[0].buildId).toBe('A');
    const afterRelease = lockTasks.filter((t) => t.after.includes('signal:release'));
    expect(afterRelease.length).toBeGreaterThan(0);
    expect(new Set(afterRelease.map((t) => `${t.buildId} ${t.behavior}`))).toEqual(new Set(['B AUTO_UPGRADE']));
  });
});
