// The codec server (codec/codec-server.ts) decrypts for whoever it answers, so it answers
// only callers with its token (header or first path segment) or a client certificate of its
// CA, only under its own host names, and CORS only for the Web UI's origins. The rules as
// table tests, then over real HTTP(S) on loopback, as the Web UI and the temporal CLI call it.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { decode } from '@temporalio/common/lib/encoding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecServerAuthProblem, startCodecServer, type CodecServer } from '../../codec/codec-server';
import { allowedHosts, bearerToken, hostAllowed, sameToken, splitPath, tokenProblem } from '../../codec/codec-server-auth';
import { AesGcmCodec, ENCRYPTED_ENCODING } from '../../codec/encryption-codec';
import { parseKeyring } from '../../codec/keyring';
import { loadOrCreateSandboxCa } from '../../sandbox/tls';

const K1 = Buffer.alloc(32, 1).toString('base64');
const TOKEN = 'a'.repeat(20) + '0123456789abcdef';
const UI = 'http://localhost:8233';
// As `autok8s codec-server` makes it: it shows payloads, so one in clear is shown as it is.
const codec = new AesGcmCodec(parseKeyring(`k1 ${K1}\n`, 'ring'), { acceptPlaintext: true });

const json = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const value = (p: Payload): unknown => defaultPayloadConverter.fromPayload(p);
const wire = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});
const unwire = (p: { metadata: Record<string, string>; data?: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: p.data ? Buffer.from(p.data, 'base64') : undefined,
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP(S) request with full control of the headers (fetch cannot set Host). */
function send(url: string, o: { method?: string; path?: string; headers?: Record<string, string>; body?: unknown; tls?: { ca?: string; cert?: string; key?: string } } = {}): Promise<Answer> {
  const target = new URL(url);
  const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.hostname, port: target.port, method: o.method ?? 'POST', path: o.path ?? '/decode', headers: { 'content-type': 'application/json', ...o.headers }, ...o.tls },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const payloadsOf = (a: Answer) => (JSON.parse(a.body) as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
const bearer = { authorization: `Bearer ${TOKEN}` };

describe('who may call the codec server: the rules', () => {
  it.each([
    ['a 32-byte hex token', 'f'.repeat(64), undefined],
    ['a short one', 'abc', /at least 24 characters \(it has 3\); make one with "openssl rand -hex 32"/],
    ['one that cannot stand in a URL', `${'a'.repeat(30)}/x`, /may hold only letters, digits/],
  ])('takes or refuses %s as the token', (_name, token, problem) => {
    if (problem === undefined) expect(tokenProblem(token)).toBeUndefined();
    else expect(tokenProblem(token)).toMatch(problem);
  });

  it.each([
    ['a bearer header', `Bearer ${TOKEN}`, TOKEN],
    ['any case of "bearer"', `bearer ${TOKEN}`, TOKEN],
    ['basic auth', 'Basic dXNlcjpwYXNz', undefined],
    ['no header', undefined, undefined],
  ])('reads the token of %s', (_name, header, expected) => {
    expect(bearerToken(header)).toBe(expected);
  });

  it('compares tokens whole', () => {
    expect(sameToken(TOKEN, TOKEN)).toBe(true);
    expect(sameToken(TOKEN, TOKEN.slice(0, -1))).toBe(false);
    expect(sameToken(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(sameToken(TOKEN, undefined)).toBe(false);
  });

  it.each([
    ['/decode', { prefix: '', route: '/decode' }],
    [`/${TOKEN}/decode`, { prefix: TOKEN, route: '/decode' }],
    ['/encode/?x=1', { prefix: '', route: '/encode' }],
    ['/a/b/encode', { prefix: 'a/b', route: '/encode' }],
  ])('splits %s into the token part and the route', (path, expected) => {
    expect(splitPath(path)).toEqual(expected);
  });

  it.each([
    ['its loopback address', '127.0.0.1:8888', true],
    ['localhost', 'localhost:8888', true],
    ['IPv6 loopback', '[::1]:8888', true],
    ['another port', '127.0.0.1:9999', false],
    ['a rebound DNS name', 'attacker.example:8888', false],
    ['a name it was told it is reached by', 'codec.internal', true],
    ['no Host header', undefined, false],
  ])('answers to the Host of %s: %s', (_name, host, expected) => {
    expect(hostAllowed(host, allowedHosts('127.0.0.1', 8888, ['codec.internal']))).toBe(expected);
  });

  it('wants a token or client certificates, never neither', () => {
    expect(codecServerAuthProblem({})).toMatch(/decrypts for whoever it answers: give it a token or require client certificates/);
    expect(codecServerAuthProblem({ tls: { cert: 'c', key: 'k' } })).toMatch(/give it a token or require client certificates/);
    expect(codecServerAuthProblem({ tls: { cert: 'c', key: 'k', clientCa: 'ca' } })).toBeUndefined();
    expect(codecServerAuthProblem({ token: 'short' })).toMatch(/at least 24 characters/);
    expect(codecServerAuthProblem({ token: TOKEN })).toBeUndefined();
  });
});

describe('the codec server with a token', () => {
  let server: CodecServer;
  const logged: string[] = [];
  beforeAll(async () => {
    server = await startCodecServer({ codec, port: 0, allowedOrigins: [UI], auth: { token: TOKEN }, log: (l) => logged.push(l) });
  });
  afterAll(async () => server?.close());

  it('refuses to start without a token or client certificates', async () => {
    await expect(startCodecServer({ codec, port: 0, allowedOrigins: [UI], auth: {} })).rejects.toThrow(/give it a token or require client certificates/);
  });

  it('decodes and encodes for a caller with the bearer token (as temporal --codec-auth sends it)', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const [encrypted] = await codec.encode([json({ ip: '203.0.113.10' })]);
    const decoded = await send(server.url, { headers: bearer, body: { payloads: [wire(encrypted), wire(json('plain'))] } });
    expect(decoded.status).toBe(200);
    expect(payloadsOf(decoded).map((p) => value(unwire(p)))).toEqual([{ ip: '203.0.113.10' }, 'plain']);
    const encoded = await send(server.url, { path: '/encode', headers: bearer, body: { payloads: [wire(json(7))] } });
    const back = unwire(payloadsOf(encoded)[0]);
    expect(decode(back.metadata![METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
    expect(value((await codec.decode([back]))[0])).toBe(7);
  });

  it('takes the token as the first path segment, as the Web UI calls the endpoint <url>/<token>', async () => {
    const [encrypted] = await codec.encode([json('from the UI')]);
    const decoded = await send(server.url, { path: `/${TOKEN}/decode`, headers: { origin: UI, 'x-namespace': 'default' }, body: { payloads: [wire(encrypted)] } });
    expect(decoded.status).toBe(200);
    expect(decoded.headers['access-control-allow-origin']).toBe(UI);
    expect(value(unwire(payloadsOf(decoded)[0]))).toBe('from the UI');
  });

  it('refuses a caller without the token, or with another, and decodes nothing for it', async () => {
    const [encrypted] = await codec.encode([json('secret')]);
    for (const attempt of [{}, { headers: { authorization: 'Bearer wrong-token-wrong-token-wrong' } }, { path: '/not-the-token-at-all-not-it/decode' }, { path: `/decode?token=${TOKEN}` }]) {
      const answer = await send(server.url, { ...attempt, body: { payloads: [wire(encrypted)] } });
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer');
      expect(answer.body).toMatch(/token is missing or wrong: send Authorization: Bearer <token>/);
      expect(answer.body).not.toContain('secret');
    }
  });

  it('answers only to its own host names: a rebound DNS name gets nothing, not even CORS', async () => {
    const port = new URL(server.url).port;
    const [encrypted] = await codec.encode([json('secret')]);
    const rebound = await send(server.url, { headers: { ...bearer, host: `attacker.example:${port}`, origin: UI }, body: { payloads: [wire(encrypted)] } });
    expect(rebound.status).toBe(421);
    expect(rebound.body).toMatch(/does not answer to host attacker\.example:\d+/);
    expect(rebound.headers['access-control-allow-origin']).toBeUndefined();
    const byName = await send(server.url, { headers: { ...bearer, host: `localhost:${port}` }, body: { payloads: [wire(encrypted)] } });
    expect(byName.status).toBe(200);
  });

  it('answers the browser preflight for the UI origin only, and refuses other origins even with the token', async () => {
    const preflight = await send(server.url, { method: 'OPTIONS', headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/x-namespace/);
    const stranger = await send(server.url, { method: 'OPTIONS', headers: { origin: 'http://evil.example' } });
    expect(stranger.status).toBe(403);
    expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
    const post = await send(server.url, { headers: { ...bearer, origin: 'http://evil.example' }, body: { payloads: [] } });
    expect(post.status).toBe(403);
    expect(post.body).toMatch(/origin http:\/\/evil.example is not allowed; start the codec server with --allow-origin/);
  });

  it('says what is wrong with a bad request, and never logs the path that holds the token', async () => {
    expect((await send(server.url, { headers: bearer, body: 'not json' })).body).toMatch(/not JSON; send \{"payloads"/);
    expect((await send(server.url, { headers: bearer, body: { nope: 1 } })).status).toBe(400);
    expect((await send(server.url, { headers: bearer, body: { payloads: [{ metadata: { encoding: 5 } }] } })).status).toBe(400);
    expect((await send(server.url, { path: '/other', headers: bearer, body: '{}' })).status).toBe(404);
    expect((await send(server.url, { method: 'GET', headers: bearer })).status).toBe(405);
    const [encrypted] = await codec.encode([json(1)]);
    const tampered = { ...wire(encrypted), data: Buffer.alloc(40, 9).toString('base64') };
    const refused = await send(server.url, { path: `/${TOKEN}/decode`, body: { payloads: [tampered] } });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatch(/does not decrypt/);
    expect(logged.some((l) => l.includes('/decode: ') && l.includes('does not decrypt'))).toBe(true);
    expect(logged.join('\n')).not.toContain(TOKEN);
  });
});

describe('the codec server with client certificates (mTLS)', () => {
  let server: CodecServer;
  let serverCaPem: string;
  let client: { cert: string; key: string };
  let stranger: { cert: string; key: string };
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ak8s-codec-mtls-'));
    const serverCa = await loadOrCreateSandboxCa(join(dir, 'server-ca'));
    const clientCa = await loadOrCreateSandboxCa(join(dir, 'client-ca'));
    const otherCa = await loadOrCreateSandboxCa(join(dir, 'other-ca'));
    const cert = await serverCa.issueServerCert(['localhost', '127.0.0.1']);
    const issued = await clientCa.issueClientCert('operator');
    const foreign = await otherCa.issueClientCert('stranger');
    serverCaPem = serverCa.certPem;
    client = { cert: issued.certPem, key: issued.keyPem };
    stranger = { cert: foreign.certPem, key: foreign.keyPem };
    server = await startCodecServer({ codec, port: 0, allowedOrigins: [UI], auth: { tls: { cert: cert.certPem, key: cert.keyPem, clientCa: clientCa.certPem } } });
  });
  afterAll(async () => server?.close());

  it('decodes for a caller with a certificate of its client CA, and no token is needed', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const [encrypted] = await codec.encode([json('over mTLS')]);
    const answer = await send(server.url, { body: { payloads: [wire(encrypted)] }, tls: { ca: serverCaPem, ...client } });
    expect(answer.status).toBe(200);
    expect(value(unwire(payloadsOf(answer)[0]))).toBe('over mTLS');
  });

  it('refuses a caller without a certificate, or with one another CA signed, in the handshake', async () => {
    await expect(send(server.url, { body: { payloads: [] }, tls: { ca: serverCaPem } })).rejects.toThrow(/certificate required|socket hang up|ECONNRESET/);
    await expect(send(server.url, { body: { payloads: [] }, tls: { ca: serverCaPem, ...stranger } })).rejects.toThrow(/unknown ca|socket hang up|ECONNRESET/);
  });
});
