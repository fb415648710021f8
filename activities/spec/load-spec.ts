// The worker's side of the spec store (workflows/cluster-spec.ts): whether a spec stays inside
// this worker's policy, and the accepted spec a run works with. A run never takes a spec
// from its input; it asks for its cluster's accepted spec here, and the policy is checked
// again on the way out, so a worker with a narrower policy than the one that accepted a spec
// refuses it instead of using it.
import { homedir } from 'node:os';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { AcceptedSpec } from '../../core/spec/generations';
import type { ClusterSpec } from '../../core/spec/schema';
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

/** How many accepted specs of named generations a worker keeps at hand (they never change). */
const KEPT_GENERATIONS = 64;

export function createSpecActivities(deps: SpecActivityDeps) {
  // A generation names one spec for ever, so a worker asks the store for it once: the 24
  // provisionServer children of a bootstrap would otherwise queue 24 queries on the store.
  // The policy is still checked on every load; only the store's answer is kept.
  const byGeneration = new Map<string, AcceptedSpec>();
  async function lookUp(cluster: string, generation?: string): Promise<AcceptedSpec | undefined> {
    const key = generation === undefined ? undefined : `${cluster}/${generation}`;
    const kept = key === undefined ? undefined : byGeneration.get(key);
    if (kept) return kept;
    let accepted: AcceptedSpec | undefined;
    try {
      accepted = await deps.temporal().workflow.getHandle(workflowIds.spec(cluster)).query<AcceptedSpec | undefined, [string?]>('spec', generation);
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
    }
    // What the store answers must be what it claims: this cluster's spec, hashing to its
    // generation. A store started by hand with forged generations is refused, never cached.
    if (accepted && (accepted.spec?.metadata?.name !== cluster || specGeneration(accepted.spec) !== accepted.generation)) {
      throw ApplicationFailure.nonRetryable(
        `the spec store of ${cluster} answered a spec that is not its accepted generation (another cluster's, or not hashing to ${String(accepted.generation)}); terminate ${workflowIds.spec(cluster)} and apply the spec again`,
        'BadSpec',
      );
    }
    if (accepted) {
      byGeneration.set(`${cluster}/${accepted.generation}`, accepted);
      if (byGeneration.size > KEPT_GENERATIONS) byGeneration.delete(byGeneration.keys().next().value!);
    }
    return accepted;
  }

  return {
    /** Is the spec inside this worker's policy? (the spec store's `apply` handler asks before accepting it) */
    async checkSpecPolicy(spec: ClusterSpec): Promise<void> {
      assertWithinPolicy(spec, deps.policy, `the spec of ${spec.metadata.name}`);
    },

    /** The cluster's accepted spec (of `generation`, or the current one), checked again under this worker's policy. */
    async acceptedSpec(cluster: string, generation?: string): Promise<{ generation: string; spec: ClusterSpec }> {
      const accepted = await lookUp(cluster, generation);
      if (!accepted) {
        throw ApplicationFailure.nonRetryable(
          generation === undefined
            ? `cluster ${cluster} has no accepted spec; apply one first: autok8s apply -f <cluster.yaml>`
            : `cluster ${cluster} has no accepted spec of generation ${generation} (it may be older than the generations kept); start the operation again`,
          'UnknownCluster',
        );
      }
      let spec: ClusterSpec;
      try {
        spec = validateSpecData(accepted.spec, `the accepted spec ${accepted.generation} of ${cluster}`);
      } catch (err) {
        if (err instanceof SpecError) throw ApplicationFailure.nonRetryable(err.message, 'BadSpec');
        throw err;
      }
      assertWithinPolicy(spec, deps.policy, `the accepted spec ${accepted.generation} of ${cluster}`);
      return { generation: accepted.generation, spec };
    },
  };
}
