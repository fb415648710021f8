// The Talos nodes of a cluster spec: which VMs run Talos, in which role, at which address
// and under which hostname. Pure, so workflows, activities and renderers agree on names.
import type { ClusterSpec, ServerSpec } from '../spec/schema';

/** The spec's word for a Talos VM's role. */
export type TalosRole = 'controlPlane' | 'worker';
/** Talos's own word for it (`machine.type`, `--output-types`, `get members`). */
export type TalosMachineType = 'controlplane' | 'worker';

export interface TalosNode {
  server: string;
  role: TalosRole;
  machineType: TalosMachineType;
  ip: string;
  hostname: string;
}

export const TALOS_ROLES: readonly TalosRole[] = ['controlPlane', 'worker'];

export function machineTypeOf(role: TalosRole): TalosMachineType {
  return role === 'controlPlane' ? 'controlplane' : 'worker';
}

/**
 * Hostname of a Talos VM, which is also its Kubernetes node name and etcd member name.
 * Server names are DNS labels of at most 40 characters, so the result is a valid hostname.
 */
export function talosHostname(serverName: string, role: TalosRole): string {
  return `${serverName}-${role === 'controlPlane' ? 'cp' : 'worker'}`;
}

function findServer(spec: ClusterSpec, serverName: string): ServerSpec {
  const server = spec.servers.find((s) => s.name === serverName);
  if (!server) {
    throw new Error(`server ${serverName} is not in the spec of cluster ${spec.metadata.name}; choose one of ${spec.servers.map((s) => s.name).join(', ')}`);
  }
  return server;
}

/** The Talos node `role` of `serverName`; throws when the spec has no such VM. */
export function talosNode(spec: ClusterSpec, serverName: string, role: TalosRole): TalosNode {
  const server = findServer(spec, serverName);
  const vm = server.vms[role];
  if (!vm) throw new Error(`server ${serverName} has no vms.${role} in the spec; it carries no ${machineTypeOf(role)} node`);
  return { server: server.name, role, machineType: machineTypeOf(role), ip: vm.ip, hostname: talosHostname(server.name, role) };
}

/** Every Talos node of the spec: control planes first, then workers, each in spec order. */
export function talosNodes(spec: ClusterSpec): TalosNode[] {
  return TALOS_ROLES.flatMap((role) => spec.servers.filter((s) => s.vms[role] !== undefined).map((s) => talosNode(spec, s.name, role)));
}

export function controlPlaneNodes(spec: ClusterSpec): TalosNode[] {
  return talosNodes(spec).filter((n) => n.role === 'controlPlane');
}

export function workerNodes(spec: ClusterSpec): TalosNode[] {
  return talosNodes(spec).filter((n) => n.role === 'worker');
}

/** The Kubernetes API endpoint the configs name: the keepalived VIP on the LB VMs. */
export function clusterEndpoint(spec: ClusterSpec): string {
  return `https://${spec.network.apiVip}:6443`;
}
