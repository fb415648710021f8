// The spec values a VM's Proxmox configuration is built from, each checked against its
// grammar and bounds before it goes into a property string. Proxmox parses
// `virtio,bridge=vmbr1` as key=value pairs separated by commas: a bridge named
// "vmbr1,firewall=0,tag=4094" would switch the firewall off and move the VM to another
// VLAN. The schema refuses such values; this refuses them again for a spec that skipped it.
import { parseCidr } from '../../core/net/ipv4';
import { GRAMMAR, requireGrammar, requireInt, UnsafeValueError } from '../../core/spec/grammar';
import { LIMITS } from '../../core/spec/limits';
import type { ClusterSpec, ServerSpec, VmRole } from '../../core/spec/schema';

export interface VmValues {
  cluster: string;
  server: string;
  node: string;
  storage: string;
  bridge: string;
  isoVolume: string;
  lbTemplateVmid?: number;
  vmid: number;
  ip: string;
  prefix: number;
  gateway: string;
  cores: number;
  memoryMiB: number;
  diskGiB: number;
}

export function checkedVmValues(spec: ClusterSpec, server: ServerSpec, role: VmRole): VmValues {
  const i = spec.servers.findIndex((s) => s.name === server.name);
  const at = `servers[${i < 0 ? '?' : i}]`;
  const vm = server.vms[role];
  if (!vm) throw new Error(`server ${server.name} has no vms.${role} in the spec`);
  const pve = server.proxmox;
  const cidr = typeof spec.network.cidr === 'string' ? parseCidr(spec.network.cidr) : undefined;
  if (!cidr) throw new UnsafeValueError('network.cidr', spec.network.cidr, 'an IPv4 CIDR such as 10.10.0.0/24');
  return {
    cluster: requireGrammar(GRAMMAR.dnsLabel, spec.metadata.name, 'metadata.name'),
    server: requireGrammar(GRAMMAR.dnsLabel, server.name, `${at}.name`),
    node: requireGrammar(GRAMMAR.pveNode, pve.node, `${at}.proxmox.node`),
    storage: requireGrammar(GRAMMAR.pveStorageId, pve.storage, `${at}.proxmox.storage`),
    bridge: requireGrammar(GRAMMAR.pveBridge, pve.bridge, `${at}.proxmox.bridge`),
    isoVolume: requireGrammar(GRAMMAR.pveIsoVolume, pve.isoVolume, `${at}.proxmox.isoVolume`),
    lbTemplateVmid: pve.lbTemplateVmid === undefined ? undefined : requireInt(pve.lbTemplateVmid, LIMITS.vmid.min, LIMITS.vmid.max, `${at}.proxmox.lbTemplateVmid`),
    vmid: requireInt(vm.vmid, LIMITS.vmid.min, LIMITS.vmid.max, `${at}.vms.${role}.vmid`),
    ip: requireGrammar(GRAMMAR.ipv4, vm.ip, `${at}.vms.${role}.ip`),
    prefix: cidr.prefix,
    gateway: requireGrammar(GRAMMAR.ipv4, spec.network.gateway, 'network.gateway'),
    cores: requireInt(vm.cores, LIMITS.cores.min, LIMITS.cores.max, `${at}.vms.${role}.cores`),
    memoryMiB: requireInt(vm.memoryMiB, LIMITS.memoryMiB.min, LIMITS.memoryMiB.max, `${at}.vms.${role}.memoryMiB`),
    diskGiB: requireInt(vm.diskGiB, LIMITS.diskGiB.min, LIMITS.diskGiB.max, `${at}.vms.${role}.diskGiB`),
  };
}
