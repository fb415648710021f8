// Pushes that cannot race, against the in-process LB host: two attempts of the same push
// running at once take turns on the host's lock, so the live file is always the old or the
// new content (never missing) and is swapped once; a stale lock is taken over, a live one
// waited for (and its holder named), the lock is released on every path, and a cancelled
// push puts the previous file back.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, lutimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSshActivities } from '../../activities/ssh/activities';
import { pushConfigFile } from '../../activities/ssh/push';
import type { SshTarget } from '../../activities/ssh/session';
import { HOST_LOCK_DEFAULTS } from '../../core/push/host-lock';
import { renderHaproxyCfg } from '../../core/render/haproxy';
import type { RemoteConfigFile } from '../../core/render/lb-files';
import { loadSpecFile } from '../../core/spec/load';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { InProcessLbHost } from '../../sandbox/lbhost/host';
import { ed25519KeyPair, sampleWhile, secretsWith, TEST_KEY_REF } from './helpers';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
const PATH = '/etc/haproxy/haproxy.cfg';
const LOCK = HOST_LOCK_DEFAULTS.path;
const client = ed25519KeyPair();
const secrets = secretsWith({ [TEST_KEY_REF]: client.privateKey });
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const v1 = renderHaproxyCfg(spec, 'srv-a');
const v2 = renderHaproxyCfg(spec, 'srv-a', { ingressBackendPorts: { http: 30080, https: 30443 } });

let root: string;
let audit: AuditLog;
let faults: FaultInjector;
let host: InProcessLbHost;
let target: SshTarget;

const onHost = (path: string) => join(root, path);
const live = () => {
  try {
    const text = readFileSync(onHost(PATH), 'utf8');
    return text === v1 ? 'v1' : text === v2 ? 'v2' : 'other';
  } catch {
    return 'missing';
  }
};
const swapsInto = (path: string) => audit.entries({ service: 'ssh:lb-a', action: 'rename' }).filter((e) => e.target === `${path}.autok8s-new -> ${path}`).length;

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

/** A lock left by someone else: `ageS` seconds since its holder last refreshed it. */
function foreignLock(holder: string, ageS: number): void {
  symlinkSync(holder, onHost(LOCK));
  const then = new Date(Date.now() - ageS * 1000);
  lutimesSync(onHost(LOCK), then, then);
}

const lockPresent = () => lstatSync(onHost(LOCK), { throwIfNoEntry: false }) !== undefined;

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ak8s-overlap-'));
  audit = new AuditLog();
  faults = new FaultInjector();
  host = await InProcessLbHost.start({ name: 'lb-a', authorizedKey: client.publicKey, rootDir: root, audit, faults });
  target = { host: '127.0.0.1', port: host.port, user: 'root', privateKeyRef: TEST_KEY_REF, hostKey: host.hostKeyLine, trustOnFirstUse: false };
});

afterAll(async () => {
  await host?.stop();
  rmSync(root, { recursive: true, force: true });
});

beforeEach(async () => {
  faults.clear();
  await host.setHealthy(true);
  rmSync(onHost(LOCK), { force: true });
  mkdirSync(onHost('/etc/haproxy'), { recursive: true });
  writeFileSync(onHost(PATH), v1);
  for (const side of ['rollback', 'absent', 'new']) rmSync(onHost(`${PATH}.autok8s-${side}`), { force: true });
});

describe('two attempts of the same push at once', () => {
  it('take turns on the host: the live file is always the old or the new one, and is swapped once', async () => {
    const swapsBefore = swapsInto(PATH);
    // The first reload is slow, so the two attempts overlap for its whole length.
    faults.add({ service: 'ssh:lb-a', method: 'exec', path: '^systemctl reload haproxy$', effect: { kind: 'delay', ms: 400 } });
    const beats: Record<string, unknown>[][] = [[], []];
    const attempt = (i: number) => pushConfigFile(target, haproxyFile(v2), { secrets, attempt: `wf/push#${i + 1}`, heartbeat: (d) => beats[i].push(d) });
    const { samples, outcomes } = await sampleWhile([attempt(0), attempt(1)], live, { everyMs: 2, maxSamples: 20_000 });

    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    const results = outcomes.map((o) => (o as PromiseFulfilledResult<Awaited<ReturnType<typeof pushConfigFile>>>).value);
    expect(results.map((r) => r.changed).sort()).toEqual([false, true]);
    expect(new Set(samples)).toEqual(new Set(['v1', 'v2']));
    expect(samples.indexOf('v2')).toBe(samples.lastIndexOf('v1') + 1); // v1 … v1, then v2 … v2
    expect(swapsInto(PATH) - swapsBefore).toBe(1);
    expect(host.unit('haproxy')!.loadedSha256).toBe(sha(v2));
    // The one that did not swap waited for the other's lock, and said whose it was.
    const waiter = results.findIndex((r) => !r.changed);
    const waits = beats[waiter].filter((b) => b.waitingFor !== undefined);
    expect(waits.length).toBeGreaterThan(0);
    expect(String(waits[0].holder)).toContain(`wf_push#${2 - waiter}`);
    expect(lockPresent()).toBe(false);
  });

  it('both failing their probe: each rolls back under the lock, and the live file is never missing', async () => {
    await host.setHealthy(false);
    const attempt = (i: number) => pushConfigFile(target, haproxyFile(v2), { secrets, attempt: `wf/push#${i + 1}` });
    const { samples, outcomes } = await sampleWhile([attempt(0), attempt(1)], live, { everyMs: 2, maxSamples: 20_000 });

    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      const err = (o as PromiseRejectedResult).reason as ApplicationFailure;
      expect(err.type).toBe('ProbeFailed');
      expect(err.details?.[0]).toMatchObject({ rolledBack: true, rollbackReload: 'ok' });
    }
    expect(samples).not.toContain('missing');
    expect(new Set(samples)).toEqual(new Set(['v1', 'v2']));
    expect(live()).toBe('v1');
    expect(existsSync(onHost(`${PATH}.autok8s-rollback`))).toBe(false);
    expect(lockPresent()).toBe(false);
  });

  it('both finding a stale lock: one takes it over, the other waits its turn, one swap', async () => {
    foreignLock('autok8s-push:gone-worker.1.x:dead:wf_push#1', 3600);
    const swapsBefore = swapsInto(PATH);
    const attempt = () => pushConfigFile(target, haproxyFile(v2), { secrets });
    const { samples, outcomes } = await sampleWhile([attempt(), attempt()], live, { everyMs: 2, maxSamples: 20_000 });
    const results = outcomes.map((o) => (o as PromiseFulfilledResult<Awaited<ReturnType<typeof pushConfigFile>>>).value);
    expect(results.map((r) => r.changed).sort()).toEqual([false, true]);
    expect(results.filter((r) => r.lock.tookOverFrom === 'autok8s-push:gone-worker.1.x:dead:wf_push#1')).toHaveLength(1);
    expect(samples).not.toContain('missing');
    expect(swapsInto(PATH) - swapsBefore).toBe(1);
    expect(lockPresent()).toBe(false);
  });
});

describe('the host lock', () => {
  it('waits for a live holder, names it, and gives up retryably without touching the file or the lock', async () => {
    const holder = 'autok8s-push:other-worker.7.y:busy:wf_replace#3';
    foreignLock(holder, 0);
    const beats: Record<string, unknown>[] = [];
    const err = (await failureOf(
      pushConfigFile(target, haproxyFile(v2), { secrets, lock: { waitMs: 1_000, pollMs: 100 }, heartbeat: (d) => beats.push(d) }),
    )) as ApplicationFailure;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe('LbHostBusy');
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toContain(holder);
    expect(beats.filter((b) => b.holder === holder).length).toBeGreaterThan(1);
    expect(readlinkSync(onHost(LOCK))).toBe(holder);
    expect(live()).toBe('v1');
  });

  it('takes over a lock its holder stopped refreshing longer ago than the bound', async () => {
    const holder = 'autok8s-push:crashed-worker.9.z:old:wf_bootstrap#1';
    foreignLock(holder, HOST_LOCK_DEFAULTS.staleAfterMs / 1000 + 5);
    const result = await pushConfigFile(target, haproxyFile(v2), { secrets });
    expect(result).toMatchObject({ changed: true, lock: { tookOverFrom: holder } });
    expect(live()).toBe('v2');
    expect(lockPresent()).toBe(false);
  });

  it('is released when the push fails, and when nothing changes', async () => {
    const broken = `${v1}\nfrontend broken\n  bind *:99999\n  default_backend nowhere\n`;
    const err = (await failureOf(pushConfigFile(target, haproxyFile(broken), { secrets }))) as ApplicationFailure;
    expect(err.type).toBe('ConfigInvalid');
    expect(lockPresent()).toBe(false);
    expect((await pushConfigFile(target, haproxyFile(v1), { secrets })).changed).toBe(false);
    expect(lockPresent()).toBe(false);
  });

  it('left behind by a push of this worker whose connection dropped, is taken over at once by the retry', async () => {
    faults.add({ service: 'ssh:lb-a', method: 'exec', path: '^systemctl reload haproxy$', effect: { kind: 'reset' } });
    const cut = (await failureOf(pushConfigFile(target, haproxyFile(v2), { secrets, attempt: 'wf/push#1' }))) as ApplicationFailure;
    expect(cut.nonRetryable).toBe(false);
    expect(readlinkSync(onHost(LOCK))).toContain('wf_push#1');
    const retry = await pushConfigFile(target, haproxyFile(v2), { secrets, attempt: 'wf/push#2' });
    expect(retry).toMatchObject({ changed: true, resumed: true });
    expect(retry.lock.tookOverFrom).toContain('wf_push#1');
    expect(lockPresent()).toBe(false);
  });
});

describe('pushLbConfigFile activity', () => {
  const server = () => {
    const base = spec.servers[0];
    return { ...base, ssh: { ...base.ssh, address: host.address, hostKey: host.hostKeyLine, privateKey: TEST_KEY_REF } };
  };

  it('heartbeats on every probe attempt, with what the probe saw', async () => {
    await host.setHealthy(false);
    const env = new MockActivityEnvironment();
    const beats: Record<string, unknown>[] = [];
    env.on('heartbeat', (d: Record<string, unknown>) => beats.push(d));
    const file = haproxyFile(v2, { probe: { kind: 'http', url: host.healthUrl, attempts: 4, intervalMs: 20 } });
    const err = (await failureOf(env.run(createSshActivities({ secrets }).pushLbConfigFile, { server: server(), file }))) as ApplicationFailure;
    expect(err.type).toBe('ProbeFailed');
    const attempts = beats.filter((b) => b.probeAttempt !== undefined);
    expect(attempts.map((b) => b.probeAttempt)).toEqual([1, 2, 3, 4]);
    expect(String(attempts[0].last)).toMatch(/unreachable/);
    expect(live()).toBe('v1');
  });

  it('keeps heartbeating through a step that runs long (a slow reload), repeating the stage', async () => {
    faults.add({ service: 'ssh:lb-a', method: 'exec', path: '^systemctl reload haproxy$', effect: { kind: 'delay', ms: 4_000 } });
    const env = new MockActivityEnvironment();
    const beats: Record<string, unknown>[] = [];
    env.on('heartbeat', (d: Record<string, unknown>) => beats.push(d));
    await env.run(createSshActivities({ secrets }).pushLbConfigFile, { server: server(), file: haproxyFile(v2) });
    expect(beats.filter((b) => b.still === true && b.stage === 'reload').length).toBeGreaterThan(0);
    expect(live()).toBe('v2');
  });

  it('honours a cancellation during the probe: the previous file is back, reloaded, and the lock released', async () => {
    await host.setHealthy(false);
    const env = new MockActivityEnvironment();
    env.on('heartbeat', (d: Record<string, unknown>) => {
      if (d.probeAttempt === 2) env.cancel();
    });
    const file = haproxyFile(v2, { probe: { kind: 'http', url: host.healthUrl, attempts: 1_000, intervalMs: 20 } });
    const err = await failureOf(env.run(createSshActivities({ secrets }).pushLbConfigFile, { server: server(), file }));
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(live()).toBe('v1');
    expect(host.unit('haproxy')!.loadedSha256).toBe(sha(v1));
    expect(existsSync(onHost(`${PATH}.autok8s-rollback`))).toBe(false);
    expect(lockPresent()).toBe(false);
  });

  it('honours a cancellation while waiting for the lock: nothing is uploaded', async () => {
    foreignLock('autok8s-push:other-worker.7.y:busy:wf_replace#3', 0);
    const uploadsBefore = audit.count({ service: 'ssh:lb-a', action: 'upload' });
    const env = new MockActivityEnvironment();
    env.on('heartbeat', (d: Record<string, unknown>) => {
      if (d.waitingFor !== undefined) env.cancel();
    });
    const err = await failureOf(env.run(createSshActivities({ secrets }).pushLbConfigFile, { server: server(), file: haproxyFile(v2) }));
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(audit.count({ service: 'ssh:lb-a', action: 'upload' })).toBe(uploadsBefore);
    expect(readlinkSync(onHost(LOCK))).toBe('autok8s-push:other-worker.7.y:busy:wf_replace#3');
  });
});
