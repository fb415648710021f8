// When a watch window hands an observation to the watcher: on a change a decision reads, when
// time alone changes the decision, and never otherwise. Table tests of the pure functions,
// plus the check that matters: decideRemediations gives the same answer at every moment
// before nextDecisionAt, so a window that stays quiet until then loses no decision.
import { describe, expect, it } from 'vitest';
import type { ClusterObservation } from '../../core/health/observation';
import { changesBetween, legEnd, nextDecisionAt, quietSummary } from '../../core/health/watch-window';
import { decideRemediations, type NodeHistory, type NodeObservation } from '../../core/policies/remediation';

const MIN = 60_000;
const NOW = 100 * MIN;
const policy = { unhealthyAfterMs: 5 * MIN, nodeStartupTimeoutMs: 10 * MIN, maxUnhealthy: 1, autoRemediate: true };
const servers = ['srv-a', 'srv-b', 'srv-c'];

function nodes(down: string[] = [], detail = 'unreachable'): NodeObservation[] {
  return servers.flatMap((server) =>
    (['lb', 'controlPlane', 'worker'] as const).map((role) => {
      const healthy = !down.includes(`${server}/${role}`);
      return { server, role, healthy, detail: healthy ? 'running' : detail };
    }),
  );
}
function seen(down: string[] = [], extra: Partial<ClusterObservation> & { vrrp?: { server: string; master: boolean | null }[] } = {}): ClusterObservation {
  return { cluster: 'c', at: NOW, nodes: nodes(down), etcd: servers.map((server) => ({ server, healthy: !down.includes(`${server}/controlPlane`) })), failover: [{ ip: '203.0.113.10', routedTo: 'srv-a' }], ...extra };
}

describe('changesBetween', () => {
  it.each([
    { name: 'the same picture is no change', before: seen(), after: seen(), expected: [] },
    { name: 'a node going down is one change (and its etcd member with it)', before: seen(), after: seen(['srv-b/controlPlane']), expected: ['srv-b/controlPlane unhealthy: unreachable', 'etcd member srv-b unhealthy or missing'] },
    { name: 'a node coming back is a change', before: seen(['srv-b/worker']), after: seen(), expected: ['srv-b/worker healthy again'] },
    { name: 'a different reason for the same unhealthy node is not a change', before: seen(['srv-b/worker']), after: { ...seen(), nodes: nodes(['srv-b/worker'], 'VM stopped') }, expected: [] },
    { name: 'an IP moving is a change', before: seen(), after: seen([], { failover: [{ ip: '203.0.113.10', routedTo: 'srv-b' }] }), expected: ['203.0.113.10 moved srv-a → srv-b'] },
    { name: 'an IP whose routing cannot be read is a change', before: seen(), after: seen([], { failover: [] }), expected: ['203.0.113.10 routing unknown'] },
    {
      name: 'another LB becoming VRRP MASTER is a change',
      before: seen([], { vrrp: [{ server: 'srv-a', master: true }] }),
      after: seen([], { vrrp: [{ server: 'srv-a', master: true }, { server: 'srv-b', master: true }] }),
      expected: ['VRRP srv-a:MASTER → srv-a:MASTER srv-b:MASTER'],
    },
    { name: 'the first look has nothing to compare with', before: undefined, after: seen(['srv-a/lb']), expected: [] },
  ])('$name', ({ before, after, expected }) => {
    expect(changesBetween(before, after)).toEqual(expected);
  });
});

describe('nextDecisionAt', () => {
  const cases: { name: string; down: string[]; history: Record<string, NodeHistory>; inFlight?: string[]; expected: number | undefined }[] = [
    { name: 'a healthy cluster: only a change can change the decision', down: [], history: {}, expected: undefined },
    { name: 'a node unhealthy for 2 min: when unhealthyAfter runs out', down: ['srv-b/worker'], history: { 'srv-b/worker': { unhealthySince: NOW - 2 * MIN } }, expected: NOW + 3 * MIN },
    { name: 'a node rebooted 1 min ago: when the wait before replacing runs out', down: ['srv-b/worker'], history: { 'srv-b/worker': { unhealthySince: NOW - 12 * MIN, rebootedAt: NOW - MIN } }, expected: NOW + 4 * MIN },
    { name: 'a new node starting: when nodeStartupTimeout runs out', down: ['srv-b/worker'], history: { 'srv-b/worker': { unhealthySince: NOW - 2 * MIN, startedAt: NOW - 2 * MIN } }, expected: NOW + 8 * MIN },
    { name: 'a node reported after its replacement: nothing more is due', down: ['srv-b/worker'], history: { 'srv-b/worker': { unhealthySince: NOW - 30 * MIN, rebootedAt: NOW - 20 * MIN, replacedAt: NOW - 12 * MIN, startedAt: NOW - 12 * MIN, healthySinceStart: true } }, expected: undefined },
    { name: 'a repair running: every probe, since its end changes the budget', down: ['srv-a/worker', 'srv-b/worker'], history: { 'srv-a/worker': { unhealthySince: 0, rebootedAt: NOW }, 'srv-b/worker': { unhealthySince: 0 } }, inFlight: ['srv-a/worker'], expected: NOW },
  ];
  it.each(cases)('$name', ({ down, history, inFlight = [], expected }) => {
    expect(nextDecisionAt({ now: NOW, nodes: nodes(down), history, inFlight, policy })).toBe(expected);
  });

  it.each(cases.filter((c) => c.expected !== undefined && c.expected > NOW))('decideRemediations says the same until then, and something else from then: $name', ({ down, history, expected }) => {
    const decide = (now: number) =>
      decideRemediations({ now, nodes: nodes(down), history, inFlight: [], policy, etcd: seen(down).etcd, desiredControlPlanes: 3, failover: [] }).map((a) => `${a.kind}:${'server' in a ? a.server : a.ip}`);
    expect(decide(expected! - 1)).toEqual(decide(NOW));
    expect(decide(expected!)).not.toEqual(decide(NOW));
  });
});

describe('legEnd', () => {
  it.each([
    { name: 'the first probe of a window is reported', facts: { baseline: undefined, changes: [], specChanged: false }, expected: 'first' },
    { name: 'a new spec generation is reported', facts: { baseline: seen(), changes: [], specChanged: true }, expected: 'spec' },
    { name: 'a change is reported', facts: { baseline: seen(), changes: ['srv-b/worker unhealthy: x'], specChanged: false }, expected: 'change' },
    { name: 'a due decision is reported', facts: { baseline: seen(), changes: [], specChanged: false, recheckAt: NOW - 1 }, expected: 'due' },
    { name: 'nothing new before the decision is due: keep probing quietly', facts: { baseline: seen(), changes: [], specChanged: false, recheckAt: NOW + 1 }, expected: undefined },
    { name: 'nothing new and nothing due: keep probing quietly', facts: { baseline: seen(), changes: [], specChanged: false }, expected: undefined },
  ])('$name', ({ facts, expected }) => {
    expect(legEnd({ ...facts, seen: seen(), now: NOW })).toBe(expected);
  });
});

describe('quietSummary', () => {
  it('says a quiet hour in one line', () => {
    expect(quietSummary(seen(), NOW - 60 * MIN, NOW, 120)).toBe('all 9 healthy for 60 min (120 probes)');
  });
  it('names the nodes that stayed unhealthy', () => {
    expect(quietSummary(seen(['srv-b/worker']), NOW - 30_000, NOW, 1)).toBe('1/9 unhealthy (srv-b/worker) for 30 s (1 probe)');
  });
});
