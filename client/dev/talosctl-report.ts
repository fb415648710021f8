// What `autok8s dev` and `autok8s demo` say about talosctl: the binary their worker runs for
// the sandbox's spec (found as the worker finds it, activities/talos/find-talosctl.ts), and
// whether the pinned real talosctl is built on this machine, with the command that builds it.
import { cachedTalosctl } from '../../activities/talos/talosctl-cache';
import { findTalosctl, TalosctlNotFound, type FindTalosctlDeps } from '../../activities/talos/find-talosctl';
import { PINNED_TALOS_VERSION } from '../../core/talos/talosctl-pin';

export function talosctlReport(spec: Parameters<typeof findTalosctl>[0], deps: FindTalosctlDeps = {}): string[] {
  const lines: string[] = [];
  let source: string | undefined;
  try {
    const found = findTalosctl(spec, deps);
    source = found.source;
    const from = { TALOSCTL: '$TALOSCTL', spec: "the sandbox's stand-in, named by the spec's talos.talosctl", PATH: 'on PATH', cache: `the real talosctl ${PINNED_TALOS_VERSION}, from the cache` }[found.source];
    lines.push(`talosctl: ${found.path} (${from})`);
  } catch (err) {
    if (!(err instanceof TalosctlNotFound)) throw err;
    lines.push(`talosctl: none found (${err.misses.join('; ')})`);
  }
  if (source !== 'cache') {
    const real = cachedTalosctl(PINNED_TALOS_VERSION, deps);
    lines.push(
      real
        ? `talosctl: the real talosctl ${PINNED_TALOS_VERSION} is built at ${real.binary}`
        : `talosctl: the real talosctl ${PINNED_TALOS_VERSION} is not built here; \`npm run install-talosctl\` builds it (needs Go; minutes)`,
    );
  }
  return lines;
}
