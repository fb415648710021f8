// The named formats of the parameters autok8s sends, as Proxmox VE registers them (each
// `register_format` cited). A check returns Proxmox's own `die` text (with its trailing
// newline, which the JSONSchema check copies into `errors`), or undefined when the value
// is well formed. Formats not listed here are accepted unchecked; `uncheckedFormats()`
// names the ones the suite met (docs/contracts.md §B.7).
import type { ParamSchema } from './check';

type FormatCheck = (value: string) => string | undefined;

const IPV4_OCTET = '(?:25[0-5]|(?:[1-9]|1[0-9]|2[0-4])?[0-9])';
const IPV4 = `(?:${IPV4_OCTET}\\.){3}${IPV4_OCTET}`;
const cidrv4 = (v: string) => {
  const m = new RegExp(`^${IPV4}/(\\d+)$`).exec(v);
  return m !== null && Number(m[1]) > 7 && Number(m[1]) <= 32;
};
const DNS_LABEL = '[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?';
const DRIVE_NAME = /^(ide[0-3]|sata[0-5]|scsi([12]?\d|30)|virtio(1[0-5]|\d)|efidisk0|tpmstate0)$/;

const test = (re: RegExp, message: string | ((v: string) => string)): FormatCheck => (v) => (re.test(v) ? undefined : typeof message === 'string' ? message : message(v));

/** pve-storage PVE/Storage/Plugin.pm parse_volume_id (format pve-volume-id). */
const volumeId = test(/^[a-z][a-z0-9\-_.]*[a-z0-9]:.+$/i, (v) => `unable to parse volume ID '${v}'\n`);

export const NAMED_FORMATS: Record<string, FormatCheck> = {
  // pve-common src/PVE/JSONSchema.pm
  'pve-vmid': test(/^[1-9][0-9]{2,8}$/, 'value does not look like a valid VM ID\n'),
  'pve-node': test(/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/, 'value does not look like a valid node name\n'),
  'pve-storage-id': (v) => (v.length < 2 ? `storage ID '${v}' cannot be shorter than 2 characters\n` : /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v) ? undefined : `storage ID '${v}' contains illegal characters\n`),
  'pve-bridge-id': test(/^[-_.\w\d]+$/, (v) => `invalid bridge ID '${v}'\n`),
  'pve-configid': test(/^[a-z][a-z0-9_-]+$/i, (v) => `invalid configuration ID '${v}'\n`),
  'pve-tag': test(/^[a-z0-9_][a-z0-9_\-+.]*$/i, 'invalid characters in tag\n'),
  'mac-addr': test(/^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$/i, 'value does not look like a valid unicast MAC address\n'),
  'dns-name': test(new RegExp(`^(${DNS_LABEL}\\.)*${DNS_LABEL}$`), 'value does not look like a valid DNS name\n'),
  ipv4: test(new RegExp(`^${IPV4}$`), 'value does not look like a valid IPv4 address\n'),
  CIDRv4: (v) => (cidrv4(v) ? undefined : 'value does not look like a valid IPv4 CIDR network\n'),
  'pve-ipv4-config': (v) => (/^(dhcp|manual)$/.test(v) || cidrv4(v) ? undefined : 'value does not look like a valid ipv4 network configuration\n'),
  'disk-size': test(/^(\d+(\.\d+)?)([KMGT](iB)?)?$/, (v) => `value does not look like a valid disk size: ${v}\n`),
  urlencoded: test(/^[-%a-zA-Z0-9_.!~*'()]*$/, (v) => `invalid urlencoded string: ${v}\n`),
  // pve-storage src/PVE/Storage/Plugin.pm
  'pve-volume-id': volumeId,
  // verify_content: the content types of a dir storage (DirPlugin.pm plugindata), which "includes all other types"
  'pve-storage-content': test(/^(images|rootdir|vztmpl|iso|backup|snippets|none|import)$/, (v) => `invalid content type '${v}'\n`),
  // qemu-server src/PVE/QemuServer.pm verify_volume_id_or_qm_path / _or_absolute_path
  'pve-volume-id-or-qm-path': (v) => (v === 'none' || v === 'cdrom' || v.startsWith('/') ? undefined : volumeId(v)),
  'pve-volume-id-or-absolute-path': (v) => (v.startsWith('/') ? undefined : volumeId(v)),
  // qemu-server src/PVE/QemuServer.pm verify_bootdev (drives other than efidisk/tpmstate, netN, usbN, hostpciN)
  'pve-qm-bootdev': test(/^(ide[0-3]|sata[0-5]|scsi([12]?\d|30)|virtio(1[0-5]|\d)|net([12]?\d|3[01])|usb([0-9]|1[0-3])|hostpci([0-9]|1[0-5]))$/, (v) => `invalid boot device '${v}'\n`),
};

/**
 * Named property-string formats the API viewer does not spell out, from their Perl
 * definitions: qemu-server src/PVE/QemuServer/Network.pm `$ipconfig_fmt`, src/PVE/
 * QemuServer.pm `$boot_fmt`, src/PVE/QemuServer/CPUConfig.pm `$cpu_fmt` (its values are
 * not checked here: keys only).
 */
export const NAMED_PROPERTY_FORMATS: Record<string, Record<string, ParamSchema>> = {
  'pve-qm-ipconfig': {
    ip: { type: 'string', format: 'pve-ipv4-config', optional: 1 },
    gw: { type: 'string', format: 'ipv4', optional: 1, requires: 'ip' },
    ip6: { type: 'string', optional: 1 },
    gw6: { type: 'string', optional: 1, requires: 'ip6' },
  },
  'pve-qm-boot': {
    legacy: { type: 'string', optional: 1, default_key: 1, pattern: '[acdn]{1,4}' },
    order: { type: 'string', optional: 1, format: 'pve-qm-bootdev-list' },
  },
};

export { DRIVE_NAME };

const unchecked = new Set<string>();

/** Runs a named format (`x-list` splits like PVE::Tools::split_list and checks each item). */
export function checkNamedFormat(format: string, value: string): string | undefined {
  const list = /^(.*)-list$/.exec(format);
  const base = list && NAMED_FORMATS[list[1]] ? list[1] : format;
  const check = NAMED_FORMATS[base];
  if (!check) {
    unchecked.add(format);
    return undefined;
  }
  if (base === format) return check(value);
  for (const item of value.replace(/[,;]/g, ' ').trim().split(/\s+/).filter(Boolean)) {
    const problem = check(item);
    if (problem) return problem;
  }
  return undefined;
}

/** Named formats met in checked requests that this file does not check. */
export function uncheckedFormats(): string[] {
  return [...unchecked].sort();
}
