// How a machine config reaches a node. `apply-config --insecure` talks to the maintenance
// API, which authenticates nobody: whatever answers at the node's address gets the machine
// config, the cluster's secrets included. So the authenticated call (this cluster's
// talosconfig) always goes first, and --insecure is used only when the node refused it AND
// the workflow knows the node is a new machine in maintenance mode:
//
//   - the workflow says so (replaceNode just destroyed and recreated the VM), or
//   - autok8s has never configured this node (the state store holds no record of an apply
//     to it): a first bootstrap, or one resumed before its configs were applied.
//
// A node that autok8s configured before and that now refuses this cluster's credentials was
// reset or replaced outside autok8s, or something else answers at its address: refused. Pure.

export interface ApplyLook {
  /** What the authenticated dry run said: the node trusts this cluster's talosconfig, or refused it (TLS, unknown authority). */
  authenticated: 'trusted' | 'untrusted';
  /** The workflow created this machine anew (its VM was just rebuilt): it can only be in maintenance mode. */
  newMachine: boolean;
  /** autok8s applied a config to this node before (a record in the state store). */
  configuredBefore: boolean;
}

export type ApplyMode = { via: 'authenticated' } | { via: 'maintenance'; why: string } | { via: 'refuse'; why: string };

export function decideApplyMode(look: ApplyLook): ApplyMode {
  if (look.authenticated === 'trusted') return { via: 'authenticated' };
  if (look.newMachine) return { via: 'maintenance', why: 'the workflow has just created this machine' };
  if (!look.configuredBefore) return { via: 'maintenance', why: 'autok8s has never configured this node' };
  return {
    via: 'refuse',
    why:
      'autok8s configured this node before, but it no longer accepts this cluster\'s talosconfig: it was reset or replaced outside autok8s, or another machine answers at its address. ' +
      'Its machine config (with the cluster\'s secrets) is not sent unauthenticated; if the machine was rebuilt on purpose, replace it with autok8s replace',
  };
}
