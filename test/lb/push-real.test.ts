// The SSH push against a real LB host: OpenSSH sshd, HAProxy and keepalived inside a
// network namespace, a control-plane stand-in (a TCP server) in another one. Root only.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushConfigFile, type PushDeps } from '../../activities/ssh/push';
import type { SshTarget } from '../../activities/ssh/session';
import { sshTargetFor } from '../../activities/ssh/target';
import { renderHaproxyCfg } from '../../core/render/haproxy';
import { renderKeepalivedConf } from '../../core/render/keepalived';
import type { RemoteConfigFile } from '../../core/render/lb-files';
import type { ClusterSpec } from '../../core/spec/schema';
import { renderNginxConf } from '../../core/render/nginx';
import { canConnect, startHaproxy, startNginx, startSshd, waitForPort, type HaproxyHandle, type SshdHandle } from '../../sandbox/netns/daemons';
import { NetnsLab, netnsUnavailableReason, type LabHost } from '../../sandbox/netns/lab';
import { ed25519KeyPair, labSpec, sampleWhile, secretsWith, TEST_KEY_REF } from './helpers';
import { requireInCi } from '../helpers/prerequisites';

const unavailable = netnsUnavailableReason();
const client = ed25519KeyPair();
const secrets = secretsWith({ [TEST_KEY_REF]: client.privateKey });
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A control-plane stand-in: answers every chunk with "<name> got <chunk>". */
const BACKEND_JS = `const [name, port] = process.argv.slice(1);
require('node:net').createServer((s) => { s.on('error', () => {}); s.on('data', (d) => s.write(name + ' got ' + d)); }).listen(Number(port), '0.0.0.0');`;

/** A worker's ingress stand-in: counts requests, marks answers cacheable for a minute. */
const INGRESS_JS = `let n = 0;
require('node:http').createServer((req, res) => { n += 1; res.writeHead(200, { 'cache-control': 'public, max-age=60', 'content-type': 'text/plain' }); res.end('request ' + n + ' for ' + req.url); }).listen(80, '0.0.0.0');`;

/** Sends `payload` to ip:port and resolves with what comes back (bounded). */
function exchange(ip: string, port: number, payload: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: ip, port });
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer through ${ip}:${port} within ${timeoutMs} ms (got ${JSON.stringify(received)})`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (d) => {
      received += d.toString();
      if (received.includes(payload)) {
        clearTimeout(timer);
        socket.end();
        resolve(received);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function pushError(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

/** Only the health frontend: what an LB VM runs before autok8s pushes its config. */
const INITIAL_HAPROXY = `global
  maxconn 100
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend lb_health
  bind *:8404
  monitor-uri /healthz
`;

describe.skipIf(requireInCi(unavailable, 'the push to a real LB host (sshd, HAProxy, keepalived)'))(unavailable ? `push to a real LB host (skipped: ${unavailable})` : 'push to a real LB host in a network namespace', () => {
  let lab: NetnsLab;
  let lb: LabHost;
  let cp: LabHost;
  let sshd: SshdHandle;
  let haproxy: HaproxyHandle;
  let spec: ClusterSpec;
  let target: SshTarget;
  let haproxyPath: string;
  let good: string;
  /** The push lock lives in the lab host's directory (the namespaces share this machine's file system). */
  let deps: PushDeps;

  const haproxyFile = (content: string): RemoteConfigFile => ({
    path: haproxyPath,
    content,
    validate: ['haproxy', '-c', '-f', '{file}'],
    reload: haproxy.reloadArgv,
    probe: { kind: 'tcp', host: lb.ip, port: 6443, attempts: 30, intervalMs: 100 },
  });
  const haproxyPid = () => readFileSync(haproxy.pidFile, 'utf8').trim();

  beforeAll(async () => {
    lab = await NetnsLab.create();
    lb = await lab.addHost('lb-a', lab.ip(11));
    cp = await lab.addHost('cp-a', lab.ip(21));
    const wk = await lab.addHost('wk-a', lab.ip(31));
    const ingress = lab.spawn(wk, [process.execPath, '-e', INGRESS_JS], 'ingress');
    await waitForPort(wk.ip, 80, 10_000, ingress);
    const backend = lab.spawn(cp, [process.execPath, '-e', BACKEND_JS, 'cp-a', '6443'], 'backend');
    await waitForPort(cp.ip, 6443, 10_000, backend);
    sshd = await startSshd(lab, lb, [client.publicKey]);
    spec = labSpec(lab, { servers: 1, hostKeys: { 'srv-a': sshd.hostKeyLine } });
    target = sshTargetFor(spec.servers[0]);
    haproxyPath = join(lb.dir, 'etc/haproxy/haproxy.cfg');
    mkdirSync(join(lb.dir, 'run/lock'), { recursive: true });
    deps = { secrets, lock: { path: join(lb.dir, 'run/lock/autok8s-push.lock') } };
    mkdirSync(join(lb.dir, 'etc/haproxy'), { recursive: true });
    mkdirSync(join(lb.dir, 'etc/keepalived'), { recursive: true });
    writeFileSync(haproxyPath, INITIAL_HAPROXY);
    haproxy = await startHaproxy(lab, lb, haproxyPath);
    await waitForPort(lb.ip, 8404, 10_000);
    good = renderHaproxyCfg(spec, 'srv-a');
  });

  afterAll(async () => lab?.teardown());

  it('applies a good config, which then forwards TCP to the control plane in another namespace', async () => {
    expect(await canConnect(lb.ip, 6443)).toBe(false);
    const result = await pushConfigFile(target, haproxyFile(good), deps);
    expect(result).toMatchObject({ changed: true, reloaded: true, rolledBack: false });
    expect(result.validationOutput).toContain('Configuration file is valid');
    expect(result.hostKeySeen).toBe(sshd.hostKeyLine);
    expect(readFileSync(haproxyPath, 'utf8')).toBe(good);
    const payload = `hello-${Date.now()}`;
    expect(await exchange(lb.ip, 6443, payload)).toBe(`cp-a got ${payload}`);
  });

  it('does not upload or reload an unchanged config (the HAProxy process stays the same)', async () => {
    const pid = haproxyPid();
    const result = await pushConfigFile(target, haproxyFile(good), deps);
    expect(result).toMatchObject({ changed: false, reloaded: false });
    expect(haproxyPid()).toBe(pid);
  });

  it("rejects a broken config with haproxy's own words, and the old config keeps serving", async () => {
    const pid = haproxyPid();
    const err = await pushError(pushConfigFile(target, haproxyFile(good.replace('bind *:6443', 'bind *:99999')), deps));
    expect(err.type).toBe('ConfigInvalid');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/\[ALERT\]/);
    expect(err.message).toContain('99999');
    expect(sha(readFileSync(haproxyPath, 'utf8'))).toBe(sha(good));
    expect(haproxyPid()).toBe(pid);
    expect(await exchange(lb.ip, 6443, 'still-there')).toBe('cp-a got still-there');
  });

  it('rolls back when the reload fails (a port sshd holds), and the old config keeps serving', async () => {
    // Valid for `haproxy -c` (it does not bind), refused when the new HAProxy starts.
    const clash = `${good}\nfrontend clash\n  bind ${lb.ip}:22\n  default_backend kube_api\n`;
    const err = await pushError(pushConfigFile(target, haproxyFile(clash), deps));
    expect(err.type).toBe('ReloadFailed');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/cannot bind|Address already in use/i);
    expect(err.details?.[0]).toMatchObject({ stage: 'reload', rolledBack: true, rollbackReload: 'ok' });
    expect(readFileSync(haproxyPath, 'utf8')).toBe(good);
    expect(await exchange(lb.ip, 6443, 'after-rollback')).toBe('cp-a got after-rollback');
  });

  it('two attempts of the same push at once: the live file is always the old or the new one, swapped once', async () => {
    const next = good.replace('timeout client 10s', 'timeout client 11s');
    expect(next).not.toBe(good);
    const seen = () => {
      try {
        const text = readFileSync(haproxyPath, 'utf8');
        return { content: text === good ? 'old' : text === next ? 'new' : 'other', inode: statSync(haproxyPath).ino };
      } catch {
        return { content: 'missing', inode: 0 };
      }
    };
    const attempt = (i: number) => pushConfigFile(target, haproxyFile(next), { ...deps, attempt: `wf/push#${i}` });
    const { samples, outcomes } = await sampleWhile([attempt(1), attempt(2)], seen, { everyMs: 5, maxSamples: 20_000 });
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    const results = outcomes.map((o) => (o as PromiseFulfilledResult<Awaited<ReturnType<typeof pushConfigFile>>>).value);
    expect(results.map((r) => r.changed).sort()).toEqual([false, true]);
    expect(new Set(samples.map((s) => s.content))).toEqual(new Set(['old', 'new']));
    // One swap: the path named one file before and one after (each swap is a new inode).
    expect(new Set(samples.map((s) => s.inode)).size).toBe(2);
    expect(await exchange(lb.ip, 6443, 'after-overlap')).toBe('cp-a got after-overlap');

    // The overlap that once deleted the file: both attempts fail after their swap and roll back.
    const clash = `${next}\nfrontend clash\n  bind ${lb.ip}:22\n  default_backend kube_api\n`;
    const failing = (i: number) => pushConfigFile(target, haproxyFile(clash), { ...deps, attempt: `wf/clash#${i}` });
    const rolled = await sampleWhile([failing(1), failing(2)], seen, { everyMs: 5, maxSamples: 20_000 });
    for (const o of rolled.outcomes) expect((o as PromiseRejectedResult).reason).toMatchObject({ type: 'ReloadFailed', details: [expect.objectContaining({ rolledBack: true })] });
    expect(rolled.samples.map((s) => s.content)).not.toContain('missing');
    expect(readFileSync(haproxyPath, 'utf8')).toBe(next);
    expect(await exchange(lb.ip, 6443, 'after-rollbacks')).toBe('cp-a got after-rollbacks');
    good = next;
  });

  it('refuses a host whose key is not the pinned one, naming the fingerprint ssh-keygen shows', async () => {
    const other = ed25519KeyPair().publicKey;
    const err = await pushError(pushConfigFile({ ...target, hostKey: other }, haproxyFile(good), deps));
    expect(err.type).toBe('HostKeyMismatch');
    expect(err.nonRetryable).toBe(true);
    const { stdout } = await promisify(execFile)('ssh-keygen', ['-lf', join(lb.dir, 'sshd/ssh_host_ed25519_key.pub')]);
    expect(err.message).toContain(stdout.split(' ')[1]);

    const unknown = await pushError(pushConfigFile({ ...target, hostKey: undefined, trustOnFirstUse: false }, haproxyFile(good), deps));
    expect(unknown.type).toBe('HostKeyUnknown');
    expect(unknown.message).toContain(stdout.split(' ')[1]);
  });

  it('validates keepalived.conf on the target, where its interface exists, and refuses one naming a missing interface', async () => {
    const path = join(lb.dir, 'etc/keepalived/keepalived.conf');
    const keepalivedFile = (content: string): RemoteConfigFile => ({ path, content, validate: ['keepalived', '-t', '-f', '{file}'], reload: ['true'] });
    const ok = await pushConfigFile(target, keepalivedFile(renderKeepalivedConf(spec, 'srv-a')), deps);
    expect(ok).toMatchObject({ changed: true, validatedWith: `keepalived -t -f ${path}.autok8s-new` });

    const wrongIface = renderKeepalivedConf({ ...spec, network: { ...spec.network, interface: 'ens18' } }, 'srv-a');
    const err = await pushError(pushConfigFile(target, keepalivedFile(wrongIface), deps));
    expect(err.type).toBe('ConfigInvalid');
    expect(err.message).toContain('ens18');
    expect(readFileSync(path, 'utf8')).toBe(renderKeepalivedConf(spec, 'srv-a'));
  });

  it('serves the web entry through Nginx (cache) → HAProxy :80 → the worker ingress, and its own /healthz', async () => {
    const dir = join(lb.dir, 'nginx');
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    const conf = renderNginxConf(spec, 'srv-a', {
      paths: { pid: join(dir, 'nginx.pid'), errorLog: join(dir, 'error.log'), accessLog: join(dir, 'access.log'), cacheDir: join(dir, 'cache'), tempDir: join(dir, 'tmp') },
    });
    const confPath = join(dir, 'nginx.conf');
    writeFileSync(confPath, conf);
    const nginx = startNginx(lab, lb, confPath);
    await waitForPort(lb.ip, 8405, 10_000, nginx);
    await waitForPort(lb.ip, 8080, 10_000, nginx);

    const health = await fetch(`http://${lb.ip}:8405/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');

    const first = await fetch(`http://${lb.ip}:8080/page`);
    expect(first.status).toBe(200);
    const body = await first.text();
    expect(body).toMatch(/^request \d+ for \/page$/);
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    const second = await fetch(`http://${lb.ip}:8080/page`);
    expect(await second.text()).toBe(body);
    expect(second.headers.get('x-cache-status')).toBe('HIT');
  });
});
