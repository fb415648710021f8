// setLbPublicLink against the Proxmox simulator, over real TLS, with a token holding exactly
// the privileges docs/production.md grants (autok8sAcl with the public bridge): the LB VM's
// net1 link down → up → up again (a no-op), a VM without net1 refused, and a token without
// VM.Config.Network refused with the 403 a real node answers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProxmoxActivities } from '../../activities/proxmox/activities';
import type { GuestProbes } from '../../activities/proxmox/guest-probes';
import { createSecretResolver } from '../../activities/secrets';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { AUTOK8S_PRIVILEGES, autok8sAcl } from '../../sandbox/proxmox/autok8s-role';
import { ProxmoxSimulator } from '../../sandbox/proxmox/simulator';
import { loadOrCreateSandboxCa, type SandboxCa } from '../../sandbox/tls';
import { ANYTHING_POLICY } from '../helpers/policy';
import { ROOT } from '../helpers/paths';

const NODE = 'pve-a';
const SERVICE = `proxmox:${NODE}`;
const VMAC = '02:00:00:ab:cd:ef';
const ACL_PATHS = { storage: 'local-lvm', isoStorage: 'local', bridge: 'vmbr1', publicBridge: 'vmbr0' };
const AUTOK8S = { tokenId: 'root@pam!autok8s', secret: '6f1c1f5e-3b7a-4c1e-9a55-0d2b8f4e7a10', acl: autok8sAcl(ACL_PATHS) };
const NO_NETWORK = {
  tokenId: 'root@pam!nonetwork',
  secret: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  acl: autok8sAcl(ACL_PATHS, AUTOK8S_PRIVILEGES.filter((p) => p !== 'VM.Config.Network')),
};
const LATENCY = { createMs: 30, startMs: 30, stopMs: 20, destroyMs: 20, bootMs: 60 };

let dir: string;
let ca: SandboxCa;
let audit: AuditLog;
let sim: ProxmoxSimulator;
const fixture = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));
const LB_VMID = fixture.servers[0].vms.lb!.vmid;

function specFor(token = AUTOK8S): ClusterSpec {
  const [a, ...rest] = fixture.servers;
  return { ...fixture, servers: [{ ...a, proxmox: { ...a.proxmox, url: sim.url, node: NODE, tokenId: token.tokenId, tokenSecret: 'env:PVE_TOKEN', caFile: ca.certFile, fingerprint: undefined } }, ...rest] };
}

const guests: GuestProbes = {
  talosApi: async (_spec, ip) => (sim.vmByIp(ip) ? { answered: true, how: 'simulated' } : { answered: false, why: `no running VM has ${ip}` }),
  ssh: async (_server, ip) => (sim.vmByIp(ip) ? { answered: true, how: 'simulated' } : { answered: false, why: `no running VM has ${ip}` }),
};
const activities = (token = AUTOK8S) => createProxmoxActivities({ secrets: createSecretResolver({ PVE_TOKEN: token.secret }, ANYTHING_POLICY), pollIntervalMs: 20, requestTimeoutMs: 5000, probes: guests });
const configPuts = () => audit.count({ service: SERVICE, action: 'qmconfig' });

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pve-link-'));
  ca = await loadOrCreateSandboxCa(join(dir, 'ca'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  audit = new AuditLog();
  sim = await ProxmoxSimulator.start({ ca, audit, faults: new FaultInjector(), node: NODE, tokens: [AUTOK8S, NO_NETWORK], latency: LATENCY });
});
afterEach(async () => sim.stop());

/** The LB VM as bootstrap leaves it in vmac mode: net1 with the virtual MAC, plug pulled, running. */
async function runningLbWithPublicNic(): Promise<void> {
  const act = activities();
  const ensured = await act.ensureVm(specFor(), 'srv-a', 'lb', { publicMac: VMAC });
  expect(ensured).toMatchObject({ vmid: LB_VMID, created: true });
  await act.bootVm(specFor(), 'srv-a', 'lb', { timeoutMs: 5000 });
}

describe('setLbPublicLink', () => {
  it('brings the link up, leaves it alone when asked again, and takes it down, one config write per change', async () => {
    await runningLbWithPublicNic();
    const act = activities();
    expect(sim.nicLink(LB_VMID)).toEqual({ up: false, mac: '02:00:00:AB:CD:EF', bridge: 'vmbr0' });
    const writesBefore = configPuts();

    const up = await act.setLbPublicLink(specFor(), 'srv-a', true);
    expect(up).toMatchObject({ server: 'srv-a', vmid: LB_VMID, node: NODE, state: 'up', changed: true, nic: 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=0' });
    expect(sim.nicLink(LB_VMID)).toEqual({ up: true, mac: '02:00:00:AB:CD:EF', bridge: 'vmbr0' });
    expect(configPuts() - writesBefore).toBe(1);

    const again = await act.setLbPublicLink(specFor(), 'srv-a', true);
    expect(again).toMatchObject({ state: 'up', changed: false });
    expect(configPuts() - writesBefore).toBe(1);

    const down = await act.setLbPublicLink(specFor(), 'srv-a', false);
    expect(down).toMatchObject({ state: 'down', changed: true });
    expect(sim.nicLink(LB_VMID)?.up).toBe(false);
    expect(configPuts() - writesBefore).toBe(2);
    // Only link_down changed: the VM kept running, with the same MAC on the same bridge.
    expect(sim.vms().find((v) => v.vmid === LB_VMID)?.status).toBe('running');
    expect(sim.nicLink(LB_VMID)).toMatchObject({ mac: '02:00:00:AB:CD:EF', bridge: 'vmbr0' });
    // Every request passed the published schema (pve-qm-net's link_down included).
    expect(sim.schemaChecks()['PUT /nodes/{node}/qemu/{vmid}/config']).toEqual({ accepted: 2, refused: 0 });
  });

  it('refuses, without writing, an LB VM that has no public NIC', async () => {
    const act = activities();
    await act.ensureVm(specFor(), 'srv-a', 'lb'); // vmac mode before the virtual MAC is known: no net1
    expect(sim.nicLink(LB_VMID)).toBeUndefined();
    const writesBefore = configPuts();
    const err = await failure(act.setLbPublicLink(specFor(), 'srv-a', true));
    expect(err).toMatchObject({ type: 'LbPublicNicMissing', nonRetryable: true });
    expect(err.message).toMatch(/the LB VM \d+ of srv-a has no public NIC \(net1\): bootstrap with publicPath mode vmac\/routed creates it/);
    expect(configPuts()).toBe(writesBefore);
  });

  it('refuses an LB VM that does not exist', async () => {
    const err = await failure(activities().setLbPublicLink(specFor(), 'srv-a', true));
    expect(err).toMatchObject({ type: 'ProxmoxVmMissing', nonRetryable: true });
  });

  it('needs VM.Config.Network on the VM: a token without it gets the 403 a real node answers', async () => {
    await runningLbWithPublicNic();
    const err = await failure(activities(NO_NETWORK).setLbPublicLink(specFor(NO_NETWORK), 'srv-a', true));
    expect(err).toMatchObject({ type: 'ProxmoxAuthError', nonRetryable: true });
    expect(err.message).toContain(`/vms/${LB_VMID}, VM.Config.Network`);
    expect(sim.nicLink(LB_VMID)?.up).toBe(false);
  });
});
