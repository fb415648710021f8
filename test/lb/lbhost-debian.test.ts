// The in-process LB host is a fresh Debian VM: Debian's directories and no others, HAProxy
// and Nginx running, keepalived not (docs/contracts.md §D.4). The demo pushes the default
// files to it, so what would break on a stock VM breaks here too.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushConfigFiles } from '../../activities/ssh/push';
import { SshSession, type SshTarget } from '../../activities/ssh/session';
import { sshTargetFor } from '../../activities/ssh/target';
import { lbConfigFiles } from '../../core/render/lb-files';
import { renderNginxConf } from '../../core/render/nginx';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { AuditLog } from '../../sandbox/audit';
import { DEBIAN_LB_DIRS } from '../../sandbox/lbhost/debian-layout';
import { InProcessLbHost } from '../../sandbox/lbhost/host';
import { ed25519KeyPair, secretsWith, TEST_KEY_REF } from './helpers';

const fixture = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
const client = ed25519KeyPair();
const secrets = secretsWith({ [TEST_KEY_REF]: client.privateKey });

const roots: string[] = [];
const hosts: InProcessLbHost[] = [];

/** A fresh in-process LB host, and a spec whose srv-a points at it. */
async function freshHost(): Promise<{ host: InProcessLbHost; spec: ClusterSpec; target: SshTarget; onHost: (p: string) => string }> {
  const root = mkdtempSync(join(tmpdir(), 'ak8s-lbdebian-'));
  roots.push(root);
  // An LB VM with its public NIC (eth1), which keepalived.conf's public network names.
  const host = await InProcessLbHost.start({ name: 'srv-a', authorizedKey: client.publicKey, rootDir: root, audit: new AuditLog(), interfaces: ['lo', 'eth0', 'eth1'] });
  hosts.push(host);
  const spec: ClusterSpec = {
    ...fixture,
    servers: fixture.servers.map((s) =>
      s.name === 'srv-a' ? { ...s, lbHealthUrl: host.healthUrl, ssh: { ...s.ssh, address: host.address, hostKey: host.hostKeyLine, privateKey: TEST_KEY_REF } } : s,
    ),
  };
  return { host, spec, target: sshTargetFor(spec.servers[0]), onHost: (p) => join(root, p) };
}

async function run(target: SshTarget, argv: string[]) {
  const session = await SshSession.open(target, secrets);
  try {
    return await session.run(argv);
  } finally {
    session.close();
  }
}

afterAll(async () => {
  for (const h of hosts) await h.stop();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('the in-process LB host starts as a fresh Debian VM', () => {
  let fresh: Awaited<ReturnType<typeof freshHost>>;
  beforeAll(async () => {
    fresh = await freshHost();
  });

  it("has Debian's package directories, and no /var/cache/nginx", () => {
    for (const dir of DEBIAN_LB_DIRS) expect({ dir: dir.path, isDir: statSync(fresh.onHost(dir.path), { throwIfNoEntry: false })?.isDirectory() }).toEqual({ dir: dir.path, isDir: true });
    expect(existsSync(fresh.onHost('/var/cache/nginx'))).toBe(false);
  });

  it('runs HAProxy and Nginx, but not keepalived, whose unit needs a keepalived.conf Debian does not ship', async () => {
    expect(fresh.host.unit('haproxy')?.active).toBe(true);
    expect(fresh.host.unit('nginx')?.active).toBe(true);
    expect(fresh.host.unit('keepalived')?.active).toBe(false);
    expect((await run(fresh.target, ['systemctl', 'is-active', 'keepalived'])).stdout).toBe('inactive\n');
  });

  it('fails a plain reload of keepalived, as systemd does for an inactive unit', async () => {
    const result = await run(fresh.target, ['systemctl', 'reload', 'keepalived']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('keepalived.service is not active, cannot reload.');
  });

  it('refuses a cache under /var/cache/nginx in nginx -t, with the words nginx says on Debian', async () => {
    const session = await SshSession.open(fresh.target, secrets);
    try {
      const elsewhere = renderNginxConf(fresh.spec, 'srv-a', { paths: { cacheDir: '/var/cache/nginx/autok8s' } });
      expect((await session.run(['dd', 'of=/tmp-nginx.conf', 'status=none'], { stdin: elsewhere })).code).toBe(0);
      const refused = await session.run(['nginx', '-t', '-c', '/tmp-nginx.conf']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('nginx: [emerg] mkdir() "/var/cache/nginx/autok8s" failed (2: No such file or directory)');
      expect(refused.stderr).toContain('test failed');
      expect((await session.run(['dd', 'of=/tmp-nginx.conf', 'status=none'], { stdin: renderNginxConf(fresh.spec, 'srv-a') })).code).toBe(0);
      expect((await session.run(['nginx', '-t', '-c', '/tmp-nginx.conf'])).code).toBe(0);
    } finally {
      session.close();
    }
  });
});

describe('the default files pushed to a fresh in-process Debian LB host', () => {
  it('are validated and installed, and every service runs them, keepalived started by the push', async () => {
    const { host, spec, target, onHost } = await freshHost();
    const files = lbConfigFiles(spec, 'srv-a', { gateways: spec.servers.map(() => '198.51.100.254') });
    const results = await pushConfigFiles(target, files, { secrets });
    expect(results.map((r) => [r.changed, r.reloaded])).toEqual([
      [true, true],
      [true, true],
      [true, true],
    ]);
    for (const f of files) {
      expect(readFileSync(onHost(f.path), 'utf8')).toBe(f.content);
      expect(host.unit(f.program)).toMatchObject({ active: true, reloads: 1 });
    }
  });

  it('stops keepalived again when the first keepalived.conf is rolled back (it did not run without one)', async () => {
    const { host, spec, target, onHost } = await freshHost();
    const keepalived = lbConfigFiles(spec, 'srv-a', { gateways: spec.servers.map(() => '198.51.100.254') }).find((f) => f.program === 'keepalived')!;
    const failing = { ...keepalived, probe: { kind: 'command' as const, argv: ['false'], attempts: 1 } };
    const err = await pushConfigFiles(target, [failing], { secrets }).then(
      () => undefined,
      (e: unknown) => e as { type?: string; details?: unknown[] },
    );
    expect(err).toMatchObject({ type: 'ProbeFailed', details: [expect.objectContaining({ rolledBack: true, rollbackReload: 'ok' })] });
    expect(existsSync(onHost(keepalived.path))).toBe(false);
    expect(host.unit('keepalived')?.active).toBe(false);
  });
});
