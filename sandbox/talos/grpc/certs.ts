// Certificates of the simulated Talos nodes, as a real node has them: in maintenance mode a
// self-signed certificate (talosctl --insecure does not verify it); once configured, a
// server certificate for the node's address issued from the OS CA of its machine config
// (machine.ca; workers, whose config carries no CA key, get theirs from the cluster's
// control planes through trustd, here: from a control-plane config seen with the same CA).
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import 'reflect-metadata'; // @peculiar/x509 needs it (tsyringe)
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const subtle = webcrypto.subtle;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

const ED25519 = { name: 'Ed25519' } as const;

/** Talos writes Ed25519 keys as "ED25519 PRIVATE KEY" (PKCS#8 inside); Node wants "PRIVATE KEY". */
export function normalizeKeyPem(pem: string): string {
  return pem.replace(/-----(BEGIN|END) ED25519 PRIVATE KEY-----/g, '-----$1 PRIVATE KEY-----');
}

async function importSigningKey(keyPem: string): Promise<{ key: CryptoKey; algorithm: Algorithm | EcdsaParams }> {
  const key = createPrivateKey(normalizeKeyPem(keyPem));
  const der = key.export({ type: 'pkcs8', format: 'der' });
  if (key.asymmetricKeyType === 'ed25519') return { key: await subtle.importKey('pkcs8', der, ED25519, false, ['sign']), algorithm: ED25519 };
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'P-384' : 'P-256';
    return { key: await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: curve }, false, ['sign']), algorithm: { name: 'ECDSA', hash: curve === 'P-384' ? 'SHA-384' : 'SHA-256' } };
  }
  throw new Error(`OS CA key type ${key.asymmetricKeyType} is not supported by the simulated nodes (Talos generates Ed25519 or ECDSA)`);
}

async function newLeafKeys(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', keys.privateKey));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trim()}\n-----END PRIVATE KEY-----\n`;
}

const serial = () => randomBytes(16).toString('hex').replace(/^[89a-f]/, '1');
const validity = () => ({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 365 * 24 * 3600_000) });

/** The maintenance-mode certificate: self-signed, for the node's address. */
export async function selfSignedCert(ip: string): Promise<PemPair> {
  const keys = await newLeafKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=maintenance-service.talos.dev',
    keys,
    signingAlgorithm: ED25519,
    ...validity(),
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: ip }]), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys) };
}

/** A configured node's apid certificate: issued by the OS CA, for its address and hostname. */
export async function issueServerCert(ca: { crtPem: string; keyPem: string }, ip: string, hostname?: string): Promise<PemPair> {
  const issuer = new x509.X509Certificate(ca.crtPem);
  const signer = await importSigningKey(ca.keyPem);
  const keys = await newLeafKeys();
  const names: x509.JsonGeneralName[] = [{ type: 'ip', value: ip }, ...(hostname ? [{ type: 'dns' as const, value: hostname }] : [])];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hostname ?? ip}`,
    issuer: issuer.subject,
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    ...validity(),
    extensions: [
      new x509.SubjectAlternativeNameExtension(names),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys) };
}

/** A client certificate with Talos roles in its organization (what `talosctl config new --roles` makes): for tests. */
export async function issueClientCert(ca: { crtPem: string; keyPem: string }, roles: string[]): Promise<PemPair> {
  const issuer = new x509.X509Certificate(ca.crtPem);
  const signer = await importSigningKey(ca.keyPem);
  const keys = await newLeafKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: roles.map((r) => `O=${r}`).join(', '),
    issuer: issuer.subject,
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    ...validity(),
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys) };
}

/** A fresh self-signed Ed25519 CA (a cluster's OS CA shape): for tests. */
export async function newCa(name = 'talos'): Promise<{ crtPem: string; keyPem: string }> {
  const keys = await newLeafKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `O=${name}`,
    keys,
    signingAlgorithm: ED25519,
    ...validity(),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true)],
  });
  return { crtPem: cert.toString('pem'), keyPem: normalizeKeyPem(await keyPem(keys)) };
}

export const fromBase64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');

/** The Talos roles a client certificate carries (its subject's O values, e.g. os:admin). */
export function rolesOf(raw: Buffer): string[] {
  const cert = new X509Certificate(raw);
  return cert.subject
    .split('\n')
    .filter((line) => line.startsWith('O='))
    .map((line) => line.slice(2));
}
