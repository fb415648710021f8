// One dev/demo per directory: a second is refused while the first lives, and a lock left
// by a process that died is taken over.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockDir } from '../../client/dev/dir-lock';
import { UsageError } from '../../client/errors';

const freshDir = () => join(mkdtempSync(join(tmpdir(), 'ak8s-lock-')), 'dev');

describe('lockDir', () => {
  it('refuses a second holder while the first lives, naming it, and lets go on release', () => {
    const dir = freshDir();
    const first = lockDir(dir, 'dev');
    expect(readFileSync(first.file, 'utf8')).toBe(`${process.pid} dev\n`);
    let refusal: unknown;
    try {
      lockDir(dir, 'demo');
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(UsageError);
    expect((refusal as Error).message).toBe(`${dir} is in use by autok8s dev (pid ${process.pid}): stop it (Ctrl-C in its terminal), or give this one another --dir`);
    first.release();
    expect(existsSync(first.file)).toBe(false);
    lockDir(dir, 'demo').release(); // free again
  });

  it('takes over a lock whose holder died', () => {
    const dir = freshDir();
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout.trim());
    writeFileSync(`${dir}.lock`, `${deadPid} dev\n`);
    const lock = lockDir(dir, 'dev');
    expect(readFileSync(lock.file, 'utf8')).toBe(`${process.pid} dev\n`);
    lock.release();
  });

  it("does not remove a lock that is no longer its own", () => {
    const dir = freshDir();
    const lock = lockDir(dir, 'dev');
    writeFileSync(lock.file, `1 dev\n`); // taken over meanwhile (pid 1 is always alive)
    lock.release();
    expect(readFileSync(lock.file, 'utf8')).toBe('1 dev\n');
  });
});
