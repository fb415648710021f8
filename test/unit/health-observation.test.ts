// A health pass's observation: the pure pieces table-style, then observeCluster over
// injected checks (answers, failures and a hung call), and the schedule phase.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHealthActivities, type HealthCheckDeps } from '../../activities/health/observe-cluster';
import { etcdHealth, nodeObservations, vmProblem, type Readiness } from '../../core/health/observation';
import { talosNodes } from '../../core/talos/nodes';
import { fnv1a32, schedulePhaseMs } from '../../core/schedule/phase';
import { parseSpec } from '../../core/spec/load';

const spec = parseSpec(readFileSync(join(__dirname, '..', 'fixtures', 'cluster.yaml'), 'utf8'));

describe('vmProblem', () => {
  it.each([
    { look: { exists: true, status: 'running' }, expected: undefined },
    { look: { exists: true, status: 'stopped' }, expected: 'VM stopped' },
    { look: { exists: true }, expected: 'VM in an unknown state' },
    { look: { exists: false }, expected: 'VM missing' },
    { look: { error: 'Proxmox node pve1 did not answer' }, expected: 'Proxmox node pve1 did not answer' },
    { look: undefined, expected: 'VM not looked at' },
  ] as const)('$look → $expected', ({ look, expected }) => {
    expect(vmProblem(look)).toBe(expected);
  });
});

describe('nodeObservations', () => {
  const nodes = talosNodes(spec);
  const ready = (server: string, role: 'controlPlane' | 'worker', ok = true, stage = 'running', detail = ''): Readiness => ({ server, role, ready: ok, stage, detail });
  it.each([
    {
      name: 'all running and ready: all healthy',
      problems: {},
      readiness: nodes.map((n) => ready(n.server, n.role)),
      unhealthy: [],
    },
    {
      name: 'a stopped VM is unhealthy with the VM state, whatever the readiness answer',
      problems: { 'srv-b/worker': 'VM stopped' },
      readiness: nodes.map((n) => ready(n.server, n.role)),
      unhealthy: ['srv-b/worker: VM stopped'],
    },
    {
      name: 'not ready carries stage and detail',
      problems: {},
      readiness: nodes.map((n) => (n.server === 'srv-c' && n.role === 'controlPlane' ? ready(n.server, n.role, false, 'running', 'kubelet: not healthy') : ready(n.server, n.role))),
      unhealthy: ['srv-c/controlPlane: running: kubelet: not healthy'],
    },
    {
      name: 'a node left out of the readiness answer is unhealthy, saying so',
      problems: {},
      readiness: nodes.filter((n) => n.server !== 'srv-a').map((n) => ready(n.server, n.role)),
      unhealthy: ['srv-a/controlPlane: not in the readiness answer', 'srv-a/worker: not in the readiness answer'],
    },
  ])('$name', ({ problems, readiness, unhealthy }) => {
    const seen = nodeObservations(nodes, new Map(Object.entries(problems)), readiness);
    expect(seen).toHaveLength(nodes.length);
    expect(seen.filter((n) => !n.healthy).map((n) => `${n.server}/${n.role}: ${n.detail}`)).toEqual(unhealthy);
  });
});

describe('etcdHealth', () => {
  const cps = ['srv-a', 'srv-b', 'srv-c'];
  it.each([
    { name: 'every ready member listed', ready: cps, members: cps, healthy: cps },
    { name: 'a ready node missing from the list is unhealthy', ready: cps, members: ['srv-a', 'srv-b'], healthy: ['srv-a', 'srv-b'] },
    { name: 'a listed member whose node is not ready is unhealthy', ready: ['srv-a', 'srv-b'], members: cps, healthy: ['srv-a', 'srv-b'] },
    { name: 'no list at all (no quorum): every member unhealthy', ready: ['srv-a'], members: undefined, healthy: [] },
  ])('$name', ({ ready, members, healthy }) => {
    const e = etcdHealth(cps, ready, members);
    expect(e.map((m) => m.server)).toEqual(cps);
    expect(e.filter((m) => m.healthy).map((m) => m.server)).toEqual(healthy);
  });
});

describe('observeCluster', () => {
  const healthyDeps = (over: Partial<HealthCheckDeps> = {}): HealthCheckDeps => ({
    probeLb: async (s) => ({ server: s.name, healthy: true, detail: 'answered 200' }),
    vmStatuses: async (_spec, server) => (['lb', 'controlPlane', 'worker'] as const).map((role) => ({ role, exists: true, status: 'running', server })),
    nodesReady: async (_spec, nodes) => nodes.map((n) => ({ ...n, ready: true, stage: 'running', detail: '' })),
    etcdMembers: async () => ({ members: [{ server: 'srv-a' }, { server: 'srv-b' }, { server: 'srv-c' }] }),
    getIpRouting: async () => ({ routedTo: 'ns1001.ip-1-2-3.eu' }),
    ...over,
  });

  it('a healthy cluster: nine healthy nodes in spec order, three etcd members, the IP on srv-a, every check timed', async () => {
    const o = await createHealthActivities(healthyDeps()).observeCluster(spec);
    expect(o.nodes.map((n) => `${n.server}/${n.role}`)).toEqual(spec.servers.flatMap((s) => ['lb', 'controlPlane', 'worker'].map((r) => `${s.name}/${r}`)));
    expect(o.nodes.every((n) => n.healthy)).toBe(true);
    expect(o.etcd.every((m) => m.healthy)).toBe(true);
    expect(o.failover).toEqual([{ ip: '203.0.113.10', routedTo: 'srv-a' }]);
    expect(o.checks!.map((c) => c.name).sort()).toEqual(['etcd-members', 'failover-routing', 'lb-health', 'talos-readiness', 'vm-status']);
  });

  it('a Proxmox node that fails makes its Talos nodes unhealthy with the reason, and asks Talos only about the others', async () => {
    const asked: string[] = [];
    const o = await createHealthActivities(
      healthyDeps({
        vmStatuses: async (_spec, server) => {
          if (server === 'srv-b') throw new Error('Proxmox pve2 did not answer GET /nodes/pve2/qemu (ECONNREFUSED)');
          return (['lb', 'controlPlane', 'worker'] as const).map((role) => ({ role, exists: true, status: 'running' }));
        },
        nodesReady: async (_spec, nodes) => (asked.push(...nodes.map((n) => `${n.server}/${n.role}`)), nodes.map((n) => ({ ...n, ready: true, stage: 'running', detail: '' }))),
      }),
    ).observeCluster(spec);
    expect(o.nodes.filter((n) => !n.healthy).map((n) => `${n.server}/${n.role}`)).toEqual(['srv-b/controlPlane', 'srv-b/worker']);
    expect(o.nodes.find((n) => n.server === 'srv-b' && n.role === 'worker')!.detail).toMatch(/ECONNREFUSED/);
    expect(asked).not.toContain('srv-b/worker');
    expect(o.etcd.find((m) => m.server === 'srv-b')!.healthy).toBe(false);
  });

  it('a failing readiness query makes every running node unhealthy; no ready control plane means no etcd list', async () => {
    let etcdAsked = 0;
    const o = await createHealthActivities(
      healthyDeps({
        nodesReady: async () => {
          throw new Error('talosctl get machinestatus on 10.10.0.21: node not reachable');
        },
        etcdMembers: async () => (etcdAsked++, { members: [] }),
      }),
    ).observeCluster(spec);
    expect(o.nodes.filter((n) => n.role !== 'lb').every((n) => !n.healthy && /node not reachable/.test(n.detail))).toBe(true);
    expect(o.etcd.every((m) => !m.healthy)).toBe(true);
    expect(etcdAsked).toBe(0);
  });

  it('asks the next ready control plane when the first cannot list the members', async () => {
    const vias: string[] = [];
    const o = await createHealthActivities(
      healthyDeps({
        etcdMembers: async (_spec, via) => {
          vias.push(via);
          if (via === 'srv-a') throw new Error('etcdserver: request timed out');
          return { members: [{ server: 'srv-a' }, { server: 'srv-b' }, { server: 'srv-c' }] };
        },
      }),
    ).observeCluster(spec);
    expect(vias).toEqual(['srv-a', 'srv-b']);
    expect(o.etcd.every((m) => m.healthy)).toBe(true);
  });

  it('an IP whose routing cannot be read is left out (unknown), not reported parked', async () => {
    const o = await createHealthActivities(
      healthyDeps({
        getIpRouting: async () => {
          throw new Error('OVH answered 503');
        },
      }),
    ).observeCluster(spec);
    expect(o.failover).toEqual([]);
  });

  it('a hung LB probe is cut at the check deadline and reported, the other checks unaffected', async () => {
    const o = await createHealthActivities(
      healthyDeps({ probeLb: async (s) => (s.name === 'srv-c' ? new Promise(() => undefined) : { server: s.name, healthy: true, detail: 'answered 200' }) }),
      { checkDeadlineMs: 300 },
    ).observeCluster(spec);
    const lb = o.nodes.find((n) => n.server === 'srv-c' && n.role === 'lb')!;
    expect(lb.healthy).toBe(false);
    expect(lb.detail).toMatch(/LB probe of srv-c: no answer within 0.3 s/);
    expect(o.nodes.filter((n) => !n.healthy)).toHaveLength(1);
  });
});

describe('schedulePhaseMs', () => {
  it('is stable: the FNV-1a test vectors, and a phase that follows from the name alone', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // 'foobar' hashes to 0xbf9cf968 = 3214735720, which falls in second 3214735720 mod 30 = 10
    // of a 30 s interval and second 3214735720 mod 60 = 40 of a minute: every worker and CLI
    // that creates the schedule puts it there.
    expect(schedulePhaseMs('foobar', 30_000)).toBe(10_000);
    expect(schedulePhaseMs('foobar', 60_000)).toBe(40_000);
  });

  it('spreads 200 clusters over the whole interval: no second of 30 holds more than 3× its share', () => {
    const perSecond = new Array(30).fill(0);
    for (let i = 1; i <= 200; i++) {
      const phase = schedulePhaseMs(`cap-${String(i).padStart(3, '0')}`, 30_000);
      expect(phase).toBeGreaterThanOrEqual(0);
      expect(phase).toBeLessThan(30_000);
      expect(phase % 1000, 'whole seconds: Temporal truncates finer offsets').toBe(0);
      perSecond[Math.floor(phase / 1000)]++;
    }
    expect(Math.max(...perSecond)).toBeLessThanOrEqual(Math.ceil((3 * 200) / 30));
  });

  it('an interval of a second or less leaves nothing to spread', () => {
    expect(schedulePhaseMs('prod-gra', 1000)).toBe(0);
    expect(schedulePhaseMs('prod-gra', 500)).toBe(0);
  });

  it('refuses an interval that is not a positive whole number of milliseconds', () => {
    expect(() => schedulePhaseMs('x', 0)).toThrow(/positive whole number/);
    expect(() => schedulePhaseMs('x', 1.5)).toThrow(/positive whole number/);
  });
});

describe('observeCluster: the VRRP look', () => {
  const servers = spec.servers.map((s) => s.name);
  const ovhOf = (name: string) => spec.servers.find((s) => s.name === name)!.ovhService;
  /** Healthy answers for every check; OVH routes the IP to `routedTo`; `masters` hold the VIP; `down` cannot be reached. */
  function deps(routedTo: string, masters: string[], down: string[] = []) {
    const looked: string[] = [];
    const d: HealthCheckDeps = {
      probeLb: async (s) => ({ server: s.name, healthy: true, detail: 'ok' }),
      vmStatuses: async () => (['lb', 'controlPlane', 'worker'] as const).map((role) => ({ role, exists: true, status: 'running' })),
      nodesReady: async (_s, nodes) => nodes.map((n) => ({ ...n, ready: true, stage: 'running', detail: '' })),
      etcdMembers: async () => ({ members: spec.servers.map((s) => ({ server: s.name })) }),
      getIpRouting: async () => ({ routedTo: ovhOf(routedTo) }),
      vrrpMaster: async (_s, server) => {
        looked.push(server);
        if (down.includes(server)) throw new Error(`ssh to ${server}: ECONNREFUSED`);
        return masters.includes(server);
      },
    };
    return { d, looked };
  }

  it('with the IP on the MASTER, looks at that LB alone', async () => {
    const { d, looked } = deps(servers[0], [servers[0]]);
    const o = await createHealthActivities(d).observeCluster(spec);
    expect(o.vrrp).toEqual([{ server: servers[0], master: true }]);
    expect(looked).toEqual([servers[0]]);
    expect(o.checks!.find((c) => c.name === 'vrrp-state')!.summary).toMatch(/^MASTER: srv-a \(looked at 1\)$/);
  });

  it('with the IP on a BACKUP, looks at every LB, in spec order; one it cannot reach is unknown (null)', async () => {
    const { d, looked } = deps(servers[1], [servers[0]], [servers[2]]);
    const o = await createHealthActivities(d).observeCluster(spec);
    expect(o.vrrp).toEqual([
      { server: servers[0], master: true },
      { server: servers[1], master: false },
      { server: servers[2], master: null },
    ]);
    expect(looked.sort()).toEqual([...servers].sort());
  });

  it('does not look in vrack-block mode (nothing moves) nor without the dependency', async () => {
    const { d, looked } = deps(servers[1], [servers[0]]);
    const block = { ...spec, publicPath: { mode: 'vrack-block' as const, bridge: 'vmbr0', interface: 'eth1', block: '203.0.113.8/29' } };
    expect((await createHealthActivities(d).observeCluster(block)).vrrp).toBeUndefined();
    expect((await createHealthActivities({ ...d, vrrpMaster: undefined }).observeCluster(spec)).vrrp).toBeUndefined();
    expect(looked).toEqual([]);
  });
});
