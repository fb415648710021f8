// provisionServer: one OVH server made ready for the cluster — in the vRack, its three
// VMs created (once), started and answering on their vRack address. A child of
// bootstrapCluster, one per server, all in parallel. Every step is an idempotent activity,
// so re-running it on a provisioned server changes nothing. The LB VM gets its public NIC
// (net1) as bootstrap decided it (`lbPublicNic`: the virtual MAC, the link up only on the LB
// OVH routes the failover IP to); a NIC that exists keeps its link, which keepalived owns.
import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ProvisionIntent } from '../core/intents';
import type { VmRole } from '../core/spec/schema';
import * as profiles from './activity-profiles';
import { checkIntent, loadAcceptedServer } from './accepted-spec';
import { progressQuery, StepLog, type StepRecord } from './progress';

const call = proxyActivities<Activities>(profiles.providerCall);
const wait = proxyActivities<Activities>(profiles.providerTaskWait);

/** One server of the cluster, provisioned with the generation its bootstrap runs. */
export type ProvisionServerInput = ProvisionIntent;

export interface ProvisionServerResult {
  server: string;
  joinedVrack: boolean;
  vms: { role: VmRole; vmid: number; ip: string; created: boolean; reconciled: string[] }[];
  steps: StepRecord[];
}

/** The boot-vm step's summary (here and in replaceNode). */
export function describeBoot(r: { started: boolean; ip: string }): string {
  return `${r.started ? 'started; ' : 'already running; '}answers on ${r.ip}`;
}

export async function provisionServer(input: ProvisionServerInput): Promise<ProvisionServerResult> {
  const log = new StepLog();
  setHandler(progressQuery, () => log.snapshot());
  const { server } = checkIntent('provisionServer', input);
  // Its server's facts, not the whole spec: the activities resolve the spec by reference.
  const { ovhService, roles } = await loadAcceptedServer(log, input.cluster, input.generation, server);
  const ref = { cluster: input.cluster, generation: input.generation };

  const joinVrack = async () => {
    const membership = await log.run('vrack-join', () => call.ensureVrackMembership(ref, ovhService), (m) =>
      m.alreadyMember ? 'already in the vRack' : `task ${m.taskId}`,
    );
    if (membership.taskId !== undefined) {
      const taskId = membership.taskId;
      await log.run('vrack-wait', () => wait.waitForVrackTask(ref, taskId, ovhService));
    }
    return membership;
  };

  const ensureVms = () =>
    Promise.all(
      roles.map(async (role) => {
        const nic = role === 'lb' && input.lbPublicNic ? { publicMac: input.lbPublicNic.mac, publicLinkUp: input.lbPublicNic.linkUp } : {};
        const vm = await log.run(`${role}: ensure-vm`, () => call.ensureVm(ref, server, role, nic), (r) =>
          r.created ? `created VM ${r.vmid}` : r.reconciled.length > 0 ? `reconciled ${r.reconciled.join(', ')}` : `VM ${r.vmid} exists`,
        );
        // Start and readiness wait in one activity: one look at the node instead of two, and
        // no workflow round trip between the start task's end and the first agent poll.
        const { ip } = await log.run(`${role}: boot-vm`, () => wait.bootVm(ref, server, role), describeBoot);
        return { role, vmid: vm.vmid, ip, created: vm.created, reconciled: vm.reconciled };
      }),
    );

  // The vRack task (minutes on real OVH) and the VMs do not depend on each other: nothing
  // talks over the vRack until Talos configs are applied, after provisioning.
  const [membership, vms] = await Promise.all([joinVrack(), ensureVms()]);
  log.phase = 'done';
  return { server, joinedVrack: !membership.alreadyMember, vms, steps: log.steps };
}
