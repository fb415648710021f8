// How the Proxmox client trusts a node's certificate. Verification is never turned off:
// - `caFile`: the chain must lead to that CA and the name must match the URL's host;
// - `fingerprint`: the leaf certificate's SHA-256 must equal the pinned one, on every new
//   connection, before a single byte of the request is sent. A default PVE install serves
//   a certificate signed by its own cluster CA that nothing trusts, so pinning cannot also
//   demand a trusted chain; the pin replaces the chain check (the same model as the PVE web
//   UI's "fingerprint" when joining a cluster). With both, both are enforced.
// - neither: the system's trusted roots (a node with a public certificate).
import { createSecureContext, type TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';
import { ProxmoxTlsError } from './errors';

export interface ProxmoxTrust {
  /** PEM text of a CA that signs the node's certificate. */
  caPem?: string;
  /** SHA-256 fingerprint of the node's certificate, hex bytes separated by ":" (any case). */
  fingerprint?: string;
  connectTimeoutMs?: number;
}

export function normaliseFingerprint(fp: string): string {
  return fp.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
}

export function proxmoxConnector(trust: ProxmoxTrust): buildConnector.connector {
  const pinned = trust.fingerprint !== undefined ? normaliseFingerprint(trust.fingerprint) : undefined;
  const base = buildConnector({
    // One secure context for every connection of this pool: given only `ca`, tls.connect
    // would parse the PEM into a fresh context per connection (a few ms each, 72 at once
    // when a bootstrap creates the VMs of 24 servers).
    secureContext: createSecureContext(trust.caPem ? { ca: trust.caPem } : {}),
    // Chain verification stays on unless a pin replaces it (checked below, always). Always
    // given, so Node never falls back to NODE_TLS_REJECT_UNAUTHORIZED from the environment.
    rejectUnauthorized: pinned === undefined || trust.caPem !== undefined,
    // No TLS session resumption with a pin: every connection shows its certificate afresh.
    maxCachedSessions: pinned === undefined ? undefined : 0,
    timeout: trust.connectTimeoutMs ?? 10_000,
  });
  if (pinned === undefined) return base;
  return (options, callback) => {
    base(options, (err, socket) => {
      if (err || !socket) {
        callback(err ?? new Error('TLS connect failed'), null);
        return;
      }
      const actual = (socket as TLSSocket).getPeerCertificate?.()?.fingerprint256;
      if (!actual || normaliseFingerprint(actual) !== pinned) {
        socket.destroy();
        callback(
          new ProxmoxTlsError(
            'FINGERPRINT_MISMATCH',
            `the TLS certificate of ${options.hostname}:${options.port} has SHA-256 fingerprint ${actual ?? '(none)'}, not the pinned ${trust.fingerprint}. ` +
              'If the node\'s certificate was renewed on purpose, put its new fingerprint in servers[].proxmox.fingerprint (Proxmox UI: node → System → Certificates); otherwise something is intercepting the connection.',
          ),
          null,
        );
        return;
      }
      callback(null, socket);
    });
  };
}
