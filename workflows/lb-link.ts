// lbLink: set one LB VM's public link (Proxmox net1 link_down) up or down (docs/design.md §10.3).
//
// Workflow ID `<cluster>/lb-link/<server>`. keepalived flaps (MASTER → BACKUP → MASTER in a
// second), and the state asked for LAST must be the one left behind. Starters therefore use
// signal-with-start: the first trigger starts the run, every later one while it runs is a
// `linkRequest` signal to it (the run's own start input is its first request). The run applies
// requests one at a time and, after each write, looks whether a newer request stands
// (core/public-path/link-request.ts: by the trigger's own clock, so processes that race to
// Temporal cannot reorder keepalived's transitions); it ends when the link is in the standing
// state and no request has come for LINGER: the processes of transitions made close together
// may reach Temporal after the link was set, and a later run would know nothing of the
// earlier run's times. One writer per LB VM, always serial: a terminated earlier run could
// leave an activity in flight that lands after the last request's write (why not
// TERMINATE_EXISTING), and a joined trigger with the opposite state would be dropped (why not
// USE_EXISTING alone). A trigger after the run ended starts a new run.
import { ApplicationFailure, condition, continueAsNew, defineSignal, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { intentProblem, type LbLinkIntent, type LbLinkRequest } from '../core/intents';
import { standingLinkRequest } from '../core/public-path/link-request';
import { publicPathOf } from '../core/public-path/modes';
import { CLUSTER, OPERATION, SERVER } from '../core/search-attributes';
import * as profiles from './activity-profiles';
import { checkIntent, loadAcceptedSpec, refTo } from './accepted-spec';
import { progressQuery, StepLog, type StepRecord } from './progress';

const call = proxyActivities<Activities>(profiles.providerCall);

/** How long a run waits, once the link is set, for a request made at about the same time. */
export const LINGER = '5 seconds';

export type LbLinkInput = LbLinkIntent;

/** A later trigger's request to a running lbLink: `{state, reason?, at?}`. */
export const linkRequestSignal = defineSignal<[LbLinkRequest]>('linkRequest');

export interface LbLinkResult {
  cluster: string;
  server: string;
  /** The state the link was left in: the standing request's. */
  state: 'up' | 'down';
  /** The writes this run made, in order (an empty list: the link already was in that state). */
  changes: ('up' | 'down')[];
  /**
   * Requests this run took (its start input and every signal: signal-with-start gives the
   * first trigger's request both ways), and the signals it ignored as malformed.
   */
  requests: number;
  ignored: number;
  reason: string;
  generation: string;
  steps: StepRecord[];
  totalMs: number;
}

export async function lbLink(input: LbLinkInput): Promise<LbLinkResult> {
  const log = new StepLog();
  setHandler(progressQuery, () => log.snapshot());
  const startedAt = Date.now();

  checkIntent('lbLink', input);
  let standing: LbLinkRequest = { state: input.state, ...(input.reason !== undefined ? { reason: input.reason } : {}), ...(input.at !== undefined ? { at: input.at } : {}) };
  let requests = 1;
  let ignored = 0;
  // A signal cannot be refused: a malformed one is counted and left out (starters check first).
  setHandler(linkRequestSignal, (request) => {
    if (intentProblem('lbLinkRequest', request) !== undefined) {
      ignored += 1;
      return;
    }
    requests += 1;
    standing = standingLinkRequest(standing, request);
  });

  const { spec, generation } = await loadAcceptedSpec(log, input.cluster);
  const ref = refTo(spec, generation);
  if (!workflowInfo().typedSearchAttributes.get(CLUSTER)) {
    upsertSearchAttributes([
      { key: CLUSTER, value: spec.metadata.name },
      { key: OPERATION, value: 'lb-link' },
      { key: SERVER, value: input.server },
    ]);
  }
  const server = spec.servers.find((s) => s.name === input.server);
  if (!server) {
    throw ApplicationFailure.nonRetryable(`server: ${input.server} is not a server of cluster ${spec.metadata.name} (${spec.servers.map((s) => s.name).join(', ')})`, 'BadInput');
  }
  if (!server.vms.lb) {
    throw ApplicationFailure.nonRetryable(`server: ${input.server} has no vms.lb in the spec, so no LB VM whose public link to set`, 'BadInput');
  }
  const { mode } = publicPathOf(spec);
  if (mode === 'vrack-block') {
    throw ApplicationFailure.nonRetryable(
      'publicPath.mode: vrack-block gives the LB VMs no public NIC (the addresses live on the vRack NIC and move by gratuitous ARP); there is no link to set',
      'BadInput',
    );
  }

  const changes: ('up' | 'down')[] = [];
  let current: 'up' | 'down' | undefined;
  for (;;) {
    while (current !== standing.state) {
      const want = standing.state;
      const set = await log.run(`link-${want}`, () => call.setLbPublicLink(ref, input.server, want === 'up'), (r) => (r.changed ? `VM ${r.vmid} net1 link ${r.state}` : `VM ${r.vmid} net1 already ${r.state}`));
      if (set.changed) changes.push(set.state);
      current = set.state;
    }
    const seen = requests;
    log.phase = 'lingering';
    if (!(await condition(() => requests !== seen, LINGER))) break;
    // A keepalived that never stops flapping would grow one history without end: go on in a
    // new run with the standing request as its input (its `at` keeps the order).
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof lbLink>({ cluster: input.cluster, server: input.server, ...standing });
    }
  }
  log.phase = 'done';
  return {
    cluster: spec.metadata.name,
    server: input.server,
    state: standing.state,
    changes,
    requests,
    ignored,
    reason: standing.reason ?? 'manual',
    generation,
    steps: log.steps,
    totalMs: Date.now() - startedAt,
  };
}
