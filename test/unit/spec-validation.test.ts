// The cluster spec refuses bad input before anything starts, naming the field, the line
// and what to write instead. Each case edits the valid fixture in one place.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { parseSpec, SpecError } from '../../core/spec/load';

const FIXTURE = readFileSync(join(__dirname, '..', 'fixtures', 'cluster.yaml'), 'utf8');

/** The fixture with one value changed (path → new value; undefined deletes the key). */
function edited(edits: [path: (string | number)[], value: unknown][]): string {
  const doc = parseDocument(FIXTURE);
  for (const [path, value] of edits) {
    if (value === undefined) doc.deleteIn(path);
    else doc.setIn(path, value);
  }
  return doc.toString();
}

function problemsOf(text: string) {
  try {
    parseSpec(text, 'cluster.yaml');
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  throw new Error('expected the spec to be refused');
}

describe('a valid spec', () => {
  it('accepts documentation-range failover IPs (RFC 5737: public-shaped, never routed) and a loopback health URL (a port forward)', () => {
    // routed mode: vmac carries one failover IP (public-path-spec.test.ts).
    const spec = parseSpec(edited([[['failoverIps'], ['192.0.2.10', '198.51.100.10', '203.0.113.10']], [['publicPath'], { mode: 'routed' }], [['servers', 0, 'lbHealthUrl'], 'http://127.0.0.1:18404/healthz']]));
    expect(spec.failoverIps).toEqual(['192.0.2.10', '198.51.100.10', '203.0.113.10']);
    expect(spec.servers[0].lbHealthUrl).toBe('http://127.0.0.1:18404/healthz');
  });

  it('parses with defaults applied', () => {
    const spec = parseSpec(FIXTURE);
    expect(spec.metadata.name).toBe('prod-gra');
    expect(spec.servers).toHaveLength(3);
    expect(spec.servers[1].vms.lb).toEqual({ vmid: 201, ip: '10.10.0.12', cores: 2, memoryMiB: 2048, diskGiB: 16 });
    expect(spec.network.interface).toBe('eth0');
    expect(spec.servers[0].proxmox.bridge).toBe('vmbr1');
    expect(spec.servers[0].ssh.trustOnFirstUse).toBe(false);
  });
});

describe('a bad spec is refused with the field and what to do', () => {
  const cases: { name: string; edits: [(string | number)[], unknown][]; path: string; message: RegExp }[] = [
    { name: 'a secret value instead of a reference', edits: [[['ovh', 'applicationSecret'], 'hunter2hunter2']], path: 'ovh.applicationSecret', message: /secret reference such as env:/ },
    { name: 'a wrong apiVersion', edits: [[['apiVersion'], 'autok8s/v2']], path: 'apiVersion', message: /must be autok8s\/v1alpha1/ },
    { name: 'a wrong kind', edits: [[['kind'], 'Clusters']], path: 'kind', message: /must be Cluster/ },
    { name: 'an upper-case cluster name', edits: [[['metadata', 'name'], 'Prod_GRA']], path: 'metadata.name', message: /DNS label/ },
    { name: 'a missing vRack', edits: [[['ovh', 'vrack'], undefined]], path: 'ovh.vrack', message: /is required/ },
    { name: 'a vRack name of the wrong form', edits: [[['ovh', 'vrack'], 'vrack-1']], path: 'ovh.vrack', message: /pn-123456/ },
    { name: 'an unknown OVH endpoint', edits: [[['ovh', 'endpoint'], 'ovh-mars']], path: 'ovh.endpoint', message: /ovh-eu.*or an https:\/\/ URL/ },
    { name: 'a failover IP that is not an address', edits: [[['failoverIps', 0], '203.0.113.300']], path: 'failoverIps[0]', message: /IPv4 address/ },
    { name: 'no failover IP', edits: [[['failoverIps'], []]], path: 'failoverIps', message: /at least one OVH failover IP/ },
    { name: 'a bad CIDR', edits: [[['network', 'cidr'], '10.10.0.0/33']], path: 'network.cidr', message: /IPv4 CIDR/ },
    { name: 'a VM address outside the CIDR', edits: [[['servers', 1, 'vms', 'worker', 'ip'], '10.20.0.32']], path: 'servers[1].vms.worker.ip', message: /not a host address inside network.cidr 10.10.0.0\/24/ },
    { name: 'the API VIP outside the CIDR', edits: [[['network', 'apiVip'], '192.168.1.5']], path: 'network.apiVip', message: /inside network.cidr/ },
    { name: 'two VMs with one address', edits: [[['servers', 2, 'vms', 'lb', 'ip'], '10.10.0.11']], path: 'servers[2].vms.lb.ip', message: /10.10.0.11 is already used by servers\[0\].vms.lb.ip/ },
    { name: 'a VM on the API VIP', edits: [[['servers', 0, 'vms', 'worker', 'ip'], '10.10.0.5']], path: 'servers[0].vms.worker.ip', message: /already used by network.apiVip/ },
    { name: 'a duplicate VMID on one Proxmox node', edits: [[['servers', 0, 'vms', 'worker', 'vmid'], 102]], path: 'servers[0].vms.worker.vmid', message: /VMID 102 is already used/ },
    { name: 'a VMID below 100', edits: [[['servers', 0, 'vms', 'lb', 'vmid'], 99]], path: 'servers[0].vms.lb.vmid', message: /from 100 to 999999999 \(a Proxmox VMID\)/ },
    { name: 'two servers with one name', edits: [[['servers', 2, 'name'], 'srv-a']], path: 'servers[2].name', message: /server name srv-a is already used/ },
    { name: 'an even number of control planes', edits: [[['servers', 2, 'vms', 'controlPlane'], undefined]], path: 'servers', message: /2 control planes: etcd needs an odd number/ },
    { name: 'a Proxmox URL over plain HTTP', edits: [[['servers', 0, 'proxmox', 'url'], 'http://pve-a:8006']], path: 'servers[0].proxmox.url', message: /https:\/\/ URL of the Proxmox VE API/ },
    { name: 'a malformed token ID', edits: [[['servers', 0, 'proxmox', 'tokenId'], 'root-autok8s']], path: 'servers[0].proxmox.tokenId', message: /user@realm!tokenid/ },
    { name: 'a misspelt field', edits: [[['servers', 0, 'vms', 'lb', 'memoryMib'], 2048]], path: 'servers[0].vms.lb', message: /unknown field "memoryMib"/ },
    { name: 'a duration without a unit', edits: [[['health', 'interval'], '30']], path: 'health.interval', message: /duration such as 500ms, 30s/ },
    { name: 'unhealthyAfter shorter than the probe interval', edits: [[['health', 'unhealthyAfter'], '10s']], path: 'health.unhealthyAfter', message: /at least 2 × health.interval \(1m\)/ },
    { name: 'unhealthyAfter of a single probe interval', edits: [[['health', 'unhealthyAfter'], '30s']], path: 'health.unhealthyAfter', message: /one missed probe is not an outage/ },
    { name: 'a health interval under 5 s', edits: [[['health', 'interval'], '2s'], [['health', 'unhealthyAfter'], '10s']], path: 'health.interval', message: /at least 5s and at most 1h/ },
    { name: 'a wrong type is named as such, not as missing', edits: [[['servers', 0, 'vms', 'lb', 'cores'], 'two']], path: 'servers[0].vms.lb.cores', message: /^expected number, received string \("two"\)$/ },
    { name: 'a list where a mapping belongs', edits: [[['network'], ['10.10.0.0/24']]], path: 'network', message: /^expected object, received array$/ },
    { name: 'a private failover IP', edits: [[['failoverIps', 0], '192.168.1.10']], path: 'failoverIps[0]', message: /192.168.1.10 is private \(RFC 1918\), not a public address/ },
    { name: 'a multicast failover IP', edits: [[['failoverIps', 0], '224.0.0.18']], path: 'failoverIps[0]', message: /multicast/ },
    { name: 'a vRack CIDR of public addresses', edits: [[['network', 'cidr'], '8.8.0.0/16']], path: 'network.cidr', message: /private \(RFC 1918\) IPv4 CIDR/ },
    { name: 'an LB health URL outside the vRack', edits: [[['servers', 0, 'lbHealthUrl'], 'http://169.254.169.254/latest/meta-data']], path: 'servers[0].lbHealthUrl', message: /outside network.cidr 10.10.0.0\/24/ },
    { name: 'an OVH service name that is not one', edits: [[['servers', 0, 'ovhService'], '../../me']], path: 'servers[0].ovhService', message: /OVH dedicated-server service name such as ns1234567.ip-1-2-3.eu/ },
    { name: 'an install disk outside /dev', edits: [[['talos', 'installDisk'], '/dev/../etc/shadow']], path: 'talos.installDisk', message: /device path/ },
    { name: 'a sixth failover IP', edits: [[['failoverIps'], ['203.0.113.10', '203.0.113.11', '203.0.113.12', '203.0.113.13', '203.0.113.14', '203.0.113.15']]], path: 'failoverIps', message: /at most 5 failover IPs: keepalived/ },
    { name: 'a Talos version without a v', edits: [[['talos', 'version'], '1.8.3']], path: 'talos.version', message: /Talos version tag such as v1.8.3/ },
    { name: 'a host key that is not an OpenSSH key line', edits: [[['servers', 0, 'ssh', 'hostKey'], 'AAAAC3Nza']], path: 'servers[0].ssh.hostKey', message: /OpenSSH public host key line/ },
  ];

  it.each(cases)('$name → $path', ({ edits, path, message }) => {
    const problems = problemsOf(edited(edits));
    const match = problems.find((p) => p.path === path);
    expect(match, `problems were: ${JSON.stringify(problems)}`).toBeDefined();
    expect(match!.message).toMatch(message);
    expect(match!.line).toBeGreaterThan(0);
  });

  it('points at the line of the bad value', () => {
    const problems = problemsOf(FIXTURE.replace('ip: 10.10.0.32', 'ip: 10.20.0.32'));
    const line = FIXTURE.split('\n').findIndex((l) => l.includes('ip: 10.10.0.32')) + 1;
    expect(problems.find((p) => p.path === 'servers[1].vms.worker.ip')!.line).toBe(line);
  });

  it('reports every problem at once, not just the first', () => {
    const problems = problemsOf(edited([[['kind'], 'Nope'], [['failoverIps', 0], 'x'], [['servers', 0, 'name'], 'A']]));
    expect(problems.map((p) => p.path).sort()).toEqual(['failoverIps[0]', 'kind', 'servers[0].name']);
  });

  it('refuses YAML syntax errors with a line', () => {
    const problems = problemsOf('apiVersion: autok8s/v1alpha1\nkind: [Cluster\n');
    expect(problems[0].message).toMatch(/YAML syntax/);
    expect(problems[0].line).toBeGreaterThan(0);
  });

  it('refuses a document that is not a mapping', () => {
    expect(problemsOf('- just\n- a list\n')[0].message).toMatch(/must be a YAML mapping/);
  });

  it('formats the error as file:line:column field: message', () => {
    expect(() => parseSpec(edited([[['kind'], 'Nope']]), 'my.yaml')).toThrow(/my\.yaml:\d+:\d+ kind: must be Cluster/);
  });
});
