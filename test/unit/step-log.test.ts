// StepLog (workflows/progress.ts), the steps a workflow reports: plain steps, and steps of
// parts that start at different times (one apply per server, each once its server is ready).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StepLog } from '../../workflows/progress';

// StepLog reads Date.now() (the workflow clock in a workflow); here a fake clock, so the
// recorded start and duration are exact rather than bounded guesses about a real timer.
const T0 = Date.UTC(2026, 0, 1);
const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('StepLog.parts', () => {
  it('starts the step with its first part and ends it when the last part to finish does', async () => {
    const log = new StepLog();
    const part = log.parts('configure-workers', 2);
    expect(log.steps).toEqual([]); // nothing is recorded before a part starts
    await vi.advanceTimersByTimeAsync(60);
    const first = part(async () => {
      await after(70);
      return 'a';
    });
    await vi.advanceTimersByTimeAsync(40);
    const second = part(async () => 'b');
    expect(log.phase).toBe('configure-workers');
    expect(await second).toBe('b');
    expect(log.steps[0].status, 'the first part (started first) is still running').toBe('running');
    await vi.advanceTimersByTimeAsync(30);
    expect(await first).toBe('a');
    // From the first part's start (T0 + 60) to the first part's end (T0 + 130), the last to finish.
    expect(log.steps).toEqual([expect.objectContaining({ name: 'configure-workers', status: 'done', startedAt: T0 + 60, durationMs: 70 })]);
  });

  it('marks the step failed when a part fails, and lets the error through', async () => {
    const log = new StepLog();
    const part = log.parts('configure-control-planes', 2);
    const failing = part(async () => {
      throw new Error('apply refused on srv-b');
    });
    await expect(failing).rejects.toThrow('apply refused on srv-b');
    await vi.advanceTimersByTimeAsync(25);
    await part(async () => 'ok');
    expect(log.steps[0]).toMatchObject({ status: 'failed', detail: 'apply refused on srv-b', startedAt: T0, durationMs: 25 });
  });

  it('records a done step of 0 ms when there are no parts', () => {
    const log = new StepLog();
    log.parts('configure-workers', 0);
    expect(log.steps).toEqual([expect.objectContaining({ name: 'configure-workers', status: 'done', durationMs: 0, detail: 'none' })]);
  });
});
