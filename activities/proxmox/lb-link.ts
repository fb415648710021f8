// The LB VM's public link (docs/design.md §10.3): `net1`'s `link_down` flag, what
// `autok8s lb link up|down` (keepalived's notify scripts) sets through the lbLink workflow.
// One config update of net1 alone, with the config's digest, so an edit made in between
// fails the write (and the retry looks again) instead of being overwritten. Proxmox applies
// a change of link_down alone to the running VM at once (qemu-server vmconfig_update_net →
// qemu_set_link_status; core/public-path/lb-nic.ts); the NIC's MAC and bridge are kept as
// Proxmox has them.
import { ApplicationFailure } from '@temporalio/common';
import { LB_PUBLIC_NIC_KEY, nicLinkUp, withLink } from '../../core/public-path/lb-nic';
import type { ClusterSpec, ServerSpec, VmRole } from '../../core/spec/schema';
import type { NodeCall } from './node-call';
import type { OnProgress } from './progress';
import type { VmListEntry } from './vm-plan';

export interface LbLinkResult {
  server: string;
  vmid: number;
  node: string;
  /** The link state now. */
  state: 'up' | 'down';
  /** False when the link already was in that state (nothing was written). */
  changed: boolean;
  /** net1 as written (or found). */
  nic: string;
}

export interface LbLinkDeps {
  onNode<T>(spec: ClusterSpec, serverName: string, fn: (call: NodeCall) => Promise<T>): Promise<T>;
  ourVm(call: NodeCall, spec: ClusterSpec, role: VmRole): Promise<'missing' | VmListEntry>;
  missingVm(spec: ClusterSpec, server: ServerSpec, role: VmRole): ApplicationFailure;
  progress: OnProgress;
}

export function createLbLinkActivities(deps: LbLinkDeps) {
  return {
    /** Sets the public link of the server's LB VM up or down; already in that state: nothing written. */
    async setLbPublicLink(spec: ClusterSpec, serverName: string, up: boolean): Promise<LbLinkResult> {
      return deps.onNode(spec, serverName, async (call) => {
        if (!call.server.vms.lb) {
          throw ApplicationFailure.nonRetryable(`server ${serverName} has no vms.lb in the spec; it has no LB VM whose public link to set`, 'BadInput');
        }
        const vm = await deps.ourVm(call, spec, 'lb');
        if (vm === 'missing') throw deps.missingVm(spec, call.server, 'lb');
        const vmid = vm.vmid;
        const base = { server: call.server.name, vmid, node: call.server.proxmox.node, state: up ? ('up' as const) : ('down' as const) };
        const config = await call.client.vmConfig(vmid);
        const actual = config[LB_PUBLIC_NIC_KEY];
        if (actual === undefined) {
          throw ApplicationFailure.nonRetryable(
            `the LB VM ${vmid} of ${call.server.name} has no public NIC (${LB_PUBLIC_NIC_KEY}): bootstrap with publicPath mode vmac/routed creates it`,
            'LbPublicNicMissing',
            { server: call.server.name, vmid },
          );
        }
        if (nicLinkUp(actual) === up) return { ...base, changed: false, nic: actual };
        const nic = withLink(actual, up);
        deps.progress({ vmid, phase: `setting ${LB_PUBLIC_NIC_KEY} link ${base.state}` });
        await call.client.updateVmConfig(vmid, { [LB_PUBLIC_NIC_KEY]: nic, digest: config.digest });
        return { ...base, changed: true, nic };
      });
    },
  };
}
