// The spec's publicPath section: how a failover IP reaches the active LB VM. Each refusal names
// the field and says what to write instead; each case edits the valid fixture in one place.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { publicPathOf } from '../../core/public-path/modes';
import { publicProbeUrl } from '../../core/public-path/probe-url';
import { parseSpec, SpecError } from '../../core/spec/load';
import { specGeneration, validateSpecData } from '../../core/spec/validate';
import { renderSandboxSpec } from '../../sandbox/spec';

const FIXTURE = readFileSync(join(__dirname, '..', 'fixtures', 'cluster.yaml'), 'utf8');
type Edit = [path: (string | number)[], value: unknown];

function edited(edits: Edit[]): string {
  const doc = parseDocument(FIXTURE);
  for (const [path, value] of edits) doc.setIn(path, value);
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

const block = (cidr: string, ips: string[]): Edit[] => [
  [['publicPath'], { mode: 'vrack-block', block: cidr }],
  [['failoverIps'], ips],
];

describe('a valid public path', () => {
  it('defaults to vmac on vmbr0 with eth1 inside the LB VM when the spec says nothing', () => {
    expect(publicPathOf(parseSpec(FIXTURE))).toEqual({ mode: 'vmac', bridge: 'vmbr0', interface: 'eth1' });
  });

  it('keeps the generation of a spec accepted before publicPath existed: the defaults are not written into it', () => {
    const stored = JSON.parse(JSON.stringify(parseSpec(FIXTURE)));
    expect(stored).not.toHaveProperty('publicPath');
    expect(specGeneration(validateSpecData(stored))).toBe(specGeneration(stored));
  });

  it('fills the fields a publicPath section leaves out', () => {
    expect(parseSpec(edited([[['publicPath'], { mode: 'routed' }]])).publicPath).toEqual({ mode: 'routed', bridge: 'vmbr0', interface: 'eth1' });
  });

  it('accepts a /29 block routed into the vRack whose usable addresses are the failover IPs', () => {
    const spec = parseSpec(edited(block('203.0.113.8/29', ['203.0.113.9', '203.0.113.13'])));
    expect(spec.publicPath).toMatchObject({ mode: 'vrack-block', block: '203.0.113.8/29' });
  });

  it('accepts routed mode on a host-side bridge with another interface name', () => {
    const spec = parseSpec(edited([[['publicPath'], { mode: 'routed', bridge: 'vmbr2', interface: 'ens19' }]]));
    expect(spec.publicPath).toEqual({ mode: 'routed', bridge: 'vmbr2', interface: 'ens19' });
  });

  it('accepts the spec the sandbox writes for itself', () => {
    const text = renderSandboxSpec({
      nodeNetwork: '127.64.0',
      talosVersion: 'v1.10.0',
      clusterName: 'sandbox',
      ovhEndpoint: 'https://127.0.0.1:8443/1.0',
      caFile: '/tmp/ca.pem',
      secretsDir: '/tmp/secrets',
      stateDir: '/tmp/state',
      failoverIps: ['203.0.113.10'],
      servers: ['a', 'b', 'c'].map((s, i) => ({ name: `srv-${s}`, ovhService: `ns100${i + 1}.ip-1-2-3.eu`, proxmoxUrl: `https://127.0.0.1:${8006 + i}`, proxmoxNode: `pve-${s}` })),
    });
    expect(publicPathOf(parseSpec(text)).mode).toBe('vmac');
  });
});

describe('a bad public path is refused with the field and what to do', () => {
  const cases: { name: string; edits: Edit[]; path: string; message: RegExp }[] = [
    { name: 'an unknown mode', edits: [[['publicPath', 'mode'], 'bridged']], path: 'publicPath.mode', message: /one of vmac, routed, vrack-block/ },
    { name: 'a /32 as the vRack block', edits: block('203.0.113.10/32', ['203.0.113.10']), path: 'publicPath.block', message: /a \/32 is too small.*a \/29 or larger/ },
    { name: 'a /30 as the vRack block', edits: block('203.0.113.8/30', ['203.0.113.9']), path: 'publicPath.block', message: /a \/30 is too small/ },
    { name: 'vrack-block mode without a block', edits: [[['publicPath'], { mode: 'vrack-block' }]], path: 'publicPath.block', message: /is required in mode vrack-block/ },
    { name: 'a block that is not written from its network address', edits: block('203.0.113.10/29', ['203.0.113.10']), path: 'publicPath.block', message: /write the block as 203.0.113.8\/29/ },
    { name: 'a block that is not a CIDR', edits: block('203.0.113.8', ['203.0.113.10']), path: 'publicPath.block', message: /IPv4 block such as 203.0.113.8\/29/ },
    { name: 'a private block', edits: block('10.20.0.0/29', ['203.0.113.10']), path: 'publicPath.block', message: /private \(RFC 1918\), not a public block/ },
    { name: 'a failover IP outside the block', edits: block('203.0.113.8/29', ['203.0.113.9', '203.0.113.20']), path: 'failoverIps[1]', message: /203.0.113.20 is not a usable address of publicPath.block 203.0.113.8\/29 \(usable: 203.0.113.9 to 203.0.113.13/ },
    { name: "the block's network address as a failover IP", edits: block('203.0.113.8/29', ['203.0.113.8']), path: 'failoverIps[0]', message: /not a usable address/ },
    { name: "OVH's gateway of the block as a failover IP", edits: block('203.0.113.8/29', ['203.0.113.14']), path: 'failoverIps[0]', message: /203.0.113.14 is OVH's gateway/ },
    { name: "the block's broadcast address as a failover IP", edits: block('203.0.113.8/29', ['203.0.113.15']), path: 'failoverIps[0]', message: /not a usable address/ },
    { name: 'two failover IPs in vmac mode (one NIC, one MAC)', edits: [[['failoverIps'], ['203.0.113.10', '203.0.113.11']]], path: 'failoverIps', message: /publicPath.mode vmac carries one failover IP.*choose publicPath.mode routed or vrack-block for 2/ },
    { name: 'a block in vmac mode', edits: [[['publicPath'], { mode: 'vmac', block: '203.0.113.8/29' }]], path: 'publicPath.block', message: /only in mode vrack-block; remove it/ },
    { name: 'the public NIC named like the vRack NIC', edits: [[['publicPath', 'interface'], 'eth0']], path: 'publicPath.interface', message: /eth0 is network.interface, the vRack NIC/ },
    { name: 'the public bridge set to the vRack bridge', edits: [[['publicPath', 'bridge'], 'vmbr1']], path: 'publicPath.bridge', message: /vmbr1 is servers\[0\].proxmox.bridge, the vRack bridge/ },
    { name: 'a public bridge that adds NIC options', edits: [[['publicPath', 'bridge'], 'vmbr0,link_down=0']], path: 'publicPath.bridge', message: /Proxmox bridge/ },
    {
      name: "routed mode on a vRack numbered in OVH's routed network",
      edits: [
        [['publicPath', 'mode'], 'routed'],
        [['network'], { cidr: '192.168.0.0/16', gateway: '192.168.10.1', apiVip: '192.168.10.5' }],
        ...[0, 1, 2].flatMap((i): Edit[] => (['lb', 'controlPlane', 'worker'] as const).map((role, r) => [['servers', i, 'vms', role, 'ip'], `192.168.10.${10 * (r + 1) + i + 1}`])),
      ],
      path: 'publicPath.mode',
      message: /192.168.0.2\/24 on the LB VM's public NIC.*overlaps network.cidr 192.168.0.0\/16; number the vRack elsewhere, or choose publicPath.mode vmac/,
    },
    { name: 'a misspelt publicPath field', edits: [[['publicPath', 'iface'], 'eth1']], path: 'publicPath', message: /unknown field "iface"/ },
  ];

  it.each(cases)('$name → $path', ({ edits, path, message }) => {
    const problems = problemsOf(edited(edits));
    const match = problems.find((p) => p.path === path);
    expect(match, `problems were: ${JSON.stringify(problems)}`).toBeDefined();
    expect(match!.message).toMatch(message);
  });
});

describe('publicPath.probeUrl', () => {
  it.each([
    ['the failover IP itself, as production probes it', 'http://{ip}/', 'http://203.0.113.10/'],
    ['https with a port and a path', 'https://{ip}:8443/ready', 'https://203.0.113.10:8443/ready'],
    ['a loopback gateway naming the IP in its path, as the sandbox does', 'http://127.0.0.1:41234/{ip}/healthz', 'http://127.0.0.1:41234/203.0.113.10/healthz'],
  ])('accepts %s, and builds the URL with the IP in place of {ip}', (_name, probeUrl, url) => {
    const spec = parseSpec(edited([[['publicPath'], { probeUrl }]]));
    expect(publicPathOf(spec).probeUrl).toBe(probeUrl);
    expect(publicProbeUrl(spec, '203.0.113.10')).toBe(url);
  });

  it('is optional: without it no probe URL is built', () => {
    expect(publicProbeUrl(parseSpec(FIXTURE), '203.0.113.10')).toBeUndefined();
  });

  it('refuses a template aimed at another host, naming the field and what to write', () => {
    expect(problemsOf(edited([[['publicPath'], { probeUrl: 'http://example.com/{ip}' }]]))).toEqual([
      expect.objectContaining({ path: 'publicPath.probeUrl', message: expect.stringMatching(/to \{ip\} itself or a loopback gateway, such as http:\/\/\{ip\}\//) }),
    ]);
  });

  it('is written by the sandbox when asked', () => {
    const text = renderSandboxSpec({ nodeNetwork: '127.64.0', talosVersion: 'v1.10.0', clusterName: 'c', ovhEndpoint: 'https://localhost:1/1.0', caFile: '/ca.pem', secretsDir: '/s', stateDir: '/st', failoverIps: ['203.0.113.10'], servers: [], probeUrl: 'http://127.0.0.1:9/{ip}/healthz' });
    expect(parseDocument(text).getIn(['publicPath', 'probeUrl'])).toBe('http://127.0.0.1:9/{ip}/healthz');
  });
});
