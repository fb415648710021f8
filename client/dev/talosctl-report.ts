// What `autok8s dev` and `autok8s demo` say about talosctl: the binary their worker runs for
// the sandbox's spec (found as the worker finds it, activities/talos/find-talosctl.ts), and
// whether the pinned real talosctl is built on this machine, with the command that builds it.
import { cachedTalosctl } from '../../activities/talos/talosctl-cache';
import { findTalosctl, TalosctlNotFound, type FindTalosctlDeps } from '../../activities/talos/find-talosctl';
import { PINNED_TALOS_VERSION } from '../../core/talos/talosctl-pin';

/**
 * @param named what the sandbox's spec names in talos.talosctl: the real talosctl, or the
 * fallback client (the stand-in, speaking the same Talos API to the same nodes)
 */
export function talosctlReport(spec: Parameters<typeof findTalosctl>[0], deps: FindTalosctlDeps = {}, named?: 'real' | 'fallback'): string[] {
  const lines: string[] = [];
  let real = false;
  try {
    const found = findTalosctl(spec, deps);
    real = found.source === 'cache' || (found.source === 'spec' && named === 'real');
    const bySpec =
      named === 'real'
        ? `the real talosctl ${PINNED_TALOS_VERSION}, named by the sandbox's spec`
        : "the sandbox's fallback client, which speaks the Talos API over gRPC like talosctl; named by the spec's talos.talosctl";
    const from = { TALOSCTL: '$TALOSCTL', spec: bySpec, PATH: 'on PATH', cache: `the real talosctl ${PINNED_TALOS_VERSION}, from the cache` }[found.source];
    lines.push(`talosctl: ${found.path} (${from})`);
  } catch (err) {
    if (!(err instanceof TalosctlNotFound)) throw err;
    lines.push(`talosctl: none found (${err.misses.join('; ')})`);
  }
  if (!real) {
    const real = cachedTalosctl(PINNED_TALOS_VERSION, deps);
    lines.push(
      real
        ? `talosctl: the real talosctl ${PINNED_TALOS_VERSION} is built at ${real.binary}`
        : `talosctl: the real talosctl ${PINNED_TALOS_VERSION} is not built here; \`npm run install-talosctl\` builds it (needs Go; minutes)`,
    );
  }
  return lines;
}
