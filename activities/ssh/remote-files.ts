// Small remote file operations of the push, over one SSH session: hashing several paths
// in one round trip, reading a file, and undoing a swap from the record the push left.
import { ApplicationFailure } from '@temporalio/common';
import { rollbackAction } from '../../core/push/file-steps';
import type { RemoteConfigFile } from '../../core/render/lb-files';
import type { SecretResolver } from '../secrets';
import { SshSession, type OpenOptions, type RemoteResult, type SshTarget } from './session';

const MAX_OUTPUT = 4_000;

/** Side files of a push, all beside the target so renames and links stay on one file system. */
export function pushPaths(path: string) {
  return {
    target: path,
    upload: `${path}.autok8s-new`,
    /** A hard link to the previous file, made before the swap. */
    rollback: `${path}.autok8s-rollback`,
    /** Made before the swap when there was no previous file. */
    absent: `${path}.autok8s-absent`,
    previous: `${path}.autok8s-prev`,
  };
}

/** sha256 of each path that exists (one round trip). Missing files are simply absent from the map. */
export async function remoteHashes(session: SshSession, paths: string[]): Promise<Map<string, string>> {
  const result = await session.run(['env', 'LC_ALL=C', 'sha256sum', '--', ...paths]);
  const found = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (m && paths.includes(m[2])) found.set(m[2], m[1]);
  }
  if (result.code !== 0) {
    const unexpected = result.stderr
      .split('\n')
      .filter((l) => l.trim() !== '' && !/No such file or directory/.test(l))
      .join('\n');
    if (unexpected !== '') {
      throw ApplicationFailure.nonRetryable(`cannot read ${paths.join(', ')} on ${session.target.host}: ${clip(unexpected)}; check the SSH user may read and write there`, 'RemoteCommandFailed');
    }
  }
  return found;
}

export interface Restored {
  rolledBack: boolean;
  rollbackReload: 'ok' | 'failed' | 'skipped';
  /** What was done, as a clause of a sentence. */
  said: string;
}

/** Undoes a swap using only the record written before it (core/push/file-steps.ts). */
export async function restorePrevious(session: SshSession, file: RemoteConfigFile): Promise<Restored> {
  const paths = pushPaths(file.path);
  const record = await remoteHashes(session, [paths.rollback, paths.absent]);
  const action = rollbackAction({ backup: record.has(paths.rollback), absentMarker: record.has(paths.absent) });
  if (action === 'restorePrevious') {
    await session.run(['mv', '-f', '--', paths.rollback, paths.target]);
    await session.run(['rm', '-f', '--', paths.absent]);
    const again = await session.run(file.reload);
    return again.code === 0
      ? { rolledBack: true, rollbackReload: 'ok', said: `restored the previous ${file.path} and reloaded it` }
      : {
          rolledBack: true,
          rollbackReload: 'failed',
          said: `restored the previous ${file.path}, but reloading it failed too (${clip(output(again), 500)}); check the service on the host now`,
        };
  }
  if (action === 'removeNew') {
    await session.run(['rm', '-f', '--', paths.target, paths.absent]);
    if (!file.deactivate) return { rolledBack: true, rollbackReload: 'skipped', said: `removed the new ${file.path} (there was none before)` };
    // The reload may have started the service on the new file: without the file it did not run before.
    const stopped = await session.run(file.deactivate);
    return stopped.code === 0
      ? { rolledBack: true, rollbackReload: 'ok', said: `removed the new ${file.path} (there was none before) and ran ${file.deactivate.join(' ')}` }
      : { rolledBack: true, rollbackReload: 'failed', said: `removed the new ${file.path} (there was none before), but ${file.deactivate.join(' ')} failed (${clip(output(stopped), 500)}); check the service on the host now` };
  }
  return {
    rolledBack: false,
    rollbackReload: 'skipped',
    said: `found no record of the previous ${file.path} (neither ${paths.rollback} nor ${paths.absent}), so left the file as it is; check it on the host`,
  };
}

/** Reads a file on the target; undefined when it does not exist. */
export async function readRemoteFile(target: SshTarget, path: string, deps: { secrets: SecretResolver; ssh?: OpenOptions }): Promise<string | undefined> {
  const session = await SshSession.open(target, deps.secrets, deps.ssh);
  try {
    const exists = await session.run(['test', '-e', path]);
    if (exists.code !== 0) return undefined;
    const result = await session.run(['cat', '--', path]);
    if (result.code !== 0) throw ApplicationFailure.nonRetryable(`cannot read ${path} on ${target.host}: ${clip(result.stderr)}`, 'RemoteCommandFailed');
    return result.stdout;
  } finally {
    session.close();
  }
}

export function output(result: RemoteResult): string {
  return `${result.stdout}${result.stdout && result.stderr ? '\n' : ''}${result.stderr}`.trim();
}

export function clip(text: string, max = MAX_OUTPUT): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}
