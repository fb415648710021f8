// The footprint benchmark's arithmetic: reading the server's `action` counter, counting what a
// run added to the histories, and scaling a window to a cluster-day.
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { actionDelta, parseActionCounts, totalActions } from '../../bench/footprint/actions';
import { eventBytes, eventLabels, historyUse, marksOf, payloadBytes, pendingTimersMs, type Execution } from '../../bench/footprint/histories';
import type { Footprint } from '../../bench/footprint/meter';
import { perDay, scaled } from '../../bench/footprint/summary';

const { EventType } = temporal.api.enums.v1;
const json = (value: unknown) => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(value)) });
const event = (eventId: number, fields: Record<string, unknown>) => temporal.api.history.v1.HistoryEvent.fromObject({ eventId, ...fields });

const EXPOSITION = [
  '# HELP action action',
  '# TYPE action counter',
  'action{action_type="grpc_StartWorkflowExecution",namespace="default",operation="StartWorkflowExecution",service_name="frontend"} 3',
  'action{action_type="command_ScheduleActivityTask",namespace="default",operation="RespondWorkflowTaskCompleted",service_name="history"} 5',
  'action{action_type="command_ScheduleActivityTask",namespace="default",operation="Other",service_name="history"} 2',
  'action{action_type="grpc_StartWorkflowExecution",namespace="temporal_system",operation="StartWorkflowExecution",service_name="frontend"} 7',
  'action_latency_bucket{action_type="grpc_StartWorkflowExecution",namespace="default",le="1"} 99',
  'actions_total{action_type="grpc_StartWorkflowExecution",namespace="default"} 42',
  'action{action_type="grpc_Signal\\"Quoted",namespace="default"} 1',
].join('\n');

describe('parseActionCounts', () => {
  it('sums the counter of one namespace by action type, whatever the other labels', () => {
    expect(parseActionCounts(EXPOSITION, 'default')).toEqual({ grpc_StartWorkflowExecution: 3, command_ScheduleActivityTask: 7, 'grpc_Signal"Quoted': 1 });
  });
  it('leaves out the other namespaces and the metrics whose name only starts like it', () => {
    expect(parseActionCounts(EXPOSITION, 'temporal_system')).toEqual({ grpc_StartWorkflowExecution: 7 });
  });
  it('reads nothing from a server that exposes no action counter', () => {
    expect(parseActionCounts('# nothing here\nother{namespace="default"} 1', 'default')).toEqual({});
  });
});

describe('actionDelta', () => {
  it('counts what moved, new types included, and leaves out what did not', () => {
    const delta = actionDelta({ a: 2, b: 5 }, { a: 2, b: 8, c: 1 });
    expect(delta).toEqual({ b: 3, c: 1 });
    expect(totalActions(delta)).toBe(4);
  });
});

describe('history use', () => {
  const pass: Execution = {
    workflowId: 'c/health/pass-1',
    runId: 'r1',
    workflowType: 'healthCheck',
    events: [
      event(1, { eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, workflowExecutionStartedEventAttributes: { input: { payloads: [json({ cluster: 'c' })] } } }),
      event(2, { eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, activityTaskScheduledEventAttributes: { activityType: { name: 'observe' } } }),
      event(3, { eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, activityTaskCompletedEventAttributes: { scheduledEventId: 2, result: { payloads: [json({ nodes: [1, 2, 3] })] } } }),
    ],
  };
  const watcher: Execution = {
    workflowId: 'c/watcher',
    runId: 'w1',
    workflowType: 'clusterWatcher',
    events: [
      event(1, { eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED }),
      event(2, { eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED }),
      event(3, { eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, workflowExecutionUpdateAcceptedEventAttributes: { acceptedRequest: { input: { name: 'report', args: { payloads: [json('x')] } } } } }),
    ],
  };

  it('names activity and update events by what they concern, completions through their scheduled event', () => {
    expect(eventLabels(pass.events)).toEqual(['WorkflowExecutionStarted', 'ActivityTaskScheduled observe', 'ActivityTaskCompleted observe']);
    expect(eventLabels(watcher.events)[2]).toBe('WorkflowExecutionUpdateAccepted report');
  });

  it('measures a whole history as its serialized History message', () => {
    const use = historyUse([pass], new Map());
    expect(use.events).toBe(3);
    expect(use.bytes).toBe(temporal.api.history.v1.History.encode({ events: pass.events }).finish().length);
    expect(use.payloadBytes).toBe(JSON.stringify({ cluster: 'c' }).length + JSON.stringify({ nodes: [1, 2, 3] }).length);
  });

  it('counts a new run whole and a long-lived run only for the events it gained', () => {
    const marks = marksOf([{ ...watcher, events: watcher.events.slice(0, 2) }]);
    const use = historyUse([pass, watcher], marks);
    expect(use.byWorkflowType.clusterWatcher).toEqual({ events: 1, bytes: eventBytes(watcher.events[2]), payloadBytes: 3, executions: 1 });
    expect(use.byWorkflowType.healthCheck.executions).toBe(1);
    expect(use.events).toBe(4);
    expect(Object.keys(use.byEvent)).toContain('clusterWatcher: WorkflowExecutionUpdateAccepted report');
  });

  it('counts nothing for an execution that did not change', () => {
    expect(historyUse([pass], marksOf([pass]))).toMatchObject({ events: 0, bytes: 0, byWorkflowType: {} });
  });

  it('finds payloads at any depth and nowhere else', () => {
    expect(payloadBytes({ a: { b: [json('ab'), { data: 'not bytes', metadata: {} }] }, c: Buffer.from('raw bytes are not a payload') })).toBe(4);
  });
});

describe('pendingTimersMs', () => {
  const started = (eventId: number, timerId: string, seconds: number) => event(eventId, { eventType: EventType.EVENT_TYPE_TIMER_STARTED, timerStartedEventAttributes: { timerId, startToFireTimeout: { seconds } } });
  it('keeps the timers started and neither fired nor cancelled', () => {
    const events = [
      started(1, '1', 60),
      started(2, '2', 600),
      event(3, { eventType: EventType.EVENT_TYPE_TIMER_FIRED, timerFiredEventAttributes: { timerId: '1' } }),
      started(4, '3', 5),
      event(5, { eventType: EventType.EVENT_TYPE_TIMER_CANCELED, timerCanceledEventAttributes: { timerId: '3' } }),
    ];
    expect(pendingTimersMs(events)).toEqual([600_000]);
  });
  it('has none left once the workflow closed', () => {
    expect(pendingTimersMs([started(1, '1', 600), event(2, { eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, workflowExecutionCompletedEventAttributes: {} })])).toEqual([]);
  });
});

describe('scaling a monitoring window', () => {
  const window: Footprint = {
    actions: { grpc_StartWorkflowExecution: 4, command_ScheduleActivityTask: 8 },
    totalActions: 12,
    history: { events: 100, bytes: 40_000, payloadBytes: 30_000, byWorkflowType: { healthCheck: { events: 80, bytes: 36_000, payloadBytes: 29_000, executions: 4 } }, byEvent: {} },
    wallMs: 120_000,
    executions: [],
  };
  it('a window of 120 s is 720 of them a day', () => {
    const day = perDay(window, 120_000);
    expect(day.totalActions).toBe(12 * 720);
    expect(day.actions.command_ScheduleActivityTask).toBe(8 * 720);
    expect(day.history.bytes).toBe(40_000 * 720);
    expect(day.history.byWorkflowType.healthCheck.events).toBe(80 * 720);
  });
  it('a window of 4 passes is a quarter of it per pass, one healthCheck run each', () => {
    const one = scaled(window, 1 / 4);
    expect(one.totalActions).toBe(3);
    expect(one.history.bytes).toBe(10_000);
    expect(one.history.byWorkflowType.healthCheck.executions).toBe(1);
  });
});
