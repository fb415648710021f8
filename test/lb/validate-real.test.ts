// Every rendered config is accepted by the real program, and the in-process host's
// stand-in validators agree with the real programs on a set of broken configs.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHaproxyCfg } from '../../core/render/haproxy';
import { lbPublicNetwork } from '../../core/public-path/lb-network';
import { publicPathOf, type PublicPathMode } from '../../core/public-path/modes';
import { renderKeepalivedConf } from '../../core/render/keepalived';
import { lbConfigFiles } from '../../core/render/lb-files';
import { renderNginxConf, type NginxPaths } from '../../core/render/nginx';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { checkHaproxyConfig, checkKeepalivedConfig, checkNginxConfig } from '../../sandbox/lbhost/validators';
import { findProgram, NetnsLab, netnsUnavailableReason, type LabHost } from '../../sandbox/netns/lab';
import { requireInCi } from '../helpers/prerequisites';

const spec = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
const servers = spec.servers.map((s) => s.name);
const twoIps: ClusterSpec = { ...spec, failoverIps: ['203.0.113.10', '203.0.113.11'] };

interface Run {
  code: number;
  output: string;
}
async function runProgram(argv: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(argv[0], argv.slice(1), { timeout: 30_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const missing = (program: string) => (findProgram(program) ? undefined : `${program} is not installed (apt-get install -y haproxy nginx-light keepalived)`);
const title = (name: string, reason: string | undefined) => (reason ? `${name} (skipped: ${reason})` : name);

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'ak8s-validate-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function writeScratch(name: string, text: string): string {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return file;
}

// ---------------------------------------------------------------------------------------
const haproxyMissing = missing('haproxy');
describe.skipIf(requireInCi(haproxyMissing, 'haproxy -c'))(title('haproxy -c on rendered haproxy.cfg', haproxyMissing), () => {
  const haproxyCheck = (text: string, name: string) => runProgram(['haproxy', '-c', '-f', writeScratch(name, text)]);

  it.each(servers)('accepts the config of %s', async (name) => {
    const result = await haproxyCheck(renderHaproxyCfg(spec, name), `haproxy-${name}.cfg`);
    expect(result.output).toContain('Configuration file is valid');
    expect(result.code).toBe(0);
  });

  it('accepts the NodePort variant', async () => {
    expect((await haproxyCheck(renderHaproxyCfg(spec, 'srv-a', { ingressBackendPorts: { http: 30080, https: 30443 } }), 'haproxy-np.cfg')).code).toBe(0);
  });

  const good = renderHaproxyCfg(spec, 'srv-a');
  it.each<[string, string]>([
    ['an unknown keyword', good.replace('  balance roundrobin', '  frobnicate yes')],
    ['a default_backend that does not exist', good.replace('default_backend kube_api', 'default_backend nowhere')],
    ['a port out of range', good.replace('bind *:6443', 'bind *:99999')],
    ['a keyword outside any section', `maxconn 10\n${good}`.replace(/^global$/m, '')],
  ])('rejects %s, as the in-process stand-in does', async (_, text) => {
    const real = await haproxyCheck(text, 'haproxy-broken.cfg');
    expect(real.code).not.toBe(0);
    expect(checkHaproxyConfig(text, 'x.cfg').code).not.toBe(0);
  });

  it('agrees with the stand-in on the rendered config', () => {
    expect(checkHaproxyConfig(good, 'x.cfg').code).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------
const nginxMissing = missing('nginx');
describe.skipIf(requireInCi(nginxMissing, 'nginx -t'))(title('nginx -t on rendered nginx.conf, from a scratch prefix', nginxMissing), () => {
  function prefixPaths(name: string): NginxPaths {
    const dir = join(scratch, `nginx-${name}`);
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    return { pid: join(dir, 'nginx.pid'), errorLog: join(dir, 'error.log'), accessLog: join(dir, 'access.log'), cacheDir: join(dir, 'cache'), tempDir: join(dir, 'tmp') };
  }
  const nginxTest = (text: string, name: string) => {
    const dir = join(scratch, `nginx-${name}`);
    mkdirSync(dir, { recursive: true });
    // -p: nothing relative resolves into the system prefix; -e: the startup log stays here too.
    return runProgram(['nginx', '-t', '-p', `${dir}/`, '-e', join(dir, 'startup.log'), '-c', writeScratch(`nginx-${name}.conf`, text)]);
  };
  // As root nginx switches its workers to `user`; otherwise it must not name one.
  const user = process.getuid?.() === 0 ? undefined : null;

  it.each(servers)('accepts the config of %s', async (name) => {
    const result = await nginxTest(renderNginxConf(spec, name, { paths: prefixPaths(name), user }), name);
    expect(result.output).toContain('test is successful');
    expect(result.code).toBe(0);
  });

  it('accepts the variant that proxies straight to the workers', async () => {
    const result = await nginxTest(renderNginxConf(spec, 'srv-a', { paths: prefixPaths('direct'), user, upstream: 'workers', workerHttpPort: 30080 }), 'direct');
    expect(result.code).toBe(0);
  });

  it.each<[string, (good: string) => string]>([
    ['an unknown directive', (good) => good.replace('  sendfile on;', '  frobnicate on;')],
    ['a missing closing brace', (good) => good.trimEnd().replace(/}$/, '')],
    ['a cache zone that is not declared', (good) => good.replace('proxy_cache autok8s_web;', 'proxy_cache nowhere;')],
    ['no events section', (good) => good.replace(/events \{[^}]*\}/, '')],
    ['a directive in the wrong block', (good) => good.replace('  sendfile on;', '  listen 81;')],
  ])('rejects %s, as the in-process stand-in does', async (_, edit) => {
    const text = edit(renderNginxConf(spec, 'srv-a', { paths: prefixPaths('broken'), user }));
    const real = await nginxTest(text, 'broken');
    expect(real.output).toContain('test failed');
    expect(real.code).not.toBe(0);
    expect(checkNginxConfig(text, 'x.conf').code).not.toBe(0);
  });

  it('agrees with the stand-in on the rendered config', () => {
    expect(checkNginxConfig(renderNginxConf(spec, 'srv-a'), 'x.conf').code).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------
const keepalivedUnavailable = netnsUnavailableReason(['ip', 'keepalived']);
describe.skipIf(requireInCi(keepalivedUnavailable, 'keepalived -t in a namespace'))(title('keepalived -t on rendered keepalived.conf, inside a namespace with eth0', keepalivedUnavailable), () => {
  let lab: NetnsLab;
  let host: LabHost;
  beforeAll(async () => {
    lab = await NetnsLab.create();
    host = await lab.addHost('lb', lab.ip(11));
  });
  afterAll(async () => lab?.teardown());

  const keepalivedTest = (text: string, name: string) => lab.exec(host, ['keepalived', '-t', '-f', writeScratch(name, text)]);

  it.each(servers)('accepts the config of %s', async (name) => {
    const result = await keepalivedTest(renderKeepalivedConf(spec, name), `keepalived-${name}.conf`);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('accepts the notify_master line that calls failover for several IPs', async () => {
    expect((await keepalivedTest(renderKeepalivedConf(twoIps, 'srv-a'), 'keepalived-two.conf')).code).toBe(0);
  });

  it('rejects a config naming an interface the host does not have (so validation must run on the target)', async () => {
    const result = await keepalivedTest(renderKeepalivedConf({ ...spec, network: { ...spec.network, interface: 'ens18' } }, 'srv-a'), 'keepalived-ens18.conf');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('ens18');
  });

  const good = renderKeepalivedConf(spec, 'srv-a');
  it.each<[string, string]>([
    ['a router id out of range', good.replace('virtual_router_id 51', 'virtual_router_id 300')],
    ['a priority out of range', good.replace('priority 200', 'priority 300')],
    ['an unknown keyword', good.replace('  advert_int 1', '  advert_int 1\n  frobnicate 1')],
    ['a missing closing brace', good.trimEnd().replace(/}$/, '')],
    ['an auth_pass longer than 8 characters', good.replace(/auth_pass \w+/, 'auth_pass 0123456789')],
  ])('rejects %s, as the in-process stand-in does', async (_, text) => {
    const real = await keepalivedTest(text, 'keepalived-broken.conf');
    expect(real.code).not.toBe(0);
    expect(checkKeepalivedConfig(text, 'x.conf').code).not.toBe(0);
  });

  it('agrees with the stand-in on the rendered config', () => {
    expect(checkKeepalivedConfig(good, 'x.conf').code).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------
describe.skipIf(requireInCi(keepalivedUnavailable, 'keepalived -t in a namespace'))(
  title('keepalived -t on keepalived.conf with the public path, inside a namespace with eth0 and a public eth1', keepalivedUnavailable),
  () => {
    let lab: NetnsLab;
    let host: LabHost;
    let vrackOnly: LabHost;
    beforeAll(async () => {
      lab = await NetnsLab.create();
      host = await lab.addHost('lbpub', lab.ip(11));
      // The LB VM's public NIC: one end of a veth pair whose both ends stay in this namespace.
      for (const argv of [
        ['ip', 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1-peer'],
        ['ip', 'link', 'set', 'eth1-peer', 'up'],
        ['ip', 'link', 'set', 'eth1', 'up'],
      ]) {
        const result = await lab.exec(host, argv);
        if (result.code !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr}`);
      }
      vrackOnly = await lab.addHost('lbvrack', lab.ip(12));
    });
    afterAll(async () => lab?.teardown());

    const gateways = ['198.51.100.254', '198.51.100.126', '192.0.2.254'];
    const inMode = (mode: PublicPathMode): ClusterSpec =>
      mode === 'vrack-block'
        ? { ...twoIps, failoverIps: ['203.0.113.9', '203.0.113.10'], publicPath: { ...publicPathOf(spec), mode, block: '203.0.113.8/29' } }
        : { ...twoIps, publicPath: { ...publicPathOf(spec), mode } };
    const rendered = (mode: PublicPathMode, name: string) => {
      const s = inMode(mode);
      const index = s.servers.findIndex((x) => x.name === name);
      return renderKeepalivedConf(s, name, { publicNetwork: lbPublicNetwork(s, index, { gateway: gateways[index] }) });
    };
    const keepalivedTest = (on: LabHost, text: string, name: string) => lab.exec(on, ['keepalived', '-t', '-f', writeScratch(name, text)]);

    const cases = (['vmac', 'routed', 'vrack-block'] as const).flatMap((mode) => servers.map((name) => [mode, name] as const));
    it.each(cases)('accepts the %s config of %s: addresses, virtual_routes with dev eth1 and virtual_rules', async (mode, name) => {
      const result = await keepalivedTest(host, rendered(mode, name), `keepalived-${mode}-${name}.conf`);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    });

    it.each(['vmac', 'routed', 'vrack-block'] as const)('accepts the %s keepalived.conf lbConfigFiles pushes, with the servers\' gateways', async (mode) => {
      const file = lbConfigFiles(inMode(mode), 'srv-b', { gateways }).find((f) => f.program === 'keepalived')!;
      const result = await keepalivedTest(host, file.content, `keepalived-pushed-${mode}.conf`);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    });

    it('rejects the vmac config where the public interface does not exist (so validation must run on the LB VM with its net1)', async () => {
      const result = await keepalivedTest(vrackOnly, rendered('vmac', 'srv-a'), 'keepalived-vmac-no-eth1.conf');
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/interface eth1 for ip address 203\.0\.113\.10\/32 doesn't exist/);
    });

    it('accepts the vrack-block config without a public interface: its addresses sit on the vRack NIC', async () => {
      expect((await keepalivedTest(vrackOnly, rendered('vrack-block', 'srv-a'), 'keepalived-block-vrack.conf')).code).toBe(0);
    });

    const good = rendered('vmac', 'srv-a');
    it.each<[string, string]>([
      ['a route via a gateway that is not an address', good.replace(/via 198\.51\.100\.254/, 'via 198.51.100.999')],
      ['a rule without a table', good.replace(/(from 203\.0\.113\.10\/32) table 100/, '$1 tablex 100')],
      ['a GARP refresh that is not a number', good.replace('vrrp_garp_master_refresh 60', 'vrrp_garp_master_refresh soon')],
    ])('rejects %s', async (_, text) => {
      expect(text).not.toBe(good);
      const result = await keepalivedTest(host, text, 'keepalived-public-broken.conf');
      expect(result.code, result.stderr).not.toBe(0);
    });
  },
);
