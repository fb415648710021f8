// keepalived with the rendered config on N lab hosts: who holds the API VIP, stopping the
// MASTER, and what notify_master ran. The notify command is a recording script standing
// in for `autok8s failover` (the lead's end-to-end test swaps in the real CLI through
// `notifyCommand`).
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LbPublicNetwork } from '../../core/public-path/lb-network';
import { KEEPALIVED_DEFAULTS, renderKeepalivedConf, type KeepalivedRenderOptions } from '../../core/render/keepalived';
import { LB_PORTS } from '../../core/render/lb-topology';
import type { ClusterSpec } from '../../core/spec/schema';
import { startKeepalived } from './daemons';
import { parseKeepalivedStats, type VrrpInstanceStats } from './keepalived-stats';
import type { LabHost, NetnsLab } from './lab';

export interface VrrpMember {
  server: string;
  host: LabHost;
  configPath: string;
  process: ChildProcess | undefined;
  /** How many times its keepalived was started (each start logs one "Startup complete"). */
  starts: number;
}

export class KeepalivedGroup {
  private constructor(
    private readonly lab: NetnsLab,
    readonly vip: string,
    readonly members: VrrpMember[],
    /** Where the recording notify script appends one line per call ("<unix time> <args>"). */
    readonly notifyLog: string,
  ) {}

  /**
   * Renders keepalived.conf for every server (its LB host given by `hostsByServer`) and
   * starts keepalived in each namespace. `notifyCommand` defaults to a script that records its
   * arguments in `notifyLog`.
   */
  static async start(
    lab: NetnsLab,
    spec: ClusterSpec,
    hostsByServer: Record<string, LabHost>,
    opts: KeepalivedRenderOptions = {},
    /** Each server's public network (lbPublicNetwork), rendered into its instance; none: the vRack VIP only. */
    publicNetworks: Record<string, LbPublicNetwork> = {},
  ): Promise<KeepalivedGroup> {
    const binDir = join(lab.dir, 'bin');
    await mkdir(binDir, { recursive: true, mode: 0o755 });
    const notifyLog = join(lab.dir, 'notify.log');
    const recorder = join(binDir, 'autok8s-notify');
    // keepalived's script security wants a root-owned script that no one else can write, in root-owned directories.
    // Written only when used, so it never overwrites a notify command of the caller's in the same directory.
    if (opts.notifyCommand === undefined) {
      await writeFile(recorder, `#!/bin/sh\necho "$(date +%s.%N) $*" >> ${notifyLog}\n`, { mode: 0o755 });
      await chmod(recorder, 0o755);
    }
    const members: VrrpMember[] = [];
    for (const server of spec.servers) {
      const host = hostsByServer[server.name];
      if (!host) throw new Error(`no lab host given for the LB of ${server.name}`);
      const configPath = join(host.dir, 'keepalived.conf');
      await writeFile(configPath, renderKeepalivedConf(spec, server.name, { notifyCommand: recorder, ...opts, publicNetwork: publicNetworks[server.name] ?? opts.publicNetwork }));
      members.push({ server: server.name, host, configPath, process: undefined, starts: 0 });
    }
    const group = new KeepalivedGroup(lab, spec.network.apiVip, members, notifyLog);
    // The instance tracks HAProxy's health frontend (the rendered vrrp_script): without one
    // listening, every LB would sit in FAULT. Each LB namespace runs a real HAProxy with just
    // that frontend (the lab's other HAProxy, if any, serves the public side).
    for (const m of members) await group.startHaproxy(m.server);
    // Started in priority order (the spec's order), each once it is listening as BACKUP, as LB
    // VMs that boot a moment apart would. Launched all at once, a loaded machine can start the
    // highest priority last, and a lower one wins the first election before yielding to it:
    // real keepalived behaviour (the split brain a reconcile repairs), but not what a test of
    // the first election means to observe.
    for (const m of members) {
      const logged = (await readFile(join(m.host.dir, 'keepalived.log'), 'utf8').catch(() => '')).length;
      group.launch(m);
      await group.waitForLog(m, logged, /Entering BACKUP STATE/, 10_000);
    }
    return group;
  }

  /** Waits until a member's keepalived.log, past its first `from` characters (earlier starts), matches `line`. */
  private async waitForLog(member: VrrpMember, from: number, line: RegExp, timeoutMs: number): Promise<void> {
    const log = join(member.host.dir, 'keepalived.log');
    const deadline = Date.now() + timeoutMs;
    while (!line.test((await readFile(log, 'utf8').catch(() => '')).slice(from))) {
      if (Date.now() > deadline) throw new Error(`${member.server}'s keepalived logged no ${line} within ${timeoutMs} ms; see ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Servers whose LB has the VIP on its interface now. */
  async holders(): Promise<string[]> {
    const out: string[] = [];
    for (const m of this.members) if ((await this.lab.addresses(m.host)).includes(this.vip)) out.push(m.server);
    return out;
  }

  /** Waits until exactly one server holds the VIP (and, if given, not one of `notAmong`). */
  async waitForSingleHolder(timeoutMs: number, notAmong: string[] = []): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last: string[] = [];
    while (Date.now() <= deadline) {
      last = await this.holders();
      if (last.length === 1 && !notAmong.includes(last[0])) return last[0];
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no single VIP holder within ${timeoutMs} ms (holding now: ${last.join(', ') || 'none'}); see keepalived.log in ${this.lab.dir}/<host>/`);
  }

  /** Stops one server's keepalived (SIGTERM: it releases the VIP and sends a priority-0 advert; SIGKILL: it just vanishes). */
  async stop(server: string, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    const member = this.members.find((m) => m.server === server);
    const child = member?.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    if ((await Promise.race([exited, timer])) === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  }

  /**
   * A running member's keepalived counters since it (re)started: SIGUSR2 makes it write
   * keepalived.stats into its TMPDIR, the host's directory (startKeepalived sets it).
   */
  async stats(server: string, timeoutMs = 10_000): Promise<VrrpInstanceStats> {
    const member = this.members.find((m) => m.server === server);
    const child = member?.process;
    if (!member || !child || child.exitCode !== null || child.signalCode !== null) throw new Error(`${server}'s keepalived is not running`);
    const deadline = Date.now() + timeoutMs;
    // Before its start-up completes, keepalived may not handle SIGUSR2 yet, and the signal's default action ends it.
    const log = join(member.host.dir, 'keepalived.log');
    while (((await readFile(log, 'utf8').catch(() => '')).match(/Startup complete/g) ?? []).length < member.starts) {
      if (Date.now() > deadline) throw new Error(`${server}'s keepalived did not complete its start-up within ${timeoutMs} ms; see ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const file = join(member.host.dir, 'keepalived.stats');
    await rm(file, { force: true });
    child.kill('SIGUSR2');
    for (;;) {
      const stats = parseKeepalivedStats(await readFile(file, 'utf8').catch(() => ''));
      const ours = stats?.find((s) => s.instance === KEEPALIVED_DEFAULTS.instanceName);
      if (ours) return ours;
      if (Date.now() > deadline) throw new Error(`${server}'s keepalived wrote no complete ${file} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Polls a member's counters until `done` holds for them; returns them. */
  async statsUntil(server: string, what: string, done: (stats: VrrpInstanceStats) => boolean, timeoutMs = 30_000): Promise<VrrpInstanceStats> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const stats = await this.stats(server);
      if (done(stats)) return stats;
      if (Date.now() > deadline) throw new Error(`${server}'s keepalived: not ${what} within ${timeoutMs} ms (last: ${JSON.stringify(stats)})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private launch(member: VrrpMember): void {
    member.process = startKeepalived(this.lab, member.host, member.configPath);
    member.starts += 1;
  }

  /** Starts a stopped member's keepalived again (same config). */
  restart(server: string): void {
    const member = this.members.find((m) => m.server === server);
    if (!member) throw new Error(`${server} is not a member of this keepalived group`);
    const running = member.process && member.process.exitCode === null && member.process.signalCode === null;
    if (!running) this.launch(member);
  }

  /** Starts (or restarts) the HAProxy health frontend in a member's namespace: the check keepalived tracks. */
  async startHaproxy(server: string): Promise<void> {
    const member = this.memberOf(server);
    const config = join(member.host.dir, 'haproxy-health.cfg');
    await writeFile(config, healthFrontendConfig(), { mode: 0o644 });
    const started = await this.lab.exec(member.host, ['haproxy', '-D', '-f', config, '-p', join(member.host.dir, 'haproxy-health.pid')]);
    if (started.code !== 0) throw new Error(`haproxy did not start in ${member.host.ns}: ${started.stderr || started.stdout}`);
  }

  /** Kills a member's HAProxy health frontend: its keepalived's check fails from the next interval. */
  async stopHaproxy(server: string): Promise<void> {
    const member = this.memberOf(server);
    const pid = Number((await readFile(join(member.host.dir, 'haproxy-health.pid'), 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  private memberOf(server: string): VrrpMember {
    const member = this.members.find((m) => m.server === server);
    if (!member) throw new Error(`${server} is not a member of this keepalived group`);
    return member;
  }

  /** Lines the notify script recorded, oldest first, without their timestamps. */
  async notifications(): Promise<string[]> {
    const text = await readFile(this.notifyLog, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^\S+ /, ''));
  }

  async stopAll(): Promise<void> {
    for (const m of this.members) await this.stop(m.server);
  }
}

/** HAProxy with only the health frontend of the rendered haproxy.cfg (monitor-uri on :8404). */
export function healthFrontendConfig(): string {
  return [
    '# The health frontend of the rendered haproxy.cfg alone: what keepalived\'s vrrp_script dials.',
    'global',
    '  maxconn 64',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 5s',
    '  timeout server 5s',
    'frontend health',
    `  bind *:${LB_PORTS.haproxyHealth}`,
    '  monitor-uri /healthz',
    '',
  ].join('\n');
}
