// The sandbox's certificate authority and server certificates, so that simulators speak
// real TLS and adapters verify them like production endpoints (they trust this CA through
// configuration; verification is never turned off). Uses @peculiar/x509 over WebCrypto
// rather than hand-written ASN.1. The CA is kept on disk so restarts reuse it.
import { X509Certificate as NodeX509, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import 'reflect-metadata'; // @peculiar/x509 needs it (tsyringe)
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  /** SHA-256 fingerprint as Proxmox shows it: upper-case hex bytes joined by ":". */
  fingerprint256: string;
}

export interface SandboxCa {
  certPem: string;
  /** Path of the CA's PEM file, for `ovh.caFile` / `proxmox.caFile` / NODE_EXTRA_CA_CERTS. */
  certFile: string;
  issueServerCert(hosts?: string[]): Promise<IssuedCertificate>;
  /** A certificate for TLS client authentication (mTLS), subject CN=`commonName`. */
  issueClientCert(commonName: string): Promise<IssuedCertificate>;
}

function keyToPem(der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']) as Promise<CryptoKey>;
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(12))).toString('hex').replace(/^[89a-f]/, '1');
}

/** Loads the CA from `dir` (ca.pem, ca-key.pem, mode 0600), creating it on first use. */
export async function loadOrCreateSandboxCa(dir: string): Promise<SandboxCa> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'ca-key.pem');
  let caCert: x509.X509Certificate;
  let caKey: CryptoKey;
  if (existsSync(certFile) && existsSync(keyFile)) {
    caCert = new x509.X509Certificate(readFileSync(certFile, 'utf8'));
    caKey = await importKey(readFileSync(keyFile, 'utf8'));
  } else {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: 'CN=autok8s sandbox CA, O=autok8s',
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + 3650 * DAY_MS),
      keys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    caKey = keys.privateKey;
    writeFileSync(keyFile, keyToPem(await webcrypto.subtle.exportKey('pkcs8', caKey)), { mode: 0o600 });
    writeFileSync(certFile, caCert.toString('pem'), { mode: 0o644 });
  }
  const certPem = caCert.toString('pem');

  async function issue(subject: string, usage: x509.ExtendedKeyUsageType, extensions: x509.Extension[]): Promise<IssuedCertificate> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: caCert.subject,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + 365 * DAY_MS),
      signingKey: caKey,
      publicKey: keys.publicKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage]),
        ...extensions,
        await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ],
    });
    const pem = cert.toString('pem');
    return {
      certPem: pem,
      keyPem: keyToPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
      fingerprint256: new NodeX509(pem).fingerprint256,
    };
  }

  return {
    certPem,
    certFile,
    issueServerCert: (hosts = ['localhost', '127.0.0.1']) =>
      issue(`CN=${hosts[0]}`, x509.ExtendedKeyUsage.serverAuth, [
        new x509.SubjectAlternativeNameExtension(hosts.map((h): x509.JsonGeneralName => (/^[\d.]+$/.test(h) ? { type: 'ip', value: h } : { type: 'dns', value: h }))),
      ]),
    issueClientCert: (commonName) => issue(`CN=${commonName}`, x509.ExtendedKeyUsage.clientAuth, []),
  };
}
