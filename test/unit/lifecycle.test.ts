// Stopping long-running commands: every part is stopped even when one fails, and a failed
// stop is an exit status, not an unhandled rejection. The signal cases run in a real child
// process, which gets a real SIGINT.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stopAll } from '../../client/lifecycle';
import { ROOT } from '../helpers/paths';

describe('stopAll', () => {
  it('stops every part in order, even after one fails, and names the ones that failed', async () => {
    const stopped: string[] = [];
    const run = stopAll([
      ['the worker', () => void stopped.push('worker')],
      ['the sandbox', () => Promise.reject(new Error('port 8443 still in use'))],
      ['the dev server', async () => void stopped.push('dev server')],
      ['the codec server', () => {
        throw new Error('not running');
      }],
    ]);
    await expect(run).rejects.toThrow(/the sandbox: port 8443 still in use\n\s+the codec server: not running/);
    expect(stopped).toEqual(['worker', 'dev server']);
  });

  it('resolves when every part stops', async () => {
    const stopped: string[] = [];
    await stopAll([['a', () => void stopped.push('a')], ['b', async () => void stopped.push('b')]]);
    expect(stopped).toEqual(['a', 'b']);
  });
});

/** Runs a script that waits in untilSignal; `signal` is sent once it says it is waiting. */
function runUntilSignal(body: string, signal?: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `const { untilSignal } = require(${JSON.stringify(join(ROOT, 'client', 'lifecycle.ts'))});\n${body}`;
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let signalled = false;
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (signal && !signalled && stdout.includes('waiting')) {
      signalled = true; // once: a second signal during the cleanup forces the exit, by design
      child.kill(signal);
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('exit', (code, sig) => {
      if (sig) stderr += `killed by ${sig}`;
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('untilSignal', () => {
  it('runs the cleanup once on SIGINT and exits 0 when it succeeds', async () => {
    const r = await runUntilSignal(`untilSignal(async () => console.log('cleaned')).then(() => console.log('done')); console.log('waiting');`, 'SIGINT');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/cleaned/g)).toHaveLength(1);
    expect(r.stdout).toContain('done');
  }, 40_000);

  it('exits 1 with the reason when the cleanup fails, instead of an unhandled rejection', async () => {
    const r = await runUntilSignal(`untilSignal(async () => { throw new Error('stopping did not go cleanly: the sandbox: busy'); }); console.log('waiting');`, 'SIGTERM');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('autok8s: stopping did not go cleanly: the sandbox: busy');
    expect(r.stderr).not.toMatch(/Unhandled|at .*lifecycle/);
  }, 40_000);

  it('stops everything, with exit 1, when a part fails on its own', async () => {
    const r = await runUntilSignal(
      `untilSignal(async () => console.log('cleaned'), new Promise((_, reject) => setTimeout(() => reject(new Error('the worker stopped: connection refused')), 100))); console.log('waiting');`,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('autok8s: the worker stopped: connection refused; stopping everything');
    expect(r.stdout).toContain('cleaned');
  }, 40_000);
});
