// The in-process LB host's `haproxy -c`, `nginx -t` and `keepalived -t` give the verdict the
// real programs give on a fresh Debian LB VM (sandbox/netns/debian-host.ts: Debian's
// directories, eth0, the autok8s CLI in /usr/local/bin), for the rendered defaults and a
// mutation of each directive autok8s renders. A renderer change that one tier accepts and
// the other refuses fails here instead of in the demo or on a real VM. Root only.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHaproxyCfg } from '../../core/render/haproxy';
import { renderKeepalivedConf } from '../../core/render/keepalived';
import { renderNginxConf } from '../../core/render/nginx';
import type { ClusterSpec } from '../../core/spec/schema';
import { hostPath, runCommand, type HostFilesystem } from '../../sandbox/lbhost/commands';
import { freshDebianFilesystem } from '../../sandbox/lbhost/host';
import { DebianLbHost, debianHostUnavailableReason } from '../../sandbox/netns/debian-host';
import { NetnsLab } from '../../sandbox/netns/lab';
import { requireInCi } from '../helpers/prerequisites';
import { ed25519KeyPair, labSpec } from './helpers';

type Program = 'haproxy' | 'nginx' | 'keepalived';
type Verdict = 'accept' | 'reject';

/** Where each variant is written on both hosts, and the command that checks it (as the push runs it). */
const CHECK: Record<Program, { path: string; argv: (path: string) => string[] }> = {
  haproxy: { path: '/etc/haproxy/variant.cfg', argv: (p) => ['haproxy', '-c', '-f', p] },
  nginx: { path: '/etc/nginx/variant.conf', argv: (p) => ['nginx', '-t', '-c', p] },
  keepalived: { path: '/etc/keepalived/variant.conf', argv: (p) => ['keepalived', '-t', '-f', p] },
};

const unavailable = debianHostUnavailableReason();

describe.skipIf(requireInCi(unavailable, 'validator parity against the real programs on a Debian LB host'))(
  unavailable ? `validator parity (skipped: ${unavailable})` : 'the in-process validators agree with the real programs on a fresh Debian LB VM',
  () => {
    let lab: NetnsLab;
    let vm: DebianLbHost;
    let scratch: string;
    let inProcess: HostFilesystem;
    let spec: ClusterSpec;

    beforeAll(async () => {
      lab = await NetnsLab.create();
      const host = await lab.addHost('lb-parity', lab.ip(11));
      vm = await DebianLbHost.create(lab, host, [ed25519KeyPair().publicKey]);
      spec = labSpec(lab, { servers: 3 });
      scratch = mkdtempSync(join(tmpdir(), 'ak8s-parity-'));
      inProcess = await freshDebianFilesystem({ rootDir: scratch });
    });
    afterAll(async () => {
      await lab?.teardown();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    const verdict = (code: number): Verdict => (code === 0 ? 'accept' : 'reject');

    async function both(program: Program, text: string) {
      const { path, argv } = CHECK[program];
      writeFileSync(vm.file(path), text);
      const real = await vm.exec(argv(path));
      writeFileSync(hostPath(inProcess, path), text);
      const standIn = await runCommand(argv(path), Buffer.alloc(0), inProcess);
      return { real, standIn };
    }

    const haproxy = () => renderHaproxyCfg(spec, 'srv-a');
    const nginx = () => renderNginxConf(spec, 'srv-a');
    const keepalived = () => renderKeepalivedConf(spec, 'srv-a');
    const withSpec = (change: (s: ClusterSpec) => ClusterSpec) => (render: (s: ClusterSpec) => string) => render(change(spec));

    const cases: [Program, string, Verdict, () => string][] = [
      ['haproxy', 'the rendered haproxy.cfg', 'accept', haproxy],
      ['haproxy', 'the NodePort variant', 'accept', () => renderHaproxyCfg(spec, 'srv-a', { ingressBackendPorts: { http: 30080, https: 30443 } })],
      ['haproxy', 'a bind port out of range', 'reject', () => haproxy().replace('bind *:6443', 'bind *:99999')],
      ['haproxy', 'a bind address that is not one', 'reject', () => haproxy().replace('bind *:6443', 'bind 10.0.0.300:6443')],
      ['haproxy', 'a server address that is not one', 'reject', () => haproxy().replace(/(server srv-a )[\d.]+(:6443)/, '$110.0.0.300$2')],
      ['haproxy', 'an unknown keyword', 'reject', () => haproxy().replace('  balance roundrobin', '  frobnicate yes')],
      ['haproxy', 'a default_backend that does not exist', 'reject', () => haproxy().replace('default_backend kube_api', 'default_backend nowhere')],
      ['haproxy', 'a keyword outside any section', 'reject', () => `maxconn 10\n${haproxy()}`.replace(/^global$/m, '')],
      ['haproxy', 'an unknown mode', 'reject', () => haproxy().replace('  mode tcp', '  mode udp')],
      ['haproxy', 'a user that does not exist', 'reject', () => renderHaproxyCfg(spec, 'srv-a', { runAs: { user: 'autok8s-nobody', group: 'haproxy' } })],
      ['haproxy', 'a timeout that is not a duration', 'reject', () => haproxy().replace('timeout connect 5s', 'timeout connect 5x')],
      ['haproxy', 'a frontend without a bind (a warning only)', 'accept', () => haproxy().replace('  bind *:8404\n', '')],
      ['haproxy', 'the identity answer without its content-type', 'reject', () => haproxy().replace(' content-type text/plain string "autok8s-config', ' string "autok8s-config')],

      ['nginx', 'the rendered nginx.conf', 'accept', nginx],
      ['nginx', 'the variant that proxies straight to the workers', 'accept', () => renderNginxConf(spec, 'srv-a', { upstream: 'workers', workerHttpPort: 30080 })],
      ['nginx', 'a cache under /var/cache/nginx, which Debian does not have', 'reject', () => renderNginxConf(spec, 'srv-a', { paths: { cacheDir: '/var/cache/nginx/autok8s' } })],
      ['nginx', 'temp files in a directory Debian does not have', 'reject', () => renderNginxConf(spec, 'srv-a', { paths: { tempDir: '/var/lib/nginx-autok8s' } })],
      ['nginx', 'an error log in a directory Debian does not have', 'reject', () => renderNginxConf(spec, 'srv-a', { paths: { errorLog: '/var/log/autok8s/error.log' } })],
      ['nginx', 'a listen port out of range', 'reject', () => nginx().replace(/listen \d+ default_server;/, 'listen 99999 default_server;')],
      ['nginx', 'an upstream server address that is not one', 'reject', () => nginx().replace('server 127.0.0.1:80;', 'server 10.0.0.300:80;')],
      ['nginx', 'an unknown directive', 'reject', () => nginx().replace('  sendfile on;', '  frobnicate on;')],
      ['nginx', 'a missing closing brace', 'reject', () => nginx().trimEnd().replace(/}$/, '')],
      ['nginx', 'a cache zone that is not declared', 'reject', () => nginx().replace('proxy_cache autok8s_web;', 'proxy_cache nowhere;')],
      ['nginx', 'no events section', 'reject', () => nginx().replace(/events \{[^}]*\}/, '')],
      ['nginx', 'a directive in the wrong block', 'reject', () => nginx().replace('  sendfile on;', '  listen 81;')],
      ['nginx', 'a user that does not exist', 'reject', () => renderNginxConf(spec, 'srv-a', { user: 'autok8s-nobody' })],

      ['keepalived', 'the rendered keepalived.conf', 'accept', keepalived],
      ['keepalived', 'notify_master for several failover IPs', 'accept', () => withSpec((s) => ({ ...s, failoverIps: ['203.0.113.10', '203.0.113.11'] }))((s) => renderKeepalivedConf(s, 'srv-a'))],
      ['keepalived', 'a single LB (no unicast peers)', 'accept', () => withSpec((s) => ({ ...s, servers: s.servers.slice(0, 1) }))((s) => renderKeepalivedConf(s, 'srv-a'))],
      ['keepalived', 'an interface the VM does not have', 'reject', () => withSpec((s) => ({ ...s, network: { ...s.network, interface: 'ens18' } }))((s) => renderKeepalivedConf(s, 'srv-a'))],
      ['keepalived', 'no interface line', 'reject', () => keepalived().replace(/ {2}interface eth0\n/, '')],
      ['keepalived', 'virtual_router_id 0', 'reject', () => keepalived().replace(/virtual_router_id \d+/, 'virtual_router_id 0')],
      ['keepalived', 'virtual_router_id 300', 'reject', () => keepalived().replace(/virtual_router_id \d+/, 'virtual_router_id 300')],
      ['keepalived', 'a priority out of range', 'reject', () => keepalived().replace(/priority \d+/, 'priority 300')],
      ['keepalived', 'an advert_int that is not a number', 'reject', () => keepalived().replace('advert_int 1', 'advert_int abc')],
      ['keepalived', 'an unknown state', 'reject', () => keepalived().replace('state BACKUP', 'state PRIMARY')],
      ['keepalived', 'a VIP that is not an address', 'reject', () => keepalived().replace(/(\n {4})[\d.]+(\/\d+ dev)/, '$110.0.0.300$2')],
      ['keepalived', 'a unicast peer that is not an address', 'reject', () => keepalived().replace(/(unicast_peer \{\n {4})[\d.]+/, '$110.0.0.312')],
      ['keepalived', 'unicast_src_ip without peers', 'reject', () => keepalived().replace(/ {2}unicast_peer \{\n( {4}.*\n)+ {2}\}\n/, '')],
      ['keepalived', 'an unknown keyword', 'reject', () => keepalived().replace('  advert_int 1', '  advert_int 1\n  frobnicate 1')],
      ['keepalived', 'a missing closing brace', 'reject', () => keepalived().trimEnd().replace(/}$/, '')],
      ['keepalived', 'an auth_pass longer than 8 characters', 'reject', () => keepalived().replace(/auth_pass \w+/, 'auth_pass 0123456789')],
      ['keepalived', 'scripts without enable_script_security', 'reject', () => keepalived().replace('  enable_script_security\n', '')],
      ['keepalived', 'routes and rules of the public path (on the vRack interface, as vrack-block keeps them)', 'accept', () => keepalived().replace('  virtual_ipaddress {', '  virtual_routes {\n    0.0.0.0/0 via 10.10.0.1 dev eth0 table 100\n  }\n  virtual_rules {\n    from 203.0.113.10/32 table 100 priority 1000\n  }\n  virtual_ipaddress {')],
    ];

    it.each(cases)('%s: %s → both %s', async (program, _name, expected, text) => {
      const { real, standIn } = await both(program, text());
      expect({ real: verdict(real.code), inProcess: verdict(standIn.code), realSaid: real.stderr.trim().split('\n').slice(0, 3) }).toMatchObject({ real: expected, inProcess: expected });
      if (program === 'keepalived') expect({ inProcessExit: standIn.code }).toEqual({ inProcessExit: real.code });
    });
  },
);
