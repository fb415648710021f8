// The OVH simulator's public path (docs/contracts.md §A.7), driven by the real `ovh` npm client:
// a server's network facts, virtual MACs and how they follow their IP's move, the move asked
// from the target server (ipMove), region groups, and IP blocks routed into a vRack.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ovh from 'ovh';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { prepareOvhTransport } from '../../activities/ovh/client';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { OvhSimulator, type OvhCredential } from '../../sandbox/ovh/simulator';
import { loadOrCreateSandboxCa, type SandboxCa } from '../../sandbox/tls';

const IP = '203.0.113.10';
const IP2 = '203.0.113.11';
const BLOCK = '203.0.113.16/29';
const enc = (s: string) => encodeURIComponent(s);
const SRV_A = 'ns5001.ip-10-0-0.eu';
const SRV_B = 'ns5002.ip-10-0-0.eu';
/** Without virtual MACs (a range that has none). */
const NO_VMAC = 'ns5003.ip-10-0-0.eu';
/** In Beauharnois: another move region group. */
const BHS = 'ns6001.ip-10-0-9.net';
/** In Roubaix: the same group as Gravelines. */
const RBX = 'ns5004.ip-10-0-0.eu';
const VRACK = 'pn-100001';
const CRED: OvhCredential = { applicationKey: 'pub-app-key-0001', applicationSecret: 'pub-app-secret-s3cr3t-0001', consumerKey: 'pub-consumer-key-s3cr3t-0001' };
const MOVE_MS = 300;
const VMAC = '/dedicated/server/{sn}/virtualMac';
const vmacPath = (sn: string) => VMAC.replace('{sn}', sn);

let dir: string;
let ca: SandboxCa;
let sim: OvhSimulator;
let audit: AuditLog;
let faults: FaultInjector;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ovh-pub-'));
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
    credentials: [CRED],
    failoverIps: [
      { ip: IP, routedTo: SRV_A },
      { ip: IP2, routedTo: SRV_A },
      { ip: BLOCK, routedTo: SRV_A },
    ],
    dedicatedServers: [
      { serviceName: SRV_A, gateway: '198.51.100.62' },
      { serviceName: SRV_B, gateway: '198.51.100.126' },
      { serviceName: NO_VMAC, vmacSupported: false },
      { serviceName: RBX, datacenter: 'rbx7' },
      { serviceName: BHS, datacenter: 'bhs1', region: 'ca-east-bhs' },
    ],
    vracks: [{ serviceName: VRACK, dedicatedServers: [SRV_A, SRV_B] }],
    latency: { moveMs: MOVE_MS, vrackTaskMs: 100, rebootMs: 100, vmacTaskMs: 100 },
  });
  await prepareOvhTransport({ endpoint: sim.endpoint, caFile: ca.certFile });
});

afterEach(async () => {
  await sim.stop();
});

function client() {
  return ovh({ appKey: CRED.applicationKey, appSecret: CRED.applicationSecret, consumerKey: CRED.consumerKey, host: 'localhost', port: sim.port, basePath: '/1.0', timeout: 5000 });
}

async function rejectionOf(p: PromiseLike<unknown>): Promise<{ error: unknown; message?: string | null }> {
  try {
    await p;
  } catch (err) {
    return err as { error: unknown; message?: string | null };
  }
  throw new Error('the call succeeded');
}

interface Task {
  taskId: number;
  function: string;
  status: string;
}

async function waitServerTask(c: ReturnType<typeof client>, sn: string, taskId: number): Promise<Task> {
  for (let i = 0; i < 400; i++) {
    const t = (await c.requestPromised('GET', `/dedicated/server/${sn}/task/${taskId}`)) as Task;
    if (!['init', 'todo', 'doing'].includes(t.status)) return t;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`task ${taskId} did not end`);
}

async function waitIpTask(c: ReturnType<typeof client>, ip: string, taskId: number): Promise<Task> {
  for (let i = 0; i < 400; i++) {
    const t = (await c.requestPromised('GET', `/ip/${enc(ip)}/task/${taskId}`)) as Task;
    if (!['init', 'todo', 'doing'].includes(t.status)) return t;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`task ${taskId} did not end`);
}

/** Creates a virtual MAC for the IP on the server and waits for its task; returns the MAC. */
async function createMac(c: ReturnType<typeof client>, sn: string, ip: string): Promise<string> {
  const task = (await c.requestPromised('POST', vmacPath(sn), { ipAddress: ip, type: 'ovh', virtualMachineName: 'lb-a' })) as Task;
  expect(await waitServerTask(c, sn, task.taskId)).toMatchObject({ status: 'done', function: 'addVirtualMac' });
  const macs = (await c.requestPromised('GET', vmacPath(sn))) as string[];
  expect(macs).toHaveLength(1);
  return macs[0];
}

describe('a server’s network facts', () => {
  it('answers specifications/network with the server’s own gateway and virtual MAC support', async () => {
    const c = client();
    expect(await c.requestPromised('GET', `/dedicated/server/${SRV_A}/specifications/network`)).toMatchObject({
      routing: { ipv4: { gateway: '198.51.100.62', ip: '198.51.100.1', network: '198.51.100.0/24' } },
      vmac: { supported: true },
    });
    expect(await c.requestPromised('GET', `/dedicated/server/${SRV_B}/specifications/network`)).toMatchObject({ routing: { ipv4: { gateway: '198.51.100.126' } } });
    expect(await c.requestPromised('GET', `/dedicated/server/${NO_VMAC}/specifications/network`)).toMatchObject({ vmac: { supported: false } });
  });

  it('carries each server’s datacenter and region in GET /dedicated/server/{sn}', async () => {
    const c = client();
    expect(await c.requestPromised('GET', `/dedicated/server/${SRV_A}`)).toMatchObject({ datacenter: 'gra3', region: 'eu-west-gra' });
    expect(await c.requestPromised('GET', `/dedicated/server/${BHS}`)).toMatchObject({ datacenter: 'bhs1', region: 'ca-east-bhs' });
  });
});

describe('virtual MACs', () => {
  it('creates a MAC for an IP routed to the server through a server task; the MAC lists the IP and the VM name', async () => {
    const c = client();
    expect(await c.requestPromised('GET', vmacPath(SRV_A))).toEqual([]);
    const mac = await createMac(c, SRV_A, IP);
    expect(mac).toMatch(/^02:00:00(:[0-9a-f]{2}){3}$/);
    expect(await c.requestPromised('GET', `${vmacPath(SRV_A)}/${mac}`)).toEqual({ macAddress: mac, type: 'ovh' });
    expect(await c.requestPromised('GET', `${vmacPath(SRV_A)}/${mac}/virtualAddress`)).toEqual([IP]);
    expect(await c.requestPromised('GET', `${vmacPath(SRV_A)}/${mac}/virtualAddress/${IP}`)).toEqual({ ipAddress: IP, virtualMachineName: 'lb-a' });
    expect(sim.virtualMacsOf(SRV_A)).toEqual([{ mac, ips: [IP] }]);
    expect(sim.macFor(IP)).toEqual({ mac, server: SRV_A, suspended: false });
    expect(audit.entries({ action: `POST ${VMAC.replace('{sn}', '{serviceName}')}` })).toMatchObject([{ target: SRV_A, outcome: 'ok', detail: { ipAddress: IP } }]);
  });

  const refusals: { name: string; sn: string; ip: string; before?: boolean; message: RegExp }[] = [
    { name: 'on a server without virtual MAC support', sn: NO_VMAC, ip: IP, message: /does not support virtual MAC/ },
    { name: 'for an IP routed to another server', sn: SRV_B, ip: IP, message: /not routed to ns5002/ },
    { name: 'for an IP that already has a MAC', sn: SRV_A, ip: IP, before: true, message: /already has a virtual MAC/ },
  ];
  for (const r of refusals) {
    it(`refuses to create one ${r.name}, with a 400 naming it`, async () => {
      const c = client();
      if (r.before) await createMac(c, SRV_A, IP);
      const e = await rejectionOf(c.requestPromised('POST', vmacPath(r.sn), { ipAddress: r.ip, type: 'ovh', virtualMachineName: 'lb' }));
      expect(e.error).toBe(400);
      expect(e.message).toMatch(r.message);
      expect(sim.virtualMacsOf(r.sn)).toHaveLength(r.before ? 1 : 0);
    });
  }

  it('refuses a MAC type outside dedicated.server.VmacTypeEnum at the schema check, before any route', async () => {
    const e = await rejectionOf(client().requestPromised('POST', vmacPath(SRV_A), { ipAddress: IP, type: 'kvm', virtualMachineName: 'lb' }));
    expect([e.error, e.message]).toEqual([400, expect.stringMatching(/VmacTypeEnum/)]);
    expect(sim.schemaChecks()['POST /dedicated/server/{serviceName}/virtualMac']).toEqual({ accepted: 0, refused: 1 });
  });

  it('moves a unique MAC with its IP: suspended (listed nowhere) during the move task, on the target with the IP once it is done', async () => {
    const c = client();
    const mac = await createMac(c, SRV_A, IP);
    sim.setLatency({ moveMs: 1000 });
    const task = (await c.requestPromised('POST', `/ip/${enc(`${IP}/32`)}/move`, { to: SRV_B })) as Task;
    expect(sim.macFor(IP)).toEqual({ mac, server: SRV_A, suspended: true });
    expect(await c.requestPromised('GET', vmacPath(SRV_A))).toEqual([]);
    expect(await c.requestPromised('GET', vmacPath(SRV_B))).toEqual([]);
    expect(await waitIpTask(c, IP, task.taskId)).toMatchObject({ status: 'done' });
    expect(await c.requestPromised('GET', vmacPath(SRV_B))).toEqual([mac]);
    expect(await c.requestPromised('GET', `${vmacPath(SRV_B)}/${mac}/virtualAddress`)).toEqual([IP]);
    expect(await c.requestPromised('GET', vmacPath(SRV_A))).toEqual([]);
  });

  it('refuses to move an IP whose MAC carries other IPs (a duplicate), and an IP with a MAC to a server without virtual MACs', async () => {
    const c = client();
    const mac = await createMac(c, SRV_A, IP);
    const add = (await c.requestPromised('POST', `${vmacPath(SRV_A)}/${mac}/virtualAddress`, { ipAddress: IP2, virtualMachineName: 'lb-a' })) as Task;
    await waitServerTask(c, SRV_A, add.taskId);
    expect(await c.requestPromised('GET', `${vmacPath(SRV_A)}/${mac}/virtualAddress`)).toEqual([IP, IP2]);
    const dup = await rejectionOf(c.requestPromised('POST', `/ip/${enc(`${IP}/32`)}/move`, { to: SRV_B }));
    expect([dup.error, dup.message]).toEqual([400, expect.stringMatching(/shares its virtual MAC/)]);

  });

  it('refuses to move an IP with a unique MAC to a server without virtual MACs', async () => {
    const c = client();
    await createMac(c, SRV_A, IP);
    const e = await rejectionOf(c.requestPromised('POST', `/ip/${enc(`${IP}/32`)}/move`, { to: NO_VMAC }));
    expect([e.error, e.message]).toEqual([400, expect.stringMatching(/ns5003.* does not support virtual MAC/)]);
    expect(sim.routing(IP)).toBe(SRV_A);
  });

  it('gives the MAC back to the source server when the move task fails', async () => {
    const c = client();
    const mac = await createMac(c, SRV_A, IP);
    faults.add({ service: 'ovh', method: 'POST', path: '/move$', effect: { kind: 'taskError', message: 'move failed' } });
    const task = (await c.requestPromised('POST', `/ip/${enc(`${IP}/32`)}/move`, { to: SRV_B })) as Task;
    expect(await waitIpTask(c, IP, task.taskId)).toMatchObject({ status: 'ovhError' });
    expect(sim.routing(IP)).toBe(SRV_A);
    expect(sim.virtualMacsOf(SRV_A)).toEqual([{ mac, ips: [IP] }]);
    expect(sim.virtualMacsOf(SRV_B)).toEqual([]);
  });
});

describe('moves asked from the target server, and region groups', () => {
  it('ipMove moves the IP there through a server task, with the same effect as /ip/{ip}/move', async () => {
    const c = client();
    const task = (await c.requestPromised('POST', `/dedicated/server/${SRV_B}/ipMove`, { ip: `${IP}/32` })) as Task;
    expect(task).toMatchObject({ function: 'genericMoveFloatingIp', status: 'todo' });
    expect(await waitServerTask(c, SRV_B, task.taskId)).toMatchObject({ status: 'done' });
    expect(sim.routing(IP)).toBe(SRV_B);
    const again = await rejectionOf(c.requestPromised('POST', `/dedicated/server/${SRV_B}/ipMove`, { ip: `${IP}/32` }));
    expect([again.error, again.message]).toEqual([400, expect.stringMatching(/already routed/)]);
  });

  it('moves within GRA/RBX/SBG, refuses a move to another region group with a 400, by either call', async () => {
    const c = client();
    const toBhs = await rejectionOf(c.requestPromised('POST', `/ip/${enc(`${IP}/32`)}/move`, { to: BHS }));
    expect([toBhs.error, toBhs.message]).toEqual([400, expect.stringMatching(/another region/)]);
    const asked = await rejectionOf(c.requestPromised('GET', `/dedicated/server/${BHS}/ipCanBeMovedTo`, { ip: `${IP}/32` }));
    expect([asked.error, asked.message]).toEqual([400, expect.stringMatching(/another region/)]);
    const viaServer = await rejectionOf(c.requestPromised('POST', `/dedicated/server/${BHS}/ipMove`, { ip: `${IP}/32` }));
    expect([viaServer.error, viaServer.message]).toEqual([400, expect.stringMatching(/another region/)]);
    const task = (await c.requestPromised('POST', `/ip/${enc(`${IP}/32`)}/move`, { to: RBX })) as Task;
    expect(await waitIpTask(c, IP, task.taskId)).toMatchObject({ status: 'done' });
    expect(sim.routing(IP)).toBe(RBX);
  });
});

describe('IP blocks in a vRack', () => {
  it('attaches a block through a vRack task that vanishes when done; the block is routed to the vRack, listed with its gateway, and cannot move', async () => {
    const c = client();
    const task = (await c.requestPromised('POST', `/vrack/${VRACK}/ip`, { block: BLOCK })) as { id: number; status: string };
    expect(task.status).toBe('todo');
    for (let i = 0; i < 200 && sim.routing(BLOCK) !== VRACK; i++) await new Promise((r) => setTimeout(r, 20));
    expect(sim.routing(BLOCK)).toBe(VRACK);
    expect(await rejectionOf(c.requestPromised('GET', `/vrack/${VRACK}/task/${task.id}`))).toMatchObject({ error: 404 });
    expect(await c.requestPromised('GET', `/vrack/${VRACK}/ip`)).toEqual([BLOCK]);
    expect(await c.requestPromised('GET', `/vrack/${VRACK}/ip/${enc(BLOCK)}`)).toMatchObject({ ip: BLOCK, gateway: '203.0.113.22/32' });
    expect(await c.requestPromised('GET', `/ip/${enc(BLOCK)}`)).toMatchObject({ ip: BLOCK, routedTo: { serviceName: VRACK } });
    const move = await rejectionOf(c.requestPromised('POST', `/ip/${enc(BLOCK)}/move`, { to: SRV_B }));
    expect([move.error, move.message]).toEqual([400, expect.stringMatching(/routed to the vRack/)]);
    const twice = await rejectionOf(c.requestPromised('POST', `/vrack/${VRACK}/ip`, { block: BLOCK }));
    expect([twice.error, twice.message]).toEqual([400, expect.stringMatching(/already in the vRack/)]);
  });

  it('takes an IP’s virtual MAC away when the IP goes into the vRack', async () => {
    const c = client();
    await createMac(c, SRV_A, IP);
    await c.requestPromised('POST', `/vrack/${VRACK}/ip`, { block: `${IP}/32` });
    for (let i = 0; i < 200 && sim.routing(IP) !== VRACK; i++) await new Promise((r) => setTimeout(r, 20));
    expect(sim.routing(IP)).toBe(VRACK);
    expect(sim.macFor(IP)).toBeUndefined();
    expect(sim.virtualMacsOf(SRV_A)).toEqual([]);
  });
});
