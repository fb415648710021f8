// OVH calls of the public path (docs/design.md §10, docs/contracts.md §A.7): what OVH says about
// each server's network, the virtual MAC that bridges a failover IP to the LB VM, and the IP
// block routed into the vRack. Each call looks before it acts, so a retry after "the call was
// applied but answered an error" adopts the task it started instead of starting another.
import { ApplicationFailure } from '@temporalio/common';
import { parseAlignedBlock } from '../../core/public-path/modes';
import { serverFactIssues, type ServerPublicFacts } from '../../core/public-path/server-facts';
import type { ClusterSpec } from '../../core/spec/schema';
import { formatPath } from '../../core/spec/spec-error';
import { requireGrammar, GRAMMAR } from '../../core/spec/grammar';
import type { OvhApi, OvhSpec } from './client';
import { ovhStatusOf } from './errors';
import { serverPath, vrackPath } from './paths';
import type { PollTask } from './vrack';

const PENDING_STATUSES = ['init', 'todo', 'doing'];
/**
 * Server task functions that may add a virtual MAC: dedicated.TaskFunctionEnum has both and no
 * source says which one POST …/virtualMac starts, so a pending task of either is adopted.
 */
const ADD_VMAC_FUNCTIONS = ['addVirtualMac', 'virtualMacAdd'];

export interface VirtualMacListing {
  mac: string;
  ips: string[];
}

interface ServerTask {
  taskId: number;
  function: string;
  status: string;
  comment: string | null;
}

interface VrackTask {
  id: number;
  status: string;
  targetDomain?: string | null;
}

/** The server's own network facts as OVH publishes them (dedicated.server.Dedicated and NetworkSpecifications). */
interface NetworkSpecifications {
  routing: { ipv4: { gateway: string | null } | null } | null;
  vmac: { supported: boolean };
}

const vmacPath = (server: string, mac?: string) => `${serverPath(server)}/virtualMac${mac === undefined ? '' : `/${encodeURIComponent(mac)}`}`;

/** An IP block as OVH's paths and bodies write it: a failover IP as /32, a block as its aligned CIDR. */
export function ipBlockText(ipOrBlock: string): string {
  if (!ipOrBlock.includes('/')) return `${requireGrammar(GRAMMAR.ipv4, ipOrBlock, 'failoverIps')}/32`;
  if (!parseAlignedBlock(ipOrBlock)) {
    throw ApplicationFailure.nonRetryable(`${ipOrBlock} is not an aligned IPv4 block (such as 203.0.113.8/29); check publicPath.block`, 'OvhBadBlock');
  }
  return ipOrBlock;
}

export function createPublicPathActivities(deps: { apiFor: (ovh: OvhSpec) => Promise<OvhApi>; pollTask: PollTask }) {
  const { apiFor, pollTask } = deps;

  async function readFacts(api: OvhApi, server: string): Promise<ServerPublicFacts> {
    const [info, network] = await Promise.all([
      api.call<{ datacenter: string; region: string }>('GET', serverPath(server)),
      api.call<NetworkSpecifications>('GET', `${serverPath(server)}/specifications/network`),
    ]);
    return { vmacSupported: network.vmac.supported === true, gateway: network.routing?.ipv4?.gateway ?? null, datacenter: info.datacenter, region: info.region };
  }

  async function listMacs(api: OvhApi, server: string): Promise<VirtualMacListing[]> {
    const macs = await api.call<string[]>('GET', vmacPath(server));
    return Promise.all(macs.map(async (mac) => ({ mac, ips: await api.call<string[]>('GET', `${vmacPath(server, mac)}/virtualAddress`) })));
  }

  async function macOf(api: OvhApi, server: string, ip: string): Promise<string | undefined> {
    return (await listMacs(api, server)).find((m) => m.ips.includes(ip))?.mac;
  }

  /** The newest virtual-MAC task still pending on the server, whichever IP it is for (tasks do not say). */
  async function pendingVmacTask(api: OvhApi, server: string): Promise<number | undefined> {
    const lists = await Promise.all(
      ADD_VMAC_FUNCTIONS.flatMap((fn) => PENDING_STATUSES.map((status) => api.call<number[]>('GET', `${serverPath(server)}/task`, { function: fn, status }))),
    );
    const newest = Math.max(...lists.flat());
    return Number.isFinite(newest) ? newest : undefined;
  }

  const waitServerTask = (api: OvhApi, server: string, taskId: number, label: string) =>
    pollTask(label, taskId, () => api.call<ServerTask>('GET', `${serverPath(server)}/task/${taskId}`));

  async function vrackBlocks(api: OvhApi, vrack: string): Promise<string[]> {
    return api.call<string[]>('GET', `${vrackPath(vrack)}/ip`);
  }

  async function pendingVrackBlockTask(api: OvhApi, vrack: string, block: string): Promise<number | undefined> {
    const ids = await api.call<number[]>('GET', `${vrackPath(vrack)}/task`);
    for (const id of [...ids].sort((a, b) => b - a)) {
      try {
        const task = await api.call<VrackTask>('GET', `${vrackPath(vrack)}/task/${id}`);
        if (task.targetDomain === block && PENDING_STATUSES.includes(task.status)) return task.id;
      } catch (err) {
        if (ovhStatusOf(err) !== 404) throw err; // finished between the listing and this read
      }
    }
    return undefined;
  }

  return {
    /** What OVH says about one server: virtual MAC support, IPv4 gateway, datacenter, region (read-only). */
    async readServerNetworkFacts(ovh: OvhSpec, serverService: string): Promise<ServerPublicFacts> {
      return readFacts(await apiFor(ovh), serverService);
    },

    /**
     * Bootstrap's first check: reads every server's facts and refuses, before anything is
     * created, when the spec's public path cannot work on them (serverFactIssues), naming the
     * field of each problem. Answers the facts, in spec order.
     */
    async checkServerPublicFacts(spec: ClusterSpec): Promise<{ facts: (ServerPublicFacts & { server: string })[] }> {
      const api = await apiFor(spec.ovh);
      const facts = await Promise.all(spec.servers.map((s) => readFacts(api, s.ovhService)));
      const issues = serverFactIssues(spec, facts);
      if (issues.length > 0) {
        throw ApplicationFailure.nonRetryable(
          `the spec's public path cannot work on these servers, as OVH describes them; nothing was created:\n${issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`).join('\n')}`,
          'PublicPathUnsupported',
          issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
        );
      }
      return { facts: facts.map((f, i) => ({ server: spec.servers[i].name, ...f })) };
    },

    /** The virtual MACs on a server, each with its IPs (read-only). */
    async listVirtualMacs(ovh: OvhSpec, serverService: string): Promise<VirtualMacListing[]> {
      return listMacs(await apiFor(ovh), serverService);
    },

    /**
     * The virtual MAC of `ip` on `serverService`, created if there is none: an existing one is
     * answered as is; a virtual-MAC task pending on the server is waited for (it may be this
     * call's own earlier attempt) and the server looked at again; only then POST, and wait the
     * task (heartbeats in the wait). A 409 means a task appeared meanwhile: adopt it.
     */
    async ensureVirtualMac(ovh: OvhSpec, serverService: string, ip: string, virtualMachineName: string): Promise<{ mac: string; created: boolean; taskId?: number }> {
      const api = await apiFor(ovh);
      const bare = ipBlockText(ip).replace(/\/32$/, '');
      const label = `virtual MAC of ${bare} on ${serverService}`;
      const existing = await macOf(api, serverService, bare);
      if (existing) return { mac: existing, created: false };
      const pending = await pendingVmacTask(api, serverService);
      if (pending !== undefined) {
        await waitServerTask(api, serverService, pending, label);
        const adopted = await macOf(api, serverService, bare);
        if (adopted) return { mac: adopted, created: true, taskId: pending };
      }
      let taskId: number;
      try {
        taskId = (await api.call<ServerTask>('POST', vmacPath(serverService), { ipAddress: bare, type: 'ovh', virtualMachineName })).taskId;
      } catch (err) {
        if (ovhStatusOf(err) !== 409) throw err;
        const again = await pendingVmacTask(api, serverService);
        if (again === undefined) throw err;
        taskId = again;
      }
      await waitServerTask(api, serverService, taskId, label);
      const mac = await macOf(api, serverService, bare);
      if (!mac) {
        throw ApplicationFailure.retryable(`OVH task ${taskId} (${label}) is done but ${serverService} lists no virtual MAC for ${bare} yet; looking again`, 'OvhVirtualMacMissing', { taskId });
      }
      return { mac, created: true, taskId };
    },

    /**
     * The spec's vRack carries the IP block (`publicPath.block`): already listed → nothing;
     * a pending vRack task for the block → adopted; else POST. Waits until the block is listed
     * (a finished vRack task vanishes: its 404 means "look at the listing").
     */
    async ensureVrackIpBlock(ovh: OvhSpec, block: string): Promise<{ alreadyAttached: boolean; taskId?: number }> {
      const api = await apiFor(ovh);
      const text = ipBlockText(block);
      if ((await vrackBlocks(api, ovh.vrack)).includes(text)) return { alreadyAttached: true };
      let taskId = await pendingVrackBlockTask(api, ovh.vrack, text);
      if (taskId === undefined) {
        try {
          taskId = (await api.call<VrackTask>('POST', `${vrackPath(ovh.vrack)}/ip`, { block: text })).id;
        } catch (err) {
          const status = ovhStatusOf(err);
          if (status !== 409 && status !== 400) throw err;
          if ((await vrackBlocks(api, ovh.vrack)).includes(text)) return { alreadyAttached: true };
          taskId = await pendingVrackBlockTask(api, ovh.vrack, text);
          if (taskId === undefined) throw err;
        }
      }
      let vanished = false;
      const id = taskId;
      await pollTask(`vRack ${ovh.vrack} add of ${text}`, id, async () => {
        if (!vanished) {
          try {
            return await api.call<VrackTask>('GET', `${vrackPath(ovh.vrack)}/task/${id}`);
          } catch (err) {
            if (ovhStatusOf(err) !== 404) throw err;
            vanished = true;
          }
        }
        if ((await vrackBlocks(api, ovh.vrack)).includes(text)) return 'done';
        return { status: 'finished (gone from the task list) but the block is not listed yet' };
      });
      return { alreadyAttached: false, taskId: id };
    },
  };
}
