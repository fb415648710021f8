// The public path's OVH activities against the simulator: a server's network facts and the
// plan-time check built on them, the virtual MAC made once (a retry after "applied but answered
// 500" adopts the task), and the IP block attached to the vRack once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOvhActivities } from '../../activities/ovh/activities';
import type { OvhSpec } from '../../activities/ovh/client';
import { createSecretResolver } from '../../activities/secrets';
import { publicPathOf, type PublicPathMode } from '../../core/public-path/modes';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { OvhSimulator } from '../../sandbox/ovh/simulator';
import { loadOrCreateSandboxCa, type SandboxCa } from '../../sandbox/tls';
import { ANYTHING_POLICY } from '../helpers/policy';

const IP = '203.0.113.10';
const BLOCK = '203.0.113.16/29';
const SRV_A = 'ns5001.ip-10-0-0.eu';
const SRV_B = 'ns5002.ip-10-0-0.eu';
const SRV_C = 'ns5003.ip-10-0-0.eu';
const NO_VMAC = 'ns5004.ip-10-0-0.eu';
const BHS = 'ns6001.ip-10-0-9.net';
const VRACK = 'pn-100001';
const AK = 'pp-app-key-0001';
const AS = 'pp-app-secret-s3cr3t-0001';
const CK = 'pp-consumer-key-s3cr3t-0001';
const VMAC_POST = { action: 'POST /dedicated/server/{serviceName}/virtualMac' };
const BLOCK_POST = { action: 'POST /vrack/{serviceName}/ip' };

let dir: string;
let ca: SandboxCa;
let sim: OvhSimulator;
let audit: AuditLog;
let faults: FaultInjector;
let spec: OvhSpec;

const activities = createOvhActivities({ secrets: createSecretResolver({ AK, AS, CK }, ANYTHING_POLICY), pollIntervalMs: 25, requestTimeoutMs: 2000 });
const fixture = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);

/** The fixture cluster on the given OVH servers (one per spec server), in a public path mode. */
function cluster(services: string[], mode: PublicPathMode): ClusterSpec {
  return {
    ...fixture,
    ovh: { ...fixture.ovh, ...spec },
    servers: fixture.servers.map((s, i) => ({ ...s, ovhService: services[i] })),
    publicPath: { ...publicPathOf(fixture), mode, ...(mode === 'vrack-block' ? { block: BLOCK } : {}) },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ovh-ppa-'));
  ca = await loadOrCreateSandboxCa(join(dir, 'ca'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(async () => {
  audit = new AuditLog();
  faults = new FaultInjector();
  sim = await OvhSimulator.start({
    ca,
    audit,
    faults,
    credentials: [{ applicationKey: AK, applicationSecret: AS, consumerKey: CK }],
    failoverIps: [
      { ip: IP, routedTo: SRV_A },
      { ip: BLOCK, routedTo: SRV_A },
    ],
    dedicatedServers: [
      { serviceName: SRV_A, gateway: '198.51.100.62' },
      { serviceName: SRV_B },
      { serviceName: SRV_C, datacenter: 'sbg5' },
      { serviceName: NO_VMAC, vmacSupported: false },
      { serviceName: BHS, datacenter: 'bhs1', region: 'ca-east-bhs' },
    ],
    vracks: [{ serviceName: VRACK, dedicatedServers: [SRV_A, SRV_B, SRV_C] }],
    latency: { moveMs: 300, vrackTaskMs: 150, vmacTaskMs: 300 },
  });
  spec = { endpoint: sim.endpoint, caFile: ca.certFile, applicationKey: 'env:AK', applicationSecret: 'env:AS', consumerKey: 'env:CK', vrack: VRACK };
  expect(fixture.servers).toHaveLength(3);
});

afterEach(async () => {
  await sim.stop();
});

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('the activity succeeded');
}

describe('server network facts', () => {
  it('reads virtual MAC support, the gateway, the datacenter and the region of a server', async () => {
    expect(await activities.readServerNetworkFacts(spec, SRV_A)).toEqual({ vmacSupported: true, gateway: '198.51.100.62', datacenter: 'gra3', region: 'eu-west-gra' });
    expect(await activities.readServerNetworkFacts(spec, NO_VMAC)).toMatchObject({ vmacSupported: false });
    expect(await activities.readServerNetworkFacts(spec, BHS)).toMatchObject({ datacenter: 'bhs1', region: 'ca-east-bhs' });
  });

  it('passes servers that can carry the mode, across GRA and SBG, and answers their facts in spec order', async () => {
    const { facts } = await activities.checkServerPublicFacts(cluster([SRV_A, SRV_B, SRV_C], 'vmac'));
    expect(facts.map((f) => [f.server, f.datacenter])).toEqual(fixture.servers.map((s, i) => [s.name, ['gra3', 'gra3', 'sbg5'][i]]));
  });

  const refusals: { name: string; services: string[]; mode: PublicPathMode; field: RegExp }[] = [
    { name: 'a server without virtual MACs in vmac mode', services: [SRV_A, NO_VMAC, SRV_B], mode: 'vmac', field: /servers\[1\]\.ovhService: ns5004\S* does not support virtual MACs/ },
    { name: 'servers in two move region groups', services: [SRV_A, SRV_B, BHS], mode: 'routed', field: /servers: the servers are in 2 move region groups/ },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name}, non-retryably, naming the field, and changes nothing`, async () => {
      const failure = await failureOf(activities.checkServerPublicFacts(cluster(r.services, r.mode)));
      expect(failure).toMatchObject({ type: 'PublicPathUnsupported', nonRetryable: true });
      expect(failure.message).toMatch(r.field);
      expect(failure.message).toMatch(/nothing was created/);
      expect(audit.entries()).toEqual([]);
    });
  }

  it('lets a vrack-block cluster span region groups and servers without virtual MACs (nothing moves)', async () => {
    await activities.checkServerPublicFacts(cluster([SRV_A, NO_VMAC, BHS], 'vrack-block'));
  });
});

describe('ensureVirtualMac', () => {
  it('creates the MAC once (task waited, with heartbeats) and answers the same MAC when called again', async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const made = (await env.run(activities.ensureVirtualMac, spec, SRV_A, IP, 'lb-a')) as Awaited<ReturnType<typeof activities.ensureVirtualMac>>;
    expect(made).toMatchObject({ created: true, mac: expect.stringMatching(/^02:00:00:/) });
    expect(beats.length).toBeGreaterThan(0);
    expect(sim.virtualMacsOf(SRV_A)).toEqual([{ mac: made.mac, ips: [IP] }]);
    expect(await activities.ensureVirtualMac(spec, SRV_A, IP, 'lb-a')).toEqual({ mac: made.mac, created: false });
    expect(await activities.listVirtualMacs(spec, SRV_A)).toEqual([{ mac: made.mac, ips: [IP] }]);
    expect(audit.count(VMAC_POST)).toBe(1);
  });

  it('after a create applied but answered 500, the retry adopts the pending task: one MAC', async () => {
    faults.add({ service: 'ovh', method: 'POST', path: '/virtualMac$', effect: { kind: 'applyThenStatus', status: 500 } });
    const first = await failureOf(activities.ensureVirtualMac(spec, SRV_A, IP, 'lb-a'));
    expect(first).toMatchObject({ type: 'OvhTransient', nonRetryable: false });
    const retry = await activities.ensureVirtualMac(spec, SRV_A, IP, 'lb-a');
    expect(retry).toMatchObject({ created: true });
    expect(audit.count(VMAC_POST)).toBe(1);
    expect(sim.virtualMacsOf(SRV_A)).toEqual([{ mac: retry.mac, ips: [IP] }]);
  });

  it('fails non-retryably with OVH’s reason on a server without virtual MACs or for an IP routed elsewhere', async () => {
    expect(await failureOf(activities.ensureVirtualMac(spec, NO_VMAC, IP, 'lb'))).toMatchObject({ type: 'OvhBadRequest', nonRetryable: true, message: expect.stringMatching(/does not support virtual MAC/) });
    expect(await failureOf(activities.ensureVirtualMac(spec, SRV_B, IP, 'lb'))).toMatchObject({ type: 'OvhBadRequest', nonRetryable: true, message: expect.stringMatching(/not routed to ns5002/) });
  });

  it('fails non-retryably when the MAC task ends in error', async () => {
    faults.add({ service: 'ovh', method: 'POST', path: '/virtualMac$', effect: { kind: 'taskError', message: 'no MAC today' } });
    expect(await failureOf(activities.ensureVirtualMac(spec, SRV_A, IP, 'lb'))).toMatchObject({ type: 'OvhTaskFailed', nonRetryable: true, message: expect.stringMatching(/no MAC today/) });
  });
});

describe('ensureVrackIpBlock', () => {
  it('attaches the block once and waits until the vRack lists it; a second call does nothing', async () => {
    expect(await activities.ensureVrackIpBlock(spec, BLOCK)).toMatchObject({ alreadyAttached: false, taskId: expect.any(Number) });
    expect(sim.routing(BLOCK)).toBe(VRACK);
    expect(await activities.ensureVrackIpBlock(spec, BLOCK)).toEqual({ alreadyAttached: true });
    expect(audit.count(BLOCK_POST)).toBe(1);
  });

  it('after an attach applied but answered 503, the retry adopts the pending vRack task', async () => {
    sim.setLatency({ vrackTaskMs: 600 });
    faults.add({ service: 'ovh', method: 'POST', path: '/ip$', effect: { kind: 'applyThenStatus', status: 503 } });
    expect(await failureOf(activities.ensureVrackIpBlock(spec, BLOCK))).toMatchObject({ type: 'OvhTransient' });
    expect(await activities.ensureVrackIpBlock(spec, BLOCK)).toMatchObject({ alreadyAttached: false });
    expect(sim.routing(BLOCK)).toBe(VRACK);
    expect(audit.count(BLOCK_POST)).toBe(1);
  });

  it('refuses a block that is not network-aligned before any call', async () => {
    expect(await failureOf(activities.ensureVrackIpBlock(spec, '203.0.113.17/29'))).toMatchObject({ type: 'OvhBadBlock', nonRetryable: true });
    expect(audit.entries()).toEqual([]);
  });
});
