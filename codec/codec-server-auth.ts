// Who may use the codec server, decided by pure functions (codec/codec-server.ts applies them).
// It decrypts every payload of the namespace for whoever it answers, so it answers only:
//
// - requests whose Host header names it (its listening address, or a name it was told it is
//   reached by): a web page that rebinds its own DNS name to 127.0.0.1 gets nothing;
// - browsers on the configured Web UI origins (CORS for those alone);
// - callers that prove who they are: the bearer token (`Authorization: Bearer <token>`, as
//   `temporal --codec-auth` sends it; or as the first path segment of the codec endpoint,
//   `http://127.0.0.1:8888/<token>`, for the Web UI, which cannot add a header of its own),
//   and/or a client certificate signed by the configured CA (mTLS, checked in the handshake).
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export const CODEC_TOKEN_ENV = 'AUTOK8S_CODEC_TOKEN';
/** URL-safe, so it can stand in a path unencoded; long enough not to be guessed. */
const TOKEN = /^[A-Za-z0-9._~-]+$/;
const MIN_TOKEN_CHARS = 24;

/** Why `token` cannot be the codec server's token, or undefined when it can. */
export function tokenProblem(token: string): string | undefined {
  if (token.length < MIN_TOKEN_CHARS) return `the codec server's token must be at least ${MIN_TOKEN_CHARS} characters (it has ${token.length}); make one with "openssl rand -hex 32"`;
  if (!TOKEN.test(token)) return `the codec server's token may hold only letters, digits, ".", "_", "~" and "-" (it also stands in URLs); make one with "openssl rand -hex 32"`;
  return undefined;
}

/** Reads a token file: one line, readable only by its owner (as ssh wants of keys). */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    const { mode } = statSync(path);
    if ((mode & 0o077) !== 0) throw new Error(`${path} can be read by others (mode ${(mode & 0o777).toString(8)}); run "chmod 600 ${path}"`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code ? new Error(`cannot read the codec server's token at ${path} (${code})`) : err;
  }
  return text.trim();
}

/** Pure: the token an Authorization header carries, if it is a bearer token. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}

/** Pure, constant-time in the token's content: whether `given` is `expected`. */
export function sameToken(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(expected), digest(given));
}

/** Pure: a request path → the route (its last segment, as the remote codec protocol says) and what stands before it. */
export function splitPath(url: string): { prefix: string; route: string } {
  const segments = url.split('?')[0].split('/').filter((s) => s !== '');
  const route = segments.pop() ?? '';
  return { prefix: segments.join('/'), route: `/${route}` };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Pure: the Host header values a server listening on host:port answers to. */
export function allowedHosts(listenHost: string, port: number, extra: readonly string[] = []): Set<string> {
  const names = LOOPBACK.has(listenHost) ? [...LOOPBACK] : [listenHost];
  const withPort = names.map((n) => `${n.includes(':') ? `[${n}]` : n}:${port}`);
  return new Set([...withPort, ...extra].map((h) => h.toLowerCase()));
}

/** Pure: whether a Host header is one of `allowed` (an entry without a port matches any port). */
export function hostAllowed(host: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (!host) return false;
  const h = host.toLowerCase();
  if (allowed.has(h)) return true;
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0];
  return allowed.has(name);
}
