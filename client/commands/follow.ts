// Following a running workflow: polls its progress query and prints each step as it
// finishes (text mode, on a TTY with a spinner line), then returns the result.
import type { WorkflowHandle } from '@temporalio/client';
import type { Progress } from '../../workflows/progress';
import type { Output } from '../output';
import { formatMs } from './common';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export async function followProgress<R>(handle: WorkflowHandle<(...args: any[]) => Promise<R>>, out: Output, intervalMs = 300): Promise<R> {
  let printed = 0;
  let frame = 0;
  let done = false;
  const resultPromise = handle.result().finally(() => {
    done = true;
  });
  const live = out.format === 'text' && out.color;
  while (!done) {
    await Promise.race([resultPromise.catch(() => undefined), new Promise((r) => setTimeout(r, intervalMs))]);
    let progress: Progress | undefined;
    try {
      progress = await handle.query<Progress>('progress');
    } catch {
      continue; // not yet picked up by a worker, or already closed
    }
    const finished = progress.steps.filter((s) => s.status !== 'running');
    if (live) process.stdout.write('\r\u001b[2K');
    for (const step of finished.slice(printed)) {
      const mark = step.status === 'failed' ? out.paint.red('✗') : step.status === 'skipped' ? out.paint.dim('-') : out.paint.green('✓');
      out.info(`  ${mark} ${step.name.padEnd(22)} ${formatMs(step.durationMs).padStart(9)}  ${out.paint.dim(step.detail ?? '')}`);
    }
    printed = Math.max(printed, finished.length);
    const running = progress.steps.filter((s) => s.status === 'running').map((s) => s.name);
    if (live && running.length > 0 && !done) process.stdout.write(`  ${SPINNER[frame++ % SPINNER.length]} ${running.join(', ')}`);
  }
  if (live) process.stdout.write('\r\u001b[2K');
  return resultPromise;
}
