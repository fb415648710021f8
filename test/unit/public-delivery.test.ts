// Which LB VM the simulated internet hands a failover IP's traffic to (sandbox/public-delivery.ts).
import { describe, expect, it } from 'vitest';
import { deliveryCandidates, type DeliveryFacts } from '../../sandbox/public-delivery';

const MAC = '02:00:00:9c:00:01';
const up = (mac = MAC) => `virtio=${mac.toUpperCase()},bridge=vmbr0,link_down=0`;
const down = (mac = MAC) => `virtio=${mac.toUpperCase()},bridge=vmbr0,link_down=1`;

function facts(edit: Partial<DeliveryFacts> = {}, nets: (string | undefined)[] = [up(), down()]): DeliveryFacts {
  return {
    mode: 'vmac',
    ip: '203.0.113.10',
    bridge: 'vmbr0',
    routedTo: 'ns-a',
    vrack: 'pn-1',
    mac: { mac: MAC, server: 'ns-a', suspended: false },
    // srv-a's keepalived is MASTER, srv-b's BACKUP, unless a case says otherwise.
    lbs: nets.map((net1, i) => ({ server: `srv-${'ab'[i]}`, ovhService: `ns-${'ab'[i]}`, vmid: 101 + i * 100, vm: { running: true, net1 }, vrrp: i === 0 ? 'MASTER' : 'BACKUP' })),
    holders: ['srv-a'],
    ...edit,
  };
}

describe('deliveryCandidates', () => {
  it.each<[string, DeliveryFacts, string | RegExp]>([
    ['vmac: the routed server whose LB has the MAC with its link up gets it', facts(), 'srv-a'],
    ['vmac: the routed server with its link down drops it', facts({ routedTo: 'ns-b', mac: { mac: MAC, server: 'ns-b', suspended: false } }), /srv-b's LB VM 201 net1 link is down/],
    ['vmac: nothing routed means nothing served', facts({ routedTo: null }), /routes 203\.0\.113\.10 nowhere/],
    ['vmac: an IP without a virtual MAC is dropped by the server', facts({ mac: undefined }), /has no virtual MAC at OVH/],
    ['vmac: a MAC suspended by a move is on no server', facts({ mac: { mac: MAC, server: 'ns-a', suspended: true } }), /suspended while its move/],
    ['vmac: a MAC still on the old server does not deliver on the new one', facts({ routedTo: 'ns-b' }, [up(), up()]), /is on ns-a, not on srv-b/],
    ['vmac: a NIC with another MAC does not receive the frames', facts({}, [up('02:00:00:00:00:99')]), /net1 has MAC 02:00:00:00:00:99, not/],
    ['vmac: an LB VM without net1 receives nothing', facts({}, [undefined]), /has no net1/],
    ['vmac: net1 on the vRack bridge is not the public side', facts({}, [`virtio=${MAC.toUpperCase()},bridge=vmbr1`]), /on bridge vmbr1, not the public bridge vmbr0/],
    ['vmac: a stopped LB VM answers nothing', facts({ lbs: [{ server: 'srv-a', ovhService: 'ns-a', vmid: 101, vm: { running: false, net1: up() }, vrrp: 'MASTER' }] }), /is not running/],
    ['vmac: a missing LB VM answers nothing', facts({ lbs: [{ server: 'srv-a', ovhService: 'ns-a', vmid: 101, vrrp: 'MASTER' }] }), /does not exist/],
    ['vmac: the NIC with the MAC and its link up on an LB whose keepalived is BACKUP holds no address, so drops it', facts({ routedTo: 'ns-b', mac: { mac: MAC, server: 'ns-b', suspended: false } }, [down(), up()]), /srv-b's LB VM 201 does not hold 203\.0\.113\.10: its keepalived is BACKUP, not MASTER/],
    ['vmac: a keepalived in FAULT holds nothing either', facts({ lbs: [{ server: 'srv-a', ovhService: 'ns-a', vmid: 101, vm: { running: true, net1: up() }, vrrp: 'FAULT' }], holders: [] }), /its keepalived is FAULT, not MASTER/],
    ['routed: any MAC will do once the link is up', facts({ mode: 'routed', mac: undefined }, ['virtio=BC:24:11:00:00:01,bridge=vmbr0']), 'srv-a'],
    ['routed: a routed IP to a server outside the cluster goes nowhere here', facts({ mode: 'routed', routedTo: 'ns-z' }), /ns-z, not a server of the cluster/],
    ['vrack-block: the LB whose keepalived is MASTER holds the address', facts({ mode: 'vrack-block', routedTo: 'pn-1' }, [undefined, undefined]), 'srv-a'],
    ['vrack-block: with two MASTERs (a split brain) the latest takeover\'s gratuitous ARP wins', facts({ mode: 'vrack-block', routedTo: 'pn-1', holders: ['srv-b', 'srv-a'] }, [undefined, undefined]), 'srv-b,srv-a'],
    ['vrack-block: no MASTER, nobody holds the address', facts({ mode: 'vrack-block', routedTo: 'pn-1', holders: [] }, [undefined, undefined]), /no running LB VM holds 203\.0\.113\.10/],
    ['vrack-block: a block not in the vRack goes nowhere', facts({ mode: 'vrack-block', routedTo: 'ns-a' }), /not routed into the vRack pn-1/],
  ])('%s', (_name, f, expected) => {
    const c = deliveryCandidates(f);
    if (typeof expected === 'string') expect(c).toEqual({ candidates: expected.split(',') });
    else expect('why' in c ? c.why : c).toMatch(expected);
  });
});
