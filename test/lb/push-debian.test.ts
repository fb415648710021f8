// The default-path files pushed to a fresh Debian LB VM: network and mount namespaces whose
// /etc/haproxy, /etc/nginx, /etc/keepalived, /var and /run come from Debian's packages, the
// real sshd, HAProxy, Nginx and keepalived, and `systemctl` running the packages' unit files
// (sandbox/netns/debian-host.ts). No scratch paths: what a new VM would do, this does. Root only.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushConfigFiles } from '../../activities/ssh/push';
import type { SshTarget } from '../../activities/ssh/session';
import { sshTargetFor } from '../../activities/ssh/target';
import { HAPROXY_IDENTITY_LINE, claimedHaproxyIdentity, haproxyIdentityAnswer, stampHaproxyIdentity } from '../../core/render/haproxy-identity';
import { haproxyFile, lbConfigFiles, type RemoteConfigFile } from '../../core/render/lb-files';
import { NGINX_DEFAULT_PATHS } from '../../core/render/nginx';
import type { ClusterSpec } from '../../core/spec/schema';
import { DebianLbHost, debianHostUnavailableReason, NOTIFY_LOG } from '../../sandbox/netns/debian-host';
import { NetnsLab } from '../../sandbox/netns/lab';
import { requireInCi } from '../helpers/prerequisites';
import { ed25519KeyPair, labSpec, secretsWith, TEST_KEY_REF } from './helpers';

const unavailable = debianHostUnavailableReason();
const client = ed25519KeyPair();
const secrets = secretsWith({ [TEST_KEY_REF]: client.privateKey });

async function failure(promise: Promise<unknown>): Promise<{ type?: string; message: string; details?: unknown[] }> {
  return promise.then(
    () => {
      throw new Error('the push succeeded, but it was expected to fail');
    },
    (e: unknown) => e as { type?: string; message: string; details?: unknown[] },
  );
}

async function eventually<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, attempts = 50): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < attempts; i++) {
    last = await probe();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: still ${JSON.stringify(last)} after ${attempts} tries`);
}

describe.skipIf(requireInCi(unavailable, 'the push to a stock Debian LB host (namespaces, sshd, HAProxy, Nginx, keepalived)'))(
  unavailable ? `push to a stock Debian LB host (skipped: ${unavailable})` : 'push of the default files to a fresh Debian LB host in its own namespaces',
  () => {
    let lab: NetnsLab;

    beforeAll(async () => {
      lab = await NetnsLab.create();
    });
    afterAll(async () => lab?.teardown());

    /** A new VM (its own namespaces) and a one-server spec pointing at it. */
    async function freshVm(name: string, n: number): Promise<{ vm: DebianLbHost; spec: ClusterSpec; target: SshTarget; files: (RemoteConfigFile & { program: string })[] }> {
      const host = await lab.addHost(name, lab.ip(n));
      // The LB VM's public NIC (net1 → eth1), which keepalived.conf's public network names: one end
      // of a veth pair whose both ends stay in this namespace.
      for (const argv of [
        ['ip', 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1-peer'],
        ['ip', 'link', 'set', 'eth1-peer', 'up'],
        ['ip', 'link', 'set', 'eth1', 'up'],
      ]) {
        const result = await lab.exec(host, argv);
        if (result.code !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr}`);
      }
      const vm = await DebianLbHost.create(lab, host, [client.publicKey]);
      const base = labSpec(lab, { servers: 1, hostKeys: { 'srv-a': vm.hostKeyLine } });
      const spec: ClusterSpec = { ...base, servers: [{ ...base.servers[0], vms: { ...base.servers[0].vms, lb: { ...base.servers[0].vms.lb, ip: host.ip } } }] };
      return { vm, spec, target: sshTargetFor(spec.servers[0]), files: lbConfigFiles(spec, 'srv-a', { gateways: spec.servers.map(() => '198.51.100.254') }) };
    }

    it('starts as Debian leaves a new VM: stock nginx on :80, stock HAProxy, keepalived skipped by its unit condition, no /var/cache/nginx', async () => {
      const { vm } = await freshVm('lb-stock', 11);
      expect((await vm.exec(['systemctl', 'is-active', 'nginx'])).stdout).toBe('active\n');
      expect((await vm.exec(['systemctl', 'is-active', 'haproxy'])).stdout).toBe('active\n');
      expect((await vm.exec(['systemctl', 'is-active', 'keepalived'])).stdout).toBe('inactive\n');
      const page = await fetch(`http://${vm.host.ip}/`);
      expect(await page.text()).toContain('Welcome to nginx!');
      expect((await vm.exec(['test', '-e', '/var/cache/nginx'])).code).toBe(1);
      expect((await vm.exec(['test', '-d', '/var/lib/nginx'])).code).toBe(0);
      // Everything the VM has is its own: this machine's /etc and /var are not what it sees.
      expect((await vm.exec(['cat', '/etc/ssh/sshd_config'])).stdout).toBe(readFileSync(vm.file('/etc/ssh/sshd_config'), 'utf8'));
      expect((await vm.exec(['systemctl', 'reload', 'keepalived'])).code).not.toBe(0);
    });

    it("the systemctl stand-in keeps the units' semantics: a bad file fails haproxy's and nginx's reload and the old process serves on; keepalived's start is skipped without a config", async () => {
      const { vm } = await freshVm('lb-units', 14);
      const pid = (file: string) => readFileSync(vm.file(file), 'utf8').trim();
      const haproxyMaster = pid('/run/haproxy.pid');
      writeFileSync(vm.file('/etc/haproxy/haproxy.cfg'), `${readFileSync(vm.file('/etc/haproxy/haproxy.cfg'), 'utf8')}\nfrobnicate\n`);
      const haproxyReload = await vm.exec(['systemctl', 'reload', 'haproxy']);
      expect(haproxyReload.code).toBe(1);
      expect(haproxyReload.stderr).toContain('Job for haproxy.service failed');
      // Debian's ExecReload checks with -q, which silences the alerts too: the journal says nothing of why.
      expect(vm.journal('haproxy')).not.toContain('frobnicate');
      expect(pid('/run/haproxy.pid')).toBe(haproxyMaster);
      expect((await vm.exec(['systemctl', 'is-active', 'haproxy'])).code).toBe(0);

      writeFileSync(vm.file('/etc/nginx/nginx.conf'), `${readFileSync(vm.file('/etc/nginx/nginx.conf'), 'utf8')}\nfrobnicate on;\n`);
      expect((await vm.exec(['systemctl', 'reload', 'nginx'])).code).toBe(1);
      expect(vm.journal('nginx')).toContain('unknown directive "frobnicate"');
      expect(await (await fetch(`http://${vm.host.ip}/`)).text()).toContain('Welcome to nginx!');

      writeFileSync(vm.file('/etc/keepalived/keepalived.conf'), '');
      expect(await vm.exec(['systemctl', 'reload-or-restart', 'keepalived'])).toMatchObject({ code: 0 });
      expect((await vm.exec(['systemctl', 'is-active', 'keepalived'])).stdout).toBe('inactive\n');
    });

    it('validates, installs, starts and serves the default nginx.conf, haproxy.cfg and keepalived.conf', async () => {
      const { vm, spec, target, files } = await freshVm('lb-a', 12);
      const results = await pushConfigFiles(target, files, { secrets });
      expect(results.map((r) => ({ changed: r.changed, reloaded: r.reloaded }))).toEqual(files.map(() => ({ changed: true, reloaded: true })));
      expect(results.map((r) => r.validatedWith)).toEqual([
        'nginx -t -c /etc/nginx/nginx.conf.autok8s-new',
        'haproxy -c -f /etc/haproxy/haproxy.cfg.autok8s-new',
        'keepalived -t -f /etc/keepalived/keepalived.conf.autok8s-new',
      ]);
      for (const f of files) expect(readFileSync(vm.file(f.path), 'utf8')).toBe(f.content);

      // HAProxy: the health endpoint failover probes, and the ingress frontend on :80 that Debian's default site held.
      const health = await fetch(`http://${vm.host.ip}:8404/healthz`);
      expect(health.status).toBe(200);
      expect((await vm.exec(['ss', '-Htlnp', 'sport = :80'])).stdout).toContain('haproxy');
      // Nginx: its own /healthz, and the cache directory it made under /var/lib/nginx, owned by its workers' user.
      const nginxHealth = await fetch(`http://${vm.host.ip}:8405/healthz`);
      expect(await nginxHealth.text()).toBe('ok\n');
      expect((await vm.exec(['stat', '-c', '%U %a', NGINX_DEFAULT_PATHS.cacheDir])).stdout).toBe('www-data 700\n');
      // keepalived: started by the push, it takes the VIP (the only LB, so it becomes MASTER).
      expect((await vm.exec(['systemctl', 'is-active', 'keepalived'])).code).toBe(0);
      await eventually('the API VIP on eth0', () => lab.addresses(vm.host), (ips) => ips.includes(spec.network.apiVip));
      // Taking the VIP, it ran notify_master: the autok8s CLI asked to bring this LB's public link
      // up and, beside it, to pull the failover IP here (after the BACKUP state it started in took it down).
      const calls = await eventually('the notify_master calls', async () => (existsSync(vm.file(NOTIFY_LOG)) ? readFileSync(vm.file(NOTIFY_LOG), 'utf8') : ''), (t) => t.includes('failover') && t.includes('link up'));
      const lines = calls.trimEnd().split('\n');
      expect(new Set(lines.slice(-2))).toEqual(new Set(['lb link up --cluster lab --server srv-a', `failover --cluster lab --ip ${spec.failoverIps[0]} --to srv-a --reason keepalived`]));
      expect(new Set(lines.slice(0, -2))).toEqual(new Set(lines.length > 2 ? ['lb link down --cluster lab --server srv-a'] : []));
      // As MASTER it holds the failover IP on its public NIC (the namespace's eth1).
      await eventually('the failover IP on eth1', async () => (await lab.exec(vm.host, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth1'])).stdout, (out) => out.includes(`inet ${spec.failoverIps[0]}/32`));

      // A second push of the same files changes nothing.
      const again = await pushConfigFiles(target, files, { secrets });
      expect(again.map((r) => r.changed)).toEqual([false, false, false]);
    });

    it('a first keepalived.conf that is rolled back leaves keepalived stopped and the VIP released, as before the push', async () => {
      const { vm, spec, target, files } = await freshVm('lb-undo', 15);
      const keepalived = files.find((f) => f.program === 'keepalived')!;
      // Started by the push, then a probe that can never pass: the rollback removes the file and stops the unit.
      const err = await failure(pushConfigFiles(target, [{ ...keepalived, probe: { kind: 'command', argv: ['false'], attempts: 1 } }], { secrets }));
      expect(err.type).toBe('ProbeFailed');
      expect(err.details?.[0]).toMatchObject({ stage: 'probe', rolledBack: true, rollbackReload: 'ok' });
      expect(existsSync(vm.file(keepalived.path))).toBe(false);
      expect((await vm.exec(['systemctl', 'is-active', 'keepalived'])).stdout).toBe('inactive\n');
      expect(await lab.addresses(vm.host)).not.toContain(spec.network.apiVip);
    });

    it('a haproxy.cfg whose new listener cannot bind, over a serving one: the reload exits 0 and /healthz still answers, but HAProxy says it runs the old file, so the push rolls back', async () => {
      const { vm, target, files } = await freshVm('lb-stale', 16);
      await pushConfigFiles(target, files, { secrets });
      const live = files.find((f) => f.program === 'haproxy')!;
      const configUrl = `http://${vm.host.ip}:8404/autok8s/config`;
      expect((await (await fetch(configUrl)).text()).trim()).toBe(haproxyIdentityAnswer(claimedHaproxyIdentity(live.content)!));

      // Something else on the VM holds :9000; the next file adds a listener there.
      const holder = lab.spawn(vm.host, ['python3', '-c', 'import socket,time; s=socket.socket(); s.bind(("0.0.0.0", 9000)); s.listen(); time.sleep(600)'], 'port-holder');
      try {
        await eventually('the port holder listens', async () => (await vm.exec(['ss', '-Htln', 'sport = :9000'])).stdout, (out) => out.includes(':9000'));
        const unstamped = live.content.replace(/^ {2}http-request return .*autok8s-config.*$/m, HAPROXY_IDENTITY_LINE);
        const next = haproxyFile(stampHaproxyIdentity(`${unstamped}\nfrontend extra\n  bind *:9000\n  default_backend kube_api\n`), `http://${vm.host.ip}:8404/healthz`);
        const err = await failure(pushConfigFiles(target, [{ ...next, probe: { ...next.probe!, attempts: 4, intervalMs: 500 } }], { secrets }));

        expect(err.type).toBe('ProbeFailed');
        expect(err.message).toMatch(/HAProxy still runs another file/);
        expect(err.details?.[0]).toMatchObject({ stage: 'probe', rolledBack: true, rollbackReload: 'ok' });
        // What a /healthz probe would have accepted; and once the rollback's reload settles, the old file is what runs.
        expect((await fetch(`http://${vm.host.ip}:8404/healthz`)).status).toBe(200);
        const answer = () => fetch(configUrl).then(async (r) => (await r.text()).trim(), (e: Error) => e.message);
        await eventually('HAProxy answers the old identity', answer, (a) => a === haproxyIdentityAnswer(claimedHaproxyIdentity(live.content)!));
        expect(readFileSync(vm.file('/etc/haproxy/haproxy.cfg'), 'utf8')).toBe(live.content);
      } finally {
        holder.kill('SIGKILL');
      }
    });

    it('haproxy.cfg pushed while the stock nginx still holds :80: the reload exits 0, the new listeners never bind, the probe fails and the push rolls back', async () => {
      const { vm, target, files } = await freshVm('lb-clash', 13);
      const haproxy = files.find((f) => f.program === 'haproxy')!;
      const err = await failure(pushConfigFiles(target, [{ ...haproxy, probe: { ...haproxy.probe!, attempts: 6, intervalMs: 500 } }], { secrets }));
      expect(err.type).toBe('ProbeFailed');
      expect(err.details?.[0]).toMatchObject({ stage: 'probe', rolledBack: true, rollbackReload: 'ok' });
      expect(vm.journal('haproxy')).toMatch(/cannot bind socket \(Address already in use\) for \[0\.0\.0\.0:80\]/);
      expect(readFileSync(vm.file('/etc/haproxy/haproxy.cfg'), 'utf8')).not.toBe(haproxy.content);
      expect(existsSync(vm.file('/etc/haproxy/haproxy.cfg.autok8s-rollback'))).toBe(false);
    });
  },
);
