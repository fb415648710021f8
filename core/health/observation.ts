// What one health pass saw, put together from the raw answers of its checks. Pure: the
// observeCluster activity gathers the answers (LB probes, one VM list per Proxmox node, one
// batched Talos readiness query, the etcd member list, OVH routing) and these functions
// turn them into the observation the watcher's policies read; tests feed them tables.
import type { EtcdMemberHealth } from '../policies/quorum';
import type { FailoverObservation, NodeObservation } from '../policies/remediation';
import type { VrrpObservation } from '../policies/vrrp-reconcile';
import type { VmRole } from '../spec/schema';
import type { TalosRole } from '../talos/nodes';

export interface NodeRef {
  server: string;
  role: TalosRole;
}

/** One named check of a pass, as the Web UI and the progress query show it. */
export interface CheckTiming {
  name: string;
  ms: number;
  summary: string;
}

/** What one health pass saw of a cluster: the watcher's input, the pass's result. */
export interface ClusterObservation {
  cluster: string;
  at: number;
  nodes: NodeObservation[];
  etcd: EtcdMemberHealth[];
  failover: FailoverObservation[];
  /** keepalived's state on each LB (absent: not looked at, e.g. vrack-block); the split-brain reconcile reads it. */
  vrrp?: VrrpObservation[];
}

/** The observeCluster activity's answer: the observation and how each named check went. */
export interface TimedObservation extends ClusterObservation {
  checks: CheckTiming[];
}

/** A VM as the Proxmox list shows it, or why it could not be looked at. */
export type VmLook = { exists: false } | { exists: true; status?: string } | { error: string };

export interface Readiness extends NodeRef {
  ready: boolean;
  stage: string;
  detail: string;
}

/** Why a VM cannot host a healthy node; undefined when it runs. */
export function vmProblem(look: VmLook | undefined): string | undefined {
  if (look === undefined) return 'VM not looked at';
  if ('error' in look) return look.error;
  if (!look.exists) return 'VM missing';
  return look.status === 'running' ? undefined : `VM ${look.status ?? 'in an unknown state'}`;
}

/**
 * A Talos node is healthy when its VM runs and Talos reports it ready. `readiness` covers
 * the nodes whose VM runs (one batched query); a node it leaves out is reported so.
 */
export function nodeObservations(nodes: readonly NodeRef[], problems: ReadonlyMap<string, string | undefined>, readiness: readonly Readiness[]): NodeObservation[] {
  return nodes.map((n): NodeObservation => {
    const problem = problems.get(keyOf(n));
    if (problem !== undefined) return { server: n.server, role: n.role, healthy: false, detail: problem };
    const r = readiness.find((x) => x.server === n.server && x.role === n.role);
    if (!r) return { server: n.server, role: n.role, healthy: false, detail: 'not in the readiness answer' };
    return r.ready ? { server: n.server, role: n.role, healthy: true, detail: r.stage } : { server: n.server, role: n.role, healthy: false, detail: `${r.stage}: ${r.detail}` };
  });
}

export const keyOf = (n: NodeRef | { server: string; role: VmRole }) => `${n.server}/${n.role}`;

/**
 * etcd health per control plane: a member is healthy when its node is ready and the member
 * list (from any ready control plane) has it. No list at all (etcd without quorum answers
 * nothing) makes every member unhealthy, which is what the quorum guard must read.
 */
export function etcdHealth(controlPlanes: readonly string[], readyControlPlanes: readonly string[], memberServers: readonly (string | undefined)[] | undefined): EtcdMemberHealth[] {
  return controlPlanes.map((server) => ({
    server,
    healthy: memberServers !== undefined && readyControlPlanes.includes(server) && memberServers.includes(server),
  }));
}

/** One line for a list of node observations. */
export function summarizeNodes(list: readonly NodeObservation[]): string {
  const bad = list.filter((n) => !n.healthy);
  return bad.length === 0 ? `${list.length} healthy` : `${bad.length}/${list.length} unhealthy: ${bad.map((n) => `${n.server}/${n.role}`).join(', ')}`;
}
