import { describe, expect, it } from 'vitest';
import { majority, quorumAfterRemoval } from '../../core/policies/quorum';

const members = (...states: boolean[]) => states.map((healthy, i) => ({ server: `srv-${'abcde'[i]}`, healthy }));

describe('quorumAfterRemoval', () => {
  it.each([
    { name: 'replacing the one dead member of three is allowed', members: members(true, true, false), removing: 'srv-c', desired: 3, allowed: true },
    { name: 'replacing a healthy member of three healthy is allowed', members: members(true, true, true), removing: 'srv-a', desired: 3, allowed: true },
    { name: 'removing a healthy member while another is dead is refused', members: members(true, true, false), removing: 'srv-a', desired: 3, allowed: false, why: /would leave 1 healthy etcd member, fewer than the 2/ },
    { name: 'two dead of three: nothing may be removed (quorum lost)', members: members(true, false, false), removing: 'srv-b', desired: 3, allowed: false, why: /lost quorum: 1 of 3/ },
    { name: 'a single control plane can never be removed', members: members(true), removing: 'srv-a', desired: 1, allowed: false, why: /would leave 0 healthy/ },
    { name: 'five members with two dead: replacing a dead one is allowed', members: members(true, true, true, false, false), removing: 'srv-d', desired: 5, allowed: true },
    { name: 'five members with two dead: removing a healthy one is refused', members: members(true, true, true, false, false), removing: 'srv-a', desired: 5, allowed: false },
    { name: 'a member already gone from etcd counts as not there', members: members(true, true), removing: 'srv-c', desired: 3, allowed: true },
  ])('$name', ({ members: m, removing, desired, allowed, why }) => {
    const verdict = quorumAfterRemoval(m, removing, desired);
    expect(verdict.allowed).toBe(allowed);
    if (why) expect(verdict.why).toMatch(why);
  });

  it('majority is more than half', () => {
    expect([1, 2, 3, 4, 5].map(majority)).toEqual([1, 2, 2, 3, 3]);
  });
});
