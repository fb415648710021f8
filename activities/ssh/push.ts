// The safe LB config push (docs/design.md §4.6), over one SSH connection per LB host:
//
//   lock     take the host's push lock (core/push/host-lock.ts): one push at a time per host,
//            even when two attempts of one activity overlap; refreshed while the push runs
//   look     hash the file on the target; same content and no push in flight → done, no reload
//   upload   write <path>.autok8s-new beside the target (same file system, so the swap is a rename)
//   validate the real program checks the uploaded file on the target (haproxy -c, nginx -t, keepalived -t)
//   record   <path>.autok8s-rollback, a hard link to the previous file, or the marker
//            <path>.autok8s-absent when there was none: written before the swap, the only
//            thing a rollback trusts (core/push/file-steps.ts)
//   swap     mv -f: readers see the old file or the new one, never half of one, never none
//   reload   then probe; on failure or cancellation restore from the record, reload again
//   finish   keep the previous file as <path>.autok8s-prev for humans; remove the record
//
// The record doubles as the "push in flight" marker: a retry after a lost connection that
// finds the new content already in place still reloads and probes (and can still roll
// back), instead of calling the file "unchanged" and leaving it never loaded.
import { ApplicationFailure } from '@temporalio/common';
import { planFilePush } from '../../core/push/file-steps';
import { HOST_LOCK_DEFAULTS, refreshEveryMs, type HostLockOptions } from '../../core/push/host-lock';
import { FILE_PLACEHOLDER, type RemoteConfigFile } from '../../core/render/lb-files';
import { sha256Hex } from '../../core/render/sha256';
import type { SecretResolver } from '../secrets';
import { HostLock, throwIfAborted } from './host-lock';
import { runProbe } from './probe';
import { Pulse, type PulseSinks, type PushStage } from './pulse';
import { clip, output, pushPaths, remoteHashes, restorePrevious } from './remote-files';
import { SshSession, type OpenOptions, type RemoteResult, type SshTarget } from './session';
import { shellCommand } from './shell-quote';

export { pushPaths, readRemoteFile } from './remote-files';
export type { PushStage } from './pulse';

export interface PushDeps extends PulseSinks {
  secrets: SecretResolver;
  ssh?: OpenOptions;
  /** Cancels the push: before the swap nothing changes; after it, the previous file is restored. */
  signal?: AbortSignal;
  /** The host's push lock (defaults: HOST_LOCK_DEFAULTS). */
  lock?: Partial<HostLockOptions>;
  /** Which attempt this is (e.g. "<workflow id>/<activity id>#<attempt>"), written into the lock. */
  attempt?: string;
}

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
  /** Its SHA256 fingerprint, as ssh-keygen -l prints it. */
  hostKeyFingerprint: string;
  /** How long this push waited for the host's lock, and whose stale lock it took over, if any. */
  lock: { waitedMs: number; tookOverFrom?: string };
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

interface FileContext {
  session: SshSession;
  pulse: Pulse;
  lock: HostLock;
  signal?: AbortSignal;
}

/** Pushes one file (see pushConfigFiles). */
export async function pushConfigFile(target: SshTarget, file: RemoteConfigFile, deps: PushDeps): Promise<PushResult> {
  return (await pushConfigFiles(target, [file], deps))[0];
}

/** Pushes files to one LB host in order, under its push lock, over one connection. Stops at the first failure. */
export async function pushConfigFiles(target: SshTarget, files: RemoteConfigFile[], deps: PushDeps): Promise<PushResult[]> {
  files.forEach(checkFile);
  const lockOptions: HostLockOptions = { ...HOST_LOCK_DEFAULTS, ...deps.lock };
  const me = HostLock.identity(deps.attempt);
  const pulse = new Pulse(deps);
  try {
    throwIfAborted(deps.signal);
    pulse.stage('connect', `${target.user}@${target.host}:${target.port}`);
    const session = await SshSession.open(target, deps.secrets, deps.ssh);
    try {
      pulse.stage('lock', lockOptions.path);
      const lock = await HostLock.acquire(session, me, lockOptions, {
        signal: deps.signal,
        onWait: (w) => pulse.beat({ waitingFor: `the push lock ${lockOptions.path}`, holder: w.holder, waitedMs: w.waitedMs }),
      });
      pulse.refreshEvery(refreshEveryMs(lockOptions.staleAfterMs), () => lock.refresh());
      try {
        const results: PushResult[] = [];
        for (const file of files) {
          throwIfAborted(deps.signal);
          results.push(await pushOne({ session, pulse, lock, signal: deps.signal }, file));
        }
        return results;
      } finally {
        pulse.stopRefreshing();
        await lock.release();
      }
    } finally {
      session.close();
    }
  } finally {
    pulse.stop();
  }
}

async function pushOne(ctx: FileContext, file: RemoteConfigFile): Promise<PushResult> {
  const { session, pulse, lock, signal } = ctx;
  const started = Date.now();
  const progress = (stage: PushStage, detail?: string) => pulse.stage(stage, detail, file);
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
  /** Undoes the swap and throws why (the failure names the stage and what the program said). */
  const rollBack = async (stage: 'validate' | 'reload' | 'probe', why: string): Promise<never> => {
    progress('rollback', `${stage} failed`);
    const undone = await restorePrevious(session, file);
    const what = { validate: 'validation', reload: 'reload', probe: 'probe' }[stage];
    const command = stage === 'reload' ? ` (${file.reload.join(' ')})` : '';
    throw fail(
      stage,
      `${what}${command} failed on ${session.target.host} after swapping in the new ${file.path}; ${undone.said}. It said:\n${why}`,
      stage === 'reload' ? 'ReloadFailed' : stage === 'probe' ? 'ProbeFailed' : 'ConfigInvalid',
      { rolledBack: undone.rolledBack, output: why, rollbackReload: undone.rollbackReload },
    );
  };

  progress('inspect', file.path);
  const hashes = await remoteHashes(session, [paths.target, paths.rollback, paths.absent]);
  const plan = planFilePush({ current: hashes.get(paths.target), want, backup: hashes.has(paths.rollback), absentMarker: hashes.has(paths.absent) });
  const base = { contentSha256: want, hostKeySeen: session.hostKeySeen, hostKeyFingerprint: session.hostKeyFingerprint, rolledBack: false, lock: { waitedMs: lock.waitedMs, ...(lock.tookOverFrom ? { tookOverFrom: lock.tookOverFrom } : {}) } };
  if (plan.kind === 'unchanged') {
    return { ...base, changed: false, validatedWith: null, validationOutput: '', reloaded: false, resumed: false, durationMs: Date.now() - started };
  }

  // Upload and validate, unless an interrupted push already swapped this content in: then
  // validate the file in place (cheap, and the rollback below still has its record).
  const resumed = plan.kind === 'resume';
  const checkedPath = resumed ? paths.target : paths.upload;
  if (plan.kind === 'push') {
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
    if (resumed) return rollBack('validate', validationOutput);
    await session.run(['rm', '-f', '--', paths.upload]);
    throw fail(
      'validate',
      `${file.validate[0]} rejected the new ${file.path} on ${session.target.host}; the running config is untouched. ${file.validate[0]} said:\n${validationOutput}`,
      'ConfigInvalid',
      { rolledBack: false, output: validationOutput },
    );
  }

  if (plan.kind === 'push') {
    // Last point where stopping leaves the host exactly as it was.
    if (signal?.aborted || !(await lock.held())) {
      await session.run(['rm', '-f', '--', paths.upload]);
      throwIfAborted(signal);
      throw ApplicationFailure.retryable(`the push lock on ${session.target.host} was taken over (this push stopped refreshing it); nothing was swapped`, 'LbLockLost');
    }
    if (plan.record !== 'keepEarlier') {
      progress('backup', plan.record === 'linkPrevious' ? paths.rollback : paths.absent);
      if (plan.record === 'linkPrevious') await must('backup', ['ln', '-T', '--', paths.target, paths.rollback]);
      else await must('backup', ['touch', '--', paths.absent]);
    }
    progress('swap', file.path);
    await must('swap', ['mv', '-f', '--', paths.upload, paths.target]);
  }

  // Swapped: from here a failure, or a cancellation, puts the previous file back.
  let probeDetail: string | undefined;
  try {
    throwIfAborted(signal);
    progress('reload', file.reload.join(' '));
    const reload = await session.run(file.reload);
    if (reload.code !== 0) return await rollBack('reload', clip(output(reload)));
    throwIfAborted(signal);
    if (file.probe) {
      progress('probe', file.probe.kind);
      const probe = await runProbe(file.probe, session, { signal, onAttempt: (a) => pulse.beat({ probeAttempt: a.attempt, last: a.detail }) });
      probeDetail = probe.detail;
      if (!probe.ok) return await rollBack('probe', `${probe.detail} (after ${probe.attempts} attempts)`);
    }
  } catch (err) {
    if (signal?.aborted && err === signal.reason) {
      progress('rollback', 'cancelled');
      await restorePrevious(session, file);
    }
    throw err;
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

function checkFile(file: RemoteConfigFile): void {
  const bad = (why: string) => ApplicationFailure.nonRetryable(`config file ${file.path}: ${why}`, 'BadInput');
  if (!/^\/[A-Za-z0-9_./@+-]+$/.test(file.path) || file.path.split('/').includes('..')) {
    throw bad('the path must be absolute, without spaces, quotes or ".."');
  }
  if (file.validate.length === 0 || !file.validate.some((a) => a.includes(FILE_PLACEHOLDER))) {
    throw bad(`validate must be an argv naming the uploaded file as ${FILE_PLACEHOLDER}, e.g. ['haproxy', '-c', '-f', '${FILE_PLACEHOLDER}']`);
  }
  if (file.reload.length === 0) throw bad("reload must be an argv such as ['systemctl', 'reload-or-restart', 'haproxy']");
  if (file.deactivate !== undefined && file.deactivate.length === 0) throw bad("deactivate, when given, must be an argv such as ['systemctl', 'stop', 'keepalived']");
  if (file.mode !== undefined && !/^0?[0-7]{3}$/.test(file.mode)) throw bad(`mode ${file.mode} must be octal such as 0644`);
}
