// Running the autok8s command as a user does: bin/autok8s.js in a real process, no TTY.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths';

export interface CliRun {
  code: number;
  /** Set when the run had to be killed at the timeout: it did not exit by itself. */
  signal: string | null;
  stdout: string;
  stderr: string;
}

export function runAutok8s(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin', 'autok8s.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, signal: err?.signal ?? null, stdout, stderr });
    });
  });
}
