// `autok8s plan`'s look at what OVH says about each server's network (read-only): the spec's
// public path must work on them (core/public-path/server-facts.ts), the same check bootstrap's
// first step makes (the checkServerPublicFacts activity).
import { createOvhActivities } from '../activities/ovh/activities';
import { createSecretResolver } from '../activities/secrets';
import { serverFactIssues } from '../core/public-path/server-facts';
import type { ClusterSpec } from '../core/spec/schema';
import { formatPath, type SpecProblem } from '../core/spec/spec-error';
import { policyFromEnv, type WorkerPolicy } from '../core/spec/worker-policy';
import { assertSpecWithinPolicy } from './observe-cluster';

/** Problems with the spec's field paths, or `unreadable` when OVH could not be asked. */
export async function publicPathFactProblems(spec: ClusterSpec, policy: WorkerPolicy = policyFromEnv(process.env)): Promise<{ problems: SpecProblem[] } | { unreadable: string }> {
  assertSpecWithinPolicy(spec, policy);
  const ovh = createOvhActivities({ secrets: createSecretResolver(process.env, policy) });
  let facts;
  try {
    facts = await Promise.all(spec.servers.map((s) => ovh.readServerNetworkFacts(spec.ovh, s.ovhService)));
  } catch (err) {
    return { unreadable: (err instanceof Error ? err.message : String(err)).split('\n')[0] };
  }
  return { problems: serverFactIssues(spec, facts).map((i) => ({ path: formatPath(i.path), message: i.message })) };
}
