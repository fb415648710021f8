// A small typed client for the Proxmox VE API calls autok8s makes, over undici 7.
//
// Why not the npm `proxmox-api` package: it would be a new dependency for a dozen calls,
// and it reduces a failed call to an exception without the parts this adapter classifies
// on (status, reason phrase, the 400 `errors` map). Its one TLS hook is a custom `fetch`,
// so certificate pinning would be written against undici anyway; with undici directly the
// connector that pins the certificate (./tls.ts) and the request code sit side by side.
// undici is already a dependency of the project.
//
// Wire format (docs/contracts.md §B.1): `Authorization: PVEAPIToken=<user>@<realm>!<id>=<uuid>`,
// form-encoded bodies for POST/PUT, query strings for GET/DELETE, answers `{"data": ...}`;
// errors carry their message in the HTTP reason phrase.
import { Agent } from 'undici';
import { GRAMMAR, requireGrammar } from '../../core/spec/grammar';
import { isTlsErrorCode, ProxmoxHttpError, ProxmoxNetworkError, ProxmoxTlsError } from './errors';
import { proxmoxConnector, type ProxmoxTrust } from './tls';
import type { VmListEntry } from './vm-plan';

export interface ProxmoxEndpoint extends ProxmoxTrust {
  /** https://host:8006 (the spec's servers[].proxmox.url). */
  url: string;
  node: string;
  tokenId: string;
  /** The resolved secret: held in memory for the call, never logged or put in an error. */
  tokenSecret: string;
}

export interface ProxmoxClientOptions {
  /**
   * Per request; a hung node becomes a retryable timeout. Default 30 s. Keep it well above
   * 3 s: a node answers a refused token only after holding it back 3 s (pve-http-server), and
   * a shorter timeout would turn that non-retryable 401 into a retried timeout.
   */
  requestTimeoutMs?: number;
  /** Aborts every request (an activity's cancellation signal). */
  signal?: AbortSignal;
  /**
   * A connection pool shared with other clients of the same node and trust (see
   * proxmoxAgent); close() then leaves it open. Without one the client has its own.
   */
  agent?: Agent;
}

/**
 * A connection pool for one Proxmox node: its TLS trust (CA or pinned fingerprint, checked on
 * every new connection) and timeouts. Activities share one per node and trust, so a bootstrap
 * of many VMs keeps a few connections alive instead of a TLS handshake per activity.
 */
export function proxmoxAgent(trust: { caPem?: string; fingerprint?: string }, requestTimeoutMs = 30_000): Agent {
  return new Agent({
    connect: proxmoxConnector({ caPem: trust.caPem, fingerprint: trust.fingerprint, connectTimeoutMs: Math.min(requestTimeoutMs, 10_000) }),
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
  });
}

export type Params = Record<string, string | number | boolean | undefined>;

export interface VmStatusCurrent {
  vmid: number;
  name?: string;
  status: 'running' | 'stopped';
  uptime?: number;
  lock?: string;
  tags?: string;
  agent?: number;
}

export interface TaskStatus {
  upid: string;
  node: string;
  type: string;
  id: string;
  status: 'running' | 'stopped';
  exitstatus?: string;
}

export interface AgentInterface {
  name: string;
  'hardware-address'?: string;
  'ip-addresses'?: { 'ip-address': string; 'ip-address-type': 'ipv4' | 'ipv6'; prefix: number }[];
}

const enc = encodeURIComponent;

function formOf(params: Params): URLSearchParams {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    form.append(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  return form;
}

/** GET config answers numbers for some keys; the plan compares strings. */
function stringsOf(data: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) if (v !== null && v !== undefined) out[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return out;
}

export class ProxmoxClient {
  private readonly agent: Agent;
  private readonly origin: string;
  private readonly pathPrefix: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly endpoint: ProxmoxEndpoint,
    private readonly options: ProxmoxClientOptions = {},
  ) {
    // The node name is a path segment of every request (/nodes/../ would address another
    // resource) and the token ID goes into the Authorization header (a CR/LF would add headers).
    requireGrammar(GRAMMAR.pveNode, endpoint.node, 'proxmox.node');
    requireGrammar(GRAMMAR.pveTokenId, endpoint.tokenId, 'proxmox.tokenId');
    const url = new URL(requireGrammar(GRAMMAR.httpsUrl, endpoint.url, 'proxmox.url'));
    this.origin = url.origin;
    this.pathPrefix = url.pathname.replace(/\/+$/, '') + '/api2/json';
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.agent = options.agent ?? proxmoxAgent(endpoint, this.timeoutMs);
  }

  get node(): string {
    return this.endpoint.node;
  }

  /** Closes its own pooled connections (in-flight requests are cut); a shared pool stays open. */
  async close(): Promise<void> {
    if (this.options.agent) return;
    await this.agent.destroy().catch(() => undefined);
  }

  private async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, params: Params = {}): Promise<T> {
    const form = formOf(params);
    const hasBody = method === 'POST' || method === 'PUT';
    const query = !hasBody && [...form.keys()].length > 0 ? `?${form}` : '';
    let status: number;
    let statusText: string;
    let text: string;
    try {
      // undici's request(), not its fetch(): the same wire exchange without the WHATWG
      // Request/Response/stream objects, which cost several times the CPU per call (a
      // bootstrap polls hundreds of tasks at once). The timeouts bound the wait for the
      // headers and between body chunks, per request.
      const response = await this.agent.request({
        origin: this.origin,
        path: this.pathPrefix + path + query,
        method,
        headers: {
          authorization: `PVEAPIToken=${this.endpoint.tokenId}=${this.endpoint.tokenSecret}`,
          accept: 'application/json',
          ...(hasBody ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body: hasBody ? form.toString() : undefined,
        signal: this.options.signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      status = response.statusCode;
      statusText = response.statusText;
      text = await response.body.text();
    } catch (err) {
      throw this.transportError(err, method, path);
    }
    let body: { data?: unknown; errors?: Record<string, string>; message?: string } | undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (status !== 200) {
      const reason = (statusText || body?.message || `HTTP ${status}`).trim();
      throw new ProxmoxHttpError(status, reason, method, path, body?.errors ?? undefined);
    }
    if (!body || !('data' in body)) throw new ProxmoxHttpError(502, 'answer is not a Proxmox {"data": ...} envelope', method, path);
    return body.data as T;
  }

  private transportError(err: unknown, method: string, path: string): Error {
    if (this.options.signal?.aborted) return (this.options.signal.reason as Error) ?? (err as Error);
    if (err instanceof ProxmoxTlsError) return err;
    const e = err as Error & { code?: string; cause?: Error & { code?: string } };
    const code = e.code ?? e.cause?.code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new ProxmoxNetworkError(`timeout after ${this.timeoutMs} ms (${code})`, method, path);
    }
    if (isTlsErrorCode(code)) {
      return new ProxmoxTlsError(
        code!,
        `the TLS certificate was refused (${code}: ${e.message}). Set servers[].proxmox.caFile to the CA that signs it, or pin it with servers[].proxmox.fingerprint.`,
      );
    }
    return new ProxmoxNetworkError(code ?? e.message, method, path);
  }

  private vmPath(vmid: number): string {
    return `/nodes/${enc(this.endpoint.node)}/qemu/${vmid}`;
  }

  version(): Promise<{ version: string; release: string }> {
    return this.request('GET', '/version');
  }

  /** The next free VMID; with `vmid`, that VMID if it is free (400 otherwise). */
  async nextId(vmid?: number): Promise<number> {
    return Number(await this.request<number | string>('GET', '/cluster/nextid', { vmid }));
  }

  async listVms(): Promise<VmListEntry[]> {
    const rows = await this.request<Record<string, unknown>[]>('GET', `/nodes/${enc(this.endpoint.node)}/qemu`);
    return rows.map((r) => ({
      vmid: Number(r.vmid),
      name: r.name === undefined ? undefined : String(r.name),
      status: r.status === undefined ? undefined : String(r.status),
      tags: r.tags === undefined ? undefined : String(r.tags),
      lock: r.lock === undefined ? undefined : String(r.lock),
      template: r.template === undefined ? undefined : Number(r.template),
    }));
  }

  async vmConfig(vmid: number): Promise<Record<string, string>> {
    return stringsOf(await this.request<Record<string, unknown>>('GET', `${this.vmPath(vmid)}/config`));
  }

  /** POST /nodes/{node}/qemu → UPID of the qmcreate task. */
  createVm(params: Params): Promise<string> {
    return this.request('POST', `/nodes/${enc(this.endpoint.node)}/qemu`, params);
  }

  /** POST .../clone → UPID of the qmclone task. */
  cloneVm(vmid: number, params: Params & { newid: number }): Promise<string> {
    return this.request('POST', `${this.vmPath(vmid)}/clone`, params);
  }

  /** PUT .../config: synchronous update (answers null). */
  async updateVmConfig(vmid: number, params: Params): Promise<void> {
    await this.request('PUT', `${this.vmPath(vmid)}/config`, params);
  }

  vmStatus(vmid: number): Promise<VmStatusCurrent> {
    return this.request('GET', `${this.vmPath(vmid)}/status/current`);
  }

  startVm(vmid: number): Promise<string> {
    return this.request('POST', `${this.vmPath(vmid)}/status/start`);
  }

  stopVm(vmid: number): Promise<string> {
    return this.request('POST', `${this.vmPath(vmid)}/status/stop`);
  }

  shutdownVm(vmid: number, params: { timeout?: number; forceStop?: boolean } = {}): Promise<string> {
    return this.request('POST', `${this.vmPath(vmid)}/status/shutdown`, params);
  }

  rebootVm(vmid: number): Promise<string> {
    return this.request('POST', `${this.vmPath(vmid)}/status/reboot`);
  }

  /** DELETE /nodes/{node}/qemu/{vmid}, purging it from jobs and freeing unreferenced disks. */
  destroyVm(vmid: number): Promise<string> {
    return this.request('DELETE', this.vmPath(vmid), { purge: 1, 'destroy-unreferenced-disks': 1 });
  }

  taskStatus(upid: string): Promise<TaskStatus> {
    return this.request('GET', `/nodes/${enc(this.endpoint.node)}/tasks/${enc(upid)}/status`);
  }

  async agentNetworkInterfaces(vmid: number): Promise<AgentInterface[]> {
    const data = await this.request<{ result?: AgentInterface[] }>('GET', `${this.vmPath(vmid)}/agent/network-get-interfaces`);
    return data?.result ?? [];
  }

  /** GET /nodes/{node}/storage/{storage}/content (pve-storage API2/Storage/Content.pm index). */
  storageContent(storage: string, content?: 'iso'): Promise<{ volid: string; format?: string; size?: number }[]> {
    return this.request('GET', `/nodes/${enc(this.endpoint.node)}/storage/${enc(storage)}/content`, content === undefined ? {} : { content });
  }
}
