// `ip -o -4 addr show [dev IFACE]` on the in-process LB host: the form the health pass runs to
// see whether keepalived holds the VRRP addresses here (activities/ssh/vrrp-look.ts). The
// output is iproute2's one-line form; the addresses are loopback and those keepalived's
// stand-in (sandbox/vrrp-sim.ts) gives the host while MASTER, which iproute2 lists as
// `secondary` when the interface already has its own address. Any other form is refused.
import type { CommandOutcome, HostFilesystem } from './commands';

const fail = (stderr: string): CommandOutcome => ({ code: 255, stdout: '', stderr: `${stderr}\n` });

export function ipCommand(args: string[], fs: HostFilesystem): CommandOutcome {
  const words = [...args];
  if (words[0] !== '-o' || words[1] !== '-4' || words[2] !== 'addr' || words[3] !== 'show') {
    return fail(`ip: only "ip -o -4 addr show [dev IFACE]" is supported by the in-process LB host`);
  }
  const rest = words.slice(4);
  let dev: string | undefined;
  if (rest.length === 2 && rest[0] === 'dev') dev = rest[1];
  else if (rest.length !== 0) return fail(`Command line is not complete. Try option "help"`);
  // The public NIC (eth1) may carry addresses without being among the interfaces the host was started with.
  const interfaces = [...new Set([...fs.interfaces, ...(fs.addresses ?? []).map((a) => a.dev)])];
  if (dev !== undefined && !interfaces.includes(dev)) return fail(`Device "${dev}" does not exist.`);
  const lines: string[] = [];
  interfaces.forEach((iface, index) => {
    if (dev !== undefined && iface !== dev) return;
    const held = iface === 'lo' ? [{ cidr: '127.0.0.1/8', scope: 'host' }] : (fs.addresses ?? []).filter((a) => a.dev === iface).map((a) => ({ cidr: a.cidr, scope: 'global secondary' }));
    for (const a of held) lines.push(`${index + 1}: ${iface}    inet ${a.cidr} scope ${a.scope} ${iface}\\       valid_lft forever preferred_lft forever`);
  });
  return { code: 0, stdout: lines.map((l) => `${l}\n`).join(''), stderr: '' };
}
