// What a VM of the cluster should look like on its Proxmox node, how the actual one
// differs, and whether the VM at the spec's VMID is ours to touch. Pure functions: the
// activities look, these decide, the activities act.
//
// Ownership is carried by the VM itself, so it survives any crash of autok8s: the tags
// `autok8s;cluster-<name>;role-<role>` (Proxmox tags are `;`-separated) and a marker line
// in the description (set by create *and* by clone, which cannot set tags), naming the
// cluster, server and role. A VM that carries neither is never touched.
import { LB_PUBLIC_NIC_KEY, lbPublicNic, nicLinkUp, publicNicDiffers, withLink } from '../../core/public-path/lb-nic';
import { publicPathOf } from '../../core/public-path/modes';
import type { ClusterSpec, ServerSpec, VmRole } from '../../core/spec/schema';
import { checkedVmValues } from './vm-values';

/** Short role names used in VM names and tags (Proxmox names must be DNS names). */
export const ROLE_SLUG: Record<VmRole, string> = { lb: 'lb', controlPlane: 'cp', worker: 'worker' };
const ROLE_BY_SLUG: Record<string, VmRole> = { lb: 'lb', cp: 'controlPlane', worker: 'worker' };

export const AUTOK8S_TAG = 'autok8s';

export interface DesiredVm {
  vmid: number;
  name: string;
  node: string;
  role: VmRole;
  /** The address the guest gets through cloud-init (ipconfig0), where bootVm waits for it to answer. */
  ip: string;
  tags: string[];
  /** Parameters of POST /nodes/{node}/qemu (vmid included), as form strings. */
  params: Record<string, string>;
  /** Set when the VM is a full clone of this template rather than created from scratch. */
  cloneFrom?: number;
}

export function vmName(spec: ClusterSpec, server: ServerSpec, role: VmRole): string {
  return `${spec.metadata.name}-${server.name}-${ROLE_SLUG[role]}`;
}

export function vmTags(spec: ClusterSpec, role: VmRole): string[] {
  return [AUTOK8S_TAG, `cluster-${spec.metadata.name}`, `role-${ROLE_SLUG[role]}`];
}

/** The marker autok8s writes into the description of every VM it creates. */
export function ownerMarker(spec: ClusterSpec, server: ServerSpec, role: VmRole): string {
  return `autok8s:${spec.metadata.name}/${server.name}/${ROLE_SLUG[role]}`;
}

/** What the LB VM's public NIC (net1) is made of, beyond the spec: the OVH virtual MAC and the link state to create it with. */
export interface LbPublicNicOptions {
  /** The failover IP's OVH virtual MAC (vmac mode); without it a vmac LB VM gets no net1 yet. */
  publicMac?: string;
  /** The link state of a NIC created now (default down: a standby; keepalived's MASTER brings it up). An existing NIC's link is never changed here. */
  publicLinkUp?: boolean;
}

/**
 * The LB VM's net1, when the spec's public path gives it one: in routed mode always (Proxmox
 * chooses the MAC), in vmac mode once the virtual MAC is known, never in vrack-block mode.
 */
export function desiredPublicNic(spec: ClusterSpec, server: ServerSpec, options: LbPublicNicOptions): string | undefined {
  const { mode } = publicPathOf(spec);
  if (mode === 'vrack-block' || (mode === 'vmac' && options.publicMac === undefined)) return undefined;
  const index = spec.servers.indexOf(server);
  return lbPublicNic(spec, index, { virtualMac: options.publicMac, linkUp: options.publicLinkUp ?? false });
}

export function desiredVmConfig(spec: ClusterSpec, server: ServerSpec, role: VmRole, publicNic: LbPublicNicOptions = {}): DesiredVm {
  // Every value below goes into a Proxmox parameter or property string: checked first.
  const v = checkedVmValues(spec, server, role);
  const name = vmName(spec, server, role);
  const tags = vmTags(spec, role);
  const cloneFrom = role === 'lb' ? v.lbTemplateVmid : undefined;
  const talos = role !== 'lb';
  const params: Record<string, string> = {
    vmid: String(v.vmid),
    name,
    description: `managed by ${ownerMarker(spec, server, role)}; changes made here are reconciled away`,
    tags: tags.join(';'),
    memory: String(v.memoryMiB),
    cores: String(v.cores),
    sockets: '1',
    cpu: 'host',
    scsihw: 'virtio-scsi-single',
    scsi0: `${v.storage}:${v.diskGiB}`,
    net0: `virtio,bridge=${v.bridge}`,
    // Cloud-init drive: Talos's nocloud platform (and Debian's cloud-init on LB templates)
    // read the static vRack address from it.
    ide0: `${v.storage}:cloudinit`,
    citype: 'nocloud',
    ipconfig0: `ip=${v.ip}/${v.prefix},gw=${v.gateway}`,
    // Boot the disk first: empty at first, so the Talos ISO boots and installs; afterwards
    // the installed system boots from disk.
    boot: talos ? 'order=scsi0;ide2' : 'order=scsi0',
    agent: '1',
    ostype: 'l26',
    onboot: '1',
  };
  if (talos) params.ide2 = `${v.isoVolume},media=cdrom`;
  const net1 = role === 'lb' ? desiredPublicNic(spec, server, publicNic) : undefined;
  if (net1 !== undefined) params[LB_PUBLIC_NIC_KEY] = net1;
  return { vmid: v.vmid, name, node: v.node, role, ip: v.ip, tags, params, cloneFrom };
}

// ---------- diff

export interface VmConfigDrift {
  key: string;
  actual?: string;
  desired: string;
  /** Why autok8s leaves it alone, and what to do. */
  why: string;
}

export interface VmConfigDiff {
  /** Parameters for PUT /nodes/{node}/qemu/{vmid}/config that bring the VM to the spec. */
  set: Record<string, string>;
  /** Differences a config update must not fix (disks hold data): reported, not applied. */
  drift: VmConfigDrift[];
}

function options(value: string, defaultKey: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) out[defaultKey] = part;
    else out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

const splitList = (v: string | undefined) => (v ?? '').split(/[;, ]+/).filter(Boolean);
const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));
const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v);

/** Volume `local-lvm:vm-102-disk-0` or request `local-lvm:64` → storage and size in GiB (if known). */
function diskOf(value: string): { storage: string; sizeGiB?: number; volume: string } {
  const o = options(value, 'file');
  const [storage, rest = ''] = o.file.split(':');
  const requested = /^\d+$/.test(rest) ? Number(rest) : undefined;
  const stored = o.size ? /^(\d+)G$/.exec(o.size) : null;
  return { storage, sizeGiB: requested ?? (stored ? Number(stored[1]) : undefined), volume: o.file };
}

function sameValue(key: string, actual: string, desired: string): boolean {
  if (/^net\d+$/.test(key)) {
    const a = options(actual.replace(/^(\w+)=([0-9A-Fa-f:]{17})/, '$1,macaddr=$2'), 'model');
    const d = options(desired, 'model');
    return Object.entries(d).every(([k, v]) => a[k] === v);
  }
  if (key === 'tags') return sameSet(splitList(actual), splitList(desired));
  if (key === 'agent') return truthy(options(actual, 'enabled').enabled) === truthy(options(desired, 'enabled').enabled);
  if (key === 'boot') return splitList(options(actual, 'order').order).join(';') === splitList(options(desired, 'order').order).join(';');
  if (['onboot', 'numa', 'template'].includes(key)) return truthy(actual) === truthy(desired);
  if (key === 'description') return actual.trim() === desired.trim();
  if (key === 'ide2') {
    const a = options(actual, 'file');
    const d = options(desired, 'file');
    return a.file === d.file && a.media === d.media;
  }
  return actual === desired;
}

/**
 * Compares a VM's configuration (GET .../config, values as strings) with the desired one.
 * Keys the spec does not set are left alone; disks are never replaced or resized.
 */
export function diffVmConfig(actual: Record<string, string>, desired: DesiredVm): VmConfigDiff {
  const set: Record<string, string> = {};
  const drift: VmConfigDrift[] = [];
  for (const [key, want] of Object.entries(desired.params)) {
    if (key === 'vmid') continue;
    const have = actual[key];
    if (key === 'scsi0' || key === 'ide0') {
      if (have === undefined) {
        set[key] = want;
        continue;
      }
      const a = diskOf(have);
      const d = diskOf(want);
      if (key === 'ide0') {
        if (!/cloudinit/.test(a.volume) || a.storage !== d.storage) drift.push({ key, actual: have, desired: want, why: 'ide0 is not the cloud-init drive autok8s expects; fix it in the Proxmox UI (Hardware → CloudInit Drive)' });
      } else if (a.storage !== d.storage) {
        drift.push({ key, actual: have, desired: want, why: `the system disk is on storage ${a.storage}, the spec says ${d.storage}; move it with "Move disk" or replace the node` });
      } else if (a.sizeGiB !== undefined && d.sizeGiB !== undefined && a.sizeGiB !== d.sizeGiB) {
        const how = a.sizeGiB < d.sizeGiB ? `grow it with qm disk resize ${desired.vmid} scsi0 ${d.sizeGiB}G` : 'disks cannot shrink; lower the spec or replace the node';
        drift.push({ key, actual: have, desired: want, why: `the system disk is ${a.sizeGiB} GiB, the spec says ${d.sizeGiB} GiB; ${how}` });
      }
      continue;
    }
    if (key === LB_PUBLIC_NIC_KEY && desired.role === 'lb') {
      // Bootstrap owns the public NIC's model, MAC and bridge; its link is keepalived's
      // (`autok8s lb link`), so a rewritten NIC keeps the link it has. The MAC is the one
      // desired (OVH's virtual MAC), never the old one kept as for the other NICs.
      if (have === undefined) set[key] = want;
      else if (publicNicDiffers(have, want)) set[key] = withLink(want, nicLinkUp(have));
      continue;
    }
    if (have !== undefined && sameValue(key, have, want)) continue;
    // Keep a NIC's MAC when changing its model or bridge: the guest's address follows the MAC.
    const mac = /^net\d+$/.test(key) && have ? /^\w+=([0-9A-Fa-f:]{17})/.exec(have)?.[1] : undefined;
    set[key] = mac ? want.replace(/^(\w+)/, `$1=${mac}`) : want;
  }
  return { set, drift };
}

// ---------- ownership

/** An entry of GET /nodes/{node}/qemu, with the description of the VM at the spec's VMID when read. */
export interface VmListEntry {
  vmid: number;
  name?: string;
  status?: string;
  tags?: string;
  lock?: string;
  template?: number;
  description?: string;
}

export type VmOwnership =
  | { kind: 'missing' }
  | { kind: 'ours'; vm: VmListEntry }
  /** A create or clone holds the VMID (a placeholder with `lock: create`): look again when it ends. */
  | { kind: 'busy'; vm: VmListEntry; lock: string }
  /** Something autok8s must not touch: the reason says what is there and what to do. */
  | { kind: 'conflict'; vm: VmListEntry; why: string };

function carriesOurMark(vm: VmListEntry, spec: ClusterSpec, server: ServerSpec, role: VmRole): boolean {
  const tags = splitList(vm.tags).map((t) => t.toLowerCase());
  const byTags = vmTags(spec, role).every((t) => tags.includes(t));
  const byMarker = vm.description !== undefined && vm.description.includes(ownerMarker(spec, server, role));
  return byTags || byMarker;
}

/**
 * Decides whether the VM at the spec's VMID is ours: missing (create it), ours (reconcile
 * it), busy (a create is in flight), or a conflict (refuse: autok8s never touches a VM it did
 * not create, and never creates a second VM for a role that already has one elsewhere).
 */
export function findOwnedVm(list: VmListEntry[], spec: ClusterSpec, server: ServerSpec, role: VmRole): VmOwnership {
  const desired = server.vms[role];
  if (!desired) throw new Error(`server ${server.name} has no vms.${role} in the spec`);
  const name = vmName(spec, server, role);
  const node = server.proxmox.node;
  const field = `servers[${spec.servers.findIndex((s) => s.name === server.name)}].vms.${role}.vmid`;
  const atVmid = list.find((vm) => vm.vmid === desired.vmid);
  if (atVmid) {
    if (carriesOurMark(atVmid, spec, server, role)) return { kind: 'ours', vm: atVmid };
    if ((atVmid.lock === 'create' || atVmid.lock === 'clone') && splitList(atVmid.tags).length === 0) {
      return { kind: 'busy', vm: atVmid, lock: atVmid.lock };
    }
    const what = `VM ${atVmid.vmid} on node ${node} is "${atVmid.name ?? '?'}"${atVmid.tags ? ` with tags ${atVmid.tags}` : ' without autok8s tags'}`;
    return {
      kind: 'conflict',
      vm: atVmid,
      why:
        `${what}, which autok8s did not create (it would carry the tags ${vmTags(spec, role).join(';')}); autok8s never touches it. ` +
        `Give ${name} a free VMID in ${field} (GET /cluster/nextid), or remove VM ${atVmid.vmid} yourself if it is unused.`,
    };
  }
  const elsewhere = list.find((vm) => vm.vmid !== desired.vmid && (carriesOurMark(vm, spec, server, role) || (vm.name === name && splitList(vm.tags).includes(AUTOK8S_TAG))));
  if (elsewhere) {
    return {
      kind: 'conflict',
      vm: elsewhere,
      why:
        `${name} already exists on node ${node} as VM ${elsewhere.vmid}, but the spec says VMID ${desired.vmid}; autok8s will not create a second one. ` +
        `Set ${field} to ${elsewhere.vmid}, or destroy VM ${elsewhere.vmid} first.`,
    };
  }
  return { kind: 'missing' };
}

/** The role a VM of this cluster plays, from its tags; undefined for VMs that are not the cluster's. */
export function clusterVmRole(vm: VmListEntry, spec: ClusterSpec): VmRole | undefined {
  const tags = splitList(vm.tags).map((t) => t.toLowerCase());
  if (!tags.includes(AUTOK8S_TAG) || !tags.includes(`cluster-${spec.metadata.name}`)) return undefined;
  const roleTag = tags.find((t) => t.startsWith('role-'));
  return roleTag ? ROLE_BY_SLUG[roleTag.slice(5)] : undefined;
}
