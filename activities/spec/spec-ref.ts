// Activities take a reference to their cluster's accepted spec, never the spec: a ~4 KB spec
// in the input of every activity was three quarters of a bootstrap's history bytes, and an
// input is what a trigger could forge. The provider activities keep their bodies
// `(spec: ClusterSpec, ...rest)`; `withSpecRefs` registers them as `(ref: SpecRef, ...rest)`
// and resolves the ref on the worker, from its generation cache (activities/spec/load-spec.ts:
// the store is asked only on a miss, the worker's policy checked on every call).
import { ApplicationFailure } from '@temporalio/common';
import { intentProblem } from '../../core/intents';
import type { SpecRef } from '../../core/spec/generations';
import type { ClusterSpec } from '../../core/spec/schema';
import type { SpecResolver } from './load-spec';

export type { SpecRef };

// Any activity signature; the types below match them by their first parameter.
type AnyActivity = (...args: any[]) => Promise<unknown>;

/** The names of `T`'s activities whose first argument is a `P` (the whole spec, or a part such as spec.ovh). */
export type PartTakingNames<T, P> = { [K in keyof T]: T[K] extends AnyActivity ? ([Parameters<T[K]>[0]] extends [P] ? K : never) : never }[keyof T];
export type SpecTakingNames<T> = PartTakingNames<T, ClusterSpec>;

/** An activity `(part, ...rest)` as registered: `(ref, ...rest)`. */
export type ByRef<F, P = ClusterSpec> = F extends (part: P, ...rest: infer R) => Promise<infer T> ? (ref: SpecRef, ...rest: R) => Promise<T> : F;

/** `T` with the activities named `N` taking a SpecRef where they took a `P`. */
export type WithSpecRefs<T, N extends keyof T, P = ClusterSpec> = { [K in keyof T]: K extends N ? ByRef<T[K], P> : T[K] };

/** The spec a ref names, or a non-retryable failure naming the activity, the field and what to do. */
export async function resolveRef(resolver: SpecResolver, activity: string, ref: unknown): Promise<ClusterSpec> {
  const problem = intentProblem('specRef', ref);
  if (problem !== undefined) {
    throw ApplicationFailure.nonRetryable(`${activity} takes a spec reference {cluster, generation} as its first argument: ${problem.replace(/^bad input to specRef: /, '')}`, 'BadInput');
  }
  const { cluster, generation } = ref as SpecRef;
  return (await resolver.accepted(cluster, generation)).spec;
}

/**
 * `activities`, with each one named in `names` taking a SpecRef where it took `pick(spec)`. The
 * names are checked by type: only activities whose first argument is what `pick` returns can
 * be listed, and test/unit/spec-ref.test.ts asserts that the worker's set has none left.
 */
export function withPartRefs<P, T extends Record<string, AnyActivity>, N extends PartTakingNames<T, P>>(
  resolver: SpecResolver,
  pick: (spec: ClusterSpec) => P,
  activities: T,
  names: readonly N[],
): WithSpecRefs<T, N, P> {
  const wrapped: Record<string, AnyActivity> = { ...activities };
  for (const name of names) {
    const activity = activities[name];
    wrapped[name as string] = async (ref: unknown, ...rest: unknown[]) => activity(pick(await resolveRef(resolver, String(name), ref)), ...rest);
  }
  return wrapped as WithSpecRefs<T, N, P>;
}

/** `activities`, with each one named in `names` taking a SpecRef where it took the whole spec. */
export function withSpecRefs<T extends Record<string, AnyActivity>, N extends SpecTakingNames<T>>(resolver: SpecResolver, activities: T, names: readonly N[]): WithSpecRefs<T, N> {
  return withPartRefs(resolver, (spec) => spec, activities, names);
}

/** The spec's OVH part: what the OVH activities take (endpoint, credential references, vRack). */
export const ovhPart = (spec: ClusterSpec): ClusterSpec['ovh'] => spec.ovh;
