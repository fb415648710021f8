// bootstrapCluster builds the public path in each mode (docs/design.md §10.3), on sandboxes
// whose simulated internet (sandbox/public-internet.ts) serves the failover IP only along a
// working path; bootstrap.test.ts covers vmac, the default, on a full run. Here: a vmac run
// whose virtual-MAC call is applied but answered an error (the retry adopts OVH's task: one
// MAC), a replaced standby LB that comes back with its NIC down, routed and vrack-block.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBootstrap, startReplace } from '../../client/start';
import { nicLinkUp } from '../../core/public-path/lb-nic';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox';
import { activityRuns } from '../helpers/history';
import { connect, startInProcessWorker, uniqueQueue, waitUntil, type RunningWorker } from '../helpers/temporal';

const IP = '203.0.113.10';
const BLOCK = '203.0.113.8/29';
let client: Client;
let worker: RunningWorker;
const boxes: Sandbox[] = [];

beforeAll(async () => {
  client = await connect();
  worker = await startInProcessWorker(uniqueQueue('public-bootstrap'));
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  for (const box of boxes) await box.stop();
});

async function sandbox(clusterName: string, options: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  const box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), `ak8s-${clusterName}-`)), clusterName, latency: { ovh: { vmacTaskMs: 100, vrackTaskMs: 100 } }, ...options });
  boxes.push(box);
  return box;
}

/** What the public side gets for the IP once some LB is VRRP MASTER (bounded: a master-down interval and then some). */
async function servedOnceElected(box: Sandbox): Promise<Awaited<ReturnType<Sandbox['internet']['serves']>>> {
  await waitUntil('an LB is VRRP MASTER', () => box.vrrp.holders().length > 0, 30_000);
  return box.internet.serves(IP);
}

const bootstrap = async (box: Sandbox) => (await startBootstrap(client, worker.worker.options.taskQueue, box.spec)).handle;
const net1Of = (box: Sandbox, server: string) => {
  const vmid = box.spec.servers.find((s) => s.name === server)!.vms.lb.vmid;
  return box.proxmox.get(server)!.vms().find((vm) => vm.vmid === vmid)?.config.net1;
};
const linksOf = (box: Sandbox) => box.spec.servers.map((s) => [s.name, nicLinkUp(net1Of(box, s.name)!)]);
const keepalivedConf = (box: Sandbox, server: string) => readFileSync(join(box.lbHosts.get(server)!.rootDir, 'etc/keepalived/keepalived.conf'), 'utf8');
const vmacPosts = (box: Sandbox) => box.audit.entries({ service: 'ovh', action: 'POST /dedicated/server/{serviceName}/virtualMac' });

describe('bootstrapCluster sets up the public path', () => {
  it('vmac: a virtual-MAC call applied but answered 500 is retried into the task OVH started: one MAC; replaced LBs get it back, link down, the IP served by the one that took it', async () => {
    const box = await sandbox('pubvmac');
    box.faults.add({ service: 'ovh', method: 'POST', path: '/virtualMac$', effect: { kind: 'applyThenStatus', status: 500 }, times: 1 });
    const handle = await bootstrap(box);
    const result = await handle.result();
    // The first attempt's call reached OVH (its task ran) and failed on the way back; the retry
    // found that task pending or done and made no second MAC.
    expect(vmacPosts(box).map((e) => e.outcome)).toEqual(['fault']);
    expect(activityRuns(await handle.fetchHistory()).find((r) => r.type === 'ensureVirtualMac')).toMatchObject({ attempts: 2, outcome: 'completed' });
    const [srvA] = box.spec.servers;
    const macs = box.ovh.virtualMacsOf(srvA.ovhService);
    expect(macs).toEqual([{ mac: expect.any(String), ips: [IP] }]);
    expect(linksOf(box)).toEqual([['srv-a', true], ['srv-b', false], ['srv-c', false]]);
    expect(result.failover[0]).toMatchObject({ to: 'srv-a', moved: false, serving: { served: true, by: 'srv-a' } });

    // srv-b's LB VM rebuilt: the same MAC, on the public bridge, link down (keepalived's to raise).
    await (await startReplace(client, worker.worker.options.taskQueue, box.spec, { server: 'srv-b', role: 'lb', reason: 'test' })).handle.result();
    const creates = box.audit.entries({ service: 'proxmox:pve-b', action: 'qmcreate', outcome: 'ok' });
    expect(creates.filter((e) => e.target === String(box.spec.servers[1].vms.lb.vmid))).toHaveLength(2);
    expect(net1Of(box, 'srv-b')).toBe(`virtio=${macs[0].mac.toUpperCase()},bridge=vmbr0,link_down=1`);
    expect(await box.internet.serves(IP)).toEqual({ served: true, by: 'srv-a' });

    // srv-a's LB, the active one, rebuilt: srv-b's link comes up before the IP moves there (the
    // move verifies serving), the MAC follows the IP, and srv-a's new VM comes back link down.
    const replaced = await (await startReplace(client, worker.worker.options.taskQueue, box.spec, { server: 'srv-a', role: 'lb', reason: 'test' })).handle.result();
    expect(replaced.movedIps).toEqual([IP]);
    const names = replaced.steps.map((s) => s.name);
    expect(names.indexOf('link-up srv-b')).toBeGreaterThan(-1);
    expect(names.indexOf('link-up srv-b')).toBeLessThan(names.indexOf(`move ${IP} away`));
    // srv-a's keepalived, MASTER until then, is stopped first: srv-b holds the address by the time the IP serves from it.
    expect(replaced.steps.find((s) => s.name === 'release-vrrp')).toMatchObject({ status: 'done', detail: 'keepalived stopped' });
    expect(names.indexOf('release-vrrp')).toBeLessThan(names.indexOf(`move ${IP} away`));
    expect(box.vrrp.holders()).toEqual(['srv-b']);
    expect(box.ovh.virtualMacsOf(box.spec.servers[1].ovhService)).toEqual([{ mac: macs[0].mac, ips: [IP] }]);
    expect(linksOf(box)).toEqual([['srv-a', false], ['srv-b', true], ['srv-c', false]]);
    expect(await box.internet.serves(IP)).toEqual({ served: true, by: 'srv-b' });
  });

  it('routed: every LB VM gets net1 on the public bridge with a MAC of its own, only srv-a up; no virtual MAC at OVH', async () => {
    const box = await sandbox('pubrouted', { publicPath: { mode: 'routed' } });
    const result = await (await bootstrap(box)).result();
    expect(vmacPosts(box)).toEqual([]);
    for (const s of box.spec.servers) expect(net1Of(box, s.name)).toMatch(/^virtio(=[0-9A-F:]{17})?,bridge=vmbr0,link_down=[01]$/);
    expect(linksOf(box)).toEqual([['srv-a', true], ['srv-b', false], ['srv-c', false]]);
    expect(result.steps.map((s) => s.name)).not.toContain(`virtual-mac ${IP}`);
    // keepalived's first election takes a master-down interval (~3 s), which a fast bootstrap can beat.
    expect(await servedOnceElected(box)).toEqual({ served: true, by: 'srv-a' });
    // keepalived holds the routed segment's address and the IP, default route via the host.
    expect(keepalivedConf(box, 'srv-b')).toMatch(/192\.168\.0\.2\/24 dev eth1[\s\S]*203\.0\.113\.10\/32 dev eth1[\s\S]*0\.0\.0\.0\/0 via 192\.168\.0\.1 dev eth1 onlink src 203\.0\.113\.10 table 100/);
  });

  it('vrack-block: the block is routed into the vRack, no LB VM has net1, nothing moves; a second run changes nothing', async () => {
    const box = await sandbox('pubblock', { publicPath: { mode: 'vrack-block', block: BLOCK } });
    const first = await (await bootstrap(box)).result();
    expect(box.ovh.routing(BLOCK)).toBe(box.spec.ovh.vrack);
    for (const s of box.spec.servers) expect(net1Of(box, s.name)).toBeUndefined();
    expect(first.steps.find((s) => s.name === `vrack-ip-block ${BLOCK}`)?.detail).toMatch(/^added to pn-100001, task \d+$/);
    expect(first.summary).toContain(`routed ${BLOCK} into the vRack pn-100001`);
    expect(first.steps.find((s) => s.name === `route ${IP}`)).toMatchObject({ status: 'skipped' });
    expect(box.audit.entries({ service: 'ovh', action: 'task:genericMoveFloatingIp' })).toEqual([]);
    expect(keepalivedConf(box, 'srv-a')).toMatch(/203\.0\.113\.10\/32 dev eth0[\s\S]*0\.0\.0\.0\/0 via 203\.0\.113\.14 dev eth0 onlink table 100/);
    // keepalived's first election takes a master-down interval (~3 s), which a fast bootstrap can beat.
    expect(await servedOnceElected(box)).toEqual({ served: true, by: 'srv-a' });

    const again = await (await bootstrap(box)).result();
    expect(again.changed).toBe(false);
    expect(again.steps.find((s) => s.name === `vrack-ip-block ${BLOCK}`)?.detail).toBe('already in pn-100001');
    expect(box.audit.entries({ service: 'ovh', action: 'POST /vrack/{serviceName}/ip' })).toHaveLength(1);
  });
});
