// The LB VM's public NIC as a Proxmox net1 value (qemu-server pve-qm-net).
import { describe, expect, it } from 'vitest';
import { lbPublicNic, nicLinkUp, publicNicDiffers, withLink } from '../../core/public-path/lb-nic';
import { publicPathOf, type PublicPathSection } from '../../core/public-path/modes';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
const withPath = (publicPath: Partial<PublicPathSection>): ClusterSpec => ({ ...spec, publicPath: { ...publicPathOf(spec), ...publicPath } });

describe('lbPublicNic', () => {
  it("puts the failover IP's virtual MAC on the public bridge, link up on the MASTER", () => {
    expect(lbPublicNic(spec, 0, { virtualMac: '02:00:00:ab:cd:ef', linkUp: true })).toBe('virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=0');
  });

  it('pulls the plug on a standby', () => {
    expect(lbPublicNic(spec, 1, { virtualMac: '02:00:00:ab:cd:ef', linkUp: false })).toBe('virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=1');
  });

  it('uses the bridge the spec names', () => {
    expect(lbPublicNic(withPath({ bridge: 'vmbr9' }), 0, { virtualMac: '02:00:00:ab:cd:ef', linkUp: true })).toBe('virtio=02:00:00:AB:CD:EF,bridge=vmbr9,link_down=0');
  });

  it.each([
    ['no MAC at all', undefined],
    ['a group (multicast) MAC', '01:00:5e:00:00:01'],
    ['a MAC with an option after it', '02:00:00:ab:cd:ef,bridge=vmbr1'],
    ['a MAC of five octets', '02:00:00:ab:cd'],
  ])('refuses %s in vmac mode, naming the server', (_, mac) => {
    expect(() => lbPublicNic(spec, 2, { virtualMac: mac, linkUp: true })).toThrow(/servers\[2\].ovhService virtual MAC.*unicast MAC OVH generated/);
  });

  it('lets Proxmox choose the MAC in routed mode', () => {
    expect(lbPublicNic(withPath({ mode: 'routed' }), 0, { linkUp: false })).toBe('virtio,bridge=vmbr0,link_down=1');
  });

  it('gives the LB VM no public NIC in vrack-block mode', () => {
    expect(lbPublicNic(withPath({ mode: 'vrack-block', block: '203.0.113.8/29' }), 0, { linkUp: true })).toBeUndefined();
  });

  it('refuses a bridge that would add options, even when validation was skipped', () => {
    expect(() => lbPublicNic(withPath({ bridge: 'vmbr0,firewall=0' }), 0, { virtualMac: '02:00:00:ab:cd:ef', linkUp: true })).toThrow(/publicPath.bridge/);
  });
});

describe('nicLinkUp', () => {
  it.each([
    ['virtio=02:00:00:AB:CD:EF,bridge=vmbr0', true],
    ['virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=0', true],
    ['virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=1', false],
    ['virtio=02:00:00:AB:CD:EF,link_down=1,bridge=vmbr0', false],
  ])('reads %s as up=%s', (value, up) => {
    expect(nicLinkUp(value)).toBe(up);
  });
});

describe('withLink', () => {
  it.each([
    ['virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=1', true, 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=0'],
    ['virtio=02:00:00:AB:CD:EF,bridge=vmbr0', false, 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=1'],
    ['virtio=02:00:00:AB:CD:EF,link_down=0,bridge=vmbr0,firewall=1', false, 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0,firewall=1,link_down=1'],
  ])('turns %s into link up=%s keeping the MAC and bridge', (actual, up, expected) => {
    expect(withLink(actual, up)).toBe(expected);
    expect(nicLinkUp(withLink(actual, up))).toBe(up);
  });
});

describe('publicNicDiffers', () => {
  const desired = 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=1';
  it.each<[string, string | undefined, boolean]>([
    ['a VM without net1', undefined, true],
    ['the same NIC with its link up (keepalived owns the link)', 'virtio=02:00:00:AB:CD:EF,bridge=vmbr0,link_down=0', false],
    ['the same MAC in lower case', 'virtio=02:00:00:ab:cd:ef,bridge=vmbr0', false],
    ['another MAC', 'virtio=02:00:00:AB:CD:00,bridge=vmbr0', true],
    ['another bridge', 'virtio=02:00:00:AB:CD:EF,bridge=vmbr9', true],
    ['another model', 'e1000=02:00:00:AB:CD:EF,bridge=vmbr0', true],
  ])('%s → differs: %s', (_, actual, differs) => {
    expect(publicNicDiffers(actual, desired)).toBe(differs);
  });

  it('lets Proxmox keep the MAC it chose in routed mode', () => {
    expect(publicNicDiffers('virtio=BC:24:11:00:00:01,bridge=vmbr0,link_down=1', 'virtio,bridge=vmbr0,link_down=0')).toBe(false);
  });
});
