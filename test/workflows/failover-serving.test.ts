// failoverIp finishes only when the failover IP serves traffic (docs/design.md §10.5), on a vmac
// sandbox whose public path bootstrap built (the virtual MAC at OVH on srv-a, each LB VM's net1
// with it on the public bridge, srv-a's link up): the simulated internet
// (sandbox/public-internet.ts) serves the IP only through the LB whose NIC has the MAC and its
// link up, and the worker probes it through publicPath.probeUrl. The links are flipped by hand
// where keepalived's notify scripts would flip them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nicLinkUp } from '../../core/public-path/lb-nic';
import { SERVED_BY_HEADER } from '../../core/public-path/probe-url';
import { startBootstrap, startFailover } from '../../client/start';
import { startSandbox, type Sandbox } from '../../sandbox';
import { lbVmid as vmidOf, setLink as setLinkOf } from '../helpers/public-path';
import { connect, maybeRecordHistory, startInProcessWorker, uniqueQueue, waitUntil, type RunningWorker } from '../helpers/temporal';

const IP = '203.0.113.10';
let box: Sandbox;
let client: Client;
let worker: RunningWorker;
let queue: string;
let mac: string;

const serviceOf = (name: string) => box.spec.servers.find((s) => s.name === name)!.ovhService;
const lbVmid = (name: string) => vmidOf(box, name);
const setLink = (name: string, up: boolean) => setLinkOf(box, name, up);
const appliedMoves = () => box.audit.entries({ service: 'ovh', action: 'task:genericMoveFloatingIp', outcome: 'ok' });

async function failover(to: string) {
  const { handle } = await startFailover(client, queue, box.spec, { ip: IP, to, reason: 'test' });
  return handle.result();
}

beforeAll(async () => {
  box = await startSandbox({
    clusterName: 'serving',
    dir: mkdtempSync(join(tmpdir(), 'ak8s-serving-')),
    servers: 2,
    latency: { ovh: { moveMs: 600, vmacTaskMs: 100 }, proxmox: { createMs: 50, startMs: 50, bootMs: 50 } },
  });
  client = await connect();
  queue = uniqueQueue('failover-serving');
  worker = await startInProcessWorker(queue);
  await (await startBootstrap(client, queue, box.spec)).handle.result();
  // The IP's virtual MAC, which bootstrap created on srv-a where OVH routes the IP.
  [{ mac }] = box.ovh.virtualMacsOf(serviceOf('srv-a'));
  // keepalived in the LB VMs (sandbox/vrrp-sim.ts, no notify hook here: the test sets the links) elects srv-a.
  await waitUntil("srv-a's keepalived is MASTER", () => box.vrrp.holders().join() === 'srv-a');
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await box?.stop();
});

describe('failoverIp verifies that the failover IP serves traffic', () => {
  it('(i) the public side reaches LB A, whose NIC has the MAC with its link up; a noop run reports it', async () => {
    expect(box.spec.publicPath?.probeUrl).toBe(`http://127.0.0.1:${box.internet.port}/{ip}/healthz`);
    expect(await box.internet.serves(IP)).toEqual({ served: true, by: 'srv-a' });
    const response = await fetch(box.internet.url(IP, '/healthz'));
    expect(response.status).toBe(200);
    expect(response.headers.get(SERVED_BY_HEADER)).toBe('srv-a');

    const result = await failover('srv-a');
    expect(result).toMatchObject({ moved: false, to: 'srv-a', serving: { served: true, by: 'srv-a' } });
    expect(result.steps.map((s) => s.name)).toEqual(['spec', 'read-routing', 'probe-lbs', 'move', 'verify-serving']);
  });

  it('(ii) a move to B whose public link is down fails FailoverNotServing once the bound is out', async () => {
    const before = appliedMoves().length;
    const err = await failover('srv-b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('FailoverNotServing');
    expect(cause.message).toMatch(/203\.0\.113\.10 is routed to srv-b but does not serve traffic: .* did not answer .*Check srv-b's LB public link \(net1 link_down\)/);
    // The move itself happened, and the MAC followed the IP: the link is what is missing.
    expect(appliedMoves().length - before).toBe(1);
    expect(box.ovh.virtualMacsOf(serviceOf('srv-b'))).toEqual([{ mac, ips: [IP] }]);
    expect(await box.internet.serves(IP)).toEqual({ served: false, why: `srv-b's LB VM ${lbVmid('srv-b')} net1 link is down (link_down=1)` });
    // A request the public side sends now is dropped: the connection closes without an answer.
    await expect(fetch(box.internet.url(IP))).rejects.toThrow();
  });

  it('(iii) with B\'s link up and A\'s down (keepalived\'s notify scripts), a move to B finishes served by B', async () => {
    // Back to A with A's link up, through the workflow: served by A.
    await setLink('srv-b', false);
    await setLink('srv-a', true);
    const back = await failover('srv-a');
    expect(back).toMatchObject({ moved: true, to: 'srv-a', serving: { served: true, by: 'srv-a' } });

    // A takeover by B: the links flip while the run waits for the IP to serve from B.
    const before = appliedMoves().length;
    const { handle } = await startFailover(client, queue, box.spec, { ip: IP, to: 'srv-b', reason: 'keepalived' });
    await waitUntil('OVH applied the move', async () => appliedMoves().length > before);
    // B holds the address only as keepalived's MASTER: A's keepalived stops, B takes over.
    box.vrrp.stop('srv-a');
    await waitUntil("srv-b's keepalived is MASTER", () => box.vrrp.holders().join() === 'srv-b');
    await setLink('srv-a', false);
    await setLink('srv-b', true);
    const result = await handle.result();
    expect(result).toMatchObject({ from: 'srv-a', to: 'srv-b', moved: true, serving: { served: true, by: 'srv-b' } });
    expect(result.steps.map((s) => s.name)).toEqual(['spec', 'read-routing', 'probe-lbs', 'check-movable', 'start-move', 'wait-move-task', 'verify-routing', 'verify-virtual-mac', 'verify-serving']);
    expect(result.steps.find((s) => s.name === 'verify-virtual-mac')!.detail).toBe(mac);
    expect(appliedMoves().length - before).toBe(1);
    expect(box.ovh.virtualMacsOf(serviceOf('srv-b'))).toEqual([{ mac, ips: [IP] }]);
    expect(box.ovh.virtualMacsOf(serviceOf('srv-a'))).toEqual([]);
    const net1Of = (name: string) => box.proxmox.get(name)!.vms().find((vm) => vm.vmid === lbVmid(name))!.config.net1;
    expect([nicLinkUp(net1Of('srv-a')), nicLinkUp(net1Of('srv-b'))]).toEqual([false, true]);
    expect(await box.internet.serves(IP)).toEqual({ served: true, by: 'srv-b' });
    await maybeRecordHistory(handle, 'failoverIp-serving');
  });
});
