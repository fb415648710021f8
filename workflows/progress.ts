// Step bookkeeping shared by the workflows: each step's start, duration and outcome, for
// the progress query and the final result (the CLI draws its timeline from it). Uses
// Date.now(), which inside a workflow is the deterministic workflow clock.
import { defineQuery } from '@temporalio/workflow';

export type StepStatus = 'running' | 'done' | 'skipped' | 'failed';

export interface StepRecord {
  name: string;
  status: StepStatus;
  startedAt: number;
  durationMs?: number;
  detail?: string;
}

export interface Progress {
  phase: string;
  steps: StepRecord[];
  /** Per-server phase, for workflows that fan out over servers. */
  servers?: Record<string, string>;
}

export const progressQuery = defineQuery<Progress>('progress');

/** Marks a step failed; of several failing parts, the first one's message stays. */
function failed(step: StepRecord, err: unknown): void {
  step.status = 'failed';
  step.detail ??= err instanceof Error ? err.message : String(err);
}

export class StepLog {
  readonly steps: StepRecord[] = [];
  phase = 'starting';

  /** Runs `fn` as a named step; records its duration and whether it failed. */
  async run<T>(name: string, fn: () => Promise<T>, describe?: (result: T) => string | undefined): Promise<T> {
    const step = this.open(name);
    try {
      const result = await fn();
      step.status = 'done';
      step.detail = describe?.(result);
      return result;
    } catch (err) {
      failed(step, err);
      throw err;
    } finally {
      step.durationMs = Date.now() - step.startedAt;
    }
  }

  /**
   * A step made of `count` parallel parts that each start when they are ready (one per
   * server, after that server's VMs): the step starts with the first part and ends with the
   * last, so its duration is the time spent in it, not the wait before it. No parts: a done
   * step of 0 ms.
   */
  parts(name: string, count: number): <T>(fn: () => Promise<T>) => Promise<T> {
    let step: StepRecord | undefined;
    let ended = 0;
    if (count === 0) this.steps.push({ name, status: 'done', startedAt: Date.now(), durationMs: 0, detail: 'none' });
    return async (fn) => {
      const current = (step ??= this.open(name));
      try {
        return await fn();
      } catch (err) {
        failed(current, err);
        throw err;
      } finally {
        ended += 1;
        if (ended === count) {
          if (current.status === 'running') current.status = 'done';
          current.durationMs = Date.now() - current.startedAt;
        }
      }
    };
  }

  /** A running step, now the current phase. */
  private open(name: string): StepRecord {
    const step: StepRecord = { name, status: 'running', startedAt: Date.now() };
    this.steps.push(step);
    this.phase = name;
    return step;
  }

  skip(name: string, detail: string): void {
    this.steps.push({ name, status: 'skipped', startedAt: Date.now(), durationMs: 0, detail });
  }

  snapshot(): Progress {
    return { phase: this.phase, steps: this.steps.map((s) => ({ ...s })) };
  }
}
