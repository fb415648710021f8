// The cluster spec a sandbox writes for itself: the same shape a user writes for real
// servers, with endpoints on loopback and the sandbox CA named for trust. Pure rendering.
import { stringify } from 'yaml';

export interface SandboxServerEndpoints {
  name: string;
  ovhService: string;
  proxmoxUrl: string;
  proxmoxNode: string;
  proxmoxFingerprint?: string;
  lbHealthUrl?: string;
  sshAddress?: string;
  sshHostKey?: string;
}

export interface SandboxSpecInput {
  clusterName: string;
  /** The node network's first three octets, a loopback /24 (sandbox/node-network.ts), e.g. "127.77.140". */
  nodeNetwork: string;
  /** talos.version: the version the simulated nodes run and the pinned talosctl speaks. */
  talosVersion: string;
  ovhEndpoint: string;
  caFile: string;
  secretsDir: string;
  stateDir: string;
  talosctl?: string;
  failoverIps: string[];
  servers: SandboxServerEndpoints[];
  health?: Record<string, unknown>;
  /** servers[].proxmox.isoVolume (default: the spec's default, the Talos nocloud ISO). */
  isoVolume?: string;
  /** talos.image (default: platform nocloud, no schematic). */
  talosImage?: Record<string, unknown>;
  /** publicPath.probeUrl (default: none, serving is not verified). */
  probeUrl?: string;
  /** The rest of publicPath (default: none, vmac on vmbr0). */
  publicPath?: Record<string, unknown>;
}

/** Addresses on the node network `<prefix>.0/24`: LBs from .11, control planes from .61, workers from .111 (room for 40 servers). */
export function vmAddress(prefix: string, role: 'lb' | 'controlPlane' | 'worker', index: number): string {
  const base = { lb: 10, controlPlane: 60, worker: 110 }[role];
  return `${prefix}.${base + index + 1}`;
}

export function vmId(role: 'lb' | 'controlPlane' | 'worker', index: number): number {
  return (index + 1) * 100 + { lb: 1, controlPlane: 2, worker: 3 }[role];
}

/** Odd count of control planes: one per server, dropping the last when the count would be even. */
export function serversWithControlPlane(count: number): number {
  return count % 2 === 1 ? count : Math.min(count - 1, 5);
}

/** The Talos node addresses (control planes, then workers) renderSandboxSpec gives `count` servers. */
export function talosNodeAddresses(prefix: string, count: number): string[] {
  const cps = serversWithControlPlane(count);
  const indexes = Array.from({ length: count }, (_, i) => i);
  return [...indexes.filter((i) => i < cps).map((i) => vmAddress(prefix, 'controlPlane', i)), ...indexes.map((i) => vmAddress(prefix, 'worker', i))];
}

export function renderSandboxSpec(input: SandboxSpecInput): string {
  const cps = serversWithControlPlane(input.servers.length);
  const secret = (name: string) => `file:${input.secretsDir}/${name}`;
  const doc = {
    apiVersion: 'autok8s/v1alpha1',
    kind: 'Cluster',
    metadata: { name: input.clusterName },
    ovh: {
      endpoint: input.ovhEndpoint,
      caFile: input.caFile,
      applicationKey: secret('ovh-application-key'),
      applicationSecret: secret('ovh-application-secret'),
      consumerKey: secret('ovh-consumer-key'),
      vrack: 'pn-100001',
    },
    failoverIps: input.failoverIps,
    ...(input.probeUrl || input.publicPath ? { publicPath: { ...input.publicPath, ...(input.probeUrl ? { probeUrl: input.probeUrl } : {}) } } : {}),
    network: { cidr: `${input.nodeNetwork}.0/24`, gateway: `${input.nodeNetwork}.1`, apiVip: `${input.nodeNetwork}.5` },
    talos: { version: input.talosVersion, kubernetesVersion: 'v1.31.2', installDisk: '/dev/sda', ...(input.talosctl ? { talosctl: input.talosctl } : {}), image: input.talosImage ?? { platform: 'nocloud' } },
    servers: input.servers.map((s, i) => ({
      name: s.name,
      ovhService: s.ovhService,
      proxmox: {
        url: s.proxmoxUrl,
        node: s.proxmoxNode,
        tokenId: 'root@pam!autok8s',
        tokenSecret: secret(`pve-${s.name}.token`),
        ...(s.proxmoxFingerprint ? { fingerprint: s.proxmoxFingerprint } : { caFile: input.caFile }),
        ...(input.isoVolume ? { isoVolume: input.isoVolume } : {}),
      },
      vms: {
        lb: { vmid: vmId('lb', i), ip: vmAddress(input.nodeNetwork, 'lb', i), cores: 2, memoryMiB: 2048, diskGiB: 16 },
        ...(i < cps ? { controlPlane: { vmid: vmId('controlPlane', i), ip: vmAddress(input.nodeNetwork, 'controlPlane', i), cores: 4, memoryMiB: 8192, diskGiB: 64 } } : {}),
        worker: { vmid: vmId('worker', i), ip: vmAddress(input.nodeNetwork, 'worker', i), cores: 8, memoryMiB: 16384, diskGiB: 100 },
      },
      ssh: {
        user: 'root',
        ...(s.sshAddress ? { address: s.sshAddress } : {}),
        ...(s.sshHostKey ? { hostKey: s.sshHostKey } : {}),
        privateKey: secret('ssh-key'),
      },
      ...(s.lbHealthUrl ? { lbHealthUrl: s.lbHealthUrl } : {}),
    })),
    health: input.health ?? { interval: '30s', unhealthyAfter: '5m', nodeStartupTimeout: '10m', maxUnhealthy: 1, autoRemediate: true },
    state: { dir: input.stateDir },
  };
  return `# Written by the autok8s sandbox: every endpoint below is a simulator on this machine.\n${stringify(doc, { lineWidth: 0 })}`;
}
