// The sandbox: every simulator autok8s talks to, on this machine, composed into one handle
// (docs/design.md §5). Started in-process by tests and the demo, or alone by `autok8s sandbox up`.
// It writes a ready cluster.yaml whose endpoints point at the simulators and whose secret
// references point at files under its directory; the adapters then work unchanged.
import type { WorkerPolicy } from '../core/spec/worker-policy';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadSpecFile } from '../core/spec/load';
import type { ClusterSpec } from '../core/spec/schema';
import { AuditLog } from './audit';
import { startControlServer, type ControlServer } from './control';
import { FaultInjector } from './faults';
import { InProcessLbHost } from './lbhost/host';
import { generateEd25519KeyPair } from './ssh-keys';
import { OvhSimulator, type OvhLatency } from './ovh/simulator';
import { ProxmoxSimulator, type ProxmoxLatency, type SimDiskGuest, type SimIso } from './proxmox/simulator';
import { autok8sAcl } from './proxmox/autok8s-role';
import { TalosSimulator } from './talos/simulator';
import type { TalosTiming } from './talos/talos-api';
import type { ServerNetworkInit } from './ovh/vmac';
import { PublicInternet } from './public-internet';
import { PUBLIC_PATH_DEFAULTS } from '../core/public-path/modes';
import { renderSandboxSpec, talosNodeAddresses, type SandboxServerEndpoints } from './spec';
import { leaseNodeNetwork } from './node-network';
import { PINNED_TALOS_VERSION } from '../core/talos/talosctl-pin';
import { requireLocalTalosNodes } from './talos/grpc/local-guard';
import { findPinnedTalosctl } from './talos/real-talosctl';
import { startKeepalived } from './keepalived-hosts';
import type { VrrpSimulation } from './vrrp-sim';
import { loadOrCreateSandboxCa, type SandboxCa } from './tls';

export interface SandboxOptions {
  /** Directory for the CA, secrets, audit log, state store and cluster.yaml. */
  dir: string;
  clusterName?: string;
  /** Number of OVH servers (default 3). */
  servers?: number;
  failoverIps?: string[];
  /** Simulated provider latencies; `talos` is the Talos nodes' install/reboot/etcd-join/kubelet timing. */
  latency?: { ovh?: Partial<OvhLatency>; proxmox?: Partial<ProxmoxLatency>; talos?: Partial<TalosTiming> };
  /** Pin Proxmox certificates by fingerprint (as on real PVE) instead of trusting the sandbox CA (default true). */
  pinProxmox?: boolean;
  /**
   * What OVH says about each server, by index (datacenter, virtual MAC support, gateway, region);
   * defaults: gra3, virtual MACs supported, gateway 198.51.100.254 (documentation range).
   */
  ovhServers?: ({ datacenter?: string } & ServerNetworkInit)[];
  /** Health section of the written spec. */
  health?: Record<string, unknown>;
  /** What the Proxmox nodes' storages hold and the spec boots (default: Talos nocloud without extensions). */
  images?: { isos?: SimIso[]; diskGuest?: SimDiskGuest; isoVolume?: string; talosImage?: Record<string, unknown> };
  /**
   * Point the spec's publicPath.probeUrl at the simulated internet, so failoverIp verifies that
   * the failover IP serves traffic (default on: bootstrap builds the public path; off leaves
   * serving unverified, for tests that run failovers without a bootstrapped path).
   */
  publicProbe?: boolean;
  /** The spec's publicPath section (mode, bridge, interface, block); default none (vmac on vmbr0). */
  publicPath?: Record<string, unknown>;
  /** keepalived's advert_int in the LB VMs, ms (default KEEPALIVED_DEFAULTS.advertIntSeconds: what the rendered config says). */
  vrrpAdvertIntMs?: number;
  /** Whether keepalived runs in the LB VMs from the start (default true); false: a test starts it (`vrrp.start`) once its notify hook is set. */
  keepalivedStarted?: boolean;
  /**
   * Which talosctl the spec names (talos.talosctl): `real`, the pinned build (an error when
   * there is none), `fallback`, the stand-in speaking the same Talos API, or `auto` (the
   * default, or $AUTOK8S_SANDBOX_TALOSCTL): the real one when it is built.
   */
  talosctl?: SandboxTalosctlChoice;
}

export type SandboxTalosctlChoice = 'real' | 'fallback' | 'auto';

/** Which talosctl a sandbox's spec names, and why. */
export interface SandboxTalosctl {
  kind: 'real' | 'fallback';
  path: string;
  /** For `fallback` under `auto`: why the real one is not used, with the command that builds it. */
  why?: string;
}

export interface Sandbox {
  dir: string;
  specFile: string;
  spec: ClusterSpec;
  ca: SandboxCa;
  audit: AuditLog;
  faults: FaultInjector;
  ovh: OvhSimulator;
  /** The LB VMs: in-process SSH hosts with a /healthz endpoint, by server name. */
  lbHosts: Map<string, InProcessLbHost>;
  /** One Proxmox VE simulator per server, by server name. */
  proxmox: Map<string, ProxmoxSimulator>;
  /** Talos nodes of the running VMs, each serving the Talos API on <its address>:50000 on loopback. */
  talos: TalosSimulator;
  /** The talosctl the spec names: the real one, or the fallback client. */
  talosctl: SandboxTalosctl;
  /** Loopback control API (faults, audit, hooks); its URL is also in <dir>/control.json. */
  control: ControlServer;
  /** The public side: delivers a request for a failover IP only along a working public path (sandbox/public-internet.ts). */
  internet: PublicInternet;
  /**
   * keepalived in the LB VMs (sandbox/vrrp-sim.ts): running from the start, as on LB VMs the
   * bootstrap set up. `vrrp.onNotify(hook)` runs the notify scripts' commands.
   */
  vrrp: VrrpSimulation;
  /**
   * The policy a worker needs to run this sandbox's spec: its files under the sandbox
   * directory, its OVH simulator's URL. A worker is given it explicitly (dev, demo, tests);
   * nothing in an activity knows it talks to a sandbox.
   */
  workerPolicy: WorkerPolicy;
  stop(): Promise<void>;
}

export const SANDBOX_OVH_CREDENTIALS_FILES = ['ovh-application-key', 'ovh-application-secret', 'ovh-consumer-key'] as const;

function writeSecret(dir: string, name: string, value: string): void {
  writeFileSync(join(dir, name), value + '\n', { mode: 0o600 });
}

/** The IP block a vrack-block publicPath names, for the OVH simulator to own. */
function vrackBlockOf(publicPath: Record<string, unknown> | undefined): string[] {
  return publicPath?.mode === 'vrack-block' && typeof publicPath.block === 'string' ? [publicPath.block] : [];
}

/** The LB VM's public interface (publicPath.interface, default eth1), none in vrack-block mode. */
function lbPublicInterface(publicPath: Record<string, unknown> | undefined): string[] {
  if (publicPath?.mode === 'vrack-block') return [];
  return [typeof publicPath?.interface === 'string' ? publicPath.interface : PUBLIC_PATH_DEFAULTS.interface];
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const choice = talosctlChoice(options.talosctl);
  const dir = resolve(options.dir);
  const secretsDir = join(dir, 'secrets');
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  const clusterName = options.clusterName ?? 'sandbox';
  const serverCount = options.servers ?? 3;
  const failoverIps = options.failoverIps ?? ['203.0.113.10'];
  const names = Array.from({ length: serverCount }, (_, i) => `srv-${String.fromCharCode(97 + (i % 26))}${i >= 26 ? Math.floor(i / 26) : ''}`);
  const services = names.map((_, i) => `ns${5001 + i}.ip-10-0-0.eu`);

  const ca = await loadOrCreateSandboxCa(join(dir, 'ca'));
  const audit = new AuditLog(join(dir, 'audit.jsonl'));
  const faults = new FaultInjector();
  const stops: (() => Promise<void>)[] = [];

  try {
    const nodeNetwork = await leaseNodeNetwork(clusterName);
    stops.push(() => nodeNetwork.release());

    const credential = {
      applicationKey: randomBytes(8).toString('hex'),
      applicationSecret: randomBytes(16).toString('hex'),
      consumerKey: randomBytes(16).toString('hex'),
    };
    writeSecret(secretsDir, 'ovh-application-key', credential.applicationKey);
    writeSecret(secretsDir, 'ovh-application-secret', credential.applicationSecret);
    writeSecret(secretsDir, 'ovh-consumer-key', credential.consumerKey);

    const ovh = await OvhSimulator.start({
      ca,
      audit,
      faults,
      credentials: [credential],
      // vrack-block: the block is an IP of the account too, routed to the first server until bootstrap moves it into the vRack.
      failoverIps: [...failoverIps, ...vrackBlockOf(options.publicPath)].map((ip) => ({ ip, routedTo: services[0] })),
      dedicatedServers: services.map((serviceName, i) => ({ serviceName, datacenter: 'gra3', ...options.ovhServers?.[i] })),
      vracks: [{ serviceName: 'pn-100001', dedicatedServers: [] }],
      latency: options.latency?.ovh,
    });
    stops.push(() => ovh.stop());

    // One SSH key for autok8s; each LB host authorizes it and pins its own host key in the spec.
    const sshKey = generateEd25519KeyPair();
    writeSecret(secretsDir, 'ssh-key', sshKey.private);
    const lbHosts = new Map<string, InProcessLbHost>();
    // An LB VM with a public NIC (net1, vmac and routed) has its second interface, which keepalived -t checks.
    const interfaces = ['lo', 'eth0', ...lbPublicInterface(options.publicPath)];
    for (const name of names) {
      const host = await InProcessLbHost.start({ name, authorizedKey: sshKey.public, rootDir: join(dir, 'lb', name), audit, faults, interfaces });
      lbHosts.set(name, host);
      stops.push(() => host.stop());
    }

    const proxmox = new Map<string, ProxmoxSimulator>();
    const endpoints: SandboxServerEndpoints[] = [];
    for (const [i, name] of names.entries()) {
      const node = `pve-${name.slice(4)}`;
      const tokenSecret = randomUUID();
      // The token holds exactly the privileges docs/production.md grants, on the spec's default
      // storage, ISO storage and bridges (core/spec/schema.ts, publicPath): a call needing more gets a 403.
      const acl = autok8sAcl({ storage: 'local-lvm', isoStorage: 'local', bridge: 'vmbr1', publicBridge: 'vmbr0' });
      const sim = await ProxmoxSimulator.start({ ca, audit, faults, node, tokens: [{ tokenId: 'root@pam!autok8s', secret: tokenSecret, acl }], latency: options.latency?.proxmox, isos: options.images?.isos, diskGuest: options.images?.diskGuest });
      stops.push(() => sim.stop());
      proxmox.set(name, sim);
      writeSecret(secretsDir, `pve-${name}.token`, tokenSecret);
      endpoints.push({
        name,
        ovhService: services[i],
        proxmoxUrl: sim.url,
        proxmoxNode: node,
        // Real PVE certificates are self-signed: pinning by fingerprint is how users trust them.
        proxmoxFingerprint: options.pinProxmox === false ? undefined : sim.fingerprint256,
        lbHealthUrl: lbHosts.get(name)!.healthUrl,
        sshAddress: lbHosts.get(name)!.address,
        sshHostKey: lbHosts.get(name)!.hostKeyLine,
      });
    }

    let spec: ClusterSpec | undefined;
    let vrrp: VrrpSimulation | undefined;
    const internet = await PublicInternet.start({
      spec: () => {
        if (!spec) throw new Error('the sandbox spec is not written yet');
        return spec;
      },
      ovh,
      proxmox,
      healthUrl: (server) => lbHosts.get(server)!.healthUrl,
      vrrp: {
        state: (server) => vrrp?.state(server) ?? 'STOPPED',
        holders: () => vrrp?.holders() ?? [],
      },
      audit,
    });
    stops.push(() => internet.stop());

    // Talos answers only for VMs a Proxmox simulator runs; a recreated VM is a new machine.
    const talos = new TalosSimulator({
      audit,
      faults,
      lookupNode: (ip) => {
        for (const sim of proxmox.values()) {
          const vm = sim.vmByIp(ip);
          if (vm) return { running: vm.status === 'running', machineKey: `${sim.node}/${vm.vmid}/${vm.generation}` };
        }
        return undefined;
      },
      timing: options.latency?.talos,
      talosVersion: PINNED_TALOS_VERSION,
    });
    await talos.start();
    stops.push(() => talos.stop());
    // Every node answers over the Talos API on its own loopback address; the fallback client reaches them the same way.
    await talos.serveGrpc(talosNodeAddresses(nodeNetwork.prefix, serverCount), { standInOverGrpc: true });
    const talosctl = pickTalosctl(choice, () => talos.writeStandIn(join(dir, 'bin')));

    const specFile = join(dir, 'cluster.yaml');
    writeFileSync(
      specFile,
      renderSandboxSpec({
        clusterName,
        nodeNetwork: nodeNetwork.prefix,
        talosVersion: PINNED_TALOS_VERSION,
        ovhEndpoint: ovh.endpoint,
        caFile: ca.certFile,
        secretsDir,
        stateDir: join(dir, 'state'),
        talosctl: talosctl.path,
        failoverIps,
        servers: endpoints,
        health: options.health,
        isoVolume: options.images?.isoVolume,
        talosImage: options.images?.talosImage,
        probeUrl: options.publicProbe === false ? undefined : internet.probeUrlTemplate,
        publicPath: options.publicPath,
      }),
    );
    spec = loadSpecFile(specFile);
    requireLocalTalosNodes(spec); // what the real talosctl will dial: this machine only
    const keepalived = startKeepalived({ spec, lbHosts, audit, advertIntMs: options.vrrpAdvertIntMs, running: options.keepalivedStarted });
    vrrp = keepalived;
    stops.push(() => keepalived.close());
    // `systemctl stop|start keepalived` on an LB host (a push, a release before a replace) stops
    // and starts that member, as the unit does on a real VM.
    for (const [name, host] of lbHosts) {
      host.onUnitActive((unit, active) => {
        if (unit !== 'keepalived') return;
        if (active) keepalived.start(name);
        else keepalived.stop(name);
      });
    }

    const lbOf = (args: string[]) => {
      const endpoint = lbHosts.get(args[0] ?? '');
      if (!endpoint) throw new Error(`no server ${args[0]}; servers: ${names.join(', ')}`);
      return endpoint;
    };
    const control = await startControlServer({
      audit,
      faults,
      hooks: {
        'lb-down': async (args) => (await lbOf(args).setHealthy(false), `LB of ${args[0]} is down`),
        'lb-up': async (args) => (await lbOf(args).setHealthy(true), `LB of ${args[0]} is up`),
        'node-not-ready': async ([server, role, on]) => {
          const vm = spec.servers.find((s) => s.name === server)?.vms[role as 'controlPlane' | 'worker'];
          if (!vm) throw new Error(`usage: node-not-ready <server> <controlPlane|worker> [on|off]; servers: ${names.join(', ')}`);
          talos.setNotReady(vm.ip, on !== 'off');
          return `${server}/${role} (${vm.ip}) ${on !== 'off' ? 'NotReady' : 'Ready again'}`;
        },
        'keepalived-stop': async ([server]) => (keepalived.stop(lbOf([server ?? '']).name), `keepalived on ${server}'s LB stopped`),
        'keepalived-start': async ([server]) => (keepalived.start(lbOf([server ?? '']).name), `keepalived on ${server}'s LB started`),
        'vrrp-isolate': async ([server, ms]) => {
          const forMs = Number(ms);
          if (!Number.isInteger(forMs) || forMs <= 0) throw new Error('usage: vrrp-isolate <server> <ms>: the LB hears no VRRP advert for <ms> milliseconds');
          keepalived.isolate(lbOf([server ?? '']).name, forMs);
          return `${server}'s keepalived hears no advert for ${forMs} ms`;
        },
        'kill-vm': async ([server, role]) => {
          const sim = proxmox.get(server ?? '');
          const vm = sim && spec.servers.find((s) => s.name === server)?.vms[role as 'lb' | 'controlPlane' | 'worker'];
          if (!sim || !vm) throw new Error(`usage: kill-vm <server> <lb|controlPlane|worker>; servers: ${names.join(', ')}`);
          sim.killVm(vm.vmid);
          return `VM ${vm.vmid} (${server}/${role}) killed`;
        },
      },
    });
    stops.push(() => control.stop());
    writeFileSync(join(dir, 'control.json'), JSON.stringify({ url: control.url, pid: process.pid }) + '\n');

    return {
      dir,
      specFile,
      spec,
      ca,
      audit,
      faults,
      ovh,
      lbHosts,
      proxmox,
      talos,
      talosctl,
      control,
      internet,
      vrrp: keepalived,
      // The real talosctl lies outside the sandbox directory, in the machine's cache; the node network is on loopback only.
      workerPolicy: { secretEnvPrefixes: [], pathRoots: [dir, ...(talosctl.kind === 'real' ? [talosctl.path] : [])], ovhEndpoints: [ovh.endpoint], nodeNetwork: 'loopback' },
      async stop() {
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}

const TALOSCTL_CHOICES: readonly SandboxTalosctlChoice[] = ['real', 'fallback', 'auto'];

/** The option, else $AUTOK8S_SANDBOX_TALOSCTL, else auto; a wrong value is refused before anything starts. */
function talosctlChoice(option: SandboxTalosctlChoice | undefined): SandboxTalosctlChoice {
  const value = option ?? (process.env.AUTOK8S_SANDBOX_TALOSCTL?.trim() || 'auto');
  if (!(TALOSCTL_CHOICES as readonly string[]).includes(value)) {
    throw new Error(`AUTOK8S_SANDBOX_TALOSCTL=${JSON.stringify(value)}: must be ${TALOSCTL_CHOICES.join(', ')}`);
  }
  return value as SandboxTalosctlChoice;
}

/**
 * The talosctl the spec names. $TALOSCTL is one place to find the real one, then it is taken
 * out of this process's environment: the worker ranks $TALOSCTL above the spec
 * (activities/talos/find-talosctl.ts), and the sandbox's workers must run what its spec names.
 */
function pickTalosctl(choice: SandboxTalosctlChoice, writeStandIn: () => string): SandboxTalosctl {
  const env = { ...process.env };
  if (process.env.TALOSCTL) {
    console.warn(`sandbox: $TALOSCTL=${process.env.TALOSCTL} is not used by this process's workers: they run the talosctl the sandbox's spec names (the real one when $TALOSCTL or the cache holds the pinned version)`);
    delete process.env.TALOSCTL;
  }
  if (choice === 'fallback') return { kind: 'fallback', path: writeStandIn() };
  const real = findPinnedTalosctl(env);
  if ('path' in real) return { kind: 'real', path: real.path };
  if (choice === 'real') throw new Error(`the sandbox was asked for the real talosctl: ${real.missing}`);
  return { kind: 'fallback', path: writeStandIn(), why: real.missing };
}
