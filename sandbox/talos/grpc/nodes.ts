// Simulated Talos nodes that speak the Talos API over gRPC, one port per node address on
// loopback, in front of the node state machine (TalosApi). The real talosctl dials them as
// it would real nodes:
//
//   const api = new TalosApi({ lookupNode, audit });
//   const nodes = new TalosGrpcNodes({ api });
//   await nodes.serve(['127.10.0.61', '127.10.0.62']);
//   // talosctl apply-config --insecure -n 127.10.0.61 -f controlplane.yaml
//   await nodes.stop();
//
// A port opens while its node answers (its VM runs, it is in maintenance mode or running)
// and closes while it installs or reboots, checked every `reconcileMs` and on each dial.
import * as grpc from '@grpc/grpc-js';
import type { GrpcObject, ServiceClientConstructor } from '@grpc/grpc-js';
import type { TalosAnswer, TalosCall } from '../protocol';
import type { TalosApi } from '../talos-api';
import { TALOS_API_PORT } from '../wording';
import { cosiStateService } from './cosi-state';
import { DEFAULT_TALOS_API_VERSION, loadTalosApi } from './descriptors';
import { clusterService, machineService, type ServiceContext } from './machine-service';
import { NodeEvents } from './events';
import { LOOPBACK } from './local-guard';
import { NodePort } from './node-port';
import { callerOf } from './routing';

export interface TalosGrpcNodesOptions {
  api: TalosApi;
  /** How a call reaches the state machine (the sandbox routes it through its fault injector); default api.handle. */
  handle?: (call: TalosCall) => Promise<TalosAnswer>;
  /** Default 50000, Talos's apid port: talosctl dials it for every endpoint. */
  port?: number;
  /** Platform the nodes report in Version (default "metal"). */
  platform?: string;
  talosApiVersion?: string;
  reconcileMs?: number;
}

const definitions = new Map<string, GrpcObject>();
function talosGrpc(version: string): GrpcObject {
  let object = definitions.get(version);
  if (!object) {
    object = grpc.loadPackageDefinition(loadTalosApi(version));
    definitions.set(version, object);
  }
  return object;
}

function serviceOf(root: GrpcObject, name: string): grpc.ServiceDefinition {
  const ctor = name.split('.').reduce<unknown>((o, part) => (o as Record<string, unknown>)[part], root) as ServiceClientConstructor;
  return ctor.service;
}

/** Only loopback: real talosctl dials exactly these addresses, and nothing may leave this machine. */
export function requireLoopback(ip: string): void {
  if (!LOOPBACK.test(ip)) {
    throw new Error(`simulated Talos node address ${JSON.stringify(ip)} is not a loopback address (127.0.0.0/8); the gRPC nodes serve only on this machine`);
  }
}

export class TalosGrpcNodes {
  private readonly ports = new Map<string, { port: NodePort; server: grpc.Server }>();
  private timer?: NodeJS.Timeout;
  private readonly events = new NodeEvents();
  private readonly handle: (call: TalosCall) => Promise<TalosAnswer>;

  constructor(private readonly options: TalosGrpcNodesOptions) {
    this.handle = options.handle ?? (async (call) => options.api.handle(call));
  }

  /** Starts serving these node addresses (idempotent); resolves once each answering node's port is open. */
  async serve(ips: string[]): Promise<void> {
    ips.forEach(requireLoopback);
    const root = talosGrpc(this.options.talosApiVersion ?? DEFAULT_TALOS_API_VERSION);
    for (const ip of ips) {
      if (this.ports.has(ip)) continue;
      const server = new grpc.Server();
      const ctx: ServiceContext = {
        caller: (call) => callerOf(call, ip, this.options.api.wire(ip)),
        handle: this.handle,
        platform: this.options.platform ?? 'metal',
        events: this.events,
        holdOpen: (target, ms) => this.ports.get(target)?.port.holdOpen(ms),
      };
      server.addService(serviceOf(root, 'machine.MachineService'), machineService(ctx));
      server.addService(serviceOf(root, 'cluster.ClusterService'), clusterService(ctx));
      server.addService(serviceOf(root, 'cosi.resource.State'), cosiStateService(ctx));
      // A node whose port opens again has booted: machined's event buffer lives in memory.
      const port = new NodePort(ip, this.options.port ?? TALOS_API_PORT, () => this.options.api.wire(ip), server, () => this.events.forget(ip));
      this.ports.set(ip, { port, server });
    }
    this.timer ??= setInterval(() => void this.sync().catch(() => undefined), this.options.reconcileMs ?? 50).unref();
    await this.sync();
  }

  /** Opens and closes ports to match the nodes now (the timer does it too; tests call it to not wait). */
  async sync(): Promise<void> {
    const wires = this.options.api.wires([...this.ports.keys()]);
    await Promise.all([...this.ports.values()].map(({ port }) => port.reconcile(wires.get(port.ip))));
  }

  /** Which served addresses accept connections now. */
  listening(): string[] {
    return [...this.ports.values()].filter(({ port }) => port.listening).map(({ port }) => port.ip);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const all = [...this.ports.values()];
    this.ports.clear();
    await Promise.all(all.map(async ({ port, server }) => {
      await port.close(0);
      server.forceShutdown();
    }));
  }
}
