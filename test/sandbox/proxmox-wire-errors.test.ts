// How the Proxmox simulator fails, on the wire, as a real node does (docs/contracts.md §B.2,
// §B.3, §B.7): a refused token gets 401 after 3 s with an empty body and a closed
// connection; an unknown task a 400 naming `upid`; a token without a privilege the 403 that
// names the path and privilege; every error closes the connection, a success keeps it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { AUTOK8S_PRIVILEGES, autok8sAcl } from '../../sandbox/proxmox/autok8s-role';
import { ProxmoxSimulator } from '../../sandbox/proxmox/simulator';
import { loadOrCreateSandboxCa, type SandboxCa } from '../../sandbox/tls';
import { pveCall, type WireAnswer } from './pve-wire';

const NODE = 'pve-a';
const SECRET = '6f1c1f5e-3b7a-4c1e-9a55-0d2b8f4e7a10';
const PATHS = { storage: 'local-lvm', isoStorage: 'local', bridge: 'vmbr1' };
const auth = (tokenId: string, secret = SECRET) => `PVEAPIToken=${tokenId}=${secret}`;
/** A token holding the production role without `privilege`. */
const without = (privilege: string) => ({ tokenId: `autok8s@pve!no-${privilege.toLowerCase().replace(/\./g, '-')}`, secret: SECRET, acl: autok8sAcl(PATHS, AUTOK8S_PRIVILEGES.filter((p) => p !== privilege)) });
const FULL = { tokenId: 'autok8s@pve!worker', secret: SECRET, acl: autok8sAcl(PATHS) };
/** The role everywhere except on the ISO's storage. */
const NO_ISO = { tokenId: 'autok8s@pve!no-iso', secret: SECRET, acl: { ...autok8sAcl(PATHS), '/storage/local': [] } };
const LIMITED = ['VM.PowerMgmt', 'VM.Allocate', 'SDN.Use', 'Datastore.AllocateSpace', 'Datastore.Audit', 'VM.Audit', 'VM.GuestAgent.Audit', 'VM.Config.Cloudinit', 'VM.Config.Options'].map(without);

const createParams = (vmid: number) => ({
  vmid: String(vmid),
  name: `test-${vmid}`,
  tags: 'autok8s;cluster-t;role-cp',
  memory: '2048',
  cores: '2',
  scsihw: 'virtio-scsi-single',
  scsi0: 'local-lvm:16',
  net0: 'virtio,bridge=vmbr1',
  ide0: 'local-lvm:cloudinit',
  ide2: 'local:iso/talos-nocloud-amd64.iso,media=cdrom',
  citype: 'nocloud',
  ipconfig0: 'ip=10.10.0.21/24,gw=10.10.0.1',
  boot: 'order=scsi0;ide2',
  agent: '1',
  ostype: 'l26',
});

let dir: string;
let ca: SandboxCa;
let audit: AuditLog;
let sim: ProxmoxSimulator;
const call = (method: string, path: string, options: { auth?: string; params?: Record<string, string> } = {}): Promise<WireAnswer> => pveCall({ url: sim.url, caPem: ca.certPem }, method, path, options);

/** Polls a task as the token that started it (a token sees its own tasks; others need Sys.Audit). */
async function waitTask(upid: string, tokenId = FULL.tokenId): Promise<Record<string, unknown>> {
  for (;;) {
    const a = await call('GET', `/nodes/${NODE}/tasks/${encodeURIComponent(upid)}/status`, { auth: auth(tokenId) });
    const task = a.body?.data as Record<string, unknown>;
    if (task.status === 'stopped') return task;
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pve-wire-'));
  ca = await loadOrCreateSandboxCa(join(dir, 'ca'));
  audit = new AuditLog();
  // An ISO whose image has the guest agent: the full role's agent call then answers 200.
  sim = await ProxmoxSimulator.start({ ca, audit, faults: new FaultInjector(), node: NODE, tokens: [FULL, NO_ISO, ...LIMITED], isos: [{ volid: 'local:iso/talos-nocloud-amd64.iso', platform: 'nocloud', guestAgent: true }], latency: { createMs: 30, startMs: 30, stopMs: 20, destroyMs: 20, bootMs: 60 } });
  // VM 101, created and started by the full token, for the calls on an existing VM.
  const created = await call('POST', `/nodes/${NODE}/qemu`, { auth: auth(FULL.tokenId), params: createParams(101) });
  expect(created.status).toBe(200);
  expect((await waitTask(created.body?.data as string)).exitstatus).toBe('OK');
  expect((await waitTask((await call('POST', `/nodes/${NODE}/qemu/101/status/start`, { auth: auth(FULL.tokenId) })).body?.data as string)).exitstatus).toBe('OK');
});

afterAll(async () => {
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('authentication failures', () => {
  it('a wrong secret gets 401 "Authentication failed!" no sooner than 3 s, with no body and no content type, and the connection closed', async () => {
    const started = performance.now();
    const a = await call('POST', `/nodes/${NODE}/qemu`, { auth: auth(FULL.tokenId, '00000000-0000-4000-8000-000000000000'), params: createParams(102) });
    const waited = performance.now() - started;
    expect({ status: a.status, reason: a.reason, rawBody: a.rawBody, contentType: a.headers['content-type'], connection: a.headers.connection, closed: a.closed }).toEqual({
      status: 401,
      reason: 'Authentication failed!',
      rawBody: '',
      contentType: undefined,
      connection: 'close',
      closed: true,
    });
    // pve-http-server holds every 401 back 3 s; a lower bound, so load cannot make it flaky.
    expect(waited).toBeGreaterThanOrEqual(2990);
    expect(sim.vms().find((v) => v.vmid === 102)).toBeUndefined();
    expect(audit.count({ service: `proxmox:${NODE}`, action: 'qmcreate', outcome: 'rejected' })).toBe(1);
  });

  it('an unknown token ID or a token value without "=" is "Authentication failed!"; no token at all is "No ticket"', async () => {
    const [unknown, malformed, none, otherScheme] = await Promise.all([
      call('GET', '/version', { auth: auth('root@pam!other') }),
      call('GET', '/version', { auth: 'PVEAPIToken=root@pam!autok8s' }),
      call('GET', '/version'),
      call('GET', '/version', { auth: 'Bearer abc' }),
    ]);
    expect([unknown, malformed, none, otherScheme].map((a) => [a.status, a.reason, a.rawBody, a.closed])).toEqual([
      [401, 'Authentication failed!', '', true],
      [401, 'Authentication failed!', '', true],
      [401, 'No ticket', '', true],
      [401, 'No ticket', '', true],
    ]);
  });

  it('a success keeps the connection open (only errors close it)', async () => {
    const a = await call('GET', '/version', { auth: auth(FULL.tokenId) });
    expect([a.status, a.headers.connection, a.closed]).toEqual([200, 'keep-alive', false]);
  });
});

describe('task status of a task the node does not have', () => {
  it('an unknown UPID is 400 "Parameter verification failed." with errors.upid "no such task", and the connection closes', async () => {
    const upid = `UPID:${NODE}:00001234:00ABCDEF:65F1A2B3:qmstart:101:${FULL.tokenId}:`;
    const a = await call('GET', `/nodes/${NODE}/tasks/${encodeURIComponent(upid)}/status`, { auth: auth(FULL.tokenId) });
    expect([a.status, a.reason, a.body?.data, a.body?.errors, a.closed]).toEqual([400, 'Parameter verification failed.', null, { upid: 'no such task' }, true]);
  });

  it('a UPID that does not parse is 400 with errors.upid "unable to parse worker upid"', async () => {
    const a = await call('GET', `/nodes/${NODE}/tasks/not-a-upid/status`, { auth: auth(FULL.tokenId) });
    expect([a.status, a.body?.errors]).toEqual([400, { upid: 'unable to parse worker upid' }]);
  });

  it('a UPID the node gave out becomes "no such task" once the node has lost its task logs', async () => {
    const stop = await call('POST', `/nodes/${NODE}/qemu/101/status/reboot`, { auth: auth(FULL.tokenId) });
    const upid = stop.body?.data as string;
    expect((await call('GET', `/nodes/${NODE}/tasks/${encodeURIComponent(upid)}/status`, { auth: auth(FULL.tokenId) })).status).toBe(200);
    sim.forgetTasks();
    expect((await call('GET', `/nodes/${NODE}/tasks/${encodeURIComponent(upid)}/status`, { auth: auth(FULL.tokenId) })).body?.errors).toEqual({ upid: 'no such task' });
  });
});

describe('privileges', () => {
  const cases: { name: string; missing: string; method: string; path: string; params?: Record<string, string>; reason: string }[] = [
    { name: 'starting a VM needs VM.PowerMgmt on it', missing: 'VM.PowerMgmt', method: 'POST', path: `/nodes/${NODE}/qemu/101/status/start`, reason: 'Permission check failed (/vms/101, VM.PowerMgmt)' },
    { name: 'destroying a VM needs VM.Allocate on it', missing: 'VM.Allocate', method: 'DELETE', path: `/nodes/${NODE}/qemu/101`, params: { purge: '1' }, reason: 'Permission check failed (/vms/101, VM.Allocate)' },
    { name: 'creating a VM without VM.Allocate fails its "or" of checks: a bare 403', missing: 'VM.Allocate', method: 'POST', path: `/nodes/${NODE}/qemu`, params: createParams(103), reason: 'Permission check failed' },
    { name: 'a NIC on a bridge needs SDN.Use on the bridge', missing: 'SDN.Use', method: 'POST', path: `/nodes/${NODE}/qemu`, params: createParams(103), reason: 'Permission check failed (/sdn/zones/localnetwork/vmbr1, SDN.Use)' },
    { name: 'a new disk needs Datastore.AllocateSpace on its storage', missing: 'Datastore.AllocateSpace', method: 'POST', path: `/nodes/${NODE}/qemu`, params: createParams(103), reason: 'Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)' },
    { name: 'reading a VM config needs VM.Audit', missing: 'VM.Audit', method: 'GET', path: `/nodes/${NODE}/qemu/101/config`, reason: 'Permission check failed (/vms/101, VM.Audit)' },
    { name: 'the guest agent needs VM.GuestAgent.Audit (or Unrestricted)', missing: 'VM.GuestAgent.Audit', method: 'GET', path: `/nodes/${NODE}/qemu/101/agent/network-get-interfaces`, reason: 'Permission check failed (/vms/101, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)' },
    { name: 'a cloud-init drive added by a config update needs VM.Config.Cloudinit (and CDROM)', missing: 'VM.Config.Cloudinit', method: 'PUT', path: `/nodes/${NODE}/qemu/101/config`, params: { ide0: 'local-lvm:cloudinit' }, reason: 'Permission check failed (/vms/101, VM.Config.Cloudinit)' },
    { name: 'renaming a VM needs VM.Config.Options', missing: 'VM.Config.Options', method: 'PUT', path: `/nodes/${NODE}/qemu/101/config`, params: { name: 'renamed' }, reason: 'Permission check failed (/vms/101, VM.Config.Options)' },
  ];

  it.each(cases)('$name: 403 "$reason", nothing changed', async ({ missing, method, path, params, reason }) => {
    const token = without(missing);
    const before = JSON.stringify(sim.vms());
    const a = await call(method, path, { auth: auth(token.tokenId), params });
    expect([a.status, a.reason, a.closed]).toEqual([403, reason, true]);
    expect(JSON.stringify(sim.vms())).toBe(before);
    // The full role passes the same check (the refusal is the missing privilege, nothing else).
    if (method === 'GET') expect((await call(method, path, { auth: auth(FULL.tokenId), params })).status).toBe(200);
  });

  it('the ISO needs Datastore.Audit or Datastore.AllocateSpace on its storage; either one is enough', async () => {
    const refused = await call('POST', `/nodes/${NODE}/qemu`, { auth: auth(NO_ISO.tokenId), params: createParams(104) });
    expect([refused.status, refused.reason]).toEqual([403, 'Permission check failed (/storage/local, Datastore.AllocateSpace|Datastore.Audit)']);
    const token = without('Datastore.Audit').tokenId; // AllocateSpace on /storage/local still covers the ISO
    const a = await call('POST', `/nodes/${NODE}/qemu`, { auth: auth(token), params: createParams(104) });
    expect(a.status).toBe(200);
    expect((await waitTask(a.body?.data as string, token)).exitstatus).toBe('OK');
  });

  it('a token reads its own tasks; another token’s task needs Sys.Audit on the node', async () => {
    const upid = (await call('POST', `/nodes/${NODE}/qemu/101/status/reboot`, { auth: auth(FULL.tokenId) })).body?.data as string;
    const other = await call('GET', `/nodes/${NODE}/tasks/${encodeURIComponent(upid)}/status`, { auth: auth(NO_ISO.tokenId) });
    expect([other.status, other.reason]).toEqual([403, `Permission check failed (/nodes/${NODE}, Sys.Audit)`]);
    expect((await waitTask(upid)).exitstatus).toBe('OK');
  });

  it('a VM the token may not audit is left out of the VM list rather than refused', async () => {
    const a = await call('GET', `/nodes/${NODE}/qemu`, { auth: auth(without('VM.Audit').tokenId) });
    expect([a.status, a.body?.data]).toEqual([200, []]);
    const full = await call('GET', `/nodes/${NODE}/qemu`, { auth: auth(FULL.tokenId) });
    expect((full.body?.data as { vmid: number }[]).map((v) => v.vmid)).toContain(101);
  });

  it('the production role is enough for every call autok8s makes on a VM', async () => {
    const token = FULL.tokenId;
    expect((await call('GET', `/nodes/${NODE}/qemu/101/config`, { auth: auth(token) })).status).toBe(200);
    expect((await call('PUT', `/nodes/${NODE}/qemu/101/config`, { auth: auth(token), params: { cores: '4', tags: 'autok8s;cluster-t;role-cp' } })).status).toBe(200);
    expect((await call('GET', `/nodes/${NODE}/qemu/101/status/current`, { auth: auth(token) })).status).toBe(200);
  });
});
