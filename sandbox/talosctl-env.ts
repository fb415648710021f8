// The sandbox's Talos nodes answer only the talosctl its spec names (talos.talosctl, the
// stand-in that hands each command to the TalosSimulator): their addresses are on the
// simulated vRack 10.10.0.0/24, which is not on this machine. The worker looks at $TALOSCTL
// before the spec (activities/talos/find-talosctl.ts), so a real talosctl named there would
// dial 10.10.0.x on the host's own network. A process that runs a sandbox with the stand-in
// therefore withholds $TALOSCTL from its workers, and says so.

/** Removes TALOSCTL from `env`; returns the value it had (undefined when unset). */
export function withholdTalosctlEnv(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = (l) => console.warn(l)): string | undefined {
  const value = env.TALOSCTL;
  if (!value) return undefined;
  delete env.TALOSCTL;
  log(`sandbox: ignoring $TALOSCTL=${value} in this process: the sandbox's Talos nodes (10.10.0.0/24, not on this machine) answer only the talosctl its spec names`);
  return value;
}
