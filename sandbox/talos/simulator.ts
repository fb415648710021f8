// The Talos side of the sandbox: node state for every simulated Talos VM, served to the
// talosctl stand-in over a loopback HTTP control endpoint. The real talosctl adapter runs
// the stand-in exactly as it would run talosctl; the stand-in does the local file work
// (secrets, configs, kubeconfig) and asks this simulator for everything a node would answer.
//
//   const talos = new TalosSimulator({ audit, lookupNode: (ip) => proxmox.vmByIp(ip) });
//   await talos.start();
//   spec.talos.talosctl = talos.writeStandIn(join(sandboxDir, 'bin'));
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { AuditLog } from '../audit';
import type { FaultInjector } from '../faults';
import type { TalosAnswer, TalosCall } from './protocol';
import { TALOS_SIM_ENV } from './protocol';
import { actionOf, isMutating, TalosApi, type NodeLookup, type TalosMemberView, type TalosNodeView, type TalosTiming } from './talos-api';

export interface TalosSimulatorOptions {
  audit: AuditLog;
  /** Which VM answers at an address, and whether it runs (the Proxmox simulators' vmByIp). */
  lookupNode: NodeLookup;
  /** Faults for service "talos", method = talosctl's words ("bootstrap", "etcd members"), path = node IP. */
  faults?: FaultInjector;
  /** Talos version the nodes and the stand-in report (default v1.8.3). */
  talosVersion?: string;
  timing?: Partial<TalosTiming>;
}

const STANDIN_ENTRY = resolve(__dirname, 'standin', 'main.ts');

/**
 * The stand-in as one plain JS file: every talosctl call starts a process, and loading the
 * TypeScript sources through tsx cost ~0.25 s of CPU per call, the main cost of a sandbox
 * bootstrap or health pass on a small machine. esbuild (tsx's own) bundles it in ~0.1 s.
 */
function bundleStandIn(dir: string): string {
  const outfile = join(resolve(dir), 'talosctl-standin.js');
  const { buildSync } = createRequire(__filename)('esbuild') as typeof import('esbuild');
  buildSync({ entryPoints: [STANDIN_ENTRY], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'error' });
  return outfile;
}
const MAX_BODY = 4 * 1024 * 1024;

export class TalosSimulator {
  private readonly api: TalosApi;
  private server?: Server;
  private url?: string;
  private readonly token = randomBytes(12).toString('hex');
  /** Requests a "hang" fault holds open; answered (with a reset) on stop. */
  private readonly held = new Set<ServerResponse>();

  constructor(private readonly options: TalosSimulatorOptions) {
    this.api = new TalosApi({
      lookupNode: options.lookupNode,
      talosVersion: options.talosVersion,
      timing: options.timing,
      audit: (e) => options.audit.record({ service: 'talos', ...e }),
    });
  }

  /** Where the stand-in sends calls (loopback, with an unguessable path). */
  get controlUrl(): string {
    if (!this.url) throw new Error('TalosSimulator is not started; call start() first');
    return this.url;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      this.serve(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`talos simulator error: ${(err as Error).message}`);
      });
    });
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolveListen());
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${this.token}`;
  }

  async stop(): Promise<void> {
    for (const res of this.held) res.socket?.destroy();
    this.held.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }

  /**
   * Writes an executable `talosctl` into `dir` that runs the stand-in against this
   * simulator (control URL baked in), and returns its path for spec.talos.talosctl.
   */
  writeStandIn(dir: string): string {
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const bundle = bundleStandIn(dir);
    const script = [
      '#!/bin/sh',
      '# talosctl stand-in of the autok8s sandbox: answers like talosctl, for the nodes of the',
      '# TalosSimulator below. Written by TalosSimulator.writeStandIn; valid while that simulator runs.',
      `${TALOS_SIM_ENV}=${quote(this.controlUrl)}`,
      `AUTOK8S_TALOSCTL_VERSION=${quote(this.api.talosVersion)}`,
      `export ${TALOS_SIM_ENV} AUTOK8S_TALOSCTL_VERSION`,
      `exec ${quote(process.execPath)} ${quote(bundle)} "$@"`,
      '',
    ].join('\n');
    mkdirSync(dir, { recursive: true });
    const path = join(resolve(dir), 'talosctl');
    writeFileSync(path, script, { mode: 0o755 });
    chmodSync(path, 0o755);
    return path;
  }

  // ---- In-process views for tests and the demo ----

  nodes(): TalosNodeView[] {
    return this.api.nodes();
  }

  etcdMembers(clusterName?: string): TalosMemberView[] {
    return this.api.etcdMembers(clusterName);
  }

  bootstrapCount(clusterName?: string): number {
    return this.api.bootstrapCount(clusterName);
  }

  /** Makes a node report not ready (kubelet unhealthy) until turned off again. */
  setNotReady(ip: string, on: boolean): void {
    this.api.setNotReady(ip, on);
  }

  // ---- HTTP ----

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url !== `/${this.token}/call`) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as TalosCall;
    const answer = await this.answer(call, req, res);
    if (answer === undefined) return;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  }

  /** Applies faults, then the call. Undefined when the fault already took care of the response. */
  private async answer(call: TalosCall, req: IncomingMessage, res: ServerResponse): Promise<TalosAnswer | undefined> {
    const action = actionOf(call);
    const effect = this.options.faults?.take('talos', action, call.node);
    const record = (detail: Record<string, unknown>) => {
      if (isMutating(call)) this.options.audit.record({ service: 'talos', action, target: call.node, outcome: 'fault', detail });
    };
    switch (effect?.kind) {
      case undefined:
      case 'taskError':
        return this.api.handle(call);
      case 'delay':
        await new Promise((r) => setTimeout(r, effect.ms));
        return this.api.handle(call);
      case 'hang':
        record({ effect: 'hang' });
        this.held.add(res);
        res.on('close', () => this.held.delete(res));
        return undefined;
      case 'reset':
        record({ effect: 'reset' });
        req.socket.destroy();
        return undefined;
      case 'status':
        record({ effect: 'status', status: effect.status });
        return { ok: false, failure: { scope: 'node', node: call.node, message: faultMessage(effect.status, effect.message) } };
      case 'applyThenStatus': {
        this.api.handle(call);
        record({ effect: 'applyThenStatus', status: effect.status });
        return { ok: false, failure: { scope: 'node', node: call.node, message: faultMessage(effect.status, effect.message) } };
      }
    }
  }
}

function faultMessage(status: number, message?: string): string {
  const code = status === 503 || status >= 500 ? 'Unavailable' : status === 429 ? 'ResourceExhausted' : 'FailedPrecondition';
  return `rpc error: code = ${code} desc = ${message ?? `injected fault (${status})`}`;
}
