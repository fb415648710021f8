// Per-node Talos machine-config patches (strategic merge, v1alpha1 as documented through
// Talos 1.11; from 1.12 the network settings move to separate documents, so the pinned
// spec.talos.version must stay below that or this renderer must learn the new shape).
//
// `talosctl gen config --config-patch @<file>` merges a patch into the generated config,
// so one patch per node carries everything that differs between nodes: static address,
// hostname, install disk; control planes add the etcd subnet and the VIP as a SAN.
import { stringify } from 'yaml';
import { parseCidr } from '../net/ipv4';
import { GRAMMAR, requireGrammar, UnsafeValueError } from '../spec/grammar';
import type { ClusterSpec } from '../spec/schema';
import { installerImage } from '../images/talos-image';
import { clusterEndpoint, talosNode, type TalosRole } from './nodes';

export { installerImage } from '../images/talos-image';

export function nodePatch(spec: ClusterSpec, serverName: string, role: TalosRole): Record<string, unknown> {
  const node = talosNode(spec, serverName, role);
  const index = spec.servers.findIndex((s) => s.name === serverName);
  const cidr = typeof spec.network.cidr === 'string' ? parseCidr(spec.network.cidr) : undefined;
  // The schema refuses all of these; checked again because they become a node's identity, its
  // addresses and the disk it wipes, for a spec that skipped validation.
  if (!cidr) throw new UnsafeValueError('network.cidr', spec.network.cidr, 'an IPv4 CIDR such as 10.10.0.0/24');
  requireGrammar(GRAMMAR.dnsLabel, serverName, `servers[${index}].name`);
  const ip = requireGrammar(GRAMMAR.ipv4, node.ip, `servers[${index}].vms.${role}.ip`);
  // The endpoint every node joins: an address, never a host name someone else resolves.
  const apiVip = requireGrammar(GRAMMAR.ipv4, spec.network.apiVip, 'network.apiVip');

  const machine: Record<string, unknown> = {
    network: {
      hostname: node.hostname,
      interfaces: [
        {
          interface: requireGrammar(GRAMMAR.interfaceName, spec.network.interface, 'network.interface'),
          dhcp: false,
          addresses: [`${ip}/${cidr.prefix}`],
          routes: [{ network: '0.0.0.0/0', gateway: requireGrammar(GRAMMAR.ipv4, spec.network.gateway, 'network.gateway') }],
        },
      ],
    },
    install: { disk: requireGrammar(GRAMMAR.devicePath, spec.talos.installDisk, 'talos.installDisk'), image: installerImage(spec.talos.version, spec.talos.image?.schematic) },
  };
  const cluster: Record<string, unknown> = { controlPlane: { endpoint: clusterEndpoint(spec) } };

  if (role === 'controlPlane') {
    // apid and the API server must accept the VIP that clients dial.
    machine.certSANs = [apiVip];
    // etcd peers talk over the vRack only, never over another interface.
    cluster.etcd = { advertisedSubnets: [spec.network.cidr] };
  }
  return { machine, cluster };
}

/** The patch as YAML text, ready for `--config-patch @file`. Pure: same spec, same text. */
export function renderNodePatch(spec: ClusterSpec, serverName: string, role: TalosRole): string {
  // The header is a comment line: a newline in the cluster name would start YAML of its own.
  requireGrammar(GRAMMAR.dnsLabel, spec.metadata.name, 'metadata.name');
  const header = `# autok8s: machine-config patch for ${talosNode(spec, serverName, role).hostname} (cluster ${spec.metadata.name}, Talos ${spec.talos.version})\n`;
  return header + stringify(nodePatch(spec, serverName, role), { lineWidth: 0 });
}
