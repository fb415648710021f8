// Where Temporal is and how autok8s authenticates to it, for the CLI, the worker and the
// tools alike: Temporal's standard environment configuration (@temporalio/envconfig), so the
// names are the ones the `temporal` CLI and every Temporal SDK read:
//
//   TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
//   TEMPORAL_TLS (true/false), TEMPORAL_TLS_SERVER_CA_CERT_PATH / _DATA, TEMPORAL_TLS_SERVER_NAME,
//   TEMPORAL_TLS_CLIENT_CERT_PATH / _DATA with TEMPORAL_TLS_CLIENT_KEY_PATH / _DATA,
//   TEMPORAL_GRPC_META_<NAME>, and a profile (TEMPORAL_PROFILE, default "default") of
//   temporal.toml (TEMPORAL_CONFIG_FILE, default ~/.config/temporalio/temporal.toml).
//
// An environment variable wins over the profile, the profile over the defaults
// (localhost:7233, namespace "default", no TLS). An API key turns TLS on.
//
// This module only describes connections; opening them stays with the callers, so the CLI's
// fast path never loads the worker's native bridge (NativeConnection).
import { existsSync } from 'node:fs';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';

export const DEFAULT_ADDRESS = 'localhost:7233';
export const DEFAULT_NAMESPACE = 'default';

/** What both Connection.connect (client) and NativeConnection.connect (worker) take. */
export interface TemporalConnectionOptions {
  address: string;
  /** false: plain gRPC. */
  tls: TLSConfig | false;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export interface TemporalConnection {
  namespace: string;
  options: TemporalConnectionOptions;
  /** How the connection is secured, for logs and messages; never a secret. */
  security: string;
}

/** Temporal connection settings that cannot be used: names the variable or profile key and the fix. */
export class TemporalConfigError extends Error {
  override readonly name = 'TemporalConfigError';
}

/** Pure: how a connection is secured, in words. */
export function describeSecurity(options: Pick<TemporalConnectionOptions, 'tls' | 'apiKey'>): string {
  if (!options.tls) return 'no TLS';
  const parts = ['TLS'];
  parts.push(options.tls.serverRootCACertificate ? 'server CA from the configuration' : "the system's CAs");
  if (options.tls.serverNameOverride) parts.push(`server name ${options.tls.serverNameOverride}`);
  if (options.tls.clientCertPair) parts.push('client certificate');
  if (options.apiKey) parts.push('API key');
  return parts.join(', ');
}

/**
 * A loaded profile → connection settings (reading the certificate files it names), refusing
 * what would fail later or weaken the connection: half a client certificate pair, an API key
 * sent without TLS.
 */
export function connectionFromProfile(profile: ClientConfigProfile, where: string): TemporalConnection {
  const tls = profile.tls;
  if (tls && tls.disabled !== true && (tls.clientCert === undefined) !== (tls.clientKey === undefined)) {
    const [has, lacks] = tls.clientCert ? ['a client certificate', 'CLIENT_KEY'] : ['a client key', 'CLIENT_CERT'];
    throw new TemporalConfigError(
      `the Temporal settings from ${where} have ${has} but no ${lacks === 'CLIENT_KEY' ? 'key' : 'certificate'} to go with it; set TEMPORAL_TLS_${lacks}_PATH (or _DATA) too: mTLS needs both`,
    );
  }
  if (profile.apiKey !== undefined && tls?.disabled === true) {
    throw new TemporalConfigError(`the Temporal settings from ${where} have an API key with TLS turned off (TEMPORAL_TLS=false or tls.disabled), which would send the key in clear; turn TLS on`);
  }
  if (profile.apiKey === '') throw new TemporalConfigError('TEMPORAL_API_KEY is set but empty; unset it or give the key');
  let options: ReturnType<typeof toClientOptions>;
  try {
    options = toClientOptions(profile);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { path?: string };
    if (e.code && e.path) throw new TemporalConfigError(`cannot read ${e.path} (${e.code}), named by the Temporal settings from ${where}; fix the TEMPORAL_TLS_*_PATH variable or the profile's tls.*_path`);
    throw new TemporalConfigError(`the Temporal settings from ${where} cannot be used: ${e.message}`);
  }
  const c = options.connectionOptions;
  const result: TemporalConnectionOptions = {
    address: c.address ?? DEFAULT_ADDRESS,
    tls: c.tls === undefined || c.tls === false ? false : c.tls === true ? {} : (c.tls as TLSConfig),
    ...(c.apiKey !== undefined ? { apiKey: c.apiKey as string } : {}),
    ...(profile.grpcMeta && Object.keys(profile.grpcMeta).length > 0 ? { metadata: profile.grpcMeta } : {}),
  };
  return { namespace: options.namespace ?? DEFAULT_NAMESPACE, options: result, security: describeSecurity(result) };
}

/** Where the settings came from, for messages: the profile and its file, or the environment. */
function sourceOf(env: NodeJS.ProcessEnv): string {
  const file = env.TEMPORAL_CONFIG_FILE;
  const profile = env.TEMPORAL_PROFILE;
  if (profile) return `profile ${profile}${file ? ` of ${file}` : ''} (TEMPORAL_PROFILE) with the TEMPORAL_* variables`;
  return file ? `${file} (TEMPORAL_CONFIG_FILE) with the TEMPORAL_* variables` : 'the TEMPORAL_* variables';
}

const loaded = new WeakMap<object, TemporalConnection>();

/**
 * The connection settings of this environment, loaded once per environment object (so once per
 * process for process.env: certificate files are read at start-up, as the worker's connection is).
 */
export function temporalConnection(env: NodeJS.ProcessEnv = process.env): TemporalConnection {
  const cached = loaded.get(env);
  if (cached) return cached;
  const where = sourceOf(env);
  // Verification off is not a setting autok8s offers: a certificate issued to another name is
  // what TEMPORAL_TLS_SERVER_NAME is for. (envconfig would silently drop it.)
  const noVerify = env.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION;
  if (noVerify === '1' || noVerify === 'true') {
    throw new TemporalConfigError('TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is set, and autok8s never turns off verification of the server; unset it, and give TEMPORAL_TLS_SERVER_NAME when the certificate names another host');
  }
  // envconfig skips a missing file, right for the default path; a named one must be there.
  if (env.TEMPORAL_CONFIG_FILE && !existsSync(env.TEMPORAL_CONFIG_FILE)) {
    throw new TemporalConfigError(`TEMPORAL_CONFIG_FILE names ${env.TEMPORAL_CONFIG_FILE}, which does not exist; fix the path or unset it`);
  }
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: env as Record<string, string> });
  } catch (err) {
    throw new TemporalConfigError(`cannot load the Temporal connection settings from ${where}: ${(err as Error).message}`);
  }
  const connection = connectionFromProfile(profile, where);
  loaded.set(env, connection);
  return connection;
}

/**
 * A dev server that autok8s started itself on loopback (`autok8s dev`, `demo`, the tests and
 * benchmarks): plain gRPC whatever the environment says, since that server has no TLS.
 */
export function localTemporalConnection(address: string, namespace = DEFAULT_NAMESPACE): TemporalConnection {
  return { namespace, options: { address, tls: false }, security: 'no TLS (local dev server)' };
}
