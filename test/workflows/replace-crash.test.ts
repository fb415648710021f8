// Crash tests of replaceNode for a control plane: on a freshly bootstrapped sandbox, srv-b's
// control-plane VM is stopped (so its etcd member is removed by ID through a healthy peer),
// and the worker process running the replacement is SIGKILLed at one of 8 points drawn from
// the audit log — the etcd removal, the VM destroy, create and start, the new node's
// apply-config and three points of the closing LB push. A new worker takes over; every run
// must complete with exactly one member removal, one destroy and one create of that VM, three
// etcd members and the VM running.
//
// The LB configs do not change when a control plane is rebuilt at the same address, so the
// closing push would write nothing and leave no audit entry to kill at. To crash inside a
// push that writes, the HAProxy file of every LB host is edited by hand before the run (as
// an operator might): the push must restore all three, whatever the crash cut off.
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, it, type ExpectStatic } from 'vitest';
import { startBootstrap, startReplace } from '../../client/start';
import { LB_CONFIG_PATHS } from '../../core/render/lb-files';
import { startSandbox, type Sandbox } from '../../sandbox';
import type { AuditEntry } from '../../sandbox/audit';
import { connect, startChildWorker, startInProcessWorker, uniqueQueue, type ChildWorker } from '../helpers/temporal';

const SERVER = 'srv-b';
const DRIFT = '# edited by hand on the LB VM; autok8s must put its own file back\n';

/** Where to kill: the n-th audit entry (since the replacement started) that `matches`. */
interface KillPoint {
  step: string;
  matches: (e: AuditEntry, t: Target) => boolean;
  nth: number;
}

/** What the replacement acts on, from the sandbox's spec. */
interface Target {
  node: string; // proxmox:<node> service of srv-b
  vmid: string;
  ip: string;
}

const KILL_POINTS: KillPoint[] = [
  { step: 'etcd remove-member', nth: 1, matches: (e) => e.service === 'talos' && e.action === 'etcd remove-member' },
  { step: 'qmdestroy', nth: 1, matches: (e, t) => e.service === t.node && e.action === 'qmdestroy' && e.target === t.vmid },
  { step: 'qmcreate', nth: 1, matches: (e, t) => e.service === t.node && e.action === 'qmcreate' && e.target === t.vmid },
  { step: 'qmstart', nth: 1, matches: (e, t) => e.service === t.node && e.action === 'qmstart' && e.target === t.vmid },
  { step: 'apply-config', nth: 1, matches: (e, t) => e.service === 'talos' && e.action === 'apply-config' && e.target === t.ip },
  // A drifted host's push: take the host lock (a symlink), upload, chmod, validate, record the
  // old file (a hard link), swap, reload, keep, clean, release the lock.
  { step: 'LB push: the first host lock taken', nth: 1, matches: (e) => e.service.startsWith('ssh:') && e.action === 'symlink' },
  { step: 'LB push: the old file recorded on the second host', nth: 2, matches: (e) => e.service.startsWith('ssh:') && e.action === 'link' },
  { step: 'LB push: reload on the last host', nth: 3, matches: (e) => e.service.startsWith('ssh:') && e.action.startsWith('systemctl ') },
];

let client: Client;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client?.connection.close();
});

const haproxyFile = (box: Sandbox, server: string) => join(box.lbHosts.get(server)!.rootDir, LB_CONFIG_PATHS.haproxy);

async function startFreshSandbox(clusterName: string): Promise<Sandbox> {
  return startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-replace-crash-')), clusterName });
}

/** A bootstrapped sandbox; bootstrapped by an in-process worker on `queue`, stopped afterwards. */
async function bootstrapped(clusterName: string, queue: string): Promise<Sandbox> {
  const box = await startFreshSandbox(clusterName);
  try {
    const worker = await startInProcessWorker(queue);
    try {
      await (await startBootstrap(client, queue, box.spec)).handle.result();
    } finally {
      await worker.stop();
    }
    return box;
  } catch (err) {
    await box.stop();
    throw err;
  }
}

/**
 * Runs at most `n` tasks at once. Each point spends ~20 s idle, waiting for Temporal to notice
 * the dead worker (the providerCall heartbeat timeout), so two points share the wait; more
 * would crowd this 2-core machine's bootstraps.
 */
function limit(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    while (running >= n) await new Promise<void>((r) => waiting.push(r));
    running += 1;
    try {
      return await task();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}
const slot = limit(2);
/** Bootstraps (the set-up, not what this file tests) run one at a time, to bound the load on a small machine. */
const bootstrapSlot = limit(1);

/** One point: bootstrap, stop srv-b's control plane, replace it, SIGKILL at the point, recover, check. */
async function crashAndRecover(point: KillPoint & { i: number }, expect: ExpectStatic): Promise<void> {
  const queue = uniqueQueue('replace-crash');
  const box = await bootstrapSlot(() => bootstrapped(`replace-crash-${point.i}`, queue));
  let worker: ChildWorker | undefined;
  try {
    const server = box.spec.servers.find((s) => s.name === SERVER)!;
    const cp = server.vms.controlPlane!;
    const target: Target = { node: `proxmox:${server.proxmox.node}`, vmid: String(cp.vmid), ip: cp.ip };
    const since = box.audit.entries().length;
    const after = (filter: Parameters<Sandbox['audit']['entries']>[0]) => box.audit.entries(filter).filter((e) => e.seq > since);
    const memberBefore = box.talos.etcdMembers(box.spec.metadata.name).find((m) => m.ip === cp.ip);
    expect(memberBefore, `${SERVER}'s control plane is an etcd member after the bootstrap`).toBeDefined();

    // The node stops answering: the replacement must remove its member by ID, not `etcd leave`.
    box.proxmox.get(SERVER)!.killVm(cp.vmid);
    for (const lb of box.spec.servers) appendFileSync(haproxyFile(box, lb.name), DRIFT);

    worker = startChildWorker(queue);
    await worker.ready;
    let seen = 0;
    const victim = worker;
    const killed = new Promise<AuditEntry>((resolve) => {
      const stop = box.audit.subscribe((entry) => {
        if (!point.matches(entry, target) || ++seen !== point.nth) return;
        stop();
        void victim.kill('SIGKILL').then(() => resolve(entry));
      });
    });
    const { handle } = await startReplace(client, queue, box.spec, { server: SERVER, role: 'controlPlane', reason: 'crash test' });
    const at = await Promise.race([killed, handle.result().then(() => undefined)]);
    expect(at, `the ${point.step} kill point was reached before the replacement finished`).toBeDefined();

    worker = startChildWorker(queue);
    await worker.ready;
    const result = await handle.result();

    expect(result.etcd).toMatchObject({ removedMember: true, how: 'remove-member', membersAfter: 3 });
    expect(result.newVmid).toBe(cp.vmid);
    const removals = after({ service: 'talos', action: 'etcd remove-member', outcome: 'ok' });
    expect(removals.map((e) => e.detail?.memberIp)).toEqual([cp.ip]);
    expect(removals[0].detail?.memberId).toBe(memberBefore!.id);
    expect(after({ service: 'talos', action: 'etcd leave', outcome: 'ok' })).toHaveLength(0);
    expect(after({ service: target.node, action: 'qmdestroy', target: target.vmid, outcome: 'ok' })).toHaveLength(1);
    expect(after({ service: target.node, action: 'qmcreate', target: target.vmid, outcome: 'ok' })).toHaveLength(1);
    // No other VM was touched.
    expect(after({ servicePrefix: 'proxmox:' }).filter((e) => e.action.startsWith('qm') && (e.service !== target.node || e.target !== target.vmid))).toEqual([]);

    const members = box.talos.etcdMembers(box.spec.metadata.name);
    expect(members).toHaveLength(3);
    expect(members.filter((m) => m.ip === cp.ip)).toHaveLength(1);
    expect(members.every((m) => m.alive)).toBe(true);
    const vms = box.proxmox.get(SERVER)!.vms().filter((vm) => vm.vmid === cp.vmid);
    expect(vms.map((vm) => vm.status)).toEqual(['running']);
    for (const lb of box.spec.servers) expect(readFileSync(haproxyFile(box, lb.name), 'utf8')).not.toContain(DRIFT);
  } finally {
    await worker?.kill('SIGTERM');
    await box.stop();
  }
}

describe('replaceNode of a control plane survives a SIGKILL of its worker', () => {
  it.concurrent.for(KILL_POINTS.map((point, i) => ({ ...point, i })))(
    'killed at $step (matching entry $nth): completes with one member removal and one new VM',
    // All points start together and queue for a slot: the last one waits for the six ahead of
    // it (about 3 minutes on a quiet 2-core machine), then takes its own ~40 s.
    { timeout: 540_000 },
    (point, { expect }) => slot(() => crashAndRecover(point, expect)),
  );
});
