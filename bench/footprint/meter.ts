// One reading of what Temporal has counted and stored, and the difference to a later one:
// billable actions from the server's `action` counter, history events and bytes from every
// execution's history. Readings are taken when the namespace is quiet (the counter stopped
// moving), so the work an operation sets off after it returns (a lock released, a watcher's
// update) is the operation's.
import type { Client } from '@temporalio/client';
import { actionDelta, scrapeActions, totalActions, type ActionCounts } from './actions';
import { historyUse, marksOf, readHistories, type Execution, type HistoryMarks, type HistoryUse } from './histories';

export interface Reading {
  at: number;
  actions: ActionCounts;
  marks: HistoryMarks;
}

export interface Footprint {
  /** Billable actions by action type. */
  actions: ActionCounts;
  totalActions: number;
  history: HistoryUse;
  /** From the first reading to the second. */
  wallMs: number;
  /** The executions that started or grew in between, with their whole histories (for timings). */
  executions: Execution[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const same = (a: ActionCounts, b: ActionCounts) => totalActions(actionDelta(a, b)) === 0 && totalActions(actionDelta(b, a)) === 0;

export class Meter {
  constructor(
    private readonly client: Client,
    private readonly metricsUrl: string,
    private readonly namespace: string,
  ) {}

  actions(): Promise<ActionCounts> {
    return scrapeActions(this.metricsUrl, this.namespace);
  }

  /**
   * Waits until `settled` says the work an operation left armed (a timer) is done, then until
   * the action counter holds still for `quietMs`; at most `boundMs` in all.
   */
  async settle(settled: () => Promise<boolean> = async () => true, quietMs = 2000, boundMs = 90_000): Promise<void> {
    const deadline = Date.now() + boundMs;
    const bound = () => {
      if (Date.now() > deadline) throw new Error(`the namespace did not go quiet within ${boundMs / 1000} s`);
    };
    while (!(await settled())) {
      bound();
      await sleep(500);
    }
    let last = await this.actions();
    let stillSince = Date.now();
    while (Date.now() - stillSince < quietMs) {
      bound();
      await sleep(500);
      const now = await this.actions();
      if (!same(last, now)) stillSince = Date.now();
      last = now;
    }
  }

  async read(): Promise<Reading> {
    const at = Date.now();
    const actions = await this.actions();
    const marks = marksOf(await readHistories(this.client));
    return { at, actions, marks };
  }

  async since(before: Reading): Promise<Footprint> {
    const at = Date.now();
    const actions = actionDelta(before.actions, await this.actions());
    const executions = await readHistories(this.client);
    const history = historyUse(executions, before.marks);
    const grew = executions.filter((x) => Number(x.events.at(-1)?.eventId ?? 0) > (before.marks.get(`${x.workflowId} ${x.runId}`) ?? 0));
    return { actions, totalActions: totalActions(actions), history, wallMs: at - before.at, executions: grew };
  }

  /** Settles, reads, runs `operation`, settles again and returns what it cost. */
  async measure<T>(operation: () => Promise<T>, settled?: () => Promise<boolean>): Promise<{ result: T; footprint: Footprint }> {
    await this.settle(settled);
    const before = await this.read();
    const result = await operation();
    await this.settle(settled);
    return { result, footprint: await this.since(before) };
  }
}
