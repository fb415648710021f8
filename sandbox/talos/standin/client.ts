// How the stand-in reaches nodes: talosconfig and flags decide the endpoint, the target
// nodes and the credentials (as talosctl's WithClient / WithClientMaintenance do), and each
// call goes to the TalosSimulator's control endpoint (`/call`, over loopback HTTP even when
// the stand-in runs inside the sandbox process, so the simulator's faults apply unchanged).
// Environment and relative paths come from the invocation's io, not from `process`.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { parse } from 'yaml';
import { caFingerprint } from '../machine-config';
import { TALOS_SIM_ENV, type TalosAnswer, type TalosAuth, type TalosCall, type TalosFailureAnswer } from '../protocol';
import * as say from '../wording';
import { callTalosApi } from '../grpc/client';
import { UsageError } from './flags';
import { homeOf, inCwd, type Invocation, type StandInIo } from './io';

/** A failure talosctl prints and exits 1 on. */
export class CommandError extends Error {}

const INTERRUPTED = 'talosctl (sandbox stand-in): interrupted (the caller is gone)';

export interface Addressing {
  io: StandInIo;
  endpoint: string;
  /** Target nodes; empty when none was named (the endpoint answers for itself). */
  nodes: string[];
  auth: TalosAuth;
  insecure: boolean;
  /** The talosconfig context's CA and client certificate (PEM), for calls over the Talos API itself. */
  credentials?: { caPem: string; crtPem: string; keyPem: string };
}

interface TalosContext {
  endpoints?: string[];
  nodes?: string[];
  ca?: string;
  crt?: string;
  key?: string;
}

/** talosctl's lookup: --talosconfig, $TALOSCONFIG, ~/.talos/config. */
function talosconfigPath(parsed: Invocation): string {
  return (parsed.flags.talosconfig as string) || parsed.io.env.TALOSCONFIG || join(homeOf(parsed.io), '.talos', 'config');
}

export function addressing(parsed: Invocation, insecure: boolean): Addressing {
  const flagNodes = parsed.flags.nodes as string[];
  const flagEndpoints = parsed.flags.endpoints as string[];
  if (insecure) {
    // Maintenance mode: the nodes themselves are the endpoints, no credentials.
    if (flagNodes.length === 0) throw new CommandError(`error constructing client: ${say.NO_ENDPOINTS}`);
    return { io: parsed.io, endpoint: flagNodes[0], nodes: flagNodes, auth: { insecure: true }, insecure: true };
  }
  const path = talosconfigPath(parsed);
  let text: string;
  try {
    text = inCwd(parsed.io, path, (file) => readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CommandError(`failed to open config file ${JSON.stringify(path)}: open ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
  const config = (parse(text) ?? {}) as { context?: string; contexts?: Record<string, TalosContext> };
  const name = (parsed.flags.context as string) || config.context || '';
  const context = config.contexts?.[name];
  if (!context) throw new CommandError(`context ${JSON.stringify(name)} is not defined`);
  const endpoints = flagEndpoints.length > 0 ? flagEndpoints : (context.endpoints ?? []);
  if (endpoints.length === 0) throw new CommandError(`error constructing client: ${say.NO_ENDPOINTS}`);
  if (!context.ca) throw new CommandError(`context ${JSON.stringify(name)} has no CA certificate`);
  const nodes = flagNodes.length > 0 ? flagNodes : (context.nodes ?? []);
  const pem = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');
  const credentials = { caPem: pem(context.ca), crtPem: pem(context.crt), keyPem: pem(context.key) };
  return { io: parsed.io, endpoint: endpoints[0], nodes, auth: { insecure: false, caFingerprint: caFingerprint(context.ca) }, insecure: false, credentials };
}

export function requireSingleNode(a: Addressing, command: string): void {
  if (a.nodes.length > 1) throw new CommandError(`command ${JSON.stringify(command)} is not supported with multiple nodes`);
}

/** The nodes to call, one at a time: the named ones, or the endpoint itself. */
export function targets(a: Addressing): string[] {
  return a.nodes.length > 0 ? a.nodes : [a.endpoint];
}

/** A call without its addressing (distributes over the union of calls). */
type CallBody = TalosCall extends infer C ? (C extends TalosCall ? Omit<C, 'endpoint' | 'node' | 'auth'> : never) : never;

/** Set to "grpc" to make the stand-in reach nodes over the Talos API itself (sandbox/talos/grpc/client.ts). */
export const WIRE_ENV = 'AUTOK8S_TALOS_WIRE';

/** One call for `node` through the addressing's endpoint: to the simulator's /call, or over the Talos API. */
export function callNode(a: Addressing, node: string, body: CallBody): Promise<TalosAnswer> {
  if (a.io.env[WIRE_ENV] === 'grpc') {
    if (a.io.signal?.aborted) return Promise.reject(new CommandError(INTERRUPTED));
    const endpoint = a.insecure ? node : a.endpoint;
    return callTalosApi({ endpoint, node, credentials: a.insecure ? undefined : a.credentials }, body);
  }
  const { env, signal } = a.io;
  const url = env[TALOS_SIM_ENV];
  if (!url) {
    throw new UsageError(`talosctl (sandbox stand-in): ${TALOS_SIM_ENV} is not set; run the talosctl that TalosSimulator.writeStandIn wrote`);
  }
  const endpoint = a.insecure ? node : a.endpoint;
  // The caller is gone (its talosctl killed): stop here, as the killed process would have.
  if (signal?.aborted) return Promise.reject(new CommandError(INTERRUPTED));
  const payload = JSON.stringify({ ...body, endpoint, node, auth: a.auth });
  return new Promise((resolve, reject) => {
    const req = request(`${url}/call`, { method: 'POST', signal, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new CommandError(`talosctl (sandbox stand-in): simulator answered ${res.statusCode}: ${text}`));
        resolve(JSON.parse(text) as TalosAnswer);
      });
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (signal?.aborted) {
        reject(new CommandError(INTERRUPTED));
      } else if (err.code === 'ECONNREFUSED') {
        reject(new CommandError(`talosctl (sandbox stand-in): the Talos simulator at ${url} is not running`));
      } else {
        // A cut connection looks to talosctl like the node dropping the stream.
        resolve({ ok: false, failure: { scope: 'transport', node, message: say.CONNECTION_RESET } });
      }
    });
    req.end(payload);
  });
}

/**
 * A failure as talosctl prints it: through the proxy with target nodes named (one-to-many),
 * a node's error comes folded into a multi-error; otherwise it is the plain gRPC error.
 */
export function describeFailure(a: Addressing, f: TalosFailureAnswer): string {
  if (f.scope === 'node' && !a.insecure && a.nodes.length > 0) return foldErrors([f]);
  return f.message;
}

export function foldErrors(failures: TalosFailureAnswer[]): string {
  const n = failures.length;
  return `${n} error${n === 1 ? '' : 's'} occurred:\n${failures.map((f) => `\t* ${f.node}: ${f.message}`).join('\n')}\n\n`;
}
