// OVH activities: failover IP routing and moves, vRack membership, dedicated servers, and the
// public path's calls (./public-path.ts).
// Thin adapters over the `ovh` client that look before they act, so a retry after "the call
// was applied but answered 500" adopts the task it started instead of starting another.
//
// Arguments and results are JSON without secrets (they are written to Temporal histories):
// the spec's `ovh` section holds secret references, resolved in client.ts at call time.
// Every function also works outside an activity (plain tests): heartbeats and cancellation
// are used only when an activity context exists.
import { heartbeat, pause } from '../activity-context';
import { ApplicationFailure } from '@temporalio/common';
import type { SecretResolver } from '../secrets';
import { createOvhClientFactory, type OvhApi, type OvhSpec } from './client';
import { ovhStatusOf } from './errors';
import { ipBlock, ipPath, serverPath } from './paths';
import { createPublicPathActivities } from './public-path';
import { createVrackActivities } from './vrack';

const MOVE_FUNCTION = 'genericMoveFloatingIp';
const REBOOT_FUNCTION = 'hardReboot';
const PENDING_STATUSES = ['init', 'todo', 'doing'] as const;
const FAILED_STATUSES = ['cancelled', 'customerError', 'ovhError'];

/** Real moves take about a minute and can take five (docs/contracts.md §A.3); past this, the wait fails retryably. */
const DEFAULT_MAX_TASK_WAIT_MS = 10 * 60_000;

export interface OvhActivityDeps {
  secrets: SecretResolver;
  /** How often task waits poll (default 1000 ms). */
  pollIntervalMs?: number;
  /** Per-request socket inactivity timeout (default 15 s). */
  requestTimeoutMs?: number;
  /** Longest a single wait activity polls before failing retryably (default 10 min). */
  maxTaskWaitMs?: number;
}

export interface IpRouting {
  ip: string;
  routedTo: string | null;
  pendingMove?: { taskId: number; status: string; destination: string | null };
}

export interface TaskWaitResult {
  taskId: number;
  status: 'done';
  waitedMs: number;
}

export interface DedicatedServerInfo {
  name: string;
  state: string;
  powerState: string;
  datacenter: string;
  ip: string;
}

interface IpObject {
  ip: string;
  routedTo: { serviceName: string } | null;
}

interface IpTask {
  taskId: number;
  function: string;
  status: string;
  comment: string | null;
  destination: { serviceName: string } | null;
}

interface ServerTask {
  taskId: number;
  function: string;
  status: string;
  comment: string | null;
}

export function createOvhActivities(deps: OvhActivityDeps) {
  const apiFor = createOvhClientFactory({ secrets: deps.secrets, requestTimeoutMs: deps.requestTimeoutMs });
  const pollIntervalMs = deps.pollIntervalMs ?? 1000;
  const maxTaskWaitMs = deps.maxTaskWaitMs ?? DEFAULT_MAX_TASK_WAIT_MS;

  async function readRouting(api: OvhApi, ip: string): Promise<IpRouting> {
    const [info, ...idLists] = await Promise.all([
      api.call<IpObject>('GET', ipPath(ip)),
      ...PENDING_STATUSES.map((status) => api.call<number[]>('GET', `${ipPath(ip)}/task`, { function: MOVE_FUNCTION, status })),
    ]);
    const routing: IpRouting = { ip, routedTo: info.routedTo?.serviceName ?? null };
    const newest = Math.max(...idLists.flat());
    if (Number.isFinite(newest)) {
      const task = await api.call<IpTask>('GET', `${ipPath(ip)}/task/${newest}`);
      if ((PENDING_STATUSES as readonly string[]).includes(task.status)) {
        routing.pendingMove = { taskId: task.taskId, status: task.status, destination: task.destination?.serviceName ?? null };
      }
    }
    return routing;
  }

  /**
   * Polls `read` until the task ends. Heartbeats each poll (which is also how cancellation
   * reaches the activity), fails non-retryably when the task failed, retryably past maxTaskWaitMs.
   */
  async function pollTask(label: string, taskId: number, read: () => Promise<{ status: string; comment?: string | null } | 'done'>): Promise<TaskWaitResult> {
    const started = Date.now();
    for (;;) {
      const task = await read();
      const status = task === 'done' ? 'done' : task.status;
      heartbeat({ taskId, status });
      if (status === 'done') return { taskId, status: 'done', waitedMs: Date.now() - started };
      if (task !== 'done' && FAILED_STATUSES.includes(status)) {
        throw ApplicationFailure.nonRetryable(
          `OVH task ${taskId} (${label}) ended ${status}${task.comment ? `: ${task.comment}` : ''}; nothing changed, look at the task in the OVH control panel before retrying`,
          'OvhTaskFailed',
          { taskId, status },
        );
      }
      if (Date.now() - started >= maxTaskWaitMs) {
        throw ApplicationFailure.retryable(`OVH task ${taskId} (${label}) is still ${status} after ${Math.round((Date.now() - started) / 1000)} s; waiting again`, 'OvhTaskStillRunning', { taskId, status });
      }
      await pause(pollIntervalMs);
    }
  }

  async function findPendingReboot(api: OvhApi, service: string): Promise<number | undefined> {
    const lists = await Promise.all(PENDING_STATUSES.map((status) => api.call<number[]>('GET', `${serverPath(service)}/task`, { function: REBOOT_FUNCTION, status })));
    const newest = Math.max(...lists.flat());
    return Number.isFinite(newest) ? newest : undefined;
  }

  return {
    ...createVrackActivities({ apiFor, pollTask }),
    ...createPublicPathActivities({ apiFor, pollTask }),

    /** Where a failover IP is routed, and the move under way if there is one. */
    async getIpRouting(ovh: OvhSpec, ip: string): Promise<IpRouting> {
      return readRouting(await apiFor(ovh), ip);
    },

    /** Asks OVH whether the IP may move to this server; a 400 answer is "no" with OVH's reason. */
    async checkIpMovable(ovh: OvhSpec, ip: string, toService: string): Promise<{ movable: boolean; reason?: string }> {
      const api = await apiFor(ovh);
      try {
        // 200 with an empty body when allowed: the client resolves with null.
        await api.call<null>('GET', `${serverPath(toService)}/ipCanBeMovedTo`, { ip: ipBlock(ip) });
        return { movable: true };
      } catch (err) {
        if (ovhStatusOf(err) !== 400) throw err; // auth, unknown server, transient: not an answer to the question
        const details = (err as ApplicationFailure).details?.[0] as { ovhMessage?: string | null } | undefined;
        return { movable: false, reason: details?.ovhMessage ?? 'refused without a message' };
      }
    },

    /**
     * Starts moving the IP to `toService`, idempotently: already routed there → nothing to do;
     * a pending move there → adopt its task; only then POST. A 409 means a move appeared
     * meanwhile (typically our own earlier attempt that was applied but answered an error):
     * look again and adopt it.
     */
    async startIpMove(ovh: OvhSpec, ip: string, toService: string): Promise<{ taskId: number | null; alreadyRouted: boolean; adoptedPendingTask: boolean }> {
      const api = await apiFor(ovh);
      const decide = (routing: IpRouting) => {
        if (routing.pendingMove) {
          if (routing.pendingMove.destination === toService) return { taskId: routing.pendingMove.taskId, alreadyRouted: false, adoptedPendingTask: true };
          throw ApplicationFailure.retryable(
            `a move of ${ip} to ${routing.pendingMove.destination ?? 'nowhere (park)'} is in progress (task ${routing.pendingMove.taskId}); waiting for it before moving to ${toService}`,
            'OvhMovePending',
          );
        }
        if (routing.routedTo === toService) return { taskId: null, alreadyRouted: true, adoptedPendingTask: false };
        return undefined;
      };

      const before = decide(await readRouting(api, ip));
      if (before) return before;
      try {
        const task = await api.call<IpTask>('POST', `${ipPath(ip)}/move`, { to: toService });
        return { taskId: task.taskId, alreadyRouted: false, adoptedPendingTask: false };
      } catch (err) {
        if (ovhStatusOf(err) !== 409) throw err;
        const after = decide(await readRouting(api, ip));
        if (after) return after;
        throw err;
      }
    },

    /**
     * Waits for an IP task to end; only `done` is success. Unlike vRack tasks, IP tasks stay
     * readable once done (listed by `?status=done`); the Terraform provider's ip move waits for
     * `done` and counts a 404 as unrecoverable, and so does this wait (docs/contracts.md §A.3).
     */
    async waitForIpTask(ovh: OvhSpec, ip: string, taskId: number): Promise<TaskWaitResult> {
      const api = await apiFor(ovh);
      return pollTask(`${MOVE_FUNCTION} of ${ip}`, taskId, () => api.call<IpTask>('GET', `${ipPath(ip)}/task/${taskId}`));
    },

    async getDedicatedServer(ovh: OvhSpec, service: string): Promise<DedicatedServerInfo> {
      const api = await apiFor(ovh);
      const s = await api.call<DedicatedServerInfo>('GET', serverPath(service));
      return { name: s.name, state: s.state, powerState: s.powerState, datacenter: s.datacenter, ip: s.ip };
    },

    /** Hard reboot; a reboot already pending is adopted rather than doubled. */
    async rebootDedicatedServer(ovh: OvhSpec, service: string): Promise<{ taskId: number; adoptedPendingTask: boolean }> {
      const api = await apiFor(ovh);
      const pending = await findPendingReboot(api, service);
      if (pending !== undefined) return { taskId: pending, adoptedPendingTask: true };
      try {
        const task = await api.call<ServerTask>('POST', `${serverPath(service)}/reboot`);
        return { taskId: task.taskId, adoptedPendingTask: false };
      } catch (err) {
        if (ovhStatusOf(err) !== 409) throw err;
        const again = await findPendingReboot(api, service);
        if (again !== undefined) return { taskId: again, adoptedPendingTask: true };
        throw err;
      }
    },

    async waitForServerTask(ovh: OvhSpec, service: string, taskId: number): Promise<TaskWaitResult> {
      const api = await apiFor(ovh);
      return pollTask(`task of ${service}`, taskId, () => api.call<ServerTask>('GET', `${serverPath(service)}/task/${taskId}`));
    },
  };
}
