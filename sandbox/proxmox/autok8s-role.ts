// The privileges docs/production.md tells operators to give autok8s's API token (role
// AutoK8s), and where: the sandbox's default token holds exactly these, so a call that
// needs more fails in the suite with the 403 a real node would answer. Keep in step with
// docs/production.md "The calls, and the privileges they need".
import type { TokenAcl } from './auth';

/** `pveum role add AutoK8s -privs "..."` (Proxmox VE 9; on 8, VM.Monitor instead of VM.GuestAgent.Audit). */
export const AUTOK8S_PRIVILEGES = [
  'VM.Allocate',
  'VM.Audit',
  'VM.Clone',
  'VM.PowerMgmt',
  'VM.Config.CDROM',
  'VM.Config.CPU',
  'VM.Config.Cloudinit',
  'VM.Config.Disk',
  'VM.Config.HWType',
  'VM.Config.Memory',
  'VM.Config.Network',
  'VM.Config.Options',
  'VM.GuestAgent.Audit',
  'Datastore.AllocateSpace',
  'Datastore.Audit',
  'SDN.Use',
] as const;

export interface Autok8sAclPaths {
  /** proxmox.storage: the VM disks. */
  storage: string;
  /** The storage of proxmox.isoVolume (the Talos image). */
  isoStorage: string;
  /** proxmox.bridge. */
  bridge: string;
  /** publicPath.bridge: the LB VMs' public NIC (net1) in vmac and routed modes. */
  publicBridge?: string;
}

/** The ACL entries of docs/production.md: the role on /vms, the storages and the bridges. */
export function autok8sAcl(paths: Autok8sAclPaths, privileges: readonly string[] = AUTOK8S_PRIVILEGES): TokenAcl {
  return {
    '/vms': privileges,
    [`/storage/${paths.storage}`]: privileges,
    [`/storage/${paths.isoStorage}`]: privileges,
    [`/sdn/zones/localnetwork/${paths.bridge}`]: privileges,
    ...(paths.publicBridge !== undefined ? { [`/sdn/zones/localnetwork/${paths.publicBridge}`]: privileges } : {}),
  };
}
