// Builds `ovh` npm clients from a cluster spec's `ovh` section. Secrets are resolved here,
// at call time, and go straight into the client; they never leave this module except
// inside the client object, and errors are scrubbed of them.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
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
// company proxy's) is trusted by it for that spec's endpoint only, next to Node's own roots
// (and NODE_EXTRA_CA_CERTS). A named region is reached with Node's roots alone.

/** Node's global agent, as the OvhClientAgent the `ovh` client goes through. */
export function ovhGlobalAgent(): OvhClientAgent {
  if (https.globalAgent instanceof OvhClientAgent) return https.globalAgent;
  const agent = new OvhClientAgent();
  https.globalAgent = agent;
  return agent;
}

/** Readies Node's global agent for the `ovh` client: kept-alive connections, and the spec's CA trusted for its endpoint if it names one. */
export async function prepareOvhTransport(spec: Pick<OvhSpec, 'endpoint' | 'caFile'>): Promise<void> {
  const agent = ovhGlobalAgent();
  if (!spec.caFile) return;
  const connection = ovhConnection(spec.endpoint);
  if (!('host' in connection)) {
    throw ApplicationFailure.nonRetryable(
      `spec.ovh.caFile is set but spec.ovh.endpoint ${spec.endpoint} is an OVH region, which is verified against the system's roots only; remove caFile, or give the endpoint as an https:// URL`,
      'OvhBadConfig',
    );
  }
  const path = expandHome(spec.caFile);
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw ApplicationFailure.nonRetryable(`spec.ovh.caFile ${path} cannot be read on the worker (${code}); fix the path or remove caFile`, 'OvhBadConfig');
  }
  agent.trust(connection.host, connection.port, pem);
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
    await prepareOvhTransport(spec);
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
