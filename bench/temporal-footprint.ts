// Temporal footprint: what autok8s costs the engine, in billable actions (the dev server's own
// `action` counter, by action type) and in history (events and serialized bytes of every
// execution the runs started or grew), for one 3-server sandbox cluster:
// - applying its spec (the spec store starts), one bootstrap, the health schedule with its
//   first watch window's first report (the watcher starts and loads the spec);
// - health monitoring at the default interval (30 s): one whole watch window, from the start
//   of one scheduled window to the start of the next, and a cluster-day from it:
//     per day = one window × 24 (the default 1 h window)
//   A window's cost does not depend on its length up to 1 h: its start, its first report,
//   its last leg and the schedule's firing happen once a window, and its heartbeats number 15
//   a window (the heartbeat timeout is a twelfth of the window, beaten at 80 %); so a shorter
//   window measures the same per-window cost in less time (AUTOK8S_FOOTPRINT_WINDOW). The
//   watcher's continue-as-new every 500 reports (months apart when healthy) is not in it;
// - one failover (OVH move time realistic, ~1 min: the waits heartbeat, and heartbeats are
//   billed), one worker replacement, one control-plane replacement.
// Its own dev server (started with --metrics-port), so nothing else is counted. The detection
// latency beside the monitoring rows: a failure is seen by the next probe, within one interval
// and a probe, and reported at once.
//
// Settings (environment): AUTOK8S_FOOTPRINT_WINDOW (the watch window measured, default 1h);
// AUTOK8S_FOOTPRINT_MOVE_MS (the simulated OVH move of the failover, default 60000);
// AUTOK8S_FOOTPRINT_DUMP=DIR writes the histories each operation added to, as JSON, under DIR.
// The dev server's counter books a Schedule's firing as three commands of its scheduler
// workflow (timer, local-activity markers, memo) plus the start; Temporal Cloud bills it as
// two actions plus the start (docs.temporal.io/cloud/actions), so on Cloud a window is one less.
// Budget: two windows and about 6 minutes (each operation that takes the cluster lock is read
// only after the lock's holder check, up to a minute after the grant).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDevServer, freePort } from '../client/dev/dev-server';
import { upsertHealthSchedule } from '../client/health-schedule';
import { applySpec, startBootstrap, startFailover, startReplace } from '../client/start';
import { parseDuration } from '../core/spec/duration';
import { workflowIds } from '../core/workflow-ids';
import { DEFAULT_WINDOW } from '../workflows/health-check';
import { startSandboxRetrying } from './bootstrap-scaling';
import { dumpHistories, isClosed, pendingTimersMs } from './footprint/histories';
import { Meter, type Footprint } from './footprint/meter';
import { ACTIONS_GOAL, breakdownPerPass, describeRow, FAILOVER_GOAL, formatBytes, HISTORY_GOAL_BYTES, perDay } from './footprint/summary';
import { printTable, report } from './report';
import { startBenchWorker } from './bench-worker';
import { ProxmoxClient } from '../activities/proxmox/client';
import { withLink } from '../core/public-path/lb-nic';
import type { Sandbox } from '../sandbox';

const NAME = 'temporal-footprint';
const NAMESPACE = 'default';
const INTERVAL = '30s'; // the spec's default health.interval
const HEALTH = { interval: INTERVAL, unhealthyAfter: '5m', nodeStartupTimeout: '10m', maxUnhealthy: 1, autoRemediate: true }; // the sandbox's (and the spec's) defaults
const WINDOW = process.env.AUTOK8S_FOOTPRINT_WINDOW ?? DEFAULT_WINDOW;
/** The window a production schedule runs (client/health-schedule.ts): a day is this many windows. */
const PRODUCTION_WINDOW_MS = parseDuration(DEFAULT_WINDOW);
const MOVE_MS = Number(process.env.AUTOK8S_FOOTPRINT_MOVE_MS ?? 60_000);
const POLL_INTERVAL_MS = 1000; // the worker's default
const FIRST_REPORT_BOUND_MS = 90_000;
/** Temporal Cloud's list price per million actions, roughly (issue #18). */
const CLOUD_USD_PER_MILLION_ACTIONS = 50;
const LOCK_IDLE_EXIT_MS = 600_000; // workflows/cluster-lock.ts
const TAKEOVER_BOUND_MS = 30_000;

const DAY_WINDOWS = (windowMs: number) => 86_400_000 / windowMs;
const sleep = (msec: number) => new Promise((r) => setTimeout(r, Math.max(0, msec)));

export interface MeasuredOperation {
  operation: string;
  /** The operation's own wall time (from its start to its result). */
  operationMs: number;
  footprint: Footprint;
}

export async function temporalFootprint(): Promise<void> {
  const windowMs = parseDuration(WINDOW);
  if (!(windowMs >= 60_000 && windowMs <= PRODUCTION_WINDOW_MS)) throw new Error(`AUTOK8S_FOOTPRINT_WINDOW: must be a duration from 1m to ${DEFAULT_WINDOW}, got ${WINDOW}`);
  if (!(MOVE_MS >= 0)) throw new Error(`AUTOK8S_FOOTPRINT_MOVE_MS: must be milliseconds ≥ 0, got ${process.env.AUTOK8S_FOOTPRINT_MOVE_MS}`);
  const metricsPort = await freePort();
  const server = await startDevServer({ uiPort: false, metricsPort });
  const box = await startSandboxRetrying('ak8s-bench-footprint-', { clusterName: 'footprint', servers: 3, health: HEALTH }).catch(async (err: unknown) => {
    await server.stop();
    throw err;
  });
  const taskQueue = `bench-footprint-${process.pid}`;
  const { client, stop: stopWorker } = await startBenchWorker({ address: server.address, taskQueue, pollIntervalMs: POLL_INTERVAL_MS });
  const meter = new Meter(client, `http://127.0.0.1:${metricsPort}/metrics`, NAMESPACE);
  const cluster = box.spec.metadata.name;
  const interval = parseDuration(INTERVAL);
  const measured: MeasuredOperation[] = [];
  // An operation that held the cluster's lock leaves it a holder check armed at the grant (up
  // to a minute), and when that fires, the idle exit (ten minutes): the holder check is the
  // operation's cost, so a reading waits until only the idle exit is pending (or the lock ended).
  const lockSettled = async () => {
    const history = await client.workflow.getHandle(workflowIds.lock(cluster)).fetchHistory().catch(() => undefined);
    const events = history?.events ?? [];
    if (events.length === 0 || isClosed(events[events.length - 1])) return true;
    const pending = pendingTimersMs(events);
    return pending.length > 0 && pending.every((ms) => ms >= LOCK_IDLE_EXIT_MS);
  };
  const timed = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    let operationMs = 0;
    const { result, footprint } = await meter.measure(async () => {
      const t0 = Date.now();
      const r = await run();
      operationMs = Date.now() - t0;
      return r;
    }, lockSettled);
    measured.push({ operation, operationMs, footprint });
    console.log(`${NAME}: ${operation}: ${footprint.totalActions} actions, ${footprint.history.events} events, ${footprint.history.bytes} bytes`);
    return result;
  };
  let window: Footprint | undefined;
  /** A deleted schedule leaves its running window: ended here, so nothing outlives the worker's client. */
  const endWindows = async () => {
    for await (const w of client.workflow.list({ query: `WorkflowType = "healthCheck" AND TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"` })) {
      await client.workflow.getHandle(w.workflowId, w.runId).terminate('monitoring measured').catch(() => undefined);
    }
  };
  try {
    await timed('apply the spec (starts the spec store)', () => applySpec(client, taskQueue, box.spec));
    const boot = await timed('bootstrap, 3 servers', async () => (await startBootstrap(client, taskQueue, cluster)).handle.result());
    if (!boot) throw new Error('bootstrap returned nothing');

    // The schedule and its first window's first report: the watcher starts and loads the spec once.
    const watcherUp = async () => (await client.workflow.count(`WorkflowType = "clusterWatcher" AND ExecutionStatus = "Running"`)).count > 0;
    await timed('health schedule + first report (apply, schedule, window start, watcher start)', async () => {
      await upsertHealthSchedule(client, taskQueue, box.spec, undefined, WINDOW);
      const deadline = Date.now() + FIRST_REPORT_BOUND_MS;
      while (!(await watcherUp())) {
        if (Date.now() > deadline) throw new Error(`${NAME}: no report reached the watcher within ${FIRST_REPORT_BOUND_MS / 1000} s of the schedule`);
        await sleep(500);
      }
    });

    // One whole window: from the start of the window after the one running now (which carries
    // the schedule's creation and first report) to the start of the one after it.
    const schedule = client.schedule.getHandle(workflowIds.health(cluster));
    const running = async () => (await schedule.describe()).info.runningActions[0]?.workflow.workflowId;
    const nextWindow = async (after: string | undefined) => {
      const deadline = Date.now() + windowMs + 120_000;
      for (;;) {
        const id = await running();
        if (id !== undefined && id !== after) return id;
        if (Date.now() > deadline) throw new Error(`${NAME}: no window after ${after} within ${(windowMs + 120_000) / 1000} s`);
        await sleep(250);
      }
    };
    const first = await nextWindow(await running());
    const before = await meter.read();
    console.log(`${NAME}: measuring the window ${first} (${WINDOW}) from ${new Date(before.at).toISOString()}`);
    await nextWindow(first);
    window = await meter.since(before);
    console.log(`${NAME}: window: ${window.totalActions} actions, ${window.history.events} events, ${window.history.bytes} bytes`);
    // Monitoring ends here: the schedule, and the window it leaves running (which would otherwise
    // watch, report and repair during the operations below and be counted in them).
    await schedule.delete();
    await endWindows();

    // The failover keepalived starts: the routed LB's keepalived stops, another LB becomes
    // MASTER, and its notify scripts raise its public link (the old MASTER's goes down) and ask
    // for the IP. The links are set by hand here, as those scripts would (`autok8s lb link` is a
    // run of its own, not the failover's cost), so the run verifies a path that serves.
    const ip = box.spec.failoverIps[0];
    const from = box.spec.servers.find((s) => s.ovhService === box.ovh.routing(ip))!.name;
    box.vrrp.stop(from);
    const to = await takeoverBy(box, from);
    await setLink(box, from, false);
    await setLink(box, to, true);
    box.ovh.setLatency({ moveMs: MOVE_MS });
    const moved = await timed(`failover of ${ip} to ${to} (OVH move ${MOVE_MS / 1000} s)`, async () => (await startFailover(client, taskQueue, cluster, { ip, to, reason: 'footprint bench' })).handle.result());
    if (!moved.moved) throw new Error(`${NAME}: the failover did not move the IP: ${moved.why}`);
    await timed('replace srv-c worker', async () => (await startReplace(client, taskQueue, cluster, { server: 'srv-c', role: 'worker', reason: 'footprint bench' })).handle.result());
    await timed('replace srv-c control plane', async () => (await startReplace(client, taskQueue, cluster, { server: 'srv-c', role: 'controlPlane', reason: 'footprint bench' })).handle.result());
  } finally {
    await client.schedule.getHandle(workflowIds.health(cluster)).delete().catch(() => undefined); // already deleted after the window
    await endWindows();
    await client.workflow.getHandle(workflowIds.watcher(cluster)).terminate('benchmark over').catch(() => undefined);
    await stopWorker();
    await box.stop();
    await server.stop();
    rmSync(box.dir, { recursive: true, force: true });
  }

  const dump = process.env.AUTOK8S_FOOTPRINT_DUMP;
  if (dump) {
    dumpHistories(join(dump, 'monitoring-window'), window.executions);
    measured.forEach((m, i) => dumpHistories(join(dump, `${i + 1}-${m.operation.replace(/[^A-Za-z0-9]+/g, '-')}`), m.footprint.executions));
    console.log(`${NAME}: histories written under ${dump}`);
  }
  const day = perDay(window, PRODUCTION_WINDOW_MS);
  const seconds = (msec: number) => `${(msec / 1000).toFixed(1)} s`;
  const detection = `≤ ${seconds(interval)} + one probe (the first probe that sees a change reports it)`;
  const remediation = `≤ ${seconds(2 * interval + parseDuration(HEALTH.unhealthyAfter))} (interval + unhealthyAfter + interval)`;
  const rows = [
    ...measured.slice(0, 3).map((m) => describeRow(m.operation, m.footprint, m.operationMs)),
    describeRow(`monitoring: one watch window (${WINDOW})`, window, windowMs, detection),
    describeRow(`monitoring: per cluster-day (one window × ${DAY_WINDOWS(PRODUCTION_WINDOW_MS)}, ${DEFAULT_WINDOW} windows)`, day, 86_400_000, `${detection}; remediation start ${remediation}`),
    ...measured.slice(3).map((m) => describeRow(m.operation, m.footprint, m.operationMs)),
  ];
  const failover = measured.find((m) => m.operation.startsWith('failover'))!;
  const met = { monitoringActions: day.totalActions <= ACTIONS_GOAL, monitoringHistory: day.history.bytes <= HISTORY_GOAL_BYTES, failoverActions: failover.footprint.totalActions <= FAILOVER_GOAL };
  const perWindow = breakdownPerPass(window, 1);
  console.log(`\n### ${NAME}: one watch window, where it goes\n`);
  console.log(printTable(['action type', 'actions / window'], perWindow.actions.map((a) => [a.type, a.perPass])));
  console.log('');
  console.log(printTable(['workflow', 'events / window', 'bytes / window', 'payload bytes / window'], perWindow.byWorkflowType.map((r) => [r.workflowType, r.events, formatBytes(r.bytes), formatBytes(r.payloadBytes)])));
  console.log('');
  console.log(printTable(['event', 'events / window', 'bytes / window', 'payload bytes / window'], perWindow.byEvent.map((r) => [r.what, r.events, formatBytes(r.bytes), formatBytes(r.payloadBytes)])));
  report({
    name: NAME,
    goal: `monitoring one 3-server cluster at ${INTERVAL}: ≤ ${ACTIONS_GOAL} actions (${day.totalActions}: ${met.monitoringActions ? 'met' : 'not met'}) and ≤ ${HISTORY_GOAL_BYTES / 1e6} MB history (${(day.history.bytes / 1e6).toFixed(1)} MB: ${met.monitoringHistory ? 'met' : 'not met'}) per cluster-day; failover ≤ ${FAILOVER_GOAL} actions (${failover.footprint.totalActions}: ${met.failoverActions ? 'met' : 'not met'})`,
    met: met.monitoringActions && met.monitoringHistory && met.failoverActions,
    settings: {
      health: HEALTH,
      windowMeasured: WINDOW,
      windowMs,
      perDayFormula: `one window × ${DAY_WINDOWS(PRODUCTION_WINDOW_MS)} (${DEFAULT_WINDOW} windows; a window's cost does not depend on its length up to ${DEFAULT_WINDOW}: 15 heartbeats a window)`,
      ovhMoveMsOfTheFailover: MOVE_MS,
      otherLatencies: 'sandbox defaults (Proxmox, Talos and OVH tasks well under a second): waits shorter than real ones heartbeat less',
      pollIntervalMs: POLL_INTERVAL_MS,
      payloads: 'clear (no payload codec): encrypted payloads are a little larger',
      actionsFrom: `the dev server's \`action\` counter, namespace ${NAMESPACE}, by action_type`,
      historyBytes: 'each event serialized as in a History message (protobuf), summed over the events the runs added',
      notInTheWindow: "the watcher's continue-as-new every 500 reports (a healthy cluster reports about twice a window)",
      scheduleOnCloud: 'the counter books a Schedule firing as 3 scheduler commands + the start; Temporal Cloud bills 2 + the start',
    },
    columns: ['operation', 'actions', 'actions by type', 'history events', 'history bytes', 'of which payloads', 'wall', 'detection latency'],
    rows,
    data: {
      met,
      temporalCloudUsdPerClusterMonth: Math.round(((day.totalActions * 30) / 1e6) * CLOUD_USD_PER_MILLION_ACTIONS * 10) / 10,
      operations: measured.map((m) => ({ operation: m.operation, operationMs: m.operationMs, ...strip(m.footprint) })),
      monitoring: { window: strip(window), perDay: strip(day), perWindow },
    },
  });
}

/** The LB whose keepalived is MASTER once `from`'s stopped (a BACKUP takes over within its skew time). */
async function takeoverBy(box: Sandbox, from: string): Promise<string> {
  const deadline = Date.now() + TAKEOVER_BOUND_MS;
  for (;;) {
    const holders = box.vrrp.holders();
    if (holders.length === 1 && holders[0] !== from) return holders[0];
    if (Date.now() > deadline) throw new Error(`${NAME}: no LB took over from ${from} within ${TAKEOVER_BOUND_MS / 1000} s (holders: ${holders.join(', ') || 'none'})`);
    await sleep(100);
  }
}

/** What `autok8s lb link up|down` does to the LB VM's public NIC (net1's link_down), through the server's Proxmox API. */
async function setLink(box: Sandbox, server: string, up: boolean): Promise<void> {
  const s = box.spec.servers.find((x) => x.name === server)!;
  const tokenSecret = readFileSync(join(box.dir, 'secrets', `pve-${server}.token`), 'utf8').trim();
  const api = new ProxmoxClient({ url: s.proxmox.url, node: s.proxmox.node, tokenId: s.proxmox.tokenId, tokenSecret, fingerprint: s.proxmox.fingerprint });
  try {
    await api.updateVmConfig(s.vms.lb.vmid, { net1: withLink((await api.vmConfig(s.vms.lb.vmid)).net1, up) });
  } finally {
    await api.close();
  }
}

/** The footprint without the histories it was computed from. */
const strip = ({ executions, ...rest }: Footprint) => ({ ...rest, executions: executions.map((x) => ({ workflowId: x.workflowId, workflowType: x.workflowType, events: x.events.length })) });
