// Temporal over TLS, as in production, configured only with the standard environment
// variables the `temporal` CLI reads: the real worker process and the real `autok8s failover`
// reach the test's dev server through a TLS-terminating HAProxy (the dev server has no TLS
// option), and move a failover IP in the sandbox. Once with server TLS (the client trusts a
// throwaway CA), once with mutual TLS (`verify required`: the proxy wants a client
// certificate of its client CA). Clients that do not speak TLS, do not trust the CA, or have
// no (or the wrong) client certificate are refused, and nothing reaches OVH.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../sandbox';
import { findProgram } from '../../sandbox/netns/lab';
import { loadOrCreateSandboxCa } from '../../sandbox/tls';
import { runAutok8s } from '../helpers/cli';
import { startChildWorker, temporalAddress, uniqueQueue, type ChildWorker } from '../helpers/temporal';
import { startTlsProxy, type TlsProxy } from '../helpers/tls-proxy';

const IP = '203.0.113.10';
const haproxy = findProgram('haproxy');
const missing = haproxy ? undefined : 'haproxy is not installed (apt-get install -y haproxy)';
// Skipped with the reason on a machine without HAProxy; under CI (which installs it) a missing
// HAProxy fails the run instead of passing it silently.
const skip = missing !== undefined && !process.env.CI;

let dir: string;
let box: Sandbox;
let serverTls: TlsProxy;
let mutualTls: TlsProxy;
const workers: ChildWorker[] = [];
const files = { serverCa: '', clientCert: '', clientKey: '', strangerCert: '', strangerKey: '' };
let serverCaPem = '';

function writeSecret(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** `autok8s failover` with exactly these variables for Temporal (and the sandbox's task queue). */
function failover(to: string, reason: string, temporalEnv: Record<string, string>, queue: string) {
  return runAutok8s(['failover', '-f', box.specFile, '--ip', IP, '--to', to, '--reason', reason, '--wait', '--output', 'json'], { AUTOK8S_TASK_QUEUE: queue, ...temporalEnv }, 90_000);
}

const ovhCalls = () => box.audit.entries({ service: 'ovh' }).length;
const byName = (proxy: TlsProxy) => proxy.address.replace('127.0.0.1', 'localhost');

describe.skipIf(skip)(missing && skip ? `Temporal over TLS (skipped: ${missing})` : 'Temporal over TLS through a TLS-terminating HAProxy', () => {
  beforeAll(async () => {
    if (!haproxy) throw new Error(`${missing}; .ci/run installs it`);
    dir = mkdtempSync(join(tmpdir(), 'ak8s-tls-'));
    box = await startSandbox({ dir: join(dir, 'sandbox'), clusterName: 'tls', latency: { ovh: { moveMs: 200 } }, publicProbe: false });
    // Throwaway PKI: one CA for the proxy's server certificate, another for client certificates,
    // and a third (the sandbox's) that the proxy does not trust for clients.
    const serverCa = await loadOrCreateSandboxCa(join(dir, 'server-ca'));
    const clientCa = await loadOrCreateSandboxCa(join(dir, 'client-ca'));
    const server = await serverCa.issueServerCert(['localhost', '127.0.0.1']);
    const client = await clientCa.issueClientCert('autok8s-worker');
    const stranger = await box.ca.issueClientCert('stranger');
    serverCaPem = serverCa.certPem;
    files.serverCa = serverCa.certFile;
    files.clientCert = writeSecret('client.pem', client.certPem);
    files.clientKey = writeSecret('client.key', client.keyPem);
    files.strangerCert = writeSecret('stranger.pem', stranger.certPem);
    files.strangerKey = writeSecret('stranger.key', stranger.keyPem);
    const proxy = { haproxy, dir, backend: temporalAddress(), serverCertPem: server.certPem, serverKeyPem: server.keyPem };
    serverTls = await startTlsProxy({ ...proxy, name: 'server-tls' });
    mutualTls = await startTlsProxy({ ...proxy, name: 'mutual-tls', clientCaPem: clientCa.certPem });
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) await w.kill('SIGTERM');
    await serverTls?.stop();
    await mutualTls?.stop();
    await box?.stop();
  });

  describe('server TLS', () => {
    it('connects the worker and the CLI with TEMPORAL_TLS_SERVER_CA_CERT_DATA / _PATH, and the IP moves', async () => {
      const queue = uniqueQueue('tls');
      const worker = startChildWorker(queue, { TEMPORAL_ADDRESS: serverTls.address, TEMPORAL_TLS_SERVER_CA_CERT_DATA: serverCaPem });
      workers.push(worker);
      await worker.ready;
      expect(worker.output()).toContain(`on ${serverTls.address} (namespace default, TLS, server CA from the configuration)`);

      // By the name the certificate carries, as production addresses are: with an IP address
      // grpc-js sends the IP as the TLS server name and Node warns about it (DEP0123).
      const run = await failover('srv-b', 'tls-server', { TEMPORAL_ADDRESS: byName(serverTls), TEMPORAL_TLS_SERVER_CA_CERT_PATH: files.serverCa }, queue);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ ip: IP, to: 'srv-b', moved: true, reason: 'tls-server' });
      expect(box.ovh.routing(IP)).toBe(box.spec.servers[1].ovhService);
    }, 120_000);

    it('refuses a client without TLS, and one that does not trust the server CA; nothing reaches OVH', async () => {
      const before = ovhCalls();
      const plain = await failover('srv-a', 'plain', { TEMPORAL_ADDRESS: serverTls.address }, 'unused');
      expect(plain.code).toBe(1);
      expect(plain.stderr).toContain(`autok8s: cannot reach Temporal at ${serverTls.address} (no TLS)`);
      const untrusting = await failover('srv-a', 'untrusting', { TEMPORAL_ADDRESS: serverTls.address, TEMPORAL_TLS: 'true' }, 'unused');
      expect(untrusting.code).toBe(1);
      expect(untrusting.stderr).toContain(`autok8s: cannot reach Temporal at ${serverTls.address} (TLS, the system's CAs): TLS: `);
      expect(untrusting.stderr).toMatch(/TLS: the server's certificate is not trusted \(.*\); set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it/);
      expect(ovhCalls()).toBe(before);
      expect(box.ovh.routing(IP)).toBe(box.spec.servers[1].ovhService);
    }, 120_000);
  });

  describe('mutual TLS (verify required)', () => {
    // The IP address, with the name to check the certificate against (TEMPORAL_TLS_SERVER_NAME).
    const withCert = () => ({
      TEMPORAL_ADDRESS: mutualTls.address,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: files.serverCa,
      TEMPORAL_TLS_CLIENT_CERT_PATH: files.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: files.clientKey,
    });

    it('connects the worker and the CLI with TEMPORAL_TLS_CLIENT_CERT_PATH and _KEY_PATH, and the IP moves back', async () => {
      const queue = uniqueQueue('mtls');
      const worker = startChildWorker(queue, withCert());
      workers.push(worker);
      await worker.ready;
      expect(worker.output()).toContain(`on ${mutualTls.address} (namespace default, TLS, server CA from the configuration, server name localhost, client certificate)`);

      const run = await failover('srv-a', 'tls-mutual', withCert(), queue);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ ip: IP, to: 'srv-a', moved: true, reason: 'tls-mutual' });
      expect(box.ovh.routing(IP)).toBe(box.spec.servers[0].ovhService);
    }, 120_000);

    it('refuses a CLI without a client certificate, and one whose certificate another CA signed; nothing reaches OVH', async () => {
      const before = ovhCalls();
      const noCert = await failover('srv-b', 'no-cert', { TEMPORAL_ADDRESS: byName(mutualTls), TEMPORAL_TLS_SERVER_CA_CERT_PATH: files.serverCa }, 'unused');
      expect(noCert.code).toBe(1);
      expect(noCert.stderr).toContain(`autok8s: cannot reach Temporal at ${byName(mutualTls)} (TLS, server CA from the configuration): TLS: `);
      expect(noCert.stderr).toMatch(/TLS: the server wants a client certificate \(tlsv13 alert certificate required\); set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/);
      const stranger = await failover('srv-b', 'stranger', { ...withCert(), TEMPORAL_TLS_CLIENT_CERT_PATH: files.strangerCert, TEMPORAL_TLS_CLIENT_KEY_PATH: files.strangerKey }, 'unused');
      expect(stranger.code).toBe(1);
      expect(stranger.stderr).toContain(`autok8s: cannot reach Temporal at ${mutualTls.address} (TLS, server CA from the configuration, server name localhost, client certificate): TLS: `);
      expect(stranger.stderr).toMatch(/TLS: the server refused the client certificate \(tlsv1 alert unknown ca\); use one signed by the CA the server trusts for clients/);
      expect(ovhCalls()).toBe(before);
      expect(box.ovh.routing(IP)).toBe(box.spec.servers[0].ovhService);
    }, 120_000);

    it('refuses a worker without a client certificate: it exits instead of polling', async () => {
      const worker = startChildWorker(uniqueQueue('mtls-none'), { TEMPORAL_ADDRESS: mutualTls.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: files.serverCa });
      workers.push(worker);
      await expect(worker.ready).rejects.toThrow(/worker exited \(1\) before polling/);
      expect(worker.output()).toContain(`cannot reach Temporal at ${mutualTls.address} (TLS, server CA from the configuration): TLS: `);
      expect(worker.output()).toMatch(/TLS: the server wants a client certificate/);
      expect(worker.output()).not.toContain('autok8s worker polling');
    }, 120_000);
  });
});
