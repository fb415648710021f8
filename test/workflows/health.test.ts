// The health schedule on a bootstrapped 3-server sandbox: a real Temporal Schedule runs a
// healthCheck watch window every 6 s, probing every second (each window reports its first
// look, so the watcher hears at least every window); the watcher remembers and remediates. Each scenario breaks
// something through the sandbox's demo hooks and checks, from the simulators' audit log and
// the watcher's status, that the repair happened — and only the repair that is safe.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertHealthSchedule } from '../../client/health-schedule';
import { startBootstrap } from '../../client/start';
import { parseDuration } from '../../core/spec/duration';
import { workflowIds } from '../../core/workflow-ids';
import { startSandbox, type Sandbox } from '../../sandbox';
import type { WatcherState } from '../../core/health/watcher';
import { collectHistories, findLeaks, fixtureCodec, secretsOf } from '../helpers/secrets';
import { connect, maybeRecordHistory, startInProcessWorker, uniqueQueue, waitUntil, type RunningWorker } from '../helpers/temporal';
import { decisionFor, healthyAgain, mostRemediationsAtOnce, nextPasses, passesUntil } from '../helpers/watcher';

let box: Sandbox;
let client: Client;
let worker: RunningWorker;
let queue: string;
const IP = '203.0.113.10';
// The spec's bounds (interval ≥ 5 s, unhealthyAfter ≥ 2 intervals); the schedule below still
// probes every second, as `autok8s health schedule --every 1s --window 6s` would.
const HEALTH = { interval: '5s', unhealthyAfter: '10s', nodeStartupTimeout: '30s', maxUnhealthy: 1, autoRemediate: true };
const PASS_EVERY = '1s';
const WINDOW = '6s';
/** What a pass decides while a node has not been unhealthy for unhealthyAfter yet. */
const UNHEALTHY_WAIT = new RegExp(`^wait: unhealthy for \\d+ ms of ${parseDuration(HEALTH.unhealthyAfter)}$`);

const watcher = () => client.workflow.getHandle(workflowIds.watcher(box.spec.metadata.name));
const status = () => watcher().query<WatcherState>('status');
const server = (name: string) => box.spec.servers.find((s) => s.name === name)!;
const hook = async (name: string, ...args: string[]) => {
  const response = await fetch(`${box.control.url}/hooks/${name}`, { method: 'POST', body: JSON.stringify({ args }) });
  if (!response.ok) throw new Error(await response.text());
};
const vmActions = (srv: string, role: 'controlPlane' | 'worker' | 'lb', action: string) =>
  box.audit.entries({ service: `proxmox:${server(srv).proxmox.node}`, action, target: String(server(srv).vms[role]!.vmid), outcome: 'ok' });

beforeAll(async () => {
  // Serving unverified: nothing in this sandbox plays keepalived's notify_master, which brings the new LB's public link up.
  box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-health-')), clusterName: 'health', health: HEALTH, publicProbe: false });
  client = await connect();
  queue = uniqueQueue('health');
  worker = await startInProcessWorker(queue, 100);
  await (await startBootstrap(client, queue, box.spec)).handle.result();
  await upsertHealthSchedule(client, queue, box.spec, PASS_EVERY, WINDOW);
  await healthyAgain(status, 60_000);
}, 180_000);

afterAll(async () => {
  await client?.schedule.getHandle(workflowIds.health('health')).delete().catch(() => undefined);
  // A deleted schedule leaves its running window: end it with the test.
  if (client) for await (const w of client.workflow.list({ query: `WorkflowType = "healthCheck" AND TaskQueue = "${queue}" AND ExecutionStatus = "Running"` })) await client.workflow.getHandle(w.workflowId, w.runId).terminate('test over').catch(() => undefined);
  await watcher().terminate('test over').catch(() => undefined);
  await worker?.stop();
  await client?.connection.close();
  await box?.stop();
});

describe('scheduled health checks with safe auto-remediation', () => {
  it('moves the failover IP once when the active LB stops answering', async () => {
    const applied = () => box.audit.entries({ service: 'ovh', action: 'task:genericMoveFloatingIp', outcome: 'ok' }).length;
    const before = applied();
    expect(box.ovh.routing(IP)).toBe(server('srv-a').ovhService);
    await hook('lb-down', 'srv-a');
    try {
      await waitUntil('the IP left srv-a', () => box.ovh.routing(IP) !== server('srv-a').ovhService, 30_000, 100);
      await waitUntil('the move is applied', () => applied() > before, 10_000, 100);
    } finally {
      // Back before unhealthyAfter, so the LB VM itself is not remediated.
      await hook('lb-up', 'srv-a');
    }
    // The three passes after the one in flight when srv-a's LB came back (that one may have
    // looked before) see it up and the IP on srv-b: none moves it again.
    const after = (await nextPasses(status, 4, 30_000, Date.now())).slice(1);
    expect(after.flatMap((p) => p.actions.filter((a) => a.kind === 'failover'))).toEqual([]);
    expect(applied() - before).toBe(1);
    expect(box.ovh.routing(IP)).toBe(server('srv-b').ovhService);
    await healthyAgain(status);
  });

  it('reboots a killed worker VM after unhealthyAfter, and the cluster is healthy again', async () => {
    const starts = vmActions('srv-b', 'worker', 'qmstart').length;
    await hook('kill-vm', 'srv-b', 'worker');
    const passes = await passesUntil(status, 'the watcher rebooted it', () => vmActions('srv-b', 'worker', 'qmstart').length > starts);
    // Not at first sight: the passes before the reboot decided to wait, counting towards
    // unhealthyAfter (4 s); a later one decided the reboot.
    const decisions = passes.map((p) => decisionFor(p, 'srv-b', 'worker')).filter((d) => d !== undefined);
    const firstReboot = decisions.findIndex((d) => d.startsWith('reboot: '));
    expect(decisions[0], decisions.join('\n')).toMatch(UNHEALTHY_WAIT);
    expect(decisions.slice(0, firstReboot === -1 ? undefined : firstReboot).every((d) => UNHEALTHY_WAIT.test(d)), decisions.join('\n')).toBe(true);
    const reboots = (await status()).recent.filter((r) => r.action.kind === 'reboot' && 'server' in r.action && r.action.server === 'srv-b' && r.action.role === 'worker');
    expect(reboots.length).toBeGreaterThan(0);
    await healthyAgain(status);
    expect(vmActions('srv-b', 'worker', 'qmdestroy')).toHaveLength(0); // a reboot was enough: no replacement
  });

  it('with every worker down and maxUnhealthy 1, repairs them one at a time', async () => {
    const starts = () => ['srv-a', 'srv-b', 'srv-c'].map((s) => vmActions(s, 'worker', 'qmstart').length);
    const before = starts();
    for (const s of ['srv-a', 'srv-b', 'srv-c']) await hook('kill-vm', s, 'worker');
    let maxInFlight = 0;
    await waitUntil(
      'all three workers were rebooted',
      async () => {
        const st = await status();
        maxInFlight = Math.max(maxInFlight, st.inFlight.length);
        return starts().every((n, i) => n > before[i]);
      },
      90_000,
      50,
    );
    expect(maxInFlight).toBe(1);
    // From the watcher's history: never two reboots or replacements running at once.
    expect(mostRemediationsAtOnce(await watcher().fetchHistory())).toBe(1);
    await healthyAgain(status, 60_000);
  });

  it('replaces a worker that a reboot does not fix', async () => {
    const ip = server('srv-c').vms.worker.ip;
    const destroys = vmActions('srv-c', 'worker', 'qmdestroy').length;
    box.talos.setNotReady(ip, true); // survives reboots; a new machine starts Ready
    await waitUntil('rebooted, then replaced', () => vmActions('srv-c', 'worker', 'qmdestroy').length > destroys, 90_000, 200);
    await healthyAgain(status, 90_000);
    expect(vmActions('srv-c', 'worker', 'qmdestroy').length - destroys).toBe(1);
    const recent = (await status()).recent.map((r) => `${r.action.kind} ${'server' in r.action ? `${r.action.server}/${r.action.role}` : ''}`);
    expect(recent).toEqual(expect.arrayContaining(['reboot srv-c/worker', 'replace srv-c/worker']));
  });

  it('replaces a broken control plane and etcd has three members again', async () => {
    const ip = server('srv-b').vms.controlPlane!.ip;
    const removals = box.audit.entries({ service: 'talos', action: 'etcd remove-member', outcome: 'ok' }).length;
    box.talos.setNotReady(ip, true);
    await waitUntil('the control plane was replaced', () => vmActions('srv-b', 'controlPlane', 'qmdestroy').length > 0, 60_000, 200).catch(async (e) => {
      const st = await status();
      console.log('watcher status at timeout:', JSON.stringify({ recent: st.recent.slice(-6), lastActions: st.lastActions, inFlight: st.inFlight, nodes: st.lastObservation?.nodes.filter((n) => !n.healthy), etcd: st.lastObservation?.etcd }, null, 1));
      const p = await client.workflow.getHandle(workflowIds.replace('health', 'srv-b', 'controlPlane')).query('progress').catch((x) => String(x));
      console.log('replaceNode progress at timeout:', JSON.stringify(p, null, 1));
      throw e;
    });
    await healthyAgain(status, 120_000);
    expect(box.talos.etcdMembers('health')).toHaveLength(3);
    expect(vmActions('srv-b', 'controlPlane', 'qmdestroy')).toHaveLength(1);
    expect(box.audit.entries({ service: 'talos', action: 'etcd remove-member', outcome: 'ok' }).length - removals).toBeLessThanOrEqual(1);
    const replace = client.workflow.getHandle(workflowIds.replace('health', 'srv-b', 'controlPlane'));
    await maybeRecordHistory(replace, 'replaceNode-control-plane');
    // The watcher (still running) has decided a reboot, a worker and a control-plane replacement by now.
    await maybeRecordHistory(watcher(), 'clusterWatcher-remediations');
  });

  it('with two control planes of three down, starts no control-plane remediation and says why', async () => {
    const touched = () => ['srv-a', 'srv-c'].flatMap((s) => [...vmActions(s, 'controlPlane', 'qmstart'), ...vmActions(s, 'controlPlane', 'qmdestroy')]).length;
    const before = touched();
    await hook('kill-vm', 'srv-a', 'controlPlane');
    await hook('kill-vm', 'srv-c', 'controlPlane');
    await waitUntil(
      'the watcher reports the quorum refusal',
      async () => (await status()).lastActions.some((a) => a.kind === 'report' && /quorum/.test(a.why)),
      60_000,
      250,
    );
    // Three more passes decide again, each with both control planes still down: none touches them.
    const later = await nextPasses(status, 3);
    expect(later.flatMap((p) => p.actions.filter((a) => a.kind === 'reboot' || a.kind === 'replace'))).toEqual([]);
    for (const name of ['srv-a', 'srv-c']) expect(decisionFor(later.at(-1)!, name, 'controlPlane')).toMatch(/^report: .*quorum/);
    expect(touched()).toBe(before);
    // Without quorum even srv-b's Talos reports not ready; every control plane is reported, none touched.
    const reports = (await status()).lastActions.filter((a) => a.kind === 'report' && a.role === 'controlPlane');
    expect(reports.map((a) => ('server' in a ? a.server : ''))).toEqual(expect.arrayContaining(['srv-a', 'srv-c']));
    for (const name of ['srv-a', 'srv-c']) expect(reports.find((a) => 'server' in a && a.server === name)!.why).toMatch(/quorum/);
  });

  it('keeps every secret out of every history the passes, the watcher, the repairs and the lock wrote', async () => {
    const secrets = secretsOf(box);
    expect(secrets.some((x) => x.name.startsWith('talos kubeconfig'))).toBe(true);
    const histories = await collectHistories(client, 'health', fixtureCodec());
    const ids = histories.map((h) => h.workflowId);
    for (const kind of ['/watcher', '/health/window', '/replace/', '/lock', '/spec']) expect(ids.some((id) => id.includes(kind)), kind).toBe(true);
    expect(findLeaks(histories, secrets)).toEqual([]);
  });
});
