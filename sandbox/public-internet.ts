// The sandbox's public internet: an HTTP gateway on loopback that delivers a request for a
// failover IP only along the path OVH and the server would really carry it (docs/contracts.md
// §A.8): OVH routes the IP to a server, that server's LB VM has the public NIC the mode needs
// (vmac: net1 with the IP's virtual MAC, on the public bridge, link up; routed: net1 link up),
// that LB holds the address (its keepalived is MASTER, sandbox/vrrp-sim.ts; in vrack-block
// this alone picks the LB), and that LB's HAProxy answers. Then it
// passes the request to the LB's health endpoint, the stand-in for HAProxy's frontends, and
// names the server in `x-autok8s-served-by`.
//
// Anything else is answered as the internet answers a packet nobody takes: not at all. The
// gateway closes the connection without a response (a client sees a reset or "socket hang
// up" at once rather than waiting out a timeout, so tests stay quick; a real client would time
// out). `serves(ip)` says which condition failed, for test messages.
//
// Addressing: GET http://127.0.0.1:<port>/<failover ip>/<path>; the first segment names the IP.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIpv4 } from '../core/net/ipv4';
import { publicPathOf } from '../core/public-path/modes';
import { SERVED_BY_HEADER } from '../core/public-path/probe-url';
import type { ClusterSpec } from '../core/spec/schema';
import type { AuditLog } from './audit';
import type { OvhSimulator } from './ovh/simulator';
import type { ProxmoxSimulator } from './proxmox/simulator';
import { deliveryCandidates, type DeliveryFacts } from './public-delivery';
import type { VrrpSimulation } from './vrrp-sim';


export interface Serving {
  served: boolean;
  /** The server whose LB answered. */
  by?: string;
  /** Why nothing answered: the first condition that failed. */
  why?: string;
}

export interface PublicInternetDeps {
  /** The cluster the sandbox runs (known once its spec is written, after the gateway listens). */
  spec: () => ClusterSpec;
  ovh: OvhSimulator;
  proxmox: Map<string, ProxmoxSimulator>;
  /** Each server's LB health endpoint (HAProxy's monitor-uri stand-in). */
  healthUrl: (server: string) => string;
  /** keepalived in the LB VMs: who holds the VRRP addresses. */
  vrrp: Pick<VrrpSimulation, 'state' | 'holders'>;
  audit?: AuditLog;
}

/** How long the gateway waits for an LB's HAProxy before taking it as not answering. */
const LB_ANSWER_TIMEOUT_MS = 1500;

export class PublicInternet {
  private constructor(
    private readonly server: Server,
    private readonly deps: PublicInternetDeps,
  ) {}

  static async start(deps: PublicInternetDeps): Promise<PublicInternet> {
    const server = createServer();
    const internet = new PublicInternet(server, deps);
    server.on('request', (req, res) => {
      internet.handle(req.url ?? '/').then(
        (answer) => {
          if (!answer) {
            req.socket.destroy();
            return;
          }
          res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
          res.end(answer.body);
        },
        () => req.socket.destroy(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return internet;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The spec's publicPath.probeUrl template for this gateway. */
  get probeUrlTemplate(): string {
    return `http://127.0.0.1:${this.port}/{ip}/healthz`;
  }

  url(ip: string, path = '/healthz'): string {
    return `http://127.0.0.1:${this.port}/${ip}${path.startsWith('/') ? path : `/${path}`}`;
  }

  /** Whether a request for `ip` would be served now, by whom, or why not. */
  async serves(ip: string): Promise<Serving> {
    const { served, by, why } = await this.deliver(ip);
    return served ? { served, by } : { served, why };
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(url: string): Promise<{ status: number; body: string; headers: Record<string, string> } | undefined> {
    const ip = /^\/([^/?]+)/.exec(url)?.[1] ?? '';
    if (!isIpv4(ip)) return { status: 400, body: `the first path segment must be a failover IP: GET /<ip>/<path>\n`, headers: {} };
    const d = await this.deliver(ip);
    this.deps.audit?.record({ service: 'internet', action: 'GET', target: ip, outcome: d.served ? 'ok' : 'rejected', detail: d.served ? { by: d.by } : { why: d.why } });
    if (!d.served) return undefined;
    return { status: d.answer!.status, body: d.answer!.body, headers: { [SERVED_BY_HEADER]: d.by! } };
  }

  private facts(ip: string): DeliveryFacts {
    const spec = this.deps.spec();
    const path = publicPathOf(spec);
    const routed = path.mode === 'vrack-block' ? path.block : ip;
    let routedTo: string | null = null;
    try {
      routedTo = routed === undefined ? null : this.deps.ovh.routing(routed);
    } catch {
      routedTo = null; // not an IP of the account: routed nowhere
    }
    return {
      mode: path.mode,
      ip,
      bridge: path.bridge,
      routedTo,
      vrack: spec.ovh.vrack,
      mac: this.deps.ovh.macFor(ip),
      lbs: spec.servers.map((s) => {
        const vm = this.deps.proxmox.get(s.name)?.vms().find((v) => v.vmid === s.vms.lb.vmid);
        return { server: s.name, ovhService: s.ovhService, vmid: s.vms.lb.vmid, vm: vm && { running: vm.status === 'running', net1: vm.config.net1 }, vrrp: this.deps.vrrp.state(s.name) };
      }),
      holders: this.deps.vrrp.holders(),
    };
  }

  private async deliver(ip: string): Promise<Serving & { answer?: { status: number; body: string } }> {
    if (!this.deps.spec().failoverIps.includes(ip)) return { served: false, why: `${ip} is not one of the cluster's failover IPs: no route to it` };
    const c = deliveryCandidates(this.facts(ip));
    if ('why' in c) return { served: false, why: c.why };
    const silent: string[] = [];
    for (const server of c.candidates) {
      const answer = await this.askLb(server);
      if (answer) return { served: true, by: server, answer };
      silent.push(server);
    }
    return { served: false, why: `HAProxy on ${silent.join(', ')}'s LB does not answer` };
  }

  private async askLb(server: string): Promise<{ status: number; body: string } | undefined> {
    try {
      const response = await fetch(this.deps.healthUrl(server), { signal: AbortSignal.timeout(LB_ANSWER_TIMEOUT_MS), redirect: 'manual' });
      return { status: response.status, body: await response.text() };
    } catch {
      return undefined;
    }
  }
}
