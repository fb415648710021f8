// The health watch window on a bootstrapped 3-server sandbox: the schedule starts one
// healthCheck window (4 min here, probing every second), whose watchCluster leg probes
// quietly and reports to the watcher only when something changed. The workers are real
// worker processes, so one can be SIGKILLed mid-window. Probes are counted where they land:
// the VM-list requests a Proxmox simulator answers (each probe lists every server's VMs).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertHealthSchedule } from '../../client/health-schedule';
import { applySpec, startBootstrap } from '../../client/start';
import type { WatcherState } from '../../core/health/watcher';
import { workflowIds } from '../../core/workflow-ids';
import { startSandbox, type Sandbox } from '../../sandbox';
import type { Progress } from '../../workflows/progress';
import { connect, maybeRecordHistory, startChildWorker, startInProcessWorker, uniqueQueue, waitUntil, type ChildWorker } from '../helpers/temporal';
import { healthyAgain } from '../helpers/watcher';

const CLUSTER = 'hwin';
const HEALTH = { interval: '5s', unhealthyAfter: '10s', nodeStartupTimeout: '30s', maxUnhealthy: 1, autoRemediate: true };
const PROBE_EVERY = '1s';
const WINDOW = '4m';

let box: Sandbox;
let client: Client;
let queue: string;
let worker: ChildWorker;

const schedule = () => client.schedule.getHandle(workflowIds.health(CLUSTER));
const watcher = () => client.workflow.getHandle(workflowIds.watcher(CLUSTER));
const status = () => watcher().query<WatcherState>('status');
const server = (name: string) => box.spec.servers.find((s) => s.name === name)!;
const hook = async (name: string, ...args: string[]) => {
  const response = await fetch(`${box.control.url}/hooks/${name}`, { method: 'POST', body: JSON.stringify({ args }) });
  if (!response.ok) throw new Error(await response.text());
};
/** Probes so far: VM lists srv-a's Proxmox answered (one per probe). */
const probes = () => Object.entries(box.proxmox.get('srv-a')!.schemaChecks()).filter(([op]) => /^GET \/nodes\/\{node\}\/qemu$/.test(op)).reduce((n, [, c]) => n + c.accepted, 0);
/** Reports the watcher took from windows (its reportChange updates). */
async function reportsTaken(): Promise<number> {
  const history = await watcher().fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'reportChange').length;
}
const runningWindows = () => `WorkflowType = "healthCheck" AND TaskQueue = "${queue}" AND ExecutionStatus = "Running"`;
/** The window running now (from visibility: a window the schedule was triggered for is not among its runningActions). */
async function runningWindow(): Promise<{ workflowId: string; runId: string }> {
  let found: { workflowId: string; runId: string } | undefined;
  await waitUntil('a watch window runs', async () => {
    for await (const w of client.workflow.list({ query: runningWindows() })) {
      found = { workflowId: w.workflowId, runId: w.runId };
      return true;
    }
    return false;
  }, 30_000, 200);
  return found!;
}
const windowSteps = async (w: { workflowId: string }) => (await client.workflow.getHandle(w.workflowId).query<Progress>('progress')).steps;

beforeAll(async () => {
  box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-hwin-')), clusterName: CLUSTER, health: HEALTH });
  client = await connect();
  queue = uniqueQueue('hwin');
  const bootstrapper = await startInProcessWorker(queue, 100);
  try {
    await (await startBootstrap(client, queue, box.spec)).handle.result();
  } finally {
    await bootstrapper.stop();
  }
  worker = startChildWorker(queue);
  await worker.ready;
  await upsertHealthSchedule(client, queue, box.spec, PROBE_EVERY, WINDOW);
  await healthyAgain(status, 60_000);
}, 240_000);

afterAll(async () => {
  await schedule().delete().catch(() => undefined);
  // A deleted schedule leaves its running window: end it with the test.
  if (client) for await (const w of client.workflow.list({ query: runningWindows() })) await client.workflow.getHandle(w.workflowId, w.runId).terminate('test over').catch(() => undefined);
  await watcher().terminate('test over').catch(() => undefined);
  await worker?.kill();
  await client?.connection.close();
  await box?.stop();
});

describe('the health watch window', () => {
  it('probes a healthy cluster every interval and reports nothing while nothing changes', async () => {
    const window = await runningWindow();
    const [reports, seen] = [await reportsTaken(), probes()];
    await waitUntil('five more probes', () => probes() >= seen + 5, 30_000, 100);
    expect(await reportsTaken()).toBe(reports);
    expect((await runningWindow()).runId).toBe(window.runId);
    // One window at a time: the schedule's first, triggered run and its scheduled runs never overlap.
    expect((await client.workflow.count(runningWindows())).count).toBe(1);
  });

  it('detects a worker VM killed mid-window and repairs it from the same window', async () => {
    const window = await runningWindow();
    const starts = () => box.audit.entries({ service: `proxmox:${server('srv-b').proxmox.node}`, action: 'qmstart', target: String(server('srv-b').vms.worker.vmid), outcome: 'ok' }).length;
    const before = starts();
    await hook('kill-vm', 'srv-b', 'worker');
    await waitUntil('the watcher rebooted srv-b/worker', () => starts() > before, 60_000, 200);
    await healthyAgain(status, 60_000);
    expect((await runningWindow()).runId).toBe(window.runId);
    // In the window's steps: the change, the watcher's wait, the reboot when unhealthyAfter ran out, the recovery.
    const details = (await windowSteps(window)).map((s) => `${s.name} ${s.detail ?? ''}`);
    expect(details).toEqual(expect.arrayContaining([expect.stringMatching(/^watch change after \d+ probes?: .*srv-b\/worker unhealthy/), expect.stringMatching(/^decide reboot srv-b\/worker/), expect.stringMatching(/^watch change after \d+ probes?: .*srv-b\/worker healthy again/)]));
  });

  it('stops probing within one interval while the schedule is paused, and resumes in the same window', async () => {
    const window = await runningWindow();
    await schedule().pause('test: paused');
    const atPause = probes();
    try {
      // Stopped: no probe for three intervals in a row.
      let last = probes();
      let quietSince = Date.now();
      await waitUntil('probing stopped', () => {
        if (probes() !== last) [last, quietSince] = [probes(), Date.now()];
        return Date.now() - quietSince >= 3_000;
      }, 20_000, 100);
      // At most the probe already under way when the pause came.
      expect(probes() - atPause).toBeLessThanOrEqual(1);
    } finally {
      await schedule().unpause('test: resumed');
    }
    const resumedAt = probes();
    await waitUntil('probing resumed', () => probes() > resumedAt + 1, 20_000, 100);
    expect((await runningWindow()).runId).toBe(window.runId);
  });

  it('takes a new spec into the running window without a restart', async () => {
    const window = await runningWindow();
    const applied = await applySpec(client, queue, { ...box.spec, health: { ...box.spec.health, unhealthyAfter: '12s' } });
    await waitUntil('the window reported the new spec', async () => (await windowSteps(window)).some((s) => s.name === 'watch' && /^spec after \d+ probes?: spec g[0-9a-f]+ → /.test(s.detail ?? '') && s.detail!.endsWith(applied.generation)), 30_000, 200);
    expect((await runningWindow()).runId).toBe(window.runId);
  });

  it('loses no decision when its worker is SIGKILLed mid-window: the retried leg resumes from its heartbeat', async () => {
    const window = await runningWindow();
    const handle = client.workflow.getHandle(window.workflowId);
    // A heartbeat of the leg under way, with its probe count.
    let beatProbes = 0;
    await waitUntil('the leg heartbeats with probes counted', async () => {
      const d = await handle.describe();
      const details = d.raw.pendingActivities?.[0]?.heartbeatDetails;
      beatProbes = details?.payloads?.[0] ? defaultPayloadConverter.fromPayload<{ probes: number }>(details.payloads[0]).probes : 0;
      return beatProbes > 0;
    }, 60_000, 500);
    const starts = () => box.audit.entries({ service: `proxmox:${server('srv-c').proxmox.node}`, action: 'qmstart', target: String(server('srv-c').vms.worker.vmid), outcome: 'ok' }).length;
    const before = starts();
    await worker.kill('SIGKILL');
    // Killed while no worker runs: only the retried leg can see it.
    await hook('kill-vm', 'srv-c', 'worker');
    worker = startChildWorker(queue);
    await worker.ready;
    await waitUntil('the watcher rebooted srv-c/worker', () => starts() > before, 120_000, 200);
    await healthyAgain(status, 60_000);
    expect((await runningWindow()).runId).toBe(window.runId);
    const history = await handle.fetchHistory();
    const attempts = (history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : []));
    expect(Math.max(...attempts)).toBeGreaterThan(1);
    // The retried leg counted on from the heartbeat: the change it returned came after more probes than were beaten.
    const changeLeg = (await windowSteps(window)).find((s) => s.name === 'watch' && /srv-c\/worker unhealthy/.test(s.detail ?? ''));
    expect(Number(/after (\d+) probes/.exec(changeLeg?.detail ?? '')?.[1])).toBeGreaterThan(beatProbes);
  });

  it('ends the window with one line for the quiet stretch', async () => {
    // A short window, to see one end: the schedule is updated, the long window ended by hand, and the next run triggered.
    await upsertHealthSchedule(client, queue, box.spec, PROBE_EVERY, '15s');
    await client.workflow.getHandle((await runningWindow()).workflowId).terminate('test: the next window is a short one');
    await schedule().trigger(ScheduleOverlapPolicy.SKIP);
    let done: { summary: string; probes: number; reports: number } | undefined;
    await waitUntil('a 15 s window completed', async () => {
      for await (const w of client.workflow.list({ query: `WorkflowType = "healthCheck" AND TaskQueue = "${queue}" AND ExecutionStatus = "Completed"` })) {
        done = await client.workflow.getHandle(w.workflowId, w.runId).result();
        await maybeRecordHistory(client.workflow.getHandle(w.workflowId, w.runId), 'healthCheck-window');
        return true;
      }
      return false;
    }, 300_000, 1000);
    expect(done!.probes).toBeGreaterThan(done!.reports);
    expect(done!.summary).toMatch(/^all 9 healthy; \d+ probes, \d+ reported to the watcher/);
  }, 330_000);
});
