// What bootstrap does for a vmac public path, done by the bench through the Proxmox API with
// the sandbox's autok8s tokens: every server's LB VM created (with autok8s's tags, so `autok8s lb
// link` may touch it) and started, net0 on the vRack bridge, net1 on the public bridge with the
// IP's virtual MAC and its link down (keepalived's notify scripts set it). The tests do the same
// with test/helpers/public-path.ts, which needs vitest.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProxmoxClient } from '../activities/proxmox/client';
import { vmTags } from '../activities/proxmox/vm-plan';
import type { Sandbox } from '../sandbox';

const TASK_WAIT_MS = 30_000;

async function taskOk(api: ProxmoxClient, upid: string): Promise<void> {
  const deadline = Date.now() + TASK_WAIT_MS;
  for (;;) {
    const status = await api.taskStatus(upid);
    if (status.status === 'stopped') {
      if (status.exitstatus !== 'OK') throw new Error(`task ${upid} ended ${status.exitstatus}`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`task ${upid} still running after ${TASK_WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function createLbVmsWithPublicNic(box: Sandbox, mac: string): Promise<void> {
  for (const s of box.spec.servers) {
    const tokenSecret = readFileSync(join(box.dir, 'secrets', `pve-${s.name}.token`), 'utf8').trim();
    const api = new ProxmoxClient({ url: s.proxmox.url, node: s.proxmox.node, tokenId: s.proxmox.tokenId, tokenSecret, fingerprint: s.proxmox.fingerprint });
    try {
      const vmid = s.vms.lb.vmid;
      const net1 = `virtio=${mac.toUpperCase()},bridge=vmbr0,link_down=1`;
      await taskOk(api, await api.createVm({ vmid, name: `lb-${s.name}`, tags: vmTags(box.spec, 'lb').join(';'), net0: 'virtio,bridge=vmbr1', net1 }));
      await taskOk(api, await api.startVm(vmid));
    } finally {
      await api.close();
    }
  }
}
