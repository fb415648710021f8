import { describe, expect, it } from 'vitest';
import { renderHaproxyCfg } from '../../core/render/haproxy';
import { headerSpecHash, LB_PORTS } from '../../core/render/lb-topology';
import { specHash } from '../../core/render/spec-hash';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { expectGolden } from '../golden/golden';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);

/** The lines of one `frontend`/`backend` section. */
function section(cfg: string, header: string): string[] {
  const lines = cfg.split('\n');
  const start = lines.indexOf(header);
  if (start < 0) throw new Error(`no section ${header}`);
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  ')) break;
    out.push(line.trim());
  }
  return out;
}

describe('renderHaproxyCfg', () => {
  it('matches the golden file', () => {
    expectGolden('haproxy-srv-a.cfg', renderHaproxyCfg(spec, 'srv-a'));
  });

  it('is the same on every LB apart from the header naming it (and the identity, a hash of the whole file)', () => {
    const body = (name: string) =>
      renderHaproxyCfg(spec, name)
        .split('\n')
        .slice(1)
        .join('\n')
        .replace(/autok8s-config [0-9a-f]{16}/, 'autok8s-config <identity>');
    expect(body('srv-b')).toBe(body('srv-a'));
  });

  it('runs in TCP mode and binds wildcard addresses (they work whether or not this LB holds the VIP)', () => {
    const cfg = renderHaproxyCfg(spec, 'srv-a');
    expect(section(cfg, 'defaults')).toContain('mode tcp');
    const binds = cfg.split('\n').filter((l) => l.trim().startsWith('bind '));
    expect(binds.map((l) => l.trim()).sort()).toEqual(
      [LB_PORTS.kubeApi, LB_PORTS.talosApi, LB_PORTS.ingressHttp, LB_PORTS.ingressHttps, LB_PORTS.haproxyHealth].map((p) => `bind *:${p}`).sort(),
    );
  });

  it('sends 6443 and 50000 to every control plane, 80 and 443 to every worker', () => {
    const cfg = renderHaproxyCfg(spec, 'srv-a');
    const servers = (name: string) => section(cfg, `backend ${name}`).filter((l) => l.startsWith('server '));
    const cps = spec.servers.map((s) => s.vms.controlPlane!.ip);
    const workers = spec.servers.map((s) => s.vms.worker.ip);
    expect(servers('kube_api').map((l) => l.split(' ')[2])).toEqual(cps.map((ip) => `${ip}:6443`));
    expect(servers('talos_apid').map((l) => l.split(' ')[2])).toEqual(cps.map((ip) => `${ip}:50000`));
    expect(servers('ingress_http').map((l) => l.split(' ')[2])).toEqual(workers.map((ip) => `${ip}:80`));
    expect(servers('ingress_https').map((l) => l.split(' ')[2])).toEqual(workers.map((ip) => `${ip}:443`));
  });

  it('health-checks every server line, with check timings in the defaults', () => {
    const cfg = renderHaproxyCfg(spec, 'srv-a');
    const serverLines = cfg.split('\n').filter((l) => l.trim().startsWith('server '));
    expect(serverLines.length).toBe(12);
    for (const line of serverLines) expect(line.trim().endsWith(' check')).toBe(true);
    expect(section(cfg, 'defaults')).toContain('default-server inter 2s fall 3 rise 2');
  });

  it('leaves servers without a control plane out of the API backends', () => {
    const noCp: ClusterSpec = {
      ...spec,
      servers: spec.servers.map((s, i) => (i === 2 ? { ...s, vms: { lb: s.vms.lb, worker: s.vms.worker } } : s)),
    };
    const cfg = renderHaproxyCfg(noCp, 'srv-a');
    expect(section(cfg, 'backend kube_api').filter((l) => l.startsWith('server '))).toHaveLength(2);
    expect(section(cfg, 'backend ingress_http').filter((l) => l.startsWith('server '))).toHaveLength(3);
  });

  it('serves the failover health probe on 8404 with monitor-uri /healthz', () => {
    const health = section(renderHaproxyCfg(spec, 'srv-a'), 'frontend lb_health');
    expect(health).toContain('bind *:8404');
    expect(health).toContain('monitor-uri /healthz');
    expect(health).toContain('mode http');
  });

  it('targets a NodePort pair on the workers when asked', () => {
    const cfg = renderHaproxyCfg(spec, 'srv-a', { ingressBackendPorts: { http: 30080, https: 30443 } });
    expect(section(cfg, 'backend ingress_http')).toContain('server srv-a 10.10.0.31:30080 check');
    expect(section(cfg, 'backend ingress_https')).toContain('server srv-c 10.10.0.33:30443 check');
    expect(section(cfg, 'frontend ingress_http')).toContain('bind *:80');
    expect(() => renderHaproxyCfg(spec, 'srv-a', { ingressBackendPorts: { http: 0, https: 30443 } })).toThrow(/1 to 65535/);
  });

  it('carries the spec hash in its header', () => {
    expect(headerSpecHash(renderHaproxyCfg(spec, 'srv-c'))).toBe(specHash(spec));
  });
});
