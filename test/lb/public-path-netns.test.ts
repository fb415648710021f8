// The vmac public path end to end with real packets (issue 16, namespace tier): a client in the
// uplink namespace (OVH's network) asks for the failover IP; the uplink carries it only to the
// server OVH routes it to, as frames to the IP's virtual MAC, onto that server's public bridge;
// only the LB whose eth1 has that MAC and its link up (net1 on the Proxmox simulator) takes
// them; keepalived holds the IP (virtual_ipaddress with the rendered public network) and real
// HAProxy answers. Stopping the MASTER's keepalived makes the BACKUP's notify_master run the
// real CLI (lb link up, then failover) against the suite's Temporal and the sandbox's
// simulators, and the same request is then answered by the other LB. Root only; every wait is bounded.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { applySpec } from '../../client/start';
import { startSandbox, type Sandbox } from '../../sandbox';
import { netnsUnavailableReason } from '../../sandbox/netns/lab';
import { argOf, installCliNotifyWrapper, readNotifyRuns, runUnderWay, startedWorkflowOf, type NotifyRun } from '../../sandbox/netns/notify-scripts';
import { PublicPathLab } from '../../sandbox/netns/public-lab';
import type { KeepalivedGroup } from '../../sandbox/netns/vrrp';
import type { FailoverIpResult } from '../../workflows/failover-ip';
import { lbVmid, lbVmWithPublicNic, setLink, setNet1 } from '../helpers/public-path';
import { requireInCi } from '../helpers/prerequisites';
import { NAMESPACE_LAB_POLICY } from '../helpers/policy';
import { connect, startInProcessWorker, temporalAddress, uniqueQueue, waitUntil, type RunningWorker } from '../helpers/temporal';
import { knownSpecs, refOf } from '../../activities/spec/known-specs';

const unavailable = netnsUnavailableReason(['ip', 'keepalived', 'haproxy', 'nsenter']);
const CLUSTER = 'pub-netns';
const IP = '203.0.113.10';
/** 3 × advert_int + skew is under 4 s; allow for a slow, shared machine. */
const TAKEOVER_BUDGET_MS = 15_000;
/** keepalived → nsenter → node CLI → workflows → OVH move task and Proxmox link: seconds, plus a loaded machine. */
const NOTIFY_BUDGET_MS = 60_000;

describe.skipIf(requireInCi(unavailable, 'public path with real packets (namespace tier)'))(
  unavailable ? `public path with real packets (skipped: ${unavailable})` : 'vmac public path with real packets: uplink → server bridge → LB eth1 → keepalived VIP → HAProxy',
  () => {
    let box: Sandbox;
    let client: Client;
    let worker: RunningWorker;
    let queue: string;
    let lab: PublicPathLab;
    let group: KeepalivedGroup;
    let logDir: string;
    let mac: string;

    const serviceOf = (server: string) => box.spec.servers.find((s) => s.name === server)!.ovhService;
    const appliedMoves = () => box.audit.entries({ service: 'ovh', action: 'task:genericMoveFloatingIp', outcome: 'ok' });
    const netLink = (server: string) => box.proxmox.get(server)!.nicLink(lbVmid(box, server), 'net1');

    /** Waits until the notify runs not in `before` that match `filter` have all finished, at least `count` of them. */
    async function finishedRuns(what: string, before: Set<string>, filter: (r: NotifyRun) => boolean, count = 1): Promise<NotifyRun[]> {
      let runs: NotifyRun[] = [];
      await waitUntil(
        what,
        async () => {
          runs = (await readNotifyRuns(logDir)).filter((r) => !before.has(r.file) && filter(r));
          return runs.length >= count && runs.every((r) => r.code !== undefined);
        },
        NOTIFY_BUDGET_MS,
        100,
      );
      return runs;
    }

    async function resultOf(run: NotifyRun): Promise<FailoverIpResult> {
      expect(run.code, `notify run failed:\n${run.output}`).toBe(0);
      const { workflowId, runId } = startedWorkflowOf(run);
      const result = client.workflow.getHandle(workflowId, runId).result() as Promise<FailoverIpResult>;
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`run ${runId} did not finish within ${NOTIFY_BUDGET_MS} ms`)), NOTIFY_BUDGET_MS).unref());
      return Promise.race([result, timeout]);
    }

    beforeAll(async () => {
      box = await startSandbox({
        dir: mkdtempSync(join(tmpdir(), 'ak8s-pub-netns-')),
        clusterName: CLUSTER,
        servers: 2,
        latency: { ovh: { moveMs: 600, vmacTaskMs: 100 }, proxmox: { createMs: 50, startMs: 50, bootMs: 50 } },
      });
      client = await connect();
      queue = uniqueQueue('pub-netns');
      worker = await startInProcessWorker(queue, undefined, undefined, NAMESPACE_LAB_POLICY);
      // What bootstrap will do (engineer A's part), by hand as failover-serving.test.ts does: the IP's
      // virtual MAC on srv-a, where OVH routes the IP, and each LB VM's net1 with it, links down
      // (keepalived's notify scripts set them). OVH's gateway of each server through the real adapter.
      const activities = createActivities({ specs: knownSpecs(box.spec), policy: box.workerPolicy, pollIntervalMs: 50 });
      mac = (await activities.ensureVirtualMac(refOf(box.spec), serviceOf('srv-a'), IP, 'lb-srv-a')).mac;
      const gateways: Record<string, string> = {};
      for (const s of box.spec.servers) {
        await lbVmWithPublicNic(box, s.name, { mac, linkUp: false });
        gateways[s.name] = (await activities.readServerNetworkFacts(refOf(box.spec), s.ovhService)).gateway!;
      }
      lab = await PublicPathLab.create(box, gateways);
      // notify scripts name the cluster only: the runs use the lab's spec (probeUrl through the uplink) once the store has it.
      await applySpec(client, queue, lab.spec);
      logDir = join(lab.failover.lab.dir, 'notify');
      const wrapper = await installCliNotifyWrapper(join(lab.failover.binDir, 'autok8s-cli-notify'), { netnsPid: process.pid, logDir, temporalAddress: temporalAddress(), taskQueue: queue });
      group = await lab.startKeepalived(wrapper);
    });

    afterAll(async () => {
      // Let notify runs still under way finish: they run in the root namespace, where teardown cannot see them.
      if (logDir) await waitUntil('notify runs finish', async () => !(await readNotifyRuns(logDir)).some((r) => runUnderWay(r)), 30_000, 200).catch(() => undefined);
      await lab?.teardown();
      await worker?.stop();
      await client?.connection.close();
      await box?.stop();
    });

    it('the first MASTER brings its link up and the failover IP is served by it, through the uplink', async () => {
      const holder = await group.waitForSingleHolder(TAKEOVER_BUDGET_MS);
      expect(holder).toBe('srv-a');
      await finishedRuns('srv-a\'s lb link up ran', new Set(), (r) => argOf(r, '--server') === 'srv-a' && r.args[2] === 'up');
      // The IP was routed to srv-a already: its failover run moves nothing. Waited for, so B's
      // trigger below starts a run of its own instead of joining this one.
      const [failover] = await finishedRuns('srv-a\'s failover ran', new Set(), (r) => r.args[0] === 'failover');
      expect(await resultOf(failover)).toMatchObject({ to: 'srv-a', moved: false, reason: 'keepalived' });
      await lab.waitServedBy(IP, 'srv-a', NOTIFY_BUDGET_MS);
      const answer = await lab.ask(IP);
      expect(answer).toEqual({ status: 200, servedBy: 'srv-a', body: 'served by srv-a' });
      expect(lab.uplink.state?.routes[IP]).toEqual({ server: 'srv-a', mac: mac.toLowerCase() });
      expect(lab.uplink.state?.nics).toMatchObject({ 'srv-a': { up: true }, 'srv-b': { up: false } });
    });

    it('when A\'s keepalived stops, B\'s notify_master runs lb link up and failover, and the same request is answered by B', async () => {
      await lab.waitServedBy(IP, 'srv-a', NOTIFY_BUDGET_MS);
      const before = new Set((await readNotifyRuns(logDir)).map((r) => r.file));
      const moves = appliedMoves().length;

      await group.stop('srv-a', 'SIGTERM');
      expect(await group.waitForSingleHolder(TAKEOVER_BUDGET_MS, ['srv-a'])).toBe('srv-b');
      const [failover] = await finishedRuns('srv-b\'s failover notify ran', before, (r) => r.args[0] === 'failover');
      expect(failover.args).toEqual(['failover', '--cluster', CLUSTER, '--ip', IP, '--to', 'srv-b', '--reason', 'keepalived']);
      const linkUp = await finishedRuns('srv-b\'s lb link up ran', before, (r) => r.args[2] === 'up');
      expect(linkUp.map((r) => argOf(r, '--server'))).toEqual(['srv-b']);
      // failoverIp's verify-serving asked through the uplink (the lab spec's probeUrl) and B answered.
      const result = await resultOf(failover);
      expect(result).toMatchObject({ from: 'srv-a', to: 'srv-b', moved: true, reason: 'keepalived', serving: { served: true, by: 'srv-b' } });

      expect(await lab.ask(IP)).toEqual({ status: 200, servedBy: 'srv-b', body: 'served by srv-b' });
      // The audit: one move, the MAC on B's server, A's public link down (notify_stop), B's up.
      expect(appliedMoves().length - moves).toBe(1);
      expect(box.ovh.virtualMacsOf(serviceOf('srv-b'))).toEqual([{ mac, ips: [IP] }]);
      expect(box.ovh.virtualMacsOf(serviceOf('srv-a'))).toEqual([]);
      await waitUntil('A\'s net1 link is down', () => netLink('srv-a')?.up === false, NOTIFY_BUDGET_MS);
      expect(netLink('srv-b')).toMatchObject({ up: true, mac: mac.toUpperCase() });
      await lab.uplink.settled();
      expect(lab.uplink.state).toEqual({
        routes: { [IP]: { server: 'srv-b', mac: mac.toLowerCase() } },
        nics: { 'srv-a': { up: false, mac: mac.toLowerCase() }, 'srv-b': { up: true, mac: mac.toLowerCase() } },
      });
      const uplinkRoutes = box.audit.entries({ service: 'uplink', action: 'route', target: IP }).map((e) => e.detail?.route);
      expect(uplinkRoutes.slice(-2)).toEqual([`${IP} unreachable: the virtual MAC ${mac} of ${IP} is suspended while its move is in progress`, `${IP} → srv-b (frames to ${mac.toLowerCase()})`]);
    });

    it("B's public NIC carries the IP only while net1 on the Proxmox simulator has the virtual MAC and its link up", async () => {
      await lab.waitServedBy(IP, 'srv-b', NOTIFY_BUDGET_MS);
      const vmid = lbVmid(box, 'srv-b');
      const pve = box.proxmox.get('srv-b')!;
      const net1 = pve.vms().find((vm) => vm.vmid === vmid)!.config.net1;
      const dropped = async (what: string) => {
        await lab.uplink.settled();
        const answer = await lab.ask(IP, '/', 1_000);
        expect(answer, what).toHaveProperty('error');
      };
      try {
        // The plug pulled, as `autok8s lb link down` would: the frames reach a NIC without carrier.
        await setLink(box, 'srv-b', false);
        await dropped('with net1 link_down=1');
        await setLink(box, 'srv-b', true);
        await lab.waitServedBy(IP, 'srv-b', TAKEOVER_BUDGET_MS);
        // Another MAC on net1: the frames OVH sends to the virtual MAC are not this NIC's.
        await setNet1(box, 'srv-b', net1.replace(/virtio=[0-9A-F:]+/i, 'virtio=02:00:00:AA:BB:CC'));
        await dropped('with net1 on another MAC');
      } finally {
        await setNet1(box, 'srv-b', net1);
      }
      await lab.waitServedBy(IP, 'srv-b', TAKEOVER_BUDGET_MS);
    });
  },
);
