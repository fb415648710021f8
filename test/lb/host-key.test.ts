// Host keys: pins as the spec writes them, fingerprints as ssh-keygen prints them, and trust
// on first use, which records the key it accepted in the cluster's state directory and pins
// it from then on.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSshActivities } from '../../activities/ssh/activities';
import { blobType, fingerprintOf, hostKeyAlgorithmsFor, judgeHostKey, parseHostKeyLine } from '../../activities/ssh/host-key';
import { KnownHostKeys } from '../../activities/ssh/known-hosts';
import { SshSession, type SshTarget } from '../../activities/ssh/session';
import { StateStore } from '../../activities/talos/state-store';
import { loadSpecFile } from '../../core/spec/load';
import { AuditLog } from '../../sandbox/audit';
import { InProcessLbHost } from '../../sandbox/lbhost/host';
import { findProgram } from '../../sandbox/netns/lab';
import { ed25519KeyPair, secretsWith, TEST_KEY_REF } from './helpers';
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

describe('judgeHostKey', () => {
  const a = parseHostKeyLine(ed25519KeyPair('a').publicKey);
  const b = parseHostKeyLine(ed25519KeyPair('b').publicKey);
  it.each([
    ['the spec pin matches', a.blob, { spec: a }, false, { kind: 'match', by: 'spec' }],
    ['the spec pin differs', b.blob, { spec: a }, true, { kind: 'mismatch', by: 'spec' }],
    ['the spec pin wins over a record', a.blob, { spec: a, recorded: b }, true, { kind: 'match', by: 'spec' }],
    ['a recorded key matches, trust on first use or not', a.blob, { recorded: a }, false, { kind: 'match', by: 'record' }],
    ['a recorded key differs: refused even with trust on first use', b.blob, { recorded: a }, true, { kind: 'mismatch', by: 'record' }],
    ['nothing pinned or recorded, trust on first use: accepted (to be recorded)', a.blob, {}, true, { kind: 'tofu' }],
    ['nothing pinned or recorded, no trust on first use: unknown', a.blob, {}, false, { kind: 'unknown' }],
  ] as const)('%s', (_name, seen, pins, tofu, verdict) => {
    expect(judgeHostKey(seen, pins, tofu)).toMatchObject(verdict);
  });

  it('names the expected fingerprint of a mismatch', () => {
    expect(judgeHostKey(b.blob, { recorded: a }, true)).toEqual({ kind: 'mismatch', by: 'record', expected: fingerprintOf(a.blob) });
  });
});

describe('trust on first use against the in-process LB host', () => {
  const client = ed25519KeyPair();
  const secrets = secretsWith({ [TEST_KEY_REF]: client.privateKey });
  let dir: string;
  let hosts: InProcessLbHost[];
  const start = async (opts: { port?: number; hostKey?: string } = {}) => {
    const h = await InProcessLbHost.start({ name: 'lb-a', authorizedKey: client.publicKey, rootDir: join(dir, `root-${hosts.length}`), audit: new AuditLog(), ...opts });
    hosts.push(h);
    return h;
  };
  const targetOf = (h: InProcessLbHost): SshTarget => ({ name: 'srv-a', host: '127.0.0.1', port: h.port, user: 'root', privateKeyRef: TEST_KEY_REF, trustOnFirstUse: true });
  const connect = async (t: SshTarget, knownHosts?: KnownHostKeys) => (await SshSession.open(t, secrets, { knownHosts })).close();
  const recordFile = (h: InProcessLbHost) => join(dir, 'state', 'ssh-host-keys', `127.0.0.1_${h.port}`);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ak8s-tofu-'));
    hosts = [];
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const h of hosts) await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records the key it accepted in the state directory, says its fingerprint, and pins it from then on', async () => {
    const host = await start();
    const knownHosts = new KnownHostKeys(new StateStore(join(dir, 'state')));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    await connect(targetOf(host), knownHosts);

    const fingerprint = fingerprintOf(parseHostKeyLine(host.hostKeyLine).blob);
    expect(readFileSync(recordFile(host), 'utf8')).toBe(`[127.0.0.1]:${host.port} ${host.hostKeyLine}\n`);
    expect(statSync(recordFile(host)).mode & 0o777).toBe(0o600);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toContain(fingerprint);
    expect(warn.mock.calls[0][0]).toContain(`ssh.hostKey: "${host.hostKeyLine}"`);
    expect(warn.mock.calls[0][0]).toContain(`srv-a at 127.0.0.1:${host.port}`);

    await connect(targetOf(host), knownHosts); // the recorded key: accepted, nothing new to say
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('refuses the host once its key changed, naming the host, both fingerprints and the record', async () => {
    const first = await start();
    const knownHosts = new KnownHostKeys(new StateStore(join(dir, 'state')));
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    await connect(targetOf(first), knownHosts);
    const port = first.port;
    await first.stop();
    const rebuilt = await start({ port }); // same address, a fresh host key

    const err = await connect(targetOf(rebuilt), knownHosts).then(
      () => undefined,
      (e: unknown) => e as ApplicationFailure,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err!.type).toBe('HostKeyMismatch');
    expect(err!.nonRetryable).toBe(true);
    expect(err!.message).toContain(`127.0.0.1:${port}`);
    expect(err!.message).toContain(fingerprintOf(parseHostKeyLine(first.hostKeyLine).blob));
    expect(err!.message).toContain(fingerprintOf(parseHostKeyLine(rebuilt.hostKeyLine).blob));
    expect(err!.message).toContain(recordFile(rebuilt));
    expect(readFileSync(recordFile(rebuilt), 'utf8')).toContain(first.hostKeyLine);

    // A key pinned in the spec is what counts over a record.
    await connect({ ...targetOf(rebuilt), hostKey: rebuilt.hostKeyLine }, knownHosts);
  });

  it('refuses trust on first use where there is nowhere to record the key', async () => {
    const host = await start();
    const err = await connect(targetOf(host)).then(
      () => undefined,
      (e: unknown) => e as ApplicationFailure,
    );
    expect(err).toMatchObject({ type: 'HostKeyUnrecordable', nonRetryable: true });
  });

  it('the LB activities record under the cluster state directory of the spec', async () => {
    const host = await start();
    const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
    const base = spec.servers[0];
    const server = { ...base, ssh: { ...base.ssh, address: host.address, hostKey: undefined, trustOnFirstUse: true, privateKey: TEST_KEY_REF } };
    const cluster = { ...spec, state: { ...spec.state, dir: join(dir, 'state') } };
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(await createSshActivities({ secrets }).readLbConfigFile({ server, path: '/etc/haproxy/haproxy.cfg', cluster })).toBeNull();
    expect(readFileSync(recordFile(host), 'utf8')).toContain(host.hostKeyLine);
  });
});
