// The vmac public path on the namespace tier: a FailoverLab (one LB namespace per sandbox
// server, keepalived with the rendered config) given a public side with real packets
// (sandbox/netns/public-uplink.ts), HAProxy serving the failover IPs in every LB namespace, and
// the internet's client in the uplink (sandbox/netns/uplink-client.js).
//
// The lab spec's publicPath.probeUrl points at a loopback relay in this process's namespace
// that passes each connection to the client's Unix socket: failoverIp's verify-serving step
// then asks through the uplink, over the same packets a test's request takes.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { lbPublicNetwork, type LbPublicNetwork } from '../../core/public-path/lb-network';
import { publicPathOf } from '../../core/public-path/modes';
import { SERVED_BY_HEADER } from '../../core/public-path/probe-url';
import type { ClusterSpec } from '../../core/spec/schema';
import type { AuditLog } from '../audit';
import type { OvhSimulator } from '../ovh/simulator';
import type { ProxmoxSimulator } from '../proxmox/simulator';
import { startHaproxy } from './daemons';
import { FailoverLab } from './failover-lab';
import { PublicUplink } from './public-uplink';
import type { KeepalivedGroup } from './vrrp';

const CLIENT_SCRIPT = join(__dirname, 'uplink-client.js');

export interface PublicLabSandbox {
  specFile: string;
  audit: AuditLog;
  ovh: Pick<OvhSimulator, 'routing' | 'macFor'>;
  proxmox: Map<string, Pick<ProxmoxSimulator, 'nicLink'>>;
}

/** One answer of the public side: the HTTP status and who served it, or why nothing did. */
export type PublicAnswer = { status: number; servedBy: string | undefined; body: string } | { error: string };

/** Pure: the HAProxy config of one LB: a frontend on each failover IP that answers naming its server. */
export function publicHaproxyConfig(server: string, ips: string[]): string {
  if (!/^[a-z0-9-]+$/.test(server)) throw new Error(`server name ${server} must be a DNS label`);
  return [
    `# The LB of ${server} in the namespace lab (sandbox/netns/public-lab.ts). In production the :80`,
    "# frontend passes TCP to the workers' ingress; here it answers itself, naming the LB, so a test",
    '# can tell which LB the failover IP reached.',
    'global',
    '  maxconn 256',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 5s',
    '  timeout server 5s',
    'frontend public',
    // ip_nonlocal_bind lets a BACKUP bind the address keepalived has not given it (yet).
    ...ips.map((ip) => `  bind ${ip}:80`),
    `  http-request return status 200 content-type text/plain string "served by ${server}" hdr ${SERVED_BY_HEADER} ${server}`,
    '',
  ].join('\n');
}

/** A loopback TCP port whose connections are passed to a Unix socket (set once it exists). */
async function startRelay(): Promise<{ port: number; setTarget(path: string): void; close(): Promise<void> }> {
  let target: string | undefined;
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    if (!target) {
      socket.destroy();
      return;
    }
    const upstream = connect(target);
    socket.pipe(upstream).pipe(socket);
    const end = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', end);
    upstream.on('error', end);
    socket.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    setTarget: (path) => (target = path),
    close: () => {
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export class PublicPathLab {
  private constructor(
    readonly failover: FailoverLab,
    readonly uplink: PublicUplink,
    private readonly relay: { close(): Promise<void> },
    /** Loopback port of the relay to the uplink's client: GET /<ip>/<path>. */
    readonly port: number,
    private readonly gateways: Record<string, string>,
  ) {}

  /**
   * The lab for a running sandbox. `gateways`: each server's gateway as OVH gives it
   * (specifications/network routing.ipv4.gateway, read by the caller through the OVH adapter).
   */
  static async create(box: PublicLabSandbox, gateways: Record<string, string>): Promise<PublicPathLab> {
    const relay = await startRelay();
    let fl: FailoverLab | undefined;
    let uplink: PublicUplink | undefined;
    try {
      fl = await FailoverLab.create(box.specFile, { probeUrl: `http://127.0.0.1:${relay.port}/{ip}/` });
      const spec = fl.spec;
      const path = publicPathOf(spec);
      if (path.mode !== 'vmac') throw new Error(`the namespace public path is built for publicPath.mode vmac, not ${path.mode}`);
      uplink = await PublicUplink.create(fl.lab, box, {
        failoverIps: spec.failoverIps,
        bridge: path.bridge,
        lbInterface: path.interface,
        servers: spec.servers.map((s) => {
          const gateway = gateways[s.name];
          if (!gateway) throw new Error(`no OVH gateway given for ${s.name}`);
          return { name: s.name, ovhService: s.ovhService, lbVmid: s.vms.lb.vmid, lb: fl!.hosts[s.name], gateway };
        }),
      });
      const socketPath = join(uplink.host.dir, 'client.sock');
      const client = fl.lab.spawn(uplink.host, [process.execPath, CLIENT_SCRIPT, socketPath, spec.failoverIps.join(',')], 'uplink-client');
      const deadline = Date.now() + 15_000;
      while (!existsSync(socketPath)) {
        if (client.exitCode !== null || Date.now() > deadline) throw new Error(`the uplink client did not listen on ${socketPath}; see ${join(uplink.host.dir, 'uplink-client.log')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      relay.setTarget(socketPath);
      for (const s of spec.servers) {
        const host = fl.hosts[s.name];
        const sysctl = await fl.lab.exec(host, ['sysctl', '-q', '-w', 'net.ipv4.ip_nonlocal_bind=1']);
        if (sysctl.code !== 0) throw new Error(`sysctl in ${host.ns}: ${sysctl.stderr}`);
        const config = join(host.dir, 'haproxy-public.cfg');
        await writeFile(config, publicHaproxyConfig(s.name, spec.failoverIps), { mode: 0o644 });
        await startHaproxy(fl.lab, host, config);
      }
      return new PublicPathLab(fl, uplink, relay, relay.port, gateways);
    } catch (err) {
      uplink?.stop();
      await fl?.teardown();
      await relay.close();
      throw err;
    }
  }

  get spec(): ClusterSpec {
    return this.failover.spec;
  }

  /** Each server's public network as keepalived holds it while MASTER (lbPublicNetwork with OVH's gateway). */
  publicNetworks(): Record<string, LbPublicNetwork> {
    return Object.fromEntries(this.spec.servers.map((s, i) => [s.name, lbPublicNetwork(this.spec, i, { gateway: this.gateways[s.name] })]));
  }

  /** keepalived on every LB, rendered with its public network; `notifyCommand` runs for master, backup, fault and stop. */
  startKeepalived(notifyCommand: string): Promise<KeepalivedGroup> {
    return this.failover.startKeepalived(notifyCommand, {}, this.publicNetworks());
  }

  /** GET http://<ip>/<path> from the internet's client in the uplink, bounded by `timeoutMs`. */
  async ask(ip: string, path = '/', timeoutMs = 2_000): Promise<PublicAnswer> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.port}/${ip}${path}`, {
        headers: { 'x-uplink-timeout-ms': String(timeoutMs) },
        signal: AbortSignal.timeout(timeoutMs + 1_000),
      });
      return { status: response.status, servedBy: response.headers.get(SERVED_BY_HEADER) ?? undefined, body: await response.text() };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      return { error: e.cause?.code ?? e.cause?.message ?? e.message };
    }
  }

  /** Asks until `server` answers for `ip`; the last answer otherwise, in the error. */
  async waitServedBy(ip: string, server: string, timeoutMs: number, everyMs = 100, attemptMs = 1_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: PublicAnswer | undefined;
    while (Date.now() <= deadline) {
      last = await this.ask(ip, '/', attemptMs);
      if ('status' in last && last.servedBy === server) return;
      await new Promise((r) => setTimeout(r, everyMs));
    }
    throw new Error(`${ip} was not served by ${server} through the uplink within ${timeoutMs} ms (last: ${JSON.stringify(last)}; uplink: ${JSON.stringify(this.uplink.state)})`);
  }

  async teardown(): Promise<void> {
    this.uplink.stop();
    await this.failover.teardown();
    await this.relay.close();
  }
}
