// One raw HTTPS call to a Proxmox simulator (no client library between the test and the
// wire): status line, headers, body as sent, and whether the server closed the connection.
import { Agent, request as httpsRequest } from 'node:https';

export interface WireAnswer {
  status: number;
  reason: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  body: { data?: unknown; errors?: Record<string, string>; message?: string } | undefined;
  /** The server closed the connection after answering. */
  closed: boolean;
}

export function pveCall(
  target: { url: string; caPem: string },
  method: string,
  path: string,
  options: { auth?: string; params?: Record<string, string> } = {},
): Promise<WireAnswer> {
  const url = new URL(target.url + '/api2/json' + path);
  const hasBody = method === 'POST' || method === 'PUT';
  const form = new URLSearchParams(options.params ?? {}).toString();
  if (!hasBody) for (const [k, v] of Object.entries(options.params ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = {};
  if (options.auth !== undefined) headers.Authorization = options.auth;
  if (hasBody) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  return new Promise((resolve, reject) => {
    // A keep-alive pool of its own: the client keeps the connection, so only the server's close ends it.
    const agent = new Agent({ keepAlive: true, ca: target.caPem });
    const req = httpsRequest(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      let closed = false;
      const socket = res.socket; // a kept-alive socket leaves the response for the pool at its end
      socket.once('close', () => (closed = true));
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        // Give the server's FIN a moment to arrive after the last byte.
        const settle = () => {
          agent.destroy();
          resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, rawBody, body: rawBody ? JSON.parse(rawBody) : undefined, closed });
        };
        if (closed) settle();
        else {
          const timer = setTimeout(settle, 500);
          socket.once('close', () => {
            clearTimeout(timer);
            settle();
          });
        }
      });
    });
    req.on('error', reject);
    req.end(hasBody ? form : undefined);
  });
}
