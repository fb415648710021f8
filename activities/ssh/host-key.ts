// Host keys as the spec pins them: an OpenSSH public key line ("ssh-ed25519 AAAA... comment").
// ssh2 hands `hostVerifier` the raw key blob the server presented; the pin holds when the
// blob equals the base64 part of the line. Fingerprints are printed as OpenSSH does
// (`SHA256:` + unpadded base64), so they match `ssh-keygen -lf` and ssh's own prompts.
import { createHash } from 'node:crypto';

export interface PinnedHostKey {
  type: string;
  blob: Buffer;
}

export function parseHostKeyLine(line: string): PinnedHostKey {
  const [type, base64] = line.trim().split(/\s+/);
  const blob = Buffer.from(base64 ?? '', 'base64');
  // The blob starts with its own type as an SSH string; checking it catches a truncated or mangled paste.
  const innerLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  const innerType = innerLength > 0 && blob.length >= 4 + innerLength ? blob.subarray(4, 4 + innerLength).toString('latin1') : undefined;
  if (!type || innerType !== type) {
    throw new Error(`host key "${line.slice(0, 40)}..." is not an OpenSSH public key line (type then base64 blob); copy it from ssh-keygen -y or ssh-keyscan`);
  }
  return { type, blob };
}

export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside a blob ("ssh-ed25519", "ssh-rsa", ...). */
export function blobType(blob: Buffer): string {
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('latin1');
}

/**
 * Host key algorithms to offer so that the server presents the pinned key type (a server
 * with several host keys presents the first type both sides support).
 */
export function hostKeyAlgorithmsFor(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

/** Where the key a connection must present comes from: the spec's pin first, else a key trusted on first use and recorded. */
export interface HostKeyPins {
  spec?: PinnedHostKey;
  recorded?: PinnedHostKey;
}

export type HostKeyVerdict =
  | { kind: 'match'; by: 'spec' | 'record' }
  /** No pin and no record: accepted because trustOnFirstUse is on; to be recorded. */
  | { kind: 'tofu' }
  | { kind: 'mismatch'; by: 'spec' | 'record'; expected: string }
  /** No pin, no record, no trust on first use. */
  | { kind: 'unknown' };

/** Judges the key a host presented. Pure. */
export function judgeHostKey(seen: Buffer, pins: HostKeyPins, trustOnFirstUse: boolean): HostKeyVerdict {
  const pin = pins.spec ? { key: pins.spec, by: 'spec' as const } : pins.recorded ? { key: pins.recorded, by: 'record' as const } : undefined;
  if (pin) return seen.equals(pin.key.blob) ? { kind: 'match', by: pin.by } : { kind: 'mismatch', by: pin.by, expected: fingerprintOf(pin.key.blob) };
  return trustOnFirstUse ? { kind: 'tofu' } : { kind: 'unknown' };
}

export const hostKeyAccepted = (v: HostKeyVerdict) => v.kind === 'match' || v.kind === 'tofu';
