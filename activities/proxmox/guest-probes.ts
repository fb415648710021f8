// The probes bootVm asks whether a VM's guest answers on its spec address (core/images/
// readiness.ts decides which): the Talos API through talosctl, sshd by its banner. Injected
// into the Proxmox activities (ProxmoxActivityDeps.probes), so a test without a network can
// hand in probes that ask its simulators instead.
import { connect } from 'node:net';
import { talosApiAnswer, type ProbeAnswer } from '../../core/images/readiness';
import { GRAMMAR, requireGrammar } from '../../core/spec/grammar';
import type { ClusterSpec, ServerSpec } from '../../core/spec/schema';
import type { FindTalosctlDeps } from '../talos/find-talosctl';
import { resolveTalosctlPath, runTalosctl } from '../talos/talosctl';

export interface GuestProbes {
  /** Does the Talos API answer at `ip`? */
  talosApi(spec: ClusterSpec, ip: string, signal?: AbortSignal): Promise<ProbeAnswer>;
  /** Does the LB's sshd answer (server.ssh.address, else <ip>:22)? */
  ssh(server: ServerSpec, ip: string, signal?: AbortSignal): Promise<ProbeAnswer>;
}

const PROBE_TIMEOUT_MS = 5000;

/** `talosctl version --short --insecure -n <ip>`: the maintenance API needs no credentials. */
export function talosApiProbeArgs(ip: string): string[] {
  return ['version', '--short', '--insecure', '-n', requireGrammar(GRAMMAR.ipv4, ip, 'talosctl -n (node address)')];
}

export function defaultGuestProbes(deps: FindTalosctlDeps = {}): GuestProbes {
  return {
    async talosApi(spec, ip, signal) {
      const run = await runTalosctl(resolveTalosctlPath(spec, deps), talosApiProbeArgs(ip), { timeoutMs: PROBE_TIMEOUT_MS, signal });
      return talosApiAnswer(run);
    },
    ssh(server, ip, signal) {
      const address = server.ssh.address ?? `${ip}:22`;
      const colon = address.lastIndexOf(':');
      return sshBanner(address.slice(0, colon), Number(address.slice(colon + 1)), signal);
    },
  };
}

/** Connects and reads the server's identification line ("SSH-2.0-…", RFC 4253 §4.2). */
function sshBanner(host: string, port: number, signal?: AbortSignal): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: PROBE_TIMEOUT_MS });
    let received = '';
    const done = (answer: ProbeAnswer) => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(answer);
    };
    const onAbort = () => done({ answered: false, why: 'cancelled' });
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const line = received.split('\n')[0];
      if (received.includes('\n') || received.length > 255) {
        done(line.startsWith('SSH-') ? { answered: true, how: `sshd answered (${line.trim().slice(0, 60)})` } : { answered: false, why: `${host}:${port} answered but not as an SSH server` });
      }
    });
    socket.on('timeout', () => done({ answered: false, why: `no SSH banner from ${host}:${port} within ${PROBE_TIMEOUT_MS / 1000} s` }));
    socket.on('error', (err: NodeJS.ErrnoException) => done({ answered: false, why: `${host}:${port}: ${err.code ?? err.message}` }));
    socket.on('close', () => done({ answered: false, why: `${host}:${port} closed the connection` }));
  });
}
