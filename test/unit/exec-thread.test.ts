// runTalosctl starts its process from the exec thread (activities/exec-thread.ts). What a
// caller sees must be what execFile gives: exit statuses, both outputs, our timeout, an
// abort, a missing binary, the caller's environment, and each of many concurrent runs its
// own answer. Real processes (/bin/sh), no talosctl needed.
import { describe, expect, it } from 'vitest';
import { runTalosctl, TalosctlSpawnError } from '../../activities/talos/talosctl';

const sh = '/bin/sh';

describe('runTalosctl from the exec thread', () => {
  it('returns the exit status and both outputs', async () => {
    const r = await runTalosctl(sh, ['-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 10_000 });
    expect(r).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false, args: ['-c', 'echo out; echo err >&2; exit 3'] });
  });

  it('returns exit status 0 as success', async () => {
    expect(await runTalosctl(sh, ['-c', 'printf ok'], { timeoutMs: 10_000 })).toMatchObject({ exitCode: 0, stdout: 'ok', stderr: '' });
  });

  it('kills a run past its timeout and says so', async () => {
    // The shell prints its PID, then becomes `sleep 30` under that same PID.
    const r = await runTalosctl(sh, ['-c', 'echo $$; exec sleep 30'], { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    // Killed, not waited for: by the time the run returns, the sleep is gone.
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });

  it('rejects with an AbortError when the signal fires, and kills the process', async () => {
    const controller = new AbortController();
    const run = runTalosctl(sh, ['-c', 'exec sleep 30'], { timeoutMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    // An already aborted signal starts nothing.
    await expect(runTalosctl(sh, ['-c', 'exit 0'], { timeoutMs: 1000, signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('names a missing binary and what to do', async () => {
    const run = runTalosctl('/nonexistent/talosctl', ['version'], { timeoutMs: 1000 });
    await expect(run).rejects.toBeInstanceOf(TalosctlSpawnError);
    await expect(run).rejects.toThrow(/talosctl not found at "\/nonexistent\/talosctl"; build the pinned talosctl .* with `npm run install-talosctl`/);
  });

  it('passes the environment: the one given, else the caller\'s as it is now', async () => {
    expect((await runTalosctl(sh, ['-c', 'printf "$AK8S_PROBE"'], { timeoutMs: 10_000, env: { AK8S_PROBE: 'given' } })).stdout).toBe('given');
    process.env.AK8S_PROBE = `set-later-${process.pid}`;
    try {
      expect((await runTalosctl(sh, ['-c', 'printf "$AK8S_PROBE"'], { timeoutMs: 10_000 })).stdout).toBe(`set-later-${process.pid}`);
    } finally {
      delete process.env.AK8S_PROBE;
    }
  });

  it('gives each of many concurrent runs its own answer', async () => {
    const runs = await Promise.all(Array.from({ length: 24 }, (_, i) => runTalosctl(sh, ['-c', `printf ${i}; exit ${i % 4}`], { timeoutMs: 10_000 })));
    runs.forEach((r, i) => expect(r).toMatchObject({ stdout: String(i), exitCode: i % 4 }));
  });
});
