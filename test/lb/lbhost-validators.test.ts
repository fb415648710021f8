// The in-process host's stand-in validators on their own (no real programs needed): they
// accept what autok8s renders and refuse typical mistakes, in the programs' own style.
// Their agreement with the real programs is checked in validator-parity.test.ts (on a stock
// Debian LB VM) and validate-real.test.ts.
import { describe, expect, it } from 'vitest';
import { publicPathOf, type PublicPathMode } from '../../core/public-path/modes';
import { renderHaproxyCfg } from '../../core/render/haproxy';
import { lbConfigFiles } from '../../core/render/lb-files';
import type { ClusterSpec } from '../../core/spec/schema';
import { renderKeepalivedConf } from '../../core/render/keepalived';
import { renderNginxConf } from '../../core/render/nginx';
import { loadSpecFile } from '../../core/spec/load';
import { checkHaproxyConfig, checkKeepalivedConfig, checkNginxConfig } from '../../sandbox/lbhost/validators';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
const names = spec.servers.map((s) => s.name);

describe('stand-in validators', () => {
  it.each(names)('accept every rendered file of %s', (name) => {
    expect(checkHaproxyConfig(renderHaproxyCfg(spec, name), 'h.cfg')).toEqual({ code: 0, stdout: 'Configuration file is valid\n', stderr: '' });
    expect(checkNginxConfig(renderNginxConf(spec, name), 'n.conf').stderr).toContain('test is successful');
    expect(checkNginxConfig(renderNginxConf(spec, name), 'n.conf').code).toBe(0);
    expect(checkKeepalivedConfig(renderKeepalivedConf(spec, name), 'k.conf').code).toBe(0);
  });

  // What the push carries: keepalived.conf with the LB's public network (bootstrap's gateways).
  const inMode = (mode: PublicPathMode): ClusterSpec =>
    mode === 'vrack-block' ? { ...spec, failoverIps: ['203.0.113.9'], publicPath: { ...publicPathOf(spec), mode, block: '203.0.113.8/29' } } : { ...spec, publicPath: { ...publicPathOf(spec), mode } };
  const pushedKeepalived = (mode: PublicPathMode, name: string) =>
    lbConfigFiles(inMode(mode), name, { gateways: ['198.51.100.254', '198.51.100.126', '192.0.2.254'] }).find((f) => f.program === 'keepalived')!.content;
  it.each((['vmac', 'routed', 'vrack-block'] as const).flatMap((mode) => names.map((name) => [mode, name] as const)))(
    'accept the %s keepalived.conf pushed to %s, on an LB VM with its public eth1 (as the sandbox starts it)',
    (mode, name) => {
      expect(checkKeepalivedConfig(pushedKeepalived(mode, name), 'k.conf', { interfaces: ['lo', 'eth0', 'eth1'] })).toMatchObject({ code: 0 });
    },
  );

  it('refuse the pushed vmac keepalived.conf on an LB VM without eth1, as keepalived -t does', () => {
    const result = checkKeepalivedConfig(pushedKeepalived('vmac', 'srv-a'), 'k.conf', { interfaces: ['lo', 'eth0'] });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/interface eth1 for ip address 203\.0\.113\.10\/32 doesn't exist/);
  });

  it('report haproxy problems with file and line, as haproxy does', () => {
    const result = checkHaproxyConfig('frontend f\n  bind *:80\n  default_backend gone\n', '/etc/haproxy/haproxy.cfg');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("parsing [/etc/haproxy/haproxy.cfg:3] : Proxy 'f': unable to find required default_backend: 'gone'.");
    expect(result.stderr).toContain('Fatal errors found in configuration.');
  });

  it('report nginx problems with file and line, as nginx -t does', () => {
    const result = checkNginxConfig('events {}\nhttp {\n  frobnicate on;\n}\n', '/etc/nginx/nginx.conf');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('nginx: [emerg] unknown directive "frobnicate" in /etc/nginx/nginx.conf:3\nnginx: configuration file /etc/nginx/nginx.conf test failed\n');
  });

  it('report keepalived problems by line, and refuse a VIP-less instance', () => {
    const result = checkKeepalivedConfig('vrrp_instance x {\n  interface eth0\n  virtual_router_id 51\n}\n', 'k.conf');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('(k.conf: Line 1) (x) No VIP specified');
  });

  it('refuse text that is not a config at all', () => {
    const junk = 'this is not a config {{{';
    expect(checkHaproxyConfig(junk, 'x').code).not.toBe(0);
    expect(checkNginxConfig(junk, 'x').code).not.toBe(0);
    expect(checkKeepalivedConfig(junk, 'x').code).not.toBe(0);
  });
});
