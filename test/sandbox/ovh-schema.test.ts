// The OVH simulator holds requests to OVH's published API schema (sandbox/ovh/schema/*.json,
// docs/contracts.md §A, §F): deliberately wrong requests are refused before they reach a
// route, each naming what is wrong; and every request the OVH activities send passes.
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOvhActivities } from '../../activities/ovh/activities';
import type { OvhSpec } from '../../activities/ovh/client';
import { createSecretResolver } from '../../activities/secrets';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { OvhSimulator, type OvhCredential } from '../../sandbox/ovh/simulator';
import { ovhSignature } from '../../sandbox/ovh/signature';
import { loadOrCreateSandboxCa, type SandboxCa } from '../../sandbox/tls';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { ANYTHING_POLICY } from '../helpers/policy';

const IP = '203.0.113.10';
const IP_PATH = `/ip/${encodeURIComponent(`${IP}/32`)}`;
const SRV_A = 'ns5001.ip-10-0-0.eu';
const SRV_B = 'ns5002.ip-10-0-0.eu';
const LEGACY = 'ns4001.ip-10-0-1.eu';
const VRACK = 'pn-100001';
/** An IP block the public path's vrack-block mode routes into the vRack. */
const BLOCK = '203.0.113.16/29';
const CRED: OvhCredential = { applicationKey: 'sch-app-key-0001', applicationSecret: 'sch-app-secret-s3cr3t-0001', consumerKey: 'sch-consumer-key-s3cr3t-0001' };

let dir: string;
let ca: SandboxCa;
let sim: OvhSimulator;
let audit: AuditLog;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ovh-schema-'));
  ca = await loadOrCreateSandboxCa(join(dir, 'ca'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(async () => {
  audit = new AuditLog();
  sim = await OvhSimulator.start({
    ca,
    audit,
    faults: new FaultInjector(),
    credentials: [CRED],
    failoverIps: [
      { ip: IP, routedTo: SRV_A },
      { ip: BLOCK, routedTo: SRV_A },
    ],
    dedicatedServers: [{ serviceName: SRV_A }, { serviceName: SRV_B }, { serviceName: LEGACY, networkInterfaces: 'legacy' }],
    vracks: [{ serviceName: VRACK, dedicatedServers: [SRV_A] }],
    latency: { moveMs: 150, vrackTaskMs: 100, rebootMs: 100 },
  });
});

afterEach(async () => {
  await sim.stop();
});

/** A signed request exactly as given (path with its query, body text), to see OVH's whole answer. */
function signed(method: string, pathAndQuery: string, body = '') {
  const target = `/1.0${pathAndQuery}`;
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = ovhSignature({ applicationSecret: CRED.applicationSecret, consumerKey: CRED.consumerKey, method, url: `https://localhost${target}`, body, timestamp: ts });
  return new Promise<{ status: number; body: { class?: string; message?: string } }>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: 'localhost',
        port: sim.port,
        method,
        path: target,
        ca: ca.certPem,
        agent: false,
        headers: { 'Content-Type': 'application/json', 'X-Ovh-Application': CRED.applicationKey, 'X-Ovh-Consumer': CRED.consumerKey, 'X-Ovh-Timestamp': ts, 'X-Ovh-Signature': sig },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: text === '' ? {} : (JSON.parse(text) as { class?: string; message?: string }) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('requests the schema refuses', () => {
  const cases: { name: string; method: string; path: string; body?: unknown; status: number; cls: string; message: RegExp; operation: string }[] = [
    {
      name: 'an undescribed body parameter (a typo of `to`)',
      method: 'POST',
      path: `${IP_PATH}/move`,
      body: { to: SRV_B, destination: SRV_B },
      status: 400,
      cls: 'Client::BadRequest',
      message: /Received not described parameters: \(destination\)/,
      operation: 'POST /ip/{ip}/move',
    },
    {
      name: 'a missing required body parameter',
      method: 'POST',
      path: `${IP_PATH}/move`,
      body: { nexthop: '198.51.100.1' },
      status: 400,
      cls: 'Client::BadRequest',
      message: /Missing parameter\(s\): to/,
      operation: 'POST /ip/{ip}/move',
    },
    {
      name: 'a body parameter of the wrong type (a number where the schema says string)',
      method: 'POST',
      path: `/vrack/${VRACK}/dedicatedServer`,
      body: { dedicatedServer: 42 },
      status: 400,
      cls: 'Client::BadRequest',
      message: /Body parameter dedicatedServer isn't formated correctly/,
      operation: 'POST /vrack/{serviceName}/dedicatedServer',
    },
    {
      name: 'an undescribed query parameter',
      method: 'GET',
      path: `${IP_PATH}/task?function=genericMoveFloatingIp&state=todo`,
      status: 400,
      cls: 'Client::BadRequest',
      message: /not described parameters: \(state\)/,
      operation: 'GET /ip/{ip}/task',
    },
    {
      name: 'a query value outside its enum (ip.TaskStatusEnum)',
      method: 'GET',
      path: `${IP_PATH}/task?status=running`,
      status: 400,
      cls: 'Client::BadRequest',
      message: /parameter status .*"running" is not one of ip\.TaskStatusEnum/,
      operation: 'GET /ip/{ip}/task',
    },
    {
      name: 'a missing required query parameter',
      method: 'GET',
      path: `/dedicated/server/${SRV_B}/ipCanBeMovedTo`,
      status: 400,
      cls: 'Client::BadRequest',
      message: /Missing parameter\(s\): ip/,
      operation: 'GET /dedicated/server/{serviceName}/ipCanBeMovedTo',
    },
    {
      name: 'an ipBlock that is not an IP or CIDR',
      method: 'GET',
      path: `/dedicated/server/${SRV_B}/ipCanBeMovedTo?ip=not-an-ip`,
      status: 400,
      cls: 'Client::BadRequest',
      message: /parameter ip .*IP block/,
      operation: 'GET /dedicated/server/{serviceName}/ipCanBeMovedTo',
    },
    {
      name: 'an ipv4 body parameter that is not an IPv4 address',
      method: 'POST',
      path: `/dedicated/server/${SRV_A}/virtualMac`,
      body: { ipAddress: 'not-an-ip', type: 'ovh', virtualMachineName: 'lb' },
      status: 400,
      cls: 'Client::BadRequest',
      message: /ipAddress.*IPv4 address/,
      operation: 'POST /dedicated/server/{serviceName}/virtualMac',
    },
    {
      name: 'an ipv4 body parameter that is an IPv6 address',
      method: 'POST',
      path: `/dedicated/server/${SRV_A}/virtualMac`,
      body: { ipAddress: '2001:db8::1', type: 'ovh', virtualMachineName: 'lb' },
      status: 400,
      cls: 'Client::BadRequest',
      message: /ipAddress.*IPv4 address/,
      operation: 'POST /dedicated/server/{serviceName}/virtualMac',
    },
    {
      name: 'a long path parameter that is not an integer',
      method: 'GET',
      path: `/vrack/${VRACK}/task/12ab`,
      status: 400,
      cls: 'Client::BadRequest',
      message: /Path parameter taskId .*long/,
      operation: 'GET /vrack/{serviceName}/task/{taskId}',
    },
    {
      name: 'a uuid path parameter that is not a UUID',
      method: 'GET',
      path: `/dedicated/server/${SRV_B}/virtualNetworkInterface/eth0`,
      status: 400,
      cls: 'Client::BadRequest',
      message: /Path parameter uuid .*UUID/,
      operation: 'GET /dedicated/server/{serviceName}/virtualNetworkInterface/{uuid}',
    },
    {
      name: 'a boolean query filter that is not true or false',
      method: 'GET',
      path: `/dedicated/server/${SRV_B}/virtualNetworkInterface?enabled=yes`,
      status: 400,
      cls: 'Client::BadRequest',
      message: /Query parameter enabled .*true or false/,
      operation: 'GET /dedicated/server/{serviceName}/virtualNetworkInterface',
    },
    {
      name: 'a method the schema does not define on the path',
      method: 'DELETE',
      path: `${IP_PATH}/move`,
      status: 404,
      cls: 'Client::NotFound',
      message: /Got an invalid \(or empty\) URL/,
      operation: 'DELETE /ip/{ip}/move',
    },
    {
      name: 'a path the schema does not have',
      method: 'POST',
      path: `/vrack/${VRACK}/dedicatedServers`,
      body: { dedicatedServer: LEGACY },
      status: 404,
      cls: 'Client::NotFound',
      message: /Got an invalid \(or empty\) URL/,
      operation: 'POST <unknown path>',
    },
  ];

  it.each(cases)('refuses $name', async ({ method, path, body, status, cls, message, operation }) => {
    const answer = await signed(method, path, body === undefined ? '' : JSON.stringify(body));
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ class: cls, message: expect.stringMatching(message) });
    expect(sim.schemaChecks()[operation]).toEqual({ accepted: 0, refused: 1 });
    // Refused before any route: nothing changed, and nothing but the refusal was audited.
    expect(audit.entries().filter((e) => e.outcome !== 'rejected')).toEqual([]);
    expect(sim.routing(IP)).toBe(SRV_A);
  });

  it('accepts the same calls when they are right', async () => {
    expect((await signed('GET', `${IP_PATH}/task?function=genericMoveFloatingIp&status=todo`)).status).toBe(200);
    expect((await signed('GET', `/dedicated/server/${SRV_B}/ipCanBeMovedTo?ip=${encodeURIComponent(`${IP}/32`)}`)).status).toBe(200);
    expect((await signed('POST', `${IP_PATH}/move`, JSON.stringify({ to: SRV_B }))).status).toBe(200);
    expect(Object.values(sim.schemaChecks()).every((c) => c.refused === 0)).toBe(true);
  });
});

describe('every request the OVH activities send', () => {
  it('passes the schema check, for every activity, on both kinds of server', async () => {
    const activities = createOvhActivities({ secrets: createSecretResolver({ K: CRED.applicationKey, S: CRED.applicationSecret, C: CRED.consumerKey }, ANYTHING_POLICY), pollIntervalMs: 20 });
    const spec: OvhSpec = { endpoint: sim.endpoint, caFile: ca.certFile, applicationKey: 'env:K', applicationSecret: 'env:S', consumerKey: 'env:C', vrack: VRACK };
    const exercised = new Set<string>();
    const run = async <K extends keyof typeof activities>(name: K, ...args: Parameters<(typeof activities)[K]>) => {
      exercised.add(name);
      // A retry's attempt, so the pending-task scans run too.
      const fn = activities[name] as unknown as (...a: unknown[]) => Promise<unknown>;
      const result: unknown = await new MockActivityEnvironment({ attempt: 2 }).run(fn, ...(args as unknown[]));
      return result as Awaited<ReturnType<(typeof activities)[K]>>;
    };

    await run('getIpRouting', spec, IP);
    await run('checkIpMovable', spec, IP, SRV_B);
    await run('checkIpMovable', spec, IP, SRV_A); // answered "no" (400 from the route, not the schema)
    const move = await run('startIpMove', spec, IP, SRV_B);
    await run('getIpRouting', spec, IP); // with a pending move: reads the task
    await run('waitForIpTask', spec, IP, move.taskId!);
    for (const server of [SRV_B, LEGACY]) {
      const join = await run('ensureVrackMembership', spec, server);
      await run('waitForVrackTask', spec, join.taskId!, server);
      await run('ensureVrackMembership', spec, server);
    }
    expect((await run('listVrackMembers', spec)).sort()).toEqual([LEGACY, SRV_A, SRV_B].sort());
    await run('getDedicatedServer', spec, SRV_B);
    const reboot = await run('rebootDedicatedServer', spec, SRV_B);
    await run('waitForServerTask', spec, SRV_B, reboot.taskId);

    // The public path's calls.
    await run('readServerNetworkFacts', spec, SRV_A);
    const fixture = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
    const cluster: ClusterSpec = { ...fixture, ovh: { ...fixture.ovh, ...spec }, servers: fixture.servers.map((s, i) => ({ ...s, ovhService: [SRV_A, SRV_B, LEGACY][i % 3] })) };
    await run('checkServerPublicFacts', cluster);
    const vmac = await run('ensureVirtualMac', spec, SRV_B, IP, 'lb-b');
    expect(await run('ensureVirtualMac', spec, SRV_B, IP, 'lb-b')).toEqual({ mac: vmac.mac, created: false });
    expect(await run('listVirtualMacs', spec, SRV_B)).toEqual([{ mac: vmac.mac, ips: [IP] }]);
    await run('ensureVrackIpBlock', spec, BLOCK);
    expect(await run('ensureVrackIpBlock', spec, BLOCK)).toEqual({ alreadyAttached: true });

    expect([...exercised].sort()).toEqual(Object.keys(activities).sort());
    const checks = sim.schemaChecks();
    const accepted = Object.values(checks).reduce((n, c) => n + c.accepted, 0);
    const refused = Object.entries(checks).filter(([, c]) => c.refused > 0);
    console.log(`OVH activities: ${accepted} requests over ${Object.keys(checks).length} operations passed the schema check, ${refused.length} operations refused`);
    expect(refused).toEqual([]);
    expect(accepted).toBeGreaterThan(0);
    // Both vRack calls were exercised, and checked.
    expect(checks['POST /vrack/{serviceName}/dedicatedServerInterface']?.accepted).toBe(1);
    expect(checks['POST /vrack/{serviceName}/dedicatedServer']?.accepted).toBe(1);
    expect(checks['POST /dedicated/server/{serviceName}/virtualMac']?.accepted).toBe(1);
    expect(checks['POST /vrack/{serviceName}/ip']?.accepted).toBe(1);
  });
});
