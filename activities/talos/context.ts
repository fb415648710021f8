// What every Talos activity shares: running talosctl (heartbeating, cancellable, its failures
// classified), the state store, the node lookup and bounded waits. The activities themselves
// live by concern beside it: configs.ts, etcd.ts, nodes.ts.
//
// Errors are classified from talosctl's stderr (core/talos/failure.ts): an unreachable node
// or a busy etcd is retryable; a node that does not trust this cluster, a refused etcd
// change or a missing state file is not, and the message says what to do next.
import { ApplicationFailure } from '@temporalio/common';
import { classifyTalosctlFailure, nodeErrorWarning, type TalosFailure, type TalosFailureKind } from '../../core/talos/failure';
import { talosNode, type TalosNode, type TalosRole } from '../../core/talos/nodes';
import type { ClusterSpec } from '../../core/spec/schema';
import { cancellationSignal, heartbeat, pause } from '../activity-context';
import { StateStore, STATE_FILES } from './state-store';
import type { WorkerPolicy } from '../../core/spec/worker-policy';
import { reportingFinder, TalosctlNotFound } from './find-talosctl';
import { runTalosctl, TalosctlSpawnError, versionArgs, type AuthTarget, type TalosctlResult } from './talosctl';

export interface TalosActivityDeps {
  /** The worker's policy: a spec's talos.talosctl outside its path roots is not run (./find-talosctl.ts). */
  policy?: WorkerPolicy;
  /** Where the talosctl lookup reports which binary it uses and why not the others (default: stderr). */
  log?: (line: string) => void;
  /** Environment of talosctl runs and of the state-store default ($AUTOK8S_HOME). */
  env?: NodeJS.ProcessEnv;
  /** How often waits poll (default 1 s). */
  pollIntervalMs?: number;
  /** Timeout of one talosctl call (default 30 s). */
  callTimeoutMs?: number;
  /** How long bootstrapEtcd waits for a freshly configured node's API (default 20 s; the activity retry covers longer). */
  apiWaitMs?: number;
  /** Bound of waitForEtcdMember and nodeReady waits (default 10 min). */
  memberWaitMs?: number;
  /** Default `--wait-timeout` of clusterHealth (default 10m). */
  healthWaitTimeout?: string;
}

/** Well inside the shortest heartbeat timeout the workflows use (10 s). */
const HEARTBEAT_EVERY_MS = 4000;

const FAILURE_TEXT: Record<TalosFailureKind, { what: string; next?: string }> = {
  unreachable: { what: 'node not reachable', next: 'it may still be booting or rebooting; the call is retried' },
  timeout: { what: 'no answer in time', next: 'the call is retried' },
  alreadyExists: { what: 'already exists' },
  notInMaintenance: { what: 'the node is not in maintenance mode (it already has a config)' },
  untrusted: {
    what: "the node does not trust this cluster's talosconfig",
    next: 'it is still in maintenance mode (apply its config first) or belongs to another cluster (reset it or recreate its VM)',
  },
  etcdUnavailable: { what: 'etcd is not available on that node right now', next: 'the call is retried' },
  quorumRefused: { what: 'etcd refused the change because it would lose quorum', next: 'repair the unhealthy members first' },
  notFound: { what: 'not found' },
  notReady: { what: 'the node is not ready for this yet', next: 'the call is retried' },
  badRequest: { what: 'talosctl or the node rejected the request', next: 'check the talosctl version against spec.talos.version and report this' },
  unknown: { what: 'talosctl failed' },
};

export const FAILURE_TYPE: Record<TalosFailureKind, string> = {
  unreachable: 'TalosNodeUnreachable',
  timeout: 'TalosTimeout',
  alreadyExists: 'TalosAlreadyExists',
  notInMaintenance: 'TalosNotInMaintenance',
  untrusted: 'TalosUntrusted',
  etcdUnavailable: 'TalosEtcdUnavailable',
  quorumRefused: 'TalosQuorumRefused',
  notFound: 'TalosNotFound',
  notReady: 'TalosNotReady',
  badRequest: 'TalosBadRequest',
  unknown: 'TalosctlFailed',
};

export function toFailure(f: TalosFailure, doing: string, target: string): ApplicationFailure {
  const text = FAILURE_TEXT[f.kind];
  const message = `${doing} on ${target}: ${text.what}${f.summary ? ` (${f.summary})` : ''}${text.next ? `; ${text.next}` : ''}`;
  return f.retryable ? ApplicationFailure.retryable(message, FAILURE_TYPE[f.kind]) : ApplicationFailure.nonRetryable(message, FAILURE_TYPE[f.kind]);
}

export function badInput(err: unknown): ApplicationFailure {
  return ApplicationFailure.nonRetryable((err as Error).message, 'BadInput');
}

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return results;
}

export type TalosContext = ReturnType<typeof createTalosContext>;

export function createTalosContext(deps: TalosActivityDeps = {}) {
  const env = deps.env ?? process.env;
  const pollMs = deps.pollIntervalMs ?? 1000;
  const callTimeoutMs = deps.callTimeoutMs ?? 30_000;
  const apiWaitMs = deps.apiWaitMs ?? 20_000;
  const memberWaitMs = deps.memberWaitMs ?? 10 * 60_000;
  const defaultHealthWait = deps.healthWaitTimeout ?? '10m';

  const storeOf = (spec: ClusterSpec) => StateStore.forCluster(spec, env);
  const talosctlPath = reportingFinder({ env, policy: deps.policy, log: deps.log });

  function nodeOf(spec: ClusterSpec, server: string, role: TalosRole): TalosNode {
    try {
      return talosNode(spec, server, role);
    } catch (err) {
      throw badInput(err);
    }
  }

  /** Runs talosctl; a long run (health waits up to its --wait-timeout) heartbeats meanwhile. */
  async function talosctl(spec: ClusterSpec, args: string[], timeoutMs = callTimeoutMs): Promise<TalosctlResult> {
    const command = args.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ');
    const beat = setInterval(() => heartbeat({ running: `talosctl ${command}` }), HEARTBEAT_EVERY_MS);
    try {
      return await runTalosctl(talosctlPath(spec), args, { timeoutMs, env, signal: cancellationSignal() });
    } catch (err) {
      if (err instanceof TalosctlSpawnError || err instanceof TalosctlNotFound) throw ApplicationFailure.nonRetryable(err.message, 'TalosctlMissing');
      throw err;
    } finally {
      clearInterval(beat);
    }
  }

  const classify = (r: TalosctlResult) => classifyTalosctlFailure({ exitCode: r.exitCode, stderr: r.stderr, timedOut: r.timedOut });
  /** Success means exit 0 AND no per-node error folded into a warning (etcd members, version). */
  const succeeded = (r: TalosctlResult) => r.exitCode === 0 && nodeErrorWarning(r.stderr) === undefined;

  async function requireState(spec: ClusterSpec, name: string, producer: string): Promise<string> {
    const store = storeOf(spec);
    const path = await store.securePath(name); // its mode is checked every time talosctl gets it
    if (path === undefined) {
      throw ApplicationFailure.nonRetryable(`${name} is missing from the state store ${store.dir}; run ${producer} first`, 'TalosStateMissing');
    }
    return path;
  }

  async function authTo(spec: ClusterSpec, node: TalosNode): Promise<AuthTarget> {
    return { node: node.ip, endpoint: node.ip, talosconfig: await requireState(spec, STATE_FILES.talosconfig, 'renderMachineConfigs') };
  }

  const configName = (node: TalosNode) => `${STATE_FILES.configsDir}/${node.hostname}.yaml`;
  const patchName = (node: TalosNode) => `${STATE_FILES.patchesDir}/${node.hostname}.yaml`;

  /**
   * Polls `check` until it returns a value, heartbeating every round. Retryable failures
   * keep the wait going; the last one is reported when `boundMs` runs out.
   */
  async function waitFor<T>(what: string, boundMs: number, check: () => Promise<{ done: T } | { notYet: string }>): Promise<T> {
    const deadline = Date.now() + boundMs;
    let round = 0;
    for (;;) {
      round += 1;
      const outcome = await check();
      if ('done' in outcome) return outcome.done;
      heartbeat({ waiting: what, round, last: outcome.notYet });
      if (Date.now() + pollMs > deadline) {
        throw ApplicationFailure.retryable(`${what}: still not done after ${Math.round(boundMs / 1000)} s (last: ${outcome.notYet}); the activity is retried`, 'TalosWaitTimeout');
      }
      await pause(pollMs);
    }
  }

  /** Waits until `node` answers authenticated calls (after apply-config it installs and reboots). */
  async function waitForApi(spec: ClusterSpec, node: TalosNode, boundMs: number): Promise<void> {
    const target = await authTo(spec, node);
    await waitFor(`Talos API of ${node.hostname} (${node.ip})`, boundMs, async () => {
      const r = await talosctl(spec, versionArgs(target));
      if (succeeded(r)) return { done: undefined };
      const f = classify(r);
      if (!f.retryable) throw toFailure(f, 'talosctl version', node.ip);
      return { notYet: f.summary };
    });
  }

  return { env, callTimeoutMs, apiWaitMs, memberWaitMs, defaultHealthWait, storeOf, nodeOf, talosctl, talosctlPath, classify, succeeded, requireState, authTo, configName, patchName, waitFor, waitForApi };
}
