// The SSH push against the in-process LB host: real SSH (ssh2 client and server, host key
// and key authentication), stand-in programs behind the commands.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSshActivities } from '../../activities/ssh/activities';
import { fingerprintOf, parseHostKeyLine } from '../../activities/ssh/host-key';
import { pushConfigFile, readRemoteFile, type PushFailureDetails } from '../../activities/ssh/push';
import { KnownHostKeys } from '../../activities/ssh/known-hosts';
import { SshSession, type SshTarget } from '../../activities/ssh/session';
import { StateStore } from '../../activities/talos/state-store';
import { renderHaproxyCfg } from '../../core/render/haproxy';
import { lbConfigFiles, type RemoteConfigFile } from '../../core/render/lb-files';
import { loadSpecFile } from '../../core/spec/load';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { InProcessLbHost } from '../../sandbox/lbhost/host';
import { ed25519KeyPair, secretsWith, TEST_KEY_REF } from './helpers';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
const PATH = '/etc/haproxy/haproxy.cfg';
const client = ed25519KeyPair();
const secrets = secretsWith({ [TEST_KEY_REF]: client.privateKey });
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

let root: string;
let audit: AuditLog;
let faults: FaultInjector;
let host: InProcessLbHost;
let target: SshTarget;

function haproxyFile(content: string, extra: Partial<RemoteConfigFile> = {}): RemoteConfigFile {
  return {
    path: PATH,
    content,
    validate: ['haproxy', '-c', '-f', '{file}'],
    reload: ['systemctl', 'reload', 'haproxy'],
    probe: { kind: 'http', url: host.healthUrl, attempts: 3, intervalMs: 50 },
    ...extra,
  };
}

async function pushError(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

const onHost = (path: string) => join(root, path);
const v1 = renderHaproxyCfg(spec, 'srv-a');
const v2 = renderHaproxyCfg(spec, 'srv-a', { ingressBackendPorts: { http: 30080, https: 30443 } });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ak8s-lbhost-'));
  audit = new AuditLog();
  faults = new FaultInjector();
  host = await InProcessLbHost.start({ name: 'lb-a', authorizedKey: client.publicKey, rootDir: root, audit, faults });
  mkdirSync(onHost('/etc/haproxy'), { recursive: true });
  mkdirSync(onHost('/etc/nginx'), { recursive: true });
  target = { host: '127.0.0.1', port: host.port, user: 'root', privateKeyRef: TEST_KEY_REF, hostKey: host.hostKeyLine, trustOnFirstUse: false };
});

afterAll(async () => {
  await host?.stop();
  rmSync(root, { recursive: true, force: true });
});

beforeEach(async () => {
  faults.clear();
  await host.setHealthy(true);
});

describe('pushConfigFile against the in-process LB host', () => {
  it('uploads, validates, swaps, reloads and probes a new file', async () => {
    const stages: string[] = [];
    const result = await pushConfigFile(target, haproxyFile(v1), { secrets, onProgress: (s) => stages.push(s) });
    expect(result).toMatchObject({ changed: true, reloaded: true, rolledBack: false, resumed: false, contentSha256: sha(v1) });
    expect(result.validatedWith).toBe(`haproxy -c -f ${PATH}.autok8s-new`);
    expect(result.validationOutput).toContain('Configuration file is valid');
    expect(stages).toEqual(['connect', 'lock', 'inspect', 'upload', 'validate', 'backup', 'swap', 'reload', 'probe', 'finish']);
    expect(readFileSync(onHost(PATH), 'utf8')).toBe(v1);
    expect(host.unit('haproxy')).toMatchObject({ loadedSha256: sha(v1), reloads: 1 });
    // No leftovers: the temporary upload and the in-flight markers are gone.
    expect(existsSync(onHost(`${PATH}.autok8s-new`))).toBe(false);
    expect(existsSync(onHost(`${PATH}.autok8s-absent`))).toBe(false);
  });

  it('does nothing for unchanged content: no upload, no reload', async () => {
    const uploadsBefore = audit.count({ service: 'ssh:lb-a', action: 'upload' });
    const reloadsBefore = host.unit('haproxy')!.reloads;
    const result = await pushConfigFile(target, haproxyFile(v1), { secrets });
    expect(result).toMatchObject({ changed: false, reloaded: false, validatedWith: null });
    expect(audit.count({ service: 'ssh:lb-a', action: 'upload' })).toBe(uploadsBefore);
    expect(host.unit('haproxy')!.reloads).toBe(reloadsBefore);
  });

  it('keeps the previous file as .autok8s-prev after replacing it', async () => {
    const result = await pushConfigFile(target, haproxyFile(v2), { secrets });
    expect(result.changed).toBe(true);
    expect(readFileSync(onHost(PATH), 'utf8')).toBe(v2);
    expect(readFileSync(onHost(`${PATH}.autok8s-prev`), 'utf8')).toBe(v1);
    expect(existsSync(onHost(`${PATH}.autok8s-rollback`))).toBe(false);
    expect(await readRemoteFile(target, PATH, { secrets })).toBe(v2);
    expect(await readRemoteFile(target, '/etc/haproxy/none.cfg', { secrets })).toBeUndefined();
  });

  it('refuses a config the validator rejects, with its output, and leaves the live file alone', async () => {
    const reloadsBefore = host.unit('haproxy')!.reloads;
    const broken = `${v1}\nfrontend broken\n  bind *:99999\n  default_backend nowhere\n`;
    const err = await pushError(pushConfigFile(target, haproxyFile(broken), { secrets }));
    expect(err.type).toBe('ConfigInvalid');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain("invalid address '*:99999'");
    expect(err.details?.[0]).toMatchObject({ stage: 'validate', rolledBack: false } satisfies Partial<PushFailureDetails>);
    expect(readFileSync(onHost(PATH), 'utf8')).toBe(v2);
    expect(existsSync(onHost(`${PATH}.autok8s-new`))).toBe(false);
    expect(host.unit('haproxy')!.reloads).toBe(reloadsBefore);
  });

  it('rolls back and reloads the previous file when the reload fails', async () => {
    faults.add({ service: 'ssh:lb-a', method: 'exec', path: '^systemctl reload haproxy$', effect: { kind: 'status', status: 1, message: 'Job for haproxy.service failed' } });
    const err = await pushError(pushConfigFile(target, haproxyFile(v1), { secrets }));
    expect(err.type).toBe('ReloadFailed');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('Job for haproxy.service failed');
    expect(err.details?.[0]).toMatchObject({ stage: 'reload', rolledBack: true, rollbackReload: 'ok' });
    expect(readFileSync(onHost(PATH), 'utf8')).toBe(v2);
    expect(host.unit('haproxy')!.loadedSha256).toBe(sha(v2));
  });

  it('rolls back when the probe fails after the reload', async () => {
    await host.setHealthy(false);
    const err = await pushError(pushConfigFile(target, haproxyFile(v1), { secrets }));
    expect(err.type).toBe('ProbeFailed');
    expect(err.message).toMatch(/unreachable \(ECONNREFUSED\)/);
    expect(err.details?.[0]).toMatchObject({ stage: 'probe', rolledBack: true, rollbackReload: 'ok' });
    expect(readFileSync(onHost(PATH), 'utf8')).toBe(v2);
  });

  it('finishes a push cut off after the swap instead of calling the file unchanged', async () => {
    // The connection drops when the reload is sent: the new file is in place, never loaded.
    faults.add({ service: 'ssh:lb-a', method: 'exec', path: '^systemctl reload haproxy$', effect: { kind: 'reset' } });
    const err = await pushError(pushConfigFile(target, haproxyFile(v1), { secrets }));
    expect(err.nonRetryable).toBe(false);
    expect(readFileSync(onHost(PATH), 'utf8')).toBe(v1);
    expect(existsSync(onHost(`${PATH}.autok8s-rollback`))).toBe(true);
    expect(host.unit('haproxy')!.loadedSha256).toBe(sha(v2));

    const retry = await pushConfigFile(target, haproxyFile(v1), { secrets });
    expect(retry).toMatchObject({ changed: true, resumed: true, reloaded: true });
    expect(host.unit('haproxy')!.loadedSha256).toBe(sha(v1));
    expect(existsSync(onHost(`${PATH}.autok8s-rollback`))).toBe(false);
    expect(readFileSync(onHost(`${PATH}.autok8s-prev`), 'utf8')).toBe(v2);
  });

  it('removes a first-ever file again when its reload fails (there is nothing to go back to)', async () => {
    const path = '/etc/haproxy/extra.cfg';
    const err = await pushError(pushConfigFile(target, { ...haproxyFile(v1), path, reload: ['false'], probe: undefined }, { secrets }));
    expect(err.details?.[0]).toMatchObject({ stage: 'reload', rolledBack: true, rollbackReload: 'skipped' });
    expect(existsSync(onHost(path))).toBe(false);
    expect(existsSync(onHost(`${path}.autok8s-absent`))).toBe(false);
  });
});

describe('SSH trust against the in-process LB host', () => {
  it('refuses a host whose key differs from the pinned one, naming the key it saw', async () => {
    const execsBefore = audit.count({ service: 'ssh:lb-a' });
    const other = ed25519KeyPair().publicKey;
    const err = await pushError(pushConfigFile({ ...target, hostKey: other }, haproxyFile(v1), { secrets }));
    expect(err.type).toBe('HostKeyMismatch');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(fingerprintOf(parseHostKeyLine(host.hostKeyLine).blob));
    expect(err.message).toContain(fingerprintOf(parseHostKeyLine(other).blob));
    expect(audit.count({ service: 'ssh:lb-a' })).toBe(execsBefore);
  });

  it('refuses an unpinned host unless trust on first use is on, and then reports the key seen', async () => {
    const unpinned = { ...target, hostKey: undefined };
    const err = await pushError(pushConfigFile(unpinned, haproxyFile(v1), { secrets }));
    expect(err.type).toBe('HostKeyUnknown');
    expect(err.message).toContain(fingerprintOf(parseHostKeyLine(host.hostKeyLine).blob));
    const knownHosts = new KnownHostKeys(new StateStore(join(root, 'autok8s-state')));
    const session = await SshSession.open({ ...unpinned, trustOnFirstUse: true }, secrets, { knownHosts });
    session.close();
    expect(session.hostKeySeen).toBe(host.hostKeyLine);
  });

  it('is refused by the host with a key it does not know (non-retryable)', async () => {
    const stranger = ed25519KeyPair();
    const err = await pushError(pushConfigFile(target, haproxyFile(v1), { secrets: secretsWith({ [TEST_KEY_REF]: stranger.privateKey }) }));
    expect(err.type).toBe('SshAuthFailed');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).not.toContain(stranger.privateKey.split('\n')[1]);
    expect(audit.count({ service: 'ssh:lb-a', action: 'auth', outcome: 'rejected' })).toBeGreaterThan(0);
  });

  it('reads a key resolved with its trailing newline trimmed, and refuses text that is no key without echoing it', async () => {
    const trimmed = await pushConfigFile(target, haproxyFile(v2), { secrets: secretsWith({ [TEST_KEY_REF]: client.privateKey.trim() }) });
    expect(trimmed.contentSha256).toBe(sha(v2));
    expect(readFileSync(onHost(PATH), 'utf8')).toBe(v2);
    const err = await pushError(pushConfigFile(target, haproxyFile(v2), { secrets: secretsWith({ [TEST_KEY_REF]: 'not-a-key-s3cr3t' }) }));
    expect(err.type).toBe('SshKeyInvalid');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(TEST_KEY_REF);
    expect(err.message).not.toContain('s3cr3t');
  });

  it('says so when the validating program is missing on the target', async () => {
    const err = await pushError(pushConfigFile(target, { ...haproxyFile(v1), validate: ['haproxy2', '-c', '-f', '{file}'] }, { secrets }));
    expect(err.type).toBe('ValidatorMissing');
    expect(err.message).toMatch(/haproxy2 is not installed on 127\.0\.0\.1/);
    expect(readFileSync(onHost(PATH), 'utf8')).toBe(v2);
  });

  it('reports a host that does not answer as retryable', async () => {
    const err = await pushError(pushConfigFile({ ...target, port: 1 }, haproxyFile(v1), { secrets }));
    expect(err.type).toBe('SshUnreachable');
    expect(err.nonRetryable).toBe(false);
  });

  it('passes arguments with spaces, quotes and shell characters through unchanged', async () => {
    const session = await SshSession.open(target, secrets);
    try {
      const args = ['a b', "it's", '$HOME', '`id`', 'x;y', '*', ''];
      const result = await session.run(['echo', ...args]);
      expect(result.stdout).toBe(`${args.join(' ')}\n`);
    } finally {
      session.close();
    }
  });
});

describe('pushLbConfigFile activity', () => {
  it('reaches the LB through the spec server entry, pushes, and heartbeats every stage', async () => {
    const base = spec.servers[0];
    const server = { ...base, ssh: { ...base.ssh, address: host.address, hostKey: host.hostKeyLine, privateKey: TEST_KEY_REF } };
    const nginx = lbConfigFiles(spec, 'srv-a', { gateways: spec.servers.map(() => '198.51.100.254') }).find((f) => f.program === 'nginx')!;
    const env = new MockActivityEnvironment();
    const beats: { stage: string }[] = [];
    env.on('heartbeat', (d: { stage: string }) => beats.push(d));
    const activities = createSshActivities({ secrets });
    const result = await env.run(activities.pushLbConfigFile, { server, file: nginx });
    expect(result).toMatchObject({ changed: true, reloaded: true, probe: 'systemctl is-active --quiet nginx exited 0' });
    // (Beats marked "still" repeat a stage that ran long; they come and go with the machine's load.)
    expect(beats.filter((b) => !('still' in b)).map((b) => b.stage)).toEqual(['connect', 'lock', 'inspect', 'upload', 'validate', 'backup', 'swap', 'reload', 'probe', 'finish']);
    expect(host.unit('nginx')!.loadedSha256).toBe(sha(nginx.content));
    expect(await env.run(activities.readLbConfigFile, { server, path: nginx.path })).toBe(nginx.content);
  });
});

/** An LB VM with its public NIC (eth1), which keepalived.conf's public network names. */
const LB_VM_INTERFACES = ['lo', 'eth0', 'eth1'];

describe('pushLbConfigs activity over three in-process LB hosts', () => {
  const hosts: InProcessLbHost[] = [];
  let roots: string[] = [];
  let clusterAudit: AuditLog;
  let cluster: typeof spec;

  beforeAll(async () => {
    clusterAudit = new AuditLog();
    roots = spec.servers.map(() => mkdtempSync(join(tmpdir(), 'ak8s-lbhosts-')));
    for (const [i, s] of spec.servers.entries()) {
      hosts.push(await InProcessLbHost.start({ name: s.name, authorizedKey: client.publicKey, rootDir: roots[i], audit: clusterAudit, interfaces: LB_VM_INTERFACES }));
    }
    cluster = {
      ...spec,
      servers: spec.servers.map((s, i) => ({
        ...s,
        lbHealthUrl: hosts[i].healthUrl,
        ssh: { ...s.ssh, address: hosts[i].address, hostKey: hosts[i].hostKeyLine, privateKey: TEST_KEY_REF },
      })),
    };
  });

  afterAll(async () => {
    for (const h of hosts) await h.stop();
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  it('on fresh LBs pushes the active one first, so its keepalived wins the first election; then finds nothing to change', async () => {
    const activities = createSshActivities({ secrets });
    const first = await activities.pushLbConfigs(cluster, { activeServer: 'srv-a', gateways: cluster.servers.map(() => '198.51.100.254') });
    expect(first.order.map((s) => s.server)).toEqual(['srv-a', 'srv-b', 'srv-c']);
    expect(first.why).toMatch(/active LB srv-a first: its keepalived does not run yet/);
    expect(first.changed).toHaveLength(9);
    expect(first.changed.slice(0, 3).every((k) => k.startsWith('srv-a:'))).toBe(true);
    // Every standby received its first upload only after the active LB was done.
    const uploads = clusterAudit.entries({ action: 'upload' });
    const firstStandby = uploads.findIndex((e) => e.service !== 'ssh:srv-a');
    expect(uploads.slice(firstStandby).every((e) => e.service !== 'ssh:srv-a')).toBe(true);
    for (const h of hosts) expect(h.unit('haproxy')!.reloads).toBe(1);

    const again = await activities.pushLbConfigs(cluster, { activeServer: 'srv-a', gateways: cluster.servers.map(() => '198.51.100.254') });
    expect(again.changed).toEqual([]);
    expect(again.unchanged).toHaveLength(9);
    for (const h of hosts) expect(h.unit('haproxy')!.reloads).toBe(1);
  });

  it('once keepalived runs, pushes the standbys first and stops before the active LB when a standby refuses its config', async () => {
    const activities = createSshActivities({ secrets, render: { haproxy: { ingressBackendPorts: { http: 30080, https: 30443 } } } });
    const reloadsOfActive = hosts[0].unit('haproxy')!.reloads;
    // srv-b's haproxy reload fails (rolled back there); srv-a, the active LB, must stay untouched.
    const faults = new FaultInjector();
    faults.add({ service: 'ssh:srv-b', method: 'exec', path: '^systemctl reload-or-restart haproxy$', effect: { kind: 'status', status: 1, message: 'Job for haproxy.service failed' } });
    const faulty = await InProcessLbHost.start({ name: 'srv-b', authorizedKey: client.publicKey, rootDir: roots[1], audit: clusterAudit, faults, interfaces: LB_VM_INTERFACES });
    try {
      const withFaulty = { ...cluster, servers: cluster.servers.map((s) => (s.name === 'srv-b' ? { ...s, ssh: { ...s.ssh, address: faulty.address, hostKey: faulty.hostKeyLine } } : s)) };
      const err = await pushError(activities.pushLbConfigs(withFaulty, { activeServer: 'srv-a', gateways: withFaulty.servers.map(() => '198.51.100.254') }));
      expect(err.type).toBe('ReloadFailed');
      expect(hosts[0].unit('haproxy')!.reloads).toBe(reloadsOfActive);
    } finally {
      await faulty.stop();
    }
  });
});
