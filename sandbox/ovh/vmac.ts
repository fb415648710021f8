// The simulated virtual MACs of dedicated servers (docs/contracts.md §A.7), and the network facts
// a server publishes (`GET /dedicated/server/{sn}/specifications/network`).
//
// A virtual MAC belongs to a server and carries one or more failover IPs. What follows a move,
// from OVH's guides (quoted in issue 16): a unique virtual MAC is suspended while the IP moves
// and "will appear on the new server once the move is complete"; a MAC shared by several IPs
// (duplicate) refuses the move; the target must support virtual MACs; an IP moved into the vRack
// loses its MAC. Refusal wordings are the simulator's own (PUBLIC_PATH_UNVERIFIED).
import { badRequest, conflict, notFound } from './errors';
import type { TaskOptions } from './state';

/**
 * Wordings and names that no source gives; each is the simulator's guess (docs/contracts.md §A.7).
 */
export const PUBLIC_PATH_UNVERIFIED = {
  /**
   * Server task `function` of POST …/virtualMac. dedicated.TaskFunctionEnum lists both
   * `addVirtualMac` and `virtualMacAdd`; which one OVH uses is not documented.
   */
  addVirtualMacFunction: 'addVirtualMac',
  /** Server task `function` of POST …/virtualMac/{mac}/virtualAddress (the enum has no other candidate name). */
  addVirtualAddressFunction: 'virtualMacAdd',
  /** Server task `function` of POST /dedicated/server/{sn}/ipMove (enum: genericMoveFloatingIp or moveFloatingIp). */
  ipMoveFunction: 'genericMoveFloatingIp',
  /** vRack task `function` of POST /vrack/{sn}/ip; vrack.Task.function is a free string. */
  vrackAddIpFunction: 'addBlockToVrack',
  /**
   * OVH's virtual MACs start with 02:00:00 (locally administered, unicast), as the MACs OVH
   * users quote do; the three last bytes are the simulator's own counter.
   */
  macPrefix: '02:00:00',
  vmacUnsupported: (server: string) => `The server ${server} does not support virtual MAC addresses`,
  ipNotRoutedHere: (ip: string, server: string) => `The IP ${ip} is not routed to ${server}`,
  ipAlreadyHasMac: (ip: string, mac: string) => `The IP ${ip} already has a virtual MAC (${mac})`,
  moveDuplicateMac: (ip: string, mac: string) => `The IP ${ip} shares its virtual MAC ${mac} with other IPs and cannot be moved`,
  moveTargetNoVmac: (ip: string, mac: string, server: string) => `The IP ${ip} has a virtual MAC (${mac}) and ${server} does not support virtual MAC addresses`,
  moveOtherRegion: (ip: string, server: string) => `The IP ${ip} cannot be moved to ${server}: it is in another region`,
  moveFromVrack: (ip: string, vrack: string) => `The IP ${ip} is routed to the vRack ${vrack}; remove it from the vRack before moving it`,
  vrackBlockAlready: (block: string, vrack: string) => `The block ${block} is already in the vRack ${vrack}`,
  vrackBlockPending: (block: string, taskId: number) => `A task adding ${block} to a vRack is already in progress (task ${taskId})`,
  vrackBlockUnknown: (block: string) => `The IP block ${block} does not belong to your account`,
  vmacPending: (ip: string) => `A virtual MAC task for ${ip} is already in progress`,
  unknownMac: (mac: string) => `The requested object (macAddress = ${mac}) does not exist`,
  unknownMacAddress: (ip: string) => `The requested object (ipAddress = ${ip}) does not exist`,
} as const;

/** Per-server network facts of the sandbox (OvhStateInit.dedicatedServers[]). */
export interface ServerNetworkInit {
  /** specifications/network vmac.supported; default true. */
  vmacSupported?: boolean;
  /** routing.ipv4.gateway; default `198.51.100.254` (RFC 5737 TEST-NET-2, never routed anywhere); null for none. */
  gateway?: string | null;
  /** GET /dedicated/server/{sn} region; default derived from the datacenter (`eu-west-gra`). */
  region?: string;
}

export const DEFAULT_SANDBOX_GATEWAY = '198.51.100.254';

/** GET /dedicated/server/{sn}/specifications/network, with only the sections autok8s reads filled. */
export function networkSpecifications(server: { mainIp: string; vmacSupported: boolean; gateway: string | null }) {
  return {
    bandwidth: null,
    connection: null,
    ola: null,
    routing: { ipv4: { gateway: server.gateway, ip: server.mainIp, network: `${server.mainIp.split('.').slice(0, 3).join('.')}.0/24` }, ipv6: null },
    switching: null,
    traffic: null,
    vmac: { supported: server.vmacSupported },
    vrack: null,
  };
}

interface VirtualMac {
  mac: string;
  server: string;
  type: string;
  /** IP → virtualMachineName. */
  addresses: Map<string, string>;
  /** While the IP it carries moves: listed nowhere, then on the target server. */
  suspended: boolean;
}

export interface VmacDeps {
  vmacSupported(server: string): boolean;
  /** Where the (bare) IP is routed; throws OVH's 404 for an IP not in the account. */
  routing(ip: string): string | null;
  /** Starts a server task of the virtual-MAC latency; `end` applies the effect (or not, when the task fails). */
  startServerTask(server: string, fn: string, options: TaskOptions, end: (ok: boolean) => void): unknown;
}

export class VmacState {
  private readonly macs: VirtualMac[] = [];
  /** IPs a virtual-MAC task is adding right now. */
  private readonly adding = new Set<string>();
  private nextMac = 0x9c0001;

  constructor(private readonly deps: VmacDeps) {}

  /** GET /dedicated/server/{sn}/virtualMac */
  macsOf(server: string): string[] {
    return this.macs.filter((m) => m.server === server && !m.suspended).map((m) => m.mac);
  }

  /** GET /dedicated/server/{sn}/virtualMac/{mac} */
  get(server: string, mac: string) {
    const m = this.find(server, mac);
    return { macAddress: m.mac, type: m.type };
  }

  /** GET …/virtualMac/{mac}/virtualAddress */
  addressesOf(server: string, mac: string): string[] {
    return [...this.find(server, mac).addresses.keys()];
  }

  /** GET …/virtualMac/{mac}/virtualAddress/{ip} */
  address(server: string, mac: string, ip: string) {
    const name = this.find(server, mac).addresses.get(ip);
    if (name === undefined) throw notFound(PUBLIC_PATH_UNVERIFIED.unknownMacAddress(ip));
    return { ipAddress: ip, virtualMachineName: name };
  }

  /** The MAC that carries the IP and the server it is listed on (suspended during a move). */
  macFor(ip: string): { mac: string; server: string; suspended: boolean } | undefined {
    const m = this.macs.find((x) => x.addresses.has(ip));
    return m && { mac: m.mac, server: m.server, suspended: m.suspended };
  }

  /** POST /dedicated/server/{sn}/virtualMac {ipAddress, type, virtualMachineName} */
  create(server: string, body: { ipAddress?: unknown; type?: unknown; virtualMachineName?: unknown }, options: TaskOptions) {
    const ip = String(body.ipAddress);
    this.refuseAddress(server, ip);
    const mac = this.allocate();
    this.adding.add(ip);
    return this.deps.startServerTask(server, PUBLIC_PATH_UNVERIFIED.addVirtualMacFunction, options, (ok) => {
      this.adding.delete(ip);
      if (ok) this.macs.push({ mac, server, type: String(body.type), addresses: new Map([[ip, String(body.virtualMachineName)]]), suspended: false });
    });
  }

  /** POST …/virtualMac/{mac}/virtualAddress {ipAddress, virtualMachineName}: one more IP on an existing MAC. */
  addAddress(server: string, mac: string, body: { ipAddress?: unknown; virtualMachineName?: unknown }, options: TaskOptions) {
    const m = this.find(server, mac);
    const ip = String(body.ipAddress);
    this.refuseAddress(server, ip);
    this.adding.add(ip);
    return this.deps.startServerTask(server, PUBLIC_PATH_UNVERIFIED.addVirtualAddressFunction, options, (ok) => {
      this.adding.delete(ip);
      if (ok) m.addresses.set(ip, String(body.virtualMachineName));
    });
  }

  /** Throws OVH's answer when the IP may not move to `to` because of its virtual MAC. */
  checkMove(ip: string, to: string): void {
    const m = this.macs.find((x) => x.addresses.has(ip));
    if (!m) return;
    if (m.addresses.size > 1) throw badRequest(PUBLIC_PATH_UNVERIFIED.moveDuplicateMac(ip, m.mac));
    if (!this.deps.vmacSupported(to)) throw badRequest(PUBLIC_PATH_UNVERIFIED.moveTargetNoVmac(ip, m.mac, to));
  }

  /** A move task of the IP started: its unique MAC is suspended until the task ends. */
  moveStarted(ip: string): void {
    const m = this.macs.find((x) => x.addresses.has(ip));
    if (m) m.suspended = true;
  }

  /**
   * The move task ended. Done: the MAC appears on the target server (into a vRack or nowhere:
   * the IP loses its MAC). Failed: the MAC is back where it was.
   */
  moveEnded(ip: string, ok: boolean, to: string | null, toIsServer: boolean): void {
    const m = this.macs.find((x) => x.addresses.has(ip));
    if (!m) return;
    m.suspended = false;
    if (!ok) return;
    if (to !== null && toIsServer) m.server = to;
    else this.macs.splice(this.macs.indexOf(m), 1);
  }

  /** The IP left for a vRack: its MAC goes. */
  dropFor(ip: string): void {
    const m = this.macs.find((x) => x.addresses.has(ip));
    if (m) this.macs.splice(this.macs.indexOf(m), 1);
  }

  private refuseAddress(server: string, ip: string): void {
    if (!this.deps.vmacSupported(server)) throw badRequest(PUBLIC_PATH_UNVERIFIED.vmacUnsupported(server));
    if (this.deps.routing(ip) !== server) throw badRequest(PUBLIC_PATH_UNVERIFIED.ipNotRoutedHere(ip, server));
    const existing = this.macFor(ip);
    if (existing) throw badRequest(PUBLIC_PATH_UNVERIFIED.ipAlreadyHasMac(ip, existing.mac));
    if (this.adding.has(ip)) throw conflict(PUBLIC_PATH_UNVERIFIED.vmacPending(ip));
  }

  private allocate(): string {
    const n = this.nextMac++;
    return `${PUBLIC_PATH_UNVERIFIED.macPrefix}:${[16, 8, 0].map((s) => ((n >> s) & 0xff).toString(16).padStart(2, '0')).join(':')}`;
  }

  private find(server: string, mac: string): VirtualMac {
    const m = this.macs.find((x) => x.server === server && x.mac === mac.toLowerCase() && !x.suspended);
    if (!m) throw notFound(PUBLIC_PATH_UNVERIFIED.unknownMac(mac));
    return m;
  }
}
