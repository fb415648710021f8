// Per-node Talos machine-config patches (strategic merge, v1alpha1 as documented through
// Talos 1.11; from 1.12 the network settings move to separate documents, so the pinned
// spec.talos.version must stay below that or this renderer must learn the new shape).
//
// `talosctl gen config --config-patch @<file>` merges a patch into the generated config,
// so one patch per node carries everything that differs between nodes: static address,
// hostname, install disk; control planes add the etcd subnet and the VIP as a SAN.
import { stringify } from 'yaml';
import { parseCidr } from '../net/ipv4';
import type { ClusterSpec } from '../spec/schema';
import { clusterEndpoint, talosNode, type TalosRole } from './nodes';

/** The installer image for the pinned Talos version, so a node installs exactly that version. */
export function installerImage(talosVersion: string): string {
  return `ghcr.io/siderolabs/installer:${talosVersion}`;
}

export function nodePatch(spec: ClusterSpec, serverName: string, role: TalosRole): Record<string, unknown> {
  const node = talosNode(spec, serverName, role);
  const cidr = parseCidr(spec.network.cidr);
  // The spec schema already rejects a malformed CIDR; this guards direct callers.
  if (!cidr) throw new Error(`network.cidr ${spec.network.cidr} is not an IPv4 CIDR`);

  const machine: Record<string, unknown> = {
    network: {
      hostname: node.hostname,
      interfaces: [
        {
          interface: spec.network.interface,
          dhcp: false,
          addresses: [`${node.ip}/${cidr.prefix}`],
          routes: [{ network: '0.0.0.0/0', gateway: spec.network.gateway }],
        },
      ],
    },
    install: { disk: spec.talos.installDisk, image: installerImage(spec.talos.version) },
  };
  const cluster: Record<string, unknown> = { controlPlane: { endpoint: clusterEndpoint(spec) } };

  if (role === 'controlPlane') {
    // apid and the API server must accept the VIP that clients dial.
    machine.certSANs = [spec.network.apiVip];
    // etcd peers talk over the vRack only, never over another interface.
    cluster.etcd = { advertisedSubnets: [spec.network.cidr] };
  }
  return { machine, cluster };
}

/** The patch as YAML text, ready for `--config-patch @file`. Pure: same spec, same text. */
export function renderNodePatch(spec: ClusterSpec, serverName: string, role: TalosRole): string {
  const header = `# autok8s: machine-config patch for ${talosNode(spec, serverName, role).hostname} (cluster ${spec.metadata.name}, Talos ${spec.talos.version})\n`;
  return header + stringify(nodePatch(spec, serverName, role), { lineWidth: 0 });
}
