// The specs a cluster's spec store (workflows/cluster-spec.ts) has accepted, newest last.
// Pure: what the store keeps and answers, decided apart from the workflow.
import type { ClusterSpec } from './schema';

export interface AcceptedSpec {
  generation: string;
  spec: ClusterSpec;
  acceptedAt: number;
  /** Who or what applied it, as the `apply` caller said (for the record, not for trust). */
  note?: string;
}

/** A reference to one accepted spec: what workflow inputs and activities pass instead of a spec. */
export interface SpecRef {
  cluster: string;
  generation: string;
}

/** How many generations the store keeps answering for (runs pinned to an older one still find it). */
export const GENERATIONS_KEPT = 20;

/** The store after accepting `next`: unchanged when it is the current generation already. */
export function acceptGeneration(kept: readonly AcceptedSpec[], next: AcceptedSpec): { kept: AcceptedSpec[]; changed: boolean } {
  if (kept.at(-1)?.generation === next.generation) return { kept: [...kept], changed: false };
  const all = [...kept.filter((g) => g.generation !== next.generation), next];
  return { kept: all.slice(-GENERATIONS_KEPT), changed: true };
}

/** The accepted spec of `generation`, or the current one when none is named. */
export function findGeneration(kept: readonly AcceptedSpec[], generation?: string): AcceptedSpec | undefined {
  return generation === undefined ? kept.at(-1) : kept.find((g) => g.generation === generation);
}
