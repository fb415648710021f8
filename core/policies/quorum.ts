// The quorum guard (docs/design.md §4.3): no control plane is removed or destroyed when the
// healthy etcd members left would be fewer than a majority of the cluster's control
// planes. Pure, so the rule is stated once and table-tested.

export interface EtcdMemberHealth {
  server: string;
  healthy: boolean;
}

export interface QuorumVerdict {
  allowed: boolean;
  /** Majority of the control planes the spec asks for. */
  required: number;
  healthyLeft: number;
  why: string;
}

export function majority(count: number): number {
  return Math.floor(count / 2) + 1;
}

/**
 * May `removing` leave etcd? `members` is what etcd and the probes say now; `desired` the
 * number of control planes in the spec (a cluster that lost members still needs a majority
 * of the size it is meant to have, or a second failure loses it).
 */
export function quorumAfterRemoval(members: readonly EtcdMemberHealth[], removing: string, desired: number): QuorumVerdict {
  const required = majority(desired);
  const healthyLeft = members.filter((m) => m.healthy && m.server !== removing).length;
  const healthyNow = members.filter((m) => m.healthy).length;
  if (healthyNow < required) {
    return {
      allowed: false,
      required,
      healthyLeft,
      why: `etcd has lost quorum: ${healthyNow} of ${desired} control planes are healthy, ${required} are needed; restore a member from a snapshot before replacing control planes`,
    };
  }
  if (healthyLeft < required) {
    return {
      allowed: false,
      required,
      healthyLeft,
      why: `removing ${removing} would leave ${healthyLeft} healthy etcd member${healthyLeft === 1 ? '' : 's'}, fewer than the ${required} a ${desired}-member cluster needs; repair the unhealthy members first`,
    };
  }
  return { allowed: true, required, healthyLeft, why: `${healthyLeft} healthy members stay, ${required} needed` };
}
