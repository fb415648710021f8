// Validating a spec that arrives as data (an `apply` update, the spec store's answer) rather
// than as YAML text: the same schema, the same field-naming problems, without line numbers.
// Pure (no Node imports), so the spec store's update validator can run it in the workflow.
import type { z } from 'zod';
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
    result.error.issues.map((issue): SpecProblem => ({ path: formatPath(issue.path as (string | number)[]), message: issueMessage(issue, data) })),
  );
}

/** What a value is, for "expected number, received string": the words zod uses. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return typeof value;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): { found: boolean; value?: unknown } {
  let here: unknown = data;
  for (const key of path) {
    if (here === null || typeof here !== 'object' || !Object.prototype.hasOwnProperty.call(here, key)) return { found: false };
    here = (here as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: here };
}

function preview(value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return '';
  const text = JSON.stringify(value);
  return ` (${text.length > 40 ? `${text.slice(0, 37)}...` : text})`;
}

/** A schema problem in words that name the true reason (a wrong type is not "required"). */
export function issueMessage(issue: z.core.$ZodIssue, data: unknown): string {
  const path = issue.path as (string | number)[];
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; check the spelling against \`autok8s schema\``;
  }
  if (issue.code === 'invalid_type') {
    // zod leaves the input out of its issues: look the value up to tell "missing" from "wrong type".
    const at = valueAt(data, path);
    return at.found && at.value !== undefined ? `expected ${issue.expected}, received ${typeName(at.value)}${preview(at.value)}` : `is required (${issue.expected})`;
  }
  return issue.message;
}

/**
 * The generation of a spec: a short hash of its canonical JSON. Two applies of the same spec
 * are one generation; every run records the generation it ran with.
 */
export function specGeneration(spec: ClusterSpec): string {
  return `g${sha256Hex(canonicalJson(spec)).slice(0, 12)}`;
}
