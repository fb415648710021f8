// For code that calls activities in-process, outside a worker and without a spec store (tests,
// the dev command's wiring, benchmarks' set-up): a
// resolver that knows the given specs (and no others), and the refs that name them.
import { ApplicationFailure } from '@temporalio/common';
import type { SpecResolver } from './load-spec';
import type { SpecRef } from '../../core/spec/generations';
import type { ClusterSpec } from '../../core/spec/schema';
import { specGeneration } from '../../core/spec/validate';

export function refOf(spec: ClusterSpec): SpecRef {
  return { cluster: spec.metadata.name, generation: specGeneration(spec) };
}

export function knownSpecs(...specs: ClusterSpec[]): SpecResolver {
  const find = (cluster: string, generation?: string) => {
    const spec = specs.find((s) => s.metadata.name === cluster && (generation === undefined || specGeneration(s) === generation));
    if (!spec) throw ApplicationFailure.nonRetryable(`test resolver: no spec ${cluster}/${generation ?? 'current'}`, 'UnknownCluster');
    return { generation: specGeneration(spec), spec };
  };
  return { accepted: async (cluster, generation) => find(cluster, generation), current: async (cluster) => find(cluster) };
}
