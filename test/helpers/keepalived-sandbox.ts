// A sandbox whose LB VMs run keepalived (sandbox/vrrp-sim.ts) with the notify scripts wired to
// a worker, in one public path mode: the public path built as bootstrap will build it (the
// virtual MAC, each LB VM's public NIC; for vrack-block the block in the vRack), the spec
// applied, keepalived started, and the failover IP served by srv-a, the first MASTER.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../activities';
import { keepalivedNotifyHook } from '../../client/keepalived-notify';
import { applySpec } from '../../client/start';
import { nicLinkUp } from '../../core/public-path/lb-nic';
import { workflowIds } from '../../core/workflow-ids';
import type { PublicPathMode } from '../../core/public-path/modes';
import { startSandbox, type Sandbox } from '../../sandbox';
import { lbVmid } from './public-path';
import { waitUntil } from './temporal';
import { knownSpecs, refOf } from '../../activities/spec/known-specs';

export const BLOCK = '203.0.113.16/29';

export interface KeepalivedSandbox {
  box: Sandbox;
  ip: string;
  mac?: string;
  serviceOf(server: string): string;
  /** net1's link of the server's LB VM; undefined without net1. */
  linkUp(server: string): boolean | undefined;
  /** OVH moves of the IP applied so far. */
  moves(): number;
  servedBy(server: string, timeoutMs?: number): Promise<void>;
}

export async function keepalivedSandbox(o: { clusterName: string; mode: PublicPathMode; client: Client; queue: string; health?: Record<string, unknown> }): Promise<KeepalivedSandbox> {
  const block = o.mode === 'vrack-block';
  const ip = block ? '203.0.113.17' : '203.0.113.10';
  const box = await startSandbox({
    clusterName: o.clusterName,
    dir: mkdtempSync(join(tmpdir(), `ak8s-${o.clusterName}-`)),
    servers: 2,
    failoverIps: [ip],
    publicProbe: true,
    publicPath: { mode: o.mode, ...(block ? { block: BLOCK } : {}) },
    keepalivedStarted: false,
    health: o.health,
    latency: { ovh: { moveMs: 600, vmacTaskMs: 100, vrackTaskMs: 100 }, proxmox: { createMs: 50, startMs: 50, bootMs: 50 } },
  });
  const serviceOf = (server: string) => box.spec.servers.find((s) => s.name === server)!.ovhService;
  const activities = createActivities({ specs: knownSpecs(box.spec), policy: box.workerPolicy, pollIntervalMs: 50 });
  let mac: string | undefined;
  if (o.mode === 'vmac') mac = (await activities.ensureVirtualMac(refOf(box.spec), serviceOf('srv-a'), ip, 'lb-srv-a')).mac;
  // The LB VMs as bootstrap makes them (ensureVm: net1 per the mode, link down; none in vrack-block).
  for (const server of ['srv-a', 'srv-b']) {
    await activities.ensureVm(refOf(box.spec), server, 'lb', { publicMac: mac, publicLinkUp: false });
    await activities.bootVm(refOf(box.spec), server, 'lb', { timeoutMs: 30_000 });
  }
  if (block) await activities.ensureVrackIpBlock(refOf(box.spec), BLOCK);

  // keepalived's notify lines start runs of the cluster named by --cluster: its spec store must hold the spec.
  await applySpec(o.client, o.queue, box.spec);
  const gateways: Record<string, string | null> = {};
  for (const s of box.spec.servers) gateways[s.name] = (await activities.readServerNetworkFacts(refOf(box.spec), s.ovhService)).gateway;
  box.vrrp.onNotify(keepalivedNotifyHook({ spec: box.spec, client: o.client, taskQueue: o.queue, gateways }));
  for (const s of box.spec.servers) box.vrrp.start(s.name);

  const net1Of = (server: string) => box.proxmox.get(server)!.vms().find((vm) => vm.vmid === lbVmid(box, server))?.config.net1;
  const k: KeepalivedSandbox = {
    box,
    ip,
    mac,
    serviceOf,
    linkUp: (server) => {
      const net1 = net1Of(server);
      return net1 === undefined ? undefined : nicLinkUp(net1);
    },
    moves: () => box.audit.entries({ service: 'ovh', action: 'task:genericMoveFloatingIp', outcome: 'ok' }).length,
    servedBy: async (server, timeoutMs = 60_000) => {
      let last = '';
      await waitUntil(`${ip} is served by ${server}`, async () => {
        const s = await box.internet.serves(ip);
        last = s.served ? `served by ${s.by}` : s.why!;
        return s.served && s.by === server;
      }, timeoutMs, 100).catch((err: Error) => {
        throw new Error(`${err.message}; last seen: ${last}`);
      });
    },
  };
  await k.servedBy('srv-a');
  // Steady state: the runs A's election started have ended. (A trigger for another target that
  // joins a failoverIp run still going would make that run's move, not its own.)
  await box.vrrp.settled();
  const cluster = box.spec.metadata.name;
  for (const id of [workflowIds.failover(cluster, ip), ...box.spec.servers.map((s) => workflowIds.lbLink(cluster, s.name))]) {
    await o.client.workflow.getHandle(id).result().catch(() => undefined);
  }
  return k;
}
