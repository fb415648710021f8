// Which LB's public link starts up and where the virtual MAC is made, when bootstrap builds the
// public path (core/public-path/nic-plan.ts).
import { describe, expect, it } from 'vitest';
import { publicPathOf, type PublicPathSection } from '../../core/public-path/modes';
import { intentProblem } from '../../core/intents';
import { lbNicOptions, planPublicNics, type PublicNicPlan } from '../../core/public-path/nic-plan';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
const withPath = (publicPath: Partial<PublicPathSection>): ClusterSpec => ({ ...spec, publicPath: { ...publicPathOf(spec), ...publicPath } });
const service = (i: number) => spec.servers[i].ovhService;
const name = (i: number) => spec.servers[i].name;
const IP = spec.failoverIps[0];

describe('planPublicNics', () => {
  it.each<[string, ClusterSpec, string | null, Partial<PublicNicPlan> | { refuse: RegExp }]>([
    ['vmac, the IP routed to the second server: its LB is active and the MAC is made there', spec, service(1), { active: name(1), virtualMac: { ip: IP, server: name(1), ovhService: service(1), virtualMachineName: `prod-gra-${name(1)}-lb` } }],
    ['vmac, the IP routed to the first server: the first LB is active', spec, service(0), { active: name(0), virtualMac: { ip: IP, server: name(0), ovhService: service(0), virtualMachineName: `prod-gra-${name(0)}-lb` } }],
    ['vmac, the IP routed to a server outside the cluster: refused, the MAC could be made nowhere', spec, 'ns9999.ip-1-2-3.eu', { refuse: /routed to ns9999\.ip-1-2-3\.eu, not a server of this cluster; OVH creates an IP's virtual MAC only on the server the IP is routed to/ }],
    ['vmac, the IP parked: refused, naming the field', spec, null, { refuse: /failoverIps\[0\] .* is routed to nowhere \(parked\)/ }],
    ['routed, the IP routed to the third server: its LB is active, no MAC', withPath({ mode: 'routed' }), service(2), { active: name(2), virtualMac: undefined }],
    ['routed, the IP parked: the first LB, where bootstrap moves it', withPath({ mode: 'routed' }), null, { active: name(0), virtualMac: undefined }],
    ['vrack-block: no public NIC at all', withPath({ mode: 'vrack-block', block: '203.0.113.8/29' }), service(0), { active: undefined, virtualMac: undefined }],
  ])('%s', (_, s, routedTo, want) => {
    const got = planPublicNics(s, routedTo);
    if ('refuse' in want) {
      expect(got).toHaveProperty('refuse');
      expect((got as { refuse: string }).refuse).toMatch(want.refuse);
    } else {
      expect(got).not.toHaveProperty('refuse');
      expect(got).toMatchObject(Object.fromEntries(Object.entries(want).filter(([, v]) => v !== undefined)));
      if (want.virtualMac === undefined) expect((got as PublicNicPlan).virtualMac).toBeUndefined();
      if (want.active === undefined) expect((got as PublicNicPlan).active).toBeUndefined();
    }
  });
});

describe('lbNicOptions', () => {
  const plan: PublicNicPlan = { active: name(1), why: 'test' };
  it.each([
    ['the active LB gets its link up, with the MAC', name(1), '02:00:00:00:00:01', { publicMac: '02:00:00:00:00:01', publicLinkUp: true }],
    ['a standby gets its link down, with the same MAC', name(0), '02:00:00:00:00:01', { publicMac: '02:00:00:00:00:01', publicLinkUp: false }],
    ['routed: no MAC, Proxmox chooses one', name(1), undefined, { publicLinkUp: true }],
  ])('%s', (_, server, mac, want) => {
    expect(lbNicOptions(plan, server, mac)).toEqual(want);
  });
});

describe("the provisionServer intent's lbPublicNic (bootstrap's decision, passed to each child)", () => {
  const base = { cluster: 'prod-gra', server: 'srv-a', generation: 'g0123456789ab' };
  it.each([
    ['no public NIC (vrack-block, or a child started by hand)', {}],
    ['the virtual MAC and a link up', { lbPublicNic: { mac: '02:00:00:ab:cd:ef', linkUp: true } }],
    ['no MAC (routed) and a link down', { lbPublicNic: { linkUp: false } }],
  ])('takes %s', (_, extra) => {
    expect(intentProblem('provisionServer', { ...base, ...extra })).toBeUndefined();
  });

  it.each([
    ['a MAC carrying another NIC option', { mac: '02:00:00:ab:cd:ef,bridge=vmbr1', linkUp: true }, /lbPublicNic\.mac: must be a unicast MAC/],
    ['a group (multicast) MAC', { mac: '01:00:5e:00:00:01', linkUp: true }, /lbPublicNic\.mac: must be a unicast MAC/],
    ['no link state', { mac: '02:00:00:ab:cd:ef' }, /lbPublicNic\.linkUp/],
    ['a bridge of its own (the spec names it)', { linkUp: true, bridge: 'vmbr9' }, /bridge: not an input/],
  ])('refuses %s, naming the field', (_, lbPublicNic, message) => {
    expect(intentProblem('provisionServer', { ...base, lbPublicNic })).toMatch(message);
  });
});
