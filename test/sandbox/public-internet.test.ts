// The sandbox's simulated internet (sandbox/public-internet.ts) over the real simulators: it
// serves a failover IP only through the LB whose public NIC OVH's routing and virtual MAC reach,
// drops it while the MAC is suspended by a move, when the LB's HAProxy is down, the link is
// down or the LB's keepalived does not hold the address, and explains which condition failed.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { SERVED_BY_HEADER } from '../../core/public-path/probe-url';
import { startSandbox, type Sandbox } from '../../sandbox';
import { lbVmid, lbVmWithPublicNic, setLink } from '../helpers/public-path';
import { waitUntil } from '../helpers/temporal';
import { knownSpecs, refOf } from '../../activities/spec/known-specs';

const IP = '203.0.113.10';
const serviceOf = (box: Sandbox, name: string) => box.spec.servers.find((s) => s.name === name)!.ovhService;
const sandboxDir = () => mkdtempSync(join(tmpdir(), 'ak8s-internet-'));
const LATENCY = { ovh: { moveMs: 1500, vmacTaskMs: 50 }, proxmox: { createMs: 30, startMs: 30, bootMs: 30 } };
/** keepalived in the LB VMs elects srv-a (the highest priority) once its master-down interval has run out. */
const srvAIsMaster = (box: Sandbox) => waitUntil("srv-a's keepalived is MASTER", () => box.vrrp.holders().join() === 'srv-a');

describe('the simulated internet, vmac mode', () => {
  let box: Sandbox;
  let mac: string;
  beforeAll(async () => {
    box = await startSandbox({ clusterName: 'internet', dir: sandboxDir(), servers: 2, latency: LATENCY });
    mac = (await createActivities({ specs: knownSpecs(box.spec), policy: box.workerPolicy, pollIntervalMs: 20 }).ensureVirtualMac(refOf(box.spec), serviceOf(box, 'srv-a'), IP, 'lb-srv-a')).mac;
    await srvAIsMaster(box);
  });
  afterAll(() => box?.stop());

  it('drops the IP while the routed server\'s LB VM does not exist, then serves it through the NIC with the MAC', async () => {
    expect(await box.internet.serves(IP)).toEqual({ served: false, why: `srv-a's LB VM ${lbVmid(box, 'srv-a')} does not exist` });
    await lbVmWithPublicNic(box, 'srv-a', { mac, linkUp: true });
    expect(await box.internet.serves(IP)).toEqual({ served: true, by: 'srv-a' });
    const response = await fetch(box.internet.url(IP, '/anything'));
    expect([response.status, response.headers.get(SERVED_BY_HEADER)]).toEqual([200, 'srv-a']);
    expect(box.audit.entries({ service: 'internet', target: IP, outcome: 'ok' }).length).toBeGreaterThan(0);
  });

  it('answers a request that names no IP with a 400, and drops an IP that is not the cluster\'s', async () => {
    expect((await fetch(`http://127.0.0.1:${box.internet.port}/healthz`)).status).toBe(400);
    expect(await box.internet.serves('198.51.100.7')).toMatchObject({ served: false, why: expect.stringMatching(/not one of the cluster's failover IPs/) });
    await expect(fetch(box.internet.url('198.51.100.7'))).rejects.toThrow();
  });

  it('drops the IP when HAProxy does not answer, and when the link is pulled', async () => {
    await box.lbHosts.get('srv-a')!.setHealthy(false);
    try {
      expect(await box.internet.serves(IP)).toEqual({ served: false, why: "HAProxy on srv-a's LB does not answer" });
    } finally {
      await box.lbHosts.get('srv-a')!.setHealthy(true);
    }
    await setLink(box, 'srv-a', false);
    expect((await box.internet.serves(IP)).why).toMatch(/net1 link is down/);
    await setLink(box, 'srv-a', true);
    expect((await box.internet.serves(IP)).served).toBe(true);
  });

  it('drops the IP while its virtual MAC is suspended by a move, and after it on a server whose LB has no such VM', async () => {
    const ovh = createActivities({ specs: knownSpecs(box.spec), policy: box.workerPolicy, pollIntervalMs: 20 });
    const started = await ovh.startIpMove(refOf(box.spec), IP, serviceOf(box, 'srv-b'));
    expect((await box.internet.serves(IP)).why).toMatch(/suspended while its move is in progress/);
    await ovh.waitForIpTask(refOf(box.spec), IP, started.taskId!);
    await waitUntil('the MAC is on srv-b', () => box.ovh.macFor(IP)?.server === serviceOf(box, 'srv-b'));
    expect(await box.internet.serves(IP)).toEqual({ served: false, why: `srv-b's LB VM ${lbVmid(box, 'srv-b')} does not exist` });
  });
});

describe('the simulated internet, routed mode', () => {
  let box: Sandbox;
  beforeAll(async () => {
    box = await startSandbox({ clusterName: 'internet-routed', dir: sandboxDir(), servers: 2, latency: LATENCY, publicPath: { mode: 'routed' } });
    await srvAIsMaster(box);
  });
  afterAll(() => box?.stop());

  it('serves the IP through the routed server\'s LB whatever its NIC\'s MAC, while its link is up', async () => {
    await lbVmWithPublicNic(box, 'srv-a', { linkUp: false });
    expect((await box.internet.serves(IP)).why).toMatch(/srv-a's LB VM \d+ net1 link is down/);
    await setLink(box, 'srv-a', true);
    expect(await box.internet.serves(IP)).toEqual({ served: true, by: 'srv-a' });
  });

  it('drops the IP on the routed LB once its keepalived stops: a BACKUP or a stopped keepalived holds no address', async () => {
    box.vrrp.stop('srv-a');
    try {
      expect(await box.internet.serves(IP)).toEqual({ served: false, why: `srv-a's LB VM ${lbVmid(box, 'srv-a')} does not hold ${IP}: its keepalived is STOPPED, not MASTER` });
      await expect(fetch(box.internet.url(IP))).rejects.toThrow();
    } finally {
      box.vrrp.start('srv-a');
    }
  });
});
