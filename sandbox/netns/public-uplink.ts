// The public side of the namespace tier, with real packets (issue 16, publicPath.mode vmac):
//
//   [uplink ns] --srvN veth--> [server N ns: bridge vmbr0] --tap veth--> [LB N ns: eth1]
//
// - the uplink namespace stands for OVH's network and the internet's client: it holds the
//   servers' gateway addresses and the client's address on its loopback, and one route per
//   failover IP, onto the link of the server OVH routes the IP to, with the IP's virtual MAC
//   as a permanent neighbour entry (sandbox/netns/uplink-state.ts says when);
// - each server namespace holds its public bridge (Proxmox's vmbr0) and nothing else;
// - each LB namespace gets the public interface (publicPath.interface, eth1) with net1's MAC;
//   keepalived adds the failover IP, the table-100 route and the rules while MASTER.
//
// Every public address (the failover IPs, TEST-NET gateways, the client) exists only in these
// namespaces. None of them is joined to the root namespace (the LB namespaces' eth0 is, on the
// lab's 10.231.N.0/24, but an LB forwards nothing and has no route from it to the public side).
//
// The controller follows the simulators: on every sandbox audit entry (each mutating call and
// task end of OVH and Proxmox is recorded after its state changed) it reads OVH's routing and
// virtual MAC and each LB VM's net1, and applies what differs. Event-driven rather than polled:
// the kernel follows a move or a link change within one `ip` call, so the failover-detection
// bench measures autok8s and keepalived, not a poll interval. Runs are serialized and
// coalesced: entries arriving during a run cause one more run.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AuditLog } from '../audit';
import type { OvhSimulator } from '../ovh/simulator';
import type { ProxmoxSimulator } from '../proxmox/simulator';
import type { LabHost, NetnsLab } from './lab';
import { describeRoute, publicNicState, uplinkCommands, uplinkRoute, type UplinkNames, type UplinkRoute, type UplinkState } from './uplink-state';

const run = promisify(execFile);

/** The internet host that asks for the failover IPs (RFC 5737 TEST-NET-1, only inside the uplink). */
export const UPLINK_CLIENT_IP = '192.0.2.10';
const AUDIT_SERVICE = 'uplink';

export interface UplinkServer {
  name: string;
  ovhService: string;
  /** Its LB VM's id on the server's Proxmox. */
  lbVmid: number;
  /** Its LB VM's namespace. */
  lb: LabHost;
  /** OVH's gateway for the server (specifications/network routing.ipv4.gateway). */
  gateway: string;
}

export interface UplinkDeps {
  ovh: Pick<OvhSimulator, 'routing' | 'macFor'>;
  proxmox: Map<string, Pick<ProxmoxSimulator, 'nicLink'>>;
  audit: AuditLog;
}

export interface UplinkOptions {
  failoverIps: string[];
  servers: UplinkServer[];
  /** publicPath.bridge and publicPath.interface. */
  bridge: string;
  lbInterface: string;
}

export class PublicUplink {
  private applied: UplinkState | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private failure: Error | undefined;
  private unsubscribe: (() => void) | undefined;

  private constructor(
    private readonly lab: NetnsLab,
    private readonly deps: UplinkDeps,
    private readonly opts: UplinkOptions,
    readonly names: UplinkNames,
    /** The uplink namespace as a lab host (for spawn/exec). */
    readonly host: LabHost,
  ) {}

  /** Builds the namespaces and links, applies the simulators' state once, then follows the audit log. */
  static async create(lab: NetnsLab, deps: UplinkDeps, opts: UplinkOptions): Promise<PublicUplink> {
    const uplinkNs = await lab.addIsolatedNamespace('uplink');
    const index = new Map(opts.servers.map((s, i) => [s.name, i]));
    const at = (server: string) => {
      const i = index.get(server);
      if (i === undefined) throw new Error(`${server} is not a server of the uplink`);
      return i;
    };
    const names: UplinkNames = {
      uplinkNs,
      uplinkIf: (s) => `srv${at(s)}`,
      serverNs: (s) => `ak8s-${lab.id}-pub${at(s)}`,
      tapIf: () => 'tap',
      lbNs: (s) => opts.servers[at(s)].lb.ns,
      lbIf: opts.lbInterface,
      clientIp: UPLINK_CLIENT_IP,
    };
    const host: LabHost = { name: 'uplink', ns: uplinkNs, ip: UPLINK_CLIENT_IP, iface: 'lo', dir: join(lab.dir, 'uplink') };
    await mkdir(host.dir, { recursive: true, mode: 0o755 });
    // The uplink answers ARP for every server's gateway (on its loopback, so for every link) and
    // is the client's host; the LB's replies reach it through table 100's default route.
    for (const address of new Set([...opts.servers.map((s) => s.gateway), UPLINK_CLIENT_IP])) await ip('-n', uplinkNs, 'addr', 'add', `${address}/32`, 'dev', 'lo');
    for (const server of opts.servers) {
      const serverNs = await lab.addIsolatedNamespace(`pub${at(server.name)}`);
      if (serverNs !== names.serverNs(server.name)) throw new Error(`unexpected namespace ${serverNs}`);
      // Created inside the namespaces, so no interface of the lab ever exists in the root namespace.
      await ip('-n', uplinkNs, 'link', 'add', names.uplinkIf(server.name), 'type', 'veth', 'peer', 'name', 'uplink', 'netns', serverNs);
      await ip('-n', serverNs, 'link', 'add', 'tap', 'type', 'veth', 'peer', 'name', opts.lbInterface, 'netns', server.lb.ns);
      await ip('-n', serverNs, 'link', 'add', opts.bridge, 'type', 'bridge');
      await ip('-n', serverNs, 'link', 'set', 'uplink', 'master', opts.bridge);
      await ip('-n', serverNs, 'link', 'set', 'tap', 'master', opts.bridge);
      await ip('-n', serverNs, 'link', 'set', opts.bridge, 'up');
      await ip('-n', serverNs, 'link', 'set', 'uplink', 'up');
      await ip('-n', uplinkNs, 'link', 'set', names.uplinkIf(server.name), 'up');
      // The guest's NIC is administratively up; its carrier follows net1's link_down (the tap side).
      await ip('-n', server.lb.ns, 'link', 'set', opts.lbInterface, 'up');
    }
    const uplink = new PublicUplink(lab, deps, opts, names, host);
    await uplink.sync();
    uplink.unsubscribe = deps.audit.subscribe((entry) => {
      if (entry.service !== AUDIT_SERVICE) uplink.kick();
    });
    return uplink;
  }

  /** What the simulators say the kernel should hold now. */
  desired(): UplinkState {
    const services = Object.fromEntries(this.opts.servers.map((s) => [s.ovhService, s.name]));
    const routes: Record<string, UplinkRoute> = {};
    for (const ipAddress of this.opts.failoverIps) {
      let routedTo: string | null = null;
      try {
        routedTo = this.deps.ovh.routing(ipAddress);
      } catch {
        routedTo = null; // not an IP of the account: routed nowhere
      }
      routes[ipAddress] = uplinkRoute({ ip: ipAddress, routedTo, mac: this.deps.ovh.macFor(ipAddress) }, services);
    }
    const nics = Object.fromEntries(
      this.opts.servers.map((s) => [s.name, publicNicState({ server: s.name, nic: this.deps.proxmox.get(s.name)?.nicLink(s.lbVmid, 'net1') }, this.opts.bridge)]),
    );
    return { routes, nics };
  }

  /** The state last applied to the kernel. */
  get state(): UplinkState | undefined {
    return this.applied;
  }

  /** Resolves once no sync is running or pending; throws the last sync's failure, if any. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
    if (this.failure) throw this.failure;
  }

  stop(): void {
    this.unsubscribe?.();
  }

  private kick(): void {
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.running = (async () => {
      do {
        this.dirty = false;
        try {
          await this.sync();
          this.failure = undefined;
        } catch (err) {
          this.failure = err as Error;
        }
      } while (this.dirty);
      this.running = undefined;
    })();
  }

  private async sync(): Promise<void> {
    const next = this.desired();
    const commands = uplinkCommands(this.applied, next, this.names);
    if (commands.length === 0) return;
    for (const argv of commands) {
      try {
        await ip(...argv);
      } catch (err) {
        // A neighbour entry the kernel dropped already (its device went down) is gone, as wanted.
        if (!argv.includes('neigh') || !argv.includes('del')) throw err;
      }
    }
    const before = this.applied;
    this.applied = next;
    for (const [ipAddress, route] of Object.entries(next.routes)) {
      if (JSON.stringify(before?.routes[ipAddress]) !== JSON.stringify(route)) {
        this.deps.audit.record({ service: AUDIT_SERVICE, action: 'route', target: ipAddress, outcome: 'ok', detail: { route: describeRoute(ipAddress, route), ...route } });
      }
    }
    for (const [server, nic] of Object.entries(next.nics)) {
      const was = before?.nics[server];
      if (was?.up !== nic.up || was?.mac !== nic.mac) {
        this.deps.audit.record({ service: AUDIT_SERVICE, action: 'public-nic', target: server, outcome: 'ok', detail: { up: nic.up, mac: nic.mac } });
      }
    }
  }

  /** Runs a program inside the uplink namespace (e.g. curl as the internet's client). */
  exec(argv: string[], timeoutMs = 15_000) {
    return this.lab.exec(this.host, argv, timeoutMs);
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
