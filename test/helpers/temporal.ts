// Test plumbing for workflow tests against the real Temporal dev server started by
// test/global-setup.ts: a client, an in-process worker on a task queue of its own, and a
// worker in a child process that a test can SIGKILL.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import { inject } from 'vitest';
import { createWorker, type CreatedWorker } from '../../worker/worker';
import { findTemporalCli } from '../../client/dev/find-temporal-cli';
import { stopWorker } from '../../client/lifecycle';
import { localTemporalConnection } from '../../client/temporal-connection';
import { ROOT } from './paths';
import type { WorkerPolicy } from '../../core/spec/worker-policy';
import { SANDBOXES_POLICY, SANDBOXES_POLICY_ENV } from './policy';
import { HISTORIES_DIR, refuseExistingHistory, saveRecordedHistory } from './recorded-history';

export { ROOT };


export function temporalAddress(): string {
  return inject('temporalAddress');
}

export async function connect(): Promise<Client> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return new Client({ connection });
}

export function uniqueQueue(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface RunningWorker extends Pick<CreatedWorker, 'worker' | 'deployment' | 'current'> {
  stop(): Promise<void>;
}

/** A worker of the checkout's deployment version (worker/deployment.ts), or of `deployment`. */
export async function startInProcessWorker(taskQueue: string, pollIntervalMs = 100, deployment?: WorkerDeploymentVersion, policy: WorkerPolicy = SANDBOXES_POLICY): Promise<RunningWorker> {
  const { worker, deployment: version, current, close: closeWorker } = await createWorker({
    connection: localTemporalConnection(temporalAddress()),
    taskQueue,
    deps: { policy, pollIntervalMs },
    deployment,
  });
  const running = worker.run();
  return {
    worker,
    deployment: version,
    current,
    async stop() {
      await stopWorker(worker, running);
      await closeWorker();
    },
  };
}

export interface ChildWorker {
  child: ChildProcess;
  output: () => string;
  /** Resolves once the worker logged that it polls. */
  ready: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** The real worker entry point (worker/main.ts) in its own process. */
export function startChildWorker(taskQueue: string, env: Record<string, string> = {}): ChildWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'worker', 'main.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...SANDBOXES_POLICY_ENV, TEMPORAL_ADDRESS: temporalAddress(), AUTOK8S_TASK_QUEUE: taskQueue, AUTOK8S_POLL_INTERVAL_MS: '100', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = new Promise<void>((resolveReady, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('autok8s worker polling')) resolveReady();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before polling:\n${output}`)));
  });
  return {
    child,
    output: () => output,
    ready,
    kill: (signal = 'SIGKILL') =>
      new Promise((resolveKill) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveKill();
        child.once('exit', () => resolveKill());
        child.kill(signal);
      }),
  };
}

/**
 * Saves a finished run's history under test/histories/ when RECORD_HISTORIES=1, so the
 * replay test keeps checking that workflow changes stay compatible with recorded runs.
 * Refuses to overwrite a history already there (see saveRecordedHistory).
 */
export async function maybeRecordHistory(handle: Pick<WorkflowHandle, 'workflowId'>, name: string, dir = HISTORIES_DIR): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  refuseExistingHistory(dir, name);
  // The Temporal CLI's JSON is the format replay documents (and historyFromJSON reads).
  const cli = findTemporalCli({ allowInstall: false }).path;
  const json = execFileSync(cli, ['workflow', 'show', '--address', temporalAddress(), '-w', handle.workflowId, '--output', 'json'], {
    encoding: 'utf8',
  });
  saveRecordedHistory(dir, name, json);
}

export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
