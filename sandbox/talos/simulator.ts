// The Talos side of the sandbox: node state for every simulated Talos VM. startSandbox serves
// every node over the Talos API itself (serveGrpc: <ip>:50000 on loopback, sandbox/talos/grpc),
// which the real talosctl dials; where it is not built, the spec names the stand-in written
// here (the fallback client), which does the local file work (secrets, configs, kubeconfig)
// and reaches the same nodes over the same gRPC API (standInOverGrpc).
//
// Without serveGrpc (the stand-in's own tests), the stand-in asks this simulator over a
// loopback HTTP control endpoint instead:
//
// Two routes under an unguessable path: `/call`, one Talos API call (what a node answers,
// with fault injection), and `/exec`, a whole talosctl command line run by the stand-in
// inside this process (standin/main.ts, captured io) for the `talosctl` executable, a tiny
// Go forwarder (forwarder/main.go, built into .build/ by `npm install`). A Node start-up per
// talosctl call (~60 ms CPU) dominated the health benchmark; the forwarder costs a few ms.
// The in-process stand-in still reaches nodes through `/call` over loopback, so faults
// apply exactly as for the node-bundle fallback (used when Go was missing at install, or
// with AUTOK8S_TALOSCTL_TRANSPORT=node).
//
//   const talos = new TalosSimulator({ audit, lookupNode: (ip) => proxmox.vmByIp(ip) });
//   await talos.start();
//   spec.talos.talosctl = talos.writeStandIn(join(sandboxDir, 'bin'));
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import type { AuditLog } from '../audit';
import type { FaultInjector } from '../faults';
import type { TalosAnswer, TalosCall } from './protocol';
import { TALOS_SIM_ENV } from './protocol';
import { WIRE_ENV } from './standin/client';
import { runStandIn } from './standin/main';
import { REPO_ROOT, REPO_ROOT_ENV } from './grpc/descriptors';
import { actionOf, isMutating, TalosApi, type NodeLookup, type TalosMemberView, type TalosNodeView, type TalosTiming } from './talos-api';
import { faultedHandle, faultMessage, type FaultedHandle } from './grpc/faulted';
import { requireLoopback, TalosGrpcNodes } from './grpc/nodes';

export interface TalosSimulatorOptions {
  audit: AuditLog;
  /** Which VM answers at an address, and whether it runs (the Proxmox simulators' vmByIp). */
  lookupNode: NodeLookup;
  /** Faults for service "talos", method = talosctl's words ("bootstrap", "etcd members"), path = node IP. */
  faults?: FaultInjector;
  /** Talos version the nodes and the stand-in report (default v1.8.3; startSandbox gives the pinned version). */
  talosVersion?: string;
  timing?: Partial<TalosTiming>;
}

const STANDIN_ENTRY = resolve(__dirname, 'standin', 'cli.ts');
/** Built by scripts/build-talosctl-forwarder.js (`npm install`) when Go is on PATH. */
export const FORWARDER_BINARY = resolve(__dirname, '..', '..', '.build', 'talosctl-forwarder');
const FORWARDER_SOURCE = resolve(__dirname, 'forwarder', 'main.go');
/** Set to "node" to make writeStandIn use the node bundle even when the forwarder is built. */
export const TRANSPORT_ENV = 'AUTOK8S_TALOSCTL_TRANSPORT';

/** How the `talosctl` writeStandIn writes runs the stand-in. */
export type StandInTransport = 'go-forwarder' | 'node-bundle';

/** What one `/exec` call carries: a talosctl command line and the caller's context. */
export interface TalosExecRequest {
  argv: string[];
  /** The caller's working directory (absolute). */
  cwd: string;
  env: { TALOSCONFIG?: string; HOME?: string };
}

export interface TalosExecAnswer {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The forwarder when built and not older than its source (never a stale build), else the bundle. */
function chooseTransport(): StandInTransport {
  if (process.env[TRANSPORT_ENV] === 'node') return 'node-bundle';
  try {
    return statSync(FORWARDER_BINARY).mtimeMs >= statSync(FORWARDER_SOURCE).mtimeMs ? 'go-forwarder' : 'node-bundle';
  } catch {
    return 'node-bundle'; // not built
  }
}

/**
 * The stand-in as one plain JS file, for the node-bundle transport (no Go forwarder): every
 * talosctl call starts a process, and loading the TypeScript sources through tsx cost
 * ~0.25 s of CPU per call; the bundle brings it to ~60 ms. esbuild (tsx's own) bundles it in ~0.1 s.
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
  /** Forwarder runs still executing in this process, including those whose caller went away. */
  private readonly execRuns = new Set<Promise<unknown>>();
  private transport?: StandInTransport;
  private grpc?: { nodes: TalosGrpcNodes; faulted: FaultedHandle; standIn: boolean };

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

  /**
   * Serves these node addresses (loopback only) over the Talos API itself, for the real
   * talosctl: the same nodes and faults as the stand-in's, on <ip>:50000 (sandbox/talos/grpc).
   * With `standInOverGrpc`, the stand-in written afterwards reaches the nodes that way too,
   * through the fallback client, instead of over the simulator's loopback HTTP.
   */
  async serveGrpc(ips: string[], options: { standInOverGrpc?: boolean } = {}): Promise<TalosGrpcNodes> {
    ips.forEach(requireLoopback);
    if (!this.grpc) {
      const faulted = faultedHandle(this.api, this.options.faults, this.options.audit);
      this.grpc = { faulted, nodes: new TalosGrpcNodes({ api: this.api, handle: (call) => faulted.handle(call) }), standIn: false };
    }
    if (options.standInOverGrpc) this.grpc.standIn = true;
    await this.grpc.nodes.serve(ips);
    return this.grpc.nodes;
  }

  async stop(): Promise<void> {
    if (this.grpc) {
      this.grpc.faulted.releaseHeld();
      await this.grpc.nodes.stop();
      this.grpc = undefined;
    }
    for (const res of this.held) res.socket?.destroy();
    this.held.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }

  /**
   * How the `talosctl` of writeStandIn runs (the last one written, else what it would
   * choose): the Go forwarder to `/exec`, or a Node process per call.
   */
  get standInTransport(): StandInTransport {
    return this.transport ?? chooseTransport();
  }

  /**
   * Writes an executable `talosctl` into `dir` that runs the stand-in against this
   * simulator (control URL baked in), and returns its path for spec.talos.talosctl.
   * It execs the Go forwarder when built (the stand-in then runs in this process), else
   * a node bundle of the stand-in; see standInTransport.
   */
  writeStandIn(dir: string): string {
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const transport = chooseTransport();
    const command = transport === 'go-forwarder' ? quote(FORWARDER_BINARY) : `${quote(process.execPath)} ${quote(bundleStandIn(dir))}`;
    const script = [
      '#!/bin/sh',
      '# talosctl stand-in of the autok8s sandbox: answers like talosctl, for the nodes of the',
      '# TalosSimulator below. Written by TalosSimulator.writeStandIn; valid while that simulator runs.',
      `${TALOS_SIM_ENV}=${quote(this.controlUrl)}`,
      `AUTOK8S_TALOSCTL_VERSION=${quote(this.api.talosVersion)}`,
      `export ${TALOS_SIM_ENV} AUTOK8S_TALOSCTL_VERSION`,
      // Over the Talos API (serveGrpc with standInOverGrpc); a node bundle finds the API descriptors through the repository.
      ...(this.grpc?.standIn ? [`${WIRE_ENV}=grpc`, `${REPO_ROOT_ENV}=${quote(REPO_ROOT)}`, `export ${WIRE_ENV} ${REPO_ROOT_ENV}`] : []),
      `exec ${command} "$@"`,
      '',
    ].join('\n');
    mkdirSync(dir, { recursive: true });
    const path = join(resolve(dir), 'talosctl');
    writeFileSync(path, script, { mode: 0o755 });
    chmodSync(path, 0o755);
    this.transport = transport;
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
    const route = req.method !== 'POST' ? undefined : req.url === `/${this.token}/call` ? 'call' : req.url === `/${this.token}/exec` ? 'exec' : undefined;
    if (!route) {
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
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    const answer = route === 'call' ? await this.answer(body as TalosCall, req, res) : await this.tracked(this.exec(body, res));
    if (answer === undefined) return;
    const text = JSON.stringify(answer);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  }

  /**
   * Resolves once every forwarder run started so far has ended, aborted ones included: what a
   * killed caller's run did (or did not do) after the kill is then final.
   */
  async execRunsSettled(): Promise<void> {
    await Promise.allSettled([...this.execRuns]);
  }

  private tracked<T>(run: Promise<T>): Promise<T> {
    this.execRuns.add(run);
    void run.finally(() => this.execRuns.delete(run)).catch(() => undefined);
    return run;
  }

  /**
   * Runs one talosctl command line for the forwarder, in this process, with its output
   * captured. Undefined (nothing to answer) when the caller went away meanwhile: the run is
   * then aborted at its next node call or pause, as the killed process would have stopped.
   */
  private async exec(body: unknown, res: ServerResponse): Promise<TalosExecAnswer | undefined> {
    const request = (body ?? {}) as Partial<TalosExecRequest>;
    const env = (request.env ?? {}) as Record<string, unknown>;
    const optionalString = (v: unknown) => v === undefined || typeof v === 'string';
    const valid =
      Array.isArray(request.argv) &&
      request.argv.every((a) => typeof a === 'string') &&
      typeof request.cwd === 'string' &&
      isAbsolute(request.cwd) &&
      optionalString(env.TALOSCONFIG) &&
      optionalString(env.HOME);
    if (!valid) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('exec wants {argv: string[], cwd: absolute path, env: {TALOSCONFIG?, HOME?}}');
      return undefined;
    }
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableEnded) gone.abort();
    });
    let stdout = '';
    let stderr = '';
    const exitCode = await runStandIn(request.argv!, {
      env: {
        TALOSCONFIG: env.TALOSCONFIG as string | undefined,
        HOME: env.HOME as string | undefined,
        [TALOS_SIM_ENV]: this.controlUrl,
        AUTOK8S_TALOSCTL_VERSION: this.api.talosVersion,
        ...(this.grpc?.standIn ? { [WIRE_ENV]: 'grpc' } : {}),
      },
      cwd: request.cwd!,
      out: (text) => void (stdout += text),
      err: (text) => void (stderr += text),
      signal: gone.signal,
    });
    if (gone.signal.aborted) return undefined;
    return { exitCode, stdout, stderr };
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
