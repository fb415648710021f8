// Everything the stand-in takes from, and gives to, the process around it: environment,
// working directory, stdout and stderr. The stand-in's logic runs against this instead of
// `process`, so the same code serves two ways: as its own process (cli.ts, the node bundle)
// and inside the sandbox process, where TalosSimulator answers the Go forwarder's
// `/exec` calls with captured output (a Node start-up per talosctl call was the main cost
// of a health benchmark).
import { homedir, userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { ParsedCommand } from './flags';

export interface StandInIo {
  /** TALOSCONFIG, HOME, AUTOK8S_TALOS_SIM, AUTOK8S_TALOSCTL_VERSION are read from here. */
  env: Record<string, string | undefined>;
  /** Absolute; relative paths on the command line resolve against it. */
  cwd: string;
  out(text: string): void;
  err(text: string): void;
  /** Aborted when the caller is gone (its talosctl process killed): stop, as a killed process would. */
  signal?: AbortSignal;
}

/** A parsed command line with the I/O it runs against. */
export type Invocation = ParsedCommand & { io: StandInIo };

/** A path from the command line, as the caller's process would open it. */
export const pathIn = (io: StandInIo, path: string): string => resolve(io.cwd, path);

/**
 * A file operation on a path from the command line, resolved against the caller's working
 * directory; an error names the path as given (as the caller's own process would report it).
 */
export function inCwd<T>(io: StandInIo, path: string, op: (absolute: string) => T): T {
  const absolute = pathIn(io, path);
  try {
    return op(absolute);
  } catch (err) {
    if (absolute !== path && err instanceof Error) {
      err.message = err.message.split(`'${absolute}'`).join(`'${path}'`);
      if ('path' in err) (err as NodeJS.ErrnoException).path = path;
    }
    throw err;
  }
}

/** The caller's home directory: $HOME, else the account's (as os.homedir does). */
export function homeOf(io: StandInIo): string {
  if (io.env.HOME) return io.env.HOME;
  try {
    return userInfo().homedir;
  } catch {
    return homedir();
  }
}

/** The stand-in's process I/O (cli.ts and the node bundle). */
export function processIo(): StandInIo {
  return {
    env: process.env,
    cwd: process.cwd(),
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
  };
}

/** A pause that ends early when the caller is gone. */
export function sleep(io: StandInIo, ms: number): Promise<void> {
  return new Promise((done) => {
    const signal = io.signal;
    if (signal?.aborted) return done();
    const onAbort = () => {
      clearTimeout(timer);
      done();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      done();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
