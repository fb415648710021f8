// The Proxmox adapter against the shapes a real node fails with (docs/contracts.md §B.2,
// §B.3): a 401 with an empty body on a closed connection, a 403 naming (or not naming) the
// missing privilege, and a task the node no longer knows.
import { ANYTHING_POLICY } from '../helpers/policy';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxmoxActivities } from '../../activities/proxmox/activities';
import { ProxmoxClient, proxmoxAgent } from '../../activities/proxmox/client';
import { classifyProxmoxError, ProxmoxHttpError, type ProxmoxTarget } from '../../activities/proxmox/errors';
import { waitForTask } from '../../activities/proxmox/tasks';
import { createSecretResolver } from '../../activities/secrets';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { AuditLog } from '../../sandbox/audit';
import { FaultInjector } from '../../sandbox/faults';
import { AUTOK8S_PRIVILEGES, autok8sAcl } from '../../sandbox/proxmox/autok8s-role';
import { ProxmoxSimulator } from '../../sandbox/proxmox/simulator';
import { loadOrCreateSandboxCa, type SandboxCa } from '../../sandbox/tls';
import { ROOT } from '../helpers/paths';

const NODE = 'pve-a';
const SECRET = '6f1c1f5e-3b7a-4c1e-9a55-0d2b8f4e7a10';
const PATHS = { storage: 'local-lvm', isoStorage: 'local', bridge: 'vmbr1' };
const FULL = { tokenId: 'autok8s@pve!worker', secret: SECRET, acl: autok8sAcl(PATHS) };
const without = (privilege: string) => ({ tokenId: `autok8s@pve!no-${privilege.toLowerCase().replace(/\./g, '-')}`, secret: SECRET, acl: autok8sAcl(PATHS, AUTOK8S_PRIVILEGES.filter((p) => p !== privilege)) });
const NO_ALLOCATE = without('VM.Allocate');
const NO_POWER = without('VM.PowerMgmt');
const fixture = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));

let dir: string;
let ca: SandboxCa;
let sim: ProxmoxSimulator;

const target = (tokenId: string): ProxmoxTarget => ({ server: 'srv-a', node: NODE, url: sim.url, tokenId, tokenSecretRef: 'env:PVE_A_TOKEN' });
const client = (tokenId: string, secret = SECRET, agent?: ReturnType<typeof proxmoxAgent>) => new ProxmoxClient({ url: sim.url, node: NODE, tokenId, tokenSecret: secret, caPem: ca.certPem }, { requestTimeoutMs: 10_000, agent });

function specWith(tokenId: string): ClusterSpec {
  const [a, ...rest] = fixture.servers;
  return { ...fixture, servers: [{ ...a, proxmox: { ...a.proxmox, url: sim.url, node: NODE, tokenId, tokenSecret: 'env:PVE_A_TOKEN', caFile: ca.certFile, fingerprint: undefined } }, ...rest] };
}
const activities = createProxmoxActivities({ secrets: createSecretResolver({ PVE_A_TOKEN: SECRET }, ANYTHING_POLICY), pollIntervalMs: 20, requestTimeoutMs: 10_000 });

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pve-adapter-'));
  ca = await loadOrCreateSandboxCa(join(dir, 'ca'));
  sim = await ProxmoxSimulator.start({ ca, audit: new AuditLog(), faults: new FaultInjector(), node: NODE, tokens: [FULL, NO_ALLOCATE, NO_POWER], latency: { createMs: 30, startMs: 30, stopMs: 20, destroyMs: 20, bootMs: 60 } });
});

afterAll(async () => {
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a refused token (401, empty body, connection closed)', () => {
  it('reads the reason phrase as the message, classifies it as a non-retryable auth error, and the shared pool serves the next call on a new connection', async () => {
    const pool = proxmoxAgent({ caPem: ca.certPem }, 10_000);
    try {
      const err = await client(FULL.tokenId, '00000000-0000-4000-8000-000000000000', pool)
        .version()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProxmoxHttpError);
      expect(err).toMatchObject({ status: 401, reason: 'Authentication failed!', errors: undefined });
      const classified = classifyProxmoxError(err, target(FULL.tokenId)) as ApplicationFailure;
      expect([classified.type, classified.nonRetryable]).toEqual(['ProxmoxAuthError', true]);
      expect(classified.message).toMatch(/rejected API token autok8s@pve!worker \(401 Authentication failed!\)/);
      expect(await client(FULL.tokenId, SECRET, pool).version()).toMatchObject({ release: expect.any(String) });
    } finally {
      await pool.destroy();
    }
  });
});

describe('a token without a privilege (403)', () => {
  it('ensureVm with a token lacking VM.Allocate fails for good, naming what the create needs (Proxmox names nothing here)', async () => {
    const err = await failure(activities.ensureVm(specWith(NO_ALLOCATE.tokenId), 'srv-a', 'controlPlane'));
    expect([err.type, err.nonRetryable]).toEqual(['ProxmoxAuthError', true]);
    expect(err.message).toMatch(/lacks a privilege for this call, which needs VM\.Allocate on \/vms\/<vmid>.*\(403 Permission check failed on POST \/nodes\/pve-a\/qemu\)/);
    expect(sim.vms()).toEqual([]);
  });

  it('bootVm with a token lacking VM.PowerMgmt fails for good, naming the privilege and the VM', async () => {
    await activities.ensureVm(specWith(FULL.tokenId), 'srv-a', 'controlPlane');
    const err = await failure(activities.bootVm(specWith(NO_POWER.tokenId), 'srv-a', 'controlPlane', { timeoutMs: 5000 }));
    expect([err.type, err.nonRetryable]).toEqual(['ProxmoxAuthError', true]);
    expect(err.message).toMatch(/API token autok8s@pve!no-vm-powermgmt lacks privilege VM\.PowerMgmt on \/vms\/102 \(403 Permission check failed \(\/vms\/102, VM\.PowerMgmt\)/);
    expect(sim.vms().find((v) => v.vmid === 102)?.status).toBe('stopped');
  });
});

describe('a task the node no longer knows (400 errors.upid)', () => {
  it('is not a bad request but a lost task: the wait fails retryably, so the activity looks again', async () => {
    const c = client(FULL.tokenId);
    try {
      await activities.ensureVm(specWith(FULL.tokenId), 'srv-a', 'worker');
      const upid = await c.startVm(103);
      sim.forgetTasks(); // the node was reinstalled, or its task logs wiped
      const err = await failure(waitForTask(c, upid, { pollIntervalMs: 20 }));
      expect([err.type, err.nonRetryable]).toEqual(['ProxmoxTaskLost', false]);
      expect(err.message).toMatch(/no longer knows task UPID:pve-a:.*\(no such task\)/);
    } finally {
      await c.close();
    }
  });
});
