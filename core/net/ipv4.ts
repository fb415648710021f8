// IPv4 arithmetic for spec checks and config rendering. Small and pure on purpose:
// workflows import it too, so it must not pull in Node's `net` module.

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

export function ipv4ToNumber(ip: string): number {
  if (!isIpv4(ip)) throw new Error(`${JSON.stringify(ip)} is not an IPv4 address`);
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export interface Ipv4Cidr {
  network: number;
  prefix: number;
}

export function parseCidr(text: string): Ipv4Cidr | undefined {
  const [ip, prefixText, extra] = text.split('/');
  if (extra !== undefined || prefixText === undefined || !isIpv4(ip) || !/^\d{1,2}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  return { network: Math.floor(ipv4ToNumber(ip) / size) * size, prefix };
}

/** True when `ip` is a usable host address of `cidr` (not its network or broadcast address, for prefixes up to /30). */
export function isHostInCidr(ip: string, cidr: Ipv4Cidr): boolean {
  if (!isIpv4(ip)) return false;
  const size = 2 ** (32 - cidr.prefix);
  const value = ipv4ToNumber(ip);
  if (value < cidr.network || value >= cidr.network + size) return false;
  if (size >= 4 && (value === cidr.network || value === cidr.network + size - 1)) return false;
  return true;
}

/** True when `ip` lies in `cidr`, network and broadcast addresses included. */
export function cidrContains(cidr: Ipv4Cidr, ip: string): boolean {
  if (!isIpv4(ip)) return false;
  const value = ipv4ToNumber(ip);
  return value >= cidr.network && value < cidr.network + 2 ** (32 - cidr.prefix);
}

const block = (text: string): Ipv4Cidr => parseCidr(text)!;

/** RFC 1918: what a private network such as an OVH vRack is numbered from. */
export const PRIVATE_BLOCKS: readonly Ipv4Cidr[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map(block);
export const LOOPBACK_BLOCK: Ipv4Cidr = block('127.0.0.0/8');
/**
 * Where sandboxes number their simulated nodes (sandbox/node-network.ts): 127.64.0.0/10, clear
 * of 127.0.0.0/16, where this machine's own services listen (sshd on 127.0.0.1:22 among them).
 */
export const SANDBOX_NODE_BLOCK: Ipv4Cidr = block('127.64.0.0/10');

/** Whether `cidr` lies wholly inside `outer`. */
export function cidrWithin(cidr: Ipv4Cidr, outer: Ipv4Cidr): boolean {
  const size = 2 ** (32 - outer.prefix);
  return cidr.prefix >= outer.prefix && Math.floor(cidr.network / size) * size === outer.network;
}

/**
 * Addresses that are never a publicly routed unicast address (RFC 6890): "this network",
 * private, shared (CGNAT), loopback, link-local, IETF protocol assignments, benchmarking,
 * multicast, reserved and broadcast. The documentation ranges of RFC 5737 (192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24) are deliberately not here: they are public-shaped
 * addresses that are never routed, which is what examples and the sandbox need.
 */
const NOT_PUBLIC: readonly { cidr: Ipv4Cidr; what: string }[] = [
  ['0.0.0.0/8', '"this network"'],
  ['10.0.0.0/8', 'private (RFC 1918)'],
  ['100.64.0.0/10', 'shared address space (CGNAT)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private (RFC 1918)'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.168.0.0/16', 'private (RFC 1918)'],
  ['198.18.0.0/15', 'benchmarking'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved or broadcast'],
].map(([cidr, what]) => ({ cidr: block(cidr), what }));

/** Why `ip` is not a public unicast address (e.g. "loopback"), or undefined when it is one. */
export function notPublicBecause(ip: string): string | undefined {
  if (!isIpv4(ip)) return 'not an IPv4 address';
  return NOT_PUBLIC.find((b) => cidrContains(b.cidr, ip))?.what;
}

/** A network inside 127.0.0.0/8: every address of it is this machine's own (the sandbox's node networks). */
export function isLoopbackCidr(cidr: Ipv4Cidr): boolean {
  return cidrWithin(cidr, LOOPBACK_BLOCK);
}

/** True when the whole of `cidr` lies inside one RFC 1918 block. */
export function isPrivateCidr(cidr: Ipv4Cidr): boolean {
  return PRIVATE_BLOCKS.some((b) => {
    const size = 2 ** (32 - b.prefix);
    return b.prefix <= cidr.prefix && Math.floor(cidr.network / size) * size === b.network;
  });
}
