// notify_master scripts for keepalived in the lab, and the log each run leaves behind.
//
// keepalived runs `notify_master` inside the LB's network namespace, whose loopback is
// not the one where the test (or bench) process serves Temporal, the OVH simulator and
// the LB health endpoints. So each script first re-enters that process's network
// namespace with `nsenter --net=/proc/<pid>/ns/net`, then runs the real program:
// - `cliNotifyWrapper`: the real autok8s CLI (`node bin/autok8s.js failover ...`);
// - `bareOvhNotifyWrapper`: the baseline users write today, a node script that calls the
//   OVH API directly (sandbox/netns/bare-ovh-move.js).
// In production neither hop exists: the LB VM reaches Temporal (or the OVH API) over the
// network and keepalived runs /usr/local/bin/autok8s directly.
//
// Each run writes one file in `logDir`: `start <unix s.ns> <args>`, the program's output,
// `exit <unix s.ns> <code>`. Tests read run IDs from it, benchmarks read timestamps.
import { chmod, chown, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { shellCommand, shellQuote } from '../../activities/ssh/shell-quote';
import { findProgram } from './lab';

const REPO_ROOT = resolve(__dirname, '..', '..');

/** The bare baseline script, kept as a file users can read: plain CommonJS on the `ovh` package, no autok8s code. */
export const BARE_OVH_MOVE_SCRIPT = join(__dirname, 'bare-ovh-move.js');

export interface NsenterTarget {
  /** A process whose network namespace the program runs in (where the services listen on loopback). */
  netnsPid: number;
  /** Directory for one log file per run (created 0755). */
  logDir: string;
}

export interface CliNotifyOptions extends NsenterTarget {
  temporalAddress: string;
  taskQueue: string;
}

export interface BareOvhNotifyOptions extends NsenterTarget {
  /** JSON file the bare script reads: endpoint, credential files, server → OVH service (see bare-ovh-move.js). */
  configFile: string;
  /** CA the OVH endpoint's certificate chains to, trusted through NODE_EXTRA_CA_CERTS (verification stays on). */
  caFile: string;
}

/** Pure: the wrapper that runs `autok8s <keepalived's args> --output json` in the target's network namespace. */
export function renderCliNotifyWrapper(opts: CliNotifyOptions, tools = defaultTools()): string {
  return renderWrapper(
    opts,
    tools,
    [
      '# In production the LB VM reaches Temporal over the network and keepalived runs /usr/local/bin/autok8s',
      '# itself; here Temporal listens on the loopback of the process that started the lab.',
      `export TEMPORAL_ADDRESS=${shellQuote(opts.temporalAddress)}`,
      `export AUTOK8S_TASK_QUEUE=${shellQuote(opts.taskQueue)}`,
    ],
    // --output json: one JSON document (workflow and run ID) for whoever reads the log.
    `${shellCommand([tools.node, join(REPO_ROOT, 'bin', 'autok8s.js')])} "$@" --output json`,
  );
}

/** Pure: the wrapper that runs the bare OVH script with keepalived's args in the target's network namespace. */
export function renderBareOvhNotifyWrapper(opts: BareOvhNotifyOptions, tools = defaultTools()): string {
  return renderWrapper(
    opts,
    tools,
    [
      '# The script needs only the `ovh` package; NODE_PATH points node at the project\'s copy.',
      `export NODE_PATH=${shellQuote(join(REPO_ROOT, 'node_modules'))}`,
      `export NODE_EXTRA_CA_CERTS=${shellQuote(opts.caFile)}`,
      `export OVH_NOTIFY_CONFIG=${shellQuote(opts.configFile)}`,
    ],
    `${shellCommand([tools.node, BARE_OVH_MOVE_SCRIPT])} "$@"`,
  );
}

interface Tools {
  node: string;
  nsenter: string;
}

function defaultTools(): Tools {
  const nsenter = findProgram('nsenter');
  if (!nsenter) throw new Error('nsenter is not installed (apt-get install -y util-linux)');
  return { node: process.execPath, nsenter };
}

function renderWrapper(opts: NsenterTarget, tools: Tools, env: string[], command: string): string {
  const log = `${shellQuote(opts.logDir)}/"$(date +%s%N)-$$.log"`;
  return [
    '#!/bin/sh',
    '# notify_master for a lab LB (written by sandbox/netns/notify-scripts.ts). keepalived runs it inside',
    '# the LB\'s network namespace; the program runs back in the namespace of process',
    `# ${opts.netnsPid}, where the services it calls listen on loopback.`,
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ...env,
    `log=${log}`,
    'echo "start $(date +%s.%N) $*" > "$log"',
    `${shellCommand([tools.nsenter, `--net=/proc/${opts.netnsPid}/ns/net`, '--'])} ${command} >> "$log" 2>&1`,
    'code=$?',
    'echo "exit $(date +%s.%N) $code" >> "$log"',
    'exit $code',
    '',
  ].join('\n');
}

/**
 * Writes a script keepalived will run: root-owned, 0755, in a root-owned directory that no
 * one else can write (keepalived's enable_script_security refuses anything else).
 */
export async function installRootScript(path: string, text: string): Promise<string> {
  await writeFile(path, text, { mode: 0o755 });
  await chown(path, 0, 0);
  await chmod(path, 0o755);
  return path;
}

export async function installCliNotifyWrapper(path: string, opts: CliNotifyOptions): Promise<string> {
  await mkdir(opts.logDir, { recursive: true, mode: 0o755 });
  return installRootScript(path, renderCliNotifyWrapper(opts));
}

export async function installBareOvhNotifyWrapper(path: string, opts: BareOvhNotifyOptions): Promise<string> {
  await mkdir(opts.logDir, { recursive: true, mode: 0o755 });
  return installRootScript(path, renderBareOvhNotifyWrapper(opts));
}

export interface NotifyRun {
  file: string;
  /** The arguments keepalived (or a test) passed. */
  args: string[];
  /** Unix time in ms when the wrapper started. */
  startedAt: number;
  /** Unix time in ms when the program exited; undefined while it runs. */
  exitedAt?: number;
  code?: number;
  /** What the program printed (stdout and stderr). */
  output: string;
}

/** Pure: one run's log file text → its record (undefined when the file is not a run log yet). */
export function parseNotifyLog(file: string, text: string): NotifyRun | undefined {
  const lines = text.split('\n');
  const start = /^start (\d+(?:\.\d+)?) ?(.*)$/.exec(lines[0] ?? '');
  if (!start) return undefined;
  const run: NotifyRun = { file, args: start[2].split(' ').filter(Boolean), startedAt: secondsToMs(start[1]), output: '' };
  const body = lines.slice(1);
  while (body.length > 0 && body[body.length - 1] === '') body.pop();
  const exit = /^exit (\d+(?:\.\d+)?) (\d+)$/.exec(body[body.length - 1] ?? '');
  if (exit) {
    body.pop();
    run.exitedAt = secondsToMs(exit[1]);
    run.code = Number(exit[2]);
  }
  run.output = body.join('\n');
  return run;
}

/** Every run logged in `logDir`, oldest first. */
export async function readNotifyRuns(logDir: string): Promise<NotifyRun[]> {
  const files = (await readdir(logDir).catch(() => [] as string[])).filter((f) => f.endsWith('.log'));
  const runs: NotifyRun[] = [];
  for (const f of files) {
    const run = parseNotifyLog(join(logDir, f), await readFile(join(logDir, f), 'utf8').catch(() => ''));
    if (run) runs.push(run);
  }
  return runs.sort((a, b) => a.startedAt - b.startedAt);
}

/**
 * Whether a run is still under way: no exit line yet and its wrapper shell still alive. A
 * keepalived that stops ends the notify scripts it started (notify_stop's included), so a
 * wrapper can die before it writes its exit line; the log's name carries the shell's PID.
 */
export function runUnderWay(run: Pick<NotifyRun, 'file' | 'code'>, alive: (pid: number) => boolean = pidAlive): boolean {
  if (run.code !== undefined) return false;
  const pid = /-(\d+)\.log$/.exec(run.file)?.[1];
  return pid === undefined || alive(Number(pid));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The `--name value` option of a run's args. */
export function argOf(run: Pick<NotifyRun, 'args'>, name: string): string | undefined {
  const i = run.args.indexOf(name);
  return i >= 0 ? run.args[i + 1] : undefined;
}

/** What `autok8s failover --output json` printed: the workflow it started or joined. */
export function startedWorkflowOf(run: NotifyRun): { workflowId: string; runId: string } {
  const first = run.output.indexOf('{');
  const last = run.output.lastIndexOf('}');
  if (first < 0 || last < first) throw new Error(`notify run ${run.file} printed no JSON (exit ${run.code ?? 'pending'}): ${run.output.slice(0, 500)}`);
  const parsed = JSON.parse(run.output.slice(first, last + 1)) as { workflowId?: string; runId?: string };
  if (!parsed.workflowId || !parsed.runId) throw new Error(`notify run ${run.file} printed no workflowId/runId: ${run.output.slice(0, 500)}`);
  return { workflowId: parsed.workflowId, runId: parsed.runId };
}

function secondsToMs(s: string): number {
  // date +%s.%N has nine fraction digits; keep the precision a number can carry.
  return Math.round(Number(s) * 1000);
}
