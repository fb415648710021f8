// Where in its interval a cluster's health pass runs. Interval schedules fire on multiples
// of the interval since the epoch, so every cluster's schedule would fire at the same
// instant and the workers would get all passes as one burst (at 200 clusters, 200 passes
// due in the same second). Each schedule gets a fixed offset instead, from a hash of the
// cluster name: the passes spread evenly over the interval, each cluster keeps an exact
// period (random jitter would not), and the offset survives re-creating the schedule.

/** FNV-1a, 32 bits: stable across processes and versions (unlike a seeded hash). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * The offset in [0, everyMs) of `cluster`'s passes, in whole seconds: Temporal computes
 * schedule times to the second (a finer offset is truncated), so seconds are what spreads.
 */
export function schedulePhaseMs(cluster: string, everyMs: number): number {
  if (!Number.isInteger(everyMs) || everyMs <= 0) throw new RangeError(`interval must be a positive whole number of milliseconds, got ${everyMs}`);
  const slots = Math.floor(everyMs / 1000);
  return slots <= 1 ? 0 : (fnv1a32(cluster) % slots) * 1000;
}
