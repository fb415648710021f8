// The Temporal connection settings (client/temporal-connection.ts): the standard TEMPORAL_*
// variables and temporal.toml profiles, as the `temporal` CLI reads them, turned into what
// Connection.connect and NativeConnection.connect take; and the settings that cannot be used,
// refused with the variable named; and how a failed TLS handshake is explained (client/tls-probe.ts).
// Each case gets its own environment object, with HOME in an empty directory so no
// temporal.toml of the machine's user takes part.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeSecurity, localTemporalConnection, TemporalConfigError, temporalConnection } from '../../client/temporal-connection';
import { explainTlsError, splitAddress } from '../../client/tls-probe';

const dir = mkdtempSync(join(tmpdir(), 'ak8s-temporal-conn-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const CA = file('ca.pem', '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
const CERT = file('client.pem', '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n');
const KEY = file('client.key', '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
const TOML = file(
  'temporal.toml',
  [
    '[profile.default]',
    'address = "default.example:7233"',
    '',
    '[profile.prod]',
    'address = "prod.tmprl.example:7233"',
    'namespace = "autok8s-prod"',
    '[profile.prod.tls]',
    `server_ca_cert_path = "${CA}"`,
    `client_cert_path = "${CERT}"`,
    `client_key_path = "${KEY}"`,
    'server_name = "temporal.internal"',
    '',
  ].join('\n'),
);
const env = (vars: Record<string, string> = {}): NodeJS.ProcessEnv => ({ HOME: dir, ...vars });
const text = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString() : undefined);

describe('temporalConnection', () => {
  it('defaults to a plain connection to localhost:7233, namespace default', () => {
    const c = temporalConnection(env());
    expect(c).toEqual({ namespace: 'default', options: { address: 'localhost:7233', tls: false }, security: 'no TLS' });
  });

  it('takes the address and namespace from TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE', () => {
    const c = temporalConnection(env({ TEMPORAL_ADDRESS: '10.0.0.5:7233', TEMPORAL_NAMESPACE: 'autok8s' }));
    expect(c.options.address).toBe('10.0.0.5:7233');
    expect(c.namespace).toBe('autok8s');
  });

  it('trusts the server CA of TEMPORAL_TLS_SERVER_CA_CERT_PATH, and of _DATA', () => {
    const fromPath = temporalConnection(env({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: CA }));
    expect(fromPath.options.tls && text(fromPath.options.tls.serverRootCACertificate)).toContain('ca');
    expect(fromPath.security).toBe('TLS, server CA from the configuration');
    const fromData = temporalConnection(env({ TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'PEM TEXT', TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }));
    expect(fromData.options.tls && text(fromData.options.tls.serverRootCACertificate)).toBe('PEM TEXT');
    expect(fromData.security).toBe('TLS, server CA from the configuration, server name temporal.internal');
  });

  it('presents the client certificate of TEMPORAL_TLS_CLIENT_CERT_PATH and _KEY_PATH', () => {
    const c = temporalConnection(env({ TEMPORAL_TLS_CLIENT_CERT_PATH: CERT, TEMPORAL_TLS_CLIENT_KEY_PATH: KEY }));
    expect(c.options.tls && text(c.options.tls.clientCertPair?.crt)).toContain('client');
    expect(c.options.tls && text(c.options.tls.clientCertPair?.key)).toContain('PRIVATE KEY');
    expect(c.security).toBe("TLS, the system's CAs, client certificate");
  });

  it('turns TLS on for an API key, and never names the key', () => {
    const c = temporalConnection(env({ TEMPORAL_API_KEY: 'sekret-key', TEMPORAL_ADDRESS: 'eu.tmprl.example:7233' }));
    expect(c.options).toEqual({ address: 'eu.tmprl.example:7233', tls: {}, apiKey: 'sekret-key' });
    expect(c.security).toBe("TLS, the system's CAs, API key");
    expect(JSON.stringify(c.security)).not.toContain('sekret');
  });

  it('reads a profile of temporal.toml (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE), with the variables over it', () => {
    const prod = temporalConnection(env({ TEMPORAL_CONFIG_FILE: TOML, TEMPORAL_PROFILE: 'prod' }));
    expect(prod.options.address).toBe('prod.tmprl.example:7233');
    expect(prod.namespace).toBe('autok8s-prod');
    expect(prod.security).toBe('TLS, server CA from the configuration, server name temporal.internal, client certificate');
    const overridden = temporalConnection(env({ TEMPORAL_CONFIG_FILE: TOML, TEMPORAL_PROFILE: 'prod', TEMPORAL_ADDRESS: '127.0.0.1:7443' }));
    expect(overridden.options.address).toBe('127.0.0.1:7443');
    expect(overridden.namespace).toBe('autok8s-prod');
    // Without TEMPORAL_PROFILE: the profile named "default".
    expect(temporalConnection(env({ TEMPORAL_CONFIG_FILE: TOML })).options.address).toBe('default.example:7233');
  });

  it('reads ~/.config/temporalio/temporal.toml when no file is named, as the temporal CLI does', () => {
    const home = mkdtempSync(join(tmpdir(), 'ak8s-temporal-home-'));
    mkdirSync(join(home, '.config', 'temporalio'), { recursive: true });
    writeFileSync(join(home, '.config', 'temporalio', 'temporal.toml'), '[profile.default]\naddress = "from-home:7233"\n');
    expect(temporalConnection({ HOME: home }).options.address).toBe('from-home:7233');
  });

  it('loads once per environment', () => {
    const e = env({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: CA });
    expect(temporalConnection(e)).toBe(temporalConnection(e));
  });

  it.each([
    ['a client certificate without its key', { TEMPORAL_TLS_CLIENT_CERT_PATH: CERT }, /have a client certificate but no key to go with it; set TEMPORAL_TLS_CLIENT_KEY_PATH \(or _DATA\) too/],
    ['a client key without its certificate', { TEMPORAL_TLS_CLIENT_KEY_PATH: KEY }, /have a client key but no certificate to go with it; set TEMPORAL_TLS_CLIENT_CERT_PATH/],
    ['an API key with TLS turned off', { TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }, /API key with TLS turned off .* which would send the key in clear/],
    ['an empty API key', { TEMPORAL_API_KEY: '' }, /TEMPORAL_API_KEY is set but empty/],
    ['a CA file that is not there', { TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'nope.pem') }, /cannot read .*nope\.pem \(ENOENT\), named by the Temporal settings from the TEMPORAL_\* variables/],
    ['a config file that is not there', { TEMPORAL_CONFIG_FILE: join(dir, 'missing.toml') }, /TEMPORAL_CONFIG_FILE names .*missing\.toml, which does not exist/],
    ['a profile the file does not have', { TEMPORAL_CONFIG_FILE: TOML, TEMPORAL_PROFILE: 'staging' }, /profile staging of .*temporal\.toml \(TEMPORAL_PROFILE\).*Profile 'staging' not found/],
    ['a config file that is not TOML', { TEMPORAL_CONFIG_FILE: file('broken.toml', '[profile.default\naddress=') }, /cannot load the Temporal connection settings from .*broken\.toml/],
    ['verification of the server turned off', { TEMPORAL_TLS_SERVER_CA_CERT_PATH: CA, TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }, /autok8s never turns off verification of the server; unset it, and give TEMPORAL_TLS_SERVER_NAME/],
  ])('refuses %s, naming what to fix', (_name, vars, message) => {
    const e = env(vars);
    expect(() => temporalConnection(e)).toThrow(TemporalConfigError);
    expect(() => temporalConnection(e)).toThrow(message);
  });
});

describe('a local dev server', () => {
  it('is reached without TLS whatever the environment says: autok8s started it, on loopback, without TLS', () => {
    expect(localTemporalConnection('127.0.0.1:7233')).toEqual({ namespace: 'default', options: { address: '127.0.0.1:7233', tls: false }, security: 'no TLS (local dev server)' });
  });
});

describe('describeSecurity', () => {
  it.each([
    ['plain gRPC', { tls: false as const }, 'no TLS'],
    ['TLS with the system CAs', { tls: {} }, "TLS, the system's CAs"],
    ['mTLS with a private CA', { tls: { serverRootCACertificate: Buffer.from('x'), clientCertPair: { crt: Buffer.from('c'), key: Buffer.from('k') } } }, 'TLS, server CA from the configuration, client certificate'],
  ])('says %s', (_name, options, expected) => {
    expect(describeSecurity(options)).toBe(expected);
  });
});

describe('splitAddress', () => {
  it.each([
    ['a host name', 'temporal.internal:7233', { host: 'temporal.internal', port: 7233 }],
    ['an IPv4 address', '127.0.0.1:7443', { host: '127.0.0.1', port: 7443 }],
    ['an IPv6 address in brackets', '[::1]:7233', { host: '::1', port: 7233 }],
    ['no port', 'temporal.internal', undefined],
  ])('reads %s', (_name, address, expected) => {
    expect(splitAddress(address)).toEqual(expected);
  });
});

describe('explainTlsError', () => {
  it.each([
    ['a server that wants a client certificate', { reason: 'tlsv13 alert certificate required', message: '80AC...:error:0A00045C:SSL routines' }, 'the server wants a client certificate (tlsv13 alert certificate required); set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH'],
    ['a client certificate of another CA', { reason: 'tlsv1 alert unknown ca', message: 'x' }, 'the server refused the client certificate (tlsv1 alert unknown ca); use one signed by the CA the server trusts for clients'],
    ['a server certificate of an unknown CA', { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', message: 'unable to verify the first certificate' }, "the server's certificate is not trusted (unable to verify the first certificate); set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it"],
    ['a certificate for another name', { code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: "Hostname/IP does not match certificate's altnames" }, "Hostname/IP does not match certificate's altnames; set TEMPORAL_TLS_SERVER_NAME to a name the certificate carries"],
    ['a closed port', { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, 'nothing listens there'],
    ['anything else', { message: 'socket hang up' }, 'socket hang up'],
  ])('explains %s', (_name, err, expected) => {
    expect(explainTlsError(err)).toBe(expected);
  });
});
