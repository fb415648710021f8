// autok8s's Talos activities against the sandbox's nodes over the Talos API, twice: with the
// REAL talosctl (command lines, output parsing and error classification meet the real
// client), and with the stand-in reaching the nodes through the fallback gRPC client (the
// talosctl of a machine without the real one). Same scenarios, same expected outcomes.
// The spec is the test fixture with its node network moved to loopback (the guard checks it).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTalosActivities } from '../../activities/talos/activities';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { AuditLog } from '../../sandbox/audit';
import { talosApiDescriptorPaths } from '../../sandbox/talos/grpc/descriptors';
import { requireLocalTalosNodes } from '../../sandbox/talos/grpc/local-guard';
import { TalosSimulator } from '../../sandbox/talos/simulator';
import { ROOT } from '../helpers/paths';
import { requireInCi } from '../helpers/prerequisites';
import { findRealTalosctl } from '../helpers/real-talosctl';

const found = findRealTalosctl();
function descriptorsMissing(): string | undefined {
  try {
    talosApiDescriptorPaths();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
const REAL = 'the real talosctl';
const VARIANTS = [
  { variant: REAL, missing: found.missing },
  { variant: 'the stand-in over the fallback gRPC client', missing: descriptorsMissing() },
];

/** The fixture's 10.10.0.x moved to this file's loopback range 127.10.17.(100 + x). */
const local = (ip: string) => ip.replace(/^10\.10\.0\.(\d+)$/, (_m, x: string) => `127.10.17.${100 + Number(x)}`);
const CP = { 'srv-a': local('10.10.0.21'), 'srv-b': local('10.10.0.22'), 'srv-c': local('10.10.0.23') } as const;
const WORKERS = ['10.10.0.31', '10.10.0.32', '10.10.0.33'].map(local);

describe.each(VARIANTS)('Talos activities with $variant against the gRPC nodes', ({ variant, missing }) => {
  const skip = requireInCi(missing, `Talos activities with ${variant}`);
  const title = (name: string) => (skip ? `${name} (skipped: ${missing})` : name);
  let dir: string;
  const audit = new AuditLog();
  const running = new Map<string, string>();
  const sim = new TalosSimulator({
    audit,
    lookupNode: (ip) => (running.has(ip) ? { running: true, machineKey: running.get(ip)! } : undefined),
    talosVersion: 'v1.10.0',
    timing: { installMs: 1000, rebootMs: 150, etcdJoinMs: 150, kubeletReadyMs: 150 },
  });
  let spec: ClusterSpec;
  const activities = createTalosActivities({ pollIntervalMs: 100, memberWaitMs: 20_000, apiWaitMs: 10_000, healthWaitTimeout: '30s' });
  async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
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
    dir = mkdtempSync(join(tmpdir(), 'autok8s-talos-real-'));
    const fixture = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));
    spec = {
      ...fixture,
      network: { ...fixture.network, cidr: '127.10.17.0/24', gateway: local('10.10.0.1'), apiVip: local('10.10.0.5') },
      talos: { ...fixture.talos, version: 'v1.10.0', kubernetesVersion: 'v1.32.3' },
      servers: fixture.servers.map((s) => ({
        ...s,
        vms: { lb: { ...s.vms.lb, ip: local(s.vms.lb.ip) }, worker: { ...s.vms.worker, ip: local(s.vms.worker.ip) }, ...(s.vms.controlPlane ? { controlPlane: { ...s.vms.controlPlane, ip: local(s.vms.controlPlane.ip) } } : {}) },
      })),
      state: { dir: join(dir, 'state') },
    };
    if (skip) return;
    requireLocalTalosNodes(spec);
    await sim.serveGrpc([...Object.values(CP), ...WORKERS], { standInOverGrpc: variant !== REAL });
    if (variant === REAL) spec.talos.talosctl = found.talosctl!.path;
    else {
      await sim.start();
      spec.talos.talosctl = sim.writeStandIn(join(dir, 'bin'));
    }
  });

  afterAll(async () => {
    await sim.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)(title('renders the configs'), async () => {
    expect(await activities.ensureTalosSecrets(spec)).toEqual({ created: true, ref: 'state:secrets.yaml' });
    const rendered = await activities.renderMachineConfigs(spec);
    expect(rendered.configs).toHaveLength(6);
    const cp = parse(readFileSync(rendered.configs[1].path, 'utf8'));
    expect(cp.machine.network.interfaces[0].addresses).toEqual([`${CP['srv-b']}/24`]);
    expect(statSync(rendered.talosconfig.path).mode & 0o777).toBe(0o600);
  });

  it.skipIf(skip)(title('a node whose VM is not running is a retryable TalosNodeUnreachable'), async () => {
    const failure = await failureOf(activities.applyMachineConfig(spec, 'srv-a', 'controlPlane'));
    expect(failure).toMatchObject({ nonRetryable: false, type: 'TalosNodeUnreachable' });
  });

  it.skipIf(skip)(title('configures the control planes once, bootstraps etcd once, sees three voters'), async () => {
    for (const ip of [...Object.values(CP), ...WORKERS]) running.set(ip, `vm-${ip}-1`);
    await sim.serveGrpc([]); // the ports follow the VMs on the next reconcile
    await until(() => Object.values(CP).every((ip) => sim.nodes().some((n) => n.ip === ip && n.phase === 'maintenance')));
    for (const server of Object.keys(CP)) {
      expect(await activities.applyMachineConfig(spec, server, 'controlPlane')).toEqual({ applied: true, alreadyConfigured: false, via: 'maintenance' });
    }
    await until(() => Object.values(CP).every((ip) => sim.nodes().find((n) => n.ip === ip)?.phase === 'running'));
    expect(await activities.applyMachineConfig(spec, 'srv-a', 'controlPlane')).toEqual({ applied: false, alreadyConfigured: true, via: 'none' });

    expect(await activities.bootstrapEtcd(spec, 'srv-a')).toMatchObject({ bootstrapped: true, alreadyBootstrapped: false });
    expect(await activities.bootstrapEtcd(spec, 'srv-a')).toMatchObject({ bootstrapped: false, alreadyBootstrapped: true });
    expect(sim.bootstrapCount('prod-gra')).toBe(1);

    const joined = await Promise.all(Object.keys(CP).map((server) => activities.waitForEtcdMember(spec, server)));
    const { members } = await activities.etcdMembers(spec, 'srv-a');
    expect(members.map((m) => m.server).sort()).toEqual(['srv-a', 'srv-b', 'srv-c']);
    expect(members.every((m) => !m.learner)).toBe(true);
    expect(members.map((m) => m.id).sort()).toEqual(joined.map((j) => j.memberId).sort());
  });

  it.skipIf(skip)(title('joins the workers, reports the cluster healthy and writes the kubeconfig'), async () => {
    for (const server of Object.keys(CP)) expect(await activities.applyMachineConfig(spec, server, 'worker')).toMatchObject({ applied: true, via: 'maintenance' });
    const health = await activities.clusterHealth(spec);
    expect(health).toMatchObject({ healthy: true });
    expect(health.checks).toContain('waiting for all k8s nodes to report ready: OK');
    expect(await activities.nodeReady(spec, 'srv-b', 'worker')).toMatchObject({ ready: true, stage: 'running' });
    const { path } = await activities.writeKubeconfig(spec);
    expect(parse(readFileSync(path, 'utf8')).clusters[0]).toMatchObject({ name: 'prod-gra', cluster: { server: `https://${local('10.10.0.5')}:6443` } });
  });

  it.skipIf(skip)(title('an unhealthy node is a retryable ClusterUnhealthy after the wait timeout'), async () => {
    sim.setNotReady(WORKERS[1], true);
    try {
      const unhealthy = await failureOf(activities.clusterHealth(spec, { waitTimeout: '1s' }));
      expect(unhealthy).toMatchObject({ nonRetryable: false, type: 'ClusterUnhealthy' });
      expect(await activities.nodeReady(spec, 'srv-b', 'worker')).toMatchObject({ ready: false, stage: 'running' });
    } finally {
      sim.setNotReady(WORKERS[1], false);
    }
  });
});
