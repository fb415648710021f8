// A keepalived takeover end to end, per public path mode, on the in-process sandbox: the LB
// VMs run keepalived (sandbox/vrrp-sim.ts) whose notify lines — rendered by
// core/render/keepalived.ts, parsed and started by the CLI's own code (client/keepalived-notify.ts)
// — drive lbLink and failoverIp on a real worker; the simulated internet serves the failover IP
// only through the LB that holds it. Traffic is served by LB A; A's keepalived stops; B becomes
// MASTER and the same request is served by B.
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVED_BY_HEADER } from '../../core/public-path/probe-url';
import { workflowIds } from '../../core/workflow-ids';
import type { FailoverIpResult } from '../../workflows/failover-ip';
import type { LbLinkResult } from '../../workflows/lb-link';
import { keepalivedSandbox, type KeepalivedSandbox } from '../helpers/keepalived-sandbox';
import { connect, startInProcessWorker, uniqueQueue, waitUntil, type RunningWorker } from '../helpers/temporal';

let client: Client;
let worker: RunningWorker;
let queue: string;

beforeAll(async () => {
  client = await connect();
  queue = uniqueQueue('keepalived-takeover');
  worker = await startInProcessWorker(queue);
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
});

const servedHeader = async (k: KeepalivedSandbox) => {
  const response = await fetch(k.box.internet.url(k.ip, '/healthz'));
  return [response.status, response.headers.get(SERVED_BY_HEADER)];
};

/** Stops A's keepalived through the sandbox's control API, as `autok8s sandbox` would. */
async function stopKeepalived(k: KeepalivedSandbox, server: string) {
  const response = await fetch(`${k.box.control.url}/hooks/keepalived-stop`, { method: 'POST', body: JSON.stringify({ args: [server] }) });
  expect(response.status).toBe(200);
}

/** The lbLink run of a server once it has left the link in `state`. */
async function linkRun(k: KeepalivedSandbox, server: string, state: 'up' | 'down'): Promise<LbLinkResult> {
  await waitUntil(`${server}'s public link is ${state}`, () => k.linkUp(server) === (state === 'up'));
  return client.workflow.getHandle(workflowIds.lbLink(k.box.spec.metadata.name, server)).result();
}

describe.each([
  ['vmac', 'takeover-vmac'],
  ['routed', 'takeover-routed'],
] as const)('a keepalived takeover in %s mode', (mode, clusterName) => {
  let k: KeepalivedSandbox;
  beforeAll(async () => {
    k = await keepalivedSandbox({ clusterName, mode, client, queue });
  }, 120_000);
  afterAll(() => k?.box.stop());

  it('serves the IP from A, then, A\'s keepalived stopped, from B after one move with A\'s public link down', async () => {
    expect(await servedHeader(k)).toEqual([200, 'srv-a']);
    expect([k.box.vrrp.state('srv-a'), k.box.vrrp.state('srv-b')]).toEqual(['MASTER', 'BACKUP']);
    expect([k.linkUp('srv-a'), k.linkUp('srv-b')]).toEqual([true, false]);
    const movesBefore = k.moves();

    await stopKeepalived(k, 'srv-a');
    await k.servedBy('srv-b');
    await k.box.vrrp.settled(); // every notify has started its run

    // notify_master on B: link up, then failover to B (reason keepalived), which verified serving.
    const moved = await client.workflow.getHandle<() => Promise<FailoverIpResult>>(workflowIds.failover(clusterName, k.ip)).result();
    expect(moved).toMatchObject({ from: 'srv-a', to: 'srv-b', moved: true, reason: 'keepalived', serving: { served: true, by: 'srv-b' } });
    expect((await linkRun(k, 'srv-b', 'up')).state).toBe('up');
    // notify_stop on A: its public link down.
    expect((await linkRun(k, 'srv-a', 'down')).state).toBe('down');
    expect(k.moves() - movesBefore).toBe(1);
    expect(k.box.ovh.routing(k.ip)).toBe(k.serviceOf('srv-b'));
    if (mode === 'vmac') {
      expect(k.box.ovh.virtualMacsOf(k.serviceOf('srv-b'))).toEqual([{ mac: k.mac, ips: [k.ip] }]);
      expect(k.box.ovh.virtualMacsOf(k.serviceOf('srv-a'))).toEqual([]);
    }
    expect(await servedHeader(k)).toEqual([200, 'srv-b']);
    expect(k.box.audit.entries({ service: 'keepalived:srv-b', action: 'notify_master', outcome: 'ok' }).length).toBeGreaterThan(0);
  });
});

describe('a keepalived takeover in vrack-block mode', () => {
  let k: KeepalivedSandbox;
  beforeAll(async () => {
    k = await keepalivedSandbox({ clusterName: 'takeover-block', mode: 'vrack-block', client, queue });
  }, 120_000);
  afterAll(() => k?.box.stop());

  it('serves the IP from A, then from B once B holds the address, with nothing moved at OVH and no public link to set', async () => {
    expect(await servedHeader(k)).toEqual([200, 'srv-a']);
    const movesBefore = k.moves();
    await stopKeepalived(k, 'srv-a');
    await k.servedBy('srv-b');
    await k.box.vrrp.settled();
    expect(await servedHeader(k)).toEqual([200, 'srv-b']);
    // The rendered keepalived.conf has no notify lines in vrack-block: gratuitous ARPs move the address.
    expect(k.moves() - movesBefore).toBe(0);
    for (const id of [workflowIds.failover('takeover-block', k.ip), workflowIds.lbLink('takeover-block', 'srv-b')]) {
      await expect(client.workflow.getHandle(id).describe()).rejects.toThrow(/not found/i);
    }
    expect([k.linkUp('srv-a'), k.linkUp('srv-b')]).toEqual([undefined, undefined]);
  });
});
