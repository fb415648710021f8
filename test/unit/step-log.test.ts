// StepLog (workflows/progress.ts), the steps a workflow reports: plain steps, and steps of
// parts that start at different times (one apply per server, each once its server is ready).
import { describe, expect, it } from 'vitest';
import { StepLog } from '../../workflows/progress';

const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('StepLog.parts', () => {
  it('starts the step with its first part and ends it with its last', async () => {
    const log = new StepLog();
    const part = log.parts('configure-workers', 2);
    expect(log.steps).toEqual([]); // nothing is recorded before a part starts
    await after(60);
    const first = part(async () => {
      await after(20);
      return 'a';
    });
    await after(40);
    const second = part(async () => 'b');
    expect(log.phase).toBe('configure-workers');
    expect(log.steps[0].status).toBe('running');
    expect(await Promise.all([first, second])).toEqual(['a', 'b']);
    const [step] = log.steps;
    expect(step).toMatchObject({ name: 'configure-workers', status: 'done' });
    // Measured from the first part (after the 60 ms wait), so well under the whole 100 ms.
    expect(step.durationMs!).toBeGreaterThanOrEqual(35);
    expect(step.durationMs!).toBeLessThan(90);
    expect(log.steps).toHaveLength(1);
  });

  it('marks the step failed when a part fails, and lets the error through', async () => {
    const log = new StepLog();
    const part = log.parts('configure-control-planes', 2);
    const failing = part(async () => {
      throw new Error('apply refused on srv-b');
    });
    await expect(failing).rejects.toThrow('apply refused on srv-b');
    await part(async () => 'ok');
    expect(log.steps[0]).toMatchObject({ status: 'failed', detail: 'apply refused on srv-b' });
    expect(log.steps[0].durationMs).toBeGreaterThanOrEqual(0);
  });

  it('records a done step of 0 ms when there are no parts', () => {
    const log = new StepLog();
    log.parts('configure-workers', 0);
    expect(log.steps).toEqual([expect.objectContaining({ name: 'configure-workers', status: 'done', durationMs: 0, detail: 'none' })]);
  });
});
