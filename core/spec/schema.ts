// The cluster spec: one YAML file per cluster (docs/design.md §3). This file is the single
// source of truth for its shape: validation, defaults, the TypeScript type and the JSON
// Schema that `autok8s schema` exports for editors all come from it. The grammar of each
// free string is in ./grammar.ts and every bound in ./limits.ts, shared with the renderers.
//
// Secrets are references (`env:NAME`, `file:/path`), never values, so a spec can travel
// through workflow inputs and histories without leaking anything.
import { z } from 'zod';
import { talosImageSchema } from '../images/talos-image';
import { healthUrlOutsideVrack } from '../lb-endpoints';
import { PUBLIC_PATH_DEFAULTS, PUBLIC_PATH_MODES, publicPathIssues, publicPathOf } from '../public-path/modes';
import { cidrContains, isHostInCidr, isLoopbackCidr, isPrivateCidr, notPublicBecause, parseCidr } from '../net/ipv4';
import { parseDuration } from './duration';
import { GRAMMAR, type Grammar } from './grammar';
import { LIMITS } from './limits';

export const API_VERSION = 'autok8s/v1alpha1';

/** OVH API endpoints the `ovh` client knows by name; anything else must be a URL. */
export const OVH_ENDPOINT_NAMES = ['ovh-eu', 'ovh-ca', 'ovh-us', 'kimsufi-eu', 'kimsufi-ca', 'soyoustart-eu', 'soyoustart-ca'] as const;

/** A string in one of the shared grammars: its pattern (in the JSON Schema too), then what a pattern cannot say. */
/** A zod string of one grammar of core/spec/grammar.ts, refused with what it expects. */
export const grammatical = (g: Grammar, error = `must be ${g.expected}`) =>
  z
    .string()
    .regex(g.pattern, { error })
    .refine((v) => !g.pattern.test(v) || g.also(v), { error });

/** A whole number within bounds, with a message that says both bounds and the unit. */
const bounded = (bounds: { min: number; max: number }, what: string) =>
  z
    .number()
    .int({ error: `must be a whole number of ${what}` })
    .min(bounds.min, { error: `must be from ${bounds.min} to ${bounds.max} ${what}` })
    .max(bounds.max, { error: `must be from ${bounds.min} to ${bounds.max} ${what}` });

const secretRef = grammatical(GRAMMAR.secretRef).describe(
  'A secret reference: env:NAME (an environment variable of the worker) or file:/path (a file readable by the worker; ~ is expanded).',
);
const dnsLabel = grammatical(GRAMMAR.dnsLabel);
const ipv4 = grammatical(GRAMMAR.ipv4);
const specPath = grammatical(GRAMMAR.specPath);
const duration = grammatical(GRAMMAR.duration).describe('A duration: a whole number followed by ms, s, m or h.');

const vmSchema = z.strictObject({
  vmid: bounded(LIMITS.vmid, '(a Proxmox VMID)'),
  ip: ipv4.describe('Static address of the VM on the vRack network.'),
  cores: bounded(LIMITS.cores, 'cores').default(2),
  memoryMiB: bounded(LIMITS.memoryMiB, 'MiB').default(2048),
  diskGiB: bounded(LIMITS.diskGiB, 'GiB').default(16),
});

const proxmoxSchema = z.strictObject({
  url: grammatical(
    GRAMMAR.httpsUrl,
    'must be the https:// URL of the Proxmox VE API: a host name or IPv4 address, a port and at most a plain path, e.g. https://ns1234567.ip-1-2-3.eu:8006',
  ),
  node: grammatical(GRAMMAR.pveNode).describe('Proxmox node name (as in /nodes/{node}).'),
  tokenId: grammatical(GRAMMAR.pveTokenId),
  tokenSecret: secretRef,
  fingerprint: grammatical(GRAMMAR.pveFingerprint)
    .optional()
    .describe('Pin the Proxmox TLS certificate by its SHA-256 fingerprint (as shown by the PVE web UI).'),
  caFile: specPath.optional().describe('PEM file of a CA that signs the Proxmox certificate.'),
  storage: grammatical(GRAMMAR.pveStorageId).default('local-lvm').describe('Proxmox storage for VM disks (a pve-storage-id).'),
  bridge: grammatical(GRAMMAR.pveBridge).default('vmbr1').describe('Proxmox bridge attached to the OVH vRack (a pve-bridge-id).'),
  isoVolume: grammatical(GRAMMAR.pveIsoVolume)
    .default('local:iso/talos-nocloud-amd64.iso')
    .describe('Talos ISO volume to boot control-plane and worker VMs from: the nocloud image of talos.image (nocloud-amd64.iso from the Image Factory).'),
  lbTemplateVmid: bounded(LIMITS.vmid, '(a Proxmox VMID)')
    .optional()
    .describe('VMID of a Debian template with keepalived, HAProxy and Nginx to clone LB VMs from.'),
});

const sshSchema = z.strictObject({
  user: grammatical(GRAMMAR.posixUser).default('root'),
  address: grammatical(GRAMMAR.hostPort).optional().describe('Where the worker reaches the LB VM over SSH; defaults to <lb ip>:22.'),
  hostKey: grammatical(GRAMMAR.sshHostKey)
    .optional()
    .describe('The LB VM host key. Without it, pushes are refused unless trustOnFirstUse is true.'),
  trustOnFirstUse: z.boolean().default(false),
  privateKey: secretRef,
});

const serverSchema = z.strictObject({
  name: dnsLabel,
  ovhService: grammatical(GRAMMAR.ovhService).describe('OVH dedicated server service name, e.g. ns1234567.ip-1-2-3.eu.'),
  proxmox: proxmoxSchema,
  vms: z.strictObject({
    lb: vmSchema,
    controlPlane: vmSchema.optional().describe('Omit on servers that carry no control plane (the cluster needs an odd number of them).'),
    worker: vmSchema,
  }),
  ssh: sshSchema,
  lbHealthUrl: grammatical(GRAMMAR.healthUrl)
    .optional()
    .describe(
      'Health endpoint of the LB VM probed before routing a failover IP to it, on an address inside network.cidr (or on loopback: a port forward on the worker); defaults to http://<lb ip>:8404/healthz.',
    ),
});

/** A spec duration within bounds; malformed ones get the grammar's message only. */
const boundedDuration = (bounds: { min?: number; max: number }, why: string) =>
  duration.refine((v) => !GRAMMAR.duration.test(v) || (parseDuration(v) >= (bounds.min ?? 0) && parseDuration(v) <= bounds.max), {
    error: `must be ${bounds.min === undefined ? '' : `at least ${formatMs(bounds.min)} and `}at most ${formatMs(bounds.max)}: ${why}`,
  });

function formatMs(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

const healthSchema = z.strictObject({
  interval: boundedDuration(LIMITS.healthIntervalMs, 'health passes more often than that only load the Proxmox, Talos and OVH APIs').default('30s'),
  unhealthyAfter: boundedDuration(LIMITS.unhealthyAfterMs, 'a node down for a day is replaced by hand').default('5m'),
  nodeStartupTimeout: boundedDuration(LIMITS.nodeStartupTimeoutMs, 'a new node needs time to install Talos and join').default('10m'),
  maxUnhealthy: bounded(LIMITS.maxUnhealthy, 'nodes').default(1).describe('Most remediations in flight at once (default 1).'),
  autoRemediate: z.boolean().default(true),
});

const clusterObject = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be ${API_VERSION}` }),
  kind: z.literal('Cluster', { error: 'must be Cluster' }),
  metadata: z.strictObject({ name: dnsLabel.describe('Cluster name; used in workflow IDs, VM names and tags.') }),
  ovh: z.strictObject({
    endpoint: z
      .string()
      .refine((v) => (OVH_ENDPOINT_NAMES as readonly string[]).includes(v) || GRAMMAR.httpsUrl.test(v), {
        error: `must be one of ${OVH_ENDPOINT_NAMES.join(', ')} or an https:// URL of an OVH API (the sandbox prints one)`,
      }),
    caFile: specPath.optional().describe('PEM CA added to the trusted roots for the OVH API (the sandbox CA); verification is never turned off.'),
    applicationKey: secretRef,
    applicationSecret: secretRef,
    consumerKey: secretRef,
    vrack: grammatical(GRAMMAR.ovhVrack),
  }),
  failoverIps: z
    .array(ipv4)
    .min(1, { error: 'list at least one OVH failover IP' })
    .max(LIMITS.failoverIps, {
      error: `list at most ${LIMITS.failoverIps} failover IPs: keepalived's notify_master runs one autok8s failover per IP on one line, and keepalived splits lines longer than ${LIMITS.keepalivedLineChars} characters`,
    }),
  network: z.strictObject({
    cidr: z.string().refine(
      (v) => {
        const cidr = parseCidr(v);
        return cidr !== undefined && cidr.prefix >= LIMITS.cidrPrefix.min && cidr.prefix <= LIMITS.cidrPrefix.max && (isPrivateCidr(cidr) || isLoopbackCidr(cidr));
      },
      // A loopback network passes here and is refused by every worker whose policy does not allow it (core/spec/worker-policy.ts).
      { error: `must be a private (RFC 1918) IPv4 CIDR from /${LIMITS.cidrPrefix.min} to /${LIMITS.cidrPrefix.max}, such as 10.10.0.0/24` },
    ),
    gateway: ipv4,
    apiVip: ipv4.describe('Private virtual IP held by keepalived: the Kubernetes API endpoint.'),
    vrrpRouterId: bounded(LIMITS.vrrpRouterId, '(a VRRP router ID)').default(51),
    interface: grammatical(GRAMMAR.interfaceName).default('eth0').describe('Name of the vRack interface inside the VMs.'),
  }),
  publicPath: z
    .strictObject({
      mode: z
        .enum(PUBLIC_PATH_MODES, { error: `must be one of ${PUBLIC_PATH_MODES.join(', ')} (docs/production.md, "The public path")` })
        .default(PUBLIC_PATH_DEFAULTS.mode)
        .describe('How a failover IP reaches the active LB VM: vmac (bridged with an OVH virtual MAC), routed (through the host), vrack-block (an IP block in the vRack).'),
      bridge: grammatical(GRAMMAR.pveBridge).default(PUBLIC_PATH_DEFAULTS.bridge).describe('Proxmox bridge of the LB VM public NIC (vmac, routed).'),
      interface: grammatical(GRAMMAR.interfaceName).default(PUBLIC_PATH_DEFAULTS.interface).describe('Name of the public NIC inside the LB VM (vmac, routed).'),
      probeUrl: grammatical(GRAMMAR.probeUrlTemplate)
        .optional()
        .describe('What failover GETs to see the failover IP serve traffic, {ip} standing for the IP, e.g. http://{ip}/ (any HTTP answer counts); omitted: serving is not verified.'),
      block: z.string().optional().describe('vrack-block only: the OVH IP block routed into the vRack, a /29 or larger; every failover IP is one of its usable addresses.'),
    })
    // Optional, defaults applied by publicPathOf: a spec accepted before the section existed
    // keeps its generation (the hash of the parsed spec), so kept generations stay valid.
    .optional()
    .describe('How a failover IP reaches the active LB VM; omitted: vmac on vmbr0, eth1 in the LB VM.'),
  talos: z.strictObject({
    version: z.string().regex(GRAMMAR.versionTag.pattern, { error: 'must be a Talos version tag such as v1.8.3' }),
    kubernetesVersion: z.string().regex(GRAMMAR.versionTag.pattern, { error: 'must be a Kubernetes version tag such as v1.31.2' }),
    installDisk: grammatical(GRAMMAR.devicePath).default('/dev/sda'),
    talosctl: specPath.optional().describe("Path of the talosctl binary (within the worker's path roots); $TALOSCTL on the worker comes first; without either, talosctl on PATH, then the pinned build (npm run install-talosctl)."),
    image: talosImageSchema.prefault({}).describe('The Talos image the ISO volumes hold (core/images/talos-image.ts).'),
  }),
  servers: z
    .array(serverSchema)
    .min(1, { error: 'list at least one server' })
    .max(LIMITS.servers, { error: `list at most ${LIMITS.servers} servers: each LB needs its own VRRP priority within 1..254` }),
  health: healthSchema.prefault({}),
  state: z
    .strictObject({ dir: specPath.optional().describe('State store (Talos secrets, machine configs, kubeconfig). Created 0700; files 0600.') })
    .prefault({}),
});

type Issue = { path: (string | number)[]; message: string };

/** Cross-field rules that a per-field schema cannot express. Pure; returns every problem found. */
export function crossFieldIssues(spec: z.output<typeof clusterObject>): Issue[] {
  const issues: Issue[] = [];
  const cidr = parseCidr(spec.network.cidr);
  const firstSeen = new Map<string, string>();
  // Cross-field rules look only at values in their grammar: a malformed one already has its own
  // issue, and its text (newlines, escape sequences) must not be echoed into another message.
  const claim = (kind: string, value: string, path: (string | number)[], what: string, wellFormed: Grammar | 'any') => {
    if (wellFormed !== 'any' && !wellFormed.test(value)) return;
    const key = `${kind}:${value}`;
    const earlier = firstSeen.get(key);
    if (earlier !== undefined) issues.push({ path, message: `${what} ${value} is already used by ${earlier}; each must be unique` });
    else firstSeen.set(key, path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, ''));
  };
  const inCidr = (ip: string, path: (string | number)[]) => {
    if (cidr && GRAMMAR.ipv4.test(ip) && !isHostInCidr(ip, cidr)) {
      issues.push({ path, message: `${ip} is not a host address inside network.cidr ${spec.network.cidr}; pick an address inside it` });
    }
  };

  inCidr(spec.network.gateway, ['network', 'gateway']);
  inCidr(spec.network.apiVip, ['network', 'apiVip']);
  claim('ip', spec.network.gateway, ['network', 'gateway'], 'address', GRAMMAR.ipv4);
  claim('ip', spec.network.apiVip, ['network', 'apiVip'], 'address', GRAMMAR.ipv4);
  spec.failoverIps.forEach((ip, i) => {
    claim('failover', ip, ['failoverIps', i], 'failover IP', GRAMMAR.ipv4);
    const notPublic = GRAMMAR.ipv4.test(ip) ? notPublicBecause(ip) : undefined;
    if (notPublic) {
      issues.push({ path: ['failoverIps', i], message: `${ip} is ${notPublic}, not a public address; list the OVH failover IPs (Network → Public IP addresses)` });
    } else if (cidr && cidrContains(cidr, ip)) {
      issues.push({ path: ['failoverIps', i], message: `${ip} is inside network.cidr ${spec.network.cidr}; failover IPs are public addresses outside the vRack` });
    }
  });

  let controlPlanes = 0;
  spec.servers.forEach((server, i) => {
    claim('server', server.name, ['servers', i, 'name'], 'server name', GRAMMAR.dnsLabel);
    claim('ovhService', server.ovhService, ['servers', i, 'ovhService'], 'OVH service', GRAMMAR.ovhService);
    const pve = `${server.proxmox.url}#${server.proxmox.node}`;
    for (const role of ['lb', 'controlPlane', 'worker'] as const) {
      const vm = server.vms[role];
      if (!vm) continue;
      if (role === 'controlPlane') controlPlanes += 1;
      const path = ['servers', i, 'vms', role];
      claim('ip', vm.ip, [...path, 'ip'], 'address', GRAMMAR.ipv4);
      inCidr(vm.ip, [...path, 'ip']);
      claim(`vmid@${pve}`, String(vm.vmid), [...path, 'vmid'], 'VMID', 'any');
    }
    // The worker probes this URL before routing public traffic to the LB: it must stay on the
    // vRack (or on loopback, a port forward on the worker), never reach out anywhere else.
    const outside = server.lbHealthUrl !== undefined && cidr ? healthUrlOutsideVrack(server.lbHealthUrl, spec.network.cidr) : undefined;
    if (outside) issues.push({ path: ['servers', i, 'lbHealthUrl'], message: outside });
  });
  if (controlPlanes === 0) {
    issues.push({ path: ['servers'], message: 'no server has vms.controlPlane; a cluster needs 1, 3 or 5 control planes' });
  } else if (controlPlanes % 2 === 0) {
    issues.push({
      path: ['servers'],
      message: `${controlPlanes} control planes: etcd needs an odd number (1, 3, 5, ...); drop vms.controlPlane from one server or add one`,
    });
  }
  issues.push(
    ...publicPathIssues(publicPathOf(spec), {
      failoverIps: spec.failoverIps,
      vrackInterface: spec.network.interface,
      vrackBridges: spec.servers.map((s) => s.proxmox.bridge),
      vrackCidr: spec.network.cidr,
      wellFormedIp: (ip) => GRAMMAR.ipv4.test(ip),
    }),
  );
  // Only compare durations that are well formed; malformed ones already have their own issue.
  const ms = (d: string) => (GRAMMAR.duration.test(d) ? parseDuration(d) : NaN);
  const minUnhealthy = LIMITS.unhealthyAfterIntervals * ms(spec.health.interval);
  if (ms(spec.health.unhealthyAfter) < minUnhealthy) {
    issues.push({
      path: ['health', 'unhealthyAfter'],
      message: `must be at least ${LIMITS.unhealthyAfterIntervals} × health.interval (${formatMs(minUnhealthy)}); one missed probe is not an outage, so a node is judged over at least two passes`,
    });
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
