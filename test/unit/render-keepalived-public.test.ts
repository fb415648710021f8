// keepalived.conf with the public path: the MASTER holds the failover IPs on the public NIC with
// their routes and rules, notify scripts bring the public link up and down, gratuitous ARPs
// announce a takeover.
import { describe, expect, it } from 'vitest';
import { lbPublicNetwork, type LbPublicNetwork } from '../../core/public-path/lb-network';
import { KEEPALIVED_DEFAULTS, lbLinkCommand, renderKeepalivedConf } from '../../core/render/keepalived';
import { publicPathOf, type PublicPathMode } from '../../core/public-path/modes';
import { loadSpecFile } from '../../core/spec/load';
import { LIMITS } from '../../core/spec/limits';
import type { ClusterSpec } from '../../core/spec/schema';
import { expectGolden } from '../golden/golden';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
const GATEWAYS = ['198.51.100.254', '198.51.100.126', '192.0.2.254'];
const inMode = (mode: PublicPathMode, failoverIps = spec.failoverIps): ClusterSpec => ({
  ...spec,
  failoverIps,
  publicPath: { ...publicPathOf(spec), mode, ...(mode === 'vrack-block' ? { block: '203.0.113.8/29' } : {}) },
});
const render = (s: ClusterSpec, name: string, opts: { publicNetwork?: LbPublicNetwork; notifyCommand?: string } = {}) => {
  const index = s.servers.findIndex((x) => x.name === name);
  return renderKeepalivedConf(s, name, { publicNetwork: lbPublicNetwork(s, index, { gateway: GATEWAYS[index] }), ...opts });
};

/** The lines of `block { ... }` inside the VRRP instance (no nested blocks), comments dropped. */
function blockLines(conf: string, block: string): string[] {
  const start = conf.indexOf(`  ${block} {`);
  if (start < 0) return [];
  const end = conf.indexOf('\n  }', start);
  return conf
    .slice(start + block.length + 5, end)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}
const value = (conf: string, keyword: string) => new RegExp(`^\\s*${keyword} (.+)$`, 'm').exec(conf)?.[1];

describe('renderKeepalivedConf with the public path', () => {
  it.each([
    ['vmac', 'srv-a'],
    ['routed', 'srv-b'],
    ['vrack-block', 'srv-c'],
  ] as const)('matches the golden file for %s mode on %s', (mode, name) => {
    const s = mode === 'vrack-block' ? inMode(mode, ['203.0.113.9', '203.0.113.10']) : inMode(mode);
    expectGolden(`keepalived-${name}-${mode}.conf`, render(s, name));
  });

  it("holds the failover IP on the public NIC as a VRRP address, next to the API VIP, so only the MASTER has it", () => {
    expect(blockLines(render(spec, 'srv-a'), 'virtual_ipaddress')).toEqual(['10.10.0.5/24 dev eth0', '203.0.113.10/32 dev eth1 no_track']);
  });

  it("does not track the public NIC, whose link a BACKUP holds down: a tracked interface down would keep it in FAULT, unable to take over", () => {
    for (const mode of ['vmac', 'routed'] as const) {
      const conf = render(inMode(mode), 'srv-b');
      const onPublic = [...blockLines(conf, 'virtual_ipaddress'), ...blockLines(conf, 'virtual_routes')].filter((l) => / dev eth1\b/.test(l));
      expect(onPublic.length).toBeGreaterThan(0);
      expect(onPublic.every((l) => l.endsWith(' no_track'))).toBe(true);
    }
    // The vRack NIC carries the VRRP adverts: keepalived keeps tracking it.
    expect(blockLines(render(inMode('vrack-block', ['203.0.113.9']), 'srv-a'), 'virtual_ipaddress')).toEqual(['10.10.0.5/24 dev eth0', '203.0.113.9/32 dev eth0']);
  });

  it("routes through this server's own gateway from OVH, in a table only the failover IPs' traffic uses", () => {
    const conf = render(inMode('vmac', ['203.0.113.10', '203.0.113.11']), 'srv-b');
    expect(blockLines(conf, 'virtual_routes')).toEqual(['0.0.0.0/0 via 198.51.100.126 dev eth1 onlink table 100 no_track', '10.10.0.0/24 dev eth0 table 100']);
    expect(blockLines(conf, 'virtual_rules')).toEqual(['from 203.0.113.10/32 table 100 preference 1000', 'from 203.0.113.11/32 table 100 preference 1000']);
  });

  it('lists the same VRRP addresses on every LB, as VRRP adverts carry them', () => {
    for (const mode of ['vmac', 'routed'] as const) {
      const lists = spec.servers.map((s) => blockLines(render(inMode(mode), s.name), 'virtual_ipaddress'));
      expect(lists[1]).toEqual(lists[0]);
      expect(lists[2]).toEqual(lists[0]);
    }
  });

  it('asks for the public link up beside the move on takeover (the move waits behind no second CLI start-up), and down on BACKUP, FAULT and stop', () => {
    const conf = render(spec, 'srv-c', { publicNetwork: lbPublicNetwork(spec, 2, { gateway: GATEWAYS[2] }), notifyCommand: '/opt/autok8s' });
    expect(value(conf, 'notify_master')).toBe(
      `"/bin/sh -c '/opt/autok8s lb link up --cluster prod-gra --server srv-c & /opt/autok8s failover --cluster prod-gra --ip 203.0.113.10 --to srv-c --reason keepalived; wait'"`,
    );
    const down = '"/opt/autok8s lb link down --cluster prod-gra --server srv-c"';
    expect([value(conf, 'notify_backup'), value(conf, 'notify_fault'), value(conf, 'notify_stop')]).toEqual([down, down, down]);
  });

  it('moves nothing and toggles no link for a block routed into the vRack: its addresses sit on the vRack NIC', () => {
    const conf = render(inMode('vrack-block', ['203.0.113.9']), 'srv-a');
    expect(blockLines(conf, 'virtual_ipaddress')).toEqual(['10.10.0.5/24 dev eth0', '203.0.113.9/32 dev eth0']);
    expect(blockLines(conf, 'virtual_routes')[0]).toBe('0.0.0.0/0 via 203.0.113.14 dev eth0 onlink table 100');
    expect(conf).not.toMatch(/notify_master|notify_backup|notify_fault|notify_stop|lb link/);
  });

  it('announces a takeover with gratuitous ARPs at once, again a second later, and every minute while MASTER', () => {
    for (const conf of [renderKeepalivedConf(spec, 'srv-a'), render(spec, 'srv-a')]) {
      expect(value(conf, 'vrrp_garp_master_delay')).toBe(String(KEEPALIVED_DEFAULTS.garpMasterDelaySeconds));
      expect(value(conf, 'vrrp_garp_master_repeat')).toBe(String(KEEPALIVED_DEFAULTS.garpMasterRepeat));
      expect(value(conf, 'vrrp_garp_master_refresh')).toBe(String(KEEPALIVED_DEFAULTS.garpMasterRefreshSeconds));
    }
  });

  it('renders the vRack VIP alone when no public network is given', () => {
    const conf = renderKeepalivedConf(spec, 'srv-a');
    expect(blockLines(conf, 'virtual_ipaddress')).toEqual(['10.10.0.5/24 dev eth0']);
    expect(conf).not.toMatch(/virtual_routes|virtual_rules|lb link/);
  });

  it.each<[string, (net: LbPublicNetwork) => LbPublicNetwork, RegExp]>([
    ['a gateway that adds words to the route', (n) => ({ ...n, routes: [{ ...n.routes[0], via: '198.51.100.1 dev lo' }] }), /publicNetwork.routes\[\].via/],
    ['an interface that closes the block', (n) => ({ ...n, interface: 'eth1\n}' }), /publicPath.interface/],
    ['an address with a second line', (n) => ({ ...n, addresses: ['203.0.113.10/32\nnotify_master "/bin/sh"'] }), /publicNetwork.addresses/],
    ['a routing table out of range', (n) => ({ ...n, routes: n.routes.map((r) => ({ ...r, table: 255 })) }), /publicNetwork.routes\[0\].table/],
    ['a mode that is not one', (n) => ({ ...n, mode: 'vmac\n}' as never }), /publicPath.mode/],
  ])('refuses %s in a public network that skipped validation', (_, edit, field) => {
    const publicNetwork = edit(lbPublicNetwork(spec, 0, { gateway: GATEWAYS[0] }));
    expect(() => renderKeepalivedConf(spec, 'srv-a', { publicNetwork })).toThrow(field);
  });

  it('names the link command after the cluster and server only', () => {
    expect(lbLinkCommand(spec, 'srv-b', 'down')).toBe('/usr/local/bin/autok8s lb link down --cluster prod-gra --server srv-b');
    expect(() => lbLinkCommand({ ...spec, metadata: { name: 'prod;reboot' } }, 'srv-b', 'up')).toThrow(/metadata.name/);
  });
});

describe('the longest notify_master line a valid spec can produce', () => {
  // 40-character names (the DNS-label limit), the most failover IPs the schema allows, each 15
  // characters long, and the public link call in front: keepalived must still read it as one line.
  const longName = (c: string) => `${c}${'x'.repeat(38)}${c}`;
  const worst = (ips: number): ClusterSpec => ({
    ...spec,
    metadata: { name: longName('c') },
    servers: spec.servers.map((s, i) => ({ ...s, name: longName(String.fromCharCode(97 + i)) })),
    failoverIps: Array.from({ length: ips }, (_, i) => `203.0.113.${200 + i}`),
    publicPath: { ...publicPathOf(spec), mode: 'vmac' },
  });

  it(`renders for ${LIMITS.failoverIps} failover IPs, the schema's limit, within keepalived's ${LIMITS.keepalivedLineChars} characters`, () => {
    const s = worst(LIMITS.failoverIps);
    const conf = render(s, s.servers[0].name);
    const line = conf.split('\n').find((l) => l.includes('notify_master'))!;
    expect(line).toContain('lb link up');
    expect(line.length).toBeLessThanOrEqual(LIMITS.keepalivedLineChars);
  });

  it('would pass it with one more call, which is why the schema refuses one more IP', () => {
    const s = worst(LIMITS.failoverIps);
    const line = render(s, s.servers[0].name).split('\n').find((l) => l.includes('notify_master'))!;
    const oneCall = line.split(/; | & /).filter((call) => call.includes(' failover ')).at(-1)!;
    expect(oneCall).toMatch(/^\S+ failover --cluster /);
    expect(line.length + '; '.length + oneCall.length).toBeGreaterThan(LIMITS.keepalivedLineChars);
  });
});
