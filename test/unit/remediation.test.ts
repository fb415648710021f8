// decideRemediations, table-style: a situation, and what the health check must do about it.
import { describe, expect, it } from 'vitest';
import { decideRemediations, recordHealth, type NodeObservation, type RemediationFacts } from '../../core/policies/remediation';

const MIN = 60_000;
const policy = { unhealthyAfterMs: 5 * MIN, nodeStartupTimeoutMs: 10 * MIN, maxUnhealthy: 1, autoRemediate: true };
const servers = ['srv-a', 'srv-b', 'srv-c'];
function nodes(down: string[] = []): NodeObservation[] {
  return servers.flatMap((server) =>
    (['lb', 'controlPlane', 'worker'] as const).map((role) => {
      const healthy = !down.includes(`${server}/${role}`);
      return { server, role, healthy, detail: healthy ? 'ok' : 'unreachable' };
    }),
  );
}
const etcdFor = (down: string[]) => servers.map((server) => ({ server, healthy: !down.includes(`${server}/controlPlane`) }));
const NOW = 100 * MIN;

function facts(down: string[], extra: Partial<RemediationFacts> = {}): RemediationFacts {
  return { now: NOW, nodes: nodes(down), history: {}, inFlight: [], policy, etcd: etcdFor(down), desiredControlPlanes: 3, failover: [{ ip: '203.0.113.10', routedTo: 'srv-a' }], ...extra };
}
const kinds = (f: RemediationFacts) => decideRemediations(f).map((a) => `${a.kind}:${'server' in a ? `${a.server}/${a.role}` : a.ip}`);

describe('decideRemediations', () => {
  it.each([
    { name: 'a healthy cluster needs nothing', f: facts([]), expected: [] },
    { name: 'a worker unhealthy for less than unhealthyAfter waits', f: facts(['srv-b/worker'], { history: { 'srv-b/worker': { unhealthySince: NOW - 2 * MIN } } }), expected: ['wait:srv-b/worker'] },
    { name: 'a worker unhealthy for longer is rebooted first', f: facts(['srv-b/worker'], { history: { 'srv-b/worker': { unhealthySince: NOW - 6 * MIN } } }), expected: ['reboot:srv-b/worker'] },
    { name: 'a worker still unhealthy unhealthyAfter after its reboot is replaced', f: facts(['srv-b/worker'], { history: { 'srv-b/worker': { unhealthySince: NOW - 12 * MIN, rebootedAt: NOW - 6 * MIN } } }), expected: ['replace:srv-b/worker'] },
    { name: 'a worker just rebooted gets time before a replacement', f: facts(['srv-b/worker'], { history: { 'srv-b/worker': { unhealthySince: NOW - 12 * MIN, rebootedAt: NOW - 1 * MIN } } }), expected: ['wait:srv-b/worker'] },
    { name: 'a node still unhealthy after a replacement is reported, not replaced again', f: facts(['srv-b/worker'], { history: { 'srv-b/worker': { unhealthySince: NOW - 30 * MIN, rebootedAt: NOW - 20 * MIN, replacedAt: NOW - 12 * MIN, startedAt: NOW - 12 * MIN } } }), expected: ['report:srv-b/worker'] },
    { name: 'a new node gets nodeStartupTimeout, not unhealthyAfter', f: facts(['srv-b/worker'], { history: { 'srv-b/worker': { unhealthySince: NOW - 8 * MIN, startedAt: NOW - 8 * MIN } } }), expected: ['wait:srv-b/worker'] },
    { name: 'a new node that never came up within nodeStartupTimeout is remediated', f: facts(['srv-b/worker'], { history: { 'srv-b/worker': { unhealthySince: NOW - 11 * MIN, startedAt: NOW - 11 * MIN } } }), expected: ['reboot:srv-b/worker'] },
    { name: 'every worker down with maxUnhealthy 1: one at a time', f: facts(['srv-a/worker', 'srv-b/worker', 'srv-c/worker'], { history: { 'srv-a/worker': { unhealthySince: 0 }, 'srv-b/worker': { unhealthySince: 0 }, 'srv-c/worker': { unhealthySince: 0 } } }), expected: ['reboot:srv-a/worker', 'wait:srv-b/worker', 'wait:srv-c/worker'] },
    { name: 'with one remediation in flight, nothing new starts', f: facts(['srv-a/worker', 'srv-b/worker'], { inFlight: ['srv-a/worker'], history: { 'srv-a/worker': { unhealthySince: 0 }, 'srv-b/worker': { unhealthySince: 0 } } }), expected: ['wait:srv-a/worker', 'wait:srv-b/worker'] },
    { name: 'one dead control plane of three is rebooted', f: facts(['srv-c/controlPlane'], { history: { 'srv-c/controlPlane': { unhealthySince: 0 } } }), expected: ['reboot:srv-c/controlPlane'] },
    { name: 'two dead control planes of three: no control-plane remediation (quorum)', f: facts(['srv-b/controlPlane', 'srv-c/controlPlane'], { policy: { ...policy, maxUnhealthy: 3 }, history: { 'srv-b/controlPlane': { unhealthySince: 0 }, 'srv-c/controlPlane': { unhealthySince: 0 } } }), expected: ['report:srv-b/controlPlane', 'report:srv-c/controlPlane'] },
    { name: 'the active LB down moves its IP at once, before any node waits', f: facts(['srv-a/lb'], { history: { 'srv-a/lb': { unhealthySince: NOW } } }), expected: ['failover:203.0.113.10', 'wait:srv-a/lb'] },
    { name: 'a standby LB down does not move the IP', f: facts(['srv-b/lb'], { history: { 'srv-b/lb': { unhealthySince: NOW } } }), expected: ['wait:srv-b/lb'] },
    { name: 'every LB down: no failover target, nothing moves', f: facts(['srv-a/lb', 'srv-b/lb', 'srv-c/lb'], { history: {} }), expected: ['wait:srv-a/lb', 'wait:srv-b/lb', 'wait:srv-c/lb'] },
    { name: 'autoRemediate off: report instead of acting', f: facts(['srv-b/worker'], { policy: { ...policy, autoRemediate: false }, history: { 'srv-b/worker': { unhealthySince: 0 } } }), expected: ['report:srv-b/worker'] },
  ])('$name', ({ f, expected }) => {
    expect(kinds(f)).toEqual(expected);
  });

  it('says why when quorum blocks a control-plane action', () => {
    const actions = decideRemediations(facts(['srv-b/controlPlane', 'srv-c/controlPlane'], { history: { 'srv-b/controlPlane': { unhealthySince: 0 } } }));
    expect(actions.find((a) => a.kind === 'report')!.why).toMatch(/lost quorum: 1 of 3/);
  });
});

describe('recordHealth', () => {
  it('starts the clock on the first unhealthy pass and keeps it', () => {
    const first = recordHealth(undefined, false, 1000);
    expect(recordHealth(first, false, 5000).unhealthySince).toBe(1000);
  });
  it('forgets the failure and the remedies once healthy again', () => {
    expect(recordHealth({ unhealthySince: 1, rebootedAt: 2, replacedAt: 3, startedAt: 3 }, true, 10)).toEqual({ startedAt: 3, healthySinceStart: true });
  });
});
