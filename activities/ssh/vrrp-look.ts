// Whether keepalived holds the VRRP addresses on an LB VM (is MASTER): what the health pass's
// split-brain reconcile reads (core/policies/vrrp-reconcile.ts). keepalived adds an instance's
// `virtual_ipaddress` on entering MASTER and removes it on leaving it (keepalived.conf(5)), so
// `ip -o -4 addr show dev <vRack NIC>` listing the API VIP is the MASTER's own mark; it needs
// nothing on the LB VM beyond iproute2 and the SSH access the push already uses, and unlike a
// state file written by a notify script it cannot lag behind the addresses.
import type { SecretResolver } from '../secrets';
import { SshSession, type OpenOptions, type SshTarget } from './session';

/** Whether iproute2's one-line output lists `address` (any prefix) on `iface`. */
export function listsAddress(ipOutput: string, iface: string, address: string): boolean {
  return ipOutput.split('\n').some((line) => {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\/\d+\s/.exec(line);
    return m !== null && m[1] === iface && m[2] === address;
  });
}

export async function holdsVrrpAddress(target: SshTarget, iface: string, address: string, deps: { secrets: SecretResolver; ssh?: OpenOptions }): Promise<boolean> {
  const session = await SshSession.open(target, deps.secrets, deps.ssh);
  try {
    const result = await session.run(['ip', '-o', '-4', 'addr', 'show', 'dev', iface], { timeoutMs: 5_000 });
    if (result.code !== 0) throw new Error(`ip addr show dev ${iface} on ${target.name ?? target.host} exited ${result.code}: ${result.stderr.trim().slice(0, 200)}`);
    return listsAddress(result.stdout, iface, address);
  } finally {
    session.close();
  }
}

/**
 * Stops keepalived on an LB VM (`systemctl stop keepalived`): a MASTER sends a priority-0 advert
 * as it stops, so a BACKUP takes the VIP and the failover IPs within its skew time and its
 * notify_master raises its public link and asks for the move. Idempotent (stopping a stopped
 * unit succeeds). A VM that does not answer on SSH holds nothing anyone can reach: not an
 * error, reported as such.
 */
export async function stopKeepalived(target: SshTarget, deps: { secrets: SecretResolver; ssh?: OpenOptions }): Promise<{ stopped: boolean; detail: string }> {
  let session: SshSession;
  try {
    session = await SshSession.open(target, deps.secrets, deps.ssh);
  } catch (err) {
    return { stopped: false, detail: `no SSH answer (${(err as Error).message.split('\n')[0].slice(0, 200)}): it holds nothing reachable` };
  }
  try {
    const result = await session.run(['systemctl', 'stop', 'keepalived'], { timeoutMs: 30_000 });
    if (result.code !== 0) throw new Error(`systemctl stop keepalived on ${target.name ?? target.host} exited ${result.code}: ${result.stderr.trim().slice(0, 200)}`);
    return { stopped: true, detail: 'keepalived stopped' };
  } finally {
    session.close();
  }
}

/** Whether keepalived runs on an LB VM (`systemctl is-active keepalived`): false before its first push. */
export async function keepalivedRunning(target: SshTarget, deps: { secrets: SecretResolver; ssh?: OpenOptions }): Promise<boolean> {
  const session = await SshSession.open(target, deps.secrets, deps.ssh);
  try {
    return (await session.run(['systemctl', 'is-active', '--quiet', 'keepalived'], { timeoutMs: 10_000 })).code === 0;
  } finally {
    session.close();
  }
}
