// bootstrapCluster end to end on a 3-server sandbox: OVH (vRack, failover IP), Proxmox
// (9 VMs), talosctl (the sandbox stand-in: secrets, configs, etcd), SSH pushes to the LB
// hosts. Assertions read the simulators' state and their audit log.
import { readFileSync, statSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootCauseMessage } from '../../client/failure';
import { startBootstrap } from '../../client/start';
import { startSandbox, type Sandbox } from '../../sandbox';
import { workflowIds } from '../../core/workflow-ids';
import { connect, maybeRecordHistory, startInProcessWorker, uniqueQueue, type RunningWorker } from '../helpers/temporal';
import { activityRuns, timeline } from '../helpers/history';
import { collectHistories, findLeaks, fixtureCodec, secretsOf } from '../helpers/secrets';

let box: Sandbox;
let client: Client;
let worker: RunningWorker;
let queue: string;

beforeAll(async () => {
  box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-bootstrap-')), clusterName: 'bootstrap' }); // a cluster name of its own: each test file's spec store runs on its own task queue
  client = await connect();
  queue = uniqueQueue('bootstrap');
  worker = await startInProcessWorker(queue);
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await box?.stop();
});

const creates = () => box.audit.entries({ action: 'qmcreate', outcome: 'ok' }).filter((e) => e.service.startsWith('proxmox:'));
const IP = '203.0.113.10';
const vmacPosts = () => box.audit.entries({ service: 'ovh', action: 'POST /dedicated/server/{serviceName}/virtualMac', outcome: 'ok' });
/** Each LB VM's net1 as its Proxmox simulator holds it, by server. */
const lbNics = () =>
  Object.fromEntries(box.spec.servers.map((s) => [s.name, box.proxmox.get(s.name)!.vms().find((vm) => vm.vmid === s.vms.lb.vmid)?.config.net1]));
const bootstraps = () => box.audit.entries({ service: 'talos', action: 'bootstrap', outcome: 'ok' });

describe('bootstrapCluster', () => {
  it('builds the whole cluster: 9 VMs, 3 etcd members, workers joined, LB configs, failover IP, kubeconfig', async () => {
    // srv-c's VMs boot only once etcd is bootstrapped on srv-a: the other servers must go on
    // without waiting for it. (A boot that is merely slower races a loaded machine.)
    const srvC = box.proxmox.get('srv-c')!;
    srvC.setLatency({ bootMs: 10 * 60_000 });
    // srv-c's VMs as they are when the simulator records the etcd bootstrap.
    let srvCAtEtcdBootstrap: { vmid: number; status: string; booted: boolean }[] | undefined;
    const unsubscribe = box.audit.subscribe((e) => {
      if (e.service !== 'talos' || e.action !== 'bootstrap' || e.outcome !== 'ok') return;
      srvCAtEtcdBootstrap = srvC.vms().map((vm) => ({ vmid: vm.vmid, status: vm.status, booted: vm.bootedAt !== undefined }));
      srvC.setLatency({ bootMs: 400 });
    });
    const { handle, workflowId } = await startBootstrap(client, queue, box.spec);
    expect(workflowId).toBe('bootstrap/bootstrap');
    const result = await handle.result().finally(unsubscribe);

    expect(result.changed).toBe(true);
    const running = [...box.proxmox.values()].flatMap((sim) => sim.vms().filter((vm) => vm.status === 'running'));
    expect(running).toHaveLength(9);
    expect(creates()).toHaveLength(9);
    expect(new Set(creates().map((e) => `${e.service}/${e.target}`)).size).toBe(9);
    expect(bootstraps()).toHaveLength(1);

    const members = box.talos!.etcdMembers();
    expect(members.map((m) => m.ip).sort()).toEqual(box.spec.servers.map((s) => s.vms.controlPlane!.ip).sort());
    const workers = box.talos!.nodes().filter((n) => n.machineType === 'worker' && n.ready);
    expect(workers.map((n) => n.ip).sort()).toEqual(box.spec.servers.map((s) => s.vms.worker.ip).sort());

    expect(statSync(result.kubeconfig).mode & 0o777).toBe(0o600);
    expect(readFileSync(result.kubeconfig, 'utf8')).toContain(`https://${box.spec.network.apiVip}:6443`);
    expect(box.ovh.routing('203.0.113.10')).toBe(box.spec.servers[0].ovhService);
    // The public path (vmac, the default): one virtual MAC, made on srv-a where OVH routes the
    // IP, before any LB VM; every LB VM's net1 carries it on vmbr0, only srv-a's link up.
    const macs = box.spec.servers.map((s) => box.ovh.virtualMacsOf(s.ovhService));
    expect(macs[0]).toHaveLength(1);
    expect(macs[0][0].ips).toEqual([IP]);
    expect(macs.slice(1)).toEqual([[], []]);
    const mac = macs[0][0].mac.toUpperCase();
    expect(lbNics()).toEqual({ 'srv-a': `virtio=${mac},bridge=vmbr0,link_down=0`, 'srv-b': `virtio=${mac},bridge=vmbr0,link_down=1`, 'srv-c': `virtio=${mac},bridge=vmbr0,link_down=1` });
    expect(vmacPosts()).toHaveLength(1);
    expect(result.summary).toContain(`created the virtual MAC ${macs[0][0].mac} of ${IP} on srv-a`);
    expect(vmacPosts()[0].seq, 'the MAC exists before the first VM is created').toBeLessThan(Math.min(...creates().map((e) => e.seq)));
    expect(await box.internet.serves(IP)).toEqual({ served: true, by: 'srv-a' });
    expect(result.failover[0]).toMatchObject({ ip: IP, to: 'srv-a', moved: false, serving: { served: true, by: 'srv-a' } });
    // keepalived.conf holds the failover IP on eth1 with srv-a's gateway as OVH reports it.
    expect(readFileSync(join(box.lbHosts.get('srv-a')!.rootDir, 'etc/keepalived/keepalived.conf'), 'utf8')).toMatch(/203\.0\.113\.10\/32 dev eth1[\s\S]*0\.0\.0\.0\/0 via 198\.51\.100\.254 dev eth1 onlink table 100/);
    expect(box.ovh.vrackMembers(box.spec.ovh.vrack).sort()).toEqual(box.spec.servers.map((s) => s.ovhService).sort());
    // Every LB host received its three config files.
    for (const [name, host] of box.lbHosts) {
      expect(readFileSync(join(host.rootDir, 'etc/haproxy/haproxy.cfg'), 'utf8'), name).toContain('frontend');
    }
    const steps = result.steps.map((s) => s.name);
    // The Talos chain in order (control planes configured, one etcd bootstrap, members, health,
    // kubeconfig) with the workers configured beside the etcd steps; the LB branch beside it
    // all; configs rendered beside the provisioning.
    const talosChain = ['talos-configs', 'configure-control-planes', 'etcd-bootstrap', 'etcd-members', 'cluster-health', 'kubeconfig'].map((n) => steps.indexOf(n));
    expect(talosChain.every((i) => i >= 0)).toBe(true);
    expect([...talosChain].sort((a, b) => a - b)).toEqual(talosChain);
    expect(steps.indexOf('route 203.0.113.10')).toBeGreaterThan(steps.indexOf('push-lb-configs'));
    expect(result.steps.find((s) => s.name === `virtual-mac ${IP}`)?.detail).toMatch(new RegExp(`^${macs[0][0].mac} on srv-a \\(created, task \\d+\\)$`, 'i'));
    const step = (n: string) => result.steps.find((s) => s.name === n)!;
    const ended = (s: { startedAt: number; durationMs?: number }) => s.startedAt + s.durationMs!;
    // Overlaps, from the order of the run's history (one total order, no clocks).
    const events = timeline(await handle.fetchHistory());
    const first = (kind: string, name: string, args = (_: unknown[]) => true) => events.findIndex((e) => e.kind === kind && e.name === name && args(e.args));
    const last = (kind: string, name: string) => events.map((e) => e.kind === kind && e.name === name).lastIndexOf(true);
    const secretsMade = first('activity scheduled', 'ensureTalosSecrets');
    expect(secretsMade).toBeGreaterThanOrEqual(0);
    expect(secretsMade, 'secrets made while the servers are provisioned').toBeLessThan(last('child closed', 'provisionServer'));
    expect(steps.indexOf('cluster-health')).toBeGreaterThan(steps.indexOf('configure-workers'));

    // Each server goes on as soon as its VMs answer: srv-a's control plane is configured and
    // etcd bootstrapped on it while srv-c still boots; srv-c's control plane joins afterwards.
    const applies = box.audit.entries({ service: 'talos', action: 'apply-config', outcome: 'ok' });
    const bootstrap = box.audit.entries({ service: 'talos', action: 'bootstrap', outcome: 'ok' });
    const cpIp = (server: string) => box.spec.servers.find((s) => s.name === server)!.vms.controlPlane!.ip;
    const srvCBooted = Math.max(...result.servers.find((s) => s.server === 'srv-c')!.steps.map(ended));
    expect(bootstrap).toHaveLength(1);
    expect(bootstrap[0].target).toBe(cpIp('srv-a'));
    expect(applies.find((a) => a.target === cpIp('srv-a'))!.seq, 'the etcd node configured before the bootstrap').toBeLessThan(bootstrap[0].seq);
    const srvCControlPlane = box.spec.servers.find((s) => s.name === 'srv-c')!.vms.controlPlane!.vmid;
    expect(srvCAtEtcdBootstrap, 'etcd bootstrapped while srv-c still booted: no VM of srv-c had booted').toEqual(
      expect.arrayContaining([{ vmid: srvCControlPlane, status: 'running', booted: false }]),
    );
    expect(srvCAtEtcdBootstrap!.filter((vm) => vm.booted)).toEqual([]);
    expect(applies.find((a) => a.target === cpIp('srv-c'))!.seq, 'srv-c configured once it answered').toBeGreaterThan(bootstrap[0].seq);
    // A step of parts starts with its first apply, not with the bootstrap.
    expect(step('configure-control-planes').startedAt).toBeGreaterThan(step('talos-configs').startedAt);
    expect(ended(step('configure-control-planes'))).toBeGreaterThanOrEqual(srvCBooted);
    // The workers were configured while etcd came up, not after the members joined.
    const workerIps = box.spec.servers.map((s) => s.vms.worker.ip);
    const workerApply = first('activity scheduled', 'applyMachineConfig', (args) => args[2] === 'worker');
    expect(workerApply).toBeGreaterThanOrEqual(0);
    expect(workerApply, 'a worker configured before the last control plane joined etcd').toBeLessThan(last('activity closed', 'waitForEtcdMember'));
    expect(applies.filter((a) => workerIps.includes(a.target))).toHaveLength(3);
    // The VMs were started and awaited in one activity each.
    expect(result.servers.flatMap((s) => s.steps.map((x) => x.name.replace(/^\w+: /, '')))).toEqual(expect.arrayContaining(['ensure-vm', 'boot-vm']));
    expect(result.servers.flatMap((s) => s.steps.map((x) => x.name)).filter((n) => /start-vm|wait-boot/.test(n))).toEqual([]);
    await maybeRecordHistory(handle, 'bootstrapCluster-fresh');
  });

  it('changes nothing on a bootstrapped cluster, and says so', async () => {
    const { handle } = await startBootstrap(client, queue, box.spec);
    const result = await handle.result();
    expect(result.changed).toBe(false);
    expect(result.summary).toEqual(['already bootstrapped: nothing to change']);
    expect(result.etcdAlreadyBootstrapped).toBe(true);
    expect(creates()).toHaveLength(9);
    expect(bootstraps()).toHaveLength(1);
    // The public path as it was: the same MAC found, not made again; no NIC rewritten.
    const nics = lbNics();
    expect(vmacPosts()).toHaveLength(1);
    expect(result.steps.find((s) => s.name === `virtual-mac ${IP}`)?.detail).toMatch(/on srv-a \(already there\)$/);
    expect(result.servers.flatMap((s) => s.vms.flatMap((vm) => vm.reconciled))).toEqual([]);
    expect(lbNics()).toEqual(nics);
    expect(await box.internet.serves(IP)).toEqual({ served: true, by: 'srv-a' });
    await maybeRecordHistory(handle, 'bootstrapCluster-rerun');
    // The cluster's lock served both runs: its history (still open, idling) is the lock's replay guard.
    await maybeRecordHistory(client.workflow.getHandle(workflowIds.lock(box.spec.metadata.name)), 'clusterLock-two-bootstraps');
    // The spec store took the same spec twice (one generation) and answered each run's look-up.
    await maybeRecordHistory(client.workflow.getHandle(workflowIds.spec(box.spec.metadata.name)), 'clusterSpec-two-applies');
  });

  it('fails fast with a clear message naming the server on a wrong Proxmox token', async () => {
    const other = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-badtoken-')), clusterName: 'badtoken' });
    try {
      const bad = structuredClone(other.spec);
      bad.servers[1].proxmox.tokenSecret = `file:${join(other.dir, 'secrets', 'pve-srv-a.token')}`; // srv-a's secret on srv-b
      const { handle } = await startBootstrap(client, queue, bad);
      const err = await handle.result().catch((e: Error) => e);
      const message = rootCauseMessage(err);
      expect(message).toMatch(/srv-b|pve-b/);
      expect(message).toMatch(/401|authentication|token/i);
      expect(message).not.toContain(readFileSync(join(other.dir, 'secrets', 'pve-srv-a.token'), 'utf8').trim());
      // Fast because not retried: srv-b's first Proxmox call (the boot-image check, before
      // anything is created) failed on its first attempt as non-retryable.
      const runs = activityRuns(await handle.fetchHistory());
      const failed = runs.filter((r) => r.outcome === 'failed');
      expect(failed).toEqual([{ type: 'checkBootImage', attempts: 1, outcome: 'failed', retryState: 'NON_RETRYABLE_FAILURE' }]);
      expect(runs.filter((r) => r.attempts > 1)).toEqual([]);
      expect(other.audit.entries({ service: 'proxmox:pve-b', action: 'qmcreate' })).toHaveLength(0);
    } finally {
      await other.stop();
    }
  });

  it('retries a Proxmox task that fails once, and the run completes with each VM created once', async () => {
    const other = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-taskfail-')), clusterName: 'taskfail' });
    try {
      // The create task of srv-b's first VM ends in error (nothing created); the retry creates it.
      other.faults.add({ service: 'proxmox:pve-b', method: 'POST', path: '^/nodes/pve-b/qemu$', effect: { kind: 'taskError', message: 'storage busy' }, times: 1 });
      const { handle } = await startBootstrap(client, queue, other.spec);
      const result = await handle.result();
      expect(result.changed).toBe(true);
      expect(other.audit.entries({ service: 'proxmox:pve-b', action: 'task', outcome: 'fault' }).length).toBeGreaterThan(0);
      const created = other.audit.entries({ action: 'qmcreate' }).filter((e) => e.service.startsWith('proxmox:'));
      expect(created.filter((e) => e.outcome === 'fault')).toHaveLength(1); // the create whose task failed
      expect(created.filter((e) => e.outcome === 'ok')).toHaveLength(9); // then each VM created once
      expect([...other.proxmox.values()].flatMap((sim) => sim.vms())).toHaveLength(9);
    } finally {
      await other.stop();
    }
  });

  it('keeps every secret out of every history it wrote', async () => {
    const secrets = secretsOf(box);
    expect(secrets.length).toBeGreaterThan(5);
    // Payloads decoded through the codec first: clear ones pass through, encrypted ones are read.
    const histories = await collectHistories(client, 'bootstrap', fixtureCodec());
    expect(histories.length).toBeGreaterThan(3);
    // A control that the scan reads these histories' payloads: the spec travels in them, so
    // the reference to a secret file (a path, not the secret) must be found where the secret is not.
    const reference = { name: 'the reference to the OVH application secret', value: box.spec.ovh.applicationSecret };
    expect(reference.value).toMatch(/^file:.*ovh-application-secret$/);
    const leaks = findLeaks(histories, [...secrets, reference]);
    expect(leaks.filter((l) => l.secret !== reference.name)).toEqual([]);
    expect(leaks.map((l) => l.workflowId)).toContain('bootstrap/bootstrap');
  });
});
