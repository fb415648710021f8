// The real programs of an LB VM, started inside a lab host's network namespace with their
// own files in the host's directory: sshd (own host key and config, `-D -e`, port 22),
// HAProxy (daemon mode, reloaded with -sf as its init scripts do), Nginx and keepalived.
// Processes are the lab's: `NetnsLab.teardown()` ends them with the namespaces.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { findProgram, type LabHost, type NetnsLab } from './lab';

const run = promisify(execFile);

export interface SshdHandle {
  host: LabHost;
  port: number;
  /** The host key as an OpenSSH public key line: what the spec pins. */
  hostKeyLine: string;
  process: ChildProcess;
}

/** Real OpenSSH sshd on <host ip>:22 accepting `authorizedKeys` for root. */
export async function startSshd(lab: NetnsLab, host: LabHost, authorizedKeys: string[]): Promise<SshdHandle> {
  const sshd = findProgram('sshd');
  if (!sshd) throw new Error('sshd is not installed (apt-get install -y openssh-server)');
  const dir = join(host.dir, 'sshd');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  // sshd refuses to start without its privilege-separation directory.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${host.name}-host`, '-f', hostKey]);
  const hostKeyLine = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  await writeFile(join(dir, 'authorized_keys'), authorizedKeys.map((k) => k.trim()).join('\n') + '\n', { mode: 0o600 });
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      'Port 22',
      `ListenAddress ${host.ip}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The lab directory is root's; StrictModes would also want the whole path checked for a user's home.
      'StrictModes no',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const test = await lab.exec(host, [sshd, '-t', '-f', config]);
  if (test.code !== 0) throw new Error(`sshd -t refused the lab config: ${test.stderr}`);
  const child = lab.spawn(host, [sshd, '-D', '-e', '-f', config], 'sshd');
  await waitForPort(host.ip, 22, 10_000, child);
  return { host, port: 22, hostKeyLine, process: child };
}

export interface HaproxyHandle {
  configPath: string;
  pidFile: string;
  /** Reload argv for a push: starts a new HAProxy on the file and lets the old one finish (-sf); fails when the new one cannot start. */
  reloadArgv: string[];
}

/**
 * The reload an init script does: a new daemon on the file, `-sf` asking the previous one
 * to finish once the new one runs. Synchronous: exits non-zero when the new process cannot
 * start (bad config, a port it cannot bind), and then the old one keeps serving.
 */
export function haproxyReloadArgv(configPath: string, pidFile: string): string[] {
  return ['/bin/sh', '-c', 'old=$(cat "$2" 2>/dev/null); exec haproxy -D -f "$1" -p "$2" ${old:+-sf $old}', 'haproxy-reload', configPath, pidFile];
}

/** Starts HAProxy (daemon mode) on an existing config file inside the host's namespace. */
export async function startHaproxy(lab: NetnsLab, host: LabHost, configPath: string): Promise<HaproxyHandle> {
  const pidFile = join(host.dir, 'haproxy.pid');
  const reloadArgv = haproxyReloadArgv(configPath, pidFile);
  const started = await lab.exec(host, reloadArgv);
  if (started.code !== 0) throw new Error(`haproxy did not start in ${host.ns}: ${started.stderr || started.stdout}`);
  return { configPath, pidFile, reloadArgv };
}

/** Runs Nginx in the foreground of the host's namespace with a config rendered for a scratch prefix. */
export function startNginx(lab: NetnsLab, host: LabHost, configPath: string): ChildProcess {
  return lab.spawn(host, ['nginx', '-e', join(host.dir, 'nginx-startup.log'), '-g', 'daemon off;', '-c', configPath], 'nginx');
}

/**
 * keepalived (VRRP only, foreground, logging to its log file) with pid files of its own, since
 * all namespaces share one file system; for the same reason its TMPDIR is the host's directory,
 * where SIGUSR2 makes it write keepalived.stats. `env` and `ip netns exec` both exec, so the
 * child is keepalived itself and signals reach it.
 */
export function startKeepalived(lab: NetnsLab, host: LabHost, configPath: string): ChildProcess {
  return lab.spawn(
    host,
    ['env', `TMPDIR=${host.dir}`, 'keepalived', '--dont-fork', '--log-console', '--log-detail', '--vrrp', '-f', configPath, '-p', join(host.dir, 'keepalived.pid'), '-r', join(host.dir, 'keepalived-vrrp.pid')],
    'keepalived',
  );
}

/** Resolves once <ip>:<port> accepts a TCP connection (from the root namespace, over the lab bridge). */
export async function waitForPort(ip: string, port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`the process serving ${ip}:${port} exited with status ${child.exitCode}`);
    if (await canConnect(ip, port)) return;
    if (Date.now() > deadline) throw new Error(`${ip}:${port} did not accept connections within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function canConnect(ip: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: ip, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
