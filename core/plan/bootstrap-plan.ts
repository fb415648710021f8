// What a bootstrap would do to a cluster as it stands: `autok8s plan` prints it without
// changing anything. Pure: the CLI observes (read-only calls), this decides.
import type { ClusterSpec, VmRole } from '../spec/schema';
import { hostPrerequisites } from '../public-path/host-prerequisites';

export interface ObservedVm {
  server: string;
  role: VmRole;
  vmid: number;
  exists: boolean;
  owned: boolean;
  status?: string;
  error?: string;
}

export interface ObservedCluster {
  vrackMembers: string[] | { error: string };
  vms: ObservedVm[];
  talos: { secrets: boolean; talosconfig: boolean; kubeconfig: boolean; etcdMembers: string[] | { error: string } };
  lbFiles: { server: string; path: string; state: 'same' | 'differs' | 'missing' | 'unreachable'; detail?: string }[];
  failover: { ip: string; routedTo: string | null }[];
}

export interface PlannedChange {
  target: string;
  change: string;
}

export interface BootstrapPlan {
  changes: PlannedChange[];
  /** Things a bootstrap would refuse to touch, and why. */
  conflicts: string[];
  /** What could not be observed, so the plan may be incomplete. */
  unknown: string[];
  /** Host prerequisites autok8s does not set up and cannot see (routed mode's forwarding): to check by hand. */
  checks: string[];
}

export function planBootstrap(spec: ClusterSpec, observed: ObservedCluster): BootstrapPlan {
  const changes: PlannedChange[] = [];
  const conflicts: string[] = [];
  const unknown: string[] = [];
  const add = (target: string, change: string) => changes.push({ target, change });

  if ('error' in observed.vrackMembers) unknown.push(`vRack ${spec.ovh.vrack}: ${observed.vrackMembers.error}`);
  for (const server of spec.servers) {
    if (Array.isArray(observed.vrackMembers) && !observed.vrackMembers.includes(server.ovhService)) add(server.name, `join vRack ${spec.ovh.vrack}`);
  }
  for (const vm of observed.vms) {
    const target = `${vm.server}/${vm.role}`;
    if (vm.error) unknown.push(`${target}: ${vm.error}`);
    else if (!vm.exists) add(target, `create VM ${vm.vmid}, start it, wait until it answers on its address`);
    else if (!vm.owned) conflicts.push(`${target}: VM ${vm.vmid} exists but was not created by autok8s for this cluster; free the VMID or change it in the spec`);
    else if (vm.status !== 'running') add(target, `start VM ${vm.vmid} (${vm.status})`);
  }

  if (!observed.talos.secrets) add('talos', 'generate the cluster secrets (once) into the state store');
  if (!observed.talos.talosconfig) add('talos', 'render machine configs and talosconfig');
  const controlPlanes = spec.servers.filter((s) => s.vms.controlPlane).map((s) => s.name);
  const members = observed.talos.etcdMembers;
  if (!Array.isArray(members)) {
    if (observed.talos.talosconfig) unknown.push(`etcd: ${members.error}`);
    add(controlPlanes[0], 'bootstrap etcd (exactly once), unless it already is');
  } else if (members.length === 0) {
    add(controlPlanes[0], 'bootstrap etcd (exactly once)');
  }
  for (const cp of controlPlanes) {
    if (!Array.isArray(members) || !members.includes(cp)) add(`${cp}/controlPlane`, 'apply machine config, wait until an etcd member');
  }
  const createdWorkers = observed.vms.filter((vm) => vm.role === 'worker' && !vm.exists).map((vm) => vm.server);
  for (const w of createdWorkers) add(`${w}/worker`, 'apply machine config (join)');
  for (const file of observed.lbFiles) {
    if (file.state === 'unreachable') unknown.push(`${file.server} ${file.path}: ${file.detail ?? 'unreachable'}`);
    else if (file.state !== 'same') add(`${file.server}/lb`, `push ${file.path} (${file.state}): validate, swap, reload`);
  }
  for (const f of observed.failover) {
    if (f.routedTo === null || !spec.servers.some((s) => s.name === f.routedTo)) add(f.ip, `route to the first healthy LB (now ${f.routedTo ?? 'parked'})`);
  }
  if (!observed.talos.kubeconfig) add('kubeconfig', 'write kubeconfig into the state store');
  return { changes, conflicts, unknown, checks: hostPrerequisites(spec) };
}
