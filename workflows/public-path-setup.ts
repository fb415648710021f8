// The public path's steps in bootstrap and replaceNode (docs/design.md §10.3): what OVH must
// hold before the LB VMs are created (vmac: the failover IP's virtual MAC; vrack-block: the IP
// block in the vRack), and the public NIC each LB VM is created with. Workflow code: decisions
// are core/public-path/nic-plan.ts's, every call an idempotent activity that looks before it acts.
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ProvisionIntent } from '../core/intents';
import { publicPathOf } from '../core/public-path/modes';
import { lbNicOptions, planPublicNics, type PublicNicPlan } from '../core/public-path/nic-plan';
import { decideFailoverTarget } from '../core/policies/failover-target';
import type { SpecRef } from '../core/spec/generations';
import type { ClusterSpec } from '../core/spec/schema';
import * as profiles from './activity-profiles';
import type { StepLog } from './progress';

const call = proxyActivities<Activities>(profiles.providerCall);
const wait = proxyActivities<Activities>(profiles.providerTaskWait);
const probe = proxyActivities<Activities>(profiles.probe);

/** What every LB VM's public NIC is made of: the plan and, in vmac mode, the virtual MAC. */
export interface PublicNics {
  plan: PublicNicPlan;
  mac?: string;
  /** What this run made at OVH, for the run's summary (undefined when it found everything in place). */
  made?: string;
}

/** Where OVH routes `ip` once any move already under way has landed. */
async function settledRouting(spec: ClusterSpec, ref: SpecRef, ip: string, log: StepLog, nameOf: (service: string | null) => string) {
  const read = () => log.run(`routing ${ip}`, () => call.getIpRouting(ref, ip), (r) => `routed to ${nameOf(r.routedTo)}`);
  let routing = await read();
  if (routing.pendingMove) {
    const { taskId } = routing.pendingMove;
    await log.run(`wait-pending-move ${ip}`, () => wait.waitForIpTask(ref, ip, taskId), () => `task ${taskId}`);
    routing = await read();
  }
  return routing;
}

const serviceName = (spec: ClusterSpec) => (service: string | null) => (service === null ? 'nowhere' : (spec.servers.find((s) => s.ovhService === service)?.name ?? service));

/**
 * Bootstrap, before the LB VMs exist: which LB's link starts up, and in vmac mode the failover
 * IP's virtual MAC on the server OVH routes it to (created once: `ensureVirtualMac` answers an
 * existing MAC as is and adopts a task already under way; its task waited on the wait profile).
 * Nothing to do in vrack-block mode (attachVrackBlock).
 */
export async function setUpPublicNics(spec: ClusterSpec, ref: SpecRef, log: StepLog): Promise<PublicNics> {
  if (publicPathOf(spec).mode === 'vrack-block') return { plan: { why: 'vrack-block: no public NIC' } };
  const ip = spec.failoverIps[0];
  const routing = await settledRouting(spec, ref, ip, log, serviceName(spec));
  const plan = planPublicNics(spec, routing.routedTo);
  if ('refuse' in plan) throw ApplicationFailure.nonRetryable(`the public path cannot be set up, so no VM was created: ${plan.refuse}`, 'PublicPathUnsupported');
  if (!plan.virtualMac) return { plan };
  const { server, ovhService, virtualMachineName } = plan.virtualMac;
  const made = await log.run(
    `virtual-mac ${ip}`,
    () => wait.ensureVirtualMac(ref, ovhService, ip, virtualMachineName),
    (r) => `${r.mac} on ${server}${r.created ? ` (created, task ${r.taskId})` : ' (already there)'}`,
  );
  return { plan, mac: made.mac, ...(made.created ? { made: `created the virtual MAC ${made.mac} of ${ip} on ${server}` } : {}) };
}

/** The provisionServer intent's `lbPublicNic` for `server` (undefined in vrack-block mode). */
export function lbPublicNicIntent(nics: PublicNics, server: string): ProvisionIntent['lbPublicNic'] {
  if (nics.plan.active === undefined) return undefined;
  const o = lbNicOptions(nics.plan, server, nics.mac);
  return { ...(o.publicMac !== undefined ? { mac: o.publicMac } : {}), linkUp: o.publicLinkUp };
}

/** vrack-block: the spec's IP block routed into the cluster's vRack (looked at first, its task waited); what this run made, if anything. */
export async function attachVrackBlock(spec: ClusterSpec, ref: SpecRef, log: StepLog): Promise<string | undefined> {
  const { mode, block } = publicPathOf(spec);
  if (mode !== 'vrack-block' || block === undefined) return undefined;
  const r = await log.run(`vrack-ip-block ${block}`, () => wait.ensureVrackIpBlock(ref, block), (a) => (a.alreadyAttached ? `already in ${spec.ovh.vrack}` : `added to ${spec.ovh.vrack}, task ${a.taskId}`));
  return r.alreadyAttached ? undefined : `routed ${block} into the vRack ${spec.ovh.vrack}`;
}

/**
 * Before an LB being replaced hands its failover IP over: the LB that will take it gets its
 * public link up first, as keepalived's notify_master does before it asks for the move (the
 * old LB is still MASTER, so no keepalived would do it). Answers the target, chosen as
 * failoverIp chooses it (core/policies/failover-target.ts), or undefined when there is no
 * link to set (vrack-block) or no healthy LB to take it (failoverIp then refuses, saying why).
 */
export async function raiseTakeoverLink(spec: ClusterSpec, ref: SpecRef, leaving: string, log: StepLog): Promise<string | undefined> {
  if (publicPathOf(spec).mode === 'vrack-block') return undefined;
  const leavingService = spec.servers.find((s) => s.name === leaving)!.ovhService;
  const probes = await log.run('probe-lbs', () => Promise.all(spec.servers.map((s) => probe.probeLb(s))), (all) => all.map((p) => `${p.server}: ${p.healthy ? 'healthy' : p.detail}`).join('; '));
  const decision = decideFailoverTarget({ servers: spec.servers, routedToService: leavingService, probes, avoid: leaving });
  if (decision.kind !== 'move') return undefined;
  const to = decision.to;
  await log.run(`link-up ${to}`, () => call.setLbPublicLink(ref, to, true), (r) => (r.changed ? `VM ${r.vmid} net1 link ${r.state}` : `VM ${r.vmid} net1 already ${r.state}`));
  return to;
}

/**
 * A recreated LB VM's public NIC: the virtual MAC the failover IP carries now, wherever OVH
 * routes it (vmac), link down. keepalived's notify_master brings it up if this LB wins.
 */
export async function replacementLbNic(spec: ClusterSpec, ref: SpecRef, log: StepLog): Promise<{ publicMac?: string; publicLinkUp: false }> {
  if (publicPathOf(spec).mode !== 'vmac') return { publicLinkUp: false };
  const ip = spec.failoverIps[0];
  const nameOf = serviceName(spec);
  const routing = await settledRouting(spec, ref, ip, log, nameOf);
  if (routing.routedTo === null) {
    throw ApplicationFailure.nonRetryable(`${ip} is routed nowhere, so it has no virtual MAC for the new LB VM's public NIC; route it to a server of the cluster (autok8s failover) and replace again`, 'PublicPathUnsupported');
  }
  const routedTo = routing.routedTo;
  const macs = await log.run(`virtual-mac ${ip}`, () => call.listVirtualMacs(ref, routedTo), (all) => all.find((m) => m.ips.includes(ip))?.mac ?? `none on ${nameOf(routedTo)}`);
  const mac = macs.find((m) => m.ips.includes(ip))?.mac;
  if (mac === undefined) {
    throw ApplicationFailure.nonRetryable(
      `${ip} has no virtual MAC on ${nameOf(routedTo)}, where OVH routes it, so the new LB VM's public NIC cannot carry it; run autok8s bootstrap to create it, then replace again`,
      'PublicPathUnsupported',
    );
  }
  return { publicMac: mac, publicLinkUp: false };
}
