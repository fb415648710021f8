// Host keys accepted on first use, recorded in the cluster's state directory (one file per
// LB address, `ssh-host-keys/<host>_<port>`, an OpenSSH known_hosts line) and pinned from
// then on. The file is written once, atomically (a hard link that fails when it exists), so
// two first connections cannot record two different keys; its mode is checked on every read
// like every file of the state store.
import { writeFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { StateStore } from '../talos/state-store';
import type { ClusterSpec } from '../../core/spec/schema';
import { parseHostKeyLine } from './host-key';

export interface RecordedHostKey {
  /** The key as an OpenSSH public key line ("ssh-ed25519 AAAA..."). */
  keyLine: string;
  /** Where it is recorded. */
  file: string;
}

export class KnownHostKeys {
  constructor(private readonly store: StateStore) {}

  static forCluster(cluster: Pick<ClusterSpec, 'metadata' | 'state'>, env?: NodeJS.ProcessEnv): KnownHostKeys {
    return new KnownHostKeys(StateStore.forCluster(cluster, env));
  }

  private name(host: string, port: number): string {
    return `ssh-host-keys/${host.replace(/[^A-Za-z0-9.:-]/g, '_')}_${port}`;
  }

  /** The key recorded for this address, if any. */
  async recorded(host: string, port: number): Promise<RecordedHostKey | undefined> {
    const name = this.name(host, port);
    const text = await this.store.read(name);
    if (text === undefined) return undefined;
    const [, type, blob] = text.trim().split(/\s+/);
    const keyLine = `${type} ${blob}`;
    try {
      parseHostKeyLine(keyLine);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`${this.store.path(name)} does not hold a known_hosts line (${(err as Error).message}); remove it to record the key again`, 'HostKeyInvalid');
    }
    return { keyLine, file: this.store.path(name) };
  }

  /** Records the key unless one is recorded already; returns the one that is recorded now. */
  async record(host: string, port: number, keyLine: string): Promise<RecordedHostKey & { recordedNow: boolean }> {
    const name = this.name(host, port);
    await this.store.ensureDir('ssh-host-keys');
    const temp = this.store.tempPath(name);
    await writeFile(temp, `${port === 22 ? host : `[${host}]:${port}`} ${keyLine}\n`, { mode: 0o600 });
    if (await this.store.installIfAbsent(temp, name)) return { keyLine, file: this.store.path(name), recordedNow: true };
    return { ...(await this.recorded(host, port))!, recordedNow: false };
  }
}
