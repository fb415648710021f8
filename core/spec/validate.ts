// Validating a spec that arrives as data (an `apply` update, the spec store's answer) rather
// than as YAML text: the same schema, the same field-naming problems, without line numbers.
// Pure (no Node imports), so the spec store's update validator can run it in the workflow.
import { canonicalJson } from '../render/spec-hash';
import { sha256Hex } from '../render/sha256';
import { clusterSpecSchema, type ClusterSpec } from './schema';
import { formatPath, SpecError, type SpecProblem } from './spec-error';

/** Validates `data` as a cluster spec. Throws SpecError naming every bad field. */
export function validateSpecData(data: unknown, source = 'spec'): ClusterSpec {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new SpecError(source, [{ path: '', message: 'must be a mapping with apiVersion, kind, metadata, ovh, network, talos and servers' }]);
  }
  const result = clusterSpecSchema.safeParse(data);
  if (result.success) return result.data;
  throw new SpecError(
    source,
    result.error.issues.map((issue): SpecProblem => ({ path: formatPath(issue.path as (string | number)[]), message: issue.message })),
  );
}

/**
 * The generation of a spec: a short hash of its canonical JSON. Two applies of the same spec
 * are one generation; every run records the generation it ran with.
 */
export function specGeneration(spec: ClusterSpec): string {
  return `g${sha256Hex(canonicalJson(spec)).slice(0, 12)}`;
}
