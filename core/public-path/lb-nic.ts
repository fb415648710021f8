// The LB VM's public NIC as a Proxmox VM option: `net1` of POST/PUT /nodes/{node}/qemu/{vmid}/config.
// Pure. The format is qemu-server's pve-qm-net (src/PVE/QemuServer/Network.pm, $net_fmt):
//   - `virtio=<MAC>`: the model key doubles as the MAC's key (keyAlias model, alias macaddr), so
//     "virtio=02:00:00:aa:bb:cc" sets both; the MAC is pve-common's mac-addr format, a unicast
//     address (/^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$/i, the I/G bit clear).
//   - `bridge=<pve-bridge-id>`.
//   - `link_down=<boolean>`: "Whether this interface should be disconnected (like pulling the plug)".
//     A config update that changes only link_down is applied to the running VM (src/PVE/QemuServer.pm
//     vmconfig_update_net: qemu_set_link_status), with network hotplug on (Proxmox's default).
// vmac mode: the NIC carries the failover IP's OVH virtual MAC, the only source MAC OVH accepts
// for the IP on that server. routed mode: any MAC (Proxmox generates one when none is given),
// the host routes to it. vrack-block mode: no second NIC, the addresses live on the vRack NIC.
import { GRAMMAR, requireGrammar, UnsafeValueError } from '../spec/grammar';
import type { ClusterSpec } from '../spec/schema';
import { publicPathOf } from './modes';

/** The Proxmox key of the public NIC (net0 is the vRack). */
export const LB_PUBLIC_NIC_KEY = 'net1';

/** pve-common's mac-addr: six hex pairs, the I/G (group) bit of the first octet clear. */
export const UNICAST_MAC = /^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$/i;

export interface LbPublicNicInput {
  /** The failover IP's virtual MAC (GET /dedicated/server/{sn}/virtualMac), required in vmac mode. */
  virtualMac?: string;
  /** Only the VRRP MASTER's public link is up; standbys are created with the plug pulled. */
  linkUp: boolean;
}

/** The `net1` value for the LB VM on `spec.servers[index]`, or undefined when the mode has no public NIC. */
export function lbPublicNic(spec: ClusterSpec, index: number, input: LbPublicNicInput): string | undefined {
  const { mode, bridge: bridgeValue } = publicPathOf(spec);
  if (mode === 'vrack-block') return undefined;
  const bridge = requireGrammar(GRAMMAR.pveBridge, bridgeValue, 'publicPath.bridge');
  const linkDown = `link_down=${input.linkUp ? 0 : 1}`;
  if (mode === 'routed') return `virtio,bridge=${bridge},${linkDown}`;
  if (mode !== 'vmac') throw new UnsafeValueError('publicPath.mode', mode, 'one of vmac, routed, vrack-block');
  if (typeof input.virtualMac !== 'string' || !UNICAST_MAC.test(input.virtualMac)) {
    throw new UnsafeValueError(
      `servers[${index}].ovhService virtual MAC`,
      input.virtualMac,
      'the unicast MAC OVH generated for the failover IP (XX:XX:XX:XX:XX:XX, from GET /dedicated/server/{sn}/virtualMac)',
    );
  }
  // Proxmox stores MACs in upper case; writing it so keeps a re-read config equal to the desired one.
  return `virtio=${input.virtualMac.toUpperCase()},bridge=${bridge},${linkDown}`;
}

/** The link state of a `net1` value as Proxmox returns it (link_down absent means up). */
export function nicLinkUp(value: string): boolean {
  const flag = value.split(',').find((part) => part.startsWith('link_down='));
  return flag === undefined || !/^link_down=(1|true|yes|on)$/i.test(flag);
}

/** A property string's options, the model key's value (the MAC) under `macaddr`. */
function nicOptions(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  value.split(',').forEach((part, i) => {
    const eq = part.indexOf('=');
    const [k, v] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    if (i === 0) {
      out.model = k;
      if (v) out.macaddr = v.toUpperCase();
    } else out[k] = v;
  });
  return out;
}

/**
 * The `net1` to write for the link alone to change (what `autok8s lb link up|down` sets): the
 * rest of the NIC as Proxmox has it, so its MAC and bridge are kept. Proxmox applies a change
 * of link_down alone to the running VM.
 */
export function withLink(actual: string, up: boolean): string {
  const parts = actual.split(',').filter((part) => !part.startsWith('link_down='));
  return [...parts, `link_down=${up ? 0 : 1}`].join(',');
}

/**
 * Whether the NIC Proxmox has (`actual`, GET …/config) differs from the desired one in what
 * bootstrap owns: model, MAC (case aside) and bridge. The link state is keepalived's (through
 * `autok8s lb link`), so it never counts; other options (firewall, rate) are left alone.
 */
export function publicNicDiffers(actual: string | undefined, desired: string): boolean {
  if (actual === undefined) return true;
  const a = nicOptions(actual);
  const d = nicOptions(desired);
  return a.model !== d.model || a.bridge !== d.bridge || (d.macaddr !== undefined && a.macaddr !== d.macaddr);
}
