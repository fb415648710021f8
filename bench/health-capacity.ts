// Health capacity: how many 3-server clusters one worker can watch, probing each every 30 s.
//
// How it is measured, and why it is honest:
// - One sandbox, one bootstrapped 3-server cluster. N clusters are N copies of its spec with
//   another metadata.name (cap-001 ...) and the same state.dir, so they share its simulators,
//   VMs and talosconfig. A probe only reads, and each copy's probe makes exactly the calls a
//   probe of its own cluster makes (observeCluster: 3 LB probes, one Proxmox VM list per
//   server, one batched `talosctl get machinestatus`, one `talosctl etcd members`, one OVH
//   routing read; and the two describes of the watch window: the schedule's paused state and
//   the spec store's stamp). autoRemediate is off, so nothing but probes runs.
// - Each cluster gets its real schedule (upsertHealthSchedule: 1 h watch windows, the first
//   started at once), so each has one long-running watchCluster leg on the worker, probing on
//   its own phase (from when its window started). Real 30 s intervals; after each step's new
//   schedules exist, every cluster's watcher must have received a healthy first look (bounded),
//   then a 60 s stretch is measured: every cluster is due exactly 2 probes in it.
// - Probes are counted where they land: the VM lists srv-a's Proxmox simulator answered (each
//   probe of each copy lists srv-a's VMs once). A worker that cannot keep up probes late, and
//   the count falls short; a probe whose checks time out under load sees a node unhealthy and
//   reports it, so the watchers' last observations say whether probes stayed healthy.
// - The talosctl is the one the sandbox's spec names: the real talosctl when it is built, else
//   the fallback client (AUTOK8S_SANDBOX_TALOSCTL chooses; see the settings); either is a process
//   per call, so process start-up is in the cost.
// - N rises 10, 25, 50, 100, 200, 300 (AUTOK8S_CAPACITY_LADDER=200 runs one step); new schedules
//   are created spread over one interval; the ladder stops at the first N that misses, or when the
//   time budget is used.
//
// Budget: bootstrap ~30 s, then per N about 1.5–2 min; no new N starts past 10 minutes.
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { upsertHealthSchedule } from '../client/health-schedule';
import { startBootstrap } from '../client/start';
import type { WatcherState } from '../core/health/watcher';
import type { ClusterSpec } from '../core/spec/schema';
import { workflowIds } from '../core/workflow-ids';
import { countingTalosctl, cpuBetween, cpuS, cpuSnapshot, pct, startSandboxRetrying, type CpuUse } from './bootstrap-scaling';
import { report } from './report';
import { resultName, talosctlLabel } from './talosctl-variant';
import { startBenchWorker } from './bench-worker';

const NAME = 'health-capacity';
const INTERVAL = '30s';
const INTERVAL_MS = 30_000;
const LADDER = process.env.AUTOK8S_CAPACITY_LADDER ? process.env.AUTOK8S_CAPACITY_LADDER.split(',').map(Number) : [10, 25, 50, 100, 200, 300];
const STRETCH_MS = 2 * INTERVAL_MS;
/** How long the new windows of a step get to hand their first look to their watchers. */
const FIRST_LOOK_BOUND_MS = 120_000;
const RUN_BOUND_MS = 10 * 60_000;
/** Probes short of due that still count as keeping up: a probe whose time falls on the stretch's edge may land either side. */
const EDGE_SLACK = 0.02;

const sleep = (msec: number) => new Promise((r) => setTimeout(r, Math.max(0, msec)));

interface StepResult {
  n: number;
  due: number;
  probes: number;
  unhealthyWatchers: number;
  firstLookMs: number;
  talosctlRuns: number;
  cpu: CpuUse;
  loadavg: number[];
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

export async function healthCapacity(temporalAddress: string, ladder: readonly number[] = LADDER): Promise<void> {
  const runStarted = Date.now();
  const box = await startSandboxRetrying('ak8s-bench-cap-', {
    clusterName: 'cap',
    servers: 3,
    health: { interval: INTERVAL, unhealthyAfter: '10m', nodeStartupTimeout: '10m', maxUnhealthy: 1, autoRemediate: false },
  });
  const taskQueue = `bench-cap-${process.pid}`;
  // The production worker's defaults; polling only shortens the bootstrap's waits.
  const { client, stop: stopWorker } = await startBenchWorker({ address: temporalAddress, taskQueue, pollIntervalMs: 200 });
  const counter = countingTalosctl(box.spec.talos.talosctl!, box.dir);
  const base: ClusterSpec = { ...box.spec, talos: { ...box.spec.talos, talosctl: counter.path } };
  const clusterName = (i: number) => `cap-${String(i).padStart(3, '0')}`;
  const specOf = (name: string): ClusterSpec => ({ ...base, metadata: { ...base.metadata, name } });
  const srvA = box.proxmox.get('srv-a')!;
  const probesSoFar = () => Object.entries(srvA.schemaChecks()).filter(([op]) => op === 'GET /nodes/{node}/qemu').reduce((n, [, c]) => n + c.accepted, 0);
  const lastLook = (name: string) =>
    client.workflow
      .getHandle(workflowIds.watcher(name))
      .query<WatcherState>('status')
      .then((s) => s.lastObservation, () => undefined);
  const scheduled: string[] = [];
  const results: StepResult[] = [];
  let stopReason: string | undefined;

  try {
    await (await startBootstrap(client, taskQueue, base)).handle.result();
    for (const n of ladder) {
      if (Date.now() - runStarted > RUN_BOUND_MS) {
        stopReason = `time budget (${RUN_BOUND_MS / 60_000} min) used`;
        break;
      }
      const added = Array.from({ length: n - scheduled.length }, (_, i) => clusterName(scheduled.length + i + 1));
      const t0 = Date.now();
      // Spread over one interval, as the windows of clusters added over time are: a hundred
      // windows started in the same second would probe in the same second for their whole hour.
      await mapLimit(added, 8, async (name) => {
        await sleep(t0 + (added.indexOf(name) * INTERVAL_MS) / added.length - Date.now());
        await upsertHealthSchedule(client, taskQueue, specOf(name));
        scheduled.push(name);
      });
      // Every new window's first look reached its watcher (one query per cluster, outside the stretch).
      const waiting = new Set(added);
      while (waiting.size > 0 && Date.now() - t0 < FIRST_LOOK_BOUND_MS) {
        await mapLimit([...waiting], 16, async (name) => {
          if ((await lastLook(name)) !== undefined) waiting.delete(name);
        });
        if (waiting.size > 0) await sleep(1000);
      }
      const firstLookMs = Date.now() - t0;

      const cpuStart = cpuSnapshot();
      const runsStart = counter.calls().length;
      const probesStart = probesSoFar();
      await sleep(STRETCH_MS);
      const probes = probesSoFar() - probesStart;
      const talosctlRuns = counter.calls().length - runsStart;
      const cpu = cpuBetween(cpuStart, cpuSnapshot());
      const looks = await mapLimit(scheduled, 16, lastLook);
      const unhealthyWatchers = looks.filter((o) => o !== undefined && o.nodes.some((x) => !x.healthy)).length;
      const unanswered = looks.filter((o) => o === undefined).length;

      const due = n * (STRETCH_MS / INTERVAL_MS);
      const why: string[] = [];
      if (waiting.size > 0) why.push(`${waiting.size} windows gave no first look within ${FIRST_LOOK_BOUND_MS / 1000} s`);
      if (probes < due * (1 - EDGE_SLACK)) why.push(`${probes} of ${due} due probes ran`);
      if (unhealthyWatchers > 0) why.push(`${unhealthyWatchers} watchers last saw an unhealthy cluster (probes timing out under load)`);
      if (unanswered > 0) why.push(`${unanswered} watchers did not answer their status query`);
      const step: StepResult = { n, due, probes, unhealthyWatchers, firstLookMs, talosctlRuns, cpu, loadavg: loadavg().map((l) => Math.round(l * 100) / 100), meets: why.length === 0, why };
      results.push(step);
      console.log(`${NAME}: N=${n}: ${probes}/${due} probes; ${step.meets ? 'meets the goal' : `misses: ${why.join('; ')}`}`);
      if (!step.meets) {
        stopReason = `N=${n} misses the goal; a larger N only adds load`;
        break;
      }
    }
  } finally {
    await mapLimit(scheduled, 16, (name) => client.schedule.getHandle(workflowIds.health(name)).delete().catch(() => undefined));
    for await (const w of client.workflow.list({ query: `WorkflowType = "healthCheck" AND TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"` })) {
      await client.workflow.getHandle(w.workflowId, w.runId).terminate('benchmark over').catch(() => undefined);
    }
    await mapLimit([...scheduled, 'cap'], 16, (name) => client.workflow.getHandle(workflowIds.watcher(name)).terminate('benchmark over').catch(() => undefined));
    await stopWorker();
    await box.stop();
    rmSync(box.dir, { recursive: true, force: true });
  }

  const ours = (c: CpuUse) => c.selfS + c.reapedChildrenS + c.devServerS;
  const rows: (string | number)[][] = results.map((r) => [
    r.n,
    `${r.probes}/${r.due}`,
    r.unhealthyWatchers,
    `${(r.firstLookMs / 1000).toFixed(1)} s`,
    r.talosctlRuns,
    `${cpuS(ours(r.cpu))} (${cpuS(r.cpu.reapedChildrenS)} talosctl)`,
    `${pct(ours(r.cpu) / (2 * r.cpu.wallS))} / ${pct(r.cpu.machineBusy)}`,
    r.meets ? 'yes' : `no: ${r.why.join('; ')}`,
  ]);
  for (const n of ladder.filter((n) => !results.some((r) => r.n === n))) rows.push([n, 'not run', '—', '—', '—', '—', '—', stopReason ?? 'not run']);
  // The largest N below which every measured N met it too.
  const lastMeeting = results.filter((_, i) => results.slice(0, i + 1).every((x) => x.meets)).at(-1)?.n;
  report({
    name: resultName(NAME, box),
    goal: `largest N of 3-server clusters one worker watches at ${INTERVAL} with every due probe run and every watcher seeing a healthy cluster: ${lastMeeting !== undefined ? `N = ${lastMeeting}` : `none of N = ${results.map((r) => r.n).join(', ')}`} (target 200)`,
    met: lastMeeting !== undefined && lastMeeting >= 200,
    settings: {
      interval: INTERVAL,
      stretchMs: STRETCH_MS,
      ladder,
      worker: 'one in-process worker, createWorker defaults',
      talosctl: talosctlLabel(box),
      stopReason,
    },
    columns: ['N', 'probes run/due (60 s)', 'watchers unhealthy', 'first looks within', 'talosctl runs', 'CPU (ours)', 'ours / machine busy', 'meets goal'],
    rows,
    data: { results },
  });
}
