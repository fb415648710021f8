// The stand-in as a process of its own: the node-bundle fallback that
// TalosSimulator.writeStandIn bundles when the Go forwarder was not built (or
// AUTOK8S_TALOSCTL_TRANSPORT=node), and sandbox/bin/talosctl. Same logic as the in-process
// `/exec` route; only the io differs.
import { processIo } from './io';
import { runStandIn } from './main';

runStandIn(process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
});
