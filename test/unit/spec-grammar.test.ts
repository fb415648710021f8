// The grammars every spec string is held to (core/spec/grammar.ts) accept what real
// deployments write — OVH's own service names, Proxmox's default IDs, stable disk links —
// and nothing that could change the meaning of a config file, a property string or a path.
// And which addresses count as public, private or loopback (core/net/ipv4.ts).
import { describe, expect, it } from 'vitest';
import { isPrivateCidr, notPublicBecause, parseCidr } from '../../core/net/ipv4';
import { GRAMMAR, requireGrammar, requireInt, UnsafeValueError } from '../../core/spec/grammar';

type Name = keyof typeof GRAMMAR;

const accepted: [Name, string, string][] = [
  ['ovhService', 'ns1234567.ip-1-2-3.eu', 'a European dedicated server'],
  ['ovhService', 'ns545536.ip-51-222-41.net', 'a Canadian one (.net)'],
  ['ovhService', 'ns1006999.ip-51-81-155.us', 'a US one'],
  ['ovhService', 'ks3293202.kimsufi.com', 'an older Kimsufi server'],
  ['pveStorageId', 'local-lvm', "Proxmox's default LVM-thin storage"],
  ['pveStorageId', 'ceph_pool.1', 'a storage with _ and .'],
  ['pveBridge', 'vmbr1', 'a Linux bridge'],
  ['pveBridge', 'vnet_100', 'an SDN VNet'],
  ['pveIsoVolume', 'local:iso/talos-nocloud-amd64.iso', 'the default Talos ISO'],
  ['pveIsoVolume', 'cephfs:iso/metal-amd64_v1.8.3.ISO', 'an ISO on CephFS, upper-case extension'],
  ['pveNode', 'PVE-Node1', 'a node name with capitals (pve-node allows them)'],
  ['interfaceName', 'ens18.100', 'a VLAN interface'],
  ['devicePath', '/dev/disk/by-id/nvme-Samsung_SSD_970_EVO_1TB_S467NX0M123456', 'a stable by-id link'],
  ['devicePath', '/dev/disk/by-path/pci-0000:00:1f.2-ata-1', 'a by-path link with colons'],
  ['posixUser', 'autok8s', 'a service user'],
  ['specPath', '~/.ssh/autok8s', 'a home-relative key'],
  ['specPath', './secrets/ovh.key', 'a path relative to the spec file'],
  ['argPath', '/home/Jane Doe/.autok8s/talosconfig', 'an argument path with a space (no shell involved)'],
  ['hostPort', 'bastion.example.net:2222', 'a bastion by name'],
  ['healthUrl', 'https://10.10.0.11:8404/healthz', 'https to the LB'],
  ['secretRef', 'file:/etc/autok8s/pve-a.secret', 'an absolute secret file'],
  ['duration', '500ms', 'milliseconds'],
];

const refused: [Name, string, string][] = [
  ['ovhService', 'ns1234.ip-1-2-3.eu/../../me', 'a path after the name'],
  ['ovhService', '..', 'a parent segment'],
  ['ovhService', 'example.com', 'a host that is not an OVH server'],
  ['pveStorageId', 'local-lvm,iothread=1', 'a property-string option'],
  ['pveStorageId', 'local-', 'a trailing dash (pve-storage-id ends in a letter or digit)'],
  ['pveBridge', 'vmbr1,firewall=0', 'a property-string option'],
  ['pveBridge', 'bridge-name-too-long', 'more than 15 characters (IFNAMSIZ)'],
  ['pveIsoVolume', 'local:iso/talos.iso,media=disk', 'a property-string option'],
  ['pveIsoVolume', 'local:images/100/vm-100-disk-0.raw', 'a VM disk instead of an ISO'],
  ['pveNode', 'pve-a/..', 'a path'],
  ['interfaceName', 'eth0 dev lo', 'a space and more words'],
  ['devicePath', '/dev/./sda', 'a "." segment'],
  ['devicePath', '/dev/sda\n', 'a trailing newline'],
  ['posixUser', 'Root', 'a capital letter'],
  ['posixUser', '-oProxyCommand', 'an option'],
  ['specPath', 'secrets/../../etc/shadow', 'a ".." segment'],
  ['specPath', '-secret', 'a leading dash'],
  ['argPath', 'relative/talosconfig', 'a relative path (could read as anything)'],
  ['argPath', '/state/\u0000x', 'a NUL byte'],
  ['hostPort', '10.10.0.11:0', 'port 0'],
  ['hostPort', '10.10.0.11:70000', 'a port beyond 65535'],
  ['healthUrl', 'http://10.10.0.11:8404/healthz?x=1', 'a query string'],
  ['healthUrl', 'http://lb.example/healthz', 'a host name instead of an address'],
  ['healthUrl', 'file:///etc/passwd', 'another scheme'],
  ['secretRef', 'file:/etc/../shadow', 'a ".." segment in a secret file'],
  ['duration', '1d', 'days'],
  ['duration', '1234567890s', 'more than nine digits'],
];

describe('grammars', () => {
  it.each(accepted)('%s accepts %j: %s', (name, value) => {
    expect(GRAMMAR[name].test(value)).toBe(true);
  });
  it.each(refused)('%s refuses %j: %s', (name, value) => {
    expect(GRAMMAR[name].test(value)).toBe(false);
  });

  it('a refusal names the field and shows the value escaped, so a newline cannot forge a line of output', () => {
    const err = (() => {
      try {
        requireGrammar(GRAMMAR.pveBridge, 'vmbr1\nnet1: evil', 'servers[0].proxmox.bridge');
      } catch (e) {
        return e as UnsafeValueError;
      }
    })();
    expect(err).toBeInstanceOf(UnsafeValueError);
    expect(err!.field).toBe('servers[0].proxmox.bridge');
    expect(err!.message).toMatch(/^servers\[0\]\.proxmox\.bridge: refusing "vmbr1\\nnet1: evil", it must be a Proxmox bridge/);
    expect(err!.message).not.toContain('\n');
  });

  it('a number out of bounds, or not a number at all, is refused naming the field', () => {
    expect(() => requireInt(0, 1, 128, 'servers[0].vms.lb.cores')).toThrow(/servers\[0\]\.vms\.lb\.cores: refusing 0, it must be a whole number from 1 to 128/);
    expect(() => requireInt('4', 1, 128, 'cores')).toThrow(UnsafeValueError);
    expect(() => requireInt(2.5, 1, 128, 'cores')).toThrow(UnsafeValueError);
  });
});

describe('public and private addresses', () => {
  it.each<[string, string | undefined, string]>([
    ['203.0.113.10', undefined, 'a documentation address is public-shaped (RFC 5737)'],
    ['51.91.159.9', undefined, 'an OVH address'],
    ['10.1.2.3', 'private (RFC 1918)', 'a 10/8 address'],
    ['172.31.255.1', 'private (RFC 1918)', 'the top of 172.16/12'],
    ['172.32.0.1', undefined, 'just above 172.16/12'],
    ['100.64.0.1', 'shared address space (CGNAT)', 'carrier-grade NAT'],
    ['127.0.0.1', 'loopback', 'loopback'],
    ['169.254.169.254', 'link-local', 'the cloud metadata address'],
    ['224.0.0.18', 'multicast', 'the VRRP multicast group'],
    ['255.255.255.255', 'reserved or broadcast', 'broadcast'],
    ['0.0.0.0', '"this network"', 'the unspecified address'],
  ])('%s → %s: %s', (ip, why) => {
    expect(notPublicBecause(ip)).toBe(why);
  });

  it.each([
    ['10.10.0.0/24', true],
    ['10.0.0.0/8', true],
    ['172.16.0.0/12', true],
    ['192.168.10.0/24', true],
    ['172.0.0.0/8', false],
    ['8.8.0.0/16', false],
    ['0.0.0.0/0', false],
  ])('%s lies inside one RFC 1918 block: %s', (text, expected) => {
    expect(isPrivateCidr(parseCidr(text)!)).toBe(expected);
  });
});
