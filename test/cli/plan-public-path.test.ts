// `autok8s plan` refuses a public path the servers cannot carry, as OVH describes them
// (GET /dedicated/server/{sn} and …/specifications/network), with exit status 2, the field
// named, and nothing created. The sandbox's second server has no virtual MACs and its third is
// in Beauharnois, another move region group than Gravelines.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { BootstrapPlan } from '../../core/plan/bootstrap-plan';
import { startSandbox, type Sandbox } from '../../sandbox';
import { runAutok8s } from '../helpers/cli';
import { SANDBOXES_POLICY_ENV } from '../helpers/policy';

let box: Sandbox;

beforeAll(async () => {
  box = await startSandbox({
    dir: mkdtempSync(join(tmpdir(), 'ak8s-pp-plan-')),
    clusterName: 'ppplan',
    ovhServers: [{}, { vmacSupported: false }, { datacenter: 'bhs1', region: 'ca-east-bhs' }],
  });
});
afterAll(async () => {
  await box?.stop();
});

/** The sandbox's spec with another publicPath section, written next to it. */
function specWith(name: string, publicPath: Record<string, unknown> | undefined): string {
  const doc = parse(readFileSync(box.specFile, 'utf8')) as Record<string, unknown>;
  const { failoverIps, ...section } = publicPath ?? {};
  if (failoverIps !== undefined) doc.failoverIps = failoverIps;
  if (publicPath === undefined) delete doc.publicPath;
  else doc.publicPath = section;
  const file = join(box.dir, `${name}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

// keepalived elections (sandbox/vrrp-sim.ts) happen on their own clock and are not a command's doing.
const mutations = () => box.audit.entries().filter((e) => !e.action.startsWith('auth') && e.service !== 'ssh:auth' && !e.service.startsWith('keepalived:')).length;

describe('autok8s plan against the servers’ network facts', () => {
  const cases: { name: string; publicPath?: Record<string, unknown>; expected: RegExp[]; absent: RegExp[] }[] = [
    {
      name: 'vmac (the default) with a server without virtual MACs, and servers in two move region groups',
      expected: [/servers\[1\]\.ovhService: ns5002\S* does not support virtual MACs .*choose publicPath\.mode routed or vrack-block/, /servers: the servers are in 2 move region groups/],
      absent: [],
    },
    {
      name: 'routed with servers in two move region groups (virtual MACs do not matter)',
      publicPath: { mode: 'routed' },
      expected: [/servers: the servers are in 2 move region groups .*srv-c \(bhs1, ca-east-bhs\)/],
      absent: [/virtual MACs/],
    },
    {
      name: 'vmac with two failover IPs (one public NIC, one virtual MAC; refused by the spec itself)',
      publicPath: { mode: 'vmac', failoverIps: ['203.0.113.10', '203.0.113.11'] },
      expected: [/failoverIps: publicPath\.mode vmac carries one failover IP/],
      absent: [/move region groups/],
    },
    {
      name: 'vrack-block with a /32 (refused by the spec itself, before OVH is asked)',
      publicPath: { mode: 'vrack-block', block: '203.0.113.10/32' },
      expected: [/publicPath\.block: a \/32 is too small/],
      absent: [/move region groups/],
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}: exit 2, the field named, nothing created`, async () => {
      const before = mutations();
      const { code, stderr } = await runAutok8s(['plan', '-f', specWith(c.name.split(' ')[0], c.publicPath)], SANDBOXES_POLICY_ENV);
      expect(code).toBe(2);
      for (const e of c.expected) expect(stderr).toMatch(e);
      for (const a of c.absent) expect(stderr).not.toMatch(a);
      expect(mutations()).toBe(before);
    });
  }

  it("plans a routed cluster on servers in one region group, listing the host's forwarding to check by hand", async () => {
    const file = specWith('routed-one-group', { mode: 'routed' });
    const doc = parse(readFileSync(file, 'utf8')) as { servers: unknown[] };
    doc.servers = doc.servers.slice(0, 1); // srv-c is in Beauharnois, another region group; one server keeps an odd etcd
    writeFileSync(file, stringify(doc));
    const { code, stdout, stderr } = await runAutok8s(['plan', '-f', file], SANDBOXES_POLICY_ENV);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/check on the host: srv-a \(Proxmox node pve-a\), publicPath\.mode routed: net\.ipv4\.ip_forward=1 .*vmbr0 up with 192\.168\.0\.1\/24 .*a route 203\.0\.113\.10\/32 dev vmbr0/);
  });

  it('plans a vrack-block cluster across the region groups: nothing moves, so nothing is refused', async () => {
    const { code, stdout, stderr } = await runAutok8s(['plan', '-f', specWith('block', { mode: 'vrack-block', block: '203.0.113.8/29' }), '--output', 'json'], SANDBOXES_POLICY_ENV);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as BootstrapPlan).changes.length).toBeGreaterThan(0);
  });
});
