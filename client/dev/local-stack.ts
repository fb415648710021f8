// The whole embedded default, as `autok8s dev` and `autok8s demo` run it: the directory
// lock, the local Temporal (dev server, keyring, codec server), the sandbox and a worker
// that shares the codec. Assembled in one place so both commands start and stop the same
// parts in the same order, and so a part that fails to start stops the ones already up
// (a dev server left running would also keep the CLI from exiting).
import { rmSync } from 'node:fs';
import type { Worker } from '@temporalio/worker';
import type { Sandbox, SandboxOptions } from '../../sandbox';
import { stopAll, stopWorker, type StopStep } from '../lifecycle';
import { loadSource } from '../project';
import { localTemporalConnection } from '../temporal-connection';
import { lockDir } from './dir-lock';
import { startLocalTemporal, type LocalTemporal } from './local-temporal';

export interface LocalStackOptions {
  dir: string;
  /** The command, named when a second one is refused on the same directory. */
  what: 'dev' | 'demo';
  /** Clear the directory first (the demo tells a fresh story every time). */
  fresh?: boolean;
  port: number;
  uiPort: number;
  sandbox: Omit<SandboxOptions, 'dir'>;
  pollIntervalMs?: number;
  log: (line: string) => void;
}

export interface LocalStack extends Pick<LocalTemporal, 'server' | 'codec'> {
  box: Sandbox;
  worker: Worker;
  /** Which talosctl the worker runs for the sandbox, and whether the real one is built (client/dev/talosctl-report.ts). */
  talosctl: string[];
  /** The worker's `run()`: rejects if the worker fails. */
  running: Promise<void>;
  /** Stops `first` (the caller's own parts), then the worker, sandbox, Temporal and the lock, each whatever the others did. */
  stop(first?: readonly StopStep[]): Promise<void>;
}

export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  const lock = lockDir(o.dir, o.what); // before anything: a second one here would share the database
  if (o.fresh) rmSync(o.dir, { recursive: true, force: true });
  // Loaded on use: the sandbox and the worker pull in the simulators, the bundler and the native bridge.
  const { startSandbox } = loadSource<typeof import('../../sandbox')>('sandbox');
  const { createWorker } = loadSource<typeof import('../../worker/worker')>('worker/worker');
  const { talosctlReport } = loadSource<typeof import('./talosctl-report')>('client/dev/talosctl-report');
  const { wireKeepalivedNotify } = loadSource<typeof import('./keepalived-wiring')>('client/dev/keepalived-wiring');

  // What is up so far, in the order it is to be stopped.
  const up: StopStep[] = [[`the lock ${lock.file}`, lock.release]];
  try {
    const { server, codec, stop: stopTemporal } = await startLocalTemporal({ dir: o.dir, port: o.port, uiPort: o.uiPort, log: o.log });
    up.unshift(['the Temporal dev server and codec server', stopTemporal]);
    // keepalived on the LB hosts starts when bootstrap pushes keepalived.conf (client/dev/keepalived-wiring.ts).
    const box = await startSandbox({ keepalivedStarted: false, ...o.sandbox, dir: `${o.dir}/sandbox` });
    up.unshift(['the sandbox', () => box.stop()]);
    const { worker, close: closeWorker } = await createWorker({
      connection: localTemporalConnection(server.address),
      dataConverter: codec.dataConverter,
      deps: { policy: box.workerPolicy, pollIntervalMs: o.pollIntervalMs },
      // The stack's worker is its deployment's only one: a build from a newer checkout takes over new runs at once.
      currentVersion: 'always',
    });
    up.unshift(["the worker's connections", closeWorker]);
    const running = worker.run();
    up.unshift(['the worker', () => stopWorker(worker, running)]);
    const closeNotify = await wireKeepalivedNotify(box, server.address, codec.dataConverter, o.log);
    up.unshift(["keepalived's notify client", closeNotify]);
    const talosctl = talosctlReport(box.spec, { policy: box.workerPolicy }, box.talosctl.kind);
    return { server, codec, box, worker, talosctl, running, stop: (first = []) => stopAll([...first, ...up]) };
  } catch (err) {
    // The failure to start is the error to report; one to stop what was up is only added to it.
    await stopAll(up).catch((stopErr: Error) => {
      if (err instanceof Error) err.message += `\n${stopErr.message}`;
    });
    throw err;
  }
}
