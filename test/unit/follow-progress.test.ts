// followProgress (client/commands/follow.ts) against a scripted run: steps of parallel
// branches finish out of order, and each is printed once, when it ends.
import type { WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { followProgress } from '../../client/commands/follow';
import type { Output } from '../../client/output';
import type { Progress, StepRecord } from '../../workflows/progress';

const step = (name: string, status: StepRecord['status'], durationMs?: number): StepRecord => ({ name, status, startedAt: 0, durationMs });

/** A handle whose progress query answers the next snapshot on each call; its result resolves after the last. */
function scriptedRun(snapshots: StepRecord[][]): WorkflowHandle {
  let call = 0;
  let finish!: (v: string) => void;
  const result = new Promise<string>((resolve) => (finish = resolve));
  return {
    query: async () => {
      const steps = snapshots[Math.min(call, snapshots.length - 1)];
      call += 1;
      if (call >= snapshots.length) finish('done');
      return { phase: 'x', steps } satisfies Progress;
    },
    result: () => result,
  } as unknown as WorkflowHandle;
}

function capture(): { out: Output; lines: string[] } {
  const lines: string[] = [];
  const id = (s: string) => s;
  return { lines, out: { format: 'text', color: false, info: (l) => lines.push(l), result: () => undefined, paint: { green: id, red: id, dim: id, bold: id, yellow: id } } };
}

describe('followProgress', () => {
  it('prints each step once, when it ends, whatever order the steps end in', async () => {
    const run = scriptedRun([
      [step('provision-servers', 'running'), step('talos-secrets', 'running')],
      [step('provision-servers', 'running'), step('talos-secrets', 'done', 80), step('talos-configs', 'running')],
      // talos-configs ends before provision-servers, which was started earlier
      [step('provision-servers', 'running'), step('talos-secrets', 'done', 80), step('talos-configs', 'done', 400)],
      [step('provision-servers', 'done', 6500), step('talos-secrets', 'done', 80), step('talos-configs', 'done', 400), step('configure-control-planes', 'failed', 90)],
    ]);
    const { out, lines } = capture();
    expect(await followProgress(run, out, { intervalMs: 1 })).toBe('done');
    const printed = lines.map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '));
    expect(printed).toEqual(['✓ talos-secrets', '✓ talos-configs', '✓ provision-servers', '✗ configure-control-planes']);
  });
});
