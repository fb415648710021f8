// Remediation timing: a worker VM is killed (the Proxmox simulator stops it abruptly); how
// long until autok8s starts repairing it (the watcher's reboot reaches Proxmox: the
// `qmstart` call in the audit log) and until the cluster is healthy again (the watcher's
// `status` query shows every node healthy, nothing in flight, from a pass after the repair).
// Three trials, one worker VM each (srv-a, srv-b, srv-c, so no node is hit twice and the
// policy's reboot-then-replace escalation never comes into play), with a real Temporal
// Schedule running a healthCheck watch window (1 h) that probes every interval and reports
// changes and due decisions to the watcher (a "pass" below is such a report).
//
// Expected, from the policy (core/policies/remediation.ts) and the schedule:
//   remediation start ≤ interval (until a pass sees the VM down) + unhealthyAfter
//                       + interval (the decision is taken by a pass, not in between)
//                       + one pass's probes and the reboot call;
//   healthy           ≤ remediation start + the qmstart task (startMs) + the guest boot
//                       + interval (until a pass sees it healthy) + a pass.
// The table shows the nominal bound (interval + unhealthyAfter, then + start + boot) and the
// bound with the pass granularity. In the sandbox a Talos node answers once its VM's guest has
// booted again (bootMs after the start); it is then ready at once (kubelet start-up after a
// reboot is not modelled).
//
// Budget: bootstrap ~20 s, then three trials of ≤ 20 s each: about 1.5 minutes; each wait
// is bounded (60 s) and the run fails loudly past it.
import { rmSync } from 'node:fs';
import { upsertHealthSchedule } from '../client/health-schedule';
import { startBootstrap } from '../client/start';
import { parseDuration } from '../core/spec/duration';
import { workflowIds } from '../core/workflow-ids';
import type { WatcherState } from '../core/health/watcher';
import { startSandboxRetrying } from './bootstrap-scaling';
import { ms, printTable, report } from './report';
import { summarize } from './stats';
import { startBenchWorker } from './bench-worker';

const NAME = 'remediation-timing';
// The shortest health settings a spec allows: interval 5 s, unhealthyAfter two intervals.
const HEALTH = { interval: '5s', unhealthyAfter: '10s', nodeStartupTimeout: '60s', maxUnhealthy: 1, autoRemediate: true };
const PROXMOX = { createMs: 200, startMs: 1000, stopMs: 100, destroyMs: 100, bootMs: 2000 };
const TRIAL_SERVERS = ['srv-a', 'srv-b', 'srv-c'];
const WAIT_BOUND_MS = 60_000;
const STATUS_POLL_MS = 100;
const POLL_INTERVAL_MS = 200;

interface Trial {
  server: string;
  vmid: number;
  killedAt: number;
  /** The watcher's first unhealthy observation of the node (history.unhealthySince). */
  seenUnhealthyAt?: number;
  /** Proxmox received POST .../status/start for the VM (audit `qmstart`). */
  remediationAt: number;
  /** The qmstart task ended (audit `task` of type qmstart). */
  startedAt?: number;
  /** The status query first showed every node healthy and nothing in flight, from a pass after the repair. */
  healthyAt: number;
  /** That pass's observation time. */
  healthyObservedAt: number;
}

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

async function until<T>(what: string, look: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_BOUND_MS;
  for (;;) {
    const found = await look();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${NAME}: ${what} did not happen within ${WAIT_BOUND_MS / 1000} s`);
    await sleep(STATUS_POLL_MS);
  }
}

export async function remediationTiming(temporalAddress: string): Promise<void> {
  const box = await startSandboxRetrying('ak8s-bench-remedy-', { clusterName: 'remedy', servers: 3, health: HEALTH, latency: { proxmox: PROXMOX } });
  const taskQueue = `bench-remedy-${process.pid}`;
  const { client, stop: stopWorker } = await startBenchWorker({ address: temporalAddress, taskQueue, pollIntervalMs: POLL_INTERVAL_MS });
  const cluster = box.spec.metadata.name;
  const status = () => client.workflow.getHandle(workflowIds.watcher(cluster)).query<WatcherState>('status').catch(() => undefined);
  /** Every node healthy in a pass observed after `since`, and no repair running. */
  const healthySince = async (since: number) => {
    const s = await status();
    const o = s?.lastObservation;
    return o && o.at > since && o.nodes.every((n) => n.healthy) && s.inFlight.length === 0 ? o.at : undefined;
  };
  const trials: Trial[] = [];
  try {
    await (await startBootstrap(client, taskQueue, box.spec)).handle.result();
    await upsertHealthSchedule(client, taskQueue, box.spec, HEALTH.interval);
    await until('the first passes find the cluster healthy', () => healthySince(0));

    for (const server of TRIAL_SERVERS) {
      const spec = box.spec.servers.find((s) => s.name === server)!;
      const vmid = spec.vms.worker.vmid;
      const node = spec.proxmox.node;
      const audit = (action: string) => box.audit.entries({ service: `proxmox:${node}`, action, target: String(vmid), outcome: 'ok' });
      const startsBefore = audit('qmstart').length;
      // Start each trial at a random point of the interval, as a real failure would.
      await sleep(Math.floor(Math.random() * parseDuration(HEALTH.interval)));
      const killedAt = Date.now();
      box.proxmox.get(server)!.killVm(vmid);

      let seenUnhealthyAt: number | undefined;
      const key = `${server}/worker`;
      const remediationAt = await until(`the reboot of ${server}/worker`, async () => {
        const s = await status();
        const since = s?.history[key]?.unhealthySince;
        if (since !== undefined && since >= killedAt) seenUnhealthyAt ??= since;
        return audit('qmstart').length > startsBefore ? audit('qmstart').at(-1)!.at : undefined;
      });
      const healthyObservedAt = await until(`healthy again after ${server}/worker`, () => healthySince(remediationAt));
      const healthyAt = Date.now();
      const startTask = box.audit
        .entries({ service: `proxmox:${node}`, action: 'task', target: String(vmid), outcome: 'ok' })
        .find((e) => e.at >= remediationAt && (e.detail as { type?: string } | undefined)?.type === 'qmstart');
      trials.push({ server, vmid, killedAt, seenUnhealthyAt, remediationAt, startedAt: startTask?.at, healthyAt, healthyObservedAt });
      console.log(`${NAME}: ${server}/worker: remediation after ${remediationAt - killedAt} ms, healthy after ${healthyAt - killedAt} ms`);
    }
  } finally {
    await client.schedule.getHandle(workflowIds.health(cluster)).delete().catch(() => undefined);
    // A deleted schedule leaves its running window, whose leg would outlive the worker's client.
    for await (const w of client.workflow.list({ query: `WorkflowType = "healthCheck" AND TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"` })) {
      await client.workflow.getHandle(w.workflowId, w.runId).terminate('benchmark over').catch(() => undefined);
    }
    await client.workflow.getHandle(workflowIds.watcher(cluster)).terminate('benchmark over').catch(() => undefined);
    await stopWorker();
    await box.stop();
    rmSync(box.dir, { recursive: true, force: true });
  }

  const interval = parseDuration(HEALTH.interval);
  const unhealthyAfter = parseDuration(HEALTH.unhealthyAfter);
  const nominalStart = interval + unhealthyAfter;
  const nominalHealthy = nominalStart + PROXMOX.startMs + PROXMOX.bootMs;
  const granularStart = 2 * interval + unhealthyAfter;
  const granularHealthy = granularStart + PROXMOX.startMs + PROXMOX.bootMs + interval;
  const row = (label: string, values: number[], nominal: string, withPasses: string) => {
    const s = summarize(values);
    return [label, s.n, ms(s.p50), ms(s.max), nominal, withPasses];
  };
  const toStart = trials.map((t) => t.remediationAt - t.killedAt);
  const toHealthy = trials.map((t) => t.healthyAt - t.killedAt);
  const rows = [
    row('kill → first pass sees it down', trials.filter((t) => t.seenUnhealthyAt).map((t) => t.seenUnhealthyAt! - t.killedAt), `≤ ${ms(interval)}`, `≤ ${ms(interval)} + a pass`),
    row('kill → remediation start (qmstart)', toStart, `${ms(nominalStart)} (interval + unhealthyAfter)`, `≤ ${ms(granularStart)} (+ interval: decided at a pass)`),
    row('qmstart → VM running (task end)', trials.filter((t) => t.startedAt).map((t) => t.startedAt! - t.remediationAt), ms(PROXMOX.startMs), ms(PROXMOX.startMs)),
    row('kill → healthy (status query)', toHealthy, `${ms(nominalHealthy)} (+ start ${ms(PROXMOX.startMs)} + boot ${ms(PROXMOX.bootMs)})`, `≤ ${ms(granularHealthy)} (+ interval to observe)`),
  ];
  const perTrial = trials.map((t) => [
    `${t.server}/worker (VM ${t.vmid})`,
    t.seenUnhealthyAt ? ms(t.seenUnhealthyAt - t.killedAt) : '—',
    ms(t.remediationAt - t.killedAt),
    t.startedAt ? ms(t.startedAt - t.killedAt) : '—',
    ms(t.healthyObservedAt - t.killedAt),
    ms(t.healthyAt - t.killedAt),
  ]);
  console.log(`\n### ${NAME}: per trial (ms after the kill)\n`);
  console.log(printTable(['trial', 'seen down', 'qmstart', 'VM running', 'healthy pass observed', 'status healthy'], perTrial));
  const met = toStart.length === TRIAL_SERVERS.length && Math.max(...toStart) <= granularStart + 1000 && Math.max(...toHealthy) <= granularHealthy + 1000;
  report({
    name: NAME,
    goal: `remediation starts within interval + unhealthyAfter + one more interval (+1 s of calls): ≤ ${ms(granularStart + 1000)}; cluster healthy within that + start + boot + interval (+1 s): ≤ ${ms(granularHealthy + 1000)}`,
    met,
    settings: { health: HEALTH, proxmoxLatencyMs: PROXMOX, pollIntervalMs: POLL_INTERVAL_MS, statusPollMs: STATUS_POLL_MS, trials: TRIAL_SERVERS.length },
    columns: ['interval', 'n', 'p50', 'max', 'expected (nominal)', 'expected (with pass granularity)'],
    rows,
    data: { trials },
  });
}
