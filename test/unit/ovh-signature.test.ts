// OVH request signing: a worked example computed outside this code, and the simulator's
// verification fed with what the real `ovh` npm client sends on the wire.
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ovh from 'ovh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareOvhTransport } from '../../activities/ovh/client';
import { authenticate, grantAllows, type OvhCredential } from '../../sandbox/ovh/auth';
import { OvhHttpError } from '../../sandbox/ovh/errors';
import { ovhSignature, signedUrl } from '../../sandbox/ovh/signature';
import { loadOrCreateSandboxCa } from '../../sandbox/tls';

const AS = 'EgWIz07P0HYwtQDs';
const CK = 'MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1';

describe('ovhSignature', () => {
  it('matches a GET signed by hand', () => {
    // printf '%s' 'EgWIz07P0HYwtQDs+MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1+GET+https://eu.api.ovh.com/1.0/ip/203.0.113.10%2F32++1366560945' | sha1sum
    // → b5272a51d4b8d178c010dc25946327ea716efed4
    const sig = ovhSignature({ applicationSecret: AS, consumerKey: CK, method: 'GET', url: 'https://eu.api.ovh.com/1.0/ip/203.0.113.10%2F32', body: '', timestamp: '1366560945' });
    expect(sig).toBe('$1$b5272a51d4b8d178c010dc25946327ea716efed4');
  });

  it('matches a POST with a JSON body signed by hand', () => {
    // printf '%s' 'EgWIz07P0HYwtQDs+MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1+POST+https://eu.api.ovh.com/1.0/ip/203.0.113.10%2F32/move+{"to":"ns1002.ip-1-2-3.eu"}+1366560945' | sha1sum
    // → 3c0b6f833ee94953d09cc0a792957600e1cc5d99
    const sig = ovhSignature({
      applicationSecret: AS,
      consumerKey: CK,
      method: 'POST',
      url: 'https://eu.api.ovh.com/1.0/ip/203.0.113.10%2F32/move',
      body: '{"to":"ns1002.ip-1-2-3.eu"}',
      timestamp: '1366560945',
    });
    expect(sig).toBe('$1$3c0b6f833ee94953d09cc0a792957600e1cc5d99');
  });

  it('agrees with the ovh client’s own signRequest', () => {
    const client = ovh({ appKey: 'ak', appSecret: AS, consumerKey: CK });
    const url = 'https://eu.api.ovh.com/1.0/ip/203.0.113.10%2F32/move';
    expect(ovhSignature({ applicationSecret: AS, consumerKey: CK, method: 'POST', url, body: '{"to":"x"}', timestamp: '42' })).toBe(client.signRequest('POST', url, '{"to":"x"}', 42));
  });

  it('signs the URL without the port the request went to', () => {
    expect(signedUrl('localhost:8443', '/1.0/auth/time')).toBe('https://localhost/1.0/auth/time');
    expect(signedUrl('eu.api.ovh.com', '/1.0/ip?x=1')).toBe('https://eu.api.ovh.com/1.0/ip?x=1');
    expect(signedUrl('[::1]:8443', '/1.0/ip')).toBe('https://[::1]/1.0/ip');
  });
});

describe('grantAllows', () => {
  it.each([
    [{ method: 'GET', path: '/ip/*' }, 'GET', '/ip/203.0.113.10/32/move', true],
    [{ method: 'GET', path: '/ip/*' }, 'POST', '/ip/203.0.113.10/32/move', false],
    [{ method: 'POST', path: '/ip/203.0.113.10/32/move' }, 'POST', '/ip/203.0.113.10/32/move', true],
    [{ method: 'POST', path: '/ip/203.0.113.10/32/move' }, 'POST', '/ip/203.0.113.11/32/move', false],
    [{ method: 'GET', path: '/*' }, 'GET', '/vrack/pn-1', true],
  ])('%o allows %s %s: %s', (grant, method, path, allowed) => {
    expect(grantAllows(grant, method, path)).toBe(allowed);
  });
});

describe('simulator verification of what the real ovh client sends', () => {
  interface Captured {
    method: string;
    url: string;
    headers: IncomingHttpHeaders;
    body: string;
  }
  let dir: string;
  let server: Server;
  let port: number;
  const captured: Captured[] = [];
  const credential: OvhCredential = { applicationKey: 'app-key-1', applicationSecret: AS, consumerKey: CK };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ovh-sig-'));
    const ca = await loadOrCreateSandboxCa(join(dir, 'ca'));
    const cert = await ca.issueServerCert(['localhost', '127.0.0.1']);
    // A recorder, not the simulator: it answers anything so we can look at the raw request.
    server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        captured.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.setHeader('Content-Type', 'application/json');
        res.end(req.url!.endsWith('/auth/time') ? String(Math.floor(Date.now() / 1000)) : '{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    await prepareOvhTransport({ endpoint: `https://localhost:${port}/1.0`, caFile: ca.certFile });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  async function send(method: string, path: string, params?: Record<string, unknown>): Promise<Captured> {
    const client = ovh({ appKey: credential.applicationKey, appSecret: AS, consumerKey: CK, host: 'localhost', port, basePath: '/1.0', timeout: 5000 });
    captured.length = 0;
    await client.requestPromised(method, path, params);
    const last = captured[captured.length - 1];
    expect(last.url.startsWith('/1.0/auth/time')).toBe(false);
    return last;
  }

  const verify = (c: Captured) =>
    authenticate({ method: c.method, rawTarget: c.url, apiPath: decodeURIComponent(c.url.split('?')[0].slice(4)), body: c.body, headers: c.headers }, [credential], Math.floor(Date.now() / 1000));

  it('accepts a signed POST with a JSON body, verified against the URL without the port', async () => {
    const c = await send('POST', '/ip/203.0.113.10%2F32/move', { to: 'ns1002.ip-1-2-3.eu', nexthop: null });
    expect(c.headers.host).toBe(`localhost:${port}`);
    expect(c.body).toBe('{"to":"ns1002.ip-1-2-3.eu"}'); // null params dropped
    expect(verify(c)).toBe(credential);
    // The same request signed over a URL that keeps the port does not match what the client sent.
    const withPort = ovhSignature({ applicationSecret: AS, consumerKey: CK, method: 'POST', url: `https://localhost:${port}${c.url}`, body: c.body, timestamp: String(c.headers['x-ovh-timestamp']) });
    expect(withPort).not.toBe(c.headers['x-ovh-signature']);
  });

  it('accepts a signed GET whose parameters travel in the query string', async () => {
    const c = await send('GET', '/dedicated/server/ns1002.ip-1-2-3.eu/ipCanBeMovedTo', { ip: '203.0.113.10/32' });
    expect(c.url).toBe('/1.0/dedicated/server/ns1002.ip-1-2-3.eu/ipCanBeMovedTo?ip=203.0.113.10%2F32');
    expect(c.body).toBe('');
    expect(verify(c)).toBe(credential);
  });

  it('refuses the same request once its body is altered', async () => {
    const c = await send('POST', '/ip/203.0.113.10%2F32/move', { to: 'ns1002.ip-1-2-3.eu' });
    let error: unknown;
    try {
      verify({ ...c, body: '{"to":"ns9999.ip-1-2-3.eu"}' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(OvhHttpError);
    expect((error as OvhHttpError).status).toBe(400);
    expect((error as OvhHttpError).body).toEqual({ errorCode: 'INVALID_SIGNATURE', httpCode: '400 Bad Request', message: 'Invalid signature' });
  });
});
