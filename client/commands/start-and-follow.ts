// What `bootstrap`, `replace` and `failover` share: connect, start (or join) the run, then
// either print where it is (without --wait) or follow its progress and print its result. A
// failed run becomes one error line with the root cause and the Web UI link.
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { connectClient, runUrl, temporalSettings } from '../connection';
import { rootCauseMessage } from '../failure';
import type { Output } from '../output';
import type { Started } from '../start';
import { followProgress } from './follow';

export interface StartAndFollow<R> {
  out: Output;
  wait: boolean | undefined;
  start(client: Client, taskQueue: string): Promise<Started<WorkflowHandle<(...args: any[]) => Promise<R>>>>;
  /** The header while following: the command word (bold) and what it acts on. */
  title: { command: string; subject: string };
  /** What failed, for the error line: "bootstrap of prod-gra". */
  what: string;
  /** Child runs to follow beside it (a bootstrap's per-server runs). */
  children?(client: Client): { label: string; handle: WorkflowHandle }[];
  /** The text result. */
  render(result: R): string;
}

export async function startAndFollow<R extends object>(o: StartAndFollow<R>): Promise<void> {
  const { out } = o;
  const settings = temporalSettings();
  const client = await connectClient(settings);
  try {
    const started = await o.start(client, settings.taskQueue);
    const where = { workflowId: started.workflowId, runId: started.runId, url: runUrl(settings, started.workflowId, started.runId) };
    if (!o.wait) {
      out.result(where, () => `started ${where.workflowId}\n  ${where.url}`);
      return;
    }
    out.info(`${out.paint.bold(o.title.command)} ${o.title.subject} — ${where.workflowId}\n  ${out.paint.dim(where.url)}`);
    try {
      const result = await followProgress(started.handle, out, { children: o.children?.(client) });
      out.result({ ...result, ...where }, () => o.render(result));
    } catch (err) {
      if (err instanceof WorkflowFailedError) throw new Error(`${o.what} failed: ${rootCauseMessage(err)}\n  ${where.url}`);
      throw err;
    }
  } finally {
    await client.connection.close();
  }
}
