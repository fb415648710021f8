// The simulated vRacks and the servers' virtual network interfaces (docs/contracts.md §A.4).
//
// Two kinds of dedicated server, as on the real API: a server with configurable network
// interfaces has a `public` and a `vrack` virtual network interface and joins a vRack through
// `POST /vrack/{sn}/dedicatedServerInterface` with the vrack interface's UUID (its membership is
// listed by `GET /vrack/{sn}/dedicatedServerInterface`); a legacy server has none and joins
// through `POST /vrack/{sn}/dedicatedServer` (listed by `GET /vrack/{sn}/dedicatedServer`).
//
// A vRack task that ends `done` disappears: `GET /vrack/{sn}/task/{id}` answers 404 from then
// on, as the real API does (terraform-provider-ovh `ovh/vrack_task.go` reads that 404 as
// "completed"). A cancelled task stays readable (unverified).
import { badRequest, conflict, notFound, UNVERIFIED } from './errors';
import { isPending, type TaskOptions } from './state';

/** GET /vrack/{sn}/task/{id}: the id field is `id`, and the status enum has no error states. */
export interface VrackTask {
  id: number;
  function: string;
  status: 'init' | 'todo' | 'doing' | 'done' | 'cancelled';
  serviceName: string;
  targetDomain: string;
  orderId: number | null;
  todoDate: string;
  lastUpdate: string;
}

/** GET /dedicated/server/{sn}/virtualNetworkInterface/{uuid} (dedicated.virtualNetworkInterface.VirtualNetworkInterface). */
export interface VirtualNetworkInterface {
  uuid: string;
  mode: 'public' | 'vrack';
  name: string;
  networkInterfaceController: string[];
  serverName: string;
  vrack: string | null;
  enabled: boolean;
}

/** `configurable` (the default): has virtual network interfaces; `legacy`: joins a vRack by service name. */
export type ServerNetworkKind = 'configurable' | 'legacy';

export interface VrackServerView {
  serviceName: string;
  serverId: number;
  kind: ServerNetworkKind;
}

export interface VrackDeps {
  server(serviceName: string): VrackServerView | undefined;
  servers(): VrackServerView[];
  nextTaskId(): number;
  /** Runs the task for the vRack task latency; `end` applies its effect. */
  runTask(task: { status: string; lastUpdate: string }, end: () => void): void;
  onTaskEnded(event: { function: string; target: string; ok: boolean; detail: Record<string, unknown> }): void;
}

interface Vrack {
  serviceName: string;
  /** Legacy members, by service name. */
  servers: Set<string>;
  /** Members through an interface, by UUID. */
  interfaces: Set<string>;
  tasks: VrackTask[];
}

const iso = () => new Date().toISOString();
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** Deterministic interfaces of a configurable server: the public one and the vrack one. */
export function interfacesOf(server: VrackServerView): Omit<VirtualNetworkInterface, 'vrack'>[] {
  if (server.kind === 'legacy') return [];
  const mac = (i: number) => `02:00:${hex(server.serverId * 2 + i, 8).match(/../g)!.join(':')}`;
  return (['public', 'vrack'] as const).map((mode, i) => ({
    uuid: `5e1f0000-0000-4000-8000-${hex(server.serverId * 2 + i, 12)}`,
    mode,
    name: mode === 'public' ? 'ovh_public' : 'ovh_vrack',
    networkInterfaceController: [mac(i)],
    serverName: server.serviceName,
    enabled: true,
  }));
}

export class VrackState {
  private readonly vracks = new Map<string, Vrack>();

  constructor(
    init: { serviceName: string; dedicatedServers?: string[] }[],
    private readonly deps: VrackDeps,
  ) {
    for (const v of init) {
      const vrack: Vrack = { serviceName: v.serviceName, servers: new Set(), interfaces: new Set(), tasks: [] };
      for (const name of v.dedicatedServers ?? []) {
        const server = deps.server(name);
        const vni = server && interfacesOf(server).find((i) => i.mode === 'vrack');
        if (vni) vrack.interfaces.add(vni.uuid);
        else vrack.servers.add(name);
      }
      this.vracks.set(v.serviceName, vrack);
    }
  }

  names(): string[] {
    return [...this.vracks.keys()];
  }

  /** GET /vrack/{sn} */
  get(service: string) {
    return { name: this.vrack(service).serviceName, description: '' };
  }

  /** Every member's service name, whichever way it joined (for tests and the sandbox's own checks). */
  memberServers(service: string): string[] {
    const v = this.vrack(service);
    const byInterface = [...v.interfaces].map((uuid) => this.findInterface(uuid)?.serverName).filter((n): n is string => n !== undefined);
    return [...v.servers, ...byInterface];
  }

  /** GET /vrack/{sn}/dedicatedServer */
  legacyMembers(service: string): string[] {
    return [...this.vrack(service).servers];
  }

  /** GET /vrack/{sn}/dedicatedServer/{server} */
  legacyMember(service: string, server: string) {
    const v = this.vrack(service);
    if (!v.servers.has(server)) throw notFound(UNVERIFIED.unknownService(server));
    return { vrack: v.serviceName, dedicatedServer: server };
  }

  /** GET /vrack/{sn}/dedicatedServerInterface */
  interfaceMembers(service: string): string[] {
    return [...this.vrack(service).interfaces];
  }

  /** GET /vrack/{sn}/dedicatedServerInterface/{uuid} */
  interfaceMember(service: string, uuid: string) {
    const v = this.vrack(service);
    if (!v.interfaces.has(uuid)) throw notFound(UNVERIFIED.unknownInterface(uuid));
    return { vrack: v.serviceName, dedicatedServerInterface: uuid };
  }

  /** GET /dedicated/server/{sn}/virtualNetworkInterface?enabled=&mode=&name=&vrack= */
  serverInterfaceIds(server: VrackServerView, filter: { enabled?: string; mode?: string; name?: string; vrack?: string }): string[] {
    return this.serverInterfaces(server)
      .filter(
        (i) =>
          (filter.enabled === undefined || String(i.enabled) === filter.enabled) &&
          (filter.mode === undefined || i.mode === filter.mode) &&
          (filter.name === undefined || i.name === filter.name) &&
          (filter.vrack === undefined || i.vrack === filter.vrack),
      )
      .map((i) => i.uuid);
  }

  /** GET /dedicated/server/{sn}/virtualNetworkInterface/{uuid}, or GET /dedicated/server/virtualNetworkInterface/{uuid} without a server. */
  serverInterface(server: VrackServerView | undefined, uuid: string): VirtualNetworkInterface {
    const found = server ? this.serverInterfaces(server).find((i) => i.uuid === uuid) : this.findInterface(uuid);
    if (!found) throw notFound(UNVERIFIED.unknownVni(uuid));
    return found;
  }

  /** POST /vrack/{sn}/dedicatedServer (LEGACY in the schema). */
  addServer(service: string, body: { dedicatedServer?: unknown }, options: TaskOptions = {}): VrackTask {
    const v = this.vrack(service);
    const name = String(body.dedicatedServer);
    const server = this.deps.server(name);
    if (!server) throw badRequest(UNVERIFIED.unknownService(name));
    if (server.kind === 'configurable') throw badRequest(UNVERIFIED.vrackLegacyRefused(name));
    if (v.servers.has(name)) throw badRequest(UNVERIFIED.vrackAlreadyMember(name, v.serviceName));
    const other = [...this.vracks.values()].find((o) => o !== v && o.servers.has(name));
    if (other) throw badRequest(UNVERIFIED.vrackInOtherVrack(name, other.serviceName));
    return this.startAdd(v, UNVERIFIED.vrackAddFunction, name, name, () => v.servers.add(name), options);
  }

  /** POST /vrack/{sn}/dedicatedServerInterface */
  addInterface(service: string, body: { dedicatedServerInterface?: unknown }, options: TaskOptions = {}): VrackTask {
    const v = this.vrack(service);
    const uuid = String(body.dedicatedServerInterface);
    const vni = this.findInterface(uuid);
    if (!vni) throw badRequest(UNVERIFIED.unknownInterface(uuid));
    if (vni.mode !== 'vrack') throw badRequest(UNVERIFIED.interfaceNotVrack(uuid, vni.mode));
    if (v.interfaces.has(uuid)) throw badRequest(UNVERIFIED.vrackAlreadyMember(vni.serverName, v.serviceName));
    if (vni.vrack !== null) throw badRequest(UNVERIFIED.vrackInOtherVrack(vni.serverName, vni.vrack));
    const target = UNVERIFIED.vrackInterfaceTaskTarget === 'uuid' ? uuid : vni.serverName;
    return this.startAdd(v, UNVERIFIED.vrackAddInterfaceFunction, target, vni.serverName, () => v.interfaces.add(uuid), options);
  }

  /** GET /vrack/{sn}/task: done tasks are gone. */
  taskIds(service: string): number[] {
    return this.vrack(service).tasks.map((t) => t.id);
  }

  /** GET /vrack/{sn}/task/{id} */
  task(service: string, id: string): VrackTask {
    const task = this.vrack(service).tasks.find((t) => String(t.id) === id);
    if (!task) throw notFound(UNVERIFIED.unknownVrackTask(id));
    return { ...task };
  }

  /** A vRack task on `targetDomain` (an IP block: ../state.ts vrackAddIp); `pendingMessage` words the 409 of a second one. */
  startTask(service: string, fn: string, targetDomain: string, pendingMessage: (target: string, id: number) => string, apply: () => void, options: TaskOptions): VrackTask {
    return this.startAdd(this.vrack(service), fn, targetDomain, targetDomain, apply, options, pendingMessage);
  }

  private startAdd(v: Vrack, fn: string, targetDomain: string, server: string, apply: () => void, options: TaskOptions, pendingMessage = UNVERIFIED.vrackPending): VrackTask {
    const pending = v.tasks.find((t) => t.targetDomain === targetDomain && isPending(t.status));
    if (pending) throw conflict(pendingMessage(server, pending.id));
    const now = iso();
    const task: VrackTask = { id: this.deps.nextTaskId(), function: fn, status: 'todo', serviceName: v.serviceName, targetDomain, orderId: null, todoDate: now, lastUpdate: now };
    v.tasks.push(task);
    this.deps.runTask(task, () => {
      if (options.taskError !== undefined) {
        task.status = UNVERIFIED.vrackFailedStatus;
        task.lastUpdate = iso();
      } else {
        apply();
        task.status = 'done';
        v.tasks.splice(v.tasks.indexOf(task), 1); // finished vRack tasks vanish
      }
      this.deps.onTaskEnded({ function: fn, target: v.serviceName, ok: task.status === 'done', detail: { id: task.id, status: task.status, dedicatedServer: server } });
    });
    return { ...task };
  }

  private serverInterfaces(server: VrackServerView): VirtualNetworkInterface[] {
    return interfacesOf(server).map((i) => ({ ...i, vrack: [...this.vracks.values()].find((v) => v.interfaces.has(i.uuid))?.serviceName ?? null }));
  }

  private findInterface(uuid: string): VirtualNetworkInterface | undefined {
    for (const server of this.deps.servers()) {
      const found = this.serverInterfaces(server).find((i) => i.uuid === uuid);
      if (found) return found;
    }
    return undefined;
  }

  private vrack(service: string): Vrack {
    const v = this.vracks.get(service);
    if (!v) throw notFound(UNVERIFIED.unknownService(service));
    return v;
  }
}
