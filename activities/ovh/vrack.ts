// vRack membership of dedicated servers (docs/contracts.md §A.4).
//
// A server with configurable network interfaces joins a vRack through its virtual network
// interface in mode `vrack` (`POST /vrack/{sn}/dedicatedServerInterface {dedicatedServerInterface:
// <uuid>}`, listed by `GET /vrack/{sn}/dedicatedServerInterface`); a server without any virtual
// network interface is a legacy one and joins through `POST /vrack/{sn}/dedicatedServer`, which
// OVH's schema marks LEGACY. The Terraform provider makes the same split
// (`ovh_vrack_dedicated_server_interface` with `enabled_vrack_vnis`, and a server that "returned
// no VNI" is "on legacy network infrastructure").
//
// A finished vRack task disappears: its GET answers 404 (terraform-provider-ovh
// `ovh/vrack_task.go` reads that as "completed"). So a 404 on the task being waited for means
// "finished": the wait then checks the outcome, the server listed as a member.
import { ApplicationFailure } from '@temporalio/common';
import { heartbeat, isFirstActivityAttempt } from '../activity-context';
import type { OvhApi, OvhSpec } from './client';
import { ovhStatusOf } from './errors';
import { serverPath, vrackPath } from './paths';

const PENDING_STATUSES = ['init', 'todo', 'doing'];

/** How a server joins a vRack: by its vrack interface, or (legacy) by its service name. */
export type VrackAttachment = { kind: 'interface'; uuid: string } | { kind: 'legacy' };

interface VirtualNetworkInterface {
  uuid: string;
  mode: string;
  enabled: boolean;
  vrack: string | null;
  serverName?: string;
}

interface VrackTask {
  id: number;
  function: string;
  status: string;
  targetDomain?: string | null;
}

export type ReadTask = () => Promise<{ status: string; comment?: string | null } | 'done'>;
export type PollTask = (label: string, taskId: number, read: ReadTask) => Promise<{ taskId: number; status: 'done'; waitedMs: number }>;

const interfacePath = (server: string, uuid: string) => `${serverPath(server)}/virtualNetworkInterface/${encodeURIComponent(uuid)}`;

/**
 * Pure: which way a server joins, from its virtual network interfaces. None at all: legacy.
 * An enabled one in mode `vrack` (else `vrack_aggregation`, OLA): that one. Interfaces but none
 * usable: an error naming what there is, since the legacy call is not for such servers.
 */
export function chooseAttachment(server: string, interfaces: readonly VirtualNetworkInterface[]): VrackAttachment {
  if (interfaces.length === 0) return { kind: 'legacy' };
  const usable = (mode: string) => interfaces.find((i) => i.enabled && i.mode === mode);
  const chosen = usable('vrack') ?? usable('vrack_aggregation');
  if (chosen) return { kind: 'interface', uuid: chosen.uuid };
  const seen = interfaces.map((i) => `${i.uuid} ${i.mode}${i.enabled ? '' : ' (disabled)'}`).join(', ');
  throw ApplicationFailure.nonRetryable(
    `dedicated server ${server} has configurable network interfaces but none enabled in vrack mode (${seen}); switch one to vrack mode in the OVH control panel, then run again`,
    'OvhNoVrackInterface',
  );
}

export function createVrackActivities(deps: { apiFor: (ovh: OvhSpec) => Promise<OvhApi>; pollTask: PollTask }) {
  const { apiFor, pollTask } = deps;

  async function attachmentOf(api: OvhApi, server: string): Promise<VrackAttachment> {
    const uuids = await api.call<string[]>('GET', `${serverPath(server)}/virtualNetworkInterface`);
    const interfaces = await Promise.all(uuids.map((uuid) => api.call<VirtualNetworkInterface>('GET', interfacePath(server, uuid))));
    return chooseAttachment(server, interfaces);
  }

  async function isMember(api: OvhApi, vrack: string, server: string, attachment: VrackAttachment): Promise<boolean> {
    if (attachment.kind === 'interface') return (await api.call<string[]>('GET', `${vrackPath(vrack)}/dedicatedServerInterface`)).includes(attachment.uuid);
    return (await api.call<string[]>('GET', `${vrackPath(vrack)}/dedicatedServer`)).includes(server);
  }

  /**
   * An add still pending for this server. Matched on `targetDomain` (the server's service name
   * or its interface's UUID) and not on `function`: the schema leaves `vrack.Task.function` a
   * free string and no published source names the add functions, and autok8s never detaches.
   */
  async function findPendingAdd(api: OvhApi, vrack: string, server: string, attachment: VrackAttachment): Promise<VrackTask | undefined> {
    const targets = attachment.kind === 'interface' ? [server, attachment.uuid] : [server];
    const ids = await api.call<number[]>('GET', `${vrackPath(vrack)}/task`);
    for (const [n, id] of [...ids].sort((a, b) => b - a).entries()) {
      // One GET per task, one after another: a vRack with a long task list takes a while.
      heartbeat({ scanningVrackTasks: `${n + 1}/${ids.length}` });
      let task: VrackTask;
      try {
        task = await api.call<VrackTask>('GET', `${vrackPath(vrack)}/task/${id}`);
      } catch (err) {
        if (ovhStatusOf(err) === 404) continue; // finished between the listing and this read
        throw err;
      }
      // A pending removal of the same server (by hand in the panel) is not ours to adopt; the
      // function names are unverified, so only an evident removal is told apart.
      if (/remove|delete|detach/i.test(task.function ?? '')) continue;
      if (task.targetDomain && targets.includes(task.targetDomain) && PENDING_STATUSES.includes(task.status)) return task;
    }
    return undefined;
  }

  return {
    /** Puts the server in the spec's vRack: already a member → nothing; pending add → adopt; else POST the call its kind needs. */
    async ensureVrackMembership(ovh: OvhSpec, serverService: string): Promise<{ alreadyMember: boolean; taskId?: number; adoptedPendingTask?: boolean }> {
      const api = await apiFor(ovh);
      const attachment = await attachmentOf(api, serverService);
      const look = async (withPendingTasks: boolean) => {
        if (await isMember(api, ovh.vrack, serverService, attachment)) return { alreadyMember: true };
        if (!withPendingTasks) return undefined;
        const pending = await findPendingAdd(api, ovh.vrack, serverService, attachment);
        return pending ? { alreadyMember: false, taskId: pending.id, adoptedPendingTask: true } : undefined;
      };
      // The pending-add scan reads every task of the vRack, one GET each: with many servers
      // joining at once that is quadratic. It only matters when an earlier attempt of this
      // very call may have posted the add (a retry, or a direct call whose history is
      // unknown); a first attempt posts at once, and an add that is already pending (another
      // run's) is refused by OVH and adopted through the same scan below.
      const before = await look(!isFirstActivityAttempt());
      if (before) return before;
      try {
        const task =
          attachment.kind === 'interface'
            ? await api.call<VrackTask>('POST', `${vrackPath(ovh.vrack)}/dedicatedServerInterface`, { dedicatedServerInterface: attachment.uuid })
            : await api.call<VrackTask>('POST', `${vrackPath(ovh.vrack)}/dedicatedServer`, { dedicatedServer: serverService });
        return { alreadyMember: false, taskId: task.id, adoptedPendingTask: false };
      } catch (err) {
        // 409: an add is pending; 400 may be "already in this vRack" after an applied-but-failed call.
        const status = ovhStatusOf(err);
        if (status !== 409 && status !== 400) throw err;
        const after = await look(true);
        if (after) return after;
        throw err;
      }
    },

    /**
     * Waits for the vRack task that adds `serverService`. Once OVH answers the task with 404 it
     * has finished, and the outcome decides: done when the server is listed as a member; until
     * it is, the wait goes on (and past its limit fails retryably, like a task still running).
     */
    async waitForVrackTask(ovh: OvhSpec, taskId: number, serverService: string): Promise<{ taskId: number; status: 'done'; waitedMs: number }> {
      // Every caller names the server; an input without it (a workflow started before it was
      // required) cannot check the outcome of a vanished task, so it is refused plainly.
      if (typeof serverService !== 'string' || serverService === '') {
        throw ApplicationFailure.nonRetryable(`waitForVrackTask needs the server's service name to check the outcome of vRack task ${taskId}`, 'BadInput');
      }
      const api = await apiFor(ovh);
      let attachment: VrackAttachment | undefined;
      let vanished = false;
      return pollTask(`vRack ${ovh.vrack} add of ${serverService}`, taskId, async () => {
        if (!vanished) {
          try {
            return await api.call<VrackTask>('GET', `${vrackPath(ovh.vrack)}/task/${taskId}`);
          } catch (err) {
            if (ovhStatusOf(err) !== 404) throw err;
            vanished = true;
          }
        }
        attachment ??= await attachmentOf(api, serverService);
        if (await isMember(api, ovh.vrack, serverService, attachment)) return 'done';
        return { status: 'finished (gone from the task list) but the server is not listed as a member yet' };
      });
    },

    /** Service names of the dedicated servers in the spec's vRack, legacy or by interface (read-only; for status and plan). */
    async listVrackMembers(ovh: OvhSpec): Promise<string[]> {
      const api = await apiFor(ovh);
      const [legacy, uuids] = await Promise.all([
        api.call<string[]>('GET', `${vrackPath(ovh.vrack)}/dedicatedServer`),
        api.call<string[]>('GET', `${vrackPath(ovh.vrack)}/dedicatedServerInterface`),
      ]);
      const byInterface = await Promise.all(
        uuids.map((uuid) => api.call<VirtualNetworkInterface>('GET', `/dedicated/server/virtualNetworkInterface/${encodeURIComponent(uuid)}`)),
      );
      return [...legacy, ...byInterface.map((i) => i.serverName).filter((n): n is string => typeof n === 'string')];
    },
  };
}
