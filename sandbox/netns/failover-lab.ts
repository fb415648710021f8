// VRRP failover against the sandbox: real keepalived in lab namespaces, one per server of
// a running sandbox, whose notify_master moves the sandbox's failover IP.
//
// keepalived needs the VIP and its unicast peers in the lab's own 10.231.N.0/24, so the
// spec it is rendered from (and the CLI loads) is the sandbox's spec with every network
// address moved into the lab subnet. Everything else stays the sandbox's: server names,
// OVH services, the OVH endpoint and credentials, and `lbHealthUrl` (the in-process LB
// hosts on loopback), so `autok8s failover` moves the simulator's IP and probes LBs that answer.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { LbPublicNetwork } from '../../core/public-path/lb-network';
import type { KeepalivedRenderOptions } from '../../core/render/keepalived';
import { parseSpec } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { NetnsLab, type LabHost } from './lab';
import { KeepalivedGroup } from './vrrp';

export interface LabNetwork {
  cidr: string;
  gatewayIp: string;
  ip(n: number): string;
}

export interface LabSpecOptions {
  /** publicPath.probeUrl of the lab spec: how failoverIp reaches the public side (sandbox/netns/public-lab.ts). */
  probeUrl?: string;
}

interface SpecDoc {
  network: Record<string, unknown>;
  publicPath?: Record<string, unknown>;
  servers: { vms: Record<string, { ip: string } | undefined> }[];
}

/**
 * Pure: a spec's YAML with the network moved into the lab's /24: gateway .1 (the lab
 * bridge), VIP .5, LBs from .11, control planes from .21, workers from .31 (at most 9 servers).
 */
export function labAddressedSpec(specYaml: string, net: LabNetwork, opts: LabSpecOptions = {}): string {
  const doc = parse(specYaml) as SpecDoc;
  if (doc.servers.length > 9) throw new Error(`the lab layout has room for 9 servers, not ${doc.servers.length}`);
  doc.network = { ...doc.network, cidr: net.cidr, gateway: net.gatewayIp, apiVip: net.ip(5) };
  if (opts.probeUrl !== undefined) doc.publicPath = { ...doc.publicPath, probeUrl: opts.probeUrl };
  const base = { lb: 11, controlPlane: 21, worker: 31 } as const;
  doc.servers.forEach((server, i) => {
    for (const role of Object.keys(base) as (keyof typeof base)[]) {
      const vm = server.vms[role];
      if (vm) vm.ip = net.ip(base[role] + i);
    }
  });
  return `# The sandbox's spec with its network moved into VRRP lab addresses (sandbox/netns/failover-lab.ts).\n${stringify(doc, { lineWidth: 0 })}`;
}

export class FailoverLab {
  private group: KeepalivedGroup | undefined;

  private constructor(
    readonly lab: NetnsLab,
    /** The spec keepalived is rendered from and the CLI loads (lab addresses, sandbox endpoints). */
    readonly spec: ClusterSpec,
    readonly specFile: string,
    /** Each server's LB namespace, by server name. */
    readonly hosts: Record<string, LabHost>,
  ) {}

  /** A lab with one LB namespace per server of the sandbox whose spec is `sandboxSpecFile`; writes the lab spec into the lab. */
  static async create(sandboxSpecFile: string, opts: LabSpecOptions = {}): Promise<FailoverLab> {
    const lab = await NetnsLab.create();
    try {
      const text = labAddressedSpec(readFileSync(sandboxSpecFile, 'utf8'), lab, opts);
      const specFile = join(lab.dir, 'cluster.yaml');
      // Validated as the CLI will validate it: a spec error surfaces here, not in a notify log.
      const spec = parseSpec(text, specFile);
      await writeFile(specFile, text, { mode: 0o644 });
      const hosts: Record<string, LabHost> = {};
      for (const [i, server] of spec.servers.entries()) hosts[server.name] = await lab.addHost(`lb-${i}`, server.vms.lb.ip);
      await mkdir(join(lab.dir, 'bin'), { recursive: true, mode: 0o755 });
      return new FailoverLab(lab, spec, specFile, hosts);
    } catch (err) {
      await lab.teardown();
      throw err;
    }
  }

  /** Root-owned directory for notify scripts (keepalived's script security checks the whole path). */
  get binDir(): string {
    return join(this.lab.dir, 'bin');
  }

  /**
   * Starts keepalived on every LB with `notifyCommand` as its notify program (and, per server,
   * the public network its instance holds while MASTER); stops a group started before.
   */
  async startKeepalived(
    notifyCommand: string,
    opts: Omit<KeepalivedRenderOptions, 'notifyCommand'> = {},
    publicNetworks: Record<string, LbPublicNetwork> = {},
  ): Promise<KeepalivedGroup> {
    await this.group?.stopAll();
    this.group = await KeepalivedGroup.start(this.lab, this.spec, this.hosts, { ...opts, notifyCommand }, publicNetworks);
    return this.group;
  }

  async teardown(): Promise<void> {
    await this.group?.stopAll();
    await this.lab.teardown();
  }
}
