// replaceNode: rebuild one VM — a control plane, a worker or an LB (docs/design.md §2.4).
// ID `<cluster>/replace/<server>/<role>`; holds the cluster lock, so it never runs beside a
// bootstrap or another replacement.
//
// Worker: drained first where it answers (a graceful Talos reset cordons and drains it).
// Control plane: quorum guard first (pure `quorumAfterRemoval`; a refusal is final), then the
// etcd member leaves (gracefully when the node answers, removed by ID through a healthy
// control plane when it does not), the VM is destroyed and recreated, its config applied, and
// the workflow waits until it is an etcd member and Ready. Every step is an idempotent
// activity and the workflow records each result, so a crash between "member removed" and
// "VM destroyed" resumes at the destroy: no second removal, no ghost VM.
import { ApplicationFailure, executeChild, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { quorumAfterRemoval } from '../core/policies/quorum';
import { CLUSTER, OPERATION, SERVER } from '../core/search-attributes';
import type { SpecRef } from '../core/spec/generations';
import type { ClusterSpec, VmRole } from '../core/spec/schema';
import { workflowIds } from '../core/workflow-ids';
import * as profiles from './activity-profiles';
import type { ReplaceIntent } from '../core/intents';
import { withClusterLock } from './cluster-lock';
import { failoverIp } from './failover-ip';
import { checkIntent, loadAcceptedSpec, refTo } from './accepted-spec';
import { progressQuery, StepLog, type StepRecord } from './progress';
import { describeBoot } from './provision-server';
import { raiseTakeoverLink, replacementLbNic } from './public-path-setup';

const call = proxyActivities<Activities>(profiles.providerCall);
const wait = proxyActivities<Activities>(profiles.providerTaskWait);
const probe = proxyActivities<Activities>(profiles.probe);
const bookkeeping = proxyActivities<Activities>(profiles.bookkeeping);

/** The VM to rebuild (server and role), why, and what to do when the cluster is busy. */
export type ReplaceNodeInput = ReplaceIntent;

export interface ReplaceNodeResult {
  cluster: string;
  /** The spec generation the run worked with. */
  generation: string;
  server: string;
  role: VmRole;
  reason: string;
  etcd?: { removedMember: boolean; how: 'leave' | 'remove-member' | 'already-gone'; membersAfter: number };
  movedIps: string[];
  newVmid: number;
  steps: StepRecord[];
  totalMs: number;
}

export async function replaceNode(input: ReplaceNodeInput): Promise<ReplaceNodeResult> {
  const log = new StepLog();
  setHandler(progressQuery, () => log.snapshot());
  const startedAt = Date.now();
  checkIntent('replaceNode', input);
  const { spec, generation } = await loadAcceptedSpec(log, input.cluster, input.generation);
  const server = spec.servers.find((s) => s.name === input.server);
  if (!server) throw ApplicationFailure.nonRetryable(`server ${input.server} is not in the spec (${spec.servers.map((s) => s.name).join(', ')})`, 'BadInput');
  if (!server.vms[input.role]) throw ApplicationFailure.nonRetryable(`server ${input.server} has no ${input.role} VM in the spec`, 'BadInput');
  if (!workflowInfo().typedSearchAttributes.get(CLUSTER)) {
    upsertSearchAttributes([
      { key: CLUSTER, value: spec.metadata.name },
      { key: OPERATION, value: 'replace' },
      { key: SERVER, value: input.server },
    ]);
  }
  return withClusterLock(spec.metadata.name, `replace ${input.server}/${input.role}`, input.ifBusy ?? 'wait', () => replaceLocked(spec, generation, input, log, startedAt));
}

async function replaceLocked(spec: ClusterSpec, generation: string, input: ReplaceNodeInput, log: StepLog, startedAt: number): Promise<ReplaceNodeResult> {
  const ref = refTo(spec, generation);
  const { server, role } = input;
  const movedIps: string[] = [];
  let etcd: ReplaceNodeResult['etcd'];

  if (role === 'controlPlane') etcd = await leaveEtcdSafely(spec, ref, server, log);
  if (role === 'worker') {
    // A graceful Talos reset cordons and drains the node through Talos itself (no kubectl
    // needed); a node that does not answer is skipped with the reason and replaced anyway.
    const drain = await log.run('drain', () => wait.drainNode(ref, server, 'worker'), (r) => r.why);
    if (!drain.drained) log.steps[log.steps.length - 1].status = 'skipped';
  }
  if (role === 'lb') {
    const lbServer = spec.servers.find((s) => s.name === server)!;
    let releasedVrrp = false;
    for (const ip of spec.failoverIps) {
      const routing = await log.run(`routing ${ip}`, () => call.getIpRouting(ref, ip));
      if (routing.routedTo !== lbServer.ovhService) continue;
      // keepalived on this LB is still MASTER and holds the failover IP: while it does, no other
      // LB holds the address, so a move would end unserved. Stopped, it hands VRRP over at once.
      if (!releasedVrrp) {
        releasedVrrp = true;
        await log.run('release-vrrp', () => call.releaseVrrp(ref, server), (r) => r.detail);
      }
      const to = await raiseTakeoverLink(spec, ref, server, log);
      await log.run(`move ${ip} away`, () =>
        executeChild(failoverIp, {
          workflowId: `${workflowIds.failover(spec.metadata.name, ip)}/replace-${server}`,
          args: [{ cluster: spec.metadata.name, generation, ip, avoid: server, ...(to ? { to } : {}), reason: `replacing the LB of ${server}` }],
        }),
      );
      movedIps.push(ip);
    }
  }

  // A new LB VM gets the public NIC its predecessor had, the virtual MAC as OVH has it now (the
  // IP moved away above), link down: keepalived's notify_master brings it up if this LB wins.
  const publicNic = role === 'lb' ? await replacementLbNic(spec, ref, log) : {};
  await log.run('destroy-vm', () => call.destroyVm(ref, server, role), (r) => (r.destroyed ? `destroyed VM ${r.vmid}` : `VM ${r.vmid} was already gone`));
  const vm = await log.run('create-vm', () => call.ensureVm(ref, server, role, publicNic), (r) => `VM ${r.vmid}${r.created ? ' created' : ' exists'}`);
  await log.run('boot-vm', () => wait.bootVm(ref, server, role), describeBoot);

  if (role === 'controlPlane' || role === 'worker') {
    // A new machine: its VM was destroyed and created again above, so it is in maintenance mode.
    await log.run('apply-config', () => call.applyMachineConfig(ref, server, role, { newMachine: true }));
    if (role === 'controlPlane') {
      await log.run('wait-etcd-member', () => wait.waitForEtcdMember(ref, server), (r) => `member ${r.memberId}`);
      const after = await log.run('etcd-members', () => call.etcdMembers(ref, server), (r) => `${r.members.length} members`);
      if (etcd) etcd.membersAfter = after.members.length;
    }
    await log.run('wait-ready', () => wait.nodeReady(ref, server, role, { waitMs: 10 * 60_000 }), (r) => r.stage);
  }
  if (role === 'controlPlane' || role === 'lb') {
    // keepalived.conf's public route goes through each server's gateway, as OVH reports it.
    const facts = await log.run('public-path-facts', () => call.checkServerPublicFacts(ref), (r) => r.facts.map((f) => `${f.server} gateway ${f.gateway ?? 'none'}`).join(', '));
    const gateways = facts.facts.map((f) => f.gateway);
    await log.run('push-lb-configs', () => call.pushLbConfigs(ref, { gateways }), (r) => `${r.changed.length} files changed`);
  }
  log.phase = 'done';
  return {
    cluster: spec.metadata.name,
    generation,
    server,
    role,
    reason: input.reason ?? 'manual',
    etcd,
    movedIps,
    newVmid: vm.vmid,
    steps: log.steps,
    totalMs: Date.now() - startedAt,
  };
}

/** Quorum guard, then the member leaves etcd. Returns how it left. */
async function leaveEtcdSafely(spec: ClusterSpec, ref: SpecRef, server: string, log: StepLog): Promise<NonNullable<ReplaceNodeResult['etcd']>> {
  const controlPlanes = spec.servers.filter((s) => s.vms.controlPlane).map((s) => s.name);
  const readiness = await log.run(
    'probe-control-planes',
    () => Promise.all(controlPlanes.map(async (name) => ({ name, ...(await probe.nodeReady(ref, name, 'controlPlane').catch(() => ({ ready: false, stage: 'unreachable', detail: 'no answer' }))) }))),
    (all) => all.map((r) => `${r.name}: ${r.ready ? 'ready' : r.stage}`).join('; '),
  );
  const via = readiness.find((r) => r.ready && r.name !== server)?.name;
  if (!via) {
    throw ApplicationFailure.nonRetryable(`no other healthy control plane answers; replacing ${server} now could lose etcd — restore quorum first`, 'QuorumRefused');
  }
  const members = await log.run('etcd-members', () => call.etcdMembers(ref, via), (r) => `${r.members.length} members via ${via}`);
  const health = members.members
    .filter((m) => m.server !== undefined)
    .map((m) => ({ server: m.server!, healthy: readiness.some((r) => r.name === m.server && r.ready) }));
  const verdict = quorumAfterRemoval(health, server, controlPlanes.length);
  log.skip('quorum-guard', verdict.why);
  if (!verdict.allowed) throw ApplicationFailure.nonRetryable(verdict.why, 'QuorumRefused');

  const member = members.members.find((m) => m.server === server);
  if (!member) return { removedMember: false, how: 'already-gone', membersAfter: members.members.length };
  // A node that still answers leaves by itself (it may be unready for other reasons, such as a
  // failing kubelet); one that does not is removed by its member ID through a healthy peer. The
  // ID is recorded here, so a retried removal finds it gone and never removes a rejoined machine.
  const answers = readiness.find((r) => r.name === server)?.stage !== 'unreachable';
  if (answers) {
    await log.run('etcd-leave', () => call.leaveEtcd(ref, server));
    return { removedMember: true, how: 'leave', membersAfter: members.members.length - 1 };
  }
  await log.run('etcd-remove-member', () => call.removeEtcdMember(ref, server, via, member.id), (r) => (r.alreadyGone ? 'already gone' : `removed ${r.memberId}`));
  return { removedMember: true, how: 'remove-member', membersAfter: members.members.length - 1 };
}
