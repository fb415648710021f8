// Talos activities that look at nodes and the cluster (readiness, `talosctl health`,
// discovery members, the client version) and drain a node before it is destroyed.
import { ApplicationFailure } from '@temporalio/common';
import { controlPlaneNodes, workerNodes, type TalosRole } from '../../core/talos/nodes';
import { parseGetMembers, parseMachineStatus, type TalosMember } from '../../core/talos/resources';
import { parseVersionShort } from '../../core/talos/version';
import { parseDuration } from '../../core/spec/duration';
import type { ClusterSpec } from '../../core/spec/schema';
import { badInput, toFailure, type TalosContext } from './context';
import { STATE_FILES } from './state-store';
import { getMachineStatusArgs, getMachineStatusManyArgs, getMembersArgs, healthArgs, resetArgs, versionArgs } from './talosctl';

export function createTalosNodeActivities(ctx: TalosContext) {
  const { memberWaitMs, defaultHealthWait, nodeOf, talosctl, talosctlPath, classify, requireState, authTo, waitFor } = ctx;

  return {
    /**
     * Cordons and drains a node before its VM is destroyed: a graceful `talosctl reset`
     * (Talos cordons and drains the Kubernetes node, a control plane also leaves etcd, then
     * the disk is wiped), waited for so the drain is over when this returns; no reboot, the
     * VM goes away next. A node that does not answer cannot be drained (Cluster API skips the
     * drain of an unreachable node too), and one that no longer trusts this cluster's
     * talosconfig has been reset already (a retry, or a new machine): both come back as
     * `drained: false` with the reason, never as a failure, so the replacement goes on.
     */
    async drainNode(spec: ClusterSpec, serverName: string, role: TalosRole, opts: { waitMs?: number } = {}): Promise<{ drained: boolean; why: string }> {
      const node = nodeOf(spec, serverName, role);
      const r = await talosctl(spec, resetArgs(await authTo(spec, node), { graceful: true, reboot: false, wait: true }), opts.waitMs ?? memberWaitMs);
      if (r.exitCode === 0) return { drained: true, why: `${node.hostname} cordoned, drained and reset` };
      const f = classify(r);
      if (f.kind === 'unreachable') return { drained: false, why: `${node.hostname} (${node.ip}) does not answer, so it cannot be drained: ${f.summary}` };
      if (f.kind === 'untrusted') return { drained: false, why: `${node.hostname} (${node.ip}) no longer has this cluster's config (reset already): ${f.summary}` };
      throw toFailure(f, 'talosctl reset --graceful', node.ip);
    },

    /**
     * `talosctl health` over every control plane and worker of the spec, through the first
     * control plane that answers. talosctl itself waits up to `waitTimeout`; the activity
     * heartbeats meanwhile (every talosctl run does).
     */
    async clusterHealth(spec: ClusterSpec, opts: { waitTimeout?: string } = {}): Promise<{ healthy: true; via: string; checks: string[] }> {
      const waitTimeout = opts.waitTimeout ?? defaultHealthWait;
      let waitMs: number;
      try {
        waitMs = parseDuration(waitTimeout);
      } catch (err) {
        throw badInput(err);
      }
      const cps = controlPlaneNodes(spec);
      let lastFailure: ApplicationFailure | undefined;
      for (const via of cps) {
        const r = await talosctl(
          spec,
          healthArgs({ ...(await authTo(spec, via)), controlPlaneNodes: cps.map((n) => n.ip), workerNodes: workerNodes(spec).map((n) => n.ip), waitTimeout }),
          waitMs + 60_000,
        );
        if (r.exitCode === 0) {
          const checks = r.stderr.split('\n').filter((l) => l.startsWith('waiting for '));
          return { healthy: true, via: via.server, checks };
        }
        const f = classify(r);
        lastFailure =
          f.kind === 'timeout' || f.kind === 'unknown'
            ? ApplicationFailure.retryable(`cluster ${spec.metadata.name} not healthy within ${waitTimeout} (talosctl health through ${via.ip}: ${f.summary}); the check is retried`, 'ClusterUnhealthy')
            : toFailure(f, 'talosctl health', via.ip);
        // Only an unreachable endpoint is a reason to ask through another control plane.
        if (f.kind !== 'unreachable') break;
      }
      throw lastFailure ?? ApplicationFailure.nonRetryable('the spec has no control plane to check health through', 'BadInput');
    },

    /**
     * Is the node up, configured and ready (Talos MachineStatus)? One look by default; with
     * `waitMs`, polls until ready and fails retryably when the bound runs out.
     */
    async nodeReady(
      spec: ClusterSpec,
      serverName: string,
      role: TalosRole,
      opts: { waitMs?: number } = {},
    ): Promise<{ ready: boolean; stage: string; detail: string }> {
      const node = nodeOf(spec, serverName, role);
      const target = await authTo(spec, node);
      const look = async () => {
        const r = await talosctl(spec, getMachineStatusArgs(target));
        if (r.exitCode !== 0) {
          const f = classify(r);
          if (!f.retryable) throw toFailure(f, 'talosctl get machinestatus', node.ip);
          return { ready: false, stage: 'unreachable', detail: f.summary };
        }
        const status = parseMachineStatus(r.stdout)[0];
        if (!status) return { ready: false, stage: 'unknown', detail: 'no MachineStatus resource returned' };
        const unmet = status.unmetConditions.map((c) => `${c.name}: ${c.reason}`).join('; ');
        return { ready: status.ready && status.stage === 'running', stage: status.stage, detail: unmet || status.stage };
      };
      if (opts.waitMs === undefined) return look();
      return waitFor<{ ready: boolean; stage: string; detail: string }>(`readiness of ${node.hostname}`, Math.min(opts.waitMs, memberWaitMs), async () => {
        const s = await look();
        return s.ready ? { done: s } : { notYet: `${s.stage}: ${s.detail}` };
      });
    },

    /**
     * Readiness of many nodes with one talosctl run (a health pass checks every node; one
     * process per node was the pass's main cost). Asks through the first control-plane
     * endpoint that answers; a node missing from the answer is reported unreachable with
     * talosctl's own words about it.
     */
    async nodesReady(
      spec: ClusterSpec,
      nodes: { server: string; role: TalosRole }[],
    ): Promise<{ server: string; role: TalosRole; ready: boolean; stage: string; detail: string }[]> {
      if (nodes.length === 0) return [];
      const talosconfig = await requireState(spec, STATE_FILES.talosconfig, 'renderMachineConfigs');
      const targets = nodes.map((n) => ({ ...n, ip: nodeOf(spec, n.server, n.role).ip }));
      const endpoints = [...new Set([...targets.filter((t) => t.role === 'controlPlane').map((t) => t.ip), ...controlPlaneNodes(spec).map((n) => n.ip)])];
      let lastFailure = 'no control-plane endpoint to ask';
      for (const endpoint of endpoints) {
        const r = await talosctl(spec, getMachineStatusManyArgs(targets.map((t) => t.ip), endpoint, talosconfig));
        const statuses = r.stdout.trim() === '' ? [] : parseMachineStatus(r.stdout);
        if (statuses.length === 0 && r.exitCode !== 0) {
          const f = classify(r);
          if (!f.retryable) throw toFailure(f, 'talosctl get machinestatus', endpoint);
          lastFailure = f.summary;
          continue; // this endpoint does not answer: try the next control plane
        }
        const errorLines = r.stderr.split('\n');
        return targets.map((t) => {
          const status = statuses.find((st) => st.node === t.ip);
          if (!status) {
            const said = errorLines.find((line) => line.includes(t.ip))?.trim();
            return { server: t.server, role: t.role, ready: false, stage: 'unreachable', detail: said || 'no answer through the endpoint' };
          }
          const unmet = status.unmetConditions.map((c) => `${c.name}: ${c.reason}`).join('; ');
          return { server: t.server, role: t.role, ready: status.ready && status.stage === 'running', stage: status.stage, detail: unmet || status.stage };
        });
      }
      return targets.map((t) => ({ server: t.server, role: t.role, ready: false, stage: 'unreachable', detail: lastFailure }));
    },

    /** Cluster members as Talos discovery sees them, through one control plane. */
    async clusterMembers(spec: ClusterSpec, viaServer: string): Promise<{ via: string; members: TalosMember[] }> {
      const via = nodeOf(spec, viaServer, 'controlPlane');
      const r = await talosctl(spec, getMembersArgs(await authTo(spec, via)));
      if (r.exitCode !== 0) throw toFailure(classify(r), 'talosctl get members', via.ip);
      return { via: viaServer, members: parseGetMembers(r.stdout) };
    },

    /** The talosctl client version the worker runs (a preflight for spec.talos.version). */
    async talosctlVersion(spec: ClusterSpec): Promise<{ client: string; path: string }> {
      const r = await talosctl(spec, versionArgs({ clientOnly: true }));
      if (r.exitCode !== 0) throw toFailure(classify(r), 'talosctl version --client', 'the worker');
      const client = parseVersionShort(r.stdout).client;
      if (!client) throw ApplicationFailure.nonRetryable(`talosctl version --client printed no version: ${JSON.stringify(r.stdout.slice(0, 120))}`, 'TalosBadRequest');
      return { client, path: talosctlPath(spec) };
    },
  };
}
