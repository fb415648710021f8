// The codec server the Temporal Web UI (and `temporal workflow show --codec-endpoint`) calls
// to show encrypted payloads decoded, to those who can reach it and so hold the key
// (docs/design.md §4.7). Temporal's remote codec protocol: POST /decode and POST /encode with
// {"payloads": [{"metadata": {k: base64}, "data": base64}]}, answered in the same shape.
//
// It answers only those who prove who they are (a bearer token, a client certificate or
// both) and only under its own host names and the Web UI's origins: codec/codec-server-auth.ts.
//
// node:http(s) rather than a web framework: two routes, a CORS preflight, the checks and a
// body limit, with no dependency to keep up to date. It listens on loopback by default: the
// browser that runs the UI calls it directly, so it belongs next to the operator, not on the
// network.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { allowedHosts, bearerToken, hostAllowed, sameToken, splitPath, tokenProblem } from './codec-server-auth';

/** Bodies above this are refused (413): a page of history holds far less. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

/** PEM text or bytes. */
type Pem = string | Buffer;

export interface CodecServerAuth {
  /** Callers must send it (Authorization: Bearer, or as the first path segment). */
  token?: string;
  /** Serve HTTPS with this certificate; with clientCa, callers must present a certificate that CA signed. */
  tls?: { cert: Pem; key: Pem; clientCa?: Pem };
}

export interface CodecServerOptions {
  /** Should accept payloads in clear (AesGcmCodec acceptPlaintext): the server shows payloads, whatever they are. */
  codec: PayloadCodec;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Origins allowed to call it from a browser: the Web UI's, e.g. http://localhost:8233. */
  allowedOrigins: readonly string[];
  /** Host header values it answers to besides its listening address (a name it is reached by). */
  allowedHosts?: readonly string[];
  /** At least a token or client certificates: it decrypts for whoever it answers. */
  auth: CodecServerAuth;
  log?: (line: string) => void;
}

/** Why these auth settings cannot protect the server, or undefined when they can. */
export function codecServerAuthProblem(auth: CodecServerAuth): string | undefined {
  if (auth.token !== undefined) return tokenProblem(auth.token);
  if (auth.tls?.clientCa) return undefined;
  return 'the codec server decrypts for whoever it answers: give it a token or require client certificates (a client CA)';
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

/** A request the server refuses, with the status and a message for the caller. */
class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function fromJson(p: JsonPayload, index: number): Payload {
  const bytes = (value: unknown, what: string) => {
    if (typeof value !== 'string') throw new BadRequest(400, `payloads[${index}].${what} must be a base64 string`);
    return Buffer.from(value, 'base64');
  };
  if (p === null || typeof p !== 'object') throw new BadRequest(400, `payloads[${index}] must be an object with metadata and data`);
  return {
    metadata: p.metadata ? Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, bytes(v, `metadata.${k}`)])) : {},
    data: p.data == null ? undefined : bytes(p.data, 'data'),
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: p.metadata ? Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])) : {},
    data: p.data ? Buffer.from(p.data).toString('base64') : undefined,
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(413, `the body is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parsePayloads(body: Buffer): Payload[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequest(400, 'the body is not JSON; send {"payloads": [...]}');
  }
  const list = (parsed as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(list)) throw new BadRequest(400, 'the body has no "payloads" array; send {"payloads": [...]}');
  return list.map((p, i) => fromJson(p as JsonPayload, i));
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const problem = codecServerAuthProblem(options.auth);
  if (problem) throw new Error(problem);
  const allowed = new Set(options.allowedOrigins.map((o) => o.replace(/\/$/, '')));
  const log = options.log ?? (() => undefined);
  const { token } = options.auth;
  let hosts: ReadonlySet<string> = new Set();

  const cors = (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    if (origin && allowed.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      // The UI sends the namespace, and an Authorization header when it passes its access token.
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // First: a request for another host (a rebound DNS name) learns nothing, not even CORS.
    if (!hostAllowed(req.headers.host, hosts)) {
      throw new BadRequest(421, `this codec server does not answer to host ${req.headers.host ?? '(none)'}; it is reached as ${[...hosts].join(', ')} (add a name it is reached by with --allow-host)`);
    }
    cors(req, res);
    const { prefix, route } = splitPath(req.url ?? '');
    if (req.method === 'OPTIONS') {
      res.writeHead(req.headers.origin && allowed.has(req.headers.origin) ? 204 : 403).end();
      return;
    }
    if (req.headers.origin && !allowed.has(req.headers.origin)) {
      throw new BadRequest(403, `origin ${req.headers.origin} is not allowed; start the codec server with --allow-origin ${req.headers.origin}`);
    }
    // The token, from the header or the path; a client certificate was checked in the handshake.
    if (token !== undefined && !sameToken(token, bearerToken(req.headers.authorization)) && !sameToken(token, prefix)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new BadRequest(401, "the codec server's token is missing or wrong: send Authorization: Bearer <token> (temporal CLI: --codec-auth 'Bearer <token>'), or give the Web UI the codec endpoint <url>/<token>");
    }
    if (token === undefined && prefix !== '') throw new BadRequest(404, 'POST /decode or /encode');
    if (route !== '/decode' && route !== '/encode') throw new BadRequest(404, 'POST /decode or /encode');
    if (req.method !== 'POST') throw new BadRequest(405, `${route} takes POST`);
    const payloads = parsePayloads(await readBody(req));
    const out = route === '/decode' ? await options.codec.decode(payloads) : await options.codec.encode(payloads);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ payloads: out.map(toJson) }));
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: Error) => {
      const status = err instanceof BadRequest ? err.status : 422;
      // A payload that does not decode is the caller's data, not a server fault: 422 with why.
      // Logged by route only: the path may hold the token.
      if (!(err instanceof BadRequest)) log(`codec server: ${splitPath(req.url ?? '').route}: ${err.message}`);
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(err.message);
    });
  };
  const tls = options.auth.tls;
  const server: Server = tls
    ? createHttpsServer({ cert: tls.cert, key: tls.key, ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}) }, listener)
    : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  hosts = allowedHosts(address, port, options.allowedHosts);
  return {
    url: `${tls ? 'https' : 'http'}://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
