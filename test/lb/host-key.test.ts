import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobType, fingerprintOf, hostKeyAlgorithmsFor, parseHostKeyLine } from '../../activities/ssh/host-key';
import { findProgram } from '../../sandbox/netns/lab';
import { ed25519KeyPair } from './helpers';
import { requireInCi } from '../helpers/prerequisites';

describe('host key pins', () => {
  it('reads an OpenSSH public key line with or without a comment', () => {
    const line = ed25519KeyPair('lb-a').publicKey;
    const withComment = parseHostKeyLine(line);
    const bare = parseHostKeyLine(line.split(' ').slice(0, 2).join(' '));
    expect(withComment.type).toBe('ssh-ed25519');
    expect(blobType(withComment.blob)).toBe('ssh-ed25519');
    expect(bare.blob.equals(withComment.blob)).toBe(true);
  });

  it.each(['', 'ssh-ed25519', 'ssh-ed25519 AAAA', 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIO6lDn0Yb7sp1mkY0I3yQ4Fz5J0dqSO6bVjE0j6lYt0x', 'not a key at all'])(
    'refuses %j, pointing at ssh-keyscan',
    (line) => {
      expect(() => parseHostKeyLine(line)).toThrow(/ssh-keyscan/);
    },
  );

  it.skipIf(requireInCi(findProgram('ssh-keygen') ? undefined : 'ssh-keygen is not installed (apt-get install openssh-client)', 'the ssh-keygen fingerprint check'))('prints fingerprints exactly as ssh-keygen -l does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ak8s-hostkey-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
      const line = readFileSync(join(dir, 'k.pub'), 'utf8');
      const shown = execFileSync('ssh-keygen', ['-lf', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1];
      expect(fingerprintOf(parseHostKeyLine(line).blob)).toBe(shown);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('offers only the pinned key type (all RSA signature variants for ssh-rsa)', () => {
    expect(hostKeyAlgorithmsFor('ssh-ed25519')).toEqual(['ssh-ed25519']);
    expect(hostKeyAlgorithmsFor('ssh-rsa')).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  });
});
