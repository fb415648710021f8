// Trusting the spec's CA files: the OVH client (Node's global agent) accepts a server signed
// by the CA a spec named at that spec's endpoint, and only there: the same CA is not trusted
// for another port or host name, a CA nobody named is refused, and NODE_TLS_REJECT_UNAUTHORIZED=0
// in the environment does not switch verification off. Real TLS handshakes on loopback.
import { ApplicationFailure } from '@temporalio/common';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvhClientAgent } from '../../activities/ovh/agent';
import { ovhGlobalAgent, prepareOvhTransport } from '../../activities/ovh/client';
import { loadOrCreateSandboxCa, type SandboxCa } from '../../sandbox/tls';

const servers: https.Server[] = [];
let a: SandboxCa;
let b: SandboxCa;
let stranger: SandboxCa;

/** An HTTPS server on loopback with a certificate for localhost and 127.0.0.1 signed by `ca`; its port. */
async function serverSignedBy(ca: SandboxCa): Promise<number> {
  const cert = await ca.issueServerCert();
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('ok'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** One GET through `agent` (the global agent unless given), as the `ovh` client makes it: the status, or the TLS error code. */
function get(port: number, host = 'localhost', agent?: https.Agent): Promise<string> {
  return new Promise((resolve) => {
    const req = https.get({ host, port, path: '/', ...(agent ? { agent } : {}) }, (res) => {
      res.resume();
      resolve(`HTTP ${res.statusCode}`);
    });
    req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
  });
}

async function withEnv<T>(name: string, value: string, run: () => Promise<T>): Promise<T> {
  const saved = process.env[name];
  process.env[name] = value;
  try {
    return await run();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

beforeAll(async () => {
  [a, b, stranger] = await Promise.all(['ca-a-', 'ca-b-', 'ca-x-'].map((p) => loadOrCreateSandboxCa(mkdtempSync(join(tmpdir(), p)))));
});

afterAll(() => {
  for (const s of servers) s.closeAllConnections(), s.close();
});

describe('prepareOvhTransport', () => {
  it("trusts each spec's CA at that spec's endpoint, even two prepared at once, and refuses a CA nobody named", async () => {
    const [portA, portB, portStranger] = await Promise.all([serverSignedBy(a), serverSignedBy(b), serverSignedBy(stranger)]);
    await Promise.all([
      prepareOvhTransport({ endpoint: `https://localhost:${portA}/1.0`, caFile: a.certFile }),
      prepareOvhTransport({ endpoint: `https://localhost:${portB}/1.0`, caFile: b.certFile }),
    ]);
    expect(https.globalAgent).toBeInstanceOf(OvhClientAgent);
    expect(await get(portA)).toBe('HTTP 200');
    expect(await get(portB)).toBe('HTTP 200');
    expect(await get(portStranger)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    // Preparing the same spec again adds nothing.
    await prepareOvhTransport({ endpoint: `https://localhost:${portA}/1.0`, caFile: a.certFile });
    expect(ovhGlobalAgent().trustedCas('localhost', portA)).toEqual([a.certPem]);
  });

  it("does not trust a spec's CA for a server at another port or another host name, though that server is signed by the same CA", async () => {
    const [e1, e2] = await Promise.all([serverSignedBy(a), serverSignedBy(a)]);
    await prepareOvhTransport({ endpoint: `https://localhost:${e1}/1.0`, caFile: a.certFile });
    expect(await get(e1)).toBe('HTTP 200');
    expect(await get(e2)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    // The same server under another name is another endpoint (its certificate names 127.0.0.1 too).
    expect(await get(e1, '127.0.0.1')).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('refuses a CA file for a named OVH region, naming the fields', async () => {
    const err = await prepareOvhTransport({ endpoint: 'ovh-eu', caFile: a.certFile }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'OvhBadConfig', nonRetryable: true });
    expect((err as Error).message).toMatch(/spec\.ovh\.caFile.*spec\.ovh\.endpoint ovh-eu/);
  });
});

describe('OvhClientAgent', () => {
  it('with NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment, still refuses a certificate from an unknown CA, at a trusted endpoint or any other', async () => {
    const [trustedPort, otherPort] = await Promise.all([serverSignedBy(stranger), serverSignedBy(stranger)]);
    const agent = new OvhClientAgent();
    agent.trust('localhost', trustedPort, b.certPem);
    try {
      await withEnv('NODE_TLS_REJECT_UNAUTHORIZED', '0', async () => {
        expect(await get(trustedPort, 'localhost', agent)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
        expect(await get(otherPort, 'localhost', agent)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
        expect(await get(otherPort, 'localhost', ovhGlobalAgent())).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      });
    } finally {
      agent.destroy();
    }
  });
});
