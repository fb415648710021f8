// The per-cluster state store: Talos secrets, machine configs, talosconfig, kubeconfig.
// A directory (default spec.state.dir, else $AUTOK8S_HOME/clusters/<name>, AUTOK8S_HOME
// defaulting to ~/.autok8s) created 0700 with files 0600. Workflows only ever see refs
// ("state:secrets.yaml") and paths, never contents, so no secret enters a history.
//
// Modes are checked where they matter (core/state/file-modes.ts): a directory autok8s did
// not create is never chmod-ed (refused when others may write to it), and every file is
// checked each time it is read or handed to talosctl (a loose mode repaired, with a
// warning; a file of another user refused).
import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { secretFileVerdict, stateDirVerdict } from '../../core/state/file-modes';
import { activityContext } from '../activity-context';
import { expandHome } from '../secrets';
import type { ClusterSpec } from '../../core/spec/schema';

export const STATE_REF_PREFIX = 'state:';

/** Well-known names inside a cluster's state directory. */
export const STATE_FILES = {
  secrets: 'secrets.yaml',
  talosconfig: 'talosconfig',
  kubeconfig: 'kubeconfig',
  configsDir: 'configs',
  patchesDir: 'patches',
} as const;

export function clusterStateDir(spec: Pick<ClusterSpec, 'metadata' | 'state'>, env: NodeJS.ProcessEnv = process.env): string {
  if (spec.state.dir) return resolve(expandHome(spec.state.dir));
  const home = env.AUTOK8S_HOME ? expandHome(env.AUTOK8S_HOME) : join(homedir(), '.autok8s');
  return resolve(home, 'clusters', spec.metadata.name);
}

export class StateStore {
  constructor(readonly dir: string) {}

  static forCluster(spec: Pick<ClusterSpec, 'metadata' | 'state'>, env?: NodeJS.ProcessEnv): StateStore {
    return new StateStore(clusterStateDir(spec, env));
  }

  /** Absolute path of a name (e.g. "configs/srv-a-cp.yaml") inside the store; refuses escapes. */
  path(name: string): string {
    const full = resolve(this.dir, name);
    if (full !== this.dir && !full.startsWith(this.dir + sep)) throw new Error(`${JSON.stringify(name)} is outside the state store ${this.dir}`);
    return full;
  }

  ref(name: string): string {
    return STATE_REF_PREFIX + relative(this.dir, this.path(name)).split(sep).join('/');
  }

  /** The path a "state:<name>" ref stands for. */
  resolveRef(ref: string): string {
    if (!ref.startsWith(STATE_REF_PREFIX)) throw new Error(`${JSON.stringify(ref)} is not a state: reference`);
    return this.path(ref.slice(STATE_REF_PREFIX.length));
  }

  /** Creates the store (and a sub-directory) 0700; an existing one is checked, never chmod-ed. */
  async ensureDir(sub = '.'): Promise<string> {
    const dir = this.path(sub);
    await makeOrCheckDir(this.dir);
    if (dir !== this.dir) await makeOrCheckDir(dir);
    return dir;
  }

  async exists(name: string): Promise<boolean> {
    try {
      await stat(this.path(name));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** The file's content (undefined when absent), after checking its mode. */
  async read(name: string): Promise<string | undefined> {
    if ((await this.securePath(name)) === undefined) return undefined;
    try {
      return await readFile(this.path(name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** The path of a file for a tool to read (talosctl), after checking its mode; undefined when absent. */
  async securePath(name: string): Promise<string | undefined> {
    const path = this.path(name);
    return (await checkSecretFile(path)) ? path : undefined;
  }

  /** A fresh path next to `name` for a tool to write into before it is moved in place. */
  tempPath(name: string): string {
    const target = this.path(name);
    return join(dirname(target), `.${randomBytes(6).toString('hex')}.tmp-${target.slice(dirname(target).length + 1)}`);
  }

  /** Writes 0600 through a temporary file and a rename, so readers never see half a file. */
  async writeAtomic(name: string, content: string): Promise<void> {
    await this.ensureDir(relative(this.dir, dirname(this.path(name))) || '.');
    const temp = this.tempPath(name);
    await writeFile(temp, content, { mode: 0o600 });
    await rename(temp, this.path(name));
  }

  /** Moves a finished temporary file in place (0600), replacing what was there. */
  async install(tempFile: string, name: string): Promise<void> {
    await chmod(tempFile, 0o600);
    await rename(tempFile, this.path(name));
  }

  /**
   * Moves a finished temporary file in place only if `name` does not exist yet (a hard link
   * fails on an existing target, atomically). Returns false when `name` was already there:
   * two racing writers keep the first file, never a mix.
   */
  async installIfAbsent(tempFile: string, name: string): Promise<boolean> {
    await chmod(tempFile, 0o600);
    try {
      await link(tempFile, this.path(name));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await rm(tempFile, { force: true });
    }
  }

  /** Checks (and repairs) the mode of a file that is there. */
  async secure(name: string): Promise<void> {
    await checkSecretFile(this.path(name));
  }

  async remove(name: string): Promise<void> {
    await rm(this.path(name), { force: true, recursive: true });
  }
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;
const warn = (message: string) => (activityContext()?.log ?? console).warn(message);

async function makeOrCheckDir(dir: string): Promise<void> {
  // mkdir -p returns the first directory it made: then this one and its new parents are ours, 0700.
  if ((await mkdir(dir, { recursive: true, mode: 0o700 })) !== undefined) return;
  const st = await stat(dir);
  const verdict = stateDirVerdict(dir, { mode: st.mode & 0o7777, ownerUid: st.uid, uid: process.getuid?.(), plain: true, isDirectory: st.isDirectory() });
  if (!verdict.ok) throw ApplicationFailure.nonRetryable(verdict.why, 'StateDirUnsafe');
}

/** False when the file is absent; true when it is safe to read (repairing a loose mode); throws when it is not. */
async function checkSecretFile(path: string): Promise<boolean> {
  let link;
  let st;
  try {
    link = await lstat(path);
    st = link.isSymbolicLink() ? await stat(path) : link;
  } catch (err) {
    if (errno(err) === 'ENOENT') return false;
    throw err;
  }
  const verdict = secretFileVerdict(path, { mode: st.mode & 0o7777, ownerUid: st.uid, uid: process.getuid?.(), plain: link.isFile() });
  if (verdict.ok) return true;
  if (!verdict.repair) throw ApplicationFailure.nonRetryable(verdict.why, 'StateFileUnsafe');
  await chmod(path, 0o600);
  warn(verdict.why);
  return true;
}
