// The worker's side of the spec store (workflows/cluster-spec.ts): whether a spec stays inside
// this worker's policy, and the accepted spec a run works with. A run never takes a spec
// from its input; it asks for its cluster's accepted spec here, and the policy is checked
// again on the way out, so a worker with a narrower policy than the one that accepted a spec
// refuses it instead of using it.
import { homedir } from 'node:os';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { AcceptedSpec } from '../../core/spec/generations';
import type { ClusterSpec, VmRole } from '../../core/spec/schema';
import { SpecError } from '../../core/spec/spec-error';
import { specGeneration, validateSpecData } from '../../core/spec/validate';
import { policyProblems, type WorkerPolicy } from '../../core/spec/worker-policy';
import { workflowIds } from '../../core/workflow-ids';

export interface SpecActivityDeps {
  policy: WorkerPolicy;
  temporal: () => Client;
}

/** Throws a non-retryable failure naming every field outside the policy. */
export function assertWithinPolicy(spec: ClusterSpec, policy: WorkerPolicy, source: string): void {
  const problems = policyProblems(spec, policy, homedir());
  if (problems.length > 0) {
    const lines = problems.map((p) => `  ${p.path}: ${p.message}`);
    throw ApplicationFailure.nonRetryable(`${source} reaches outside what this worker allows (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, 'SpecOutsidePolicy');
  }
}

/**
 * How many accepted specs a worker keeps at hand (a generation never changes), least recently
 * used dropped first: room for a few generations of each of the few hundred clusters one
 * worker watches, ~4 KB each.
 */
const KEPT_GENERATIONS = 2048;

/** The worker's way to a cluster's accepted spec: by generation from its cache, the store asked only on a miss. */
export interface SpecResolver {
  /** The accepted spec of `generation` (the current one when none is named), checked under this worker's policy. */
  accepted(cluster: string, generation?: string): Promise<{ generation: string; spec: ClusterSpec }>;
  /**
   * The current accepted spec, the store asked only when `stamp` (specStamp: a describe of the
   * store, not a query) differs from the one it last answered with: a watch leg then costs the
   * store nothing while no spec is applied.
   */
  current(cluster: string, stamp: string | undefined): Promise<{ generation: string; spec: ClusterSpec }>;
}

export function createSpecResolver(deps: SpecActivityDeps): SpecResolver {
  // A generation names one spec for ever, so a worker asks the store for it once: the 24
  // provisionServer children of a bootstrap, and every activity of every run (they take a
  // SpecRef, activities/spec/spec-ref.ts), would otherwise each query the store.
  // The policy is still checked on every load; only the store's validated answer is kept.
  const byGeneration = new Map<string, { generation: string; spec: ClusterSpec }>();
  const currentByStamp = new Map<string, { stamp: string; generation: string }>();
  async function lookUp(cluster: string, generation?: string): Promise<{ generation: string; spec: ClusterSpec } | undefined> {
    const key = `${cluster}/${generation}`;
    const kept = generation === undefined ? undefined : byGeneration.get(key);
    if (kept) {
      byGeneration.delete(key); // re-inserted last: the least recently used is the one dropped
      byGeneration.set(key, kept);
      return kept;
    }
    let accepted: AcceptedSpec | undefined;
    try {
      accepted = await deps.temporal().workflow.getHandle(workflowIds.spec(cluster)).query<AcceptedSpec | undefined, [string?]>('spec', generation);
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
    }
    if (!accepted) return undefined;
    // What the store answers must be what it claims: this cluster's spec, hashing to its
    // generation. A store started by hand with forged generations is refused, never cached.
    if (accepted.spec?.metadata?.name !== cluster || specGeneration(accepted.spec) !== accepted.generation) {
      throw ApplicationFailure.nonRetryable(
        `the spec store of ${cluster} answered a spec that is not its accepted generation (another cluster's, or not hashing to ${String(accepted.generation)}); terminate ${workflowIds.spec(cluster)} and apply the spec again`,
        'BadSpec',
      );
    }
    let spec: ClusterSpec;
    try {
      spec = validateSpecData(accepted.spec, `the accepted spec ${accepted.generation} of ${cluster}`);
    } catch (err) {
      if (err instanceof SpecError) throw ApplicationFailure.nonRetryable(err.message, 'BadSpec');
      throw err;
    }
    const found = { generation: accepted.generation, spec };
    byGeneration.set(`${cluster}/${accepted.generation}`, found);
    if (byGeneration.size > KEPT_GENERATIONS) byGeneration.delete(byGeneration.keys().next().value!);
    return found;
  }

  async function accepted(cluster: string, generation?: string): Promise<{ generation: string; spec: ClusterSpec }> {
    const found = await lookUp(cluster, generation);
    if (!found) {
      throw ApplicationFailure.nonRetryable(
        generation === undefined
          ? `cluster ${cluster} has no accepted spec; apply one first: autok8s apply -f <cluster.yaml>`
          : `cluster ${cluster} has no accepted spec of generation ${generation} (not kept by its spec store, or never accepted for this cluster); start the operation again, so that it runs with the current generation`,
        'UnknownCluster',
      );
    }
    assertWithinPolicy(found.spec, deps.policy, `the accepted spec ${found.generation} of ${cluster}`);
    return found;
  }

  return {
    accepted,
    async current(cluster, stamp) {
      const known = currentByStamp.get(cluster);
      if (stamp !== undefined && known?.stamp === stamp) return accepted(cluster, known.generation);
      const found = await accepted(cluster);
      if (stamp !== undefined) {
        currentByStamp.delete(cluster); // re-inserted last: the oldest-used cluster is the one dropped
        currentByStamp.set(cluster, { stamp, generation: found.generation });
        if (currentByStamp.size > KEPT_CLUSTERS) currentByStamp.delete(currentByStamp.keys().next().value!);
      }
      return found;
    },
  };
}

/** How many clusters' current generations a worker remembers (one entry per watched cluster). */
const KEPT_CLUSTERS = 4096;

export function createSpecActivities(deps: SpecActivityDeps, resolver: SpecResolver = createSpecResolver(deps)) {
  return {
    /** Is the spec inside this worker's policy? (the spec store's `apply` handler asks before accepting it) */
    async checkSpecPolicy(spec: ClusterSpec): Promise<void> {
      assertWithinPolicy(spec, deps.policy, `the spec of ${spec.metadata.name}`);
    },

    /** The cluster's accepted spec (of `generation`, or the current one), checked again under this worker's policy. */
    async acceptedSpec(cluster: string, generation?: string): Promise<{ generation: string; spec: ClusterSpec }> {
      return resolver.accepted(cluster, generation);
    },

    /**
     * One server's part of the accepted spec of `generation`: what a provisionServer run decides
     * with (the server's OVH service and the VMs it has). Each of a bootstrap's children kept a
     * copy of the whole spec in its history for those two facts.
     */
    async acceptedServer(cluster: string, generation: string, server: string): Promise<{ generation: string; ovhService: string; roles: VmRole[] }> {
      const { spec } = await resolver.accepted(cluster, generation);
      const found = spec.servers.find((s) => s.name === server);
      if (!found) throw ApplicationFailure.nonRetryable(`server ${server} is not in the spec ${generation} of ${cluster} (${spec.servers.map((s) => s.name).join(', ')})`, 'BadInput');
      return { generation, ovhService: found.ovhService, roles: (['lb', 'controlPlane', 'worker'] as const).filter((role) => found.vms[role] !== undefined) };
    },
  };
}
