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
import https from 'node:https';
import type { Socket } from 'node:net';

/** Requests one kept connection serves before it is closed (bounds the client's stale listeners). */
export const MAX_REQUESTS_PER_SOCKET = 64;
/** An idle connection is closed after this; below the 5 s keep-alive of common HTTP servers, so a reused one is rarely already closed by the other end. */
export const IDLE_SOCKET_TIMEOUT_MS = 4000;

export class OvhClientAgent extends https.Agent {
  private readonly served = new WeakMap<Socket, number>();

  constructor(options: https.AgentOptions = {}) {
    super({ ...options, keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS });
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
