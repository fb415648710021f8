// Health capacity: how many 3-server clusters one worker can health-check every 30 s, each
// pass starting less than 1 s after its scheduled time.
//
// How it is measured, and why it is honest:
// - One sandbox, one bootstrapped 3-server cluster. N clusters are N copies of its spec with
//   another metadata.name (cap-001 ...) and the same state.dir, so they share its simulators,
//   VMs and talosconfig. A health pass only reads, and each copy's pass makes exactly the
//   calls a pass over its own cluster makes: one observeCluster activity (3 LB probes, one
//   Proxmox VM list per server, one batched `talosctl get machinestatus`, one `talosctl etcd
//   members`, one OVH routing read) and one Update-with-Start to its own watcher
//   (`<name>/watcher`). A first pass of one copy is checked healthy before anything is
//   measured. autoRemediate is off, so nothing but probes runs.
// - Each cluster gets its real schedule (upsertHealthSchedule, `every 30s`, overlap SKIP), so
//   each gets the phase the product gives it (core/schedule/phase.ts: a hash of the cluster
//   name places its passes in the interval). The load is what N clusters on one worker get:
//   N passes per 30 s, spread by their phases. Compressing time (3 s intervals, N/10
//   clusters) would not be equivalent (each pass costs the same, the phases would crowd),
//   so real 30 s intervals are used, two of them per N: the window is 60 s, opening 10 s
//   after the schedules exist (a new schedule's first few seconds fire nothing), in which
//   every schedule is due exactly twice.
// - Lag is measured from each schedule's recentActions[].scheduledAt (the phase included) to
//   the pass's own history: when the server started the run (WorkflowExecutionStarted, the
//   "start lag" the schedule reports), when the worker first picked it up (first
//   WorkflowTaskStarted), when its first probe started (first ActivityTaskStarted), and when
//   it completed. The server starts a run on time whatever the worker does, so start lag
//   alone says nothing about the worker: N "meets the goal" only when the worker picks
//   passes up within 1 s at p95, every due pass ran (none skipped for overlap) and every
//   pass completed within its interval.
// - The talosctl stand-in is a short-lived process per call like talosctl (the Go forwarder
//   when Go was there at `npm install`, else the Node bundle: see the table's settings), so
//   process start-up is in the cost, as it is with the real talosctl.
// - N rises 10, 25, 50, 100, 200. Up to 50 every step runs (it shows what happens past
//   capacity: late passes, probe timeouts, skips); past 50 the ladder stops at the first N
//   that misses, since a larger N only adds load to a shared machine. Rows not run say so,
//   with the cores they would need, estimated from the measured cost of one pass.
//
// Budget: bootstrap ~30 s, then per N about 1.5–2.5 min (create the schedules, two
// intervals, drain ≤ 60 s, read histories); no new N starts past 10 minutes, so the whole
// entry stays under about 13 minutes.
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Client, type ScheduleDescription } from '@temporalio/client';
import { upsertHealthSchedule } from '../client/health-schedule';
import { applySpec, startBootstrap } from '../client/start';
import type { ClusterSpec } from '../core/spec/schema';
import { workflowIds } from '../core/workflow-ids';
import type { HealthCheckResult } from '../workflows/health-check';
import { countingTalosctl, cpuBetween, cpuS, cpuSnapshot, pct, startSandboxRetrying, type CpuUse } from './bootstrap-scaling';
import { report } from './report';
import { percentile } from './stats';
import { startBenchWorker } from './bench-worker';

const NAME = 'health-capacity';
const INTERVAL = '30s';
const INTERVAL_MS = 30_000;
const LADDER = [10, 25, 50, 100, 200];
const INTERVALS_PER_N = 2;
const GOAL_LAG_MS = 1000;
const DRAIN_BOUND_MS = 60_000;
/** From the last schedule created to the start of the measured window. */
const SETTLE_MS = 10_000;
const RUN_BOUND_MS = 10 * 60_000;
/** Every N up to this one is measured even after a miss. */
const ALWAYS_MEASURED_UP_TO = 50;

const sleep = (msec: number) => new Promise((r) => setTimeout(r, Math.max(0, msec)));
const tsMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : NaN);

interface PassTiming {
  cluster: string;
  scheduledAt: number;
  startLagMs: number;
  pickupLagMs: number;
  firstProbeLagMs: number;
  doneLagMs: number;
  passMs: number;
  status: string;
  healthy?: boolean;
}

interface StepResult {
  n: number;
  due: number;
  passes: PassTiming[];
  skippedOverlap: number;
  missedCatchup: number;
  terminatedAtDrain: number;
  talosctlRuns: number;
  cpu: CpuUse;
  loadavg: number[];
  meetsStartLag: boolean;
  meets: boolean;
  why: string[];
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** The pass's timing from its own history, relative to when it was due. */
async function passTiming(client: Client, cluster: string, scheduledAt: number, workflowId: string, runId: string): Promise<PassTiming> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const first = (has: (e: (typeof events)[number]) => unknown) => tsMs(events.find((e) => has(e))?.eventTime);
  const started = first((e) => e.workflowExecutionStartedEventAttributes);
  const pickup = first((e) => e.workflowTaskStartedEventAttributes);
  const probe = first((e) => e.activityTaskStartedEventAttributes);
  const closing = events[events.length - 1];
  const closed = tsMs(closing?.eventTime);
  const completed = closing?.workflowExecutionCompletedEventAttributes;
  let healthy: boolean | undefined;
  if (completed) {
    try {
      healthy = ((await handle.result()) as HealthCheckResult).healthy;
    } catch {
      healthy = undefined;
    }
  }
  return {
    cluster,
    scheduledAt,
    startLagMs: started - scheduledAt,
    pickupLagMs: pickup - scheduledAt,
    firstProbeLagMs: probe - scheduledAt,
    doneLagMs: completed ? closed - scheduledAt : NaN,
    passMs: completed ? closed - started : NaN,
    status: completed ? 'completed' : 'not completed (terminated at the drain bound)',
    healthy,
  };
}

const triple = (values: number[]) => {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length === 0 ? '—' : `${Math.round(percentile(v, 50))} / ${Math.round(percentile(v, 95))} / ${Math.round(Math.max(...v))} ms`;
};

export async function healthCapacity(temporalAddress: string, ladder: readonly number[] = LADDER): Promise<void> {
  const runStarted = Date.now();
  const box = await startSandboxRetrying('ak8s-bench-cap-', {
    clusterName: 'cap',
    servers: 3,
    health: { interval: INTERVAL, unhealthyAfter: '10m', nodeStartupTimeout: '10m', maxUnhealthy: 1, autoRemediate: false },
  });
  const taskQueue = `bench-cap-${process.pid}`;
  // The production worker's defaults (100 concurrent activities); polling only shortens the bootstrap's waits.
  const { client, stop: stopWorker } = await startBenchWorker({ address: temporalAddress, taskQueue, pollIntervalMs: 200 });
  const counter = countingTalosctl(box.spec.talos.talosctl!, box.dir);
  const standInTransport = box.talos.standInTransport;
  const base: ClusterSpec = { ...box.spec, talos: { ...box.spec.talos, talosctl: counter.path } };
  const clusterName = (i: number) => `cap-${String(i).padStart(3, '0')}`;
  const specOf = (name: string): ClusterSpec => ({ ...base, metadata: { ...base.metadata, name } });
  const maxN = Math.max(...ladder);
  const scheduled = new Set<string>();
  const results: StepResult[] = [];
  let perPass: { cpuS: number; talosctlRuns: number; wallMs: number } | undefined;
  let stopReason: string | undefined;

  const deleteSchedules = async () => {
    await mapLimit([...scheduled], 16, (name) => client.schedule.getHandle(workflowIds.health(name)).delete().catch(() => undefined));
    scheduled.clear();
  };

  try {
    await (await startBootstrap(client, taskQueue, base)).handle.result();

    // One pass of a copy, alone: it must find the shared cluster healthy, and it gives the cost of a pass.
    const probeName = clusterName(1);
    const before = cpuSnapshot();
    const runsBefore = counter.calls().length;
    const t0 = Date.now();
    await applySpec(client, taskQueue, specOf(probeName));
    const once = await client.workflow.execute('healthCheck', { taskQueue, workflowId: `${probeName}/health/bench-check`, args: [{ cluster: probeName }] });
    const wallMs = Date.now() - t0;
    const one = cpuBetween(before, cpuSnapshot());
    if (!(once as HealthCheckResult).healthy) throw new Error(`a pass of a copied spec does not find the shared cluster healthy: ${(once as HealthCheckResult).summary}`);
    perPass = { cpuS: one.selfS + one.reapedChildrenS + one.devServerS, talosctlRuns: counter.calls().length - runsBefore, wallMs };
    console.log(`${NAME}: one pass alone: ${wallMs} ms, ${perPass.talosctlRuns} talosctl runs, ${perPass.cpuS.toFixed(2)} CPU-s`);

    for (const n of ladder) {
      if (Date.now() - runStarted > RUN_BOUND_MS) {
        stopReason = `time budget (${RUN_BOUND_MS / 60_000} min) used`;
        break;
      }
      const names = Array.from({ length: n }, (_, i) => clusterName(i + 1));
      await mapLimit(names, 8, async (name) => {
        await upsertHealthSchedule(client, taskQueue, specOf(name), INTERVAL);
        scheduled.add(name);
      });
      // Every schedule exists now: in [first, end) each is due exactly INTERVALS_PER_N times, at
      // its phase. A new schedule takes a few seconds before its first action (measured: nothing
      // due in the first ~5 s after creation ran), so the window opens after SETTLE_MS.
      const first = Date.now() + SETTLE_MS;
      const end = first + INTERVALS_PER_N * INTERVAL_MS;
      console.log(`${NAME}: N=${n}: ${n} schedules; measuring the passes due from ${new Date(first).toISOString()} for ${INTERVALS_PER_N} intervals`);
      await sleep(first - Date.now());
      const cpuStart = cpuSnapshot();
      const runsStart = counter.calls().length;
      await sleep(end - Date.now());
      const cpu = cpuBetween(cpuStart, cpuSnapshot());
      const talosctlRuns = counter.calls().length - runsStart;
      // A pass due just before `end` has been taken a moment later; then stop the schedules.
      await sleep(1500);
      const descriptions = await mapLimit(names, 16, async (name) => ({ name, d: await client.schedule.getHandle(workflowIds.health(name)).describe() }));
      await deleteSchedules();

      // Let the passes already started finish (bounded), then read their histories.
      const runningQuery = `WorkflowType = "healthCheck" AND TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`;
      const drainUntil = Date.now() + DRAIN_BOUND_MS;
      while (Date.now() < drainUntil && (await client.workflow.count(runningQuery)).count > 0) await sleep(1000);
      let terminatedAtDrain = 0;
      for await (const w of client.workflow.list({ query: runningQuery })) {
        await client.workflow.getHandle(w.workflowId, w.runId).terminate('benchmark drain bound').catch(() => undefined);
        terminatedAtDrain += 1;
      }

      const due = n * INTERVALS_PER_N;
      const taken = descriptions.flatMap(({ name, d }) =>
        (d as ScheduleDescription).info.recentActions
          .filter((a) => a.scheduledAt.getTime() >= first && a.scheduledAt.getTime() < end)
          .map((a) => ({ name, scheduledAt: a.scheduledAt.getTime(), workflowId: a.action.workflow.workflowId, runId: a.action.workflow.firstExecutionRunId })),
      );
      const passes = await mapLimit(taken, 8, (a) => passTiming(client, a.name, a.scheduledAt, a.workflowId, a.runId));
      const skippedOverlap = descriptions.reduce((s, { d }) => s + (d as ScheduleDescription).info.numActionsSkippedOverlap, 0);
      const missedCatchup = descriptions.reduce((s, { d }) => s + (d as ScheduleDescription).info.numActionsMissedCatchupWindow, 0);

      const p95 = (f: (p: PassTiming) => number) => percentile(passes.map(f).filter(Number.isFinite), 95);
      const why: string[] = [];
      if (passes.length < due) why.push(`${due - passes.length} of ${due} due passes did not run`);
      if (!(p95((p) => p.pickupLagMs) < GOAL_LAG_MS)) why.push(`worker pickup p95 ${Math.round(p95((p) => p.pickupLagMs))} ms`);
      const late = passes.filter((p) => !(p.doneLagMs < INTERVAL_MS)).length;
      if (late > 0) why.push(`${late} passes not done within the interval`);
      const unhealthy = passes.filter((p) => p.healthy === false).length;
      if (unhealthy > 0) why.push(`${unhealthy} passes saw an unhealthy cluster (probes timing out under load)`);
      const step: StepResult = {
        n,
        due,
        passes,
        skippedOverlap,
        missedCatchup,
        terminatedAtDrain,
        talosctlRuns,
        cpu,
        loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
        meetsStartLag: passes.length > 0 && p95((p) => p.startLagMs) < GOAL_LAG_MS,
        meets: why.length === 0,
        why,
      };
      results.push(step);
      console.log(`${NAME}: N=${n}: ${passes.length}/${due} passes; ${step.meets ? 'meets the goal' : `misses: ${why.join('; ')}`}`);
      if (!step.meets && n >= ALWAYS_MEASURED_UP_TO) {
        stopReason = `N=${n} already misses the goal; a larger N only adds load`;
        break;
      }
      if (n === maxN) break;
    }
  } finally {
    await deleteSchedules();
    // Every copy's watcher (started by its passes' Update-with-Start), then everything else.
    await mapLimit(Array.from({ length: maxN }, (_, i) => clusterName(i + 1)), 16, (name) =>
      client.workflow
        .getHandle(workflowIds.watcher(name))
        .terminate('benchmark over')
        .catch(() => undefined), // never started (its cluster was not scheduled)
    );
    await client.workflow.getHandle(workflowIds.watcher('cap')).terminate('benchmark over').catch(() => undefined);
    await stopWorker();
    await box.stop();
    rmSync(box.dir, { recursive: true, force: true });
  }

  const rows: (string | number)[][] = results.map((r) => [
    r.n,
    `${r.passes.length}/${r.due}`,
    r.skippedOverlap,
    triple(r.passes.map((p) => p.startLagMs)),
    triple(r.passes.map((p) => p.pickupLagMs)),
    triple(r.passes.map((p) => p.firstProbeLagMs)),
    triple(r.passes.map((p) => p.doneLagMs)),
    r.talosctlRuns,
    `${cpuS(r.cpu.selfS + r.cpu.reapedChildrenS + r.cpu.devServerS)} (${cpuS(r.cpu.reapedChildrenS)} talosctl)`,
    `${pct((r.cpu.selfS + r.cpu.reapedChildrenS + r.cpu.devServerS) / (2 * r.cpu.wallS))} / ${pct(r.cpu.machineBusy)}`,
    r.meets ? 'yes' : `no: ${r.why.join('; ')}`,
  ]);
  for (const n of ladder.filter((n) => !results.some((r) => r.n === n))) {
    const demand = perPass ? `needs ≈${((n * perPass.cpuS) / (INTERVAL_MS / 1000)).toFixed(1)} cores (estimate from one pass)` : '';
    rows.push([n, 'not run', '—', '—', '—', '—', '—', '—', '—', '—', `${stopReason ?? 'not run'}; ${demand}`]);
  }
  // The largest N below which every measured N met it too (one lucky step past a miss does not count).
  const largestMeeting = (ok: (r: StepResult) => boolean) => {
    let largest: number | undefined;
    for (const r of [...results].sort((a, b) => a.n - b.n)) {
      if (!ok(r)) break;
      largest = r.n;
    }
    return largest;
  };
  const best = largestMeeting((r) => r.meets);
  const bestStartLag = largestMeeting((r) => r.meetsStartLag);
  report({
    name: NAME,
    goal: `largest N of 3-server clusters checked every ${INTERVAL} by one worker with worker pickup lag p95 < ${GOAL_LAG_MS} ms, no pass skipped and every pass done within the interval: ${best !== undefined ? `N = ${best}` : `none of N = ${results.map((r) => r.n).join(', ')}`} (target 200)`,
    met: best !== undefined && best >= 200,
    settings: {
      interval: INTERVAL,
      intervalsPerN: INTERVALS_PER_N,
      ladder,
      worker: 'one in-process worker, createWorker defaults (100 concurrent activities)',
      talosctlStandIn: standInTransport,
      onePassAlone: perPass,
      largestNWithStartLagP95Under1s: bestStartLag ?? null,
      stopReason,
    },
    columns: ['N', 'passes run/due', 'skipped (overlap)', 'start lag p50/p95/max', 'worker pickup lag', 'first probe lag', 'done after due', 'talosctl runs', 'CPU (ours)', 'ours / machine busy', 'meets goal'],
    rows,
    data: { perPass, results: results.map((r) => ({ ...r, passes: r.passes })) },
  });
}
