// Request parameters and their validation, as PVE::JSONSchema does it: every parameter
// is a string on the wire (form-encoded bodies, booleans as 1/0; JSON bodies are accepted
// too), unknown parameters are refused, and every problem is reported at once as
// `400 Parameter verification failed.` with `errors: {param: message}`. A simulator that
// accepted a parameter the real API refuses would hide adapter bugs.
import { paramError } from './envelope';
import { PVE_MESSAGES as M } from './messages';

export type Params = Record<string, string>;

export interface PropSpec {
  type: 'integer' | 'boolean' | 'string';
  optional?: boolean;
  min?: number;
  max?: number;
  enum?: readonly string[];
  /** Returns a problem description, or undefined when the value is well formed. */
  format?: (value: string) => string | undefined;
}

/** Property name → spec; a name written as /regex/ matches a family (net0, net1, ...). */
export type Schema = Record<string, PropSpec>;

/** Parses a request body by its content type; JSON scalars become the strings a form would carry. */
export function parseBody(contentType: string | undefined, raw: string): Params | undefined {
  if (raw.trim() === '') return {};
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return undefined;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const out: Params = {};
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      out[k] = typeof v === 'boolean' ? (v ? '1' : '0') : typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
    return out;
  }
  // Proxmox treats anything else as a form (curl -d sends application/x-www-form-urlencoded).
  return Object.fromEntries(new URLSearchParams(raw));
}

const BOOL_TRUE = /^(1|true|yes|on)$/i;
const BOOL_FALSE = /^(0|false|no|off)$/i;

export function isTrue(value: string | undefined): boolean {
  return value !== undefined && BOOL_TRUE.test(value);
}

function lookup(schema: Schema, key: string): PropSpec | undefined {
  if (Object.prototype.hasOwnProperty.call(schema, key)) return schema[key];
  for (const [name, spec] of Object.entries(schema)) {
    if (name.startsWith('/') && new RegExp(`^${name.slice(1, -1)}$`).test(key)) return spec;
  }
  return undefined;
}

/** Checks `params` against `schema`; throws the 400 Proxmox answers, listing every bad parameter. */
export function validateParams(params: Params, schema: Schema): Params {
  const errors: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    const spec = lookup(schema, key);
    if (!spec) {
      errors[key] = M.unknownProperty;
      continue;
    }
    const problem = checkValue(spec, value);
    if (problem) errors[key] = problem;
  }
  for (const [key, spec] of Object.entries(schema)) {
    if (!key.startsWith('/') && !spec.optional && params[key] === undefined) errors[key] = M.missingProperty;
  }
  if (Object.keys(errors).length > 0) throw paramError(errors);
  return params;
}

function checkValue(spec: PropSpec, value: string): string | undefined {
  if (spec.type === 'integer') {
    if (!/^-?\d+$/.test(value)) return M.typeCheck('integer', value);
    const n = Number(value);
    if (spec.min !== undefined && n < spec.min) return M.minimum(spec.min);
    if (spec.max !== undefined && n > spec.max) return M.maximum(spec.max);
  } else if (spec.type === 'boolean') {
    if (!BOOL_TRUE.test(value) && !BOOL_FALSE.test(value)) return M.typeCheck('boolean', value);
  } else if (spec.enum && !spec.enum.includes(value)) {
    return `value '${value}' does not have a value in the enumeration '${spec.enum.join(', ')}'`;
  }
  return spec.format?.(value);
}

// --- formats of the qemu properties autok8s and its tests use

const DNS_NAME = /^(?=.{1,255}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;
const TAG = /^[a-z0-9_][a-z0-9_\-+.]*$/i;
const NET_MODELS = ['virtio', 'e1000', 'e1000e', 'rtl8139', 'vmxnet3'];
const MAC = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;
const IPV4_CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

/** Splits a Proxmox property string "a=1,b=2" (or "value,b=2" with a default key). */
export function parsePropertyString(text: string, defaultKey?: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part === '') return undefined;
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (!defaultKey || out[defaultKey] !== undefined) return undefined;
      out[defaultKey] = part;
    } else {
      out[part.slice(0, eq)] = part.slice(eq + 1);
    }
  }
  return out;
}

export function formatNet(value: string): string | undefined {
  const [first, ...rest] = value.split(',');
  const [model, mac, extra] = first.split('=');
  if (!NET_MODELS.includes(model) || extra !== undefined) return M.invalidFormat(`unknown network model '${first}'`);
  if (mac !== undefined && !MAC.test(mac)) return M.invalidFormat(`invalid MAC address '${mac}'`);
  const opts = rest.length > 0 ? parsePropertyString(rest.join(',')) : {};
  if (!opts) return M.invalidFormat('unable to parse network options');
  if (opts.bridge !== undefined && !/^[a-zA-Z][a-zA-Z0-9_.-]*$/.test(opts.bridge)) return M.invalidFormat(`invalid bridge '${opts.bridge}'`);
  return undefined;
}

export function formatDrive(value: string): string | undefined {
  const opts = parsePropertyString(value, 'file');
  if (!opts || !opts.file) return M.invalidFormat('unable to parse drive options');
  if (!/^([a-zA-Z][a-zA-Z0-9_.-]*:\S+|none|cdrom)$/.test(opts.file)) return M.invalidFormat(`invalid drive volume '${opts.file}'`);
  if (opts.media !== undefined && !['disk', 'cdrom'].includes(opts.media)) return M.invalidFormat(`invalid media '${opts.media}'`);
  return undefined;
}

export function formatIpConfig(value: string): string | undefined {
  const opts = parsePropertyString(value);
  if (!opts) return M.invalidFormat('unable to parse ipconfig');
  for (const key of Object.keys(opts)) if (!['ip', 'gw', 'ip6', 'gw6'].includes(key)) return M.invalidFormat(`unknown ipconfig key '${key}'`);
  if (opts.ip !== undefined && opts.ip !== 'dhcp' && !IPV4_CIDR.test(opts.ip)) return M.invalidFormat(`invalid IPv4 CIDR '${opts.ip}'`);
  if (opts.gw !== undefined && !IPV4.test(opts.gw)) return M.invalidFormat(`invalid gateway '${opts.gw}'`);
  if (opts.gw !== undefined && opts.ip === undefined) return M.invalidFormat('gw requires ip');
  return undefined;
}

export function formatTags(value: string): string | undefined {
  for (const tag of value.split(/[;, ]+/).filter(Boolean)) if (!TAG.test(tag)) return M.invalidFormat(`invalid tag '${tag}'`);
  return undefined;
}

function formatAgent(value: string): string | undefined {
  const opts = parsePropertyString(value, 'enabled');
  if (!opts || (opts.enabled !== undefined && !BOOL_TRUE.test(opts.enabled) && !BOOL_FALSE.test(opts.enabled))) return M.invalidFormat('invalid agent options');
  return undefined;
}

function formatBoot(value: string): string | undefined {
  if (/^[acdn]{1,4}$/.test(value)) return undefined; // legacy "cdn"
  const opts = parsePropertyString(value, 'order');
  if (!opts || opts.order === undefined) return M.invalidFormat('invalid boot order');
  if (!opts.order.split(/[;,]/).every((d) => /^(ide|sata|scsi|virtio|net)\d+$/.test(d))) return M.invalidFormat(`invalid boot device in '${opts.order}'`);
  return undefined;
}

const dnsName = (v: string) => (DNS_NAME.test(v) ? undefined : M.invalidFormat('value does not look like a valid DNS name'));
const optional = (spec: PropSpec): PropSpec => ({ ...spec, optional: true });

/** The VM configuration properties accepted by create, clone targets and config updates. */
export const QEMU_CONFIG_PROPS: Schema = {
  name: optional({ type: 'string', format: dnsName }),
  description: optional({ type: 'string' }),
  memory: optional({ type: 'integer', min: 16 }),
  balloon: optional({ type: 'integer', min: 0 }),
  cores: optional({ type: 'integer', min: 1, max: 1024 }),
  sockets: optional({ type: 'integer', min: 1, max: 16 }),
  cpu: optional({ type: 'string' }),
  numa: optional({ type: 'boolean' }),
  scsihw: optional({ type: 'string', enum: ['lsi', 'lsi53c810', 'virtio-scsi-pci', 'virtio-scsi-single', 'megasas', 'pvscsi'] }),
  boot: optional({ type: 'string', format: formatBoot }),
  agent: optional({ type: 'string', format: formatAgent }),
  ostype: optional({ type: 'string', enum: ['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'] }),
  tags: optional({ type: 'string', format: formatTags }),
  onboot: optional({ type: 'boolean' }),
  template: optional({ type: 'boolean' }),
  citype: optional({ type: 'string', enum: ['configdrive2', 'nocloud', 'opennebula'] }),
  ciuser: optional({ type: 'string' }),
  cipassword: optional({ type: 'string' }),
  sshkeys: optional({ type: 'string' }),
  nameserver: optional({ type: 'string' }),
  searchdomain: optional({ type: 'string' }),
  machine: optional({ type: 'string' }),
  bios: optional({ type: 'string', enum: ['seabios', 'ovmf'] }),
  vga: optional({ type: 'string' }),
  serial0: optional({ type: 'string' }),
  '/net\\d/': optional({ type: 'string', format: formatNet }),
  '/(scsi([12]?\\d|30)|ide[0-3]|sata[0-5]|virtio(1[0-5]|\\d))/': optional({ type: 'string', format: formatDrive }),
  '/ipconfig\\d/': optional({ type: 'string', format: formatIpConfig }),
};

export const VMID_PROP: PropSpec = { type: 'integer', min: 100, max: 999_999_999 };
