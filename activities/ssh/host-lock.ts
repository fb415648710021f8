// Taking, refreshing and releasing the push lock of an LB host over an SSH session. What
// the lock is and when it may be taken over is decided in core/push/host-lock.ts; this
// runs the commands (`ln -s`, `readlink`, `stat -c %Y`, `date +%s`, `touch -h`, `rm -f`),
// which behave the same on a Debian LB VM and on the in-process sandbox host.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ApplicationFailure } from '@temporalio/common';
import { lockOwnerId, lockVerdict, lockWorker, workerLockId, type HostLockOptions, type LockLook } from '../../core/push/host-lock';
import type { SshSession } from './session';
import { sleep } from '../activity-context';

/** This worker process, as lock identities name it. */
const THIS_WORKER = workerLockId({ host: hostname(), pid: process.pid, token: randomBytes(4).toString('hex') });
/** Identities of this process's pushes that have not ended yet. */
const running = new Set<string>();

/** A holder that this process started and that has ended is known dead (see lockVerdict). */
const endedHere = (holder: string | undefined) => holder !== undefined && lockWorker(holder) === THIS_WORKER && !running.has(holder);

export interface AcquireHooks {
  signal?: AbortSignal;
  /** Called on every round of waiting for a live holder (the activity heartbeats with it). */
  onWait?: (wait: { holder: string; ageMs?: number; waitedMs: number }) => void;
}

export class HostLock {
  private constructor(
    private readonly session: SshSession,
    readonly me: string,
    readonly opts: HostLockOptions,
    /** The holder of a stale lock this one replaced, if any. */
    readonly tookOverFrom: string | undefined,
    readonly waitedMs: number,
  ) {}

  /** A fresh identity for one push; `attempt` says which activity attempt it is. */
  static identity(attempt?: string): string {
    return lockOwnerId({ worker: THIS_WORKER, token: randomBytes(6).toString('hex'), attempt });
  }

  /** Waits (bounded, cancellable) until the lock is ours; takes over a stale one. */
  static async acquire(session: SshSession, me: string, opts: HostLockOptions, hooks: AcquireHooks = {}): Promise<HostLock> {
    running.add(me);
    try {
      return await HostLock.take(session, me, opts, hooks);
    } catch (err) {
      running.delete(me);
      throw err;
    }
  }

  private static async take(session: SshSession, me: string, opts: HostLockOptions, hooks: AcquireHooks): Promise<HostLock> {
    const started = Date.now();
    let tookOverFrom: string | undefined;
    for (;;) {
      throwIfAborted(hooks.signal);
      const made = await session.run(['ln', '-s', '-T', '--', me, opts.path]);
      if (made.code === 0) return new HostLock(session, me, opts, tookOverFrom, Date.now() - started);
      if (!/File exists/.test(made.stderr)) {
        throw ApplicationFailure.nonRetryable(
          `cannot take the push lock ${opts.path} on ${session.target.host}: ${made.stderr.trim() || `exit ${made.code}`}; the SSH user ${session.target.user} must be able to create files in its directory`,
          'LbLockUnavailable',
        );
      }
      const look = await lookAt(session, opts.path);
      const verdict = lockVerdict(look, me, opts.staleAfterMs, endedHere(look.holder));
      if (verdict === 'mine') return new HostLock(session, me, opts, tookOverFrom, Date.now() - started);
      if (verdict === 'free') continue; // released between our two commands
      if (verdict === 'stale') {
        if (await breakStale(session, me, opts, look.holder!, hooks.signal)) tookOverFrom = look.holder;
        continue;
      }
      const waitedMs = Date.now() - started;
      hooks.onWait?.({ holder: look.holder!, ageMs: look.ageMs, waitedMs });
      if (waitedMs >= opts.waitMs) {
        throw ApplicationFailure.retryable(
          `${session.target.host} is busy: another push holds ${opts.path} (${look.holder}, refreshed ${seconds(look.ageMs)} ago); waited ${seconds(waitedMs)}. ` +
            `A holder that stops refreshing it is taken over after ${seconds(opts.staleAfterMs)}`,
          'LbHostBusy',
        );
      }
      await sleep(opts.pollMs, hooks.signal);
    }
  }

  /** Marks the lock as alive (its mtime). Failures are left to the next command to notice. */
  async refresh(): Promise<void> {
    await this.session.run(['touch', '-h', '-c', '--', this.opts.path], { timeoutMs: 10_000 }).catch(() => undefined);
  }

  /** Is the lock still ours? (It is not when this push was judged dead and taken over.) */
  async held(): Promise<boolean> {
    return (await readHolder(this.session, this.opts.path)) === this.me;
  }

  /** Removes the lock if it is still ours. Never throws: a lock left behind goes stale and is taken over. */
  async release(): Promise<void> {
    try {
      if (await this.held()) await this.session.run(['rm', '-f', '--', this.opts.path], { timeoutMs: 10_000 });
    } catch {
      // The connection is gone: the lock goes stale after opts.staleAfterMs (at once for a
      // later push of this process, which knows this one has ended).
    } finally {
      running.delete(this.me);
    }
  }
}

async function readHolder(session: SshSession, path: string): Promise<string | undefined> {
  const r = await session.run(['readlink', '--', path]);
  return r.code === 0 ? r.stdout.replace(/\n$/, '') : undefined;
}

/** Holder and age of a lock, by the host's own clock (no comparison with the worker's). */
async function lookAt(session: SshSession, path: string): Promise<LockLook> {
  const holder = await readHolder(session, path);
  if (holder === undefined) return {};
  const [mtime, now] = await Promise.all([session.run(['stat', '-c', '%Y', '--', path]), session.run(['date', '+%s'])]);
  const m = Number(mtime.stdout.trim());
  const n = Number(now.stdout.trim());
  if (mtime.code !== 0 || now.code !== 0 || !Number.isFinite(m) || !Number.isFinite(n)) return { holder };
  return { holder, ageMs: (n - m) * 1000 };
}

/**
 * Removes a stale lock, once: a second lock beside it (`<path>.break`) makes the look and the
 * removal one step, so two waiters cannot both remove a lock and the second one remove the
 * first one's fresh lock. A breaker that died in between (a few commands) leaves its own lock
 * to go stale the same way. Returns true when this call removed the stale lock.
 */
async function breakStale(session: SshSession, me: string, opts: HostLockOptions, staleHolder: string, signal: AbortSignal | undefined): Promise<boolean> {
  const breaker = `${opts.path}.break`;
  const took = await session.run(['ln', '-s', '-T', '--', me, breaker]);
  if (took.code !== 0) {
    const other = await lookAt(session, breaker);
    if (lockVerdict(other, me, opts.staleAfterMs) === 'stale') await session.run(['rm', '-f', '--', breaker]);
    else await sleep(opts.pollMs, signal);
    return false;
  }
  try {
    const again = await lookAt(session, opts.path);
    if (again.holder !== staleHolder || lockVerdict(again, me, opts.staleAfterMs, endedHere(again.holder)) !== 'stale') return false;
    await session.run(['rm', '-f', '--', opts.path]);
    return true;
  } finally {
    await session.run(['rm', '-f', '--', breaker]);
  }
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? 'an unknown time' : `${Math.round(ms / 1000)} s`;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

