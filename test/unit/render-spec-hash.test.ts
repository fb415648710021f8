import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { lbPublicNetwork } from '../../core/public-path/lb-network';
import { publicPathOf } from '../../core/public-path/modes';
import { renderHaproxyCfg } from '../../core/render/haproxy';
import { renderKeepalivedConf } from '../../core/render/keepalived';
import { headerSpecHash } from '../../core/render/lb-topology';
import { renderNginxConf } from '../../core/render/nginx';
import { sha256Hex } from '../../core/render/sha256';
import { canonicalJson, specHash } from '../../core/render/spec-hash';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
const nodeSha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

describe('sha256Hex (pure, for workflows)', () => {
  it.each(['', 'abc', 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(64), 'a'.repeat(1000), 'héllo wörld ✓ 🚀', '\u{10FFFF}'])('agrees with node:crypto on %j', (text) => {
    expect(sha256Hex(text)).toBe(nodeSha256(text));
  });

  it('agrees with node:crypto on random bytes of every length up to 300', () => {
    for (let n = 0; n <= 300; n++) {
      const bytes = randomBytes(n);
      expect(sha256Hex(new Uint8Array(bytes))).toBe(nodeSha256(bytes));
    }
  });
});

describe('specHash', () => {
  const change = (edit: (s: ClusterSpec) => ClusterSpec) => specHash(edit(structuredClone(spec)));
  const base = specHash(spec);

  it('is sha256 of canonical JSON, stable across key order', () => {
    expect(base).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }));
  });

  it.each<[string, (s: ClusterSpec) => ClusterSpec]>([
    ['the API VIP', (s) => ({ ...s, network: { ...s.network, apiVip: '10.10.0.6' } })],
    ['the VRRP router id', (s) => ({ ...s, network: { ...s.network, vrrpRouterId: 52 } })],
    ['the interface', (s) => ({ ...s, network: { ...s.network, interface: 'ens18' } })],
    ['the failover IPs', (s) => ({ ...s, failoverIps: ['203.0.113.11'] })],
    ['the cluster name', (s) => ({ ...s, metadata: { name: 'prod-rbx' } })],
    ['a worker address', (s) => ({ ...s, servers: s.servers.map((v, i) => (i === 1 ? { ...v, vms: { ...v.vms, worker: { ...v.vms.worker, ip: '10.10.0.99' } } } : v)) })],
    ['the server order', (s) => ({ ...s, servers: [...s.servers].reverse() })],
    ['the public path mode', (s) => ({ ...s, publicPath: { ...publicPathOf(s), mode: 'routed' } })],
    ['the public interface', (s) => ({ ...s, publicPath: { ...publicPathOf(s), interface: 'ens19' } })],
  ])('changes when %s changes', (_, edit) => {
    expect(change(edit)).not.toBe(base);
  });

  it.each<[string, (s: ClusterSpec) => ClusterSpec]>([
    ['the health interval', (s) => ({ ...s, health: { ...s.health, interval: '10s' } })],
    ['a VM size', (s) => ({ ...s, servers: s.servers.map((v) => ({ ...v, vms: { ...v.vms, worker: { ...v.vms.worker, cores: 16 } } })) })],
    ['the Talos version', (s) => ({ ...s, talos: { ...s.talos, version: 'v1.9.0' } })],
    ['the public probe URL (how the worker looks, not an LB file)', (s) => ({ ...s, publicPath: { ...publicPathOf(s), probeUrl: 'http://{ip}/' } })],
    ['publicPath written out with its defaults', (s) => ({ ...s, publicPath: publicPathOf(s) })],
  ])('stays the same when %s changes (it does not touch the LB configs)', (_, edit) => {
    expect(change(edit)).toBe(base);
  });

  it('changes the header of every rendered file when a relevant field changes', () => {
    const moved: ClusterSpec = { ...spec, network: { ...spec.network, apiVip: '10.10.0.6' } };
    for (const render of [renderKeepalivedConf, renderHaproxyCfg, renderNginxConf]) {
      const before = headerSpecHash(render(spec, 'srv-a'));
      const after = headerSpecHash(render(moved, 'srv-a'));
      expect(before).toBe(base);
      expect(after).toBe(specHash(moved));
      expect(after).not.toBe(before);
    }
  });

  it("changes keepalived.conf's header, and only its, when the server's public gateway at OVH changes", () => {
    const at = (gateway: string) => ({ publicNetwork: lbPublicNetwork(spec, 0, { gateway }) });
    const one = headerSpecHash(renderKeepalivedConf(spec, 'srv-a', at('198.51.100.254')));
    const other = headerSpecHash(renderKeepalivedConf(spec, 'srv-a', at('198.51.100.126')));
    expect(one).toBe(specHash(spec, '198.51.100.254'));
    expect(other).toBe(specHash(spec, '198.51.100.126'));
    expect(other).not.toBe(one);
    // haproxy.cfg and nginx.conf do not carry the gateway: their header is the spec's alone.
    expect(headerSpecHash(renderHaproxyCfg(spec, 'srv-a'))).toBe(base);
  });

  it('renders the same text twice (deterministic)', () => {
    expect(renderKeepalivedConf(spec, 'srv-b')).toBe(renderKeepalivedConf(structuredClone(spec), 'srv-b'));
    expect(renderNginxConf(spec, 'srv-b')).toBe(renderNginxConf(structuredClone(spec), 'srv-b'));
  });
});
