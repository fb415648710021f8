// The SSH target of a server's LB VM, from the spec. Pure.
import { lbSshAddress } from '../../core/lb-endpoints';
import { GRAMMAR, requireGrammar } from '../../core/spec/grammar';
import type { ServerSpec } from '../../core/spec/schema';
import type { SshTarget } from './session';

export function sshTargetFor(server: ServerSpec): SshTarget {
  // Checked again for a spec that skipped validation: these become the login and the address dialled.
  if (server.ssh.address !== undefined) requireGrammar(GRAMMAR.hostPort, server.ssh.address, 'ssh.address');
  const { host, port } = lbSshAddress(server);
  return {
    name: server.name,
    host,
    port,
    user: requireGrammar(GRAMMAR.posixUser, server.ssh.user, 'ssh.user'),
    privateKeyRef: server.ssh.privateKey,
    hostKey: server.ssh.hostKey,
    trustOnFirstUse: server.ssh.trustOnFirstUse,
  };
}
