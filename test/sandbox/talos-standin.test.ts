// The Talos activities driving the real stand-in executable end to end. The only fake is
// the dependency the simulator asks "which VM runs at this address" (in the sandbox: the
// Proxmox simulators); talosctl arguments, output parsing, error classification, the state
// store and the node/etcd behaviour are all real.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTalosActivities } from '../../activities/talos/activities';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { AuditLog } from '../../sandbox/audit';
import { TalosSimulator } from '../../sandbox/talos/simulator';
import { ROOT } from '../helpers/paths';

const CP = { 'srv-a': '10.10.0.21', 'srv-b': '10.10.0.22', 'srv-c': '10.10.0.23' } as const;
const WORKERS = ['10.10.0.31', '10.10.0.32', '10.10.0.33'];

let dir: string;
let audit: AuditLog;
let sim: TalosSimulator;
let spec: ClusterSpec;
/** The fake Proxmox side: IP → machine key of the running VM. */
const running = new Map<string, string>();

const activities = createTalosActivities({ pollIntervalMs: 100, memberWaitMs: 20_000, apiWaitMs: 10_000, healthWaitTimeout: '30s' });
const mode = (path: string) => statSync(path).mode & 0o777;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'autok8s-talos-'));
  audit = new AuditLog();
  sim = new TalosSimulator({
    audit,
    lookupNode: (ip) => (running.has(ip) ? { running: true, machineKey: running.get(ip)! } : undefined),
    timing: { installMs: 1000, rebootMs: 150, etcdJoinMs: 150, kubeletReadyMs: 150 },
  });
  await sim.start();
  const fixture = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));
  spec = { ...fixture, talos: { ...fixture.talos, talosctl: sim.writeStandIn(join(dir, 'bin')) }, state: { dir: join(dir, 'state') } };
});

afterAll(async () => {
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Talos activities against the talosctl stand-in', () => {
  it('generates the cluster secrets once, 0600 in a 0700 state store', async () => {
    const first = await activities.ensureTalosSecrets(spec);
    expect(first).toEqual({ created: true, ref: 'state:secrets.yaml' });
    const path = join(dir, 'state', 'secrets.yaml');
    const content = readFileSync(path, 'utf8');
    expect(parse(content).certs.os.crt).toMatch(/^[A-Za-z0-9+/=]{100,}$/);

    expect(await activities.ensureTalosSecrets(spec)).toEqual({ created: false, ref: 'state:secrets.yaml' });
    expect(readFileSync(path, 'utf8')).toBe(content);
    expect(mode(path)).toBe(0o600);
    expect(mode(join(dir, 'state'))).toBe(0o700);
  });

  it('renders one config per node and a talosconfig; a second render changes nothing', async () => {
    const first = await activities.renderMachineConfigs(spec);
    expect(first.configs.map((c) => `${c.hostname}:${c.ref}`)).toEqual([
      'srv-a-cp:state:configs/srv-a-cp.yaml',
      'srv-b-cp:state:configs/srv-b-cp.yaml',
      'srv-c-cp:state:configs/srv-c-cp.yaml',
      'srv-a-worker:state:configs/srv-a-worker.yaml',
      'srv-b-worker:state:configs/srv-b-worker.yaml',
      'srv-c-worker:state:configs/srv-c-worker.yaml',
    ]);
    expect(first.changed).toHaveLength(7);
    const cp = parse(readFileSync(first.configs[1].path, 'utf8'));
    expect(cp.machine.type).toBe('controlplane');
    expect(cp.machine.network.hostname).toBe('srv-b-cp');
    expect(cp.machine.network.interfaces).toEqual([{ interface: 'eth0', dhcp: false, addresses: ['10.10.0.22/24'], routes: [{ network: '0.0.0.0/0', gateway: '10.10.0.1' }] }]);
    expect(cp.cluster.etcd.advertisedSubnets).toEqual(['10.10.0.0/24']);
    expect(cp.cluster.controlPlane.endpoint).toBe('https://10.10.0.5:6443');
    expect(parse(readFileSync(first.configs[4].path, 'utf8')).machine.type).toBe('worker');
    for (const c of first.configs) expect(mode(c.path)).toBe(0o600);
    expect(mode(first.talosconfig.path)).toBe(0o600);

    const again = await activities.renderMachineConfigs(spec);
    expect(again.changed).toEqual([]);
  });

  it('reports a node whose VM is not running as retryable "node not reachable"', async () => {
    const failure = await failureOf(activities.applyMachineConfig(spec, 'srv-a', 'controlPlane'));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe('TalosNodeUnreachable');
    expect(failure.message).toMatch(/10\.10\.0\.21: node not reachable .*no route to host/);
    expect(audit.count({ service: 'talos', action: 'apply-config', outcome: 'ok' })).toBe(0);
  });

  it('configures the control planes over the maintenance API, and only once', async () => {
    for (const ip of [...Object.values(CP), ...WORKERS]) running.set(ip, `vm-${ip}-1`);
    expect(await activities.applyMachineConfig(spec, 'srv-a', 'controlPlane')).toEqual({ applied: true, alreadyConfigured: false, via: 'maintenance' });
    // While the node installs and reboots (1 s here) it does not answer: retryable.
    const booting = await failureOf(activities.applyMachineConfig(spec, 'srv-a', 'controlPlane'));
    expect(booting.nonRetryable).toBe(false);
    expect(booting.message).toMatch(/node not reachable .*connection refused/);
    for (const server of ['srv-b', 'srv-c']) {
      expect(await activities.applyMachineConfig(spec, server, 'controlPlane')).toEqual({ applied: true, alreadyConfigured: false, via: 'maintenance' });
    }

    await until(() => Object.values(CP).every((ip) => sim.nodes().find((n) => n.ip === ip)?.phase === 'running'));
    // A configured node is asked with the cluster's credentials only: no insecure apply is tried (and refused).
    const refusedBefore = audit.count({ service: 'talos', action: 'apply-config', outcome: 'rejected' });
    expect(await activities.applyMachineConfig(spec, 'srv-a', 'controlPlane')).toEqual({ applied: false, alreadyConfigured: true, via: 'none' });
    expect(audit.count({ service: 'talos', action: 'apply-config', outcome: 'rejected' })).toBe(refusedBefore);
    expect(audit.count({ service: 'talos', action: 'apply-config', outcome: 'ok' })).toBe(3);
  });

  it('bootstraps etcd exactly once, whatever is retried', async () => {
    expect(await activities.bootstrapEtcd(spec, 'srv-a')).toMatchObject({ bootstrapped: true, alreadyBootstrapped: false });
    expect(await activities.bootstrapEtcd(spec, 'srv-a')).toMatchObject({ bootstrapped: false, alreadyBootstrapped: true });
    // Another control plane has no etcd data yet: bootstrapping it would split the cluster.
    expect(await activities.bootstrapEtcd(spec, 'srv-b')).toMatchObject({ bootstrapped: false, alreadyBootstrapped: true });
    expect(audit.count({ service: 'talos', action: 'bootstrap' })).toBe(1);
    expect(sim.bootstrapCount('prod-gra')).toBe(1);
  });

  it('sees every control plane join etcd as a voting member', async () => {
    const joined = await Promise.all(Object.keys(CP).map((server) => activities.waitForEtcdMember(spec, server)));
    for (const j of joined) expect(j.memberId).toMatch(/^[0-9a-f]{16}$/);
    const { members } = await activities.etcdMembers(spec, 'srv-a');
    expect(members).toHaveLength(3);
    expect(members.map((m) => m.server).sort()).toEqual(['srv-a', 'srv-b', 'srv-c']);
    expect(members.every((m) => !m.learner)).toBe(true);
    expect(members.map((m) => m.id).sort()).toEqual(joined.map((j) => j.memberId).sort());
  });

  it('joins the workers and reports the cluster healthy', async () => {
    for (const server of Object.keys(CP)) {
      expect(await activities.applyMachineConfig(spec, server, 'worker')).toMatchObject({ applied: true, via: 'maintenance' });
    }
    const health = await activities.clusterHealth(spec);
    expect(health).toMatchObject({ healthy: true, via: 'srv-a' });
    expect(health.checks).toContain('waiting for all k8s nodes to report ready: OK');
    expect(await activities.nodeReady(spec, 'srv-b', 'worker')).toMatchObject({ ready: true, stage: 'running' });
    const { members } = await activities.clusterMembers(spec, 'srv-a');
    expect(members.map((m) => `${m.hostname}:${m.machineType}`).sort()).toEqual([
      'srv-a-cp:controlplane',
      'srv-a-worker:worker',
      'srv-b-cp:controlplane',
      'srv-b-worker:worker',
      'srv-c-cp:controlplane',
      'srv-c-worker:worker',
    ]);
  });

  it('writes the kubeconfig 0600 into the state store', async () => {
    const { path, ref } = await activities.writeKubeconfig(spec);
    expect(path).toBe(join(dir, 'state', 'kubeconfig'));
    expect(ref).toBe('state:kubeconfig');
    expect(mode(path)).toBe(0o600);
    const kubeconfig = parse(readFileSync(path, 'utf8'));
    expect(kubeconfig.clusters[0]).toMatchObject({ name: 'prod-gra', cluster: { server: 'https://10.10.0.5:6443' } });
    expect(kubeconfig['current-context']).toBe('admin@prod-gra');
  });

  it('reports an unhealthy node as a retryable ClusterUnhealthy after the wait timeout', async () => {
    sim.setNotReady(WORKERS[1], true);
    try {
      const unhealthy = await failureOf(activities.clusterHealth(spec, { waitTimeout: '1s' }));
      expect(unhealthy).toMatchObject({ nonRetryable: false, type: 'ClusterUnhealthy' });
      expect(unhealthy.message).toMatch(/not healthy within 1s .*kubelet.*10\.10\.0\.32/);
      expect(await activities.nodeReady(spec, 'srv-b', 'worker')).toMatchObject({ ready: false, stage: 'running' });
    } finally {
      sim.setNotReady(WORKERS[1], false);
    }
  });

  it('refuses a member removal that would cost quorum (etcd strict reconfiguration)', async () => {
    const srvC = (await activities.etcdMembers(spec, 'srv-a')).members.find((m) => m.server === 'srv-c')!;
    // Without an ID, a member whose node answers for itself is not removed: it should leave.
    expect(await failureOf(activities.removeEtcdMember(spec, 'srv-c', 'srv-a'))).toMatchObject({ nonRetryable: true, type: 'TalosMemberAlive' });

    running.delete(CP['srv-b']);
    try {
      const refused = await failureOf(activities.removeEtcdMember(spec, 'srv-c', 'srv-a', srvC.id));
      expect(refused.nonRetryable).toBe(true);
      expect(refused.type).toBe('TalosQuorumRefused');
      expect(refused.message).toMatch(/not enough started members/);
    } finally {
      running.set(CP['srv-b'], `vm-${CP['srv-b']}-1`);
    }
    expect(sim.etcdMembers('prod-gra')).toHaveLength(3);
  });

  it('treats a recreated VM as a fresh node, and removes its stale member by ID', async () => {
    const stale = (await activities.etcdMembers(spec, 'srv-a')).members.find((m) => m.server === 'srv-c')!;
    running.set(CP['srv-c'], `vm-${CP['srv-c']}-2`);
    expect(sim.nodes().find((n) => n.ip === CP['srv-c'])).toMatchObject({ phase: 'maintenance', etcd: 'none' });
    expect(sim.etcdMembers('prod-gra').find((m) => m.id === stale.id)).toMatchObject({ alive: false });

    // autok8s configured srv-c before: without the workflow saying it is a new machine, its
    // config is not sent to the unauthenticated maintenance API.
    const unknown = await failureOf(activities.applyMachineConfig(spec, 'srv-c', 'controlPlane'));
    expect(unknown).toMatchObject({ nonRetryable: true, type: 'TalosUntrusted' });
    expect(unknown.message).toMatch(/configured this node before.*not sent unauthenticated/);
    expect(sim.nodes().find((n) => n.ip === CP['srv-c'])).toMatchObject({ phase: 'maintenance' });
    // replaceNode knows: it has just recreated the VM.
    expect(await activities.applyMachineConfig(spec, 'srv-c', 'controlPlane', { newMachine: true })).toEqual({ applied: true, alreadyConfigured: false, via: 'maintenance' });

    // The new machine installs, runs, and cannot join while the stale member holds its peer URL.
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const waiting = env.run(activities.waitForEtcdMember, spec, 'srv-c') as ReturnType<typeof activities.waitForEtcdMember>;
    await until(() => sim.nodes().find((n) => n.ip === CP['srv-c'])?.phase === 'running');
    // Still waiting, and saying so: it heartbeats while the stale member keeps it out.
    await until(() => beats.length > 0);
    expect(sim.etcdMembers('prod-gra').filter((m) => m.ip === CP['srv-c'])).toEqual([expect.objectContaining({ id: stale.id, alive: false })]);

    const removed = await activities.removeEtcdMember(spec, 'srv-c', 'srv-a');
    expect(removed).toEqual({ removed: true, alreadyGone: false, memberId: stale.id });
    expect(audit.entries({ service: 'talos', action: 'etcd remove-member', outcome: 'ok' }).map((e) => e.detail?.memberId)).toEqual([stale.id]);
    expect(await activities.removeEtcdMember(spec, 'srv-c', 'srv-a', stale.id)).toEqual({ removed: false, alreadyGone: true, memberId: stale.id });

    const rejoined = await waiting;
    expect(rejoined.memberId).not.toBe(stale.id);
    expect(beats.length).toBeGreaterThan(0);
    expect(await activities.clusterHealth(spec)).toMatchObject({ healthy: true });
    expect(sim.bootstrapCount('prod-gra')).toBe(1);

    // A late retry without the ID must not remove the machine that has rejoined.
    const late = await failureOf(activities.removeEtcdMember(spec, 'srv-c', 'srv-a'));
    expect(late).toMatchObject({ nonRetryable: true, type: 'TalosMemberAlive' });
    expect(sim.etcdMembers('prod-gra')).toHaveLength(3);
  });

  it('lets a control plane leave etcd once', async () => {
    expect(await activities.leaveEtcd(spec, 'srv-c')).toEqual({ left: true, alreadyLeft: false });
    expect(await activities.leaveEtcd(spec, 'srv-c')).toEqual({ left: false, alreadyLeft: true });
    expect(audit.count({ service: 'talos', action: 'etcd leave', outcome: 'ok' })).toBe(1);
    expect((await activities.etcdMembers(spec, 'srv-a')).members.map((m) => m.server).sort()).toEqual(['srv-a', 'srv-b']);
  });

  it('refuses a node that another cluster configured', async () => {
    const other: ClusterSpec = { ...spec, metadata: { name: 'other' }, state: { dir: join(dir, 'other-state') } };
    await activities.ensureTalosSecrets(other);
    await activities.renderMachineConfigs(other);
    const refused = await failureOf(activities.applyMachineConfig(other, 'srv-a', 'worker'));
    expect(refused.nonRetryable).toBe(true);
    expect(refused.type).toBe('TalosUntrusted');
    expect(refused.message).toMatch(/not from cluster other.*reset it .* or recreate its VM/);
  });
});
