import { describe, expect, it } from 'vitest';
import { notifyMasterCommand, renderKeepalivedConf, vrrpAuthPass } from '../../core/render/keepalived';
import { headerSpecHash, vrrpPriority } from '../../core/render/lb-topology';
import { specHash } from '../../core/render/spec-hash';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { expectGolden } from '../golden/golden';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
const names = spec.servers.map((s) => s.name);

/** Values of `keyword` lines inside the first `block { ... }` of a keepalived config. */
function blockLines(conf: string, block: string): string[] {
  const start = conf.indexOf(`${block} {`);
  const end = conf.indexOf('}', start);
  return conf
    .slice(start + block.length + 2, end)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}
const value = (conf: string, keyword: string) => new RegExp(`^\\s*${keyword} (.+)$`, 'm').exec(conf)?.[1];

describe('renderKeepalivedConf', () => {
  it("tracks HAProxy's health frontend on the VM's loopback: two misses put the instance in FAULT, releasing the VIP", () => {
    const conf = renderKeepalivedConf(spec, 'srv-b');
    expect(conf).toContain(`vrrp_script autok8s_haproxy {\n  # HAProxy's health frontend answers on this VM: two misses in a row put the instance in FAULT.\n  script "/bin/bash -c '</dev/tcp/127.0.0.1/8404'"\n  interval 1\n  timeout 1\n  fall 2\n  rise 2\n}`);
    expect(conf).toMatch(/vrrp_instance autok8s_api \{[\s\S]*track_script \{\n {4}autok8s_haproxy\n {2}\}/);
  });

  it.each(names)('matches the golden file for %s', (name) => {
    expectGolden(`keepalived-${name}.conf`, renderKeepalivedConf(spec, name));
  });

  it('gives every LB a distinct priority, the first server the highest', () => {
    const priorities = names.map((n) => Number(value(renderKeepalivedConf(spec, n), 'priority')));
    expect(new Set(priorities).size).toBe(names.length);
    expect([...priorities].sort((a, b) => b - a)).toEqual(priorities);
  });

  it('keeps priorities distinct and inside 1..254 for large clusters', () => {
    for (const count of [1, 2, 3, 20, 40, 199]) {
      const all = Array.from({ length: count }, (_, i) => vrrpPriority(i, count));
      expect(new Set(all).size).toBe(count);
      expect(Math.min(...all)).toBeGreaterThanOrEqual(1);
      expect(Math.max(...all)).toBeLessThanOrEqual(254);
    }
  });

  it.each(names)('lists every other LB as a unicast peer of %s, never itself', (name) => {
    const conf = renderKeepalivedConf(spec, name);
    const own = spec.servers.find((s) => s.name === name)!.vms.lb.ip;
    expect(value(conf, 'unicast_src_ip')).toBe(own);
    const peers = blockLines(conf, 'unicast_peer');
    expect(peers).not.toContain(own);
    expect(peers.sort()).toEqual(spec.servers.filter((s) => s.name !== name).map((s) => s.vms.lb.ip).sort());
  });

  it('leaves unicast settings out for a single LB (keepalived refuses them without peers)', () => {
    const single: ClusterSpec = { ...spec, servers: [spec.servers[0]] };
    const conf = renderKeepalivedConf(single, 'srv-a');
    expect(conf).not.toMatch(/unicast_/);
    expect(value(conf, 'priority')).toBe('200');
  });

  it('starts every LB as BACKUP with nopreempt, so a returning LB does not take the VIP back', () => {
    for (const name of names) {
      const conf = renderKeepalivedConf(spec, name);
      expect(value(conf, 'state')).toBe('BACKUP');
      expect(conf).toMatch(/^\s*nopreempt$/m);
    }
  });

  it('puts the VIP with the network prefix on the spec interface', () => {
    const conf = renderKeepalivedConf({ ...spec, network: { ...spec.network, interface: 'ens18' } }, 'srv-a');
    expect(blockLines(conf, 'virtual_ipaddress')).toEqual(['10.10.0.5/24 dev ens18']);
    expect(value(conf, 'interface')).toBe('ens18');
    expect(value(conf, 'virtual_router_id')).toBe(String(spec.network.vrrpRouterId));
  });

  it('derives an auth_pass of at most 8 characters from the cluster name only', () => {
    expect(vrrpAuthPass('prod-gra')).toHaveLength(8);
    expect(vrrpAuthPass('prod-gra')).toBe(vrrpAuthPass('prod-gra'));
    expect(vrrpAuthPass('prod-gra')).not.toBe(vrrpAuthPass('prod-rbx'));
    expect(value(renderKeepalivedConf(spec, 'srv-b'), 'auth_pass')).toBe(vrrpAuthPass('prod-gra'));
  });

  it('calls autok8s failover for its own server from notify_master', () => {
    const conf = renderKeepalivedConf(spec, 'srv-b', { notifyCommand: '/opt/autok8s/bin/autok8s' });
    expect(value(conf, 'notify_master')).toBe(
      '"/opt/autok8s/bin/autok8s failover --cluster prod-gra --ip 203.0.113.10 --to srv-b --reason keepalived"',
    );
  });

  it('calls failover once per IP through one shell when there are several failover IPs', () => {
    const two: ClusterSpec = { ...spec, failoverIps: ['203.0.113.10', '203.0.113.11'] };
    expect(notifyMasterCommand(two, 'srv-c')).toBe(
      "/bin/sh -c '/usr/local/bin/autok8s failover --cluster prod-gra --ip 203.0.113.10 --to srv-c --reason keepalived; " +
        "/usr/local/bin/autok8s failover --cluster prod-gra --ip 203.0.113.11 --to srv-c --reason keepalived'",
    );
  });

  it('refuses a notify command that would need quoting', () => {
    expect(() => renderKeepalivedConf(spec, 'srv-a', { notifyCommand: '/opt/my tools/autok8s' })).toThrow(/notifyCommand/);
  });

  it('refuses a server that is not in the spec, naming the valid ones', () => {
    expect(() => renderKeepalivedConf(spec, 'srv-z')).toThrow(/srv-a, srv-b, srv-c/);
  });

  it('carries the spec hash in its header', () => {
    expect(headerSpecHash(renderKeepalivedConf(spec, 'srv-a'))).toBe(specHash(spec));
  });
});
