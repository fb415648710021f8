// Where the worker reaches each LB VM. Defaults follow the rendered configs (HAProxy's
// monitor-uri, sshd on :22); the spec overrides them when the worker sees the VMs through
// other addresses (a bastion, a port forward, the sandbox).
import { LB_PORTS } from './render/lb-topology';
import type { ServerSpec } from './spec/schema';

export function lbHealthUrl(server: ServerSpec): string {
  return server.lbHealthUrl ?? `http://${server.vms.lb.ip}:${LB_PORTS.haproxyHealth}/healthz`;
}

export function lbSshAddress(server: ServerSpec): { host: string; port: number } {
  const [host, port] = (server.ssh.address ?? `${server.vms.lb.ip}:22`).split(':');
  return { host, port: Number(port) };
}
