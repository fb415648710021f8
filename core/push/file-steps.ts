// What a push does to one file, from what it finds on the host. Pure.
//
// Beside the target, before the swap, the push leaves a record of what was there:
//   <path>.autok8s-rollback  a hard link to the previous file (there was one), or
//   <path>.autok8s-absent    an empty marker (there was none).
// Either one also means "a push is in flight" to a later attempt. A rollback reads only
// that record: with neither, it does not know what was there before, so it leaves the
// file alone rather than guess (guessing "nothing" once deleted a live haproxy.cfg).

export interface FileLook {
  /** sha256 of the live file, if there is one. */
  current?: string;
  /** sha256 of the content to push. */
  want: string;
  backup: boolean;
  absentMarker: boolean;
}

export type FilePlan =
  /** Already in place and no push in flight: nothing to do, no reload. */
  | { kind: 'unchanged' }
  /** An interrupted push swapped this content in already: validate it in place, reload, probe. */
  | { kind: 'resume' }
  /**
   * Upload, validate, record, swap. `record`: link the previous file, mark that there was
   * none, or keep the record an interrupted push left (the live service still runs the
   * file saved then).
   */
  | { kind: 'push'; record: 'linkPrevious' | 'markAbsent' | 'keepEarlier' };

export function planFilePush(look: FileLook): FilePlan {
  const inFlight = look.backup || look.absentMarker;
  if (look.current === look.want) return inFlight ? { kind: 'resume' } : { kind: 'unchanged' };
  if (inFlight) return { kind: 'push', record: 'keepEarlier' };
  return { kind: 'push', record: look.current === undefined ? 'markAbsent' : 'linkPrevious' };
}

export type RollbackAction = 'restorePrevious' | 'removeNew' | 'leaveAsIs';

/** How to undo a swap, from the record alone. */
export function rollbackAction(record: { backup: boolean; absentMarker: boolean }): RollbackAction {
  if (record.backup) return 'restorePrevious';
  if (record.absentMarker) return 'removeNew';
  return 'leaveAsIs';
}
