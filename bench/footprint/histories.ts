// What runs leave in Temporal's histories: every execution of the namespace read through the
// client, measured as the server keeps it (each event serialized as protobuf), and compared
// with the last event of each execution seen before. Long-lived workflows (the watcher, the
// spec store, the lock) count only the events they gained; new runs count whole.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const { EventType } = temporal.api.enums.v1;

export interface Execution {
  workflowId: string;
  runId: string;
  workflowType: string;
  events: HistoryEvent[];
}

/** The last event ID of each execution, by `workflowId runId`. */
export type HistoryMarks = Map<string, number>;

export interface EventUse {
  events: number;
  /** Serialized size, as a `History` message holds it (each event with its field tag and length). */
  bytes: number;
  /** Of which payload data (inputs, results, update arguments, heartbeat details, memo…). */
  payloadBytes: number;
}

export interface HistoryUse extends EventUse {
  /** By workflow type, with the executions that started or grew. */
  byWorkflowType: Record<string, EventUse & { executions: number }>;
  /** By workflow type, event type and what it concerns (activity, update, marker, signal, child workflow). */
  byEvent: Record<string, EventUse>;
}

const key = (e: { workflowId: string; runId: string }) => `${e.workflowId} ${e.runId}`;
const varintLength = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

/** An event's bytes inside a serialized History: tag, length, the event. */
export function eventBytes(event: HistoryEvent): number {
  const n = temporal.api.history.v1.HistoryEvent.encode(event).finish().length;
  return 1 + varintLength(n) + n;
}

/** The data of every Payload in an event (a Payload is the only message with `data` bytes and a `metadata` map). */
export function payloadBytes(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  if (value instanceof Uint8Array) return 0;
  const v = value as Record<string, unknown>;
  if (v.data instanceof Uint8Array && typeof v.metadata === 'object') return v.data.length;
  let sum = 0;
  for (const child of Array.isArray(value) ? value : Object.values(v)) sum += payloadBytes(child);
  return sum;
}

const typeName = (t: HistoryEvent['eventType']) =>
  (EventType[Number(t ?? 0)] ?? `EVENT_TYPE_${String(t)}`)
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());

/** "ActivityTaskCompleted observeAcceptedCluster", "WorkflowExecutionUpdateAccepted report", "MarkerRecorded core_patch"… */
export function eventLabels(events: readonly HistoryEvent[]): string[] {
  const nameById = new Map<string, string>();
  return events.map((e) => {
    const id = String(e.eventId);
    let detail: string | null | undefined;
    if (e.activityTaskScheduledEventAttributes) detail = e.activityTaskScheduledEventAttributes.activityType?.name;
    else if (e.workflowExecutionUpdateAcceptedEventAttributes) detail = e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input?.name;
    else if (e.markerRecordedEventAttributes) detail = e.markerRecordedEventAttributes.markerName;
    else if (e.workflowExecutionSignaledEventAttributes) detail = e.workflowExecutionSignaledEventAttributes.signalName;
    else if (e.signalExternalWorkflowExecutionInitiatedEventAttributes) detail = e.signalExternalWorkflowExecutionInitiatedEventAttributes.signalName;
    else if (e.startChildWorkflowExecutionInitiatedEventAttributes) detail = e.startChildWorkflowExecutionInitiatedEventAttributes.workflowType?.name;
    else {
      const attributes = Object.entries(e).find(([k, v]) => k.endsWith('EventAttributes') && v)?.[1] as Record<string, unknown> | undefined;
      const ref = attributes?.scheduledEventId ?? attributes?.acceptedEventId ?? attributes?.initiatedEventId;
      if (ref !== undefined && ref !== null) detail = nameById.get(String(ref));
    }
    if (detail) nameById.set(id, detail);
    return detail ? `${typeName(e.eventType)} ${detail}` : typeName(e.eventType);
  });
}

/** The event that closes a run (completed, failed, continued as new, …). */
export function isClosed(e: HistoryEvent): boolean {
  return Boolean(
    e.workflowExecutionCompletedEventAttributes ||
      e.workflowExecutionFailedEventAttributes ||
      e.workflowExecutionTerminatedEventAttributes ||
      e.workflowExecutionContinuedAsNewEventAttributes ||
      e.workflowExecutionTimedOutEventAttributes ||
      e.workflowExecutionCanceledEventAttributes,
  );
}

/** The durations of the timers a history started and has not yet fired or cancelled; none once it closed. */
export function pendingTimersMs(events: readonly HistoryEvent[]): number[] {
  const pending = new Map<string, number>();
  for (const e of events) {
    const started = e.timerStartedEventAttributes;
    if (started) pending.set(String(started.timerId), Number(started.startToFireTimeout?.seconds ?? 0) * 1000 + Math.floor((started.startToFireTimeout?.nanos ?? 0) / 1e6));
    const ended = e.timerFiredEventAttributes ?? e.timerCanceledEventAttributes;
    if (ended) pending.delete(String(ended.timerId));
    if (isClosed(e)) pending.clear();
  }
  return [...pending.values()];
}

export function marksOf(executions: readonly Execution[]): HistoryMarks {
  return new Map(executions.map((x) => [key(x), Number(x.events.at(-1)?.eventId ?? 0)]));
}

const add = (to: EventUse, events: number, bytes: number, payload: number) => {
  to.events += events;
  to.bytes += bytes;
  to.payloadBytes += payload;
};

/** The events each execution gained since `marks` (all of them for an execution not in `marks`). */
export function historyUse(executions: readonly Execution[], marks: HistoryMarks): HistoryUse {
  const use: HistoryUse = { events: 0, bytes: 0, payloadBytes: 0, byWorkflowType: {}, byEvent: {} };
  for (const x of executions) {
    const seen = marks.get(key(x)) ?? 0;
    const labels = eventLabels(x.events);
    let grew = false;
    x.events.forEach((e, i) => {
      if (Number(e.eventId) <= seen) return;
      grew = true;
      const bytes = eventBytes(e);
      const payload = payloadBytes(e);
      add(use, 1, bytes, payload);
      add((use.byEvent[`${x.workflowType}: ${labels[i]}`] ??= { events: 0, bytes: 0, payloadBytes: 0 }), 1, bytes, payload);
      add((use.byWorkflowType[x.workflowType] ??= { events: 0, bytes: 0, payloadBytes: 0, executions: 0 }), 1, bytes, payload);
    });
    if (grew) use.byWorkflowType[x.workflowType].executions += 1;
  }
  return use;
}

/**
 * Every execution of the client's namespace with its whole history, the Temporal Schedules'
 * own scheduler workflows included when the server keeps them as workflows.
 */
export async function readHistories(client: Client): Promise<Execution[]> {
  const listed: { workflowId: string; runId: string; workflowType: string }[] = [];
  for (const query of ['', 'TemporalNamespaceDivision IS NOT NULL']) {
    try {
      for await (const w of client.workflow.list(query ? { query } : {})) listed.push({ workflowId: w.workflowId, runId: w.runId, workflowType: w.type });
    } catch {
      // A server that does not index the namespace division: the ordinary executions only.
    }
  }
  const unique = [...new Map(listed.map((w) => [key(w), w])).values()];
  const out: Execution[] = [];
  for (const w of unique) {
    const history = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    out.push({ ...w, events: history.events ?? [] });
  }
  return out;
}

/** Writes each execution's history as JSON (payload data in base64), for reading by hand. */
export function dumpHistories(dir: string, executions: readonly Execution[]): void {
  mkdirSync(dir, { recursive: true });
  for (const x of executions) {
    const history = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.create({ events: x.events }), { longs: String, enums: String, bytes: String });
    writeFileSync(join(dir, `${x.workflowId.replace(/[^A-Za-z0-9._-]+/g, '_')}.${x.runId}.json`), JSON.stringify(history, null, 1));
  }
}
