// One SSH connection to an LB VM (node-ssh over ssh2): host key checked against the
// spec's pin before anything is sent, key authentication with a key resolved from its
// secret reference at call time, and commands run as argv (quoted for the remote shell).
//
// Errors are classified for Temporal: a refused host key, refused authentication or an
// unreadable key cannot be fixed by retrying (non-retryable, saying what to do); an
// unreachable or silent host can (retryable).
import { ApplicationFailure } from '@temporalio/common';
import { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { activityContext } from '../activity-context';
import type { SecretResolver } from '../secrets';
import { blobType, fingerprintOf, hostKeyAccepted, hostKeyAlgorithmsFor, judgeHostKey, parseHostKeyLine, type HostKeyPins, type HostKeyVerdict } from './host-key';
import type { KnownHostKeys, RecordedHostKey } from './known-hosts';
import { shellCommand } from './shell-quote';

export interface SshTarget {
  /** The spec server whose LB VM this is, for messages. */
  name?: string;
  host: string;
  port: number;
  user: string;
  /** Secret reference (env:NAME / file:/path) of the private key; resolved inside the activity. */
  privateKeyRef: string;
  /** Pinned host key, an OpenSSH public key line. */
  hostKey?: string;
  /**
   * With no pin: accept the key the host presents the first time, record it (OpenOptions.knownHosts)
   * and pin it from then on.
   */
  trustOnFirstUse: boolean;
}

export interface RemoteResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: string;
  /** Default 60 s: reloads and validations are quick; anything longer is a hung host. */
  timeoutMs?: number;
}

export interface OpenOptions {
  /** Handshake and authentication budget (default 10 s). */
  readyTimeoutMs?: number;
  /** Where keys trusted on first use are recorded and read back (the cluster's state directory). */
  knownHosts?: KnownHostKeys;
}

export class SshSession {
  private constructor(
    private readonly ssh: NodeSSH,
    readonly target: SshTarget,
    /** The host key the server presented, as an OpenSSH public key line (without comment). */
    readonly hostKeySeen: string,
  ) {}

  get where(): string {
    return `${this.target.user}@${this.target.host}:${this.target.port}`;
  }

  static async open(target: SshTarget, secrets: SecretResolver, opts: OpenOptions = {}): Promise<SshSession> {
    const where = `${target.user}@${target.host}:${target.port}`;
    const pins: HostKeyPins = {};
    if (target.hostKey !== undefined) {
      try {
        pins.spec = parseHostKeyLine(target.hostKey);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`pinned host key for ${target.host}: ${(err as Error).message}`, 'HostKeyInvalid');
      }
    }
    let recorded: RecordedHostKey | undefined;
    if (!pins.spec && opts.knownHosts) {
      recorded = await opts.knownHosts.recorded(target.host, target.port);
      if (recorded) pins.recorded = parseHostKeyLine(recorded.keyLine);
    }
    if (!pins.spec && !recorded && target.trustOnFirstUse && !opts.knownHosts) {
      throw ApplicationFailure.nonRetryable(
        `trustOnFirstUse for ${label(target)} needs the cluster's state directory to record the key it accepts (and pin it from then on); none was given to this call`,
        'HostKeyUnrecordable',
      );
    }
    const pinned = pins.spec ?? pins.recorded;
    const privateKey = await secrets(target.privateKeyRef);

    let seen: Buffer | undefined;
    let verdict: HostKeyVerdict | undefined;
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: target.host,
        port: target.port,
        username: target.user,
        privateKey,
        readyTimeout: opts.readyTimeoutMs ?? 10_000,
        ...(pinned ? { algorithms: { serverHostKey: hostKeyAlgorithmsFor(pinned.type) as never } } : {}),
        // ssh2 passes the raw key blob (no hostHash configured). Returning false ends the
        // handshake before authentication, so nothing is sent to a host we cannot vouch for.
        hostVerifier: (key: Buffer) => {
          seen = Buffer.from(key);
          verdict = judgeHostKey(seen, pins, target.trustOnFirstUse);
          return hostKeyAccepted(verdict);
        },
      });
    } catch (err) {
      ssh.dispose();
      throw classifyConnectError(err, where, target, seen, verdict, recorded);
    }
    // node-ssh stops listening for connection errors once connected; an 'error' event with
    // no listener would crash the worker, so keep one (commands in flight see the close).
    ssh.connection?.on('error', () => undefined);
    // Each command is a small request/response exchange; Nagle's algorithm would hold every one back.
    ssh.connection?.setNoDelay(true);
    const hostKeySeen = `${blobType(seen!)} ${seen!.toString('base64')}`;
    if (verdict?.kind === 'tofu') {
      // First use: record the key (one writer wins a race; a loser with another key is refused).
      const kept = await opts.knownHosts!.record(target.host, target.port, hostKeySeen).catch((err: unknown) => {
        ssh.dispose();
        throw err;
      });
      if (kept.keyLine !== hostKeySeen) {
        ssh.dispose();
        throw classifyConnectError(new Error('host key changed'), where, target, seen, { kind: 'mismatch', by: 'record', expected: fingerprintOf(parseHostKeyLine(kept.keyLine).blob) }, kept);
      }
      if (kept.recordedNow) {
        (activityContext()?.log ?? console).warn(
          `trust on first use: ${label(target)} presented host key ${fingerprintOf(seen!)} (${blobType(seen!)}); recorded in ${kept.file} and pinned from now on. ` +
            `Check it out of band, then pin it in the spec: ssh.hostKey: "${hostKeySeen}"`,
        );
      }
    }
    return new SshSession(ssh, target, hostKeySeen);
  }

  /** SHA256 fingerprint of the key the host presented, as ssh-keygen -l prints it. */
  get hostKeyFingerprint(): string {
    return fingerprintOf(parseHostKeyLine(this.hostKeySeen).blob);
  }

  /** Runs argv on the target. A non-zero exit is a result, not an error; a lost connection or timeout throws (retryable). */
  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RemoteResult> {
    const command = shellCommand(argv);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    let channel: ClientChannel | undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        channel?.close();
        reject(ApplicationFailure.retryable(`${argv[0]} on ${this.where} did not finish within ${timeoutMs} ms`, 'SshCommandTimeout'));
      }, timeoutMs);
    });
    try {
      const result = await Promise.race([
        this.ssh.execCommand(command, { stdin: opts.stdin, noTrim: true, onChannel: (c) => (channel = c) }),
        timeout,
      ]);
      if (result.code === null && result.signal === null) {
        // The channel closed without an exit status: the connection dropped under the command.
        throw ApplicationFailure.retryable(`${argv[0]} on ${this.where} ended without an exit status; the connection was lost`, 'SshConnectionLost');
      }
      return { code: result.code, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      throw ApplicationFailure.retryable(`running ${argv[0]} on ${this.where} failed: ${(err as Error).message}; the host may be down or rebooting`, 'SshConnectionLost');
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.ssh.dispose();
  }
}

function label(target: SshTarget): string {
  return `${target.name ? `the LB of ${target.name} at ` : ''}${target.host}:${target.port}`;
}

function classifyConnectError(
  err: unknown,
  where: string,
  target: SshTarget,
  seen: Buffer | undefined,
  verdict: HostKeyVerdict | undefined,
  recorded: RecordedHostKey | undefined,
): Error {
  const seenText = seen ? `${fingerprintOf(seen)} (${blobType(seen)})` : 'none';
  if (verdict?.kind === 'mismatch' && verdict.by === 'record') {
    return ApplicationFailure.nonRetryable(
      `refusing ${label(target)}: its host key is ${seenText}, but the key trusted on first use there is ${verdict.expected} (recorded in ${recorded?.file ?? 'the state directory'}). ` +
        'If the LB VM was rebuilt, check the new key out of band (ssh-keyscan from a trusted network, or the VM console), then pin it as ssh.hostKey in the spec or delete that file to trust the next key',
      'HostKeyMismatch',
    );
  }
  if (verdict?.kind === 'mismatch') {
    return ApplicationFailure.nonRetryable(
      `refusing ${label(target)}: its host key is ${seenText}, but the spec pins ${verdict.expected}. ` +
        'If the LB VM was rebuilt, check the new key out of band (ssh-keyscan from a trusted network, or the VM console) and update ssh.hostKey in the spec',
      'HostKeyMismatch',
    );
  }
  if (verdict?.kind === 'unknown') {
    return ApplicationFailure.nonRetryable(
      `refusing ${label(target)}: no host key is pinned in the spec and trustOnFirstUse is false; the host presented ${seenText}. ` +
        'Pin it as ssh.hostKey (the OpenSSH public key line) once you have checked it, or set ssh.trustOnFirstUse: true',
      'HostKeyUnknown',
    );
  }
  const e = err as Error & { level?: string; code?: string };
  if (e.level === 'client-authentication') {
    return ApplicationFailure.nonRetryable(
      `${where} refused the key from ${target.privateKeyRef}; add its public key to the authorized_keys of ${target.user} on the LB VM, or fix ssh.privateKey`,
      'SshAuthFailed',
    );
  }
  if (/Cannot parse privateKey|privateKey/i.test(e.message ?? '') && e.level === undefined) {
    // ssh2's own message is safe, but say it our way so nothing of the key can ever leak.
    return ApplicationFailure.nonRetryable(`the private key from ${target.privateKeyRef} cannot be read as an SSH private key (OpenSSH or PEM, unencrypted)`, 'SshKeyInvalid');
  }
  if (e.level === 'handshake' && (target.hostKey !== undefined || recorded !== undefined)) {
    return ApplicationFailure.nonRetryable(
      `${label(target)} offers no host key of the pinned type (${e.message}); the VM's SSH host keys changed or the ${target.hostKey !== undefined ? 'pin in the spec' : `key recorded in ${recorded!.file}`} is wrong`,
      'HostKeyMismatch',
    );
  }
  return ApplicationFailure.retryable(`cannot reach ${where} over SSH (${e.code ?? e.level ?? 'error'}: ${e.message}); is the LB VM up and sshd listening?`, 'SshUnreachable');
}
