import { describe, expect, it } from 'vitest';
import { FILE_PLACEHOLDER, lbConfigFiles } from '../../core/render/lb-files';
import { isFirstElection, planLbPush, type KeepalivedLook } from '../../core/render/push-plan';
import { loadSpecFile } from '../../core/spec/load';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);

describe('planLbPush', () => {
  it('pushes the standby LBs first and the active one last', () => {
    const plan = planLbPush(spec, 'srv-a');
    expect(plan.steps).toEqual([
      { server: 'srv-b', role: 'standby' },
      { server: 'srv-c', role: 'standby' },
      { server: 'srv-a', role: 'active' },
    ]);
    expect(plan.why).toMatch(/srv-a last/);
  });

  it("pushes the active LB first when its keepalived does not run yet: the first to start wins the first election", () => {
    const plan = planLbPush(spec, 'srv-b', true);
    expect(plan.steps).toEqual([
      { server: 'srv-b', role: 'active' },
      { server: 'srv-a', role: 'standby' },
      { server: 'srv-c', role: 'standby' },
    ]);
    expect(plan.why).toMatch(/active LB srv-b first: its keepalived does not run yet/);
  });

  it.each<{ name: string; looks: KeepalivedLook[]; first: boolean }>([
    { name: 'no LB runs keepalived yet: a first election', looks: ['stopped', 'stopped', 'stopped'], first: true },
    { name: 'one LB runs it: a cluster in service, even if the active one’s unit failed', looks: ['stopped', 'running', 'stopped'], first: false },
    { name: 'an LB that could not be asked: not known to be first, canary order', looks: ['stopped', 'unknown', 'stopped'], first: false },
    { name: 'no LB looked at', looks: [], first: false },
  ])('isFirstElection: $name', ({ looks, first }) => {
    expect(isFirstElection(looks)).toBe(first);
  });

  it('a first election with no active LB known keeps spec order', () => {
    expect(planLbPush(spec, undefined, true).steps.map((s) => s.server)).toEqual(['srv-a', 'srv-b', 'srv-c']);
  });

  it('keeps spec order when no LB is known to be active', () => {
    expect(planLbPush(spec).steps.map((s) => s.server)).toEqual(['srv-a', 'srv-b', 'srv-c']);
    expect(planLbPush(spec).steps.every((s) => s.role === 'standby')).toBe(true);
  });

  it('keeps spec order and says why when the named active LB is not in the spec', () => {
    const plan = planLbPush(spec, 'srv-x');
    expect(plan.steps.map((s) => s.server)).toEqual(['srv-a', 'srv-b', 'srv-c']);
    expect(plan.why).toMatch(/srv-x is not a server/);
  });

  it('visits every server exactly once', () => {
    for (const active of [undefined, 'srv-a', 'srv-b', 'srv-c']) {
      const servers = planLbPush(spec, active).steps.map((s) => s.server);
      expect([...servers].sort()).toEqual(['srv-a', 'srv-b', 'srv-c']);
    }
  });
});

describe('lbConfigFiles', () => {
  it('validates each file with its own program on the uploaded copy, and reloads its service', () => {
    const files = lbConfigFiles(spec, 'srv-b', { gateways: spec.servers.map(() => '198.51.100.254') });
    for (const f of files) {
      expect(f.validate[0]).toBe(f.program);
      expect(f.validate).toContain(FILE_PLACEHOLDER);
      expect(f.path.startsWith('/etc/')).toBe(true);
    }
  });

  it('starts a service that is not running instead of failing its reload (keepalived on a fresh Debian VM)', () => {
    for (const f of lbConfigFiles(spec, 'srv-b', { gateways: spec.servers.map(() => '198.51.100.254') })) expect(f.reload).toEqual(['systemctl', 'reload-or-restart', f.program]);
  });

  it('stops keepalived again when a rollback removes the keepalived.conf it was started with', () => {
    const files = lbConfigFiles(spec, 'srv-b', { gateways: spec.servers.map(() => '198.51.100.254') });
    expect(files.find((f) => f.program === 'keepalived')?.deactivate).toEqual(['systemctl', 'stop', 'keepalived']);
    expect(files.filter((f) => f.deactivate !== undefined).map((f) => f.program)).toEqual(['keepalived']);
  });

  it("pushes nginx.conf before haproxy.cfg, so Debian's default site has left :80 when HAProxy binds it, and keepalived last", () => {
    expect(lbConfigFiles(spec, 'srv-b', { gateways: spec.servers.map(() => '198.51.100.254') }).map((f) => f.program)).toEqual(['nginx', 'haproxy', 'keepalived']);
  });

  it('probes HAProxy on the host and port of the LB health URL the failover workflow uses, for the identity of the file pushed', () => {
    const haproxy = lbConfigFiles(spec, 'srv-b', { gateways: spec.servers.map(() => '198.51.100.254') }).find((f) => f.program === 'haproxy')!;
    expect(haproxy.probe).toMatchObject({ kind: 'http', url: 'http://10.10.0.12:8404/autok8s/config', expectBody: expect.stringMatching(/^autok8s-config [0-9a-f]{16}$/) });
  });
});
