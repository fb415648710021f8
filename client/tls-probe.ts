// Why a TLS connection to Temporal failed, in TLS's words. The gRPC client only reports
// "Failed to connect before the deadline" when the handshake fails; an operator setting up
// TLS needs to know whether the server's certificate was not trusted, or the server wanted a
// client certificate it did not get. So, after a failed connect, one plain TLS handshake with
// the same CA, client certificate and server name tells which.
import { isIP } from 'node:net';
import { checkServerIdentity, connect, type ConnectionOptions } from 'node:tls';
import type { TemporalConnection, TemporalConnectionOptions } from './temporal-connection';

/** Pure: "host:port" or "[v6]:port" → host and port. */
export function splitAddress(address: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  return m ? { host: m[1], port: Number(m[2]) } : undefined;
}

const UNTRUSTED_SERVER = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_UNTRUSTED']);

/** Pure: a TLS error → what it means for the operator, with the variable to set. */
export function explainTlsError(err: { code?: string; reason?: string; message: string }): string {
  // OpenSSL's own errors carry a short `reason`; the message adds library internals.
  const what = err.reason ?? err.message;
  if (err.code === 'ECONNREFUSED') return 'nothing listens there';
  if (/alert certificate required/i.test(what)) return `the server wants a client certificate (${what}); set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH`;
  if (/alert (unknown ca|bad certificate|certificate unknown|unsupported certificate)/i.test(what)) {
    return `the server refused the client certificate (${what}); use one signed by the CA the server trusts for clients`;
  }
  if (err.code && UNTRUSTED_SERVER.has(err.code)) return `the server's certificate is not trusted (${what}); set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it`;
  if (err.code === 'CERT_HAS_EXPIRED') return `the server's certificate has expired (${what})`;
  if (err.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `${what}; set TEMPORAL_TLS_SERVER_NAME to a name the certificate carries`;
  return what;
}

/**
 * Handshakes once as the connection would and returns what went wrong, or undefined when
 * TLS itself works (then the trouble is elsewhere). A server that refuses the client's
 * certificate says so only after the handshake (TLS 1.3), so the probe waits a moment for that.
 */
export function probeTls(options: TemporalConnectionOptions, timeoutMs = 3000): Promise<string | undefined> {
  const target = splitAddress(options.address);
  if (!options.tls || !target) return Promise.resolve(undefined);
  const tls = options.tls;
  const name = tls.serverNameOverride ?? target.host;
  const connectOptions: ConnectionOptions = {
    host: target.host,
    port: target.port,
    // SNI takes host names only; an IP address is still checked against the certificate.
    servername: isIP(name) ? undefined : name,
    ALPNProtocols: ['h2'],
    ca: tls.serverRootCACertificate ? Buffer.from(tls.serverRootCACertificate) : undefined,
    cert: tls.clientCertPair ? Buffer.from(tls.clientCertPair.crt) : undefined,
    key: tls.clientCertPair ? Buffer.from(tls.clientCertPair.key) : undefined,
    ...(tls.serverNameOverride ? { checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert) } : {}),
  };
  return new Promise((resolve) => {
    let settled = false;
    const finish = (reason: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const socket = connect(connectOptions, () => {
      if (socket.alpnProtocol !== 'h2') return finish(`the server did not agree to HTTP/2 over TLS (ALPN ${socket.alpnProtocol || 'none'}), which gRPC needs`);
      // Accepted so far; a refused client certificate arrives as an alert right after.
      setTimeout(() => finish(undefined), Math.min(500, timeoutMs));
    });
    socket.on('error', (err: NodeJS.ErrnoException & { reason?: string }) => finish(`TLS: ${explainTlsError(err)}`));
  });
}

/** The error for a connection to Temporal that failed: where, how secured, and why (TLS's reason when TLS is why). */
export async function cannotReachTemporal(connection: TemporalConnection, err: unknown, hint: string): Promise<Error> {
  const why = (await probeTls(connection.options)) ?? (err instanceof Error ? err.message : String(err));
  return new Error(`cannot reach Temporal at ${connection.options.address} (${connection.security}): ${why}; ${hint}`);
}
