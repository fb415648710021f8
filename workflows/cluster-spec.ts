// clusterSpec: the cluster's spec store (`<cluster>/spec`), the only way a spec reaches a run.
//
// Triggers carry intent (a cluster name and the operation's parameters), never a spec: a spec
// in a workflow input would let anyone who can start a workflow choose the endpoints,
// secrets and files the worker uses. Instead `autok8s apply -f cluster.yaml` sends the spec
// through the `apply` update: its validator runs the full schema before anything is recorded,
// and its handler asks a worker (an activity) whether the spec stays inside that worker's
// policy (secrets, paths, endpoints). Only then is it a new generation. Every run loads the
// spec it runs with from here (the `acceptedSpec` activity, which checks the policy again)
// and records the generation. Long-lived: it auto-upgrades and continues as new, carrying
// the generations it keeps.
import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, defineQuery, defineUpdate, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { intentProblem } from '../core/intents';
import { GRAMMAR } from '../core/spec/grammar';
import { acceptGeneration, findGeneration, type AcceptedSpec } from '../core/spec/generations';
import type { ClusterSpec } from '../core/spec/schema';
import { specGeneration, validateSpecData } from '../core/spec/validate';
import * as profiles from './activity-profiles';

const bookkeeping = proxyActivities<Activities>(profiles.bookkeeping);

export interface ClusterSpecInput {
  cluster: string;
  kept?: AcceptedSpec[];
}

export interface ApplyResult {
  cluster: string;
  generation: string;
  /** False when the spec is the current generation already. */
  changed: boolean;
  previous?: string;
}

export const applySpecUpdate = defineUpdate<ApplyResult, [{ spec: ClusterSpec; note?: string }]>('apply');
/** The accepted spec of a generation (the current one when none is named). */
export const specQuery = defineQuery<AcceptedSpec | undefined, [string?]>('spec');
export const generationsQuery = defineQuery<{ generation: string; acceptedAt: number; note?: string }[]>('generations');

const APPLIES_BEFORE_CONTINUE = 200;

export async function clusterSpec(input: ClusterSpecInput): Promise<void> {
  // Started by hand, this workflow's input is as untrusted as any: the name must be a
  // cluster's, and every kept generation must be a valid spec of it hashing to its label.
  if (!GRAMMAR.dnsLabel.test(input.cluster)) throw ApplicationFailure.nonRetryable(`bad input to clusterSpec: cluster: must be ${GRAMMAR.dnsLabel.expected}`, 'BadInput');
  for (const g of input.kept ?? []) {
    const valid = validateSpecData(g.spec, `kept generation ${String(g.generation)}`);
    if (valid.metadata.name !== input.cluster || specGeneration(valid) !== g.generation) {
      throw ApplicationFailure.nonRetryable(`kept generation ${String(g.generation)} is not a spec of ${input.cluster} hashing to its label`, 'BadInput');
    }
  }
  let kept = input.kept ?? [];
  let applies = 0;
  // One apply at a time, in the order they were admitted: the generation an apply reports as
  // current (and its `previous`) is then true when it returns.
  let applying = false;

  setHandler(
    applySpecUpdate,
    async ({ spec, note }) => {
      applies += 1;
      await condition(() => !applying);
      applying = true;
      try {
        const valid = validateSpecData(spec, 'the applied spec');
        await bookkeeping.checkSpecPolicy(valid);
        const generation = specGeneration(valid);
        const previous = kept.at(-1)?.generation;
        const next = acceptGeneration(kept, { generation, spec: valid, acceptedAt: Date.now(), ...(note !== undefined ? { note } : {}) });
        kept = next.kept;
        return { cluster: input.cluster, generation, changed: next.changed, previous };
      } finally {
        applying = false;
      }
    },
    {
      // Runs before anything is recorded: a spec that fails the schema, or names another
      // cluster, leaves no trace in this workflow's history.
      validator: ({ spec, note }) => {
        const badNote = intentProblem('applyNote', note);
        if (badNote !== undefined) throw new Error(badNote.replace('bad input to applyNote: (input)', 'note'));
        const valid = validateSpecData(spec, 'the applied spec');
        if (valid.metadata.name !== input.cluster) {
          throw new Error(`metadata.name: the spec is for cluster ${valid.metadata.name}, this is the spec store of ${input.cluster}`);
        }
      },
    },
  );
  setHandler(specQuery, (generation) => findGeneration(kept, generation));
  setHandler(generationsQuery, () => kept.map(({ generation, acceptedAt, note }) => ({ generation, acceptedAt, note })));

  await condition(() => applies >= APPLIES_BEFORE_CONTINUE || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished); // the update that crossed the line replies first
  await continueAsNew<typeof clusterSpec>({ cluster: input.cluster, kept });
}
