// The cluster spec: one YAML file per cluster (docs/design.md §3). This file is the single
// source of truth for its shape: validation, defaults, the TypeScript type and the JSON
// Schema that `autok8s schema` exports for editors all come from it.
//
// Secrets are references (`env:NAME`, `file:/path`), never values, so a spec can travel
// through workflow inputs and histories without leaking anything.
import { z } from 'zod';
import { isHostInCidr, isIpv4, parseCidr } from '../net/ipv4';
import { parseDuration } from './duration';

export const API_VERSION = 'autok8s/v1alpha1';

const SECRET_REF = /^(env:[A-Za-z_][A-Za-z0-9_]*|file:\S+)$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
const DURATION = /^\d+(ms|s|m|h)$/;
const SEMVER_TAG = /^v\d+\.\d+\.\d+$/;
/** OVH API endpoints the `ovh` client knows by name; anything else must be a URL. */
export const OVH_ENDPOINT_NAMES = ['ovh-eu', 'ovh-ca', 'ovh-us', 'kimsufi-eu', 'kimsufi-ca', 'soyoustart-eu', 'soyoustart-ca'] as const;

const secretRef = z
  .string()
  .regex(SECRET_REF, {
    error: 'must be a secret reference such as env:OVH_APPLICATION_SECRET or file:/etc/autok8s/secret, never the secret itself',
  })
  .describe('A secret reference: env:NAME (an environment variable of the worker) or file:/path (a file readable by the worker; ~ is expanded).');

const dnsLabel = z
  .string()
  .regex(DNS_LABEL, { error: 'must be a DNS label: lowercase letters, digits and "-", 1 to 40 characters, starting and ending with a letter or digit' });

const ipv4 = z.string().refine(isIpv4, { error: 'must be an IPv4 address such as 10.10.0.11' });

const duration = z
  .string()
  .regex(DURATION, { error: 'must be a duration such as 500ms, 30s, 5m or 1h' })
  .describe('A duration: a whole number followed by ms, s, m or h.');

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, { error: 'must be host:port, e.g. 10.10.0.11:22' });

const vmSchema = z.strictObject({
  vmid: z.number().int().min(100, { error: 'must be a Proxmox VMID from 100 to 999999999' }).max(999_999_999, {
    error: 'must be a Proxmox VMID from 100 to 999999999',
  }),
  ip: ipv4.describe('Static address of the VM on the vRack network.'),
  cores: z.number().int().min(1).max(128).default(2),
  memoryMiB: z.number().int().min(512, { error: 'must be at least 512 MiB' }).default(2048),
  diskGiB: z.number().int().min(8, { error: 'must be at least 8 GiB' }).default(16),
});

const proxmoxSchema = z.strictObject({
  url: z.url({ protocol: /^https$/, error: 'must be the https:// URL of the Proxmox VE API, e.g. https://ns1234.ip-1-2-3.eu:8006' }),
  node: dnsLabel.describe('Proxmox node name (as in /nodes/{node}).'),
  tokenId: z
    .string()
    .regex(/^[^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9._-]*$/, { error: 'must be a Proxmox API token ID such as root@pam!autok8s (user@realm!tokenid)' }),
  tokenSecret: secretRef,
  fingerprint: z
    .string()
    .regex(/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/, { error: 'must be the SHA-256 fingerprint of the PVE certificate, 32 hex bytes separated by ":"' })
    .optional()
    .describe('Pin the Proxmox TLS certificate by its SHA-256 fingerprint (as shown by the PVE web UI).'),
  caFile: z.string().min(1).optional().describe('PEM file of a CA that signs the Proxmox certificate.'),
  storage: z.string().min(1).default('local-lvm').describe('Proxmox storage for VM disks.'),
  bridge: z.string().min(1).default('vmbr1').describe('Proxmox bridge attached to the OVH vRack.'),
  isoVolume: z.string().min(1).default('local:iso/talos-amd64.iso').describe('Talos ISO volume to boot control-plane and worker VMs from.'),
  lbTemplateVmid: z.number().int().min(100).optional().describe('VMID of a Debian template with keepalived, HAProxy and Nginx to clone LB VMs from.'),
});

const sshSchema = z.strictObject({
  user: z.string().min(1).default('root'),
  address: hostPort.optional().describe('Where the worker reaches the LB VM over SSH; defaults to <lb ip>:22.'),
  hostKey: z
    .string()
    .regex(/^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$/, {
      error: 'must be an OpenSSH public host key line such as "ssh-ed25519 AAAA..." (from ssh-keyscan)',
    })
    .optional()
    .describe('The LB VM host key. Without it, pushes are refused unless trustOnFirstUse is true.'),
  trustOnFirstUse: z.boolean().default(false),
  privateKey: secretRef,
});

const serverSchema = z.strictObject({
  name: dnsLabel,
  ovhService: z.string().min(1).describe('OVH dedicated server service name, e.g. ns1234.ip-1-2-3.eu.'),
  proxmox: proxmoxSchema,
  vms: z.strictObject({
    lb: vmSchema,
    controlPlane: vmSchema.optional().describe('Omit on servers that carry no control plane (the cluster needs an odd number of them).'),
    worker: vmSchema,
  }),
  ssh: sshSchema,
  lbHealthUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://10.10.0.11:8404/healthz' })
    .optional()
    .describe('Health endpoint of the LB VM probed before routing a failover IP to it; defaults to http://<lb ip>:8404/healthz.'),
});

const healthSchema = z.strictObject({
  interval: duration.default('30s'),
  unhealthyAfter: duration.default('5m'),
  nodeStartupTimeout: duration.default('10m'),
  maxUnhealthy: z.number().int().min(0).default(1).describe('Most remediations in flight at once (default 1).'),
  autoRemediate: z.boolean().default(true),
});

const clusterObject = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be ${API_VERSION}` }),
  kind: z.literal('Cluster', { error: 'must be Cluster' }),
  metadata: z.strictObject({ name: dnsLabel.describe('Cluster name; used in workflow IDs, VM names and tags.') }),
  ovh: z.strictObject({
    endpoint: z
      .string()
      .refine((v) => (OVH_ENDPOINT_NAMES as readonly string[]).includes(v) || /^https:\/\/[^/\s]+(\/[^\s]*)?$/.test(v), {
        error: `must be one of ${OVH_ENDPOINT_NAMES.join(', ')} or an https:// URL of an OVH API (the sandbox prints one)`,
      }),
    caFile: z.string().min(1).optional().describe('PEM CA added to the trusted roots for the OVH API (the sandbox CA); verification is never turned off.'),
    applicationKey: secretRef,
    applicationSecret: secretRef,
    consumerKey: secretRef,
    vrack: z.string().regex(/^pn-\d+$/, { error: 'must be a vRack service name such as pn-123456' }),
  }),
  failoverIps: z.array(ipv4).min(1, { error: 'list at least one OVH failover IP' }),
  network: z.strictObject({
    cidr: z.string().refine((v) => parseCidr(v) !== undefined, { error: 'must be an IPv4 CIDR such as 10.10.0.0/24' }),
    gateway: ipv4,
    apiVip: ipv4.describe('Private virtual IP held by keepalived: the Kubernetes API endpoint.'),
    vrrpRouterId: z.number().int().min(1).max(255).default(51),
    interface: z.string().min(1).default('eth0').describe('Name of the vRack interface inside the VMs.'),
  }),
  talos: z.strictObject({
    version: z.string().regex(SEMVER_TAG, { error: 'must be a Talos version tag such as v1.8.3' }),
    kubernetesVersion: z.string().regex(SEMVER_TAG, { error: 'must be a Kubernetes version tag such as v1.31.2' }),
    installDisk: z.string().regex(/^\/dev\/\S+$/, { error: 'must be a device path such as /dev/sda' }).default('/dev/sda'),
    talosctl: z.string().min(1).optional().describe('Path of the talosctl binary; defaults to $TALOSCTL, then talosctl on PATH.'),
  }),
  servers: z.array(serverSchema).min(1, { error: 'list at least one server' }),
  health: healthSchema.prefault({}),
  state: z
    .strictObject({ dir: z.string().min(1).optional().describe('State store (Talos secrets, machine configs, kubeconfig). Created 0700; files 0600.') })
    .prefault({}),
});

type Issue = { path: (string | number)[]; message: string };

/** Cross-field rules that a per-field schema cannot express. Pure; returns every problem found. */
export function crossFieldIssues(spec: z.output<typeof clusterObject>): Issue[] {
  const issues: Issue[] = [];
  const cidr = parseCidr(spec.network.cidr);
  const firstSeen = new Map<string, string>();
  const claim = (kind: string, value: string, path: (string | number)[], what: string) => {
    const key = `${kind}:${value}`;
    const earlier = firstSeen.get(key);
    if (earlier !== undefined) issues.push({ path, message: `${what} ${value} is already used by ${earlier}; each must be unique` });
    else firstSeen.set(key, path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, ''));
  };
  const inCidr = (ip: string, path: (string | number)[]) => {
    if (cidr && !isHostInCidr(ip, cidr)) {
      issues.push({ path, message: `${ip} is not a host address inside network.cidr ${spec.network.cidr}; pick an address inside it` });
    }
  };

  inCidr(spec.network.gateway, ['network', 'gateway']);
  inCidr(spec.network.apiVip, ['network', 'apiVip']);
  claim('ip', spec.network.gateway, ['network', 'gateway'], 'address');
  claim('ip', spec.network.apiVip, ['network', 'apiVip'], 'address');
  spec.failoverIps.forEach((ip, i) => claim('failover', ip, ['failoverIps', i], 'failover IP'));

  let controlPlanes = 0;
  spec.servers.forEach((server, i) => {
    claim('server', server.name, ['servers', i, 'name'], 'server name');
    claim('ovhService', server.ovhService, ['servers', i, 'ovhService'], 'OVH service');
    const pve = `${server.proxmox.url}#${server.proxmox.node}`;
    for (const role of ['lb', 'controlPlane', 'worker'] as const) {
      const vm = server.vms[role];
      if (!vm) continue;
      if (role === 'controlPlane') controlPlanes += 1;
      const path = ['servers', i, 'vms', role];
      claim('ip', vm.ip, [...path, 'ip'], 'address');
      inCidr(vm.ip, [...path, 'ip']);
      claim(`vmid@${pve}`, String(vm.vmid), [...path, 'vmid'], 'VMID');
    }
  });
  if (controlPlanes === 0) {
    issues.push({ path: ['servers'], message: 'no server has vms.controlPlane; a cluster needs 1, 3 or 5 control planes' });
  } else if (controlPlanes % 2 === 0) {
    issues.push({
      path: ['servers'],
      message: `${controlPlanes} control planes: etcd needs an odd number (1, 3, 5, ...); drop vms.controlPlane from one server or add one`,
    });
  }
  // Only compare durations that are well formed; malformed ones already have their own issue.
  const ms = (d: string) => (DURATION.test(d) ? parseDuration(d) : NaN);
  if (ms(spec.health.unhealthyAfter) < ms(spec.health.interval)) {
    issues.push({ path: ['health', 'unhealthyAfter'], message: `must be at least health.interval (${spec.health.interval}); a node cannot be judged faster than it is probed` });
  }
  return issues;
}

export const clusterSpecSchema = clusterObject.superRefine((spec, ctx) => {
  for (const issue of crossFieldIssues(spec)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
});

/** A validated cluster spec with defaults applied. Contains secret references only. */
export type ClusterSpec = z.output<typeof clusterSpecSchema>;
export type ServerSpec = ClusterSpec['servers'][number];
export type VmSpec = z.output<typeof vmSchema>;
export type VmRole = 'lb' | 'controlPlane' | 'worker';
export const VM_ROLES: readonly VmRole[] = ['lb', 'controlPlane', 'worker'];
