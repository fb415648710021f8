// The sandbox's loopback node network (sandbox/node-network.ts): a /24 in 127.64.0.0/10 that
// one sandbox holds at a time, the same one for a cluster name from run to run when it is free.
import { afterEach, describe, expect, it } from 'vitest';
import { leaseNodeNetwork, loopbackNetworkPrefix, preferredNetworkIndex, type NodeNetwork } from '../../sandbox/node-network';
import { LOOPBACK } from '../../sandbox/talos/grpc/local-guard';

describe('the sandbox node network', () => {
  const held: NodeNetwork[] = [];
  afterEach(async () => {
    for (const n of held.splice(0)) await n.release();
  });
  const lease = async (name: string) => {
    const n = await leaseNodeNetwork(name);
    held.push(n);
    return n;
  };

  it('numbers every network inside 127.64.0.0/10, wrapping around at its end', () => {
    expect(loopbackNetworkPrefix(0)).toBe('127.64.0');
    expect(loopbackNetworkPrefix(256 * 64 - 1)).toBe('127.127.255');
    expect(loopbackNetworkPrefix(256 * 64)).toBe('127.64.0');
    expect(loopbackNetworkPrefix(-1)).toBe('127.127.255');
  });

  it('gives a cluster name its preferred network, with gateway and API VIP inside it, all on loopback', async () => {
    const n = await lease('node-network-a');
    expect(n.prefix).toBe(loopbackNetworkPrefix(preferredNetworkIndex('node-network-a')));
    expect(n.cidr).toBe(`${n.prefix}.0/24`);
    for (const ip of [n.gateway, n.apiVip]) expect(LOOPBACK.test(ip), ip).toBe(true);
  });

  it('never gives one network to two sandboxes at once, and gives it again once released', async () => {
    const first = await lease('node-network-b');
    const second = await lease('node-network-b');
    expect(second.prefix).not.toBe(first.prefix);
    await first.release();
    held.splice(held.indexOf(first), 1);
    const third = await lease('node-network-b');
    expect(third.prefix).toBe(first.prefix);
  });
});
