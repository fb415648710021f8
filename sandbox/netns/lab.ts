// Real LB hosts on one machine (root only): Linux network namespaces joined by veth pairs
// to a private bridge, each namespace with its own `eth0`, in a test-only /24 carved out of
// 10.231.0.0/16. The root namespace gets .1 on the bridge so tests can reach the hosts;
// nothing routes further (no default route in the namespaces, no forwarding, no NAT).
//
// Everything a lab creates is named `ak8s-<id>-...` and recorded in /run/ak8s-netns/<id>/,
// so `teardown()` (and `sweepStaleLabs()` after a crashed run) can remove exactly that:
// the processes inside its namespaces, the namespaces, the bridge, its files.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, openSync, closeSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const LAB_ROOT = '/run/ak8s-netns';
const LAB_PREFIX = 'ak8s-';

export interface LabHost {
  /** Name given by the test ("lb-a", "cp-a"). */
  name: string;
  /** Network namespace name. */
  ns: string;
  ip: string;
  /** Interface inside the namespace (what the spec's network.interface names). */
  iface: string;
  /** Scratch directory of this host (configs, keys, pid files, logs); mode 0755, root-owned. */
  dir: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface LabRecord {
  id: string;
  ownerPid: number;
  subnetOctet: number;
  bridge: string;
  namespaces: string[];
}

/** Why real-host tests cannot run here, or undefined when they can. */
export function netnsUnavailableReason(programs: string[] = ['ip', 'sshd', 'ssh-keygen', 'haproxy', 'nginx', 'keepalived']): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root; run the suite as root to include the real LB hosts';
  const missing = programs.filter((p) => !findProgram(p));
  if (missing.length > 0) return `missing ${missing.join(', ')}; install with: apt-get install -y openssh-server haproxy nginx-light keepalived iproute2`;
  return undefined;
}

export function findProgram(name: string): string | undefined {
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

export class NetnsLab {
  readonly hosts = new Map<string, LabHost>();
  private readonly children = new Set<ChildProcess>();
  private torndown = false;
  private readonly exitHook = () => this.teardownSync();

  private constructor(private readonly record: LabRecord, readonly dir: string) {}

  get id(): string {
    return this.record.id;
  }

  get bridge(): string {
    return this.record.bridge;
  }

  /** e.g. 10.231.37.0/24 */
  get cidr(): string {
    return `10.231.${this.record.subnetOctet}.0/24`;
  }

  /** Address `.n` of this lab's /24. */
  ip(n: number): string {
    return `10.231.${this.record.subnetOctet}.${n}`;
  }

  /** The root namespace's own address on the bridge (.1): where tests connect from. */
  get gatewayIp(): string {
    return this.ip(1);
  }

  static async create(): Promise<NetnsLab> {
    const reason = netnsUnavailableReason(['ip']);
    if (reason) throw new Error(reason);
    await sweepStaleLabs();
    await mkdir(LAB_ROOT, { recursive: true, mode: 0o755 });
    const id = randomBytes(2).toString('hex');
    const subnetOctet = claimSubnet(id);
    const dir = join(LAB_ROOT, id);
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    const record: LabRecord = { id, ownerPid: process.pid, subnetOctet, bridge: `${LAB_PREFIX}${id}-br`, namespaces: [] };
    const lab = new NetnsLab(record, dir);
    await lab.save();
    process.once('exit', lab.exitHook);
    try {
      await ip('link', 'add', record.bridge, 'type', 'bridge');
      await ip('addr', 'add', `${lab.gatewayIp}/24`, 'dev', record.bridge);
      await ip('link', 'set', record.bridge, 'up');
    } catch (err) {
      await lab.teardown();
      throw err;
    }
    return lab;
  }

  /** A namespace with `iface` (default eth0) at `ip`/24 on the lab bridge, and loopback up. */
  async addHost(name: string, hostIp: string, iface = 'eth0'): Promise<LabHost> {
    if (!/^[a-z0-9-]{1,20}$/.test(name)) throw new Error(`lab host name ${name} must be 1-20 of a-z, 0-9, -`);
    if (this.hosts.has(name)) throw new Error(`lab host ${name} exists already`);
    const index = this.record.namespaces.length;
    const ns = `${LAB_PREFIX}${this.id}-${name}`;
    const hostSide = `${LAB_PREFIX}${this.id}-v${index}`;
    const peer = `${LAB_PREFIX}${this.id}-p${index}`;
    this.record.namespaces.push(ns);
    await this.save();
    await ip('netns', 'add', ns);
    await ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', peer);
    await ip('link', 'set', hostSide, 'master', this.bridge);
    await ip('link', 'set', hostSide, 'up');
    await ip('link', 'set', peer, 'netns', ns);
    await ip('-n', ns, 'link', 'set', peer, 'name', iface);
    await ip('-n', ns, 'addr', 'add', `${hostIp}/24`, 'dev', iface);
    await ip('-n', ns, 'link', 'set', iface, 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    const dir = join(this.dir, name);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const host: LabHost = { name, ns, ip: hostIp, iface, dir };
    this.hosts.set(name, host);
    return host;
  }

  /**
   * A namespace of the lab joined to nothing (loopback up): no veth to the lab bridge, so no
   * path to the root namespace. The caller wires it to other lab namespaces; teardown removes it.
   */
  async addIsolatedNamespace(name: string): Promise<string> {
    if (!/^[a-z0-9-]{1,20}$/.test(name)) throw new Error(`lab namespace name ${name} must be 1-20 of a-z, 0-9, -`);
    const ns = `${LAB_PREFIX}${this.id}-${name}`;
    if (this.record.namespaces.includes(ns)) throw new Error(`lab namespace ${ns} exists already`);
    this.record.namespaces.push(ns);
    await this.save();
    await ip('netns', 'add', ns);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    return ns;
  }

  host(name: string): LabHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no lab host ${name} (have ${[...this.hosts.keys()].join(', ')})`);
    return host;
  }

  /** Starts a long-running program inside a host's namespace; its output goes to `<dir>/<logName>.log`. */
  spawn(host: LabHost, argv: string[], logName: string): ChildProcess {
    const logFile = join(host.dir, `${logName}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn('ip', ['netns', 'exec', host.ns, ...argv], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Runs a program to completion inside a host's namespace. */
  async exec(host: LabHost, argv: string[], timeoutMs = 30_000): Promise<ExecResult> {
    try {
      const { stdout, stderr } = await run('ip', ['netns', 'exec', host.ns, ...argv], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
    }
  }

  /** IPv4 addresses on the host's interface (e.g. to see who holds a VIP). */
  async addresses(host: LabHost): Promise<string[]> {
    const { stdout } = await run('ip', ['-n', host.ns, '-4', '-o', 'addr', 'show', 'dev', host.iface]);
    return [...stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]);
  }

  /** Kills every process in the lab's namespaces, deletes them, the bridge and the files. Safe to call twice. */
  async teardown(): Promise<void> {
    if (this.torndown) return;
    this.torndown = true;
    process.removeListener('exit', this.exitHook);
    await removeLab(this.record);
    this.children.clear();
  }

  private teardownSync(): void {
    if (this.torndown) return;
    this.torndown = true;
    removeLabSync(this.record);
  }

  private async save(): Promise<void> {
    await writeFile(join(this.dir, 'lab.json'), JSON.stringify(this.record));
  }
}

/** Removes labs whose owning process is gone (a crashed or killed test run). */
export async function sweepStaleLabs(): Promise<string[]> {
  if (!existsSync(LAB_ROOT)) return [];
  const removed: string[] = [];
  for (const entry of readdirSync(LAB_ROOT)) {
    const file = join(LAB_ROOT, entry, 'lab.json');
    if (!existsSync(file)) continue;
    let record: LabRecord;
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as LabRecord;
    } catch {
      continue;
    }
    if (isAlive(record.ownerPid)) continue;
    await removeLab(record);
    removed.push(record.id);
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims an unused 10.231.N.0/24 with an exclusive lock file, so two labs never share a subnet. */
function claimSubnet(id: string): number {
  const inUse = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  for (let attempt = 0; attempt < 50; attempt++) {
    const octet = 2 + Math.floor(Math.random() * 250);
    if (inUse.includes(`10.231.${octet}.`)) continue;
    try {
      closeSync(openSync(join(LAB_ROOT, `subnet-${octet}`), 'wx'));
      return octet;
    } catch {
      // taken by another lab
    }
  }
  throw new Error(`no free 10.231.N.0/24 for lab ${id}`);
}

async function removeLab(record: LabRecord): Promise<void> {
  await killNamespaceProcesses(record.namespaces);
  for (const ns of record.namespaces) await ip('netns', 'del', ns).catch(() => undefined);
  await ip('link', 'del', record.bridge).catch(() => undefined);
  // A process that was ending as the kill loop looked (a notify run's tsx writing its cache) can
  // still add a file while the tree is removed: rm retries ENOTEMPTY itself.
  await rm(join(LAB_ROOT, record.id), { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  await rm(join(LAB_ROOT, `subnet-${record.subnetOctet}`), { force: true });
}

function removeLabSync(record: LabRecord): void {
  for (const ns of record.namespaces) {
    for (const pid of namespacePidsSync(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const ns of record.namespaces) tryRun(['netns', 'del', ns]);
  tryRun(['link', 'del', record.bridge]);
  rmSync(join(LAB_ROOT, record.id), { recursive: true, force: true });
  rmSync(join(LAB_ROOT, `subnet-${record.subnetOctet}`), { force: true });
}

/** SIGTERM to every process in the namespaces (all started by the lab), SIGKILL to what is left after 3 s. */
async function killNamespaceProcesses(namespaces: string[]): Promise<void> {
  const pids = () => namespaces.flatMap(namespacePidsSync);
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of pids()) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  signal('SIGTERM');
  for (let i = 0; i < 30 && pids().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  signal('SIGKILL');
  for (let i = 0; i < 20 && pids().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
}

function namespacePidsSync(ns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}

function tryRun(args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: 'ignore' });
  } catch {
    // best effort at exit
  }
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args, { timeout: 10_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}
