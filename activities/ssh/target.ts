// The SSH target of a server's LB VM, from the spec. Pure.
import { lbSshAddress } from '../../core/lb-endpoints';
import type { ServerSpec } from '../../core/spec/schema';
import type { SshTarget } from './session';

export function sshTargetFor(server: ServerSpec): SshTarget {
  const { host, port } = lbSshAddress(server);
  return {
    name: server.name,
    host,
    port,
    user: server.ssh.user,
    privateKeyRef: server.ssh.privateKey,
    hostKey: server.ssh.hostKey,
    trustOnFirstUse: server.ssh.trustOnFirstUse,
  };
}
