// The safe LB config push (docs/design.md §4.6), over one SSH connection:
//
//   look     hash the file on the target; same content and no push in flight → done, no reload
//   upload   write <path>.autok8s-new beside the target (same file system, so the swap is a rename)
//   validate the real program checks the uploaded file on the target (haproxy -c, nginx -t, keepalived -t)
//   back up  <path>.autok8s-rollback (or the marker <path>.autok8s-absent when there was no file)
//   swap     mv -f: readers see the old file or the new one, never half of one
//   reload   then probe; on failure restore the backup, reload again, fail with the program's words
//   finish   keep the backup as <path>.autok8s-prev for humans; remove the markers
//
// The rollback file doubles as the "push in flight" marker: a retry after a lost connection
// that finds the new content already in place still reloads and probes (and can still roll
// back), instead of calling the file "unchanged" and leaving it never loaded.
import { ApplicationFailure } from '@temporalio/common';
import { FILE_PLACEHOLDER, type RemoteConfigFile } from '../../core/render/lb-files';
import { sha256Hex } from '../../core/render/sha256';
import type { SecretResolver } from '../secrets';
import { runProbe } from './probe';
import { SshSession, type OpenOptions, type RemoteResult, type SshTarget } from './session';
import { shellCommand } from './shell-quote';

export interface PushDeps {
  secrets: SecretResolver;
  /** Called at each stage (the activity heartbeats with it). */
  onProgress?: (stage: PushStage, detail?: string) => void;
  ssh?: OpenOptions;
}

export type PushStage = 'connect' | 'inspect' | 'upload' | 'validate' | 'backup' | 'swap' | 'reload' | 'probe' | 'rollback' | 'finish';

export interface PushResult {
  changed: boolean;
  /** The validation command line run on the target (null when nothing was validated). */
  validatedWith: string | null;
  validationOutput: string;
  reloaded: boolean;
  /** Always false in a result: a push that rolls back fails (see PushFailureDetails). */
  rolledBack: boolean;
  /** A previous push had been cut off after the swap; this one finished it. */
  resumed: boolean;
  contentSha256: string;
  /** The host key the target presented (an OpenSSH public key line), e.g. to pin it after trust on first use. */
  hostKeySeen: string;
  probe?: string;
  durationMs: number;
}

/** `details[0]` of the ApplicationFailure a failed push throws. */
export interface PushFailureDetails {
  stage: PushStage;
  path: string;
  host: string;
  rolledBack: boolean;
  output: string;
  rollbackReload?: 'ok' | 'failed' | 'skipped';
}

/** Side files of a push, all beside the target so renames stay on one file system. */
export function pushPaths(path: string) {
  return {
    target: path,
    upload: `${path}.autok8s-new`,
    rollback: `${path}.autok8s-rollback`,
    absent: `${path}.autok8s-absent`,
    previous: `${path}.autok8s-prev`,
  };
}

const MAX_OUTPUT = 4_000;

export async function pushConfigFile(target: SshTarget, file: RemoteConfigFile, deps: PushDeps): Promise<PushResult> {
  checkFile(file);
  const started = Date.now();
  const progress = deps.onProgress ?? (() => undefined);
  progress('connect', `${target.user}@${target.host}:${target.port}`);
  const session = await SshSession.open(target, deps.secrets, deps.ssh);
  try {
    return await pushOverSession(session, file, progress, started);
  } finally {
    session.close();
  }
}

async function pushOverSession(session: SshSession, file: RemoteConfigFile, progress: NonNullable<PushDeps['onProgress']>, started: number): Promise<PushResult> {
  const paths = pushPaths(file.path);
  const want = sha256Hex(file.content);
  const fail = (stage: PushStage, message: string, type: string, details: Omit<PushFailureDetails, 'stage' | 'path' | 'host'>) =>
    ApplicationFailure.nonRetryable(message, type, { stage, path: file.path, host: session.target.host, ...details } satisfies PushFailureDetails);
  const must = async (stage: PushStage, argv: string[], opts?: { stdin?: string }): Promise<RemoteResult> => {
    const result = await session.run(argv, opts);
    if (result.code !== 0) {
      throw fail(stage, `${shellCommand(argv)} failed on ${session.target.host} (exit ${result.code ?? result.signal}): ${clip(output(result))}`, 'RemoteCommandFailed', {
        rolledBack: false,
        output: clip(output(result)),
      });
    }
    return result;
  };

  progress('inspect', file.path);
  const hashes = await remoteHashes(session, [paths.target, paths.rollback, paths.absent]);
  const current = hashes.get(paths.target);
  const inFlight = hashes.has(paths.rollback) || hashes.has(paths.absent);
  const base = { contentSha256: want, hostKeySeen: session.hostKeySeen, rolledBack: false };
  if (current === want && !inFlight) {
    return { ...base, changed: false, validatedWith: null, validationOutput: '', reloaded: false, resumed: false, durationMs: Date.now() - started };
  }

  // Upload and validate, unless an interrupted push already swapped this content in: then
  // validate the file in place (cheap, and the rollback below still has its backup).
  const resumed = current === want;
  const checkedPath = resumed ? paths.target : paths.upload;
  if (!resumed) {
    progress('upload', paths.upload);
    await must('upload', ['dd', `of=${paths.upload}`, 'status=none'], { stdin: file.content });
    await must('upload', ['chmod', file.mode ?? '0644', '--', paths.upload]);
    const uploaded = (await remoteHashes(session, [paths.upload])).get(paths.upload);
    if (uploaded !== want) {
      throw ApplicationFailure.retryable(`the upload of ${paths.upload} to ${session.target.host} arrived incomplete (sha256 ${uploaded ?? 'none'}, want ${want})`, 'UploadIncomplete');
    }
  }
  progress('validate', checkedPath);
  const validateArgv = file.validate.map((arg) => arg.split(FILE_PLACEHOLDER).join(checkedPath));
  const validation = await session.run(validateArgv);
  const validationOutput = clip(output(validation));
  if (validation.code === 127) {
    if (!resumed) await session.run(['rm', '-f', '--', paths.upload]);
    throw fail('validate', `${file.validate[0]} is not installed on ${session.target.host} (exit 127: ${validationOutput}); install it there or fix the validate command`, 'ValidatorMissing', {
      rolledBack: false,
      output: validationOutput,
    });
  }
  if (validation.code !== 0) {
    if (resumed) return rollBack(session, file, 'validate', validationOutput, progress, fail);
    await session.run(['rm', '-f', '--', paths.upload]);
    throw fail(
      'validate',
      `${file.validate[0]} rejected the new ${file.path} on ${session.target.host}; the running config is untouched. ${file.validate[0]} said:\n${validationOutput}`,
      'ConfigInvalid',
      { rolledBack: false, output: validationOutput },
    );
  }

  if (!resumed) {
    // Keep the oldest backup: after an interrupted push the live service still runs the file saved then.
    if (!inFlight) {
      progress('backup', paths.rollback);
      if (current !== undefined) await must('backup', ['cp', '-p', '--', paths.target, paths.rollback]);
      else await must('backup', ['touch', '--', paths.absent]);
    }
    progress('swap', file.path);
    await must('swap', ['mv', '-f', '--', paths.upload, paths.target]);
  }

  progress('reload', file.reload.join(' '));
  const reload = await session.run(file.reload);
  if (reload.code !== 0) return rollBack(session, file, 'reload', clip(output(reload)), progress, fail);

  let probeDetail: string | undefined;
  if (file.probe) {
    progress('probe', file.probe.kind);
    const probe = await runProbe(file.probe, session);
    probeDetail = probe.detail;
    if (!probe.ok) return rollBack(session, file, 'probe', `${probe.detail} (after ${probe.attempts} attempts)`, progress, fail);
  }

  progress('finish', file.path);
  const after = await remoteHashes(session, [paths.rollback]);
  if (after.has(paths.rollback)) await must('finish', ['mv', '-f', '--', paths.rollback, paths.previous]);
  await must('finish', ['rm', '-f', '--', paths.absent]);
  return {
    ...base,
    changed: true,
    validatedWith: shellCommand(validateArgv),
    validationOutput,
    reloaded: true,
    resumed,
    probe: probeDetail,
    durationMs: Date.now() - started,
  };
}

/** Puts the previous file back, reloads it, and throws the failure that made it necessary. */
async function rollBack(
  session: SshSession,
  file: RemoteConfigFile,
  stage: 'validate' | 'reload' | 'probe',
  why: string,
  progress: NonNullable<PushDeps['onProgress']>,
  fail: (stage: PushStage, message: string, type: string, details: Omit<PushFailureDetails, 'stage' | 'path' | 'host'>) => ApplicationFailure,
): Promise<never> {
  const paths = pushPaths(file.path);
  progress('rollback', `${stage} failed`);
  const markers = await remoteHashes(session, [paths.rollback, paths.absent]);
  let rollbackReload: PushFailureDetails['rollbackReload'] = 'skipped';
  let restored: string;
  if (markers.has(paths.rollback)) {
    await session.run(['mv', '-f', '--', paths.rollback, paths.target]);
    await session.run(['rm', '-f', '--', paths.absent]);
    const again = await session.run(file.reload);
    rollbackReload = again.code === 0 ? 'ok' : 'failed';
    restored =
      again.code === 0
        ? `restored the previous ${file.path} and reloaded it`
        : `restored the previous ${file.path}, but reloading it failed too (${clip(output(again), 500)}); check the service on the host now`;
  } else {
    // There was no file before this push: remove ours. Nothing to reload back to.
    await session.run(['rm', '-f', '--', paths.target, paths.absent]);
    restored = `removed the new ${file.path} (there was none before)`;
  }
  const what = { validate: 'validation', reload: 'reload', probe: 'probe' }[stage];
  const command = stage === 'reload' ? ` (${file.reload.join(' ')})` : '';
  throw fail(
    stage,
    `${what}${command} failed on ${session.target.host} after swapping in the new ${file.path}; ${restored}. It said:\n${why}`,
    stage === 'reload' ? 'ReloadFailed' : stage === 'probe' ? 'ProbeFailed' : 'ConfigInvalid',
    { rolledBack: true, output: why, rollbackReload },
  );
}

/** sha256 of each path that exists (one round trip). Missing files are simply absent from the map. */
async function remoteHashes(session: SshSession, paths: string[]): Promise<Map<string, string>> {
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

/** Reads a file on the target; undefined when it does not exist. */
export async function readRemoteFile(target: SshTarget, path: string, deps: Pick<PushDeps, 'secrets' | 'ssh'>): Promise<string | undefined> {
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

function checkFile(file: RemoteConfigFile): void {
  const bad = (why: string) => ApplicationFailure.nonRetryable(`config file ${file.path}: ${why}`, 'BadInput');
  if (!/^\/[A-Za-z0-9_./@+-]+$/.test(file.path) || file.path.split('/').includes('..')) {
    throw bad('the path must be absolute, without spaces, quotes or ".."');
  }
  if (file.validate.length === 0 || !file.validate.some((a) => a.includes(FILE_PLACEHOLDER))) {
    throw bad(`validate must be an argv naming the uploaded file as ${FILE_PLACEHOLDER}, e.g. ['haproxy', '-c', '-f', '${FILE_PLACEHOLDER}']`);
  }
  if (file.reload.length === 0) throw bad("reload must be an argv such as ['systemctl', 'reload', 'haproxy']");
  if (file.mode !== undefined && !/^0?[0-7]{3}$/.test(file.mode)) throw bad(`mode ${file.mode} must be octal such as 0644`);
}

function output(result: RemoteResult): string {
  return `${result.stdout}${result.stdout && result.stderr ? '\n' : ''}${result.stderr}`.trim();
}

function clip(text: string, max = MAX_OUTPUT): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}
