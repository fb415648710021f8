// Which talosctl a benchmark's sandbox ran, for its settings and its results file: the real
// talosctl (a Go process per call, as in production) or the fallback client (a process per
// call too, through the Go forwarder or a Node bundle). Both are measured
// (AUTOK8S_SANDBOX_TALOSCTL=real|fallback); the real one's results keep the entry's own name,
// the fallback's get a `.fallback` suffix, so one run never overwrites the other's.
import type { Sandbox } from '../sandbox';
import { PINNED_TALOS_VERSION } from '../core/talos/talosctl-pin';

export function talosctlLabel(box: Pick<Sandbox, 'talosctl' | 'talos'>): string {
  return box.talosctl.kind === 'real' ? `the real talosctl ${PINNED_TALOS_VERSION}` : `the fallback client (${box.talos.standInTransport})`;
}

export function resultName(name: string, box: Pick<Sandbox, 'talosctl'>): string {
  return box.talosctl.kind === 'real' ? name : `${name}.fallback`;
}
