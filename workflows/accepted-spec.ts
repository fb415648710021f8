// The first steps of every run: its input checked as an intent (core/intents.ts), then the
// spec it works with loaded from the cluster's spec store, its generation recorded.
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { intentProblem, intents } from '../core/intents';
import type { SpecRef } from '../core/spec/generations';
import type { ClusterSpec } from '../core/spec/schema';
import * as profiles from './activity-profiles';
import type { StepLog } from './progress';

const bookkeeping = proxyActivities<Activities>(profiles.bookkeeping);

/** The input as the intent `workflow` takes; anything else fails the run at once, naming the field. */
export function checkIntent<W extends keyof typeof intents>(workflow: W, input: unknown): ReturnType<(typeof intents)[W]['parse']> {
  const problem = intentProblem(workflow, input);
  if (problem !== undefined) throw ApplicationFailure.nonRetryable(problem, 'BadInput');
  return input as ReturnType<(typeof intents)[W]['parse']>;
}

/** The cluster's accepted spec (of `generation`, else the current one), as the step `spec`. */
export function loadAcceptedSpec(log: StepLog, cluster: string, generation?: string): Promise<{ generation: string; spec: ClusterSpec }> {
  return log.run('spec', () => bookkeeping.acceptedSpec(cluster, generation), (r) => `generation ${r.generation}`);
}

/** One server's facts from the accepted spec of `generation` (its OVH service, its VMs), as the step `spec`. */
export function loadAcceptedServer(log: StepLog, cluster: string, generation: string, server: string) {
  return log.run('spec', () => bookkeeping.acceptedServer(cluster, generation, server), (r) => `generation ${r.generation}: ${r.roles.join(', ')} on ${r.ovhService}`);
}

/** What activities take instead of the spec: the worker resolves it from its generation cache (activities/spec/spec-ref.ts). */
export function refTo(spec: ClusterSpec, generation: string): SpecRef {
  return { cluster: spec.metadata.name, generation };
}
