// observeCluster: one health pass's look at the whole cluster, as a single activity.
//
// Why one activity and not one per check: one per check is ~12 activities a pass (three LB
// probes, six VM looks, the batched readiness query, etcd members, OVH routing), and at a
// few hundred clusters per worker their Temporal round trips, not the checks, would be the
// cost (bench/health-capacity.ts). The checks still run concurrently and each is named and
// timed in the result, so the Web UI and the progress query show them.
//
// A check that fails is an answer (the node is unhealthy, the IP's routing unknown), never
// a failed pass: the watcher must see every node in every pass. The checks themselves are
// the provider activities (injected), called as plain functions.
import type { LbProbe } from '../../core/policies/failover-target';
import type { FailoverObservation, NodeObservation } from '../../core/policies/remediation';
import type { VrrpObservation } from '../../core/policies/vrrp-reconcile';
import { publicPathOf } from '../../core/public-path/modes';
import {
  etcdHealth,
  keyOf,
  nodeObservations,
  summarizeNodes,
  vmProblem,
  type CheckTiming,
  type TimedObservation,
  type NodeRef,
  type Readiness,
  type VmLook,
} from '../../core/health/observation';
import type { ClusterSpec, ServerSpec, VmRole } from '../../core/spec/schema';
import { talosNodes } from '../../core/talos/nodes';

export interface HealthCheckDeps {
  probeLb(server: ServerSpec): Promise<LbProbe>;
  vmStatuses(spec: ClusterSpec, serverName: string): Promise<{ role: VmRole; exists: boolean; status?: string }[]>;
  nodesReady(spec: ClusterSpec, nodes: NodeRef[]): Promise<Readiness[]>;
  etcdMembers(spec: ClusterSpec, viaServer: string): Promise<{ members: { server?: string }[] }>;
  getIpRouting(ovh: ClusterSpec['ovh'], ip: string): Promise<{ routedTo: string | null }>;
  /** Whether the server's LB holds the VRRP addresses (keepalived MASTER); for the split-brain reconcile. */
  vrrpMaster?(spec: ClusterSpec, serverName: string): Promise<boolean>;
}

const message = (err: unknown) => (err instanceof Error ? err.message.split('\n')[0] : String(err));

/**
 * Each provider call of a pass gets this long (the calls' own timeouts are for operations,
 * 30 s and more). A check that runs out is an answer like any failure, so one hung node
 * cannot hold up the observation of the others; the pass stays well inside its activity
 * timeout (profiles.healthPass).
 */
export const CHECK_DEADLINE_MS = 10_000;

function raceDeadline<T>(what: string, work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export function createHealthActivities(deps: HealthCheckDeps, options: { checkDeadlineMs?: number } = {}) {
  const deadlineMs = options.checkDeadlineMs ?? CHECK_DEADLINE_MS;
  const withDeadline = <T>(what: string, work: Promise<T>) => raceDeadline(what, work, deadlineMs);
  const activities = {
    async observeCluster(spec: ClusterSpec): Promise<TimedObservation> {
      const checks: CheckTiming[] = [];
      async function timed<T>(name: string, run: () => Promise<T>, summary: (result: T) => string): Promise<T> {
        const started = Date.now();
        const result = await run();
        checks.push({ name, ms: Date.now() - started, summary: summary(result) });
        return result;
      }

      const nodeRefs = talosNodes(spec);
      const [lbs, problems, [failover, vrrp]] = await Promise.all([
        timed(
          'lb-health',
          () =>
            Promise.all(
              spec.servers
                .filter((s) => s.vms.lb)
                .map(async (s): Promise<NodeObservation> => {
                  const p = await withDeadline(`LB probe of ${s.name}`, deps.probeLb(s)).catch((err): LbProbe => ({ server: s.name, healthy: false, detail: message(err) }));
                  return { server: s.name, role: 'lb', healthy: p.healthy, detail: p.detail };
                }),
            ),
          summarizeNodes,
        ),
        timed('vm-status', () => vmProblems(spec, nodeRefs), (m) => {
          const bad = [...m.entries()].filter(([, p]) => p !== undefined);
          return bad.length === 0 ? `${m.size} running` : bad.map(([k, p]) => `${k}: ${p}`).join('; ');
        }),
        timed('failover-routing', () => routings(spec), (list) => list.map((f) => `${f.ip} → ${f.routedTo ?? 'parked'}`).join(', ') || 'no failover IP').then(
          async (routed): Promise<[FailoverObservation[], VrrpObservation[] | undefined]> => {
            const look = deps.vrrpMaster;
            if (!look || publicPathOf(spec).mode === 'vrack-block' || routed.length === 0) return [routed, undefined];
            const seen = await timed('vrrp-state', () => vrrpLooks(spec, look, routed), (v) => {
              const unknown = v.filter((x) => x.master === null).map((x) => x.server);
              return `MASTER: ${v.filter((x) => x.master).map((x) => x.server).join(', ') || 'none'} (looked at ${v.length})${unknown.length ? `; not looked at: ${unknown.join(', ')}` : ''}`;
            });
            return [routed, seen];
          },
        ),
      ]);

      const running = nodeRefs.filter((n) => problems.get(keyOf(n)) === undefined);
      const readiness = await timed(
        'talos-readiness',
        () =>
          running.length === 0
            ? Promise.resolve([])
            : withDeadline('talosctl get machinestatus', deps.nodesReady(spec, running)).catch((err): Readiness[] => running.map((n) => ({ ...n, ready: false, stage: 'unreachable', detail: message(err) }))),
        (r) => `${r.filter((x) => x.ready).length}/${nodeRefs.length} ready`,
      );
      const talos = nodeObservations(nodeRefs, problems, readiness);

      const controlPlanes = nodeRefs.filter((n) => n.role === 'controlPlane').map((n) => n.server);
      const readyCps = talos.filter((n) => n.role === 'controlPlane' && n.healthy).map((n) => n.server);
      const etcd = await timed(
        'etcd-members',
        async () => {
          // Any ready control plane can list the members; none answering means no quorum.
          for (const via of readyCps) {
            try {
              const { members } = await withDeadline(`talosctl etcd members via ${via}`, deps.etcdMembers(spec, via));
              return etcdHealth(controlPlanes, readyCps, members.map((m) => m.server));
            } catch {
              continue;
            }
          }
          return etcdHealth(controlPlanes, readyCps, undefined);
        },
        (e) => `${e.filter((m) => m.healthy).length}/${e.length} healthy members`,
      );

      // Nodes in spec order: each server's LB, control plane, worker.
      const order = (n: NodeObservation) => spec.servers.findIndex((s) => s.name === n.server) * 3 + ['lb', 'controlPlane', 'worker'].indexOf(n.role);
      const nodes = [...lbs, ...talos].sort((a, b) => order(a) - order(b));
      return { cluster: spec.metadata.name, at: Date.now(), nodes, etcd, failover, ...(vrrp ? { vrrp } : {}), checks };
    },
  };
  return activities;

  /** One VM list per server; a node whose server does not answer is unhealthy with that reason. */
  async function vmProblems(spec: ClusterSpec, nodes: readonly NodeRef[]): Promise<Map<string, string | undefined>> {
    const servers = [...new Set(nodes.map((n) => n.server))];
    const looks = new Map<string, VmLook>();
    await Promise.all(
      servers.map(async (server) => {
        try {
          for (const vm of await withDeadline(`Proxmox VM list of ${server}`, deps.vmStatuses(spec, server))) looks.set(`${server}/${vm.role}`, vm.exists ? { exists: true, status: vm.status } : { exists: false });
        } catch (err) {
          for (const n of nodes.filter((x) => x.server === server)) looks.set(keyOf(n), { error: message(err) });
        }
      }),
    );
    return new Map(nodes.map((n) => [keyOf(n), vmProblem(looks.get(keyOf(n)))]));
  }

  /**
   * keepalived's state on each LB, for the split-brain reconcile: only where a move follows the
   * VRRP MASTER (not vrack-block, where nothing moves) and the worker can look. An LB that
   * cannot be looked at is `master: null` (unknown), never a guess.
   */
  /**
   * The LBs the IPs are routed to first: when each is MASTER there is nothing to reconcile and
   * the pass stops there (one SSH look per pass in the steady state, not one per LB). Otherwise
   * every LB, so the reconcile knows the one MASTER. In spec order either way.
   */
  async function vrrpLooks(spec: ClusterSpec, look: (spec: ClusterSpec, server: string) => Promise<boolean>, routed: readonly FailoverObservation[]): Promise<VrrpObservation[]> {
    const lbs = spec.servers.filter((s) => s.vms.lb).map((s) => s.name);
    const lookAt = (server: string): Promise<VrrpObservation> => withDeadline(`VRRP look on ${server}`, look(spec, server)).then((master) => ({ server, master }), () => ({ server, master: null }));
    const first = [...new Set(routed.flatMap((f) => (f.routedTo !== null && lbs.includes(f.routedTo) ? [f.routedTo] : [])))];
    const seen = await Promise.all(first.map(lookAt));
    if (first.length === 0 || seen.some((v) => v.master !== true)) seen.push(...(await Promise.all(lbs.filter((s) => !first.includes(s)).map(lookAt))));
    return seen.sort((a, b) => lbs.indexOf(a.server) - lbs.indexOf(b.server));
  }

  /** Where each failover IP is routed; an IP whose routing cannot be read is left out (unknown, so no decision is taken on it). */
  async function routings(spec: ClusterSpec): Promise<FailoverObservation[]> {
    const seen = await Promise.all(
      spec.failoverIps.map(async (ip) => {
        try {
          const routing = await withDeadline(`OVH routing of ${ip}`, deps.getIpRouting(spec.ovh, ip));
          return { ip, routedTo: spec.servers.find((s) => s.ovhService === routing.routedTo)?.name ?? null };
        } catch {
          return undefined;
        }
      }),
    );
    return seen.filter((f): f is FailoverObservation => f !== undefined);
  }
}
