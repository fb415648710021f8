// The sandbox's node network: a /24 on loopback, where its simulated Talos nodes listen on
// their own addresses (<ip>:50000) as real nodes do on the vRack. The real talosctl dials
// exactly the addresses a spec names, so they must be this machine's own; 127.0.0.0/8 is all
// local on Linux, and each address is bound separately.
//
// Several sandboxes run at once (parallel test files, a CI run beside a developer's), and two
// on one /24 would answer for each other's nodes. A sandbox therefore holds its network by
// listening on its gateway address (x.y.z.1:50000, never a node's) for as long as it runs:
// the bind is the lock, taken atomically by the kernel and released when the process dies.
// The first network tried is a hash of the cluster name, so one cluster keeps its addresses
// from run to run, which readers of logs and the demo's output can rely on.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { TALOS_API_PORT } from './talos/wording';

/** 127.64.0.0/10: 16,384 /24s, clear of 127.0.0.0/16 (where services bind 127.0.0.1) and the fixed test addresses under 127.10. */
const FIRST_OCTET = { min: 64, count: 64 };
const NETWORKS = FIRST_OCTET.count * 256;
const ATTEMPTS = 64;

export interface NodeNetwork {
  /** The first three octets, e.g. "127.77.140". */
  prefix: string;
  cidr: string;
  gateway: string;
  apiVip: string;
  /** Gives the network up (stops listening on its gateway address). */
  release(): Promise<void>;
}

/** The /24 numbered `n` (0 .. NETWORKS-1) inside 127.64.0.0/10. */
export function loopbackNetworkPrefix(n: number): string {
  const k = ((n % NETWORKS) + NETWORKS) % NETWORKS;
  return `127.${FIRST_OCTET.min + Math.floor(k / 256)}.${k % 256}`;
}

/** Where the search for `clusterName`'s network starts. */
export function preferredNetworkIndex(clusterName: string): number {
  return createHash('sha256').update(clusterName).digest().readUInt32BE(0) % NETWORKS;
}

function listen(ip: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen(TALOS_API_PORT, ip, () => resolve(server));
  });
}

/** Takes the first free /24 from the cluster name's preferred one on; throws after ATTEMPTS taken ones. */
export async function leaseNodeNetwork(clusterName: string): Promise<NodeNetwork> {
  const start = preferredNetworkIndex(clusterName);
  for (let i = 0; i < ATTEMPTS; i++) {
    const prefix = loopbackNetworkPrefix(start + i);
    const holder = await listen(`${prefix}.1`);
    if (!holder) continue;
    holder.unref();
    return {
      prefix,
      cidr: `${prefix}.0/24`,
      gateway: `${prefix}.1`,
      apiVip: `${prefix}.5`,
      release: () => new Promise<void>((resolve) => holder.close(() => resolve())),
    };
  }
  throw new Error(`no free loopback node network for sandbox ${clusterName}: ${ATTEMPTS} networks from ${loopbackNetworkPrefix(start)}.0/24 on are held by other sandboxes on this machine`);
}
