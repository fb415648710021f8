// Progress of long waits: a heartbeat when running inside a Temporal activity (so a dead
// worker is noticed and the activity can be cancelled), nothing otherwise — the helpers
// also run from plain tests and scripts.
import { heartbeat } from '../activity-context';

export type OnProgress = (details: Record<string, unknown>) => void;

/** Heartbeats with the details inside an activity (throttled, see activity-context); a no-op elsewhere. */
export const heartbeatProgress: OnProgress = heartbeat;

