// What the simulated OVH account holds: failover IPs and where they are routed, dedicated
// servers, vRacks (./vrack-state.ts, with the servers' virtual network interfaces), and the
// asynchronous tasks that change them. No HTTP here: methods take
// decoded parameters and either return the API's JSON object or throw the OVH error answer.
//
// Tasks move todo → doing → done on timers (half the latency each), and their effect
// (new routing, vRack membership) applies only when they end, as on the real API.
import { badRequest, conflict, notFound, UNVERIFIED } from './errors';
import { moveRegionGroup } from '../../core/public-path/server-facts';
import { DEFAULT_SANDBOX_GATEWAY, networkSpecifications, PUBLIC_PATH_UNVERIFIED, VmacState, type ServerNetworkInit } from './vmac';
import { VrackBlocks } from './vrack-blocks';
import { VrackState, type ServerNetworkKind } from './vrack-state';

export interface OvhLatency {
  /** Duration of a failover IP move or park task. Real moves take about a minute. */
  moveMs: number;
  /** Duration of a vRack task. */
  vrackTaskMs: number;
  /** Duration of a hard reboot task. */
  rebootMs: number;
  /** Duration of a virtual MAC task (create, add an address). */
  vmacTaskMs: number;
}

export const DEFAULT_OVH_LATENCY: OvhLatency = { moveMs: 1500, vrackTaskMs: 500, rebootMs: 1000, vmacTaskMs: 500 };

export type TaskStatus = 'init' | 'todo' | 'doing' | 'done' | 'cancelled' | 'customerError' | 'ovhError';
const PENDING: readonly TaskStatus[] = ['init', 'todo', 'doing'];
export const isPending = (status: TaskStatus) => PENDING.includes(status);

export const MOVE_FUNCTION = 'genericMoveFloatingIp';
export const REBOOT_FUNCTION = 'hardReboot';

/** GET /ip/{ip}/task/{id} */
export interface IpTask {
  taskId: number;
  function: string;
  status: TaskStatus;
  startDate: string;
  doneDate: string | null;
  lastUpdate: string;
  comment: string | null;
  destination: { serviceName: string } | null;
}

/** GET /dedicated/server/{sn}/task/{id} */
export interface ServerTask {
  taskId: number;
  function: string;
  status: TaskStatus;
  startDate: string;
  doneDate: string | null;
  lastUpdate: string;
  comment: string | null;
}

export interface OvhStateInit {
  failoverIps: { ip: string; routedTo: string | null }[];
  /** `networkInterfaces` defaults to `configurable` (servers with virtual network interfaces). */
  dedicatedServers: ({ serviceName: string; datacenter?: string; networkInterfaces?: ServerNetworkKind } & ServerNetworkInit)[];
  vracks: { serviceName: string; dedicatedServers?: string[] }[];
}

/** A task reached a terminal state: the simulator records it in the audit log. */
export interface TaskEnded {
  function: string;
  target: string;
  ok: boolean;
  detail: Record<string, unknown>;
}

/** Options of a call that creates a task: a `taskError` fault makes the task fail. */
export interface TaskOptions {
  taskError?: string;
}

/** A failover IP (or IP block, written with its prefix) of the account. */
export interface FailoverIp {
  ip: string;
  routedTo: string | null;
  tasks: IpTask[];
}

interface DedicatedServer {
  serviceName: string;
  serverId: number;
  mainIp: string;
  datacenter: string;
  state: 'ok' | 'error';
  powerState: 'poweron' | 'poweroff';
  kind: ServerNetworkKind;
  vmacSupported: boolean;
  gateway: string | null;
  region: string;
  tasks: ServerTask[];
}

const iso = (ms = Date.now()) => new Date(ms).toISOString();

/** "203.0.113.10", "203.0.113.10/32" → "203.0.113.10"; any other block size is not a failover IP here. */
export function bareIp(ipOrBlock: string): string {
  return ipOrBlock.endsWith('/32') ? ipOrBlock.slice(0, -3) : ipOrBlock;
}

export class OvhState {
  private readonly ips = new Map<string, FailoverIp>();
  private readonly servers = new Map<string, DedicatedServer>();
  readonly vrack: VrackState;
  readonly vmac: VmacState;
  readonly vrackBlocks: VrackBlocks;
  private readonly timers = new Set<NodeJS.Timeout>();
  private nextTaskId = 4_200_001;

  constructor(
    init: OvhStateInit,
    private latency: OvhLatency,
    private readonly onTaskEnded: (event: TaskEnded) => void,
  ) {
    init.dedicatedServers.forEach((s, i) =>
      this.servers.set(s.serviceName, {
        serviceName: s.serviceName,
        serverId: 1_000_001 + i,
        mainIp: `198.51.100.${(i % 250) + 1}`,
        datacenter: s.datacenter ?? 'gra3',
        state: 'ok',
        powerState: 'poweron',
        kind: s.networkInterfaces ?? 'configurable',
        vmacSupported: s.vmacSupported ?? true,
        gateway: s.gateway === undefined ? DEFAULT_SANDBOX_GATEWAY : s.gateway,
        region: s.region ?? `eu-west-${/^[a-z]+/.exec(s.datacenter ?? 'gra3')?.[0] ?? 'gra'}`,
        tasks: [],
      }),
    );
    for (const f of init.failoverIps) this.ips.set(bareIp(f.ip), { ip: bareIp(f.ip), routedTo: f.routedTo, tasks: [] });
    this.vrack = new VrackState(init.vracks, {
      server: (name) => this.servers.get(name),
      servers: () => [...this.servers.values()],
      nextTaskId: () => this.nextTaskId++,
      runTask: (task, end) => this.runTask(this.latency.vrackTaskMs, task, end),
      onTaskEnded,
    });
    this.vrackBlocks = new VrackBlocks({ ips: this.ips, vrack: this.vrack, dropMac: (ip) => this.vmac.dropFor(ip) });
    this.vmac = new VmacState({
      vmacSupported: (name) => this.server(name).vmacSupported,
      routing: (ip) => this.ip(ip).routedTo,
      startServerTask: (name, fn, options, end) => this.startServerTask(this.server(name), fn, this.latency.vmacTaskMs, options, end),
    });
  }

  setLatency(latency: Partial<OvhLatency>): void {
    this.latency = { ...this.latency, ...latency };
  }

  /** Stops every task timer; tasks in flight stay where they are. */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  // ---- failover IPs ------------------------------------------------------------------

  routing(ip: string): string | null {
    return this.ip(ip).routedTo;
  }

  /** GET /ip/{ip} */
  getIp(ipParam: string) {
    const f = this.ip(ipParam);
    return {
      ip: blockOf(f.ip),
      type: 'failover',
      isAdditionalIp: true,
      routedTo: f.routedTo === null ? null : { serviceName: f.routedTo },
      description: null,
      canBeTerminated: true,
      country: 'fr',
      organisationId: null,
      campus: 'GRA',
    };
  }

  /** GET /ip/{ip}/move: where the IP could go (every server but the one it is on). */
  moveDestinations(ipParam: string) {
    const f = this.ip(ipParam);
    return {
      dedicatedServer: [...this.servers.keys()].filter((s) => s !== f.routedTo).map((service) => ({ service, nexthop: null })),
      vps: [],
      cloudProject: [],
      hostingReseller: [],
    };
  }

  /** POST /ip/{ip}/move */
  moveIp(ipParam: string, body: { to?: unknown; nexthop?: unknown }, options: TaskOptions = {}): IpTask {
    const f = this.ip(ipParam);
    if (typeof body.to !== 'string' || body.to === '') throw badRequest(UNVERIFIED.missingParameter('to'));
    const to = body.to;
    const pending = f.tasks.find((t) => isPending(t.status));
    if (pending) throw conflict(UNVERIFIED.movePending(`${f.ip}/32`, pending.taskId));
    if (!this.servers.has(to)) throw badRequest(UNVERIFIED.moveUnknownDestination(to));
    if (f.routedTo === to) throw badRequest(UNVERIFIED.moveAlreadyRouted(`${f.ip}/32`, to));
    this.checkMove(f, to);
    return this.startIpTask(f, MOVE_FUNCTION, to, options);
  }

  /** POST /dedicated/server/{sn}/ipMove {ip}: the same move, asked from the target server; answers a server task. */
  ipMove(service: string, body: { ip?: unknown }, options: TaskOptions = {}): ServerTask {
    const s = this.server(service);
    if (typeof body.ip !== 'string' || body.ip === '') throw badRequest(UNVERIFIED.missingParameter('ip'));
    const f = this.ips.get(bareIp(body.ip));
    if (!f) throw badRequest(UNVERIFIED.ipNotYours(body.ip));
    const pending = f.tasks.find((t) => isPending(t.status));
    if (pending) throw conflict(UNVERIFIED.movePending(blockOf(f.ip), pending.taskId));
    if (f.routedTo === service) throw badRequest(UNVERIFIED.moveAlreadyRouted(blockOf(f.ip), service));
    this.checkMove(f, service);
    const ipTask = this.startIpTask(f, MOVE_FUNCTION, service, options);
    const now = iso();
    const task: ServerTask = { taskId: ipTask.taskId, function: PUBLIC_PATH_UNVERIFIED.ipMoveFunction, status: 'todo', startDate: now, doneDate: null, lastUpdate: now, comment: null };
    s.tasks.push(task);
    // The server task mirrors the IP task it started (one task id, as OVH numbers tasks globally).
    const mirror = () => {
      const source = f.tasks.find((t) => t.taskId === task.taskId)!;
      Object.assign(task, { status: source.status, doneDate: source.doneDate, lastUpdate: source.lastUpdate, comment: source.comment });
      if (isPending(task.status)) this.after(Math.max(10, this.latency.moveMs / 10), mirror);
    };
    this.after(Math.max(10, this.latency.moveMs / 10), mirror);
    return { ...task };
  }

  /** The refusals common to both move calls: a vRack block, another region group, the IP's virtual MAC. */
  private checkMove(f: FailoverIp, to: string): void {
    if (f.routedTo !== null && this.vrack.names().includes(f.routedTo)) throw badRequest(PUBLIC_PATH_UNVERIFIED.moveFromVrack(blockOf(f.ip), f.routedTo));
    const from = f.routedTo === null ? undefined : this.servers.get(f.routedTo);
    const target = this.servers.get(to);
    if (from && target && moveRegionGroup(from.datacenter) !== moveRegionGroup(target.datacenter)) {
      throw badRequest(PUBLIC_PATH_UNVERIFIED.moveOtherRegion(blockOf(f.ip), to));
    }
    this.vmac.checkMove(f.ip, to);
  }

  /** POST /ip/{ip}/park: detach the IP from any service. */
  parkIp(ipParam: string, options: TaskOptions = {}): IpTask {
    const f = this.ip(ipParam);
    const pending = f.tasks.find((t) => isPending(t.status));
    if (pending) throw conflict(UNVERIFIED.movePending(`${f.ip}/32`, pending.taskId));
    if (f.routedTo === null) throw badRequest(UNVERIFIED.parkNotRouted(`${f.ip}/32`));
    return this.startIpTask(f, UNVERIFIED.parkTaskFunction, null, options);
  }

  /** GET /ip/{ip}/task?function=&status= */
  ipTaskIds(ipParam: string, filter: { function?: string; status?: string }): number[] {
    return taskIds(this.ip(ipParam).tasks, filter);
  }

  /** GET /ip/{ip}/task/{id} */
  ipTask(ipParam: string, id: string): IpTask {
    return taskById(this.ip(ipParam).tasks, id);
  }

  /** GET /dedicated/server/{sn}/ipCanBeMovedTo?ip= → nothing when allowed. */
  ipCanBeMovedTo(service: string, ipParam: string | null): void {
    this.server(service);
    if (!ipParam) throw badRequest(UNVERIFIED.missingParameter('ip'));
    const f = this.ips.get(bareIp(ipParam));
    if (!f) throw badRequest(UNVERIFIED.ipNotYours(ipParam));
    const pending = f.tasks.find((t) => isPending(t.status));
    if (pending) throw conflict(UNVERIFIED.movePending(`${f.ip}/32`, pending.taskId));
    if (f.routedTo === service) throw badRequest(UNVERIFIED.moveAlreadyRouted(`${f.ip}/32`, service));
    this.checkMove(f, service); // what the move itself would refuse: region group, virtual MAC, vRack
  }

  private startIpTask(f: FailoverIp, fn: string, to: string | null, options: TaskOptions): IpTask {
    const now = iso();
    const task: IpTask = {
      taskId: this.nextTaskId++,
      function: fn,
      status: 'todo',
      startDate: now,
      doneDate: null,
      lastUpdate: now,
      comment: null,
      destination: to === null ? null : { serviceName: to },
    };
    f.tasks.push(task);
    this.vmac.moveStarted(f.ip);
    this.runTask(this.latency.moveMs, task, () => {
      const from = f.routedTo;
      if (options.taskError !== undefined) {
        this.vmac.moveEnded(f.ip, false, to, false);
        this.finish(task, 'ovhError', options.taskError || UNVERIFIED.taskFailedComment);
        this.onTaskEnded({ function: fn, target: f.ip, ok: false, detail: { taskId: task.taskId, status: task.status, to, routedTo: from } });
        return;
      }
      f.routedTo = to;
      this.vmac.moveEnded(f.ip, true, to, to !== null && this.servers.has(to));
      this.finish(task, 'done', null);
      this.onTaskEnded({ function: fn, target: f.ip, ok: true, detail: { taskId: task.taskId, status: task.status, from, to } });
    });
    return { ...task };
  }

  // ---- dedicated servers ---------------------------------------------------------------

  serverNames(): string[] {
    return [...this.servers.keys()];
  }

  /** GET /dedicated/server/{sn} */
  getServer(service: string) {
    const s = this.server(service);
    return {
      name: s.serviceName,
      serverId: s.serverId,
      ip: s.mainIp,
      datacenter: s.datacenter,
      rack: 'SBX01',
      region: s.region,
      state: s.state,
      powerState: s.powerState,
      os: 'proxmox8_64',
      reverse: s.serviceName,
      monitoring: true,
      professionalUse: false,
      supportLevel: 'pro',
      commercialRange: 'advance',
      linkSpeed: 1000,
      bootId: 1,
      rootDevice: null,
      rescueMail: null,
      noIntervention: false,
    };
  }

  setServerState(service: string, change: { state?: 'ok' | 'error'; powerState?: 'poweron' | 'poweroff' }): void {
    const s = this.server(service);
    if (change.state) s.state = change.state;
    if (change.powerState) s.powerState = change.powerState;
  }

  /** POST /dedicated/server/{sn}/reboot (hard reboot). */
  reboot(service: string, options: TaskOptions = {}): ServerTask {
    const s = this.server(service);
    const pending = s.tasks.find((t) => t.function === REBOOT_FUNCTION && isPending(t.status));
    if (pending) throw conflict(UNVERIFIED.rebootPending(service, pending.taskId));
    const now = iso();
    const task: ServerTask = { taskId: this.nextTaskId++, function: REBOOT_FUNCTION, status: 'todo', startDate: now, doneDate: null, lastUpdate: now, comment: null };
    s.tasks.push(task);
    this.runTask(this.latency.rebootMs, task, () => {
      if (options.taskError !== undefined) {
        this.finish(task, 'ovhError', options.taskError || UNVERIFIED.taskFailedComment);
      } else {
        s.powerState = 'poweron';
        this.finish(task, 'done', null);
      }
      this.onTaskEnded({ function: REBOOT_FUNCTION, target: service, ok: task.status === 'done', detail: { taskId: task.taskId, status: task.status } });
    });
    return { ...task };
  }

  /** GET /dedicated/server/{sn}/task?function=&status= */
  serverTaskIds(service: string, filter: { function?: string; status?: string }): number[] {
    return taskIds(this.server(service).tasks, filter);
  }

  /** GET /dedicated/server/{sn}/task/{id} */
  serverTask(service: string, id: string): ServerTask {
    return taskById(this.server(service).tasks, id);
  }

  /** GET /dedicated/server/{sn}/specifications/network */
  networkSpecifications(service: string) {
    return networkSpecifications(this.server(service));
  }

  /** Starts a task on the server; `end(ok)` applies its effect when it ends (ok false: a `taskError` fault). */
  private startServerTask(s: DedicatedServer, fn: string, ms: number, options: TaskOptions, end: (ok: boolean) => void): ServerTask {
    const now = iso();
    const task: ServerTask = { taskId: this.nextTaskId++, function: fn, status: 'todo', startDate: now, doneDate: null, lastUpdate: now, comment: null };
    s.tasks.push(task);
    this.runTask(ms, task, () => {
      const ok = options.taskError === undefined;
      end(ok);
      if (ok) this.finish(task, 'done', null);
      else this.finish(task, 'ovhError', options.taskError || UNVERIFIED.taskFailedComment);
      this.onTaskEnded({ function: fn, target: s.serviceName, ok, detail: { taskId: task.taskId, status: task.status } });
    });
    return { ...task };
  }

  /** A server as the vRack side sees it (404 when unknown). */
  serverView(service: string) {
    return this.server(service);
  }

  // ---- helpers -------------------------------------------------------------------------

  private ip(ipParam: string): FailoverIp {
    const f = this.ips.get(bareIp(ipParam));
    if (!f) throw notFound(UNVERIFIED.unknownIp(ipParam.includes('/') ? ipParam : `${ipParam}/32`));
    return f;
  }

  private server(service: string): DedicatedServer {
    const s = this.servers.get(service);
    if (!s) throw notFound(UNVERIFIED.unknownService(service));
    return s;
  }

  /** todo now, doing at half the latency, `end` at the full latency. */
  private runTask(totalMs: number, task: { status: string; lastUpdate: string }, end: () => void): void {
    this.after(totalMs / 2, () => {
      task.status = 'doing';
      task.lastUpdate = iso();
    });
    this.after(totalMs, end);
  }

  private finish(task: IpTask | ServerTask, status: TaskStatus, comment: string | null): void {
    const now = iso();
    task.status = status;
    task.comment = comment;
    task.doneDate = now;
    task.lastUpdate = now;
  }

  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, Math.max(0, ms));
    this.timers.add(timer);
  }
}

/** How OVH writes the IP in paths and answers: a single address as a /32. */
export function blockOf(ip: string): string {
  return ip.includes('/') ? ip : `${ip}/32`;
}

/** The task listing routes of IPs and servers filter the same way (`?function=&status=`). */
function taskIds(tasks: readonly { taskId: number; function: string; status: string }[], filter: { function?: string; status?: string }): number[] {
  return tasks.filter((t) => (!filter.function || t.function === filter.function) && (!filter.status || t.status === filter.status)).map((t) => t.taskId);
}

/** One task by the id in the path, as a copy; OVH's 404 when unknown. */
function taskById<T extends { taskId: number }>(tasks: readonly T[], id: string): T {
  const task = tasks.find((t) => String(t.taskId) === id);
  if (!task) throw notFound(UNVERIFIED.unknownTask(id));
  return { ...task };
}
