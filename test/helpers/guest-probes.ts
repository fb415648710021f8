// The network between the worker and the guests, for adapter tests without one: a guest
// answers on an address once the Proxmox simulator's VM has booted with it (what the Talos
// API and sshd of a real guest would do), and not before.
import type { GuestProbes } from '../../activities/proxmox/guest-probes';
import type { ProxmoxSimulator } from '../../sandbox/proxmox/simulator';

export function simulatedGuestProbes(sim: () => ProxmoxSimulator): GuestProbes {
  const answer = (ip: string, how: string) => (sim().vmByIp(ip) ? { answered: true as const, how } : { answered: false as const, why: `no running VM has ${ip}` });
  return {
    talosApi: async (_spec, ip) => answer(ip, 'the simulated Talos node answered'),
    ssh: async (_server, ip) => answer(ip, 'the simulated sshd answered'),
  };
}
