import { describe, expect, it } from 'vitest';
import { planFilePush, rollbackAction, type FileLook } from '../../core/push/file-steps';
import { lockOwnerId, lockVerdict, lockWorker, refreshEveryMs, type LockLook } from '../../core/push/host-lock';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('planFilePush', () => {
  const cases: [string, FileLook, ReturnType<typeof planFilePush>][] = [
    ['the same content with no push in flight is unchanged', { current: A, want: A, backup: false, absentMarker: false }, { kind: 'unchanged' }],
    ['the same content with a backup left by a cut-off push is resumed', { current: A, want: A, backup: true, absentMarker: false }, { kind: 'resume' }],
    ['the same content with an absent marker left by a cut-off push is resumed', { current: A, want: A, backup: false, absentMarker: true }, { kind: 'resume' }],
    ['new content over an existing file links the previous file first', { current: B, want: A, backup: false, absentMarker: false }, { kind: 'push', record: 'linkPrevious' }],
    ['a first-ever file marks that there was none', { want: A, backup: false, absentMarker: false }, { kind: 'push', record: 'markAbsent' }],
    ['new content during a cut-off push keeps the earlier backup', { current: B, want: A, backup: true, absentMarker: false }, { kind: 'push', record: 'keepEarlier' }],
    ['new content where a cut-off push marked the file absent keeps that marker', { want: A, backup: false, absentMarker: true }, { kind: 'push', record: 'keepEarlier' }],
  ];
  it.each(cases)('%s', (_name, look, plan) => {
    expect(planFilePush(look)).toEqual(plan);
  });
});

describe('rollbackAction', () => {
  it.each([
    ['a backup is restored', { backup: true, absentMarker: false }, 'restorePrevious'],
    ['an absent marker means the new file is removed', { backup: false, absentMarker: true }, 'removeNew'],
    ['no record at all leaves the live file alone (never guess that there was none)', { backup: false, absentMarker: false }, 'leaveAsIs'],
  ] as const)('%s', (_name, record, action) => {
    expect(rollbackAction(record)).toBe(action);
  });
});

describe('lockVerdict', () => {
  const me = 'autok8s-push:w1:t1';
  const cases: [string, LockLook, boolean, ReturnType<typeof lockVerdict>][] = [
    ['no holder: free', {}, false, 'free'],
    ['held by this push: mine', { holder: me, ageMs: 99_000 }, false, 'mine'],
    ['refreshed within the bound: held', { holder: 'autok8s-push:w2:t2', ageMs: 29_000 }, false, 'held'],
    ['exactly at the bound: still held', { holder: 'autok8s-push:w2:t2', ageMs: 30_000 }, false, 'held'],
    ['not refreshed for longer than the bound: stale', { holder: 'autok8s-push:w2:t2', ageMs: 31_000 }, false, 'stale'],
    ['an age that could not be read is no proof of death: held', { holder: 'autok8s-push:w2:t2' }, false, 'held'],
    ['a push of this worker process that has ended: stale at once', { holder: 'autok8s-push:w1:t0', ageMs: 1_000 }, true, 'stale'],
  ];
  it.each(cases)('%s', (_name, look, endedHere, verdict) => {
    expect(lockVerdict(look, me, 30_000, endedHere)).toBe(verdict);
  });

  it('refreshes several times within the bound, at most every 5 s', () => {
    expect(refreshEveryMs(30_000)).toBe(5_000);
    expect(refreshEveryMs(60_000)).toBe(5_000);
    expect(refreshEveryMs(3_000)).toBe(500);
  });
});

describe('lock identities', () => {
  it('name the worker, the push and the attempt, in characters that survive a shell and a log line', () => {
    const id = lockOwnerId({ worker: 'lb worker.12.ab', token: 'f00d', attempt: 'prod-gra/bootstrap/3#2' });
    expect(id).toBe('autok8s-push:lb_worker.12.ab:f00d:prod-gra_bootstrap_3#2');
    expect(lockWorker(id)).toBe('lb_worker.12.ab');
    expect(lockWorker('someone-else:w:t')).toBeUndefined();
  });
});
