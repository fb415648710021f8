// Which state directories and secret files autok8s accepts (the state store holds the Talos
// secrets, machine configs, talosconfig and kubeconfig). Pure: the adapter stats and acts.
//
// A directory autok8s creates is made 0700. One it did not create (state.dir named an
// existing directory) is never chmod-ed: it is used when only its owner can write to it,
// and refused otherwise, saying how to fix it. A file in the store must be its owner's
// alone (0600 or tighter): a looser one that autok8s owns is repaired on the spot; one owned
// by another user, or reached through a symbolic link, is refused rather than changed.

export interface FileFacts {
  /** st_mode & 0o7777 */
  mode: number;
  ownerUid: number;
  /** The worker's uid (process.getuid()), undefined where there is none. */
  uid?: number;
  /** The path itself is a regular file (a directory for directories), not a symbolic link. */
  plain: boolean;
}

export type ModeVerdict = { ok: true } | { ok: false; repair: true; why: string } | { ok: false; repair: false; why: string };

const octal = (mode: number) => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;

export function stateDirVerdict(dir: string, f: FileFacts & { isDirectory: boolean }): ModeVerdict {
  if (!f.isDirectory) return { ok: false, repair: false, why: `the state directory ${dir} is not a directory; point state.dir (or AUTOK8S_HOME) at a directory` };
  if (f.uid !== undefined && f.ownerUid !== f.uid) {
    return { ok: false, repair: false, why: `the state directory ${dir} belongs to uid ${f.ownerUid}, not to the worker's user (uid ${f.uid}); chown it to that user, or point state.dir at a new directory for autok8s to create` };
  }
  if ((f.mode & 0o022) !== 0) {
    return {
      ok: false,
      repair: false,
      why:
        `the state directory ${dir} is writable by ${f.mode & 0o002 ? 'others' : 'its group'} (mode ${octal(f.mode)}), who could replace the Talos secrets or the talosconfig in it. ` +
        `autok8s does not change the mode of a directory it did not create: run chmod 700 ${dir}, or point state.dir at a new directory for autok8s to create`,
    };
  }
  return { ok: true };
}

export function secretFileVerdict(path: string, f: FileFacts): ModeVerdict {
  if (f.uid !== undefined && f.ownerUid !== f.uid) {
    return { ok: false, repair: false, why: `${path} belongs to uid ${f.ownerUid}, not to the worker's user (uid ${f.uid}); autok8s reads secrets only from its own files: chown it, or remove it to have it made again` };
  }
  if ((f.mode & 0o077) === 0) return { ok: true };
  if (!f.plain) {
    return { ok: false, repair: false, why: `${path} is a symbolic link to a file with mode ${octal(f.mode)}, readable by others; autok8s does not chmod what a link points to: chmod 600 its target` };
  }
  return { ok: false, repair: true, why: `${path} had mode ${octal(f.mode)}, readable by ${f.mode & 0o007 ? 'others' : 'its group'}; set to 0600` };
}
