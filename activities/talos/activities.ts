// Talos activities: JSON in, JSON out, each idempotent (look before acting, "already done"
// is success). They drive the talosctl binary; secrets, machine configs, talosconfig and
// kubeconfig stay in the state store and only refs and paths leave these functions.
//
// Errors are classified from talosctl's stderr (core/talos/failure.ts): an unreachable node
// or a busy etcd is retryable; a node that does not trust this cluster, a refused etcd
// change or a missing state file is not, and the message says what to do next.
import { readFile, rm } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { memberPeerIp, parseEtcdMembers, TalosOutputError, type EtcdMemberRow } from '../../core/talos/etcd-members';
import { decideApplyMode } from '../../core/talos/apply-mode';
import { classifyTalosctlFailure, nodeErrorWarning, type TalosFailure, type TalosFailureKind } from '../../core/talos/failure';
import { clusterEndpoint, controlPlaneNodes, talosNode, talosNodes, workerNodes, type TalosNode, type TalosRole } from '../../core/talos/nodes';
import { renderNodePatch } from '../../core/talos/patch';
import { parseGetMembers, parseMachineStatus, type TalosMember } from '../../core/talos/resources';
import { parseVersionShort } from '../../core/talos/version';
import { parseDuration } from '../../core/spec/duration';
import type { ClusterSpec } from '../../core/spec/schema';
import { cancellationSignal, heartbeat, pause } from '../activity-context';
import { StateStore, STATE_FILES } from './state-store';
import {
  applyConfigArgs,
  bootstrapArgs,
  etcdLeaveArgs,
  etcdMembersArgs,
  etcdRemoveMemberArgs,
  genConfigArgs,
  type GenOutputType,
  genSecretsArgs,
  getMachineStatusArgs,
  getMachineStatusManyArgs,
  getMembersArgs,
  healthArgs,
  kubeconfigArgs,
  resetArgs,
  resolveTalosctlPath,
  runTalosctl,
  TalosctlSpawnError,
  versionArgs,
  type AuthTarget,
  type TalosctlResult,
} from './talosctl';

export interface TalosActivityDeps {
  /** Used when the spec names no talosctl (before $TALOSCTL and PATH). */
  talosctlPath?: string;
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

export interface RenderedConfig {
  server: string;
  role: TalosRole;
  hostname: string;
  ip: string;
  ref: string;
  path: string;
}

export interface EtcdMemberInfo extends EtcdMemberRow {
  /** The spec server whose control plane this member is, when it matches one. */
  server?: string;
  ip?: string;
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

const FAILURE_TYPE: Record<TalosFailureKind, string> = {
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

function toFailure(f: TalosFailure, doing: string, target: string): ApplicationFailure {
  const text = FAILURE_TEXT[f.kind];
  const message = `${doing} on ${target}: ${text.what}${f.summary ? ` (${f.summary})` : ''}${text.next ? `; ${text.next}` : ''}`;
  return f.retryable ? ApplicationFailure.retryable(message, FAILURE_TYPE[f.kind]) : ApplicationFailure.nonRetryable(message, FAILURE_TYPE[f.kind]);
}

function badInput(err: unknown): ApplicationFailure {
  return ApplicationFailure.nonRetryable((err as Error).message, 'BadInput');
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
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

export function createTalosActivities(deps: TalosActivityDeps = {}) {
  const env = deps.env ?? process.env;
  const pollMs = deps.pollIntervalMs ?? 1000;
  const callTimeoutMs = deps.callTimeoutMs ?? 30_000;
  const apiWaitMs = deps.apiWaitMs ?? 20_000;
  const memberWaitMs = deps.memberWaitMs ?? 10 * 60_000;
  const defaultHealthWait = deps.healthWaitTimeout ?? '10m';

  const storeOf = (spec: ClusterSpec) => StateStore.forCluster(spec, env);

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
      return await runTalosctl(resolveTalosctlPath(spec, { talosctlPath: deps.talosctlPath, env }), args, { timeoutMs, env, signal: cancellationSignal() });
    } catch (err) {
      if (err instanceof TalosctlSpawnError) throw ApplicationFailure.nonRetryable(err.message, 'TalosctlMissing');
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

  function serverOfMember(spec: ClusterSpec, m: EtcdMemberRow): EtcdMemberInfo {
    const ip = memberPeerIp(m);
    const cp = controlPlaneNodes(spec).find((n) => n.hostname === m.hostname || n.ip === ip);
    return { ...m, ...(ip ? { ip } : {}), ...(cp ? { server: cp.server } : {}) };
  }

  /** One `etcd members` call; a failure comes back classified instead of thrown. */
  async function listMembers(spec: ClusterSpec, via: TalosNode): Promise<{ members: EtcdMemberInfo[] } | { failure: TalosFailure }> {
    const r = await talosctl(spec, etcdMembersArgs(await authTo(spec, via)));
    if (!succeeded(r)) return { failure: classify(r) };
    try {
      return { members: parseEtcdMembers(r.stdout).map((m) => serverOfMember(spec, m)) };
    } catch (err) {
      if (!(err instanceof TalosOutputError)) throw err;
      throw ApplicationFailure.nonRetryable(`${err.message}; is the talosctl at ${resolveTalosctlPath(spec, { talosctlPath: deps.talosctlPath, env })} a 1.x release matching spec.talos.version?`, 'TalosOutputUnreadable');
    }
  }

  /**
   * One `talosctl gen config` of the cluster (its name, endpoint, secrets, install disk and
   * versions from the spec) into `o.output`; a failed run leaves no partial file behind.
   */
  async function genConfig(spec: ClusterSpec, secretsFile: string, o: { outputTypes: GenOutputType[]; patches?: string[]; output: string }, what: string, target: string): Promise<void> {
    const r = await talosctl(
      spec,
      genConfigArgs({
        clusterName: spec.metadata.name,
        endpoint: clusterEndpoint(spec),
        secretsFile,
        ...(o.patches ? { patches: o.patches } : {}),
        installDisk: spec.talos.installDisk,
        kubernetesVersion: spec.talos.kubernetesVersion,
        talosVersion: spec.talos.version,
        outputTypes: o.outputTypes,
        output: o.output,
      }),
      60_000,
    );
    if (r.exitCode !== 0) {
      await rm(o.output, { force: true });
      throw toFailure(classify(r), what, target);
    }
  }

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

  return {
    /** Generates the cluster's Talos secrets once. Never regenerates: new secrets would orphan every node. */
    async ensureTalosSecrets(spec: ClusterSpec): Promise<{ created: boolean; ref: string }> {
      const store = storeOf(spec);
      await store.ensureDir();
      const ref = store.ref(STATE_FILES.secrets);
      if (await store.exists(STATE_FILES.secrets)) {
        await store.secure(STATE_FILES.secrets);
        return { created: false, ref };
      }
      // talosctl writes a temporary file; a hard link then installs it only if no other
      // attempt got there first, so two racing attempts still leave one bundle.
      const temp = store.tempPath(STATE_FILES.secrets);
      const r = await talosctl(spec, genSecretsArgs(temp), 60_000);
      if (r.exitCode !== 0) {
        await rm(temp, { force: true });
        throw toFailure(classify(r), 'talosctl gen secrets', 'the worker');
      }
      const created = await store.installIfAbsent(temp, STATE_FILES.secrets);
      return { created, ref };
    },

    /**
     * Renders one machine config per Talos node (gen config with that node's patch) and the
     * talosconfig. Same inputs, same files: a config is replaced only when its content changes;
     * the talosconfig is generated once (its client certificate is new at every generation).
     */
    async renderMachineConfigs(spec: ClusterSpec): Promise<{ configs: RenderedConfig[]; talosconfig: { ref: string; path: string }; changed: string[] }> {
      const store = storeOf(spec);
      const secretsFile = await requireState(spec, STATE_FILES.secrets, 'ensureTalosSecrets');
      await store.ensureDir(STATE_FILES.configsDir);
      await store.ensureDir(STATE_FILES.patchesDir);
      const changed: string[] = [];

      const configs = await mapLimit(talosNodes(spec), 4, async (node) => {
        const patch = renderNodePatch(spec, node.server, node.role);
        if ((await store.read(patchName(node))) !== patch) await store.writeAtomic(patchName(node), patch);
        const temp = store.tempPath(configName(node));
        await genConfig(spec, secretsFile, { outputTypes: [node.machineType], patches: [store.path(patchName(node))], output: temp }, 'talosctl gen config', node.hostname);
        const fresh = await readFile(temp, 'utf8');
        if ((await store.read(configName(node))) === fresh) {
          await rm(temp, { force: true });
          await store.secure(configName(node));
        } else {
          await store.install(temp, configName(node));
          changed.push(node.hostname);
        }
        heartbeat({ rendered: node.hostname });
        return { server: node.server, role: node.role, hostname: node.hostname, ip: node.ip, ref: store.ref(configName(node)), path: store.path(configName(node)) };
      });

      if (!(await store.exists(STATE_FILES.talosconfig))) {
        const temp = store.tempPath(STATE_FILES.talosconfig);
        await genConfig(spec, secretsFile, { outputTypes: ['talosconfig'], output: temp }, 'talosctl gen config (talosconfig)', 'the worker');
        if (await store.installIfAbsent(temp, STATE_FILES.talosconfig)) changed.push(STATE_FILES.talosconfig);
      }
      return { configs, talosconfig: { ref: store.ref(STATE_FILES.talosconfig), path: store.path(STATE_FILES.talosconfig) }, changed };
    },

    /**
     * Gives a node its machine config. Asks first with this cluster's credentials (a dry run:
     * does it run exactly this config?) and re-applies only if not. The insecure maintenance
     * API is used only for a node that refused those credentials and is known to be a new
     * machine (core/talos/apply-mode.ts): `newMachine` from the workflow, or no record of an
     * earlier apply by autok8s. Every successful apply is recorded in the state store.
     */
    async applyMachineConfig(
      spec: ClusterSpec,
      serverName: string,
      role: TalosRole,
      opts: { newMachine?: boolean } = {},
    ): Promise<{ applied: boolean; alreadyConfigured: boolean; via: 'maintenance' | 'authenticated' | 'none' }> {
      const node = nodeOf(spec, serverName, role);
      const file = await requireState(spec, configName(node), 'renderMachineConfigs');
      const store = storeOf(spec);
      const applied = `${STATE_FILES.configsDir}/${node.hostname}.applied`;
      const remember = (via: string) => store.writeAtomic(applied, `${JSON.stringify({ ip: node.ip, via, at: new Date().toISOString() })}\n`);

      const target = await authTo(spec, node);
      const diff = await talosctl(spec, applyConfigArgs({ ...target, file, dryRun: true }));
      const refused = diff.exitCode === 0 ? undefined : classify(diff);
      if (refused && refused.kind !== 'untrusted') throw toFailure(refused, 'talosctl apply-config --dry-run', node.ip);
      const mode = decideApplyMode({ authenticated: refused ? 'untrusted' : 'trusted', newMachine: opts.newMachine === true, configuredBefore: await store.exists(applied) });

      if (mode.via === 'authenticated') {
        if (/No changes\./.test(diff.stdout + diff.stderr)) {
          await remember('none');
          return { applied: false, alreadyConfigured: true, via: 'none' };
        }
        const act = await talosctl(spec, applyConfigArgs({ ...target, file, mode: 'auto' }));
        if (act.exitCode !== 0) throw toFailure(classify(act), 'talosctl apply-config', node.ip);
        await remember('authenticated');
        return { applied: true, alreadyConfigured: false, via: 'authenticated' };
      }
      if (mode.via === 'refuse') throw ApplicationFailure.nonRetryable(`${node.hostname} (${node.ip}): ${mode.why} (${refused!.summary})`, FAILURE_TYPE.untrusted);

      const first = await talosctl(spec, applyConfigArgs({ insecure: true, node: node.ip, file }));
      if (first.exitCode === 0) {
        await remember('maintenance');
        return { applied: true, alreadyConfigured: false, via: 'maintenance' };
      }
      const insecure = classify(first);
      if (insecure.kind === 'notInMaintenance') {
        throw ApplicationFailure.nonRetryable(
          `${node.hostname} (${node.ip}) already has a machine config, but not from cluster ${spec.metadata.name}: it does not trust this cluster's talosconfig (${refused!.summary}); reset it (talosctl reset) or recreate its VM`,
          FAILURE_TYPE.untrusted,
        );
      }
      throw toFailure(insecure, 'talosctl apply-config --insecure', node.ip);
    },

    /**
     * Bootstraps etcd on one control plane, at most once per cluster. Looks first: if this
     * node or any other control plane already lists etcd members, nothing is done (a
     * bootstrap on a node with an empty etcd would start a second, separate cluster).
     * A retry after an applied-but-lost call sees the members and returns alreadyBootstrapped.
     */
    async bootstrapEtcd(spec: ClusterSpec, serverName: string): Promise<{ bootstrapped: boolean; alreadyBootstrapped: boolean; unverified: string[] }> {
      const node = nodeOf(spec, serverName, 'controlPlane');
      await waitForApi(spec, node, apiWaitMs);

      const here = await listMembers(spec, node);
      if ('members' in here && here.members.length > 0) return { bootstrapped: false, alreadyBootstrapped: true, unverified: [] };
      if ('failure' in here && !['etcdUnavailable', 'timeout'].includes(here.failure.kind)) throw toFailure(here.failure, 'talosctl etcd members', node.ip);

      const unverified: string[] = [];
      for (const other of controlPlaneNodes(spec).filter((n) => n.server !== node.server)) {
        const there = await listMembers(spec, other);
        if ('members' in there && there.members.length > 0) return { bootstrapped: false, alreadyBootstrapped: true, unverified };
        // A control plane that cannot answer cannot hold the cluster this workflow would have bootstrapped
        // (that node is `node`); it is noted, not waited for.
        if ('failure' in there && there.failure.kind !== 'etcdUnavailable' && there.failure.kind !== 'timeout') unverified.push(other.server);
      }

      const r = await talosctl(spec, bootstrapArgs(await authTo(spec, node)));
      if (r.exitCode === 0) return { bootstrapped: true, alreadyBootstrapped: false, unverified };
      const f = classify(r);
      if (f.kind === 'alreadyExists') return { bootstrapped: false, alreadyBootstrapped: true, unverified };
      throw toFailure(f, 'talosctl bootstrap', node.ip);
    },

    /**
     * Waits (bounded, heartbeating) until the control plane of `serverName` is a voting etcd
     * member. Only the node itself can say so: another control plane may still list a stale
     * member of an earlier machine at the same address, and a node's own `etcd members`
     * answers only once its etcd runs, i.e. once this machine has joined.
     */
    async waitForEtcdMember(spec: ClusterSpec, serverName: string): Promise<{ memberId: string; hostname: string; waitedMs: number }> {
      const node = nodeOf(spec, serverName, 'controlPlane');
      const started = Date.now();
      return waitFor<{ memberId: string; hostname: string; waitedMs: number }>(`etcd membership of ${node.hostname}`, memberWaitMs, async () => {
        const answer = await listMembers(spec, node);
        if ('failure' in answer) {
          if (!answer.failure.retryable) throw toFailure(answer.failure, 'talosctl etcd members', node.ip);
          return { notYet: answer.failure.summary };
        }
        const me = answer.members.find((m) => m.hostname === node.hostname || m.ip === node.ip);
        if (!me) return { notYet: `${node.hostname} is not in its own member list yet` };
        if (me.learner) return { notYet: `${node.hostname} is still a learner` };
        return { done: { memberId: me.id, hostname: me.hostname, waitedMs: Date.now() - started } };
      });
    },

    /** The etcd member list as one control plane sees it, each member matched to its spec server. */
    async etcdMembers(spec: ClusterSpec, viaServer: string): Promise<{ via: string; members: EtcdMemberInfo[] }> {
      const via = nodeOf(spec, viaServer, 'controlPlane');
      const answer = await listMembers(spec, via);
      if ('failure' in answer) throw toFailure(answer.failure, 'talosctl etcd members', via.ip);
      return { via: viaServer, members: answer.members };
    },

    /**
     * Removes an etcd member through the healthy control plane `viaServer`, by its hex ID.
     * Pass `memberId` (from etcdMembers, recorded in the workflow) for exactly-once removal:
     * a retry then finds the ID gone and reports alreadyGone. Without it, the member is the
     * one named after `memberServer`'s control plane, and it is removed only if that node
     * does not answer for it itself, so a retry never removes a machine that has rejoined.
     * The quorum guard is the caller's; etcd also refuses a removal that would lose quorum,
     * which comes back non-retryable.
     */
    async removeEtcdMember(
      spec: ClusterSpec,
      memberServer: string,
      viaServer: string,
      memberId?: string,
    ): Promise<{ removed: boolean; alreadyGone: boolean; memberId?: string }> {
      const target = nodeOf(spec, memberServer, 'controlPlane');
      const via = nodeOf(spec, viaServer, 'controlPlane');
      if (memberId !== undefined && !/^[0-9a-f]{16}$/.test(memberId)) throw badInput(new Error(`etcd member ID ${JSON.stringify(memberId)} is not 16 lowercase hex digits`));
      const answer = await listMembers(spec, via);
      if ('failure' in answer) throw toFailure(answer.failure, 'talosctl etcd members', via.ip);
      const member = memberId !== undefined ? answer.members.find((m) => m.id === memberId) : answer.members.find((m) => m.hostname === target.hostname || m.ip === target.ip);
      if (!member) return { removed: false, alreadyGone: true, ...(memberId ? { memberId } : {}) };

      if (memberId === undefined) {
        const own = await listMembers(spec, target);
        if ('members' in own && own.members.some((m) => m.id === member.id)) {
          throw ApplicationFailure.nonRetryable(
            `etcd member ${member.id} of ${target.hostname} is alive and answers for itself; make it leave (leaveEtcd), or pass its member ID to remove it anyway`,
            'TalosMemberAlive',
          );
        }
      }
      const r = await talosctl(spec, etcdRemoveMemberArgs(member.id, await authTo(spec, via)));
      if (r.exitCode === 0) return { removed: true, alreadyGone: false, memberId: member.id };
      const f = classify(r);
      if (f.kind === 'notFound') return { removed: false, alreadyGone: true, memberId: member.id };
      throw toFailure(f, `talosctl etcd remove-member ${member.id}`, via.ip);
    },

    /**
     * Makes a control plane leave etcd gracefully (its own `etcd leave`). Not a member any
     * more is success. A member whose etcd no longer runs cannot leave by itself: that is
     * refused with the member ID to remove instead.
     */
    async leaveEtcd(spec: ClusterSpec, serverName: string): Promise<{ left: boolean; alreadyLeft: boolean }> {
      const node = nodeOf(spec, serverName, 'controlPlane');
      const mine = (m: EtcdMemberInfo) => m.hostname === node.hostname || m.ip === node.ip;
      const here = await listMembers(spec, node);
      if ('failure' in here) {
        if (here.failure.kind !== 'etcdUnavailable' && here.failure.kind !== 'timeout') throw toFailure(here.failure, 'talosctl etcd members', node.ip);
        // Its etcd does not answer: it has left already, or it is a member that cannot leave.
        for (const other of controlPlaneNodes(spec).filter((n) => n.server !== node.server)) {
          const there = await listMembers(spec, other);
          if (!('members' in there)) continue;
          const member = there.members.find(mine);
          if (!member) return { left: false, alreadyLeft: true };
          throw ApplicationFailure.nonRetryable(
            `etcd does not run on ${node.hostname}, so it cannot leave by itself; remove its member ${member.id} through another control plane (removeEtcdMember)`,
            'TalosMemberDown',
          );
        }
        throw toFailure(here.failure, 'talosctl etcd members', node.ip);
      }
      if (!here.members.some(mine)) return { left: false, alreadyLeft: true };
      const r = await talosctl(spec, etcdLeaveArgs(await authTo(spec, node)));
      if (r.exitCode !== 0) throw toFailure(classify(r), 'talosctl etcd leave', node.ip);
      return { left: true, alreadyLeft: false };
    },

    /**
     * Cordons and drains a node before its VM is destroyed: a graceful `talosctl reset`
     * (Talos cordons and drains the Kubernetes node, a control plane also leaves etcd, then
     * the disk is wiped), waited for so the drain is over when this returns; no reboot, the
     * VM goes away next. A node that does not answer cannot be drained (Cluster API skips the
     * drain of an unreachable node too), and one that no longer trusts this cluster's
     * talosconfig has been reset already (a retry, or a new machine): both come back as
     * `drained: false` with the reason, never as a failure, so the replacement goes on.
     */
    async drainNode(spec: ClusterSpec, serverName: string, role: TalosRole, opts: { waitMs?: number } = {}): Promise<{ drained: boolean; why: string }> {
      const node = nodeOf(spec, serverName, role);
      const r = await talosctl(spec, resetArgs(await authTo(spec, node), { graceful: true, reboot: false, wait: true }), opts.waitMs ?? memberWaitMs);
      if (r.exitCode === 0) return { drained: true, why: `${node.hostname} cordoned, drained and reset` };
      const f = classify(r);
      if (f.kind === 'unreachable') return { drained: false, why: `${node.hostname} (${node.ip}) does not answer, so it cannot be drained: ${f.summary}` };
      if (f.kind === 'untrusted') return { drained: false, why: `${node.hostname} (${node.ip}) no longer has this cluster's config (reset already): ${f.summary}` };
      throw toFailure(f, 'talosctl reset --graceful', node.ip);
    },

    /**
     * `talosctl health` over every control plane and worker of the spec, through the first
     * control plane that answers. talosctl itself waits up to `waitTimeout`; the activity
     * heartbeats meanwhile (every talosctl run does).
     */
    async clusterHealth(spec: ClusterSpec, opts: { waitTimeout?: string } = {}): Promise<{ healthy: true; via: string; checks: string[] }> {
      const waitTimeout = opts.waitTimeout ?? defaultHealthWait;
      let waitMs: number;
      try {
        waitMs = parseDuration(waitTimeout);
      } catch (err) {
        throw badInput(err);
      }
      const cps = controlPlaneNodes(spec);
      let lastFailure: ApplicationFailure | undefined;
      for (const via of cps) {
        const r = await talosctl(
          spec,
          healthArgs({ ...(await authTo(spec, via)), controlPlaneNodes: cps.map((n) => n.ip), workerNodes: workerNodes(spec).map((n) => n.ip), waitTimeout }),
          waitMs + 60_000,
        );
        if (r.exitCode === 0) {
          const checks = r.stderr.split('\n').filter((l) => l.startsWith('waiting for '));
          return { healthy: true, via: via.server, checks };
        }
        const f = classify(r);
        lastFailure =
          f.kind === 'timeout' || f.kind === 'unknown'
            ? ApplicationFailure.retryable(`cluster ${spec.metadata.name} not healthy within ${waitTimeout} (talosctl health through ${via.ip}: ${f.summary}); the check is retried`, 'ClusterUnhealthy')
            : toFailure(f, 'talosctl health', via.ip);
        // Only an unreachable endpoint is a reason to ask through another control plane.
        if (f.kind !== 'unreachable') break;
      }
      throw lastFailure ?? ApplicationFailure.nonRetryable('the spec has no control plane to check health through', 'BadInput');
    },

    /** Writes the cluster's admin kubeconfig into the state store (0600) and returns its path. */
    async writeKubeconfig(spec: ClusterSpec): Promise<{ path: string; ref: string; via: string }> {
      const store = storeOf(spec);
      await store.ensureDir();
      let lastFailure: ApplicationFailure | undefined;
      for (const via of controlPlaneNodes(spec)) {
        const temp = store.tempPath(STATE_FILES.kubeconfig);
        const r = await talosctl(spec, kubeconfigArgs(temp, await authTo(spec, via)));
        if (r.exitCode === 0) {
          await store.install(temp, STATE_FILES.kubeconfig);
          return { path: store.path(STATE_FILES.kubeconfig), ref: store.ref(STATE_FILES.kubeconfig), via: via.server };
        }
        await rm(temp, { force: true });
        const f = classify(r);
        lastFailure = toFailure(f, 'talosctl kubeconfig', via.ip);
        if (f.kind !== 'unreachable') break;
      }
      throw lastFailure ?? ApplicationFailure.nonRetryable('the spec has no control plane to fetch a kubeconfig from', 'BadInput');
    },

    /**
     * Is the node up, configured and ready (Talos MachineStatus)? One look by default; with
     * `waitMs`, polls until ready and fails retryably when the bound runs out.
     */
    async nodeReady(
      spec: ClusterSpec,
      serverName: string,
      role: TalosRole,
      opts: { waitMs?: number } = {},
    ): Promise<{ ready: boolean; stage: string; detail: string }> {
      const node = nodeOf(spec, serverName, role);
      const target = await authTo(spec, node);
      const look = async () => {
        const r = await talosctl(spec, getMachineStatusArgs(target));
        if (r.exitCode !== 0) {
          const f = classify(r);
          if (!f.retryable) throw toFailure(f, 'talosctl get machinestatus', node.ip);
          return { ready: false, stage: 'unreachable', detail: f.summary };
        }
        const status = parseMachineStatus(r.stdout)[0];
        if (!status) return { ready: false, stage: 'unknown', detail: 'no MachineStatus resource returned' };
        const unmet = status.unmetConditions.map((c) => `${c.name}: ${c.reason}`).join('; ');
        return { ready: status.ready && status.stage === 'running', stage: status.stage, detail: unmet || status.stage };
      };
      if (opts.waitMs === undefined) return look();
      return waitFor<{ ready: boolean; stage: string; detail: string }>(`readiness of ${node.hostname}`, Math.min(opts.waitMs, memberWaitMs), async () => {
        const s = await look();
        return s.ready ? { done: s } : { notYet: `${s.stage}: ${s.detail}` };
      });
    },

    /**
     * Readiness of many nodes with one talosctl run (a health pass checks every node; one
     * process per node was the pass's main cost). Asks through the first control-plane
     * endpoint that answers; a node missing from the answer is reported unreachable with
     * talosctl's own words about it.
     */
    async nodesReady(
      spec: ClusterSpec,
      nodes: { server: string; role: TalosRole }[],
    ): Promise<{ server: string; role: TalosRole; ready: boolean; stage: string; detail: string }[]> {
      if (nodes.length === 0) return [];
      const talosconfig = await requireState(spec, STATE_FILES.talosconfig, 'renderMachineConfigs');
      const targets = nodes.map((n) => ({ ...n, ip: nodeOf(spec, n.server, n.role).ip }));
      const endpoints = [...new Set([...targets.filter((t) => t.role === 'controlPlane').map((t) => t.ip), ...controlPlaneNodes(spec).map((n) => n.ip)])];
      let lastFailure = 'no control-plane endpoint to ask';
      for (const endpoint of endpoints) {
        const r = await talosctl(spec, getMachineStatusManyArgs(targets.map((t) => t.ip), endpoint, talosconfig));
        const statuses = r.stdout.trim() === '' ? [] : parseMachineStatus(r.stdout);
        if (statuses.length === 0 && r.exitCode !== 0) {
          const f = classify(r);
          if (!f.retryable) throw toFailure(f, 'talosctl get machinestatus', endpoint);
          lastFailure = f.summary;
          continue; // this endpoint does not answer: try the next control plane
        }
        const errorLines = r.stderr.split('\n');
        return targets.map((t) => {
          const status = statuses.find((st) => st.node === t.ip);
          if (!status) {
            const said = errorLines.find((line) => line.includes(t.ip))?.trim();
            return { server: t.server, role: t.role, ready: false, stage: 'unreachable', detail: said || 'no answer through the endpoint' };
          }
          const unmet = status.unmetConditions.map((c) => `${c.name}: ${c.reason}`).join('; ');
          return { server: t.server, role: t.role, ready: status.ready && status.stage === 'running', stage: status.stage, detail: unmet || status.stage };
        });
      }
      return targets.map((t) => ({ server: t.server, role: t.role, ready: false, stage: 'unreachable', detail: lastFailure }));
    },

    /** Cluster members as Talos discovery sees them, through one control plane. */
    async clusterMembers(spec: ClusterSpec, viaServer: string): Promise<{ via: string; members: TalosMember[] }> {
      const via = nodeOf(spec, viaServer, 'controlPlane');
      const r = await talosctl(spec, getMembersArgs(await authTo(spec, via)));
      if (r.exitCode !== 0) throw toFailure(classify(r), 'talosctl get members', via.ip);
      return { via: viaServer, members: parseGetMembers(r.stdout) };
    },

    /** The talosctl client version the worker runs (a preflight for spec.talos.version). */
    async talosctlVersion(spec: ClusterSpec): Promise<{ client: string; path: string }> {
      const r = await talosctl(spec, versionArgs({ clientOnly: true }));
      if (r.exitCode !== 0) throw toFailure(classify(r), 'talosctl version --client', 'the worker');
      const client = parseVersionShort(r.stdout).client;
      if (!client) throw ApplicationFailure.nonRetryable(`talosctl version --client printed no version: ${JSON.stringify(r.stdout.slice(0, 120))}`, 'TalosBadRequest');
      return { client, path: resolveTalosctlPath(spec, { talosctlPath: deps.talosctlPath, env }) };
    },
  };
}

export type TalosActivities = ReturnType<typeof createTalosActivities>;
