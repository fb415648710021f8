// How a Proxmox node turns the parameters of a create/clone/update into the stored VM
// configuration: network devices get a random MAC (`virtio,bridge=vmbr1` is stored as
// `virtio=BC:24:11:..:..:..,bridge=vmbr1`), new disks `<storage>:<GiB>` become allocated
// volumes `<storage>:vm-<vmid>-disk-<n>,size=<GiB>G`, `<storage>:cloudinit` becomes the
// cloud-init drive. Pure functions, so the state machine stays about state.
import { randomBytes, randomUUID } from 'node:crypto';
import { isTrue, parsePropertyString, type Params } from './params';

export type VmConfig = Record<string, string>;

export const DRIVE_KEY = /^(scsi|ide|sata|virtio)\d+$/;
export const NET_KEY = /^net\d+$/;

/** Proxmox's default MAC prefix (PVE 8 datacenter.cfg `mac_prefix`). */
const MAC_PREFIX = 'BC:24:11';

export function randomMac(): string {
  return `${MAC_PREFIX}:${[...randomBytes(3)].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':')}`;
}

export interface NetDevice {
  model: string;
  mac?: string;
  options: Record<string, string>;
}

export function parseNet(value: string): NetDevice {
  const [first, ...rest] = value.split(',');
  const [model, mac] = first.split('=');
  return { model, mac, options: (rest.length > 0 && parsePropertyString(rest.join(','))) || {} };
}

export function printNet(net: NetDevice): string {
  const head = net.mac ? `${net.model}=${net.mac}` : net.model;
  return [head, ...Object.entries(net.options).map(([k, v]) => `${k}=${v}`)].join(',');
}

export interface DriveAllocation {
  value: string;
  /** Storage to check and allocate on, when the drive asks for a new volume. */
  storage?: string;
}

/** Rewrites a drive parameter as the stored value, allocating a volume for `<storage>:<GiB>` and `<storage>:cloudinit`. */
export function allocateDrive(value: string, vmid: number, diskIndex: () => number): DriveAllocation {
  const opts = parsePropertyString(value, 'file') ?? { file: value };
  const { file, ...rest } = opts;
  const m = /^([a-zA-Z][a-zA-Z0-9_.-]*):(\d+|cloudinit)$/.exec(file);
  if (!m) return { value, storage: /^([a-zA-Z][a-zA-Z0-9_.-]*):/.exec(file)?.[1] };
  const [, storage, size] = m;
  if (size === 'cloudinit') return { value: [`${storage}:vm-${vmid}-cloudinit`, 'media=cdrom'].join(','), storage };
  const extra = Object.entries(rest).map(([k, v]) => `${k}=${v}`);
  return { value: [`${storage}:vm-${vmid}-disk-${diskIndex()}`, ...extra, `size=${size}G`].join(','), storage };
}

/** Renames a source VM's volumes for a full clone into `newid`. */
export function cloneDrive(value: string, sourceVmid: number, newid: number): string {
  return value.replace(new RegExp(`(^|:)(base|vm)-${sourceVmid}-(disk|cloudinit)`, 'g'), `$1vm-${newid}-$3`);
}

export interface GuestAddress {
  ip: string;
  prefix: number;
  gateway?: string;
}

/** The static IPv4 that cloud-init gives the guest (`ipconfig0: ip=10.10.0.21/24,gw=10.10.0.1`); none for dhcp. */
export function guestAddress(config: VmConfig): GuestAddress | undefined {
  const opts = config.ipconfig0 ? parsePropertyString(config.ipconfig0) : undefined;
  const m = opts?.ip ? /^((?:\d{1,3}\.){3}\d{1,3})\/(\d{1,2})$/.exec(opts.ip) : null;
  return m ? { ip: m[1], prefix: Number(m[2]), gateway: opts?.gw } : undefined;
}

export function splitTags(tags: string | undefined): string[] {
  return (tags ?? '').split(/[;, ]+/).filter(Boolean);
}

export function agentEnabled(config: VmConfig): boolean {
  if (config.agent === undefined) return false;
  const opts = parsePropertyString(config.agent, 'enabled');
  return isTrue(opts?.enabled ?? '0');
}

/**
 * The stored form of a set of config parameters: MACs added, disks allocated, tags joined
 * with ";", booleans as 1/0. `diskIndex` hands out the next free disk number of the VM.
 */
export function normaliseConfig(params: Params, vmid: number, diskIndex: () => number, existing: VmConfig = {}): { config: VmConfig; storages: string[] } {
  const config: VmConfig = {};
  const storages: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (NET_KEY.test(key)) {
      const net = parseNet(value);
      const old = existing[key] ? parseNet(existing[key]) : undefined;
      // Updating a NIC of the same model keeps its MAC; a new NIC gets a random one.
      net.mac ??= old && old.model === net.model ? old.mac : randomMac();
      config[key] = printNet(net);
    } else if (DRIVE_KEY.test(key)) {
      const drive = allocateDrive(value, vmid, diskIndex);
      if (drive.storage) storages.push(drive.storage);
      config[key] = drive.value;
    } else if (key === 'tags') {
      config[key] = splitTags(value).join(';');
    } else if (['onboot', 'template', 'numa'].includes(key)) {
      config[key] = isTrue(value) ? '1' : '0';
    } else {
      config[key] = value;
    }
  }
  return { config, storages };
}

/** What a real node adds to a new VM on its own. */
export function creationExtras(now: number): VmConfig {
  return {
    meta: `creation-qemu=8.1.5,ctime=${Math.floor(now / 1000)}`,
    smbios1: `uuid=${randomUUID()}`,
    vmgenid: randomUUID(),
  };
}

/** Keys of the GET config answer whose values are JSON numbers (the rest are strings). */
export const NUMERIC_KEYS = new Set(['memory', 'cores', 'sockets', 'balloon', 'onboot', 'template', 'numa']);
