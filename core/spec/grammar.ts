// The grammar of every free-form value in a cluster spec, in one place. The schema
// (./schema.ts) validates with it, and every renderer and argument builder checks the
// values it writes against it again: a spec that never went through validation (a workflow
// input written by hand, a bug) still cannot put a newline into keepalived.conf, a
// ",firewall=0" into a Proxmox property string or a "--flag" into a talosctl command line.
// Pure and free of Node modules: workflows import it too.
import { isIpv4 } from '../net/ipv4';

export interface Grammar {
  /** What a valid value is, completing "must be …". */
  readonly expected: string;
  /** What a valid value looks like (also the JSON Schema pattern editors check). */
  readonly pattern: RegExp;
  /** What the pattern cannot say: lengths, ranges, no ".." segments. */
  readonly also: (value: string) => boolean;
  test(value: string): boolean;
}

function grammar(expected: string, pattern: RegExp, also: (value: string) => boolean = () => true): Grammar {
  return { expected, pattern, also, test: (value) => pattern.test(value) && also(value) };
}

/** No path in a spec climbs out of where it points: no ".." segments. */
const noParentSegments = (path: string) => !path.split('/').includes('..');
/** A device path names its device directly: no "." or ".." segments either. */
const noDotSegments = (path: string) => noParentSegments(path) && !path.split('/').includes('.');
const maxLength = (n: number) => (value: string) => value.length <= n;
const port = (text: string | undefined) => text === undefined || (Number(text) >= 1 && Number(text) <= 65535);

const IPV4_TEXT = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}';
const PVE_ID_TEXT = '[A-Za-z][A-Za-z0-9._-]*[A-Za-z0-9]';
const SPEC_PATH = grammar('a file path without spaces, control characters or ".." parts, not starting with "-"', /^[^\s\u0000-\u001f\u007f-][^\s\u0000-\u001f\u007f]*$/, (v) => noParentSegments(v) && v.length <= 4096);
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export const GRAMMAR = {
  /** Cluster and server names: they become VM names, hostnames, tags, workflow IDs and config comments. */
  dnsLabel: grammar('a DNS label: lowercase letters, digits and "-", 1 to 40 characters, starting and ending with a letter or digit', /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/),
  ipv4: grammar('an IPv4 address such as 10.10.0.11', new RegExp(`^${IPV4_TEXT}$`), isIpv4),
  /** A Linux interface name (IFNAMSIZ: at most 15 characters), as keepalived and Talos take it. */
  interfaceName: grammar('a network interface name such as eth0 or ens18.100: letters, digits, "_", "." and "-", at most 15 characters', /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/),
  /** Proxmox's pve-node format (pve-common JSONSchema.pm), bounded as a DNS label. */
  pveNode: grammar('a Proxmox node name such as pve-a: letters, digits and "-", starting and ending with a letter or digit, at most 63 characters', /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/),
  /** Proxmox's pve-storage-id format (pve-common JSONSchema.pm parse_id). */
  pveStorageId: grammar('a Proxmox storage ID such as local-lvm: a letter, then letters, digits, "-", "_" or ".", ending with a letter or digit', new RegExp(`^${PVE_ID_TEXT}$`), maxLength(64)),
  /** Proxmox's pve-bridge-id format, at most 15 characters like every Linux interface name. */
  pveBridge: grammar('a Proxmox bridge such as vmbr1: letters, digits, "-", "_" or ".", at most 15 characters', /^[A-Za-z0-9_.-]{1,15}$/),
  /** An ISO image on a file-based Proxmox storage: <storage>:iso/<file>.iso|.img (pve-volume-id). */
  pveIsoVolume: grammar(
    'a Proxmox ISO volume such as local:iso/talos-amd64.iso: <storage ID>:iso/<file name ending in .iso or .img>',
    new RegExp(`^${PVE_ID_TEXT}:iso/[A-Za-z0-9][A-Za-z0-9._+-]*\\.(iso|img|ISO|IMG)$`),
    maxLength(255),
  ),
  pveTokenId: grammar('a Proxmox API token ID such as root@pam!autok8s (user@realm!tokenid)', /^[A-Za-z0-9._-]+@[A-Za-z][A-Za-z0-9._-]*![A-Za-z][A-Za-z0-9._-]*$/, maxLength(128)),
  /** The disk Talos installs to: a /dev path, by name or by a stable /dev/disk/by-* link. */
  devicePath: grammar('a device path such as /dev/sda or /dev/disk/by-id/…: letters, digits, "_", "+", ":", "." and "-" in each part, no ".." and no spaces', /^\/dev(\/[A-Za-z0-9_+:.-]+)+$/, (v) => noDotSegments(v) && v.length <= 255),
  /** A path the spec names (CA files, the state directory, talosctl, file: secrets); relative ones are relative to the spec file. */
  specPath: SPEC_PATH,
  /** A path handed to a program as one argument (no shell): absolute, so it can never read as a flag. */
  argPath: grammar('an absolute path without control characters or ".." parts', /^\/[^\u0000-\u001f\u007f]*$/, (v) => noParentSegments(v) && v.length <= 4096),
  /** POSIX portable user names, as useradd accepts them by default. */
  posixUser: grammar('a POSIX user name such as root or autok8s: a lowercase letter or "_", then lowercase letters, digits, "_" or "-", at most 32 characters', /^[a-z_][a-z0-9_-]{0,31}$/),
  /** OVH's names for dedicated servers: ns1234567.ip-1-2-3.eu (.net in Canada, .us in the US), older Kimsufi ks1234.kimsufi.com. */
  ovhService: grammar(
    'an OVH dedicated-server service name such as ns1234567.ip-1-2-3.eu (nsNNN.ip-A-B-C.eu, .net or .us, or ksNNN.kimsufi.com), as listed by GET /dedicated/server',
    /^[a-z]{2,3}\d{1,10}\.(ip-\d{1,3}-\d{1,3}-\d{1,3}\.(eu|net|us)|kimsufi\.com)$/,
  ),
  ovhVrack: grammar('a vRack service name such as pn-123456', /^pn-\d{1,12}$/),
  versionTag: grammar('a version tag such as v1.8.3', /^v\d{1,4}\.\d{1,4}\.\d{1,4}$/),
  /** Spec durations, also what talosctl's --wait-timeout (a Go duration) accepts. */
  duration: grammar('a duration such as 500ms, 30s, 5m or 1h', /^\d{1,9}(ms|s|m|h)$/),
  secretRef: grammar(
    'a secret reference such as env:OVH_APPLICATION_SECRET or file:/etc/autok8s/secret, never the secret itself',
    /^(env:[A-Za-z_][A-Za-z0-9_]{0,127}|file:\S+)$/,
    (v) => !v.startsWith('file:') || SPEC_PATH.test(v.slice(5)),
  ),
  pveFingerprint: grammar('the SHA-256 fingerprint of the PVE certificate, 32 hex bytes separated by ":"', /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/),
  sshHostKey: grammar(
    'an OpenSSH public host key line such as "ssh-ed25519 AAAA..." (from ssh-keyscan)',
    /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/=]+( [\x20-\x7e]*)?$/,
    maxLength(16384),
  ),
  /** Where the worker reaches an LB VM over SSH: an IPv4 address or a DNS name, and a port. */
  hostPort: grammar('host:port with an IPv4 address or a DNS name and a port from 1 to 65535, e.g. 10.10.0.11:22', /^[^:]+:\d{1,5}$/, (v) => {
    const [host, portText] = v.split(':');
    return (isIpv4(host) || DNS_NAME.test(host)) && port(portText);
  }),
  /** An LB health endpoint: plain http(s) to an IPv4 address, a port and a simple path (no credentials, query or fragment). */
  healthUrl: grammar(
    'an http(s) URL to an IPv4 address such as http://10.10.0.11:8404/healthz (no user, query or fragment)',
    new RegExp(`^https?://${IPV4_TEXT}(:\\d{1,5})?(/[A-Za-z0-9._~/-]*)?$`),
    (v) => port(/^https?:\/\/[^:/]+:(\d+)/.exec(v)?.[1]) && v.length <= 2048,
  ),
  /**
   * publicPath.probeUrl: the URL the worker GETs to see the failover IP serve traffic, with
   * `{ip}` exactly once. Its host is `{ip}` itself (the public side as clients see it) or a
   * loopback address (a gateway on the worker, as the sandbox's simulated internet): a spec
   * cannot point the probe at a metadata service or any other host.
   */
  probeUrlTemplate: grammar(
    'an http(s) URL template with {ip} exactly once, to {ip} itself or a loopback gateway, such as http://{ip}/ (no user, query or fragment)',
    new RegExp(`^https?://(\\{ip\\}|${IPV4_TEXT})(:\\d{1,5})?(/([A-Za-z0-9._~/-]|\\{ip\\})*)?$`),
    (v) => {
      const host = /^https?:\/\/([^:/]+)/.exec(v)?.[1];
      return v.split('{ip}').length === 2 && (host === '{ip}' || /^127\./.test(host ?? '')) && port(/^https?:\/\/[^:/]+:(\d+)/.exec(v)?.[1]) && v.length <= 2048;
    },
  ),
  /** An API endpoint the worker calls (Proxmox VE, an OVH API URL): https, a host name or IPv4 address, a port, a plain path. */
  httpsUrl: grammar(
    'an https:// URL with a host name or IPv4 address, an optional port and a plain path (no user, query or fragment), such as https://ns1234567.ip-1-2-3.eu:8006',
    /^https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/,
    (v) => {
      const [, host, portText] = /^https:\/\/([^:/]+)(?::(\d+))?/.exec(v) ?? [];
      return host !== undefined && (isIpv4(host) || DNS_NAME.test(host)) && port(portText) && v.length <= 2048;
    },
  ),
  /** talosctl's cluster endpoint: https://<IPv4>:<port>. */
  httpsIpEndpoint: grammar('an https://<IPv4>:<port> endpoint such as https://10.10.0.5:6443', new RegExp(`^https://${IPV4_TEXT}:\\d{1,5}$`), (v) => port(v.split(':')[2])),
  /** An nginx size such as 512m or 1g. */
  nginxSize: grammar('a size such as 512m or 1g: digits and an optional k, m or g', /^\d{1,9}[kKmMgG]?$/),
} satisfies Record<string, Grammar>;

/** A value a renderer or argument builder will not write: outside its grammar, so the spec was never validated. */
export class UnsafeValueError extends Error {
  override name = 'UnsafeValueError';
  constructor(
    /** The spec field (e.g. servers[1].proxmox.bridge) or builder argument. */
    readonly field: string,
    value: unknown,
    expected: string,
  ) {
    super(`${field}: refusing ${show(value)}, it must be ${expected}; this value was never validated, check the spec with autok8s validate -f <file>`);
  }
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' && value !== null ? 'an object' : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The value itself when it is a string in the grammar; throws UnsafeValueError naming the field otherwise. */
export function requireGrammar(g: Grammar, value: unknown, field: string): string {
  if (typeof value !== 'string' || !g.test(value)) throw new UnsafeValueError(field, value, g.expected);
  return value;
}

/** The value itself when it is a whole number within [min, max]; throws UnsafeValueError naming the field otherwise. */
export function requireInt(value: unknown, min: number, max: number, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new UnsafeValueError(field, value, `a whole number from ${min} to ${max}`);
  }
  return value;
}
