// Builds `ovh` npm clients from a cluster spec's `ovh` section. Secrets are resolved here,
// at call time, and go straight into the client; they never leave this module except
// inside the client object, and errors are scrubbed of them.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import tls from 'node:tls';
import { ApplicationFailure } from '@temporalio/common';
import ovh from 'ovh';
import type { ClusterSpec } from '../../core/spec/schema';
import { expandHome, type SecretResolver } from '../secrets';
import { OvhClientAgent } from './agent';
import { classifyOvhError } from './errors';

export type OvhSpec = ClusterSpec['ovh'];
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Long enough for a slow OVH answer, short enough that a hung call is noticed well within an activity timeout. */
export const DEFAULT_OVH_REQUEST_TIMEOUT_MS = 15_000;

/** One signed OVH API: `call` resolves with the JSON answer or throws a classified ApplicationFailure. */
export interface OvhApi {
  call<T>(method: HttpMethod, path: string, params?: Record<string, unknown>): Promise<T>;
}

/** Where the client connects: a preconfigured endpoint name, or host/port/basePath from an https URL. */
export type OvhConnection = { endpoint: string } | { host: string; port: number; basePath: string };

/** Pure: spec.ovh.endpoint ('ovh-eu' or 'https://localhost:8443/1.0') → the client's connection options. */
export function ovhConnection(endpoint: string): OvhConnection {
  if (!endpoint.startsWith('https://')) return { endpoint };
  const url = new URL(endpoint);
  const basePath = url.pathname.replace(/\/+$/, '');
  return { host: url.hostname, port: url.port ? Number(url.port) : 443, basePath: basePath === '' ? '/1.0' : basePath };
}

// ---- TLS and connections of Node's global agent -------------------------------------------
//
// The `ovh` client calls https.request with Node's global agent and no `ca` option, and
// offers no way to pass either. So the global agent is replaced by an OvhClientAgent
// (./agent.ts: kept-alive connections), and a CA the spec names (the sandbox's, or a
// company proxy's) is added to its trusted roots, next to Node's own (and NODE_EXTRA_CA_CERTS).
// Verification stays on: the store only grows by the CAs the configuration names, once per file.
const trustedCaFiles = new Set<string>();
/** The CAs specs added to Node's roots, in the order they were added. */
const addedCas: string[] = [];

/** The CAs the OVH client trusts beside Node's roots (empty: Node's roots only). */
export function addedCaList(): readonly string[] {
  return addedCas;
}

type AgentWithContext = https.Agent & { options: https.AgentOptions & { secureContext?: tls.SecureContext } };
/** tls.SecureContext's native half; addCACert is what tls.createSecureContext itself calls for each `ca`. */
type NativeContext = { addCACert?: (pem: string) => void };

function prepareGlobalAgent(): void {
  if (https.globalAgent instanceof OvhClientAgent) return;
  const previous = (https.globalAgent as AgentWithContext).options.secureContext;
  https.globalAgent = new OvhClientAgent(previous ? ({ secureContext: previous } as https.AgentOptions) : {});
}

/** Node's roots and every added CA, as one secure context. */
function contextTrusting(extra: readonly string[]): tls.SecureContext {
  // Without `ca`, the context starts from Node's root store, parsed once per process in
  // native code. Passing the ~150 roots as `ca` instead re-parses every PEM: 30 ms idle and
  // ~100 ms on a busy worker, all of it blocking the event loop. So the extra CAs are added
  // to a default context through the method createSecureContext uses for `ca` itself; should
  // a Node version lack it, the full list is the fallback.
  const context = tls.createSecureContext();
  const native = (context as unknown as { context?: NativeContext }).context;
  if (typeof native?.addCACert !== 'function') return tls.createSecureContext({ ca: [...tls.rootCertificates, ...extra] });
  for (const pem of extra) native.addCACert(pem);
  return context;
}

/** Readies Node's global agent for the `ovh` client: kept-alive connections, and the spec's CA trusted if it names one. */
export async function prepareOvhTransport(caFile?: string): Promise<void> {
  prepareGlobalAgent();
  if (caFile) await trustCaFile(caFile);
}

/** Adds the CA in `caFile` to the roots the global agent trusts (once per file). */
async function addCaFile(caFile: string): Promise<void> {
  const path = expandHome(caFile);
  if (trustedCaFiles.has(path)) return;
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw ApplicationFailure.nonRetryable(`spec.ovh.caFile ${path} cannot be read on the worker (${code}); fix the path or remove caFile`, 'OvhBadConfig');
  }
  addedCas.push(pem);
  // A new context rather than one changed in place: connections already open keep theirs.
  (https.globalAgent as AgentWithContext).options.secureContext = contextTrusting(addedCas);
  trustedCaFiles.add(path);
}

let trusting: Promise<void> = Promise.resolve();

/**
 * Adds the CA in `caFile` to the roots the global agent trusts (once per file). Calls run one
 * after another: each reads the current list and writes it back, so two first calls for
 * different files at once would otherwise keep only one of the CAs.
 */
export function trustCaFile(caFile: string): Promise<void> {
  const next = trusting.then(() => addCaFile(caFile));
  trusting = next.catch(() => undefined);
  return next;
}

// ---- clients --------------------------------------------------------------------------------

export interface OvhClientFactoryDeps {
  secrets: SecretResolver;
  /** Per-request socket inactivity timeout (default 15 s). */
  requestTimeoutMs?: number;
}

/**
 * Returns a function giving the API for a spec's `ovh` section. Clients are cached per
 * (endpoint, CA, keys), so the /auth/time round trip happens once per credential; a rotated
 * secret resolves to new keys and so to a new client. The cache key is a hash: no secret
 * is kept as a map key.
 */
export function createOvhClientFactory(deps: OvhClientFactoryDeps): (spec: OvhSpec) => Promise<OvhApi> {
  // Promises, not clients: the first calls of a bootstrap arrive together (a vRack join per
  // server), and each would otherwise build its own client and its own /auth/time round trip.
  const cache = new Map<string, Promise<OvhApi>>();
  const timeout = deps.requestTimeoutMs ?? DEFAULT_OVH_REQUEST_TIMEOUT_MS;

  const build = async (spec: OvhSpec, appKey: string, appSecret: string, consumerKey: string): Promise<OvhApi> => {
    await prepareOvhTransport(spec.caFile);
    const client = ovh({ appKey, appSecret, consumerKey, timeout, ...ovhConnection(spec.endpoint) });
    const secrets = [appKey, appSecret, consumerKey];
    return {
      async call<T>(method: HttpMethod, path: string, params?: Record<string, unknown>): Promise<T> {
        try {
          // The client deletes null params and moves `{name}` params into the path: give it a copy.
          return (await client.requestPromised(method, path, params ? { ...params } : {})) as T;
        } catch (err) {
          throw classifyOvhError(err, { method, path, secrets });
        }
      },
    };
  };

  return async (spec) => {
    const [appKey, appSecret, consumerKey] = await Promise.all([
      deps.secrets(spec.applicationKey),
      deps.secrets(spec.applicationSecret),
      deps.secrets(spec.consumerKey),
    ]);
    const key = createHash('sha256').update(JSON.stringify([spec.endpoint, spec.caFile ?? '', appKey, appSecret, consumerKey])).digest('hex');
    let api = cache.get(key);
    if (!api) {
      api = build(spec, appKey, appSecret, consumerKey);
      cache.set(key, api);
      // A failed build (an unreadable caFile) is not kept: the next call tries again.
      api.catch(() => cache.delete(key));
    }
    return api;
  };
}
