// Turning readings into the table: scaling a window to a pass or a cluster-day, the goals of
// issue #18, and the per-pass breakdown that says where the actions and bytes go.
import type { ActionCounts } from './actions';
import type { EventUse, HistoryUse } from './histories';
import type { Footprint } from './meter';

export const ACTIONS_GOAL = 1000;
export const HISTORY_GOAL_BYTES = 3_000_000;
export const FAILOVER_GOAL = 15;
export const DAY_MS = 86_400_000;

const scaleUse = <T extends EventUse & { executions?: number }>(u: T, f: number): T => ({
  ...u,
  events: u.events * f,
  bytes: u.bytes * f,
  payloadBytes: u.payloadBytes * f,
  ...(u.executions !== undefined ? { executions: u.executions * f } : {}),
});
const scaleRecord = <T>(r: Record<string, T>, scale: (v: T) => T): Record<string, T> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, scale(v)]));

/** The footprint times `factor` (a window's to one pass, or to a day). */
export function scaled(f: Footprint, factor: number): Footprint {
  const history: HistoryUse = {
    ...scaleUse(f.history, factor),
    byEvent: scaleRecord(f.history.byEvent, (u) => scaleUse(u, factor)),
    byWorkflowType: scaleRecord(f.history.byWorkflowType, (u) => scaleUse(u, factor)),
  };
  const actions: ActionCounts = scaleRecord(f.actions, (n) => n * factor);
  return { ...f, actions, totalActions: f.totalActions * factor, history, wallMs: f.wallMs * factor, executions: [] };
}

/** A window of `windowMs` extrapolated to a day: everything in it × 86 400 000 ÷ windowMs. */
export const perDay = (window: Footprint, windowMs: number): Footprint => scaled(window, DAY_MS / windowMs);

const round = (n: number) => (Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 10) / 10);

export function formatBytes(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} KB`;
  return `${Math.round(n)} B`;
}

const formatWall = (msec: number) => (msec >= 3_600_000 ? `${round(msec / 3_600_000)} h` : msec >= 10_000 ? `${round(msec / 1000)} s` : `${Math.round(msec)} ms`);

/** "grpc_StartWorkflowExecution 1, command_ScheduleActivityTask 2", largest first; the type's prefix kept (it says who counted it). */
export function describeActions(actions: ActionCounts): string {
  return Object.entries(actions)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([type, n]) => `${type} ${round(n)}`)
    .join(', ');
}

export function describeRow(label: string, f: Footprint, wallMs: number, detection = '—'): (string | number)[] {
  return [label, round(f.totalActions), describeActions(f.actions), round(f.history.events), formatBytes(f.history.bytes), formatBytes(f.history.payloadBytes), formatWall(wallMs), detection];
}

interface TimedEvent {
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
}
const tsMs = (t: TimedEvent['eventTime']) => (t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : NaN);

/** Each completed health pass's duration, from its start event to its close event. */
export function passDurations(executions: readonly { workflowType: string; events: readonly TimedEvent[] }[]): number[] {
  return executions.filter((x) => x.workflowType === 'healthCheck' && x.events.length > 1).map((x) => tsMs(x.events.at(-1)!.eventTime) - tsMs(x.events[0].eventTime));
}

export interface PassBreakdown {
  /** Actions per pass by action type. */
  actions: { type: string; perPass: number }[];
  /** History per pass by workflow type and by event (type and what it concerns), largest first. */
  byWorkflowType: ({ workflowType: string } & EventUse)[];
  byEvent: ({ what: string } & EventUse)[];
}

export function breakdownPerPass(window: Footprint, passes: number): PassBreakdown {
  const one = scaled(window, 1 / passes);
  const perUse = (u: EventUse) => ({ events: round(u.events), bytes: Math.round(u.bytes), payloadBytes: Math.round(u.payloadBytes) });
  return {
    actions: Object.entries(one.actions).sort((a, b) => b[1] - a[1]).map(([type, n]) => ({ type, perPass: round(n) })),
    byWorkflowType: Object.entries(one.history.byWorkflowType).sort((a, b) => b[1].bytes - a[1].bytes).map(([workflowType, u]) => ({ workflowType, ...perUse(u) })),
    byEvent: Object.entries(one.history.byEvent).sort((a, b) => b[1].bytes - a[1].bytes).map(([what, u]) => ({ what, ...perUse(u) })),
  };
}
