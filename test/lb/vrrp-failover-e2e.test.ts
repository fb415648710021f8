// VRRP failover for real, end to end: real keepalived in network namespaces (one LB per
// sandbox server), whose notify_master runs the real `autok8s failover` CLI, which starts
// failoverIp on the suite's Temporal dev server, whose worker moves the OVH simulator's
// failover IP. Assertions read the simulator (routing, audit log) and the workflow results.
// Root only; every wait is bounded.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFailover } from '../../client/start';
import { startSandbox, type Sandbox } from '../../sandbox';
import { FailoverLab } from '../../sandbox/netns/failover-lab';
import { netnsUnavailableReason } from '../../sandbox/netns/lab';
import { argOf, installCliNotifyWrapper, readNotifyRuns, startedWorkflowOf, type NotifyRun } from '../../sandbox/netns/notify-scripts';
import type { KeepalivedGroup } from '../../sandbox/netns/vrrp';
import type { FailoverIpResult } from '../../workflows/failover-ip';
import { NAMESPACE_LAB_POLICY } from '../helpers/policy';
import { connect, startInProcessWorker, temporalAddress, uniqueQueue, waitUntil, type RunningWorker } from '../helpers/temporal';
import { requireInCi } from '../helpers/prerequisites';

const unavailable = netnsUnavailableReason(['ip', 'keepalived', 'nsenter']);
const CLUSTER = 'vrrp-e2e';
const IP = '203.0.113.10';
/** 3 × advert_int + skew is under 4 s; allow for a slow, shared machine. */
const TAKEOVER_BUDGET_MS = 15_000;
/** keepalived → nsenter → node CLI start-up → workflow → OVH move task: seconds, plus a loaded machine. */
const NOTIFY_BUDGET_MS = 60_000;

describe.skipIf(requireInCi(unavailable, 'VRRP failover end to end (real keepalived)'))(
  unavailable ? `VRRP failover end to end (skipped: ${unavailable})` : 'VRRP failover end to end: keepalived notify_master → autok8s CLI → failoverIp → OVH simulator',
  () => {
    let box: Sandbox;
    let client: Client;
    let worker: RunningWorker;
    let queue: string;
    let fl: FailoverLab;
    let group: KeepalivedGroup;
    let wrapper: string;
    let logDir: string;
    /** Where the IP was and how many moves were applied when keepalived started. */
    let initial: { routedTo: string | null; applied: number };

    const appliedMoves = () => box.audit.entries({ service: 'ovh', action: 'task:genericMoveFloatingIp', outcome: 'ok' });
    const movePosts = () => box.audit.entries({ service: 'ovh', action: 'POST /ip/{ip}/move', outcome: 'ok' });
    const serviceOf = (server: string) => box.spec.servers.find((s) => s.name === server)!.ovhService;

    /** Waits for notify runs (all finished) matching `filter`, at least `count` of them. */
    async function finishedRuns(what: string, filter: (r: NotifyRun) => boolean, count = 1): Promise<NotifyRun[]> {
      let runs: NotifyRun[] = [];
      await waitUntil(
        what,
        async () => {
          runs = (await readNotifyRuns(logDir)).filter(filter);
          return runs.length >= count && runs.every((r) => r.code !== undefined);
        },
        NOTIFY_BUDGET_MS,
        100,
      );
      return runs;
    }

    /** The notify runs logged so far (one file each), to tell later runs from them. */
    const runFiles = async () => new Set((await readNotifyRuns(logDir)).map((r) => r.file));

    /** The result of the failoverIp run a notify run started or joined. */
    async function resultOf(run: NotifyRun): Promise<FailoverIpResult> {
      expect(run.code, `notify run failed:\n${run.output}`).toBe(0);
      const { workflowId, runId } = startedWorkflowOf(run);
      expect(workflowId).toBe(`${CLUSTER}/failover/${IP}`);
      const result = client.workflow.getHandle(workflowId, runId).result() as Promise<FailoverIpResult>;
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`run ${runId} did not finish within ${NOTIFY_BUDGET_MS} ms`)), NOTIFY_BUDGET_MS).unref());
      return Promise.race([result, timeout]);
    }

    beforeAll(async () => {
      box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-vrrp-e2e-')), clusterName: CLUSTER, servers: 3, latency: { ovh: { moveMs: 500 } }, publicProbe: false });
      client = await connect();
      queue = uniqueQueue('vrrp-e2e');
      worker = await startInProcessWorker(queue, undefined, undefined, NAMESPACE_LAB_POLICY);
      fl = await FailoverLab.create(box.specFile);
      logDir = join(fl.lab.dir, 'notify');
      // notify_master runs in the LB's namespace; the wrapper re-enters this process's network namespace
      // (nsenter) to reach Temporal on loopback and runs the real CLI. In production the LB VM reaches
      // Temporal over the network and keepalived runs the CLI directly.
      wrapper = await installCliNotifyWrapper(join(fl.binDir, 'autok8s-cli-notify'), { netnsPid: process.pid, logDir, temporalAddress: temporalAddress(), taskQueue: queue });
      // Start from the lowest-priority LB's server, so the first MASTER's notify has a real move to make.
      const last = box.spec.servers[box.spec.servers.length - 1].name;
      await (await startFailover(client, queue, fl.spec, { ip: IP, to: last, reason: 'test setup' })).handle.result();
      initial = { routedTo: box.ovh.routing(IP), applied: appliedMoves().length };
      group = await fl.startKeepalived(wrapper);
    });

    afterAll(async () => {
      // Let notify runs still under way finish: they run in the root namespace, where teardown cannot see them.
      if (logDir) await waitUntil('notify runs finish', async () => (await readNotifyRuns(logDir)).every((r) => r.code !== undefined), 30_000, 200).catch(() => undefined);
      await fl?.teardown();
      await worker?.stop();
      await client?.connection.close();
      await box?.stop();
    });

    it('the first MASTER\'s notify_master routes the failover IP to its own server', async () => {
      const holder = await group.waitForSingleHolder(TAKEOVER_BUDGET_MS);
      const [run] = await finishedRuns(`the notify_master of ${holder} ran`, (r) => argOf(r, '--to') === holder);
      expect(run.args).toEqual(['failover', '--cluster', CLUSTER, '--ip', IP, '--to', holder, '--reason', 'keepalived']);
      const result = await resultOf(run);

      const needsMove = initial.routedTo !== serviceOf(holder);
      expect(result).toMatchObject({ cluster: CLUSTER, ip: IP, to: holder, moved: needsMove, reason: 'keepalived' });
      expect(box.ovh.routing(IP)).toBe(serviceOf(holder));
      expect(appliedMoves().length - initial.applied).toBe(needsMove ? 1 : 0);
      // One election, one MASTER: no other LB asked for the IP.
      expect((await readNotifyRuns(logDir)).map((r) => argOf(r, '--to'))).toEqual([holder]);
    });

    it('when the MASTER keepalived stops, the BACKUP that takes the VIP moves the IP to its server, once', async () => {
      const master = await group.waitForSingleHolder(TAKEOVER_BUDGET_MS);
      await waitUntil(`the IP is routed to ${master}`, () => box.ovh.routing(IP) === serviceOf(master), NOTIFY_BUDGET_MS);
      const applied = appliedMoves().length;
      const posts = movePosts().length;
      const seqAtStop = box.audit.entries().at(-1)?.seq ?? 0;
      const runsBefore = await runFiles();

      await group.stop(master, 'SIGTERM');
      const next = await group.waitForSingleHolder(TAKEOVER_BUDGET_MS, [master]);
      const runs = await finishedRuns(`the notify_master of ${next} ran`, (r) => !runsBefore.has(r.file));
      expect(runs.map((r) => argOf(r, '--to'))).toEqual([next]);
      const result = await resultOf(runs[0]);

      expect(result).toMatchObject({ from: master, to: next, moved: true, reason: 'keepalived' });
      expect(box.ovh.routing(IP)).toBe(serviceOf(next));
      expect(appliedMoves().length - applied).toBe(1);
      expect(movePosts().length - posts).toBe(1);
      expect(movePosts().at(-1)!.seq, 'the move was asked after the MASTER stopped').toBeGreaterThan(seqAtStop);
      expect(await group.holders()).toEqual([next]);

      // nopreempt: the old MASTER comes back as BACKUP, keeps its hands off the VIP and fires no
      // notify: it hears the new MASTER for longer than a preempting BACKUP would wait (keepalived's
      // own advert count), and never becomes MASTER.
      group.restart(master);
      const back = await group.statsUntil(master, 'hearing five adverts', (st) => st.advertsReceived >= 5, TAKEOVER_BUDGET_MS);
      expect(back).toMatchObject({ becameMaster: 0, advertsSent: 0 });
      expect(await group.holders()).toEqual([next]);
      expect((await readNotifyRuns(logDir)).filter((r) => !runsBefore.has(r.file))).toHaveLength(1);
    });

    it('a storm of notify_master triggers from every LB namespace joins one run and makes one move', async () => {
      const holder = await group.waitForSingleHolder(TAKEOVER_BUDGET_MS);
      const elsewhere = box.spec.servers.find((s) => s.name !== holder)!.name;
      // Put the IP on another server first, so the storm has a move to make.
      await (await startFailover(client, queue, fl.spec, { ip: IP, to: elsewhere, reason: 'test setup' })).handle.result();
      // A move long enough that the triggers arrive while the first one's run is still open.
      box.ovh.setLatency({ moveMs: 5_000 });
      try {
        const applied = appliedMoves().length;
        const posts = movePosts().length;
        const runsBefore = await runFiles();
        const args = ['failover', '--cluster', CLUSTER, '--ip', IP, '--to', holder, '--reason', 'keepalived'];
        const hosts = Object.values(fl.hosts);
        // Five notify_master runs at once, from the LBs' own namespaces, exactly as keepalived runs them.
        const execs = await Promise.all(Array.from({ length: 5 }, (_, i) => fl.lab.exec(hosts[i % hosts.length], [wrapper, ...args], NOTIFY_BUDGET_MS)));
        expect(execs.map((e) => e.code)).toEqual([0, 0, 0, 0, 0]);

        const runs = await finishedRuns('the five storm runs finished', (r) => !runsBefore.has(r.file), 5);
        expect(runs).toHaveLength(5);
        const runIds = runs.map((r) => startedWorkflowOf(r).runId);
        const distinct = [...new Set(runIds)];
        const results = await Promise.all(distinct.map((runId) => resultOf(runs[runIds.indexOf(runId)])));

        expect(box.ovh.routing(IP)).toBe(serviceOf(holder));
        expect(appliedMoves().length - applied).toBe(1);
        expect(movePosts().length - posts).toBe(1);
        expect(results.every((r) => r.to === holder)).toBe(true);
        expect(results.filter((r) => r.moved)).toHaveLength(1);
        // The triggers share the workflow ID <cluster>/failover/<ip>: they joined the moving run.
        const movingRun = distinct[results.findIndex((r) => r.moved)];
        expect(runIds.filter((id) => id === movingRun).length).toBeGreaterThanOrEqual(2);
      } finally {
        box.ovh.setLatency({ moveMs: 500 });
      }
    });
  },
);
