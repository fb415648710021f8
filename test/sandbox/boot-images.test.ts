// The Talos image a VM boots, end to end in a one-server sandbox: the Proxmox simulator's
// guests behave like their image (the guest agent only where the image has one, the
// cloud-init address only on nocloud), and bootVm waits for the guest itself — the Talos
// API through the talosctl stand-in, sshd on the LB host — never for an agent.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxmoxActivities } from '../../activities/proxmox/activities';
import { ProxmoxClient } from '../../activities/proxmox/client';
import { ProxmoxHttpError } from '../../activities/proxmox/errors';
import { createSecretResolver } from '../../activities/secrets';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox';
import type { SimIso } from '../../sandbox/proxmox/simulator';

const FAST = { proxmox: { createMs: 30, startMs: 30, stopMs: 20, destroyMs: 20, bootMs: 150 } };
const boxes: Sandbox[] = [];

async function sandbox(name: string, images?: SandboxOptions['images']): Promise<Sandbox> {
  const box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), `ak8s-${name}-`)), clusterName: name, servers: 1, latency: FAST, images });
  boxes.push(box);
  return box;
}

const activitiesOf = (box: Sandbox) => createProxmoxActivities({ secrets: createSecretResolver({}, box.workerPolicy), pollIntervalMs: 50, requestTimeoutMs: 5000 });

function clientOf(box: Sandbox): ProxmoxClient {
  const pve = box.spec.servers[0].proxmox;
  const tokenSecret = readFileSync(join(box.dir, 'secrets', 'pve-srv-a.token'), 'utf8').trim();
  return new ProxmoxClient({ url: pve.url, node: pve.node, tokenId: pve.tokenId, tokenSecret, fingerprint: pve.fingerprint });
}

/** What the guest agent endpoint answers: the interfaces, or the error's reason phrase. */
async function agentOf(box: Sandbox, vmid: number): Promise<string | { name: string; addresses: string[] }[]> {
  const client = clientOf(box);
  try {
    const interfaces = await client.agentNetworkInterfaces(vmid);
    return interfaces.map((i) => ({ name: i.name, addresses: (i['ip-addresses'] ?? []).map((a) => a['ip-address']) }));
  } catch (err) {
    if (err instanceof ProxmoxHttpError) return `${err.status} ${err.reason}`;
    throw err;
  } finally {
    await client.close();
  }
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

afterAll(async () => {
  for (const box of boxes) {
    await box.stop();
    rmSync(box.dir, { recursive: true, force: true });
  }
});

describe('a nocloud image without the guest agent (the default)', () => {
  let box: Sandbox;
  beforeAll(async () => {
    box = await sandbox('nocloud');
  });

  it('bootVm succeeds on a Talos VM once the Talos API answers on its spec address, with heartbeats, while the agent never answers', async () => {
    const act = activitiesOf(box);
    const { controlPlane } = box.spec.servers[0].vms;
    await act.ensureVm(box.spec, 'srv-a', 'controlPlane');
    box.proxmox.get('srv-a')!.setLatency({ bootMs: 1500 }); // long enough for a heartbeat of the wait itself
    const env = new MockActivityEnvironment();
    const beats: { waitingFor?: string }[] = [];
    env.on('heartbeat', (d: { waitingFor?: string }) => beats.push(d));
    const booted = (await env.run(() => act.bootVm(box.spec, 'srv-a', 'controlPlane'))) as Awaited<ReturnType<typeof act.bootVm>>;
    expect(booted).toMatchObject({ vmid: controlPlane!.vmid, started: true, ip: controlPlane!.ip });
    expect(booted.answeredBy).toMatch(/Talos API answered/);
    expect(beats.some((b) => b.waitingFor === `the Talos API on ${controlPlane!.ip}`)).toBe(true);
    // The image has no agent: Proxmox's answer stays the same however long the VM runs.
    expect(await agentOf(box, controlPlane!.vmid)).toBe('500 QEMU guest agent is not running');
    box.proxmox.get('srv-a')!.setLatency(FAST.proxmox);
  });

  it('bootVm succeeds on the LB VM once its sshd answers', async () => {
    const act = activitiesOf(box);
    await act.ensureVm(box.spec, 'srv-a', 'lb');
    const booted = await act.bootVm(box.spec, 'srv-a', 'lb');
    expect(booted.answeredBy).toMatch(/^sshd answered \(SSH-2\.0-/);
    expect(await agentOf(box, box.spec.servers[0].vms.lb.vmid)).toBe('500 QEMU guest agent is not running');
  });

  it('a wait for the Talos API is cancellable, and a missing talosctl is a non-retryable failure naming it', async () => {
    const act = activitiesOf(box);
    await act.ensureVm(box.spec, 'srv-a', 'worker');
    box.proxmox.get('srv-a')!.setLatency({ bootMs: 60_000 }); // a guest that does not boot within the test
    const env = new MockActivityEnvironment();
    env.on('heartbeat', (d: { waitingFor?: string }) => d?.waitingFor !== undefined && env.cancel());
    await expect(env.run(() => act.bootVm(box.spec, 'srv-a', 'worker'))).rejects.toBeInstanceOf(CancelledFailure);
    const missing = structuredClone(box.spec);
    missing.talos.talosctl = join(box.dir, 'no-such-talosctl');
    const err = await failureOf(act.bootVm(missing, 'srv-a', 'worker'));
    expect(err).toMatchObject({ type: 'TalosctlMissing', nonRetryable: true });
    expect(err.message).toContain('no-such-talosctl');
    box.proxmox.get('srv-a')!.setLatency(FAST.proxmox);
  });

  it('the node lists its ISOs; checkBootImage accepts the spec’s nocloud ISO', async () => {
    const client = clientOf(box);
    try {
      expect(await client.storageContent('local', 'iso')).toEqual([expect.objectContaining({ volid: 'local:iso/talos-nocloud-amd64.iso', format: 'iso' })]);
      // The token holds no privilege on a storage docs/production.md does not grant: the permission check answers first, as on a real node.
      await expect(client.storageContent('nfs-iso', 'iso')).rejects.toMatchObject({ status: 403, reason: 'Permission check failed (/storage/nfs-iso, Datastore.Audit|Datastore.AllocateSpace)' });
    } finally {
      await client.close();
    }
    expect(await activitiesOf(box).checkBootImage(box.spec, 'srv-a')).toEqual({ server: 'srv-a', isoVolume: 'local:iso/talos-nocloud-amd64.iso', platformByName: 'nocloud' });
  });
});

describe('the simulator’s guests follow their image', () => {
  const isos: SimIso[] = [
    { volid: 'local:iso/talos-nocloud-amd64.iso', platform: 'nocloud', guestAgent: true },
    { volid: 'local:iso/talos-amd64.iso', platform: 'metal', guestAgent: true },
  ];
  let box: Sandbox;
  beforeAll(async () => {
    box = await sandbox('agent', { isos, talosImage: { platform: 'nocloud', schematic: 'ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515', extensions: ['siderolabs/qemu-guest-agent'] } });
  });

  it('an image with the agent answers on it with its cloud-init address (nocloud)', async () => {
    const act = activitiesOf(box);
    const { controlPlane } = box.spec.servers[0].vms;
    await act.ensureVm(box.spec, 'srv-a', 'controlPlane');
    await act.bootVm(box.spec, 'srv-a', 'controlPlane');
    expect(await agentOf(box, controlPlane!.vmid)).toEqual([
      { name: 'lo', addresses: ['127.0.0.1'] },
      { name: 'eth0', addresses: [controlPlane!.ip] },
    ]);
  });

  it('a metal image never takes the cloud-init address: its agent reports none, its Talos node is not at the spec address, and bootVm fails naming the VM, the address and the image', async () => {
    const act = activitiesOf(box);
    const { worker } = box.spec.servers[0].vms;
    const metal = structuredClone(box.spec);
    metal.servers[0].proxmox.isoVolume = 'local:iso/talos-amd64.iso'; // a name that says nothing
    await act.ensureVm(metal, 'srv-a', 'worker');
    const err = await failureOf(act.bootVm(metal, 'srv-a', 'worker', { timeoutMs: 1500 }));
    expect(err).toMatchObject({ type: 'VmBootTimeout', nonRetryable: true });
    expect(err.message).toContain(`VM ${worker.vmid}`);
    expect(err.message).toContain(worker.ip);
    expect(err.message).toContain('Talos nocloud ISO local:iso/talos-amd64.iso');
    expect(err.message).toMatch(/metal image takes a DHCP address or none/);
    expect(await agentOf(box, worker.vmid)).toEqual([
      { name: 'lo', addresses: ['127.0.0.1'] },
      { name: 'eth0', addresses: [] },
    ]);
    expect(box.proxmox.get('srv-a')!.vmByIp(worker.ip)).toBeUndefined();
  });
});

describe('an ISO the bootstrap must refuse', () => {
  it('checkBootImage refuses an ISO named metal and one the node does not hold, naming the field and the image', async () => {
    const box = await sandbox('metalname', { isos: [{ volid: 'local:iso/metal-amd64.iso', platform: 'metal', guestAgent: false }], isoVolume: 'local:iso/metal-amd64.iso' });
    const act = activitiesOf(box);
    const err = await failureOf(act.checkBootImage(box.spec, 'srv-a'));
    expect(err).toMatchObject({ type: 'TalosImageMismatch', nonRetryable: true });
    expect(err.message).toMatch(/^servers\[0\]\.proxmox\.isoVolume local:iso\/metal-amd64\.iso is a Talos metal image/);
    const missing = structuredClone(box.spec);
    missing.servers[0].proxmox.isoVolume = 'local:iso/talos-nocloud-amd64.iso';
    const absent = await failureOf(act.checkBootImage(missing, 'srv-a'));
    expect(absent.message).toMatch(/local:iso\/talos-nocloud-amd64\.iso is not on node pve-a \(it holds local:iso\/metal-amd64\.iso\)/);
    expect(box.audit.entries({ action: 'qmcreate' })).toHaveLength(0);
  });
});
