// An LB VM that needs nothing but npm: a real SSH server (ssh2's Server, real key exchange,
// host key and public-key authentication) on 127.0.0.1 that runs the push's commands over
// a per-host root directory, plus the /healthz endpoint failover probes. The SSH push talks
// to it exactly as to a real LB VM; only the programs behind the commands are stand-ins
// (sandbox/lbhost/commands.ts, validators.ts). The network-namespace tier runs the real ones.
import { mkdir } from 'node:fs/promises';
import { posix } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Server, utils, type Connection, type ParsedKey, type ServerChannel } from 'ssh2';
import { LB_CONFIG_PATHS } from '../../core/render/lb-files';
import type { AuditLog, AuditOutcome } from '../audit';
import type { FaultInjector } from '../faults';
import { LbHealthEndpoint } from '../lb-health';
import { generateEd25519KeyPair } from '../ssh-keys';
import { DEBIAN_LB_DIRS } from './debian-layout';
import { defaultUnits, hostPath, runCommand, type CommandOutcome, type HostFilesystem, type UnitState } from './commands';
import { parseShellWords, UnsupportedShellSyntax } from './shell-words';

export interface InProcessLbHostOptions {
  /** Name in audit entries (`ssh:<name>`) and fault rules; default "lb". */
  name?: string;
  /** Host private key (OpenSSH or PEM). Default: a fresh ed25519 key. */
  hostKey?: string;
  /** The one public key (OpenSSH line) allowed to log in. */
  authorizedKey: string;
  /** User allowed to log in (default root). */
  user?: string;
  /** Files of this host live under it (created if missing). */
  rootDir: string;
  audit: AuditLog;
  /** Consulted on every exec as (service `ssh:<name>`, method "exec", path = the command line). */
  faults?: FaultInjector;
  /** SSH port on 127.0.0.1 (default: any free one). */
  port?: number;
  /** /healthz port on 127.0.0.1 (default: any free one). */
  healthPort?: number;
  /** Config file each service unit reloads (default: Debian paths). */
  unitConfig?: Record<string, string>;
  /** Network interfaces the host has, which `keepalived -t` checks (default lo and eth0). */
  interfaces?: string[];
}

export class InProcessLbHost {
  private readonly connections = new Set<Connection>();
  private constructor(
    readonly name: string,
    private readonly server: Server,
    readonly port: number,
    /** The host key as an OpenSSH public key line: what a spec pins as ssh.hostKey. */
    readonly hostKeyLine: string,
    private readonly health: LbHealthEndpoint,
    private readonly fs: HostFilesystem,
  ) {}

  /** `127.0.0.1:<port>`, the form of ssh.address in a spec. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get healthUrl(): string {
    return this.health.url;
  }

  get rootDir(): string {
    return this.fs.rootDir;
  }

  static async start(opts: InProcessLbHostOptions): Promise<InProcessLbHost> {
    const name = opts.name ?? 'lb';
    const service = `ssh:${name}`;
    const user = opts.user ?? 'root';
    const hostKeyText = opts.hostKey ?? generateEd25519KeyPair().private;
    const hostKey = parseOne(hostKeyText, 'hostKey');
    const authorized = parseOne(opts.authorizedKey, 'authorizedKey');
    const authorizedBlob = authorized.getPublicSSH();
    const fs = await freshDebianFilesystem(opts);
    const audit = (action: string, target: string, outcome: AuditOutcome, detail?: Record<string, unknown>) =>
      opts.audit.record({ service, action, target, outcome, detail });

    let host: InProcessLbHost | undefined;
    const server = new Server({ hostKeys: [hostKeyText] }, (client) => {
      host?.connections.add(client);
      // Small request/response exchanges: no Nagle delay. (ssh2's Connection has it; its typings miss it.)
      (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
      client.on('close', () => host?.connections.delete(client));
      client.on('error', () => undefined); // a client going away mid-handshake is not the host's problem
      client.on('authentication', (ctx) => {
        const keyMatches = ctx.method === 'publickey' && ctx.username === user && ctx.key.data.equals(authorizedBlob);
        if (!keyMatches) {
          // ("none" is every client's opening probe for the methods on offer: not worth an entry.)
          if (ctx.method !== 'none') audit('auth', ctx.username, 'rejected', { method: ctx.method, reason: ctx.method === 'publickey' ? 'key not authorized' : 'method not offered' });
          return ctx.reject(['publickey']);
        }
        // Without a signature the client only asks whether the key would do; with one, it must verify.
        if (ctx.signature && authorized.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) {
          audit('auth', ctx.username, 'rejected', { method: ctx.method, reason: 'bad signature' });
          return ctx.reject(['publickey']);
        }
        ctx.accept();
      });
      client.on('ready', () => {
        client.on('session', (acceptSession) => {
          const session = acceptSession();
          session.on('exec', (acceptExec, _reject, info) => {
            const channel = acceptExec();
            const chunks: Buffer[] = [];
            channel.on('data', (d: Buffer) => chunks.push(d));
            channel.on('end', () => {
              // A client that vanished mid-command must not take the host down with it.
              execute(info.command, Buffer.concat(chunks), channel).catch(() => channel.destroy());
            });
          });
        });
      });
    });

    const execute = async (command: string, stdin: Buffer, channel: ServerChannel) => {
      const effect = opts.faults?.take(service, 'exec', command);
      if (effect?.kind === 'hang') return; // never answer: the client's timeout has to notice
      if (effect?.kind === 'reset') {
        for (const c of host?.connections ?? []) c.end();
        audit('exec', command, 'fault', { effect: 'reset' });
        return;
      }
      if (effect?.kind === 'delay') await new Promise((r) => setTimeout(r, effect.ms));
      let outcome: CommandOutcome;
      if (effect?.kind === 'status' || effect?.kind === 'taskError') {
        outcome = { code: effect.kind === 'status' ? effect.status : 1, stdout: '', stderr: `${effect.message ?? 'injected failure'}\n` };
        audit('exec', command, 'fault', { effect: effect.kind });
      } else {
        try {
          outcome = await runCommand(parseShellWords(command), stdin, fs);
        } catch (e) {
          outcome = { code: e instanceof UnsupportedShellSyntax ? 2 : 1, stdout: '', stderr: `${(e as Error).message}\n` };
        }
        if (effect?.kind === 'applyThenStatus') {
          outcome = { code: effect.status, stdout: '', stderr: `${effect.message ?? 'injected failure'}\n` };
        }
        if (outcome.audit) {
          audit(outcome.audit.action, outcome.audit.target, outcome.code === 0 ? 'ok' : 'rejected', {
            exitCode: outcome.code,
            ...(outcome.code !== 0 ? { output: (outcome.stdout + outcome.stderr).slice(0, 2000) } : {}),
          });
        }
      }
      if (outcome.stdout) channel.write(outcome.stdout);
      if (outcome.stderr) channel.stderr.write(outcome.stderr);
      channel.exit(outcome.code);
      channel.end();
    };

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const health = await LbHealthEndpoint.start(name, opts.healthPort ?? 0, () => {
      const haproxy = fs.units.get('haproxy');
      return haproxy?.active ? haproxy.configAnswer : undefined;
    });
    host = new InProcessLbHost(name, server, port, `${hostKey.type} ${hostKey.getPublicSSH().toString('base64')}`, health, fs);
    return host;
  }

  /** The state of a service unit (haproxy, nginx, keepalived): whether it runs, what it loaded, how often it reloaded. */
  unit(name: string): UnitState | undefined {
    const u = this.fs.units.get(name);
    return u && { ...u };
  }

  get healthy(): boolean {
    return this.health.healthy;
  }

  /** The addresses keepalived holds here now (its virtual_ipaddress while MASTER; none otherwise): what `ip addr` lists. */
  /** What to tell when systemctl starts or stops a unit here (the sandbox's keepalived model). */
  onUnitActive(listener: (unit: string, active: boolean) => void): void {
    this.fs.onUnitActive = listener;
  }

  holdAddresses(addresses: { dev: string; cidr: string }[]): void {
    this.fs.addresses = addresses.map((a) => ({ ...a }));
  }

  /** false: /healthz stops answering (its port closes), as when HAProxy or the VM dies. */
  setHealthy(on: boolean): Promise<void> {
    return this.health.setHealthy(on);
  }

  /** Stops SSH and /healthz; open connections are cut. */
  async stop(): Promise<void> {
    for (const c of this.connections) c.end();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.health.stop();
  }
}

/**
 * The files of a fresh Debian LB VM under `rootDir`: its packages' directories and no others
 * (no /var/cache/nginx), Debian's /run/lock (where the push takes its lock), the three units
 * as a fresh install leaves them, and its network interfaces.
 */
export async function freshDebianFilesystem(opts: Pick<InProcessLbHostOptions, 'rootDir' | 'unitConfig' | 'interfaces'>): Promise<HostFilesystem> {
  const fs: HostFilesystem = {
    rootDir: opts.rootDir,
    unitConfig: { ...LB_CONFIG_PATHS, ...opts.unitConfig },
    units: defaultUnits(),
    interfaces: opts.interfaces ?? DEFAULT_INTERFACES,
  };
  for (const dir of DEBIAN_LB_DIRS) await mkdir(hostPath(fs, dir.path), { recursive: true });
  for (const path of Object.values(fs.unitConfig)) await mkdir(hostPath(fs, posix.dirname(path)), { recursive: true });
  return fs;
}

/** Loopback and the vRack interface under the spec's default name (network.interface). */
const DEFAULT_INTERFACES = ['lo', 'eth0'];

function parseOne(text: string, what: string): ParsedKey {
  const parsed = utils.parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`${what} is not an SSH key ssh2 can read${key instanceof Error ? ` (${key.message})` : ''}`);
  return key;
}
