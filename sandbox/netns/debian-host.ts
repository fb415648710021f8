// An LB host that looks like a new Debian 12 VM, for the real-program tier: a lab host's
// network namespace plus a private mount namespace in which /etc/haproxy, /etc/nginx,
// /etc/keepalived, /etc/default/<pkg>, /etc/ssh, /root, /var and /run are this host's own
// copies, built from Debian's package contents (debian-package-tree.ts), and /usr/local/bin
// holds a recording `autok8s` for keepalived's notify_master. OpenSSH's sshd runs
// inside, so the real push writes the production paths (/etc/nginx/nginx.conf, …), runs the
// real validators and `systemctl`, and nothing it does reaches this machine's /etc or /var.
//
// The one stand-in: there is no systemd in a namespace, so /usr/bin/systemctl is
// systemctl-standin.py, which runs the packages' own unit files (see its header). At start,
// as their postinst does on install, the stand-in starts haproxy and nginx on the stock
// configuration and tries keepalived, whose unit condition (a non-empty keepalived.conf) skips it.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildDebianLbTree } from './debian-package-tree';
import { waitForPort } from './daemons';
import { netnsUnavailableReason, type ExecResult, type LabHost, type NetnsLab } from './lab';

const run = promisify(execFile);

/** Why the Debian LB host tier cannot run here, or undefined. */
export function debianHostUnavailableReason(): string | undefined {
  const missing = netnsUnavailableReason(['ip', 'sshd', 'ssh-keygen', 'haproxy', 'nginx', 'keepalived', 'unshare', 'nsenter', 'dpkg-query', 'start-stop-daemon']);
  if (missing) return missing;
  // The systemctl stand-in's interpreter, named in its first line (/usr/local/bin is the VM's own inside).
  if (!existsSync('/usr/bin/python3')) return "missing /usr/bin/python3 (the systemctl stand-in's interpreter); install with: apt-get install -y python3";
  return undefined;
}

/** Paths inside the namespace that are this host's private copies (mount point → directory of the tree). */
const PRIVATE_MOUNTS = [
  '/etc/haproxy',
  '/etc/nginx',
  '/etc/keepalived',
  '/etc/default/haproxy',
  '/etc/default/nginx',
  '/etc/default/keepalived',
  '/etc/ssh',
  '/root',
  '/usr/local/bin',
  '/var',
];

/** Where the autok8s stand-in on the VM records each call (keepalived's notify_master runs it). */
export const NOTIFY_LOG = '/run/autok8s-calls.log';

export class DebianLbHost {
  private constructor(
    readonly host: LabHost,
    /** The private tree: `<root>/etc/nginx/nginx.conf` is the VM's /etc/nginx/nginx.conf. */
    readonly root: string,
    /** sshd's pid: its namespaces are the VM's. */
    readonly pid: number,
    /** The SSH host key as an OpenSSH public key line: what the spec pins. */
    readonly hostKeyLine: string,
  ) {}

  /** Builds the tree, enters the namespaces, starts sshd on :22 and the services a fresh install runs. */
  static async create(lab: NetnsLab, host: LabHost, authorizedKeys: string[]): Promise<DebianLbHost> {
    const root = join(host.dir, 'debian');
    await buildDebianLbTree(root);
    const keyFile = join(root, 'etc/ssh/ssh_host_ed25519_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${host.name}-host`, '-f', keyFile]);
    const hostKeyLine = readFileSync(`${keyFile}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    // sshd is not under test: key-only root login as cloud-init leaves a VM, no PAM (no logind here).
    writeFileSync(
      join(root, 'etc/ssh/sshd_config'),
      ['Port 22', `HostKey /etc/ssh/ssh_host_ed25519_key`, 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'LogLevel VERBOSE', ''].join('\n'),
    );
    mkdirSync(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(join(root, 'root/.ssh/authorized_keys'), authorizedKeys.map((k) => k.trim()).join('\n') + '\n', { mode: 0o600 });
    chmodSync(join(root, 'root'), 0o700);
    // The LB VM carries the autok8s CLI that keepalived's notify_master calls; here a script
    // that records its arguments. Root's alone to write, as enable_script_security requires.
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true, mode: 0o755 });
    writeFileSync(join(root, 'usr/local/bin/autok8s'), `#!/bin/sh\necho "$*" >> ${NOTIFY_LOG}\n`, { mode: 0o755 });
    chmodSync(join(root, 'usr/local/bin'), 0o755);
    const systemctl = join(root, 'systemctl-standin');
    copyFileSync(join(__dirname, 'systemctl-standin.py'), systemctl);
    chmodSync(systemctl, 0o755);

    // /run last: the tree itself lives under this machine's /run (the lab directory).
    const setup = [
      'set -e',
      ...PRIVATE_MOUNTS.map((p) => `mount --bind "$1${p}" ${p}`),
      'mount --bind "$1/systemctl-standin" /usr/bin/systemctl',
      'mount --bind "$1/run" /run',
      'exec /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config',
    ].join('\n');
    const child = lab.spawn(host, ['unshare', '--mount', '--propagation', 'private', '/bin/sh', '-c', setup, 'debian-vm', root], 'sshd');
    await waitForPort(host.ip, 22, 10_000, child);
    const vm = new DebianLbHost(host, root, child.pid!, hostKeyLine);
    for (const unit of ['haproxy', 'nginx', 'keepalived']) {
      const started = await vm.exec(['systemctl', 'start', unit]);
      if (started.code !== 0) throw new Error(`systemctl start ${unit} failed on the fresh Debian LB host: ${started.stderr}${vm.journal(unit)}`);
    }
    return vm;
  }

  /** Runs a program inside the VM's namespaces (mount and network), as root. */
  async exec(argv: string[], timeoutMs = 30_000): Promise<ExecResult> {
    try {
      const { stdout, stderr } = await run('nsenter', ['-t', String(this.pid), '-m', '-n', '--', ...argv], { timeout: timeoutMs });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
    }
  }

  /** Where a path of the VM lives in the tree (for paths under the private mounts and /run). */
  file(path: string): string {
    return join(this.root, path);
  }

  /** What a unit's processes printed (the stand-in's journal), for failure messages. */
  journal(unit: string): string {
    try {
      return readFileSync(this.file(`/run/systemctl-standin/${unit}.journal`), 'utf8');
    } catch {
      return '';
    }
  }
}
