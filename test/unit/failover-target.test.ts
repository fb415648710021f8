// decideFailoverTarget, table-style: each row is a situation and what must happen.
import { describe, expect, it } from 'vitest';
import { decideFailoverTarget, type FailoverFacts } from '../../core/policies/failover-target';

const servers = [
  { name: 'srv-a', ovhService: 'ns1.eu' },
  { name: 'srv-b', ovhService: 'ns2.eu' },
  { name: 'srv-c', ovhService: 'ns3.eu' },
];
const probes = (healthy: Record<string, boolean>) =>
  servers.map((s) => ({ server: s.name, healthy: healthy[s.name] ?? true, detail: healthy[s.name] === false ? 'unreachable (ECONNREFUSED)' : 'ok' }));

const cases: { name: string; facts: Omit<FailoverFacts, 'servers'>; expected: Record<string, unknown>; why?: RegExp }[] = [
  { name: 'a requested healthy server gets the IP', facts: { routedToService: 'ns1.eu', requested: 'srv-b', probes: probes({}) }, expected: { kind: 'move', to: 'srv-b', toService: 'ns2.eu' } },
  { name: 'a requested server that already has the IP is a no-op', facts: { routedToService: 'ns2.eu', requested: 'srv-b', probes: probes({}) }, expected: { kind: 'noop', to: 'srv-b' } },
  { name: 'a requested server whose LB is down is refused', facts: { routedToService: 'ns1.eu', requested: 'srv-c', probes: probes({ 'srv-c': false }) }, expected: { kind: 'refuse' }, why: /LB of srv-c is not healthy \(unreachable/ },
  { name: 'a requested server that is not in the spec is refused', facts: { routedToService: 'ns1.eu', requested: 'srv-z', probes: probes({}) }, expected: { kind: 'refuse' }, why: /srv-z is not in the spec; choose one of srv-a, srv-b, srv-c/ },
  { name: 'with no request, a healthy current LB keeps the IP', facts: { routedToService: 'ns1.eu', probes: probes({}) }, expected: { kind: 'noop', to: 'srv-a' } },
  { name: 'with no request, a dead current LB hands over to the first healthy other', facts: { routedToService: 'ns1.eu', probes: probes({ 'srv-a': false }) }, expected: { kind: 'move', to: 'srv-b' } },
  { name: 'with no request, unhealthy servers are skipped in spec order', facts: { routedToService: 'ns1.eu', probes: probes({ 'srv-a': false, 'srv-b': false }) }, expected: { kind: 'move', to: 'srv-c' } },
  { name: 'with no request and every LB down, nothing moves', facts: { routedToService: 'ns1.eu', probes: probes({ 'srv-a': false, 'srv-b': false, 'srv-c': false }) }, expected: { kind: 'refuse' }, why: /no healthy LB to move to/ },
  { name: 'a parked IP goes to the first healthy LB', facts: { routedToService: null, probes: probes({}) }, expected: { kind: 'move', to: 'srv-a' }, why: /nowhere \(parked\)/ },
  { name: 'an IP routed outside the spec comes back to the first healthy LB', facts: { routedToService: 'ns99.eu', probes: probes({}) }, expected: { kind: 'move', to: 'srv-a' }, why: /ns99.eu \(not in the spec\)/ },
  { name: 'a server being replaced hands its IP over although its LB is healthy', facts: { routedToService: 'ns1.eu', probes: probes({}), avoid: 'srv-a' }, expected: { kind: 'move', to: 'srv-b' } },
  { name: 'a server being replaced is never chosen as the target', facts: { routedToService: 'ns1.eu', requested: 'srv-b', probes: probes({}), avoid: 'srv-b' }, expected: { kind: 'refuse' }, why: /being replaced/ },
];

describe('decideFailoverTarget', () => {
  it.each(cases)('$name', ({ facts, expected, why }) => {
    const decision = decideFailoverTarget({ servers, ...facts });
    expect(decision).toMatchObject(expected);
    if (why) expect(decision.why).toMatch(why);
  });
});
