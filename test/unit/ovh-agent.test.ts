// The agent the `ovh` client goes through (activities/ovh/agent.ts): calls share kept-alive
// connections, a connection serves a bounded number of requests (the client's per-request
// socket listeners stay capped, with no leak warning), and a hung call on a reused
// connection still times out. Against a real HTTPS server on loopback, signed by a sandbox CA.
import { ANYTHING_POLICY } from '../helpers/policy';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUESTS_PER_SOCKET, OvhClientAgent } from '../../activities/ovh/agent';
import { createOvhClientFactory } from '../../activities/ovh/client';
import { createSecretResolver } from '../../activities/secrets';
import { loadOrCreateSandboxCa } from '../../sandbox/tls';

let dir: string;
let server: https.Server;
let connections = 0;
let caFile: string;
const hung = new Set<string>();
const hungSockets = new Set<import('node:net').Socket>();
/** Every request the server received, with the connection it came on. */
const received: { url: string; socket: import('node:net').Socket }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ovh-agent-'));
  const ca = await loadOrCreateSandboxCa(join(dir, 'ca'));
  caFile = ca.certFile;
  const cert = await ca.issueServerCert();
  server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    received.push({ url: req.url ?? '', socket: req.socket });
    if (hung.has(req.url ?? '')) return void hungSockets.add(req.socket); // never answers
    res.setHeader('content-type', 'application/json');
    res.end(req.url?.endsWith('/auth/time') ? String(Math.floor(Date.now() / 1000)) : JSON.stringify({ path: req.url }));
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function api(timeoutMs = 2000) {
  const port = (server.address() as AddressInfo).port;
  const factory = createOvhClientFactory({ secrets: createSecretResolver({ AK: 'ak', AS: 'as', CK: 'ck' }, ANYTHING_POLICY), requestTimeoutMs: timeoutMs });
  return factory({ endpoint: `https://localhost:${port}/1.0`, caFile, applicationKey: 'env:AK', applicationSecret: 'env:AS', consumerKey: 'env:CK', vrack: 'pn-1' });
}

describe('OvhClientAgent', () => {
  it('serves sequential calls over kept connections, each for a bounded number of requests, without a leak warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const client = await api();
      const before = connections;
      const calls = 2 * MAX_REQUESTS_PER_SOCKET + 10;
      for (let i = 0; i < calls; i++) expect(await client.call<{ path: string }>('GET', `/me/${i}`)).toEqual({ path: `/1.0/me/${i}` });
      // The first connection also carried /auth/time.
      const used = connections - before;
      expect(used).toBeGreaterThanOrEqual(Math.ceil(calls / MAX_REQUESTS_PER_SOCKET));
      expect(used).toBeLessThanOrEqual(Math.ceil((calls + 1) / MAX_REQUESTS_PER_SOCKET) + 1);
      expect(https.globalAgent).toBeInstanceOf(OvhClientAgent);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('times out a hung call on a reused connection by its own request timeout, and the next call goes through', async () => {
    const client = await api(500);
    await client.call('GET', '/warm');
    hung.add('/1.0/hang');
    // The same hung call from a client whose timeout is two minutes: the 500 ms client must give
    // up while this one still waits, which only its own request timeout can make it do.
    const hanging = client.call('GET', '/hang'); // first, so it takes the kept connection of /warm
    const patient = await api(120_000);
    let patientSettled = false;
    const patientCall = patient.call('GET', '/hang').then(
      () => (patientSettled = true),
      () => (patientSettled = true),
    );
    await expect(hanging).rejects.toMatchObject({ type: 'OvhTransient' });
    const socketOf = (url: string) => received.find((r) => r.url === url)!.socket;
    expect(socketOf('/1.0/hang'), 'the hung call went over the kept connection of /warm').toBe(socketOf('/1.0/warm'));
    expect(patientSettled, 'the two-minute call is still waiting').toBe(false);
    expect(await client.call<{ path: string }>('GET', '/after')).toEqual({ path: '/1.0/after' });
    for (const socket of hungSockets) socket.destroy(); // ends the patient call
    await patientCall;
  });
});
