// Trusting the spec's CA files: the OVH client (Node's global agent) accepts a server signed
// by each CA a spec named, even when two are trusted at once, and still refuses one signed
// by a CA nobody named. Real TLS handshakes on loopback.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addedCaList, prepareOvhTransport, trustCaFile } from '../../activities/ovh/client';
import { loadOrCreateSandboxCa, type SandboxCa } from '../../sandbox/tls';

const servers: https.Server[] = [];

async function serverSignedBy(ca: SandboxCa): Promise<number> {
  const cert = await ca.issueServerCert();
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('ok'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** One GET through the global agent, as the `ovh` client makes it: the status, or the TLS error code. */
function getThroughGlobalAgent(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = https.get({ host: 'localhost', port, path: '/' }, (res) => {
      res.resume();
      resolve(`HTTP ${res.statusCode}`);
    });
    req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
  });
}

afterAll(() => {
  for (const s of servers) s.closeAllConnections(), s.close();
});

describe('trustCaFile', () => {
  it('trusts every CA named, even two at once, and no other', async () => {
    const [a, b, stranger] = await Promise.all(['ca-a-', 'ca-b-', 'ca-x-'].map((p) => loadOrCreateSandboxCa(mkdtempSync(join(tmpdir(), p)))));
    const [portA, portB, portStranger] = await Promise.all([serverSignedBy(a), serverSignedBy(b), serverSignedBy(stranger)]);
    await prepareOvhTransport();
    await Promise.all([trustCaFile(a.certFile), trustCaFile(b.certFile)]);
    expect(addedCaList()).toEqual(expect.arrayContaining([a.certPem, b.certPem]));
    expect(await getThroughGlobalAgent(portA)).toBe('HTTP 200');
    expect(await getThroughGlobalAgent(portB)).toBe('HTTP 200');
    // Verification stays on: a certificate from a CA no spec named is refused.
    expect(await getThroughGlobalAgent(portStranger)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    // Trusting the same file again adds nothing.
    await trustCaFile(a.certFile);
    expect(addedCaList().filter((pem) => pem === a.certPem)).toHaveLength(1);
  });
});
