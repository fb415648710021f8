// When a booted VM counts as ready, and what a Talos API probe's answer means. Pure.
//
// No image is assumed to run the QEMU guest agent: a stock Talos image has none (it needs the
// Image Factory's siderolabs/qemu-guest-agent extension) and Debian cloud images are not
// assumed to ship one. A VM's address is known anyway — the spec assigns it and cloud-init
// sets it — so readiness is asked of the guest itself, on that address:
//   - Talos VMs: the Talos API answers there (maintenance mode or configured, any answer);
//   - the LB VM: sshd answers there (autok8s needs SSH to it next, for its configs).
// The agent, when the spec's schematic has it, only adds what it sees to the progress.
import type { ClusterSpec, VmRole } from '../spec/schema';
import { hasGuestAgent } from './talos-image';

export interface ReadinessPlan {
  /** What must answer on the VM's spec address. */
  probe: 'talosApi' | 'ssh';
  /** Ask the guest agent too (for progress details only). */
  agent: boolean;
  /** What the VM boots, for messages: "Talos nocloud ISO local:iso/…" or "the LB template". */
  image: string;
}

export function readinessPlan(spec: ClusterSpec, serverName: string, role: VmRole): ReadinessPlan {
  const server = spec.servers.find((s) => s.name === serverName);
  if (role === 'lb') {
    const template = server?.proxmox.lbTemplateVmid;
    return { probe: 'ssh', agent: false, image: template === undefined ? 'the LB disk image' : `the LB template ${template}` };
  }
  const image = spec.talos.image;
  const schematic = image?.schematic ? `, schematic ${image.schematic.slice(0, 12)}…` : '';
  return { probe: 'talosApi', agent: hasGuestAgent(image), image: `Talos ${image?.platform ?? 'nocloud'} ISO ${server?.proxmox.isoVolume ?? '?'}${schematic}` };
}

export type ProbeAnswer = { answered: true; how: string } | { answered: false; why: string };

/**
 * What `talosctl version --short --insecure -n <ip>` says about the node at <ip>. Any answer
 * of the node's own counts: a maintenance-mode node refuses `version` with its own gRPC
 * status (Unimplemented), a configured one refuses the insecure client during the TLS
 * handshake (certificate required) or is another cluster's (unknown authority). Only a
 * failure to reach it — dial errors, resets, timeouts — means it is not up yet.
 */
export function talosApiAnswer(run: { exitCode: number | null; stderr: string; timedOut: boolean }): ProbeAnswer {
  const firstLine = (run.stderr.split('\n').find((l) => /rpc error|error/i.test(l)) ?? run.stderr.split('\n')[0] ?? '').trim().slice(0, 300);
  if (run.timedOut) return { answered: false, why: 'talosctl timed out' };
  if (run.exitCode === 0 && !/^WARNING:/m.test(run.stderr)) return { answered: true, how: 'the Talos API answered' };
  if (/tls: certificate required/.test(run.stderr)) return { answered: true, how: 'a configured Talos node answered (it requires a client certificate)' };
  if (/certificate signed by unknown authority|x509:/.test(run.stderr)) return { answered: true, how: 'a Talos node answered (with a certificate of another authority)' };
  if (/connection refused|no route to host|host is unreachable|network is unreachable|i\/o timeout|connection reset|EOF|context deadline exceeded|code = (Unavailable|DeadlineExceeded|Canceled)/.test(run.stderr)) {
    return { answered: false, why: firstLine || 'no answer' };
  }
  const code = /code = (\w+)/.exec(run.stderr)?.[1];
  if (code !== undefined) return { answered: true, how: `the Talos API answered (${code})` };
  return { answered: false, why: firstLine || `talosctl exited with code ${run.exitCode}` };
}
