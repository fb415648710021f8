// The OVH API simulator: an HTTPS server (certificate from the sandbox CA) that answers the
// calls autok8s makes, verifies request signatures exactly as OVH does, consults the fault
// injector on every request and writes every mutating call to the audit log.
//
// One request goes: parse → authenticate (except /auth/*) → schema check → fault → route → answer.
// The schema check refuses what OVH's published schema refuses (./schema/check.ts).
// Faults are taken after authentication, so a rule such as "the next move answers 500"
// is spent on a call the real API would have accepted, not on a badly signed one.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { AuditLog, AuditOutcome } from '../audit';
import type { FaultEffect, FaultInjector } from '../faults';
import type { SandboxCa } from '../tls';
import { authenticate, isUnsignedRoute, type OvhCredential } from './auth';
import { recordSchemaCheck } from '../conformance/tally';
import { badRequest, classError, notFound, OvhHttpError, UNVERIFIED } from './errors';
import { isMutating, matchRoute, type RouteMatch, type RouteResult } from './routes';
import { checkAgainstSchema } from './schema/check';
import { DEFAULT_OVH_LATENCY, OvhState, type OvhLatency, type OvhStateInit } from './state';

export type { OvhCredential } from './auth';
export type { OvhLatency } from './state';
export type { ServerNetworkKind } from './vrack-state';

/** Requests checked against the published schema, per operation (`GET /ip/{ip}`). */
export type SchemaCheckCounts = Record<string, { accepted: number; refused: number }>;

export interface OvhSimulatorOptions {
  ca: SandboxCa;
  audit: AuditLog;
  faults: FaultInjector;
  /** 0 or undefined: a free port on 127.0.0.1. */
  port?: number;
  credentials: OvhCredential[];
  /** IPs without /32. */
  failoverIps: { ip: string; routedTo: string | null }[];
  dedicatedServers: OvhStateInit['dedicatedServers'];
  vracks: { serviceName: string; dedicatedServers?: string[] }[];
  latency?: Partial<OvhLatency>;
}

const SERVICE = 'ovh';
const BASE_PATH = '/1.0';
const MAX_BODY_BYTES = 1 << 20;

interface Call {
  method: string;
  rawTarget: string;
  /** Still URL-encoded, without base path and query: what fault rules match. */
  rawApiPath: string;
  query: URLSearchParams;
  bodyText: string;
  /** The JSON body when it is an object; {} when empty; undefined when it is not a JSON object. */
  body: Record<string, unknown> | undefined;
  match?: RouteMatch;
  /** Audit action: "POST /ip/{ip}/move". */
  action: string;
  target: string;
}

export class OvhSimulator {
  private readonly state: OvhState;
  private readonly pendingTimers = new Set<NodeJS.Timeout>();
  private readonly readCounts = new Map<string, number>();
  private readonly schemaCounts: SchemaCheckCounts = {};
  private boundPort = 0;
  private querySeq = 0;
  private stopped = false;

  private constructor(
    private readonly options: OvhSimulatorOptions,
    private readonly server: Server,
  ) {
    this.state = new OvhState(options, { ...DEFAULT_OVH_LATENCY, ...options.latency }, (ended) =>
      options.audit.record({ service: SERVICE, action: `task:${ended.function}`, target: ended.target, outcome: ended.ok ? 'ok' : 'fault', detail: ended.detail }),
    );
  }

  static async start(options: OvhSimulatorOptions): Promise<OvhSimulator> {
    const cert = await options.ca.issueServerCert(['localhost', '127.0.0.1']);
    const server = createServer({ cert: cert.certPem, key: cert.keyPem });
    const sim = new OvhSimulator(options, server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      sim.handle(req, res).catch((err: unknown) => sim.send(res, classError(500, `simulator error: ${String(err)}`)));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    sim.boundPort = (server.address() as AddressInfo).port;
    return sim;
  }

  get port(): number {
    return this.boundPort;
  }

  /** What goes into spec.ovh.endpoint. */
  get endpoint(): string {
    return `https://localhost:${this.boundPort}${BASE_PATH}`;
  }

  /** Closes the server and every open connection, including requests a `hang` fault holds. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.state.dispose();
    for (const t of this.pendingTimers) clearTimeout(t);
    this.pendingTimers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** Where the IP is routed now (null when parked). */
  routing(ip: string): string | null {
    return this.state.routing(ip);
  }

  /** The virtual MACs listed on a server now (a MAC suspended by a move is listed nowhere), each with its IPs. */
  virtualMacsOf(serviceName: string): { mac: string; ips: string[] }[] {
    return this.state.vmac.macsOf(serviceName).map((mac) => ({ mac, ips: this.state.vmac.addressesOf(serviceName, mac) }));
  }

  /** The virtual MAC carrying the IP, the server it belongs to, and whether a move holds it suspended. */
  macFor(ip: string): { mac: string; server: string; suspended: boolean } | undefined {
    return this.state.vmac.macFor(ip);
  }

  setLatency(latency: Partial<OvhLatency>): void {
    this.state.setLatency(latency);
  }

  setServerState(serviceName: string, s: { state?: 'ok' | 'error'; powerState?: 'poweron' | 'poweroff' }): void {
    this.state.setServerState(serviceName, s);
  }

  /** Every member's service name, legacy or through its vrack interface. */
  vrackMembers(vrack: string): string[] {
    return this.state.vrack.memberServers(vrack);
  }

  /** What this simulator's schema check accepted and refused so far, per operation. */
  schemaChecks(): SchemaCheckCounts {
    return structuredClone(this.schemaCounts);
  }

  /** How many answered GETs of a route (`GET /vrack/{serviceName}/task/{taskId}`) there were: reads are not audited. */
  reads(action: string): number {
    return this.readCounts.get(action) ?? 0;
  }

  // ---- request handling ------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Ovh-Queryid', `EU.ext-sandbox.${randomBytes(4).toString('hex')}.${++this.querySeq}`);
    const call = await this.parse(req);
    if (!call) {
      req.socket.destroy(); // body too large
      return;
    }

    try {
      if (call.rawApiPath !== '/auth/time' || call.method !== 'GET') {
        const decodedPath = safeDecode(call.rawApiPath);
        if (isUnsignedRoute(decodedPath)) throw notFound(UNVERIFIED.unknownRoute); // other /auth calls are not simulated
        authenticate(
          { method: call.method, rawTarget: call.rawTarget, apiPath: decodedPath, body: call.bodyText, headers: req.headers },
          this.options.credentials,
          Math.floor(Date.now() / 1000),
        );
      }
    } catch (err) {
      return this.refuse(res, call, err);
    }

    // The schema check stands before faults and routes: a request the real API would refuse
    // never reaches either (docs/contracts.md §A.6).
    if (call.rawApiPath !== '/auth/time') {
      if (call.body === undefined) return this.refuse(res, call, badRequest(UNVERIFIED.invalidJson));
      const verdict = checkAgainstSchema({ method: call.method, rawApiPath: call.rawApiPath, query: call.query, body: call.body });
      this.countSchemaCheck(verdict.operation, verdict.refusal === undefined);
      if (verdict.refusal) return this.refuse(res, call, verdict.refusal);
    }

    const fault = this.options.faults.take(SERVICE, call.method, call.rawApiPath);
    if (fault && (await this.faultBeforeApplying(fault, req, res, call))) return;

    let result: RouteResult;
    try {
      result = this.apply(call, fault?.kind === 'taskError' ? { taskError: fault.message ?? '' } : {});
    } catch (err) {
      return this.refuse(res, call, err);
    }

    if (fault?.kind === 'applyThenStatus') {
      this.audit(call, 'fault', { ...result.detail, applied: true, status: fault.status });
      return this.send(res, classError(fault.status, fault.message));
    }
    this.audit(call, 'ok', { ...result.detail, ...(fault ? { fault: fault.kind } : {}) }); // taskError or delay
    this.send(res, 200, result.body);
  }

  /** Reads the request; undefined when the body is over the limit. */
  private async parse(req: IncomingMessage): Promise<Call | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) return undefined;
      chunks.push(chunk as Buffer);
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const rawTarget = req.url ?? '/';
    const q = rawTarget.indexOf('?');
    const rawPath = q >= 0 ? rawTarget.slice(0, q) : rawTarget;
    const rawApiPath = rawPath.startsWith(BASE_PATH + '/') ? rawPath.slice(BASE_PATH.length) : rawPath;
    const match = rawPath.startsWith(BASE_PATH + '/') ? matchRoute(method, rawApiPath) : undefined;
    const bodyText = Buffer.concat(chunks).toString('utf8');
    return {
      method,
      rawTarget,
      rawApiPath,
      query: new URLSearchParams(q >= 0 ? rawTarget.slice(q + 1) : ''),
      bodyText,
      body: parseBodyObject(bodyText),
      match,
      action: `${method} ${match ? match.route.template : rawApiPath}`,
      target: match ? match.route.target(match.params) : rawApiPath,
    };
  }

  /** Runs the route (or /auth/time); throws the OVH error answer when the call is refused. */
  private apply(call: Call, task: { taskError?: string }): RouteResult {
    if (call.rawApiPath === '/auth/time' && call.method === 'GET') return { body: Math.floor(Date.now() / 1000) };
    if (!call.match) throw notFound(UNVERIFIED.unknownRoute); // in the schema, not simulated
    if (call.body === undefined) throw badRequest(UNVERIFIED.invalidJson);
    return call.match.route.handle(this.state, { params: call.match.params, query: call.query, body: call.body, task });
  }

  /** Acts on faults that answer (or do not) instead of the call. Returns true when the request is finished. */
  private async faultBeforeApplying(fault: FaultEffect, req: IncomingMessage, res: ServerResponse, call: Call): Promise<boolean> {
    switch (fault.kind) {
      case 'hang':
        this.audit(call, 'fault', { fault: 'hang' });
        return true; // never answered; stop() closes the connection
      case 'reset':
        this.audit(call, 'fault', { fault: 'reset' });
        req.socket.destroy();
        return true;
      case 'status':
        this.audit(call, 'fault', { fault: 'status', status: fault.status });
        this.send(res, classError(fault.status, fault.message));
        return true;
      case 'delay':
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            this.pendingTimers.delete(t);
            resolve();
          }, fault.ms);
          this.pendingTimers.add(t);
        });
        return res.destroyed; // the client gave up (or stop() ran) meanwhile
      default:
        return false; // applyThenStatus and taskError act around the call itself
    }
  }

  private countSchemaCheck(operation: string, accepted: boolean): void {
    recordSchemaCheck('ovh', operation, accepted);
    const counts = (this.schemaCounts[operation] ??= { accepted: 0, refused: 0 });
    if (accepted) counts.accepted += 1;
    else counts.refused += 1;
  }

  private refuse(res: ServerResponse, call: Call, err: unknown): void {
    const error = err instanceof OvhHttpError ? err : classError(500, `simulator error: ${String(err)}`);
    this.audit(call, 'rejected', { status: error.status, error: error.code, message: error.message });
    this.send(res, error);
  }

  /** Records mutating calls only; never headers or bodies beyond the detail a route chose. Reads are only counted. */
  private audit(call: Call, outcome: AuditOutcome, detail: Record<string, unknown> = {}): void {
    if (!isMutating(call.method)) {
      this.readCounts.set(call.action, (this.readCounts.get(call.action) ?? 0) + 1);
      return;
    }
    this.options.audit.record({ service: SERVICE, action: call.action, target: call.target, outcome, detail });
  }

  private send(res: ServerResponse, statusOrError: number | OvhHttpError, body?: unknown): void {
    if (res.destroyed || res.headersSent) return;
    const status = statusOrError instanceof OvhHttpError ? statusOrError.status : statusOrError;
    const payload = statusOrError instanceof OvhHttpError ? statusOrError.body : body;
    const text = payload === undefined ? '' : JSON.stringify(payload);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache' });
    res.end(text);
  }
}

/** {} for an empty body, the object for a JSON object, undefined for anything else. */
function parseBodyObject(text: string): Record<string, unknown> | undefined {
  if (text === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
