// A Proxmox VE API simulator: one per OVH server (one Proxmox node each), speaking HTTPS
// with a certificate from the sandbox CA, on the real paths under /api2/json, with token
// authentication, the `{"data": ...}` envelope, asynchronous tasks with real UPIDs, and
// fault injection (service `proxmox:<node>`, paths relative to /api2/json). Every mutating
// call and every task completion is written to the audit log.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { AuditLog, AuditOutcome } from '../audit';
import type { FaultInjector } from '../faults';
import type { SandboxCa } from '../tls';
import { authenticate, validateTokens, type ProxmoxToken } from './auth';
import { PveHttpError, paramError, runtimeError, writeBareError, writeData, writeError } from './envelope';
import { PVE_MESSAGES } from './messages';
import { isTrue, parseBody, type Params } from './params';
import { parseNet } from './vm-config';
import { auditDetail, auditTarget, authorizeOperation, matchRoute, verifyParameters, type RouteMatch } from './routes';
import { recordSchemaCheck } from '../conformance/tally';
import { DEFAULT_DISK_GUEST, DEFAULT_ISOS, type SimDiskGuest, type SimIso } from './images';
import { DEFAULT_LATENCY, ProxmoxState, type ProxmoxLatency, type SeedVm, type SimVm, type VmChange } from './state';

export type { ProxmoxLatency, SimVm, VmChange } from './state';
export type { SimDiskGuest, SimIso } from './images';

export interface ProxmoxSimulatorOptions {
  ca: SandboxCa;
  audit: AuditLog;
  faults: FaultInjector;
  /** Proxmox node name, e.g. 'pve-a'. */
  node: string;
  /** 0 (default) = a random free port on 127.0.0.1. */
  port?: number;
  /** Accepted API tokens; tokenId like 'root@pam!autok8s', secret a lowercase UUID. */
  tokens: ProxmoxToken[];
  latency?: Partial<ProxmoxLatency>;
  /** Storages of the node (default local, local-lvm). */
  storages?: string[];
  /** Bridges of the node (default vmbr0, vmbr1). */
  bridges?: string[];
  /** VMs that exist before autok8s arrives (templates, someone else's VMs). */
  vms?: SeedVm[];
  /** ISO images on the node's storages and what they really are (default: Talos nocloud, no guest agent). */
  isos?: SimIso[];
  /** What VMs without an ISO run (default: a cloud image without the guest agent). */
  diskGuest?: SimDiskGuest;
}

const API_PREFIX = '/api2/json';
/**
 * How long a node holds back a 401: pve-http-server AnyEvent.pm answers every failed
 * authentication after `my $delay = 3` seconds ("always delay unauthorized calls by 3
 * seconds"). Not configurable on purpose: an adapter must live with it.
 */
const AUTH_FAILURE_DELAY_MS = 3000;
const MAX_BODY = 1024 * 1024;

export class ProxmoxSimulator {
  readonly node: string;
  readonly service: string;
  private readonly state: ProxmoxState;
  private server!: Server;
  private port = 0;
  private unreachable = false;
  private readonly sockets = new Set<Socket>();
  private readonly pending = new Set<() => void>();
  private readonly checks = new Map<string, { accepted: number; refused: number }>();
  private cert!: { fingerprint256: string };

  private constructor(private readonly o: ProxmoxSimulatorOptions) {
    this.node = o.node;
    this.service = `proxmox:${o.node}`;
    this.state = new ProxmoxState({
      node: o.node,
      service: this.service,
      audit: o.audit,
      latency: { ...DEFAULT_LATENCY, ...o.latency },
      storages: o.storages ?? ['local', 'local-lvm'],
      bridges: o.bridges ?? ['vmbr0', 'vmbr1'],
      isos: o.isos ?? DEFAULT_ISOS,
      diskGuest: o.diskGuest ?? DEFAULT_DISK_GUEST,
    });
    for (const vm of o.vms ?? []) this.state.seed(vm);
  }

  static async start(o: ProxmoxSimulatorOptions): Promise<ProxmoxSimulator> {
    validateTokens(o.tokens);
    const sim = new ProxmoxSimulator(o);
    const cert = await o.ca.issueServerCert(['localhost', '127.0.0.1']);
    sim.cert = cert;
    sim.server = createServer({ cert: cert.certPem, key: cert.keyPem, ca: o.ca.certPem }, (req, res) => {
      sim.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) writeError(res, runtimeError(`internal simulator error: ${(err as Error).message}`));
      });
    });
    sim.server.on('connection', (socket: Socket) => {
      if (sim.unreachable) {
        socket.destroy();
        return;
      }
      sim.sockets.add(socket);
      socket.once('close', () => sim.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      sim.server.once('error', reject);
      sim.server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
    });
    sim.port = (sim.server.address() as { port: number }).port;
    return sim;
  }

  /** The requests this node checked against the published schema, by "METHOD /template". */
  schemaChecks(): Record<string, { accepted: number; refused: number }> {
    return Object.fromEntries([...this.checks].map(([op, c]) => [op, { ...c }]));
  }

  private recordCheck(operation: string, accepted: boolean): void {
    recordSchemaCheck('proxmox', operation, accepted);
    const c = this.checks.get(operation) ?? { accepted: 0, refused: 0 };
    if (accepted) c.accepted += 1;
    else c.refused += 1;
    this.checks.set(operation, c);
  }

  /** Changes simulated latencies from now on (a slower node in a test). */
  setLatency(latency: Partial<ProxmoxLatency>): void {
    this.state.setLatency(latency);
  }

  /** The spec's servers[].proxmox.url. */
  get url(): string {
    return `https://localhost:${this.port}`;
  }

  /** SHA-256 fingerprint of the node's certificate, for servers[].proxmox.fingerprint. */
  get fingerprint256(): string {
    return this.cert.fingerprint256;
  }

  async stop(): Promise<void> {
    this.state.close();
    for (const done of this.pending) done();
    this.pending.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  vms(): SimVm[] {
    return this.state.simVms();
  }

  vmByIp(ip: string): SimVm | undefined {
    return this.state.simVmByIp(ip);
  }

  /**
   * A NIC of a VM as its guest sees it (for tests and the simulated public side): `up` when
   * the VM runs and the NIC's link_down is not set; undefined when there is no such VM or NIC.
   * Every config update lands at once here, as a change of link_down alone does on a real
   * running VM (qemu-server vmconfig_update_net → qemu_set_link_status).
   */
  nicLink(vmid: number, key = 'net1'): { up: boolean; mac?: string; bridge?: string } | undefined {
    const vm = this.state.simVm(vmid);
    const value = vm?.config[key];
    if (!vm || value === undefined) return undefined;
    const net = parseNet(value);
    return { up: vm.status === 'running' && !isTrue(net.options.link_down ?? '0'), mac: net.mac, bridge: net.options.bridge };
  }

  killVm(vmid: number): void {
    const killed = this.state.kill(vmid);
    this.o.audit.record({ service: this.service, action: 'kill', target: String(vmid), outcome: 'fault', detail: { wasRunning: killed } });
  }

  /** Fault: the node loses its task logs (reinstalled, /var/log/pve/tasks wiped): every UPID it gave out becomes `no such task`. */
  forgetTasks(): void {
    this.state.forgetTasks();
    this.o.audit.record({ service: this.service, action: 'forgetTasks', target: this.node, outcome: 'fault' });
  }

  /** Fault: the node is unreachable; open connections are reset and new ones cut at once. */
  setUnreachable(on: boolean): void {
    this.unreachable = on;
    if (on) for (const s of this.sockets) s.destroy();
    this.o.audit.record({ service: this.service, action: on ? 'unreachable' : 'reachable', target: this.node, outcome: 'fault' });
  }

  onVmChange(listener: (vm: SimVm, change: VmChange) => void): () => void {
    return this.state.onVmChange(listener);
  }

  // ---------- request handling

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'https://localhost');
    const raw = await readBody(req);
    if (raw === undefined) {
      req.socket.destroy();
      return;
    }
    if (!url.pathname.startsWith(API_PREFIX + '/')) {
      // pve-http-server: a path outside the API base has no formatter ("no such uri").
      writeError(res, new PveHttpError(501, 'no such uri'));
      return;
    }
    const apiPath = url.pathname.slice(API_PREFIX.length);
    const match = matchRoute(method, apiPath);

    let token: ProxmoxToken;
    try {
      token = authenticate(req.headers.authorization, this.o.tokens);
    } catch (err) {
      if (match?.route.action) this.audit(match, {}, 'rejected', { error: (err as Error).message });
      await this.holdBack(AUTH_FAILURE_DELAY_MS);
      writeBareError(res, err as PveHttpError);
      return;
    }
    const user = token.tokenId;

    const fault = this.o.faults.take(this.service, method, apiPath);
    if (fault?.kind === 'reset') {
      if (match?.route.action) this.audit(match, {}, 'fault', { fault: 'reset' });
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      if (match?.route.action) this.audit(match, {}, 'fault', { fault: 'hang' });
      return; // never answered; stop() or the client's timeout ends it
    }
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));

    if (!match) {
      // An undefined method or path is the schema refusing the request too.
      this.recordCheck(`${method} ${apiPath}`, false);
      writeError(res, new PveHttpError(501, PVE_MESSAGES.notImplemented(method, apiPath)));
      return;
    }
    let params: Params = {};
    let stage: 'before' | 'checking' | 'checked' = 'before';
    try {
      const body = parseBody(req.headers['content-type'], raw);
      if (body === undefined) throw paramError({ body: 'unable to parse JSON body' });
      params = { ...Object.fromEntries(url.searchParams), ...body };
      authorizeOperation(match, token, params);
      if (match.path.node !== undefined && match.path.node !== this.node) throw runtimeError(PVE_MESSAGES.noSuchNode(match.path.node));
      stage = 'checking';
      verifyParameters(match, params);
      stage = 'checked';
      this.recordCheck(match.operation, true);
      match.route.authorize?.(this.state, { path: match.path, params, call: { user }, token });
    } catch (err) {
      if (stage === 'checking') this.recordCheck(match.operation, false);
      if (match.route.action) this.audit(match, params, 'rejected', { error: (err as Error).message });
      writeError(res, toHttpError(err));
      return;
    }

    if (fault?.kind === 'status') {
      if (match.route.action) this.audit(match, params, 'fault', { fault: 'status', status: fault.status, applied: false });
      writeError(res, new PveHttpError(fault.status, fault.message ?? defaultReason(fault.status)));
      return;
    }

    const call = { user, taskError: fault?.kind === 'taskError' ? (fault.message ?? PVE_MESSAGES.defaultTaskError) : undefined };
    const detail = match.route.action ? auditDetail(this.state, match, params) : {};
    let data: unknown;
    try {
      data = match.route.handle(this.state, { path: match.path, params, call, token });
    } catch (err) {
      if (match.route.action) this.audit(match, params, 'rejected', { ...detail, error: (err as Error).message });
      writeError(res, toHttpError(err));
      return;
    }
    if (fault?.kind === 'applyThenStatus') {
      if (match.route.action) this.audit(match, params, 'fault', { ...detail, fault: 'applyThenStatus', status: fault.status, applied: true, upid: data });
      writeError(res, new PveHttpError(fault.status, fault.message ?? defaultReason(fault.status)));
      return;
    }
    if (match.route.action) this.audit(match, params, fault?.kind === 'taskError' ? 'fault' : 'ok', { ...detail, upid: data ?? undefined, ...(fault ? { fault: fault.kind } : {}) });
    writeData(res, data);
  }

  /** Waits `ms`, or less when the simulator stops first. */
  private holdBack(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(done);
        resolve();
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.pending.add(done);
    });
  }

  private audit(match: RouteMatch, params: Params, outcome: AuditOutcome, detail: Record<string, unknown>): void {
    this.o.audit.record({ service: this.service, action: match.route.action!, target: auditTarget(match, params), outcome, detail });
  }
}

function toHttpError(err: unknown): PveHttpError {
  return err instanceof PveHttpError ? err : runtimeError((err as Error).message);
}

const REASONS: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout', 429: 'Too Many Requests', 595: 'Connection timed out' };

function defaultReason(status: number): string {
  return REASONS[status] ?? `HTTP ${status}`;
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

