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
