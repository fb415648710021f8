// Following a running workflow: polls its progress query (and its children's, such as the
// per-server provisionServer runs of a bootstrap) and prints each step as it finishes, with
// a spinner line on a TTY; then returns the result.
import type { WorkflowHandle } from '@temporalio/client';
import type { Progress } from '../../workflows/progress';
import type { Output } from '../output';
import { formatMs } from './common';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface FollowOptions {
  intervalMs?: number;
  /** Child runs to follow too, each printed with its label (e.g. the server name). */
  children?: { label: string; handle: WorkflowHandle }[];
}

export async function followProgress<R>(handle: WorkflowHandle<(...args: any[]) => Promise<R>>, out: Output, options: FollowOptions = {}): Promise<R> {
  const followed = [{ label: '', handle: handle as WorkflowHandle }, ...(options.children ?? [])];
  // Steps are only ever appended to a run's log, so a step is known by its index; they finish
  // in any order (parallel branches), so each is printed once, when it is no longer running.
  const printed = new Map<string, Set<number>>();
  let frame = 0;
  let done = false;
  const resultPromise = handle.result().finally(() => {
    done = true;
  });
  const live = out.format === 'text' && out.color;
  const poll = async () => {
    const running: string[] = [];
    for (const { label, handle: h } of followed) {
      let progress: Progress;
      try {
        progress = await h.query<Progress>('progress');
      } catch {
        continue; // not started yet, not picked up by a worker, or already closed
      }
      const seen = printed.get(label) ?? new Set<number>();
      printed.set(label, seen);
      if (live) process.stdout.write('\r\u001b[2K');
      progress.steps.forEach((step, index) => {
        if (step.status === 'running' || seen.has(index)) return;
        seen.add(index);
        const mark = step.status === 'failed' ? out.paint.red('✗') : step.status === 'skipped' ? out.paint.dim('-') : out.paint.green('✓');
        const name = label ? `${label} ${step.name}` : step.name;
        out.info(`  ${mark} ${name.padEnd(30)} ${formatMs(step.durationMs).padStart(9)}  ${out.paint.dim(step.detail ?? '')}`);
      });
      running.push(...progress.steps.filter((s) => s.status === 'running').map((s) => (label ? `${label} ${s.name}` : s.name)));
    }
    if (live && running.length > 0 && !done) process.stdout.write(`  ${SPINNER[frame++ % SPINNER.length]} ${running.slice(0, 4).join(', ')}${running.length > 4 ? ', ...' : ''}`);
  };
  while (!done) {
    await Promise.race([resultPromise.catch(() => undefined), new Promise((r) => setTimeout(r, options.intervalMs ?? 300))]);
    await poll();
  }
  if (live) process.stdout.write('\r\u001b[2K');
  return resultPromise;
}
