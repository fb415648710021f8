// Runs a program (talosctl) from a thread of its own instead of the worker's event loop.
//
// Why: Node starts a child with fork + exec and waits, on the calling thread, until the
// child has exec'd (libuv reads the exec result from a pipe). From a worker process of a
// few hundred MB that wait is ~3 ms on an idle machine and ~10 ms on a busy one: page tables
// to copy, then the child has to be scheduled. Measured in a 24-server bootstrap: 119
// talosctl runs held the event loop for 1.1 s. Meanwhile no activity of that worker sends a
// request, reads an answer or heartbeats. On a thread of its own only that thread waits.
//
// The thread runs `child_process.execFile` with the same options and reports what its
// callback got, so a caller classifies the outcome exactly as it would execFile's. Node's
// own API, not a pool package: one thread is enough (a spawn is a few ms) and the code is
// the message passing below.
import { SHARE_ENV, Worker } from 'node:worker_threads';

export interface ExecOptions {
  timeout: number;
  killSignal?: NodeJS.Signals;
  maxBuffer?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kills the child (killSignal) and rejects with an AbortError, as execFile does. */
  signal?: AbortSignal;
}

/** What execFile's callback gets as its error, as plain data (it crosses a thread). */
export interface ExecError {
  name: string;
  message: string;
  /** An exit status (number) or a spawn error code (ENOENT, EACCES, ...). */
  code?: number | string;
  killed?: boolean;
  signal?: string | null;
}

export interface ExecOutcome {
  error?: ExecError;
  stdout: string;
  stderr: string;
}

// Plain CommonJS run with `eval`: the thread needs no loader (the worker may run under tsx,
// from a bundle, or from compiled JS).
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { execFile } = require('node:child_process');
const running = new Map();
parentPort.on('message', (m) => {
  if (m.abort) { running.get(m.id)?.abort(); return; }
  const controller = new AbortController();
  running.set(m.id, controller);
  try {
    execFile(m.file, m.args, { ...m.options, signal: controller.signal, encoding: 'utf8', windowsHide: true }, (error, stdout, stderr) => {
      running.delete(m.id);
      parentPort.postMessage({
        id: m.id,
        stdout: String(stdout ?? ''),
        stderr: String(stderr ?? ''),
        error: error ? { name: error.name, message: error.message, code: error.code, killed: error.killed, signal: error.signal } : undefined,
      });
    });
  } catch (error) {
    running.delete(m.id);
    parentPort.postMessage({ id: m.id, stdout: '', stderr: '', error: { name: error.name, message: error.message, code: error.code } });
  }
});
`;

interface Pending {
  resolve(outcome: ExecOutcome): void;
  reject(err: Error): void;
}

let thread: Worker | undefined;
const pending = new Map<number, Pending>();
let nextId = 1;

function abortError(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}

function execThread(): Worker {
  if (thread) return thread;
  const t = new Worker(THREAD_SOURCE, { eval: true, name: 'autok8s-exec', env: SHARE_ENV }); // the caller's environment, as it is now
  t.unref(); // referenced only while a run is pending (below): it never keeps a process alive
  t.on('message', (m: ExecOutcome & { id: number }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) t.unref();
    p.resolve({ error: m.error, stdout: m.stdout, stderr: m.stderr });
  });
  const lost = (why: string) => {
    if (thread === t) thread = undefined;
    const waiting = [...pending.values()];
    pending.clear();
    for (const p of waiting) p.reject(new Error(`the exec thread stopped (${why}); the program's outcome is unknown`));
  };
  t.on('error', (err) => lost(err.message));
  t.on('exit', (code) => lost(`exit ${code}`));
  thread = t;
  return t;
}

/**
 * execFile(file, args, options) run from the exec thread. Resolves with what execFile's
 * callback got, for every exit status; rejects only with an AbortError (options.signal) or
 * when the thread itself is lost.
 */
export function execFileOffThread(file: string, args: readonly string[], options: ExecOptions): Promise<ExecOutcome> {
  const { signal, ...rest } = options;
  if (signal?.aborted) return Promise.reject(abortError());
  const t = execThread();
  const id = nextId++;
  return new Promise<ExecOutcome>((resolve, reject) => {
    const onAbort = () => t.postMessage({ id, abort: true });
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    pending.set(id, {
      resolve: (outcome) => {
        done();
        if (outcome.error?.name === 'AbortError') reject(abortError());
        else resolve(outcome);
      },
      reject: (err) => {
        done();
        reject(err);
      },
    });
    t.ref();
    t.postMessage({ id, file, args: [...args], options: rest });
  });
}
