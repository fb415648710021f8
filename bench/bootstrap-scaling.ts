// Bootstrap scaling: wall time of bootstrapCluster for 3, 6, 12 and 24 servers beside its
// critical path (bench/critical-path.ts) under FIXED simulated provider latencies of 1–3 s.
// Those latencies are set explicitly and are large against one provider call (a few ms of
// HTTPS on loopback) so that, if autok8s really runs servers and VMs in parallel, the wall
// time stays near the critical path whatever the size. They are NOT large against one run of
// the sandbox's talosctl (a process per call: the real talosctl, or the fallback client through
// the Go forwarder or a Node bundle, AUTOK8S_SANDBOX_TALOSCTL=real|fallback): that cost is
// shown in its own columns. Each size gets a fresh sandbox, a
// fresh task queue and one in-process worker (createWorker, 500 concurrent activities).
//
// What else costs time here is measured, not hidden: every talosctl call of the sandbox is a
// fresh process, counted through a wrapper and timed as the CPU of this
// process's reaped children; this process's own CPU (worker + simulators) and the Temporal
// dev server's; the machine's busy share (2 cores shared with other work). Per phase, the
// workflow's own step timings are set beside the critical path of that phase. After each
// timed size, the same size runs once more with every latency at 0: the work a bootstrap of
// that size is on this machine (Temporal, provider calls, simulators, talosctl runs, SSH),
// beside how much of the wall time went past the critical path.
//
// From the sandbox's audit log, when the first and the last VM create reached the Proxmox
// simulators: the start-up before the first wait begins, and how far apart the servers
// begin (the critical path has them all begin at once; the last one is on the path).
//
// Last, the largest size once more with every latency tripled (critical path 33 s): if the
// excess over the critical path stays the same, it is a fixed cost of that size, not one
// that grows with the waits.
//
// Budget: about 4 minutes (the critical path is 11 s per size, the no-latency runs 2–7 s,
// the scale check 33 s); each bootstrap is bounded at 2 minutes and terminated past that,
// so the entry never runs past about 19 minutes.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startBootstrap } from '../client/start';
import type { ClusterSpec } from '../core/spec/schema';
import { startSandbox, type Sandbox, type SandboxOptions } from '../sandbox';
import type { BootstrapClusterResult } from '../workflows/bootstrap-cluster';
import { criticalPathMs, criticalPathPhases, type BootstrapShape, type PhaseBound, type SimulatedLatencies } from './critical-path';
import { ms, printTable, report } from './report';
import { startBenchWorker } from './bench-worker';
import { resultName, talosctlLabel } from './talosctl-variant';

const NAME = 'bootstrap-scaling';
const SIZES = [3, 6, 12, 24];
const BOOTSTRAP_BOUND_MS = 2 * 60_000;
const POLL_INTERVAL_MS = 200;
const MAX_ACTIVITIES = 500;
/** The largest size runs once more with every latency multiplied by this (see the scale check). */
const SCALE_CHECK = 3;
const CORES = 2;

/** Fixed latencies, in the proportions of the real services (a Talos install is the longest wait). */
export const LATENCY: SimulatedLatencies = {
  vrackTaskMs: 2000,
  moveMs: 2000,
  createMs: 2000,
  startMs: 1000,
  bootMs: 3000,
  installMs: 3000,
  etcdJoinMs: 1000,
  kubeletReadyMs: 2000,
};


// ---- CPU accounting (Linux /proc), shared with the other benchmark entries ----------------

/** CPU seconds: this process, its reaped children (talosctl runs), its live descendants (the dev server), the machine. */
export interface CpuSnapshot {
  at: number;
  selfS: number;
  reapedChildrenS: number;
  descendants: Map<string, number>;
  machineBusyS: number;
  machineTotalS: number;
}

const CLK_TCK = 100; // USER_HZ on Linux: /proc times are in 1/100 s.

function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may hold spaces: split after the last ')'. rest[0] is field 3.
    return text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/);
  } catch {
    return undefined;
  }
}

function descendantsOf(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f) parentOf.set(Number(entry), Number(f[1]));
  }
  const found: number[] = [];
  let frontier = [root];
  for (let depth = 0; depth < 8 && frontier.length > 0; depth++) {
    frontier = [...parentOf].filter(([, ppid]) => frontier.includes(ppid)).map(([pid]) => pid);
    found.push(...frontier);
  }
  return found;
}

export function cpuSnapshot(): CpuSnapshot {
  const self = statFields('self')!;
  const descendants = new Map<string, number>();
  for (const pid of descendantsOf(process.pid)) {
    const f = statFields(pid);
    // Keyed by pid and start time, so a reused pid is not taken for the same process.
    if (f) descendants.set(`${pid}@${f[19]}`, (Number(f[11]) + Number(f[12])) / CLK_TCK);
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = cpu[3] + cpu[4];
  const usage = process.cpuUsage();
  return {
    at: Date.now(),
    selfS: (usage.user + usage.system) / 1e6,
    reapedChildrenS: (Number(self[13]) + Number(self[14])) / CLK_TCK,
    descendants,
    machineBusyS: (total - idle) / CLK_TCK,
    machineTotalS: total / CLK_TCK,
  };
}

export interface CpuUse {
  wallS: number;
  /** This process: the worker, the sandbox's simulators, the benchmark. */
  selfS: number;
  /** Children that ended in between: the talosctl stand-in runs. */
  reapedChildrenS: number;
  /** Long-lived descendants alive at both ends: the Temporal dev server. */
  devServerS: number;
  /** Share of the machine's CPU time that was busy (all processes, other engineers' too). */
  machineBusy: number;
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  let devServerS = 0;
  for (const [key, s] of b.descendants) {
    const before = a.descendants.get(key);
    if (before !== undefined) devServerS += s - before;
  }
  return {
    wallS: (b.at - a.at) / 1000,
    selfS: b.selfS - a.selfS,
    reapedChildrenS: b.reapedChildrenS - a.reapedChildrenS,
    devServerS,
    machineBusy: (b.machineBusyS - a.machineBusyS) / Math.max(1e-9, b.machineTotalS - a.machineTotalS),
  };
}

export const cpuS = (s: number) => `${s.toFixed(1)} s`;
export const pct = (v: number) => `${Math.round(v * 100)}%`;

/**
 * A talosctl that counts its runs: a shell wrapper that appends the command words to a file
 * (printf and >> are shell built-ins: no extra process) and execs the sandbox's stand-in.
 */
export function countingTalosctl(standIn: string, dir: string): { path: string; calls: () => string[] } {
  const log = join(dir, 'talosctl-calls.log');
  writeFileSync(log, '');
  const path = join(dir, 'talosctl-counting');
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(path, `#!/bin/sh\nprintf '%s %s\\n' "$1" "$2" >> ${quote(log)}\nexec ${quote(standIn)} "$@"\n`, { mode: 0o755 });
  return { path, calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

// ---- One size ---------------------------------------------------------------------------

interface SizeResult {
  servers: number;
  controlPlanes: number;
  criticalMs: number;
  phases: PhaseBound[];
  wallMs: number;
  ok: boolean;
  error?: string;
  steps: { name: string; durationMs?: number }[];
  /** Slowest server's provisionServer sub-steps (vrack-join, vrack-wait, <role>: ensure-vm, ...). */
  provisionSlowest: Record<string, number>;
  talosctlCalls: number;
  /** Which talosctl ran (bench/talosctl-variant.ts). */
  talosctl: string;
  talosctlKind: 'real' | 'fallback';
  talosctlByCommand: Record<string, number>;
  cpu: CpuUse;
  loadavgAfter: number[];
  /** From the sandbox's audit log, ms after the start: the first and the last VM create request that reached a Proxmox simulator. */
  vmCreatesMs: { first: number; last: number } | null;
}

function shapeOf(spec: ClusterSpec, routedTo: (ip: string) => string | null): BootstrapShape {
  return {
    servers: spec.servers.length,
    controlPlanes: spec.servers.filter((s) => s.vms.controlPlane).length,
    workers: spec.servers.filter((s) => s.vms.worker).length,
    vrackJoins: spec.servers.length, // a fresh sandbox's vRack has no member yet
    // The IP stays where it is when it is routed to one of the cluster's servers (its LB is healthy after the push).
    failoverMoves: spec.failoverIps.filter((ip) => !spec.servers.some((s) => s.ovhService === routedTo(ip))).length,
    failoverIps: spec.failoverIps.length,
  };
}

async function withBound<T>(what: string, boundMs: number, work: Promise<T>, onTimeout: () => Promise<void>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout().finally(() => reject(new Error(`${what} did not finish within ${Math.round(boundMs / 1000)} s`)));
    }, boundMs);
  });
  try {
    return await Promise.race([work, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** A sandbox in a fresh temporary directory (the name is kept for the other entries that use it). */
export async function startSandboxRetrying(prefix: string, options: Omit<SandboxOptions, 'dir'>): Promise<Sandbox> {
  return startSandbox({ ...options, dir: mkdtempSync(join(tmpdir(), prefix)) });
}

/** Every latency times `factor`. */
function scaled(l: SimulatedLatencies, factor: number): SimulatedLatencies {
  return Object.fromEntries(Object.entries(l).map(([k, v]) => [k, v * factor])) as unknown as SimulatedLatencies;
}

/** The same bootstrap with every simulated latency at 0: the work itself, nothing to wait for. */
const NO_LATENCY = scaled(LATENCY, 0);

async function bootstrapOnce(temporalAddress: string, servers: number, latency: SimulatedLatencies = LATENCY, label = ''): Promise<SizeResult> {
  const suffix = label ? `-${label}` : '';
  const box = await startSandboxRetrying(`ak8s-bench-scale-${servers}-`, {
    clusterName: `scale-${servers}${suffix}`,
    servers,
    latency: {
      ovh: { vrackTaskMs: latency.vrackTaskMs, moveMs: latency.moveMs },
      proxmox: { createMs: latency.createMs, startMs: latency.startMs, bootMs: latency.bootMs },
      talos: { installMs: latency.installMs, etcdJoinMs: latency.etcdJoinMs, kubeletReadyMs: latency.kubeletReadyMs },
    },
  });
  const taskQueue = `bench-scale-${servers}${suffix}-${process.pid}`;
  const { client, stop: stopWorker } = await startBenchWorker({ address: temporalAddress, taskQueue, pollIntervalMs: POLL_INTERVAL_MS, maxConcurrentActivityTaskExecutions: MAX_ACTIVITIES });
  try {
    const counter = countingTalosctl(box.spec.talos.talosctl!, box.dir);
    const spec: ClusterSpec = { ...box.spec, talos: { ...box.spec.talos, talosctl: counter.path } };
    const shape = shapeOf(spec, (ip) => box.ovh.routing(ip));
    const phases = criticalPathPhases(latency, shape, spec.failoverIps);
    // Warm-up outside the timing: tsx's compile cache for the stand-in.
    await promisify(execFile)(box.spec.talos.talosctl!, ['version', '--client']);

    const before = cpuSnapshot();
    const started = Date.now();
    const { handle } = await startBootstrap(client, taskQueue, spec);
    let result: BootstrapClusterResult | undefined;
    let error: string | undefined;
    try {
      result = await withBound(`bootstrap of ${servers} servers`, BOOTSTRAP_BOUND_MS, handle.result(), async () => void (await handle.terminate('bench bound exceeded').catch(() => undefined)));
    } catch (err) {
      error = (err as Error).message;
    }
    const wallMs = Date.now() - started;
    const cpu = cpuBetween(before, cpuSnapshot());
    const calls = counter.calls();
    const byCommand: Record<string, number> = {};
    for (const c of calls) byCommand[c] = (byCommand[c] ?? 0) + 1;
    // When the VM creates reached the simulators: how long the start took, and how far apart
    // the servers began (the critical path assumes every server begins at once).
    const creates = box.audit.entries({ servicePrefix: 'proxmox:', action: 'qmcreate', outcome: 'ok' }).map((e) => e.at - started);
    const vmCreatesMs = creates.length > 0 ? { first: Math.min(...creates), last: Math.max(...creates) } : null;
    const provisionSlowest: Record<string, number> = {};
    for (const s of result?.servers ?? []) {
      for (const step of s.steps) provisionSlowest[step.name] = Math.max(provisionSlowest[step.name] ?? 0, step.durationMs ?? 0);
    }
    return {
      servers,
      controlPlanes: shape.controlPlanes,
      criticalMs: criticalPathMs(latency, shape),
      phases,
      wallMs,
      ok: result !== undefined,
      error,
      steps: (result?.steps ?? []).map((s) => ({ name: s.name, durationMs: s.durationMs })),
      provisionSlowest,
      talosctlCalls: calls.length,
      talosctl: talosctlLabel(box),
      talosctlKind: box.talosctl.kind,
      talosctlByCommand: byCommand,
      cpu,
      loadavgAfter: loadavg().map((l) => Math.round(l * 100) / 100),
      vmCreatesMs,
    };
  } finally {
    await stopWorker();
    await box.stop();
    rmSync(box.dir, { recursive: true, force: true });
  }
}

// ---- The entry --------------------------------------------------------------------------

/** Where each phase's time went: the workflow's step durations beside the phase's critical path. */
function phaseTable(results: SizeResult[]): { columns: string[]; rows: (string | number)[][] } {
  const columns = ['phase', 'critical', ...results.map((r) => `${r.servers} servers`)];
  const names = results[0].phases.map((p) => p.phase);
  const rows: (string | number)[][] = names.map((name) => [
    name,
    ms(results[0].phases.find((p) => p.phase === name)!.ms),
    ...results.map((r) => {
      const step = r.steps.find((s) => s.name === name);
      return step?.durationMs !== undefined ? ms(step.durationMs) : '—';
    }),
  ]);
  // Inside provision-servers: the slowest server's child steps.
  const sub = [...new Set(results.flatMap((r) => Object.keys(r.provisionSlowest)))];
  const critSub: Record<string, number> = { 'vrack-join': 0, 'vrack-wait': LATENCY.vrackTaskMs };
  for (const role of ['lb', 'controlPlane', 'worker']) {
    Object.assign(critSub, {
      [`${role}: ensure-vm`]: LATENCY.createMs,
      [`${role}: boot-vm`]: LATENCY.startMs + LATENCY.bootMs,
    });
  }
  for (const name of sub) {
    rows.push([`  provision: ${name} (slowest server)`, critSub[name] !== undefined ? ms(critSub[name]) : '—', ...results.map((r) => (r.provisionSlowest[name] !== undefined ? ms(r.provisionSlowest[name]) : '—'))]);
  }
  rows.push([
    'between steps (wall − Σ steps)',
    ms(0),
    ...results.map((r) => ms(r.wallMs - r.steps.reduce((sum, s) => sum + (s.durationMs ?? 0), 0))),
  ]);
  rows.push(['total (wall)', ms(results[0].criticalMs), ...results.map((r) => ms(r.wallMs))]);
  return { columns, rows };
}

export async function bootstrapScaling(temporalAddress: string, sizes: readonly number[] = SIZES): Promise<void> {
  const results: SizeResult[] = [];
  // The same size with no latency at all, after the timed run: how much work a bootstrap of
  // that size is on this machine. What of it does not fit into the waits shows as wall − critical.
  const unhurried: SizeResult[] = [];
  for (const servers of sizes) {
    console.log(`${NAME}: bootstrapping ${servers} servers ...`);
    const r = await bootstrapOnce(temporalAddress, servers);
    console.log(`${NAME}: ${servers} servers: ${r.ok ? `${r.wallMs} ms` : `FAILED: ${r.error}`}`);
    results.push(r);
    const z = await bootstrapOnce(temporalAddress, servers, NO_LATENCY, 'zero');
    console.log(`${NAME}: ${servers} servers, no latency: ${z.ok ? `${z.wallMs} ms` : `FAILED: ${z.error}`}`);
    unhurried.push(z);
  }
  const base = results.find((r) => r.servers === sizes[0]);
  const largest = results[results.length - 1];
  // The excess over the critical path is work that does not fit into the waits. Whether it is
  // a fixed cost (so the ratio falls as real, longer latencies grow) or grows with the
  // latencies is told by the largest size once more with every latency tripled.
  console.log(`${NAME}: bootstrapping ${largest.servers} servers with every latency ×${SCALE_CHECK} ...`);
  const slower = await bootstrapOnce(temporalAddress, largest.servers, scaled(LATENCY, SCALE_CHECK), `x${SCALE_CHECK}`);
  console.log(`${NAME}: ${largest.servers} servers ×${SCALE_CHECK}: ${slower.ok ? `${slower.wallMs} ms against ${slower.criticalMs} ms` : `FAILED: ${slower.error}`}`);
  const rows = results.map((r, i) => [
    r.servers,
    r.controlPlanes,
    ms(r.criticalMs),
    r.ok ? ms(r.wallMs) : `failed after ${ms(r.wallMs)}`,
    (r.wallMs / r.criticalMs).toFixed(2),
    base ? (r.wallMs / base.wallMs).toFixed(2) : '—',
    unhurried[i].ok ? ms(unhurried[i].wallMs) : 'failed',
    ms(r.wallMs - r.criticalMs),
    r.vmCreatesMs ? `${ms(r.vmCreatesMs.first)} – ${ms(r.vmCreatesMs.last)}` : '—',
    r.talosctlCalls,
    cpuS(r.cpu.reapedChildrenS),
    r.talosctlCalls > 0 ? `${Math.round((r.cpu.reapedChildrenS / r.talosctlCalls) * 1000)} ms` : '—',
    cpuS(r.cpu.selfS),
    cpuS(r.cpu.devServerS),
    `${pct((r.cpu.selfS + r.cpu.reapedChildrenS + r.cpu.devServerS) / (CORES * r.cpu.wallS))} / ${pct(r.cpu.machineBusy)}`,
  ]);
  const phases = phaseTable(results);
  console.log(`\n### ${NAME}: where the time goes (step durations; critical path per phase)\n`);
  console.log(printTable(phases.columns, phases.rows));

  const within10 = largest.ok && largest.wallMs <= 1.1 * largest.criticalMs;
  const flat = base !== undefined && largest.ok && largest.wallMs / base.wallMs <= 1.25;
  report({
    name: resultName(NAME, { talosctl: { kind: results[0]?.talosctlKind ?? 'real', path: '' } }),
    goal:
      `wall within 10% of the critical path at ${largest.servers} servers (${(largest.wallMs / largest.criticalMs).toFixed(2)}×: ${within10 ? 'met' : 'NOT met'}), and wall(${largest.servers})/wall(${sizes[0]}) ≤ 1.25 (${base ? (largest.wallMs / base.wallMs).toFixed(2) : '—'}: ${flat ? 'met' : 'NOT met'}). ` +
      `Scale check, not the goal: with every latency ×${SCALE_CHECK}, ${largest.servers} servers take ${slower.ok ? `${(slower.wallMs / slower.criticalMs).toFixed(2)}× the critical path (excess ${ms(slower.wallMs - slower.criticalMs)}, against ${ms(largest.wallMs - largest.criticalMs)} at ×1)` : 'FAILED'}`,
    met: within10 && flat && results.every((r) => r.ok),
    settings: { sizes, latencyMs: LATENCY, scaleCheck: SCALE_CHECK, pollIntervalMs: POLL_INTERVAL_MS, maxConcurrentActivityTaskExecutions: MAX_ACTIVITIES, boundPerBootstrapMs: BOOTSTRAP_BOUND_MS, cores: CORES, talosctl: results[0]?.talosctl },
    columns: ['servers', 'CPs', 'critical path', 'wall', 'wall/critical', 'wall/wall(3)', 'wall with no latency', 'wall − critical', 'VM creates sent (first – last)', 'talosctl runs', 'talosctl CPU', 'CPU per run', 'worker+sims CPU', 'temporal CPU', 'CPU ours / machine busy'],
    rows,
    data: { results, scaleCheck: { factor: SCALE_CHECK, servers: slower.servers, criticalMs: slower.criticalMs, wallMs: slower.wallMs, ok: slower.ok, steps: slower.steps, cpu: slower.cpu }, noLatency: unhurried.map((z) => ({ servers: z.servers, wallMs: z.wallMs, ok: z.ok, steps: z.steps, cpu: z.cpu })), phaseTable: phases },
  });
}
