// The push lock of an LB host, decided here and taken over SSH (activities/ssh/host-lock.ts).
//
// The lock is a symbolic link whose target is the holder's identity: `ln -s` creates it in
// one system call that fails when the name exists, so taking the lock and saying who holds
// it are one atomic step (the lock files of Emacs and Mercurial work the same way). It lives
// in /run/lock (tmpfs, writable for lock files, emptied at boot: a reboot frees it).
//
// A holder refreshes the link's mtime every few seconds while it pushes. A lock not
// refreshed for `staleAfterMs` (by the host's own clock) belongs to an attempt that died or
// lost its connection, and is taken over. Pure.

export interface HostLockOptions {
  /** Absolute path of the lock on the LB host. */
  path: string;
  /** A lock not refreshed for this long is taken over (default 30 s). */
  staleAfterMs: number;
  /** Longest wait for a live holder before failing retryably (default 2 min). */
  waitMs: number;
  /** How often a waiter looks again (default 500 ms). */
  pollMs: number;
}

export const HOST_LOCK_DEFAULTS: HostLockOptions = {
  path: '/run/lock/autok8s-push.lock',
  staleAfterMs: 30_000,
  waitMs: 120_000,
  pollMs: 500,
};

/** What a look at the lock found: its holder, and how long ago it was last refreshed. */
export interface LockLook {
  holder?: string;
  ageMs?: number;
}

export type LockVerdict = 'free' | 'mine' | 'held' | 'stale';

/**
 * @param holderEndedHere the holder is a push of this very worker process that has ended
 *   (its connection dropped before it could remove the lock): known dead, no need to wait.
 */
export function lockVerdict(look: LockLook, me: string, staleAfterMs: number, holderEndedHere = false): LockVerdict {
  if (look.holder === undefined) return 'free';
  if (look.holder === me) return 'mine';
  if (holderEndedHere) return 'stale';
  // An age we could not read (the lock vanished between two commands) is no proof of death.
  if (look.ageMs === undefined || look.ageMs <= staleAfterMs) return 'held';
  return 'stale';
}

/** How often a holder refreshes: several times within the stale bound, at most every 5 s. */
export function refreshEveryMs(staleAfterMs: number): number {
  return Math.max(100, Math.min(5_000, Math.floor(staleAfterMs / 6)));
}

/**
 * The identity a push writes into the lock: the worker process (host name, pid and a token
 * of the process, so two containers with the same host name and pid differ), a token of the
 * push, and which attempt it is, so a waiting operator or attempt can tell who holds the
 * host. Only characters that survive every shell and log line.
 */
export function lockOwnerId(parts: { worker: string; token: string; attempt?: string }): string {
  return [LOCK_ID_PREFIX, clean(parts.worker), clean(parts.token), ...(parts.attempt ? [clean(parts.attempt)] : [])].join(':');
}

const LOCK_ID_PREFIX = 'autok8s-push';
const clean = (s: string) => s.replace(/[^A-Za-z0-9._@#+=-]/g, '_').slice(0, 120);

/** The worker part of a lock identity, or undefined when it is not one of ours. */
export function lockWorker(id: string): string | undefined {
  const [prefix, worker] = id.split(':');
  return prefix === LOCK_ID_PREFIX && worker ? worker : undefined;
}

export function workerLockId(parts: { host: string; pid: number; token: string }): string {
  return clean(`${parts.host}.${parts.pid}.${parts.token}`);
}
