// The public path's Proxmox side by hand, for tests of the simulators without a bootstrap: an
// LB VM with net0 on the vRack and net1 on the public bridge, through the Proxmox API with the
// sandbox's autok8s token, and what `autok8s lb link up|down` (keepalived's notify scripts) does
// to net1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProxmoxClient } from '../../activities/proxmox/client';
import { vmTags } from '../../activities/proxmox/vm-plan';
import { withLink } from '../../core/public-path/lb-nic';
import type { Sandbox } from '../../sandbox';
import { waitUntil } from './temporal';

export const lbVmid = (box: Sandbox, server: string) => box.spec.servers.find((s) => s.name === server)!.vms.lb.vmid;

async function withPve<T>(box: Sandbox, server: string, fn: (api: ProxmoxClient) => Promise<T>): Promise<T> {
  const s = box.spec.servers.find((x) => x.name === server)!;
  const tokenSecret = readFileSync(join(box.dir, 'secrets', `pve-${server}.token`), 'utf8').trim();
  const api = new ProxmoxClient({ url: s.proxmox.url, node: s.proxmox.node, tokenId: s.proxmox.tokenId, tokenSecret, fingerprint: s.proxmox.fingerprint });
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}

async function taskOk(api: ProxmoxClient, upid: string): Promise<void> {
  await waitUntil(`task ${upid}`, async () => (await api.taskStatus(upid)).status === 'stopped');
  const { exitstatus } = await api.taskStatus(upid);
  if (exitstatus !== 'OK') throw new Error(`task ${upid} ended ${exitstatus}`);
}

/** Creates and starts `server`'s LB VM with `net1` on vmbr0: the virtual MAC's NIC (vmac) or any MAC (routed). */
export async function lbVmWithPublicNic(box: Sandbox, server: string, nic: { mac?: string; linkUp: boolean }): Promise<void> {
  await withPve(box, server, async (api) => {
    const vmid = lbVmid(box, server);
    const model = nic.mac ? `virtio=${nic.mac.toUpperCase()}` : 'virtio';
    // With autok8s's tags, as bootstrap creates it: `autok8s lb link` touches no VM autok8s did not create.
    const tags = vmTags(box.spec, 'lb').join(';');
    await taskOk(api, await api.createVm({ vmid, name: `lb-${server}`, tags, net0: 'virtio,bridge=vmbr1', net1: `${model},bridge=vmbr0,link_down=${nic.linkUp ? 0 : 1}` }));
    await taskOk(api, await api.startVm(vmid));
  });
}

/** What `autok8s lb link up|down` does: net1's link_down alone changes, its MAC and bridge stay. */
export async function setLink(box: Sandbox, server: string, up: boolean): Promise<void> {
  await withPve(box, server, async (api) => {
    const vmid = lbVmid(box, server);
    await api.updateVmConfig(vmid, { net1: withLink((await api.vmConfig(vmid)).net1, up) });
  });
}

/** Writes `server`'s LB VM net1 as given (e.g. another MAC), through the Proxmox API. */
export async function setNet1(box: Sandbox, server: string, net1: string): Promise<void> {
  await withPve(box, server, async (api) => api.updateVmConfig(lbVmid(box, server), { net1 }));
}
