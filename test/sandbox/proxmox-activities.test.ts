// The Proxmox activities against the simulator, over real TLS (the sandbox CA through
// proxmox.caFile, or the certificate pinned by fingerprint): exactly-once creation under
// retries and faults, reconciliation, the refusal to touch a VM autok8s did not create,
// error classification, heartbeats and cancellation.
import { simulatedGuestProbes } from '../helpers/guest-probes';
import { ANYTHING_POLICY } from '../helpers/policy';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProxmoxActivities } from '../../activities/proxmox/activities';
import { ProxmoxClient } from '../../activities/proxmox/client';
import { createSecretResolver } from '../../activities/secrets';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { ProxmoxSimulator } from '../../sandbox/proxmox/simulator';
import { loadOrCreateSandboxCa, type SandboxCa } from '../../sandbox/tls';
import { ROOT } from '../helpers/paths';

const NODE = 'pve-a';
const SERVICE = `proxmox:${NODE}`;
const TOKEN = { tokenId: 'root@pam!autok8s', secret: '6f1c1f5e-3b7a-4c1e-9a55-0d2b8f4e7a10' };
const WRONG_SECRET = '11111111-2222-4333-8444-555555555555';
const LATENCY = { createMs: 50, startMs: 50, stopMs: 30, destroyMs: 30, bootMs: 120 };
const CREATE_PATH = `^/nodes/${NODE}/qemu$`;

let dir: string;
let ca: SandboxCa;
let audit: AuditLog;
let faults: FaultInjector;
let sim: ProxmoxSimulator;
const fixture = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));

/** The fixture spec with srv-a pointing at the simulator. */
function specFor(proxmox: Partial<ClusterSpec['servers'][number]['proxmox']> = {}): ClusterSpec {
  const [a, ...rest] = fixture.servers;
  return {
    ...fixture,
    servers: [{ ...a, proxmox: { ...a.proxmox, url: sim.url, node: NODE, tokenSecret: 'env:PVE_A_TOKEN', caFile: ca.certFile, fingerprint: undefined, ...proxmox } }, ...rest],
  };
}

// The request timeout stays above the 3 s a node holds back a 401 (a shorter one would turn a wrong token into a retried timeout).
const activities = (secret = TOKEN.secret) =>
  createProxmoxActivities({ secrets: createSecretResolver({ PVE_A_TOKEN: secret }, ANYTHING_POLICY), pollIntervalMs: 20, requestTimeoutMs: 5000, probes: simulatedGuestProbes(() => sim) });

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pve-act-'));
  ca = await loadOrCreateSandboxCa(join(dir, 'ca'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(async () => {
  audit = new AuditLog();
  faults = new FaultInjector();
  sim = await ProxmoxSimulator.start({
    ca,
    audit,
    faults,
    node: NODE,
    tokens: [TOKEN],
    latency: LATENCY,
    vms: [{ vmid: 9000, name: 'debian-lb-template', config: { template: '1', scsi0: 'local-lvm:base-9000-disk-0,size=4G', net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr1', tags: 'template' } }],
  });
});

afterEach(async () => {
  await sim.stop();
});

describe('ensureVm', () => {
  it('creates a missing VM once: a second run finds it and changes nothing', async () => {
    const act = activities();
    const spec = specFor();
    const first = await act.ensureVm(spec, 'srv-a', 'controlPlane');
    expect(first).toEqual({ vmid: 102, name: 'prod-gra-srv-a-cp', node: NODE, created: true, reconciled: [], drift: [] });
    const second = await act.ensureVm(spec, 'srv-a', 'controlPlane');
    expect(second).toMatchObject({ vmid: 102, created: false, reconciled: [] });
    expect(audit.count({ service: SERVICE, action: 'qmcreate' })).toBe(1);
    expect(audit.count({ service: SERVICE, action: 'qmconfig' })).toBe(0);
    const vm = sim.vms().find((v) => v.vmid === 102)!;
    expect(vm).toMatchObject({ name: 'prod-gra-srv-a-cp', tags: ['autok8s', 'cluster-prod-gra', 'role-cp'], generation: 1 });
    expect(vm.config).toMatchObject({ ipconfig0: 'ip=10.10.0.21/24,gw=10.10.0.1', ide2: 'local:iso/talos-nocloud-amd64.iso,media=cdrom', memory: '8192' });
  });

  it('after an applyThenStatus 500 on create, the retry succeeds with still one VM', async () => {
    const act = activities();
    const spec = specFor();
    faults.add({ service: SERVICE, method: 'POST', path: CREATE_PATH, effect: { kind: 'applyThenStatus', status: 500 } });
    const err = await failure(act.ensureVm(spec, 'srv-a', 'controlPlane'));
    expect(err).toMatchObject({ type: 'ProxmoxUnavailable', nonRetryable: false });
    // The retry runs at once, while the first create's task may still hold the VMID.
    const retry = await act.ensureVm(spec, 'srv-a', 'controlPlane');
    expect(retry).toMatchObject({ vmid: 102, created: false, reconciled: [] });
    expect(sim.vms().filter((v) => v.vmid !== 9000)).toHaveLength(1);
    expect(audit.count({ service: SERVICE, action: 'qmcreate' })).toBe(1);
  });

  it('after a taskError on create, the activity fails with Proxmox’s message and the retry creates the VM', async () => {
    const act = activities();
    const spec = specFor();
    faults.add({ service: SERVICE, method: 'POST', path: CREATE_PATH, effect: { kind: 'taskError', message: "lvcreate 'pve/vm-102-disk-0' error: out of space" } });
    const err = await failure(act.ensureVm(spec, 'srv-a', 'controlPlane'));
    expect(err).toMatchObject({ type: 'ProxmoxTaskFailed', nonRetryable: false });
    expect(err.message).toContain("lvcreate 'pve/vm-102-disk-0' error: out of space");
    expect(sim.vms().some((v) => v.vmid === 102)).toBe(false);
    expect(await act.ensureVm(spec, 'srv-a', 'controlPlane')).toMatchObject({ created: true });
    expect(sim.vms().filter((v) => v.vmid === 102)).toHaveLength(1);
  });

  it('a create racing another one ("already exists") looks again instead of failing', async () => {
    const act = activities();
    const spec = specFor();
    // Two attempts at once, as after a worker crash and a retry: one creates, one finds it.
    const [a, b] = await Promise.all([act.ensureVm(spec, 'srv-a', 'worker'), act.ensureVm(spec, 'srv-a', 'worker')]);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(sim.vms().filter((v) => v.vmid === 103)).toHaveLength(1);
    expect(audit.count({ service: SERVICE, action: 'qmcreate', outcome: 'ok' })).toBe(1);
  });

  it('reconciles a config that drifted from the spec, keeping the NIC', async () => {
    const act = activities();
    const spec = specFor();
    await act.ensureVm(spec, 'srv-a', 'worker');
    const mac = sim.vms().find((v) => v.vmid === 103)!.config.net0;
    const client = new ProxmoxClient({ url: sim.url, node: NODE, tokenId: TOKEN.tokenId, tokenSecret: TOKEN.secret, caPem: ca.certPem });
    await client.updateVmConfig(103, { memory: 1024, tags: 'autok8s', onboot: 0 });
    await client.close();
    const result = await act.ensureVm(spec, 'srv-a', 'worker');
    expect(result).toMatchObject({ created: false, reconciled: expect.arrayContaining(['memory', 'tags', 'onboot']) });
    expect(result.reconciled).toHaveLength(3);
    expect(sim.vms().find((v) => v.vmid === 103)!.config).toMatchObject({ memory: '32768', tags: 'autok8s;cluster-prod-gra;role-worker', onboot: '1', net0: mac });
  });

  it('clones an LB from the template when lbTemplateVmid is set, then tags it and reports the disk it cannot resize', async () => {
    const act = activities();
    const spec = specFor({ lbTemplateVmid: 9000 });
    const result = await act.ensureVm(spec, 'srv-a', 'lb');
    expect(result).toMatchObject({ vmid: 101, created: true, reconciled: expect.arrayContaining(['tags', 'memory', 'ipconfig0', 'agent']) });
    expect(result.drift).toEqual([expect.stringMatching(/^scsi0: the system disk is 4 GiB, the spec says 16 GiB/)]);
    expect(audit.count({ action: 'qmclone' })).toBe(1);
    expect(audit.count({ action: 'qmcreate' })).toBe(0);
    expect(sim.vms().find((v) => v.vmid === 101)).toMatchObject({ name: 'prod-gra-srv-a-lb', tags: ['autok8s', 'cluster-prod-gra', 'role-lb'] });
    expect(await act.ensureVm(spec, 'srv-a', 'lb')).toMatchObject({ created: false, reconciled: [] });
  });

  it('refuses, without touching it, a VM at the VMID that autok8s did not create', async () => {
    await sim.stop();
    sim = await ProxmoxSimulator.start({ ca, audit, faults, node: NODE, tokens: [TOKEN], latency: LATENCY, vms: [{ vmid: 102, name: 'customer-db', status: 'running', config: { tags: 'prod', memory: '4096' } }] });
    const act = activities();
    const spec = specFor();
    // Thunks, called one at a time: a promise created early could reject before it is awaited.
    for (const attempt of [() => act.ensureVm(spec, 'srv-a', 'controlPlane'), () => act.bootVm(spec, 'srv-a', 'controlPlane'), () => act.destroyVm(spec, 'srv-a', 'controlPlane')]) {
      const err = await failure(attempt());
      expect(err).toMatchObject({ type: 'ProxmoxVmConflict', nonRetryable: true });
      expect(err.message).toMatch(/VM 102 on node pve-a is "customer-db" with tags prod, which autok8s did not create/);
    }
    expect(audit.entries({ service: SERVICE }).filter((e) => e.action !== 'task')).toEqual([]);
    expect(sim.vms()[0]).toMatchObject({ vmid: 102, name: 'customer-db', status: 'running', config: { memory: '4096' } });
    expect(await act.vmStatus(spec, 'srv-a', 'controlPlane')).toMatchObject({ exists: true, owned: false, status: 'running' });
  });
});

describe('errors', () => {
  it('a wrong token is a non-retryable ProxmoxAuthError naming the server, without the secret', async () => {
    const err = await failure(activities(WRONG_SECRET).ensureVm(specFor(), 'srv-a', 'controlPlane'));
    expect(err).toMatchObject({ type: 'ProxmoxAuthError', nonRetryable: true });
    expect(err.message).toMatch(/server srv-a/);
    expect(err.message).toContain(TOKEN.tokenId);
    expect(err.message).toContain('env:PVE_A_TOKEN');
    expect(err.message).not.toContain(WRONG_SECRET);
    expect(JSON.stringify(err.details)).not.toContain(WRONG_SECRET);
  });

  it('a secret that is not a UUID is refused before any call', async () => {
    const err = await failure(activities(`${TOKEN.tokenId}=${TOKEN.secret}`).listClusterVms(specFor(), 'srv-a'));
    expect(err).toMatchObject({ type: 'ProxmoxAuthError', nonRetryable: true });
    expect(err.message).not.toContain(TOKEN.secret);
  });

  it('an unreachable node is a retryable failure', async () => {
    sim.setUnreachable(true);
    const err = await failure(activities().ensureVm(specFor(), 'srv-a', 'controlPlane'));
    expect(err).toMatchObject({ type: 'ProxmoxUnreachable', nonRetryable: false });
  });

  it('a hung call times out retryably', async () => {
    faults.add({ service: SERVICE, method: 'GET', path: `^/nodes/${NODE}/qemu$`, effect: { kind: 'hang' } });
    const act = createProxmoxActivities({ secrets: createSecretResolver({ PVE_A_TOKEN: TOKEN.secret }, ANYTHING_POLICY), pollIntervalMs: 20, requestTimeoutMs: 300, probes: simulatedGuestProbes(() => sim) });
    const err = await failure(act.listClusterVms(specFor(), 'srv-a'));
    expect(err).toMatchObject({ type: 'ProxmoxUnreachable', nonRetryable: false });
    expect(err.message).toMatch(/timeout/);
  });

  it('a server that is not in the spec is bad input', async () => {
    expect(await failure(activities().ensureVm(specFor(), 'srv-z', 'lb'))).toMatchObject({ type: 'BadInput', nonRetryable: true });
  });
});

describe('TLS', () => {
  it('pins the certificate by fingerprint without any CA configured', async () => {
    const vms = await activities().listClusterVms(specFor({ caFile: undefined, fingerprint: sim.fingerprint256 }), 'srv-a');
    expect(vms).toEqual([]);
  });

  it('refuses a certificate that does not match the pinned fingerprint, before sending the request', async () => {
    const wrong = sim.fingerprint256.replace(/^[0-9A-F]{2}/, (b) => (b === '00' ? '01' : '00'));
    const err = await failure(activities().ensureVm(specFor({ caFile: undefined, fingerprint: wrong }), 'srv-a', 'controlPlane'));
    expect(err).toMatchObject({ type: 'ProxmoxTlsError', nonRetryable: true });
    expect(err.message).toMatch(/not the pinned/);
    expect(audit.entries()).toEqual([]);
    expect(sim.vms().some((v) => v.vmid === 102)).toBe(false);
  });

  it('without a CA or a pin, an untrusted certificate is refused (verification is never off)', async () => {
    const err = await failure(activities().listClusterVms(specFor({ caFile: undefined }), 'srv-a'));
    expect(err).toMatchObject({ type: 'ProxmoxTlsError', nonRetryable: true });
    expect(err.message).toMatch(/caFile|fingerprint/);
  });

  it('NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment does not switch verification off', async () => {
    const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    try {
      const err = await failure(activities().listClusterVms(specFor({ caFile: undefined }), 'srv-a'));
      expect(err).toMatchObject({ type: 'ProxmoxTlsError', nonRetryable: true });
    } finally {
      if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
    }
  });
});

describe('power and lifecycle', () => {
  it('boots a VM in one activity (start, then its guest address), and a booted VM is a success with nothing started', async () => {
    const act = activities();
    const spec = specFor();
    await expect(failure(act.bootVm(spec, 'srv-a', 'lb'))).resolves.toMatchObject({ type: 'ProxmoxVmMissing', nonRetryable: true });
    await act.ensureVm(spec, 'srv-a', 'lb');
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const booted = (await env.run(() => act.bootVm(spec, 'srv-a', 'lb'))) as Awaited<ReturnType<typeof act.bootVm>>;
    expect(booted).toMatchObject({ vmid: 101, started: true, ip: spec.servers[0].vms.lb.ip });
    expect(booted.waitedMs).toBeGreaterThan(0);
    expect(beats.length).toBeGreaterThan(0);
    expect(sim.vmByIp(spec.servers[0].vms.lb.ip)?.vmid).toBe(101);
    expect(await act.bootVm(spec, 'srv-a', 'lb')).toMatchObject({ vmid: 101, started: false, ip: spec.servers[0].vms.lb.ip });
    expect(audit.count({ action: 'qmstart' })).toBe(1);
  });

  it('a boot whose start task fails is a failure carrying the message of Proxmox, and starts nothing', async () => {
    const act = activities();
    const spec = specFor();
    await act.ensureVm(spec, 'srv-a', 'worker');
    faults.add({ service: SERVICE, method: 'POST', path: '/status/start$', effect: { kind: 'taskError', message: 'TASK ERROR: start failed: QEMU exited with code 1' } });
    const err = await failure(act.bootVm(spec, 'srv-a', 'worker'));
    expect(err.message).toContain('QEMU exited with code 1');
    expect(sim.vms().find((v) => v.vmid === 103)?.status).toBe('stopped');
  });

  it('a boot that waits for a guest address is cancellable', async () => {
    await sim.stop(); // restart with a guest that never boots within the test
    sim = await ProxmoxSimulator.start({ ca, audit, faults, node: NODE, tokens: [TOKEN], latency: { ...LATENCY, bootMs: 60_000 } });
    await activities().ensureVm(specFor(), 'srv-a', 'worker');
    const env = new MockActivityEnvironment();
    // Cancelled once it waits on the guest agent, i.e. after the start task succeeded.
    env.on('heartbeat', (d: { waitingFor?: string }) => d?.waitingFor !== undefined && env.cancel());
    await expect(env.run(() => activities().bootVm(specFor(), 'srv-a', 'worker'))).rejects.toBeInstanceOf(CancelledFailure);
    expect(sim.vms().find((v) => v.vmid === 103)?.status).toBe('running');
  });

  it('reboots a running VM, starts a stopped one, and stops idempotently', async () => {
    const act = activities();
    const spec = specFor();
    await act.ensureVm(spec, 'srv-a', 'lb');
    expect(await act.rebootVm(spec, 'srv-a', 'lb')).toEqual({ vmid: 101, action: 'started' });
    expect(await act.rebootVm(spec, 'srv-a', 'lb')).toEqual({ vmid: 101, action: 'rebooted' });
    expect(await act.stopVm(spec, 'srv-a', 'lb')).toEqual({ vmid: 101, stopped: true });
    expect(await act.stopVm(spec, 'srv-a', 'lb', 'shutdown')).toEqual({ vmid: 101, stopped: false });
    expect(await act.vmStatus(spec, 'srv-a', 'lb')).toMatchObject({ exists: true, owned: true, status: 'stopped' });
  });

  it('a retried reboot whose first attempt was cut off after starting the reboot waits for that task and reboots once', async () => {
    const act = activities();
    const spec = specFor();
    await act.ensureVm(spec, 'srv-a', 'lb');
    await act.bootVm(spec, 'srv-a', 'lb');
    // Attempt 1 starts the reboot, then loses the node while it waits for the task.
    faults.add({ service: SERVICE, method: 'GET', path: '/tasks/.*/status$', effect: { kind: 'status', status: 500 }, times: 1_000 });
    const first = new MockActivityEnvironment({ attempt: 1, scheduledTimestampMs: Date.now() });
    const beats: Record<string, unknown>[] = [];
    first.on('heartbeat', (d: Record<string, unknown>) => beats.push(d));
    await expect(failure(first.run(() => act.rebootVm(spec, 'srv-a', 'lb')))).resolves.toMatchObject({ nonRetryable: false });
    expect(audit.count({ action: 'qmreboot' })).toBe(1);
    faults.clear();

    // Attempt 2 gets the last heartbeat details, as Temporal hands them to a retry.
    const second = new MockActivityEnvironment({ attempt: 2, scheduledTimestampMs: Date.now(), heartbeatDetails: beats[beats.length - 1] });
    expect(await second.run(() => act.rebootVm(spec, 'srv-a', 'lb'))).toEqual({ vmid: 101, action: 'rebooted', alreadyRebooted: true });
    expect(audit.count({ action: 'qmreboot' })).toBe(1);
    expect(sim.vms().find((v) => v.vmid === 101)?.status).toBe('running');
  });

  it('a retry that finds the VM up for less time than since the first attempt does not reboot it again; one up for longer is rebooted', async () => {
    const act = activities();
    const spec = specFor();
    await act.ensureVm(spec, 'srv-a', 'lb');
    await act.bootVm(spec, 'srv-a', 'lb');
    expect(await act.rebootVm(spec, 'srv-a', 'lb')).toEqual({ vmid: 101, action: 'rebooted' });
    // No recorded task (the first attempt died before its heartbeat got out), but the VM
    // came up after the activity was first scheduled, a minute ago.
    const retry = new MockActivityEnvironment({ attempt: 2, scheduledTimestampMs: Date.now() - 60_000 });
    expect(await retry.run(() => act.rebootVm(spec, 'srv-a', 'lb'))).toEqual({ vmid: 101, action: 'rebooted', alreadyRebooted: true });
    expect(audit.count({ action: 'qmreboot' })).toBe(1);

    // Scheduled just now: the VM has been up longer than this activity has existed.
    const fresh = new MockActivityEnvironment({ attempt: 2, scheduledTimestampMs: Date.now() });
    expect(await fresh.run(() => act.rebootVm(spec, 'srv-a', 'lb'))).toEqual({ vmid: 101, action: 'rebooted' });
    expect(audit.count({ action: 'qmreboot' })).toBe(2);
  });

  it('destroys a running VM of ours (stopping it first); a second destroy finds nothing to do', async () => {
    const act = activities();
    const spec = specFor();
    await act.ensureVm(spec, 'srv-a', 'worker');
    await act.bootVm(spec, 'srv-a', 'worker');
    expect(await act.destroyVm(spec, 'srv-a', 'worker')).toEqual({ vmid: 103, destroyed: true });
    expect(audit.entries({ service: SERVICE }).map((e) => e.action).filter((a) => a !== 'task')).toEqual(['qmcreate', 'qmstart', 'qmstop', 'qmdestroy']);
    expect(await act.destroyVm(spec, 'srv-a', 'worker')).toEqual({ vmid: 103, destroyed: false });
    expect(await act.vmStatus(spec, 'srv-a', 'worker')).toMatchObject({ exists: false });
    const err = await failure(act.bootVm(spec, 'srv-a', 'worker'));
    expect(err).toMatchObject({ type: 'ProxmoxVmMissing', nonRetryable: true });
  });

  it('lists the cluster’s VMs by their tags, leaving other VMs out', async () => {
    const act = activities();
    const spec = specFor();
    await act.ensureVm(spec, 'srv-a', 'lb');
    await act.ensureVm(spec, 'srv-a', 'controlPlane');
    const vms = await act.listClusterVms(spec, 'srv-a');
    expect(vms.map((v) => [v.vmid, v.role, v.name])).toEqual([
      [101, 'lb', 'prod-gra-srv-a-lb'],
      [102, 'controlPlane', 'prod-gra-srv-a-cp'],
    ]);
  });
});
