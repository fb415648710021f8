// One simulated node's Talos API port (<ip>:50000 on loopback): open while the node answers,
// closed (so a dial is refused) while it installs, reboots or its VM is off. Each connection
// gets the TLS a real node would present at that moment: the maintenance service's
// self-signed certificate and no client certificate, or apid's certificate from the OS CA
// with client certificates required and verified against that CA. The TCP connection is
// handed to the node's gRPC server through a connection injector made for that TLS set-up
// (grpc-js terminates TLS), so one listener changes certificates without a rebind.
import { createServer, type Server, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { TalosNodeWire } from '../talos-api';
import { fromBase64, issueServerCert, selfSignedCert } from './certs';

type ConnectionInjector = ReturnType<grpc.Server['createConnectionInjector']>;

export class NodePort {
  private server?: Server;
  private opening?: Promise<void>;
  private readonly sockets = new Set<Socket>();
  private readonly making = new Map<string, Promise<ConnectionInjector>>();
  /** Injectors ready to use: a connection is handed over at once, before the socket reads anything. */
  private readonly ready = new Map<string, ConnectionInjector>();
  /** Until when (ms since epoch) the port stays open although the node no longer serves; see holdOpen. */
  private heldUntil = 0;
  /** The TLS set-up of the node's last serving moment, for connections made while the port is held open. */
  private lastServing?: string;

  constructor(
    readonly ip: string,
    readonly port: number,
    private readonly wire: () => TalosNodeWire,
    private readonly grpcServer: grpc.Server,
    /** Called each time the port opens after being closed: the node has (re)booted. */
    private readonly onBoot: () => void = () => undefined,
  ) {}

  /**
   * Keeps the port open for `ms` whatever the node's state: a node that is resetting still
   * runs apid until its services stop. Calls made meanwhile reach the node's state machine,
   * which answers as a resetting node does.
   */
  holdOpen(ms: number): void {
    this.heldUntil = Math.max(this.heldUntil, Date.now() + ms);
  }

  private get held(): boolean {
    return Date.now() < this.heldUntil && this.lastServing !== undefined;
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  /** Opens or closes the port to match what the node presents now (`now`: already looked up). */
  async reconcile(now?: TalosNodeWire): Promise<void> {
    const w = now ?? this.wire();
    const serving = w.serving && !(w.mode === 'configured' && !w.osCa.key);
    if (serving) {
      await this.injectorFor(w).catch(() => undefined);
      // Configured before, in maintenance mode now: the node rebooted while its port looked
      // open (held, or between two looks). A reboot drops every connection.
      const rebooted = this.server !== undefined && this.lastServing !== undefined && this.lastServing !== 'maintenance' && injectorKey(w) === 'maintenance';
      if (rebooted) await this.close(0);
      this.lastServing = injectorKey(w);
    }
    if (serving && !this.server) {
      await this.open(w);
      this.onBoot();
    } else if (!serving && this.server && !this.held) await this.close();
  }

  private open(w: TalosNodeWire): Promise<void> {
    this.opening ??= (async () => {
      // Certificates first, so the first handshake does not wait for key generation.
      await this.injectorFor(w).catch(() => undefined);
      const server = createServer((socket) => this.accept(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.port, this.ip, () => resolve());
      }).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`cannot serve the Talos API of simulated node ${this.ip} on ${this.ip}:${this.port}: ${err.code ?? err.message}${err.code === 'EADDRINUSE' ? ' (another simulator or test uses this address; give each test file its own node addresses)' : ''}`);
      });
      server.on('error', () => undefined);
      this.server = server;
    })().finally(() => (this.opening = undefined));
    return this.opening;
  }

  /**
   * Closes the port (new dials are refused) and drops every connection after `graceMs`: the
   * node went down. The grace lets the answer that took it down (an apply that reboots it,
   * a reset) reach the client first, as a real node answers before it reboots.
   */
  async close(graceMs = 250): Promise<void> {
    await this.opening?.catch(() => undefined);
    const server = this.server;
    this.server = undefined;
    this.heldUntil = 0;
    const open = [...this.sockets];
    this.sockets.clear();
    if (graceMs > 0) setTimeout(() => open.forEach((s) => s.destroy()), graceMs).unref();
    else open.forEach((s) => s.destroy());
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const w = this.wire();
    const serving = w.serving && !(w.mode === 'configured' && !w.osCa.key);
    if (!serving && !this.held) {
      socket.destroy();
      void this.reconcile();
      return;
    }
    const injector = this.ready.get(serving ? injectorKey(w) : this.lastServing!);
    if (!injector) {
      // Its certificate is still being made (the node changed a moment ago): as if not up yet.
      socket.destroy();
      void this.reconcile();
      return;
    }
    injector.injectConnection(socket);
  }

  private injectorFor(w: TalosNodeWire): Promise<ConnectionInjector> {
    const key = injectorKey(w);
    let making = this.making.get(key);
    if (!making) {
      making = (async () => {
        if (!w.serving) throw new Error('not serving');
        if (w.mode === 'maintenance') {
          const own = await selfSignedCert(this.ip);
          return this.grpcServer.createConnectionInjector(grpc.ServerCredentials.createSsl(null, [pair(own)], false));
        }
        const ca = { crtPem: fromBase64(w.osCa.crt), keyPem: fromBase64(w.osCa.key!) };
        const own = await issueServerCert(ca, this.ip, w.hostname);
        return this.grpcServer.createConnectionInjector(grpc.ServerCredentials.createSsl(Buffer.from(ca.crtPem), [pair(own)], true));
      })();
      making.then(
        (injector) => this.ready.set(key, injector),
        () => this.making.delete(key),
      );
      this.making.set(key, making);
    }
    return making;
  }
}

const pair = (p: { certPem: string; keyPem: string }) => ({ cert_chain: Buffer.from(p.certPem), private_key: Buffer.from(p.keyPem) });

function injectorKey(w: TalosNodeWire): string {
  if (!w.serving) throw new Error('not serving');
  return w.mode === 'maintenance' ? 'maintenance' : `${w.caFingerprint}|${w.hostname}`;
}
