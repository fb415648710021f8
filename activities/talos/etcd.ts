// Talos activities for etcd: bootstrapping it exactly once, waiting for members, listing,
// removing and leaving. Each looks before it acts, so a retry after a lost answer never
// bootstraps twice or removes a machine that has rejoined.
import { ApplicationFailure } from '@temporalio/common';
import { memberPeerIp, parseEtcdMembers, TalosOutputError, type EtcdMemberRow } from '../../core/talos/etcd-members';
import type { TalosFailure } from '../../core/talos/failure';
import { controlPlaneNodes, type TalosNode } from '../../core/talos/nodes';
import type { ClusterSpec } from '../../core/spec/schema';
import { badInput, toFailure, type TalosContext } from './context';
import { bootstrapArgs, etcdLeaveArgs, etcdMembersArgs, etcdRemoveMemberArgs } from './talosctl';

export interface EtcdMemberInfo extends EtcdMemberRow {
  /** The spec server whose control plane this member is, when it matches one. */
  server?: string;
  ip?: string;
}

export function createTalosEtcdActivities(ctx: TalosContext) {
  const { apiWaitMs, memberWaitMs, nodeOf, talosctl, talosctlPath, classify, succeeded, authTo, waitFor, waitForApi } = ctx;

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
      throw ApplicationFailure.nonRetryable(`${err.message}; is the talosctl at ${talosctlPath(spec)} a 1.x release matching spec.talos.version?`, 'TalosOutputUnreadable');
    }
  }

  return {
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

  };
}
