// The Proxmox VE simulator on the wire, over TLS verified against the sandbox CA: token
// authentication, the envelope and its exact content type, reason phrases as error
// messages, nextid, the create → start → agent → stop → delete lifecycle with real UPIDs
// and task status, Proxmox's refusals, faults, and the audit log.
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { ProxmoxSimulator, type SimVm } from '../../sandbox/proxmox/simulator';
import { parseUpid } from '../../sandbox/proxmox/upid';
import { loadOrCreateSandboxCa, type SandboxCa } from '../../sandbox/tls';

const NODE = 'pve-a';
const TOKEN = { tokenId: 'root@pam!autok8s', secret: '6f1c1f5e-3b7a-4c1e-9a55-0d2b8f4e7a10' };
const AUTH = `PVEAPIToken=${TOKEN.tokenId}=${TOKEN.secret}`;
/** Polls a simulator's state (it changes between event-loop turns) until `condition` holds. */
async function waitUntilTrue(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const LATENCY = { createMs: 60, startMs: 60, stopMs: 40, destroyMs: 40, bootMs: 150 };

interface Answer {
  status: number;
  reason: string;
  contentType: string | undefined;
  /** The parsed body; an empty body (a 401) reads as `{ data: undefined }`. */
  body: { data: unknown; errors?: Record<string, string>; message?: string };
  rawBody: string;
}

let dir: string;
let ca: SandboxCa;
let audit: AuditLog;
let faults: FaultInjector;
let sim: ProxmoxSimulator;

/** One raw HTTPS call, so the test sees the status line and headers exactly as sent. */
function call(method: string, path: string, params: Record<string, string> = {}, options: { auth?: string | null; json?: boolean } = {}): Promise<Answer> {
  const url = new URL(sim.url + '/api2/json' + path);
  const hasBody = method === 'POST' || method === 'PUT';
  const body = hasBody ? (options.json ? JSON.stringify(params) : new URLSearchParams(params).toString()) : '';
  if (!hasBody) for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const headers: Record<string, string> = {};
  const auth = options.auth === undefined ? AUTH : options.auth;
  if (auth !== null) headers.Authorization = auth;
  if (hasBody) headers['Content-Type'] = options.json ? 'application/json' : 'application/x-www-form-urlencoded';
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, headers, ca: ca.certPem, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', contentType: res.headers['content-type'], body: rawBody ? JSON.parse(rawBody) : { data: undefined }, rawBody });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function waitTask(upid: string, limitMs = 5000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const a = await call('GET', `/nodes/${NODE}/tasks/${encodeURIComponent(upid)}/status`);
    const task = a.body.data as Record<string, unknown>;
    if (task.status === 'stopped') return task;
    if (Date.now() > deadline) throw new Error(`task ${upid} still running`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const createParams = (vmid: number, extra: Record<string, string> = {}) => ({
  vmid: String(vmid),
  name: `test-${vmid}`,
  memory: '2048',
  cores: '2',
  net0: 'virtio,bridge=vmbr1',
  scsi0: 'local-lvm:16',
  ide0: 'local-lvm:cloudinit',
  ipconfig0: 'ip=10.10.0.21/24,gw=10.10.0.1',
  agent: '1',
  tags: 'autok8s;cluster-t;role-cp',
  ...extra,
});

async function createVm(vmid: number, extra: Record<string, string> = {}): Promise<void> {
  const a = await call('POST', `/nodes/${NODE}/qemu`, createParams(vmid, extra));
  expect(a.status).toBe(200);
  expect((await waitTask(a.body.data as string)).exitstatus).toBe('OK');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pve-sim-'));
  ca = await loadOrCreateSandboxCa(join(dir, 'ca'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(async () => {
  audit = new AuditLog();
  faults = new FaultInjector();
  // The VMs here boot their disk only: a cloud image that runs the guest agent, so its answers can be checked (test/sandbox/boot-images.test.ts has images without one).
  sim = await ProxmoxSimulator.start({ ca, audit, faults, node: NODE, tokens: [TOKEN], latency: LATENCY, diskGuest: { guestAgent: true }, vms: [{ vmid: 9000, name: 'debian-template', config: { template: '1', scsi0: 'local-lvm:base-9000-disk-0,size=4G', net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr1', tags: 'template' } }] });
});

afterEach(async () => {
  await sim.stop();
});

describe('authentication', () => {
  it('accepts the configured API token and answers in the {"data": ...} envelope with the exact content type', async () => {
    const a = await call('GET', '/version');
    expect(a.status).toBe(200);
    expect(a.contentType).toBe('application/json;charset=UTF-8');
    expect(a.body).toEqual({ data: expect.objectContaining({ version: expect.any(String) }) });
  });

  // Wrong and missing tokens (401 after 3 s, empty body, connection closed): proxmox-wire-errors.test.ts.

  it('refuses to start with a token secret that is not a lowercase UUID', async () => {
    await expect(ProxmoxSimulator.start({ ca, audit, faults, node: 'pve-x', tokens: [{ tokenId: TOKEN.tokenId, secret: TOKEN.secret.toUpperCase() }] })).rejects.toThrow(/lowercase UUID/);
  });
});

describe('envelope and errors', () => {
  it('answers 501 for a path it does not know', async () => {
    const a = await call('GET', `/nodes/${NODE}/no-such-thing`);
    expect(a.status).toBe(501);
    expect(a.body.data).toBeNull();
  });

  it('refuses unknown and malformed parameters with 400 "Parameter verification failed." and an errors map', async () => {
    const a = await call('POST', `/nodes/${NODE}/qemu`, { ...createParams(101), cores: 'lots', colour: 'blue' });
    expect(a.status).toBe(400);
    expect(a.reason).toBe('Parameter verification failed.');
    expect(a.body.errors).toEqual({ cores: "type check ('integer') failed - got 'lots'", colour: expect.stringMatching(/not defined in schema/) });
    expect(sim.vms().find((v) => v.vmid === 101)).toBeUndefined();
  });

  it('accepts JSON bodies as well as forms', async () => {
    const a = await call('POST', `/nodes/${NODE}/qemu`, createParams(105), { json: true });
    expect(a.status).toBe(200);
    await waitTask(a.body.data as string);
    expect(sim.vms().find((v) => v.vmid === 105)?.name).toBe('test-105');
  });

  it('answers 500 with the config-file message for a VM that does not exist', async () => {
    const a = await call('GET', `/nodes/${NODE}/qemu/777/status/current`);
    expect(a.status).toBe(500);
    expect(a.reason).toBe(`Configuration file 'nodes/${NODE}/qemu-server/777.conf' does not exist`);
  });
});

describe('nextid', () => {
  it('hands out the lowest free VMID from 100, and refuses a taken one with a parameter error', async () => {
    expect(Number((await call('GET', '/cluster/nextid')).body.data)).toBe(100);
    await createVm(100);
    expect(Number((await call('GET', '/cluster/nextid')).body.data)).toBe(101);
    const taken = await call('GET', '/cluster/nextid', { vmid: '100' });
    expect(taken.status).toBe(400);
    expect(taken.body.errors?.vmid).toMatch(/VM 100 already exists/);
    expect(Number((await call('GET', '/cluster/nextid', { vmid: '150' })).body.data)).toBe(150);
  });
});

describe('VM lifecycle', () => {
  it('creates, starts, reports the guest address, stops and deletes a VM through tasks with real UPIDs', async () => {
    const changes: [number, string][] = [];
    sim.onVmChange((vm, change) => changes.push([vm.vmid, change]));

    const created = await call('POST', `/nodes/${NODE}/qemu`, createParams(101));
    const upid = created.body.data as string;
    expect(upid).toMatch(/^UPID:pve-a:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmcreate:101:root@pam!autok8s:$/);
    expect(parseUpid(upid)).toMatchObject({ node: NODE, type: 'qmcreate', id: '101', user: TOKEN.tokenId });

    // The VMID is reserved at once; the task fills the config in when it ends.
    const during = await call('GET', `/nodes/${NODE}/tasks/${encodeURIComponent(upid)}/status`);
    expect(during.body.data).toMatchObject({ status: 'running', type: 'qmcreate', id: '101' });
    expect((await call('GET', `/nodes/${NODE}/qemu/101/config`)).body.data).toMatchObject({ lock: 'create' });
    expect(await waitTask(upid)).toMatchObject({ status: 'stopped', exitstatus: 'OK' });

    const config = (await call('GET', `/nodes/${NODE}/qemu/101/config`)).body.data as Record<string, unknown>;
    expect(config).toMatchObject({ name: 'test-101', memory: 2048, cores: 2, tags: 'autok8s;cluster-t;role-cp', ipconfig0: 'ip=10.10.0.21/24,gw=10.10.0.1' });
    expect(config.net0).toMatch(/^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr1$/);
    expect(config.scsi0).toBe('local-lvm:vm-101-disk-0,size=16G');
    expect(config.ide0).toBe('local-lvm:vm-101-cloudinit,media=cdrom');
    expect(config.lock).toBeUndefined();

    const list = (await call('GET', `/nodes/${NODE}/qemu`)).body.data as Record<string, unknown>[];
    expect(list.find((v) => v.vmid === 101)).toMatchObject({ name: 'test-101', status: 'stopped', tags: 'autok8s;cluster-t;role-cp' });

    // The guest agent answers only once the VM runs and has booted.
    const early = await call('GET', `/nodes/${NODE}/qemu/101/agent/network-get-interfaces`);
    expect([early.status, early.reason]).toEqual([500, 'VM 101 is not running']);
    const start = await call('POST', `/nodes/${NODE}/qemu/101/status/start`);
    expect(start.body.data).toMatch(/:qmstart:101:/);
    await waitTask(start.body.data as string);
    expect((await call('GET', `/nodes/${NODE}/qemu/101/status/current`)).body.data).toMatchObject({ status: 'running', vmid: 101 });
    const booting = await call('GET', `/nodes/${NODE}/qemu/101/agent/network-get-interfaces`);
    expect([booting.status, booting.reason]).toEqual([500, 'QEMU guest agent is not running']);
    expect(sim.vmByIp('10.10.0.21')).toBeUndefined();
    await waitUntilTrue(() => sim.vms().find((v) => v.vmid === 101)?.bootedAt !== undefined); // booted: bootMs after the start
    const agent = await call('GET', `/nodes/${NODE}/qemu/101/agent/network-get-interfaces`);
    const eth0 = (agent.body.data as { result: { name: string; 'ip-addresses': { 'ip-address': string; prefix: number }[] }[] }).result.find((i) => i.name === 'eth0');
    expect(eth0?.['ip-addresses']).toEqual([{ 'ip-address': '10.10.0.21', 'ip-address-type': 'ipv4', prefix: 24 }]);
    expect(sim.vmByIp('10.10.0.21')).toMatchObject({ vmid: 101, ip: '10.10.0.21', generation: 1 });

    // Starting a running VM fails inside the task, as qemu-server does.
    const again = await call('POST', `/nodes/${NODE}/qemu/101/status/start`);
    expect(again.status).toBe(200);
    expect((await waitTask(again.body.data as string)).exitstatus).toBe('VM 101 already running');

    // Deleting a running VM is refused synchronously.
    const refused = await call('DELETE', `/nodes/${NODE}/qemu/101`);
    expect([refused.status, refused.reason]).toEqual([500, 'VM 101 is running - destroy failed']);
    expect(sim.vms().some((v) => v.vmid === 101)).toBe(true);

    await waitTask((await call('POST', `/nodes/${NODE}/qemu/101/status/stop`)).body.data as string);
    expect(sim.vms().find((v) => v.vmid === 101)?.status).toBe('stopped');
    const deleted = await call('DELETE', `/nodes/${NODE}/qemu/101`, { purge: '1', 'destroy-unreferenced-disks': '1' });
    expect(deleted.body.data).toMatch(/:qmdestroy:101:/);
    await waitTask(deleted.body.data as string);
    expect(sim.vms().some((v) => v.vmid === 101)).toBe(false);

    expect(changes).toEqual([
      [101, 'created'],
      [101, 'started'],
      [101, 'stopped'],
      [101, 'destroyed'],
    ]);
    // Recreating the VMID makes a new machine.
    await createVm(101);
    expect(sim.vms().find((v) => v.vmid === 101)?.generation).toBe(2);
  });

  it('refuses to create an existing VMID as Proxmox does', async () => {
    await createVm(101);
    const a = await call('POST', `/nodes/${NODE}/qemu`, createParams(101, { name: 'other' }));
    expect(a.status).toBe(500);
    expect(a.reason).toBe(`unable to create VM 101 - VM 101 already exists on node '${NODE}'`);
    expect(a.body.data).toBeNull();
    expect(sim.vms().filter((v) => v.vmid === 101).map((v) => v.name)).toEqual(['test-101']);
    expect(audit.count({ action: 'qmcreate', outcome: 'ok' })).toBe(1);
    expect(audit.count({ action: 'qmcreate', outcome: 'rejected' })).toBe(1);
  });

  it('refuses a storage the node does not have, and fails the start task on a missing bridge', async () => {
    const a = await call('POST', `/nodes/${NODE}/qemu`, createParams(102, { scsi0: 'ceph:16' }));
    expect([a.status, a.reason]).toEqual([500, "storage 'ceph' does not exist"]);
    await createVm(103, { net0: 'virtio,bridge=vmbr9' });
    const start = await call('POST', `/nodes/${NODE}/qemu/103/status/start`);
    expect((await waitTask(start.body.data as string)).exitstatus).toBe("bridge 'vmbr9' does not exist");
  });

  it('fails the create task on an ISO the storage does not hold, in qemu-server\'s words, and leaves no VM', async () => {
    const a = await call('POST', `/nodes/${NODE}/qemu`, createParams(104, { ide2: 'local:iso/not-here.iso,media=cdrom' }));
    expect((await waitTask(a.body.data as string)).exitstatus).toBe('volume local:iso/not-here.iso does not exist');
    expect(sim.vms().some((v) => v.vmid === 104)).toBe(false);
  });

  it('updates a config synchronously with PUT, keeping the NIC MAC, and honours delete', async () => {
    await createVm(101);
    const before = sim.vms().find((v) => v.vmid === 101)!;
    const mac = /=([0-9A-F:]{17})/.exec(before.config.net0)![1];
    const a = await call('PUT', `/nodes/${NODE}/qemu/101/config`, { memory: '4096', net0: 'virtio,bridge=vmbr0', delete: 'agent' });
    expect(a.status).toBe(200);
    expect(a.body.data).toBeNull();
    const after = sim.vms().find((v) => v.vmid === 101)!;
    expect(after.config).toMatchObject({ memory: '4096', net0: `virtio=${mac},bridge=vmbr0` });
    expect(after.config.agent).toBeUndefined();
    expect(audit.count({ action: 'qmconfig', target: '101', outcome: 'ok' })).toBe(1);
  });

  it('clones a template into a new VMID', async () => {
    const a = await call('POST', `/nodes/${NODE}/qemu/9000/clone`, { newid: '110', name: 'lb-clone', full: '1' });
    expect(a.body.data).toMatch(/:qmclone:9000:/);
    expect((await waitTask(a.body.data as string)).exitstatus).toBe('OK');
    const clone = sim.vms().find((v) => v.vmid === 110)!;
    expect(clone.name).toBe('lb-clone');
    expect(clone.config.template).toBeUndefined();
    expect(clone.config.scsi0).toBe('local-lvm:vm-110-disk-0,size=4G');
    expect(clone.config.net0).not.toContain('BC:24:11:00:00:01');
    expect(audit.entries({ action: 'qmclone' })[0]).toMatchObject({ target: '110', outcome: 'ok', detail: expect.objectContaining({ source: 9000 }) });
  });

  it('refuses a clone into a taken VMID before forking its task, in qemu-server\'s words', async () => {
    await createVm(111);
    const a = await call('POST', `/nodes/${NODE}/qemu/9000/clone`, { newid: '111', name: 'lb-clone', full: '1' });
    expect([a.status, a.reason]).toEqual([500, 'unable to create VM 111: config file already exists']);
    expect(sim.vms().filter((v) => v.vmid === 111).map((v) => v.name)).toEqual(['test-111']);
  });
});

describe('faults', () => {
  it('taskError: the create is accepted, its task ends in error, and nothing is left behind', async () => {
    faults.add({ service: `proxmox:${NODE}`, method: 'POST', path: `^/nodes/${NODE}/qemu$`, effect: { kind: 'taskError', message: 'lvcreate failed: out of space' } });
    const a = await call('POST', `/nodes/${NODE}/qemu`, createParams(101));
    expect(a.status).toBe(200);
    expect(await waitTask(a.body.data as string)).toMatchObject({ status: 'stopped', exitstatus: 'lvcreate failed: out of space' });
    expect(sim.vms().some((v) => v.vmid === 101)).toBe(false);
    expect(audit.entries({ action: 'task', target: '101' })[0]).toMatchObject({ outcome: 'fault', detail: expect.objectContaining({ type: 'qmcreate', exitstatus: 'lvcreate failed: out of space' }) });
    // The fault fired once: the next create goes through.
    await createVm(101);
    expect(sim.vms().some((v) => v.vmid === 101)).toBe(true);
  });

  it('status: refused without effect; applyThenStatus: applied but answered with an error', async () => {
    faults.add({ service: 'proxmox', method: 'POST', path: '/qemu$', effect: { kind: 'status', status: 503 } });
    const refused = await call('POST', `/nodes/${NODE}/qemu`, createParams(101));
    expect(refused.status).toBe(503);
    expect(sim.vms().some((v) => v.vmid === 101)).toBe(false);

    faults.add({ service: `proxmox:${NODE}`, method: 'POST', path: '/qemu$', effect: { kind: 'applyThenStatus', status: 500 } });
    const applied = await call('POST', `/nodes/${NODE}/qemu`, createParams(101));
    expect(applied.status).toBe(500);
    expect(sim.vms().some((v) => v.vmid === 101)).toBe(true);
    expect(audit.entries({ action: 'qmcreate', outcome: 'fault' }).map((e) => e.detail?.applied)).toEqual([false, true]);
  });

  it('unreachable: connections are cut until the node comes back; killVm stops a VM abruptly', async () => {
    await createVm(101);
    await waitTask((await call('POST', `/nodes/${NODE}/qemu/101/status/start`)).body.data as string);
    sim.setUnreachable(true);
    await expect(call('GET', '/version')).rejects.toThrow(/ECONNRESET|socket hang up|disconnected/);
    sim.setUnreachable(false);
    expect((await call('GET', '/version')).status).toBe(200);

    const seen: SimVm[] = [];
    sim.onVmChange((vm, change) => change === 'stopped' && seen.push(vm));
    sim.killVm(101);
    expect(sim.vms().find((v) => v.vmid === 101)?.status).toBe('stopped');
    expect(seen.map((v) => v.vmid)).toEqual([101]);
    expect(audit.count({ action: 'kill', target: '101', outcome: 'fault' })).toBe(1);
  });

  it('reset and hang cut or stall a call', async () => {
    faults.add({ service: `proxmox:${NODE}`, path: '^/version$', effect: { kind: 'reset' } });
    await expect(call('GET', '/version')).rejects.toThrow();
    const hang = faults.add({ service: `proxmox:${NODE}`, path: '^/version$', effect: { kind: 'hang' } });
    let hungSettled = false;
    const hung = call('GET', '/version').finally(() => (hungSettled = true));
    await waitUntilTrue(() => faults.list().find((r) => r.id === hang.id)!.fired === 1);
    // The fault is used up: the same call asked after the hung one is answered, while the hung one still waits.
    expect((await call('GET', '/version')).status).toBe(200);
    expect(hungSettled).toBe(false);
    hung.catch(() => undefined); // cut when the simulator stops
  });
});

describe('audit', () => {
  it('records each mutating call with the VM name and tags, and each task completion', async () => {
    await createVm(101);
    const entry = audit.entries({ service: `proxmox:${NODE}`, action: 'qmcreate' })[0];
    expect(entry).toMatchObject({ target: '101', outcome: 'ok', detail: expect.objectContaining({ name: 'test-101', tags: ['autok8s', 'cluster-t', 'role-cp'], upid: expect.stringMatching(/^UPID:/) }) });
    expect(audit.entries({ action: 'task', target: '101' })[0]).toMatchObject({ outcome: 'ok', detail: expect.objectContaining({ type: 'qmcreate', exitstatus: 'OK' }) });
    // Reads are not audited.
    await call('GET', `/nodes/${NODE}/qemu`);
    expect(audit.entries().every((e) => ['qmcreate', 'task'].includes(e.action))).toBe(true);
  });
});
