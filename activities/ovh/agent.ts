// The HTTPS agent the `ovh` client goes through: connections kept alive, with a bound on
// what the client leaves behind on them.
//
// The `ovh` client calls https.request with Node's global agent and no way to pass another,
// so this agent is installed as https.globalAgent (nothing else in the worker uses it:
// Proxmox goes through undici, Temporal through gRPC).
//
// Why keep-alive matters: a fresh connection per call costs a TLS handshake, about 3.4 ms of
// CPU per call against 0.9 ms on a kept connection (measured against the sandbox, both ends
// in one process). A bootstrap of 24 servers makes hundreds of OVH calls at once (vRack joins
// and their task polls), so it is the difference between a busy and a saturated worker.
//
// What goes wrong without care: for every request the client adds a 'timeout' listener to
// the socket (`socket.on('timeout', () => req.abort())`) and never removes it. On a kept
// socket these pile up, each holding its finished request. Node offers no hook to take them
// off, so a socket serves at most MAX_REQUESTS_PER_SOCKET requests and is then closed; the
// listener limit is raised to that bound so Node does not warn about a leak that is capped.
// An old listener firing on a later timeout aborts a request that has already ended: a no-op.
//
// Trust: a CA a spec names is trusted for that spec's endpoint (host:port) only; every other
// host is verified against Node's roots alone. The agent pools connections per host:port
// (getName), so a socket verified with one endpoint's CAs never serves another endpoint.
// Verification is always on, whatever NODE_TLS_REJECT_UNAUTHORIZED says: Node only reads
// that variable when a connection does not set rejectUnauthorized.
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import tls from 'node:tls';

/** Requests one kept connection serves before it is closed (bounds the client's stale listeners). */
export const MAX_REQUESTS_PER_SOCKET = 64;
/** An idle connection is closed after this; below the 5 s keep-alive of common HTTP servers, so a reused one is rarely already closed by the other end. */
export const IDLE_SOCKET_TIMEOUT_MS = 4000;

/** The key trust is registered under: how the agent names a connection's destination. */
export function endpointKey(host: string, port: number | string | undefined): string {
  return `${host.toLowerCase()}:${Number(port ?? 443)}`;
}

/** Node's roots plus `extra`, as one secure context. */
function contextTrusting(extra: readonly string[]): tls.SecureContext {
  // Without `ca`, the context starts from Node's root store, parsed once per process in
  // native code. Passing the ~150 roots as `ca` instead re-parses every PEM: 30 ms idle and
  // ~100 ms on a busy worker, all of it blocking the event loop. So the extra CAs are added
  // to a default context through the method createSecureContext uses for `ca` itself; should
  // a Node version lack it, the full list is the fallback.
  const context = tls.createSecureContext();
  const native = (context as unknown as { context?: { addCACert?: (pem: string) => void } }).context;
  if (typeof native?.addCACert !== 'function') return tls.createSecureContext({ ca: [...tls.rootCertificates, ...extra] });
  for (const pem of extra) native.addCACert(pem);
  return context;
}

export class OvhClientAgent extends https.Agent {
  private readonly served = new WeakMap<Socket, number>();
  /** Per endpoint key: the CAs specs named for it, and the context trusting them beside Node's roots. */
  private readonly trusted = new Map<string, { cas: string[]; context: tls.SecureContext }>();

  constructor(options: https.AgentOptions = {}) {
    super({ ...options, keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS });
  }

  /** Trusts the CA in `pem` for TLS connections to host:port, and nowhere else (idempotent). */
  trust(host: string, port: number, pem: string): void {
    const key = endpointKey(host, port);
    const cas = this.trusted.get(key)?.cas ?? [];
    if (cas.includes(pem)) return;
    // A new context rather than one changed in place: connections already open keep theirs.
    const next = [...cas, pem];
    this.trusted.set(key, { cas: next, context: contextTrusting(next) });
  }

  /** The CAs trusted beside Node's roots for host:port (empty: Node's roots only). */
  trustedCas(host: string, port: number): readonly string[] {
    return this.trusted.get(endpointKey(host, port))?.cas ?? [];
  }

  override createConnection(options: https.RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const registered = this.trusted.get(endpointKey(options.host ?? options.hostname ?? 'localhost', options.port ?? options.defaultPort ?? undefined));
    return super.createConnection(
      { ...options, ...(registered ? { secureContext: registered.context } : {}), rejectUnauthorized: true } as https.RequestOptions,
      callback,
    );
  }

  /** Called by Node when a request is done with the socket: keep it unless it has served its share. */
  override keepSocketAlive(socket: Socket): boolean {
    const served = (this.served.get(socket) ?? 0) + 1;
    this.served.set(socket, served);
    if (served >= MAX_REQUESTS_PER_SOCKET) return false; // Node destroys it
    socket.setMaxListeners(MAX_REQUESTS_PER_SOCKET + 10); // + Node's own listeners
    // Node's own answer (typed void in @types/node; it returns true to keep the socket).
    return (super.keepSocketAlive(socket) as unknown) !== false;
  }
}
