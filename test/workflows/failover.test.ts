// failoverIp end to end: real Temporal dev server, real worker, the real OVH adapter on the
// `ovh` npm client, talking TLS to the OVH simulator. Assertions read the simulator's
// audit log, which records every call that reached it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rootCauseMessage } from '../../client/failure';
import { startFailover } from '../../client/start';
import { startSandbox, type Sandbox } from '../../sandbox';
import { activityRuns } from '../helpers/history';
import { findLeaks, fixtureCodec, historyTexts } from '../helpers/secrets';
import { connect, maybeRecordHistory, startChildWorker, startInProcessWorker, uniqueQueue, waitUntil, type RunningWorker } from '../helpers/temporal';

const IP = '203.0.113.10';
let box: Sandbox;
let client: Client;
let worker: RunningWorker;
let queue: string;

const moves = () => box.audit.entries({ service: 'ovh', action: 'POST /ip/{ip}/move' });
const appliedMoves = () => box.audit.entries({ service: 'ovh', action: 'task:genericMoveFloatingIp', outcome: 'ok' });
const serviceOf = (name: string) => box.spec.servers.find((s) => s.name === name)!.ovhService;

beforeAll(async () => {
  // No bootstrap here, so no LB VM has a public NIC: serving is not verified (failover-serving.test.ts does).
  box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-failover-')), latency: { ovh: { moveMs: 600 } }, publicProbe: false });
  client = await connect();
  queue = uniqueQueue('failover');
  worker = await startInProcessWorker(queue);
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await box?.stop();
});

afterEach(() => box.faults.clear());

/** Puts the IP back on srv-a through the workflow itself, so each test starts from the same place. */
async function routeTo(server: string): Promise<void> {
  if (box.ovh.routing(IP) === serviceOf(server)) return;
  const { handle } = await startFailover(client, queue, box.spec, { ip: IP, to: server, reason: 'test setup' });
  await handle.result();
}

describe('failoverIp', () => {
  it('moves the IP to the requested healthy server once, and reports each step', async () => {
    await routeTo('srv-a');
    const before = appliedMoves().length;
    const { handle, workflowId } = await startFailover(client, queue, box.spec, { ip: IP, to: 'srv-b', reason: 'test' });
    expect(workflowId).toBe(`sandbox/failover/${IP}`);
    const result = await handle.result();

    expect(result).toMatchObject({ cluster: 'sandbox', ip: IP, from: 'srv-a', to: 'srv-b', moved: true, reason: 'test' });
    expect(box.ovh.routing(IP)).toBe(serviceOf('srv-b'));
    expect(appliedMoves().length - before).toBe(1);
    expect(result.steps.map((s) => s.name)).toEqual(['spec', 'read-routing', 'probe-lbs', 'check-movable', 'start-move', 'wait-move-task', 'verify-routing', 'verify-serving']);
    expect(result.steps.map((s) => s.status)).toEqual([...result.steps.slice(0, -1).map(() => 'done'), 'skipped']);
    // The sandbox spec names no publicPath.probeUrl: the run says it did not verify serving.
    expect(result.serving).toEqual({ served: false, detail: 'no publicPath.probeUrl: serving not verified' });
    expect(result.steps.every((s) => Number.isInteger(s.durationMs))).toBe(true);
    // The run went on only once OVH reported the move task done (the simulated task takes 600 ms).
    expect(result.steps.find((s) => s.name === 'wait-move-task')!.detail).toMatch(/^task \d+ done$/);
    expect(result.generation).toMatch(/^g[0-9a-f]{12}$/);
    const progress = await handle.query<{ phase: string }>('progress');
    expect(progress.phase).toBe('done');
    // Each activity scheduled is a billable action: one per step, every LB probed by a single
    // activity whose answer names each of them.
    expect(activityRuns(await handle.fetchHistory()).map((r) => r.type)).toEqual(['acceptedSpec', 'getIpRouting', 'probeLbs', 'checkIpMovable', 'startIpMove', 'waitForIpTask', 'getIpRouting']);
    expect(result.steps.find((s) => s.name === 'probe-lbs')!.detail).toMatch(/^srv-a: healthy; srv-b: healthy; srv-c: healthy$/);
    await maybeRecordHistory(handle, 'failoverIp-move');
  });

  it('does nothing when the IP is already routed to the target', async () => {
    await routeTo('srv-b');
    const before = moves().length;
    const { handle } = await startFailover(client, queue, box.spec, { ip: IP, to: 'srv-b' });
    const result = await handle.result();
    expect(result.moved).toBe(false);
    expect(result.why).toMatch(/already routed to srv-b/);
    expect(moves().length).toBe(before);
    await maybeRecordHistory(handle, 'failoverIp-noop');
  });

  it('picks the first healthy LB when no target is named and the current LB is down', async () => {
    await routeTo('srv-a');
    await box.lbHosts.get('srv-a')!.setHealthy(false);
    try {
      const { handle } = await startFailover(client, queue, box.spec, { ip: IP, reason: 'health' });
      const result = await handle.result();
      expect(result).toMatchObject({ from: 'srv-a', to: 'srv-b', moved: true });
      expect(result.why).toMatch(/srv-b is the first healthy LB/);
      await maybeRecordHistory(handle, 'failoverIp-auto-target');
    } finally {
      await box.lbHosts.get('srv-a')!.setHealthy(true);
    }
  });

  it('refuses to move to an unhealthy LB, without calling the move API', async () => {
    await routeTo('srv-a');
    await box.lbHosts.get('srv-c')!.setHealthy(false);
    const before = moves().length;
    try {
      const { handle } = await startFailover(client, queue, box.spec, { ip: IP, to: 'srv-c' });
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(rootCauseMessage(err)).toMatch(/LB of srv-c is not healthy/);
      expect(moves().length).toBe(before);
    } finally {
      await box.lbHosts.get('srv-c')!.setHealthy(true);
    }
  });

  it('joins ten concurrent triggers into one run and one move', async () => {
    await routeTo('srv-a');
    const before = appliedMoves().length;
    const postsBefore = moves().length;
    const starts = await Promise.all(
      Array.from({ length: 10 }, (_, i) => startFailover(client, queue, box.spec, { ip: IP, to: 'srv-c', reason: `trigger ${i}` })),
    );
    expect(new Set(starts.map((s) => s.runId)).size).toBe(1);
    const results = await Promise.all(starts.map((s) => s.handle.result()));
    expect(results.every((r) => r.to === 'srv-c')).toBe(true);
    expect(appliedMoves().length - before).toBe(1);
    expect(moves().length - postsBefore).toBe(1);
    expect(box.ovh.routing(IP)).toBe(serviceOf('srv-c'));
  });

  it('a trigger for another target waits for the open run and then moves the IP there (keepalived on the new MASTER)', async () => {
    await routeTo('srv-a');
    const before = appliedMoves().length;
    const first = await startFailover(client, queue, box.spec, { ip: IP, to: 'srv-b', reason: 'old master' });
    // Started while the first run's move is in progress: joining it would leave the IP on srv-b.
    const second = await startFailover(client, queue, box.spec, { ip: IP, to: 'srv-c', reason: 'new master' });
    expect(second.runId).not.toBe(first.runId);
    expect(await first.handle.result()).toMatchObject({ to: 'srv-b', moved: true });
    expect(await second.handle.result()).toMatchObject({ from: 'srv-b', to: 'srv-c', moved: true, reason: 'new master' });
    expect(appliedMoves().length - before).toBe(2);
    expect(box.ovh.routing(IP)).toBe(serviceOf('srv-c'));
  });

  it.each([
    ['a 500', { kind: 'status', status: 500 }],
    ['a 429', { kind: 'status', status: 429 }],
    ['a 500 after the move was applied', { kind: 'applyThenStatus', status: 500 }],
  ] as const)('retries %s on the move call and still moves exactly once', async (_label, effect) => {
    await routeTo('srv-a');
    const before = appliedMoves().length;
    box.faults.add({ service: 'ovh', method: 'POST', path: '/move$', effect, times: 1 });
    const { handle } = await startFailover(client, queue, box.spec, { ip: IP, to: 'srv-b' });
    const result = await handle.result();
    expect(result.moved).toBe(true);
    expect(box.ovh.routing(IP)).toBe(serviceOf('srv-b'));
    expect(appliedMoves().length - before).toBe(1);
    // The fault really fired: one call was answered with an error.
    expect(box.audit.entries({ service: 'ovh', action: 'POST /ip/{ip}/move', outcome: 'fault' }).length).toBeGreaterThan(0);
    if (effect.kind === 'applyThenStatus') await maybeRecordHistory(handle, 'failoverIp-applied-then-500');
  });

  it('fails fast with OVH\'s message on a wrong application secret, and moves nothing', async () => {
    await routeTo('srv-a');
    const wrongSecretFile = join(box.dir, 'secrets', 'wrong-secret');
    writeFileSync(wrongSecretFile, 'not-the-secret\n', { mode: 0o600 });
    const spec = { ...box.spec, ovh: { ...box.spec.ovh, applicationSecret: `file:${wrongSecretFile}` } };
    const before = moves().length;
    const { handle } = await startFailover(client, queue, spec, { ip: IP, to: 'srv-b' });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const message = rootCauseMessage(err);
    expect(message).toMatch(/Invalid signature/);
    expect(message).not.toContain('not-the-secret');
    const history = await handle.fetchHistory();
    const wrongSecret = { name: 'the wrong application secret', value: 'not-the-secret' };
    expect(findLeaks([{ workflowId: handle.workflowId, texts: await historyTexts(history, fixtureCodec()) }], [wrongSecret])).toEqual([]);
    // Fast because not retried: the first OVH call failed on its first attempt as non-retryable,
    // and every activity of the run took one attempt.
    const runs = activityRuns(history);
    expect(runs.filter((r) => r.outcome === 'failed')).toEqual([expect.objectContaining({ attempts: 1, retryState: 'NON_RETRYABLE_FAILURE' })]);
    expect(runs.map((r) => r.attempts)).toEqual(runs.map(() => 1));
    expect(moves().length).toBe(before);
  });
});

describe('failoverIp durability', () => {
  it('completes after the worker is SIGKILLed while the move task is in progress, with one move', async () => {
    await routeTo('srv-a');
    box.ovh.setLatency({ moveMs: 4000 });
    const childQueue = uniqueQueue('failover-kill');
    const before = appliedMoves().length;
    let first = startChildWorker(childQueue);
    try {
      await first.ready;
      const { handle } = await startFailover(client, childQueue, box.spec, { ip: IP, to: 'srv-b', reason: 'crash test' });
      // Kill while the OVH task is pending: the move was accepted, routing has not changed yet.
      await box.audit.waitFor({ service: 'ovh', action: 'POST /ip/{ip}/move', outcome: 'ok', target: IP }, 30_000);
      await waitUntil('the worker is waiting on the task', async () => (await handle.query<{ phase: string }>('progress')).phase === 'wait-move-task');
      await first.kill('SIGKILL');
      expect(box.ovh.routing(IP)).toBe(serviceOf('srv-a'));

      first = startChildWorker(childQueue);
      await first.ready;
      const result = await handle.result();
      expect(result).toMatchObject({ to: 'srv-b', moved: true });
      expect(box.ovh.routing(IP)).toBe(serviceOf('srv-b'));
      expect(appliedMoves().length - before).toBe(1);
    } finally {
      box.ovh.setLatency({ moveMs: 600 });
      await first.kill('SIGTERM');
    }
  });
});
