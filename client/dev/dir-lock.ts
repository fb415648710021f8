// One `autok8s dev` or `demo` per directory. Two Temporal dev servers will happily open
// the same SQLite file (each on its own ports) and the demo starts by clearing its
// directory, so a second one on a directory in use must be refused before it touches
// anything. A pid file beside the directory, made with O_EXCL, is all this needs: one
// machine, one user, and a holder that died (kill -9) is recognised by its pid being
// gone. (proper-lockfile's mtime refreshing solves network filesystems, not this.)
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../errors';

export interface DirLock {
  file: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, but another user's
  }
}

/** Takes `<dir>.lock` for `what` (e.g. "dev"), or throws a UsageError naming the holder. */
export function lockDir(dir: string, what: string): DirLock {
  const file = `${dir}.lock`;
  mkdirSync(dirname(file), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${process.pid} ${what}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const [pidText, holder = 'autok8s'] = readFileSync(file, 'utf8').trim().split(' ');
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new UsageError(`${dir} is in use by autok8s ${holder} (pid ${pid}): stop it (Ctrl-C in its terminal), or give this one another --dir`);
      }
      unlinkSync(file); // its holder is gone: the lock is stale
    }
  }
  const release = () => {
    process.off('exit', release);
    try {
      if (readFileSync(file, 'utf8').startsWith(`${process.pid} `)) unlinkSync(file);
    } catch {
      // already gone
    }
  };
  process.on('exit', release); // also when the process ends some other way than its own stop
  return { file, release };
}
