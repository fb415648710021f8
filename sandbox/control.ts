// The sandbox's control API (loopback HTTP, JSON): fault injection, the audit log and the
// demo hooks, for a sandbox started alone (`autok8s sandbox up`) where tests and people
// cannot call its objects directly. `autok8s sandbox fault|audit|lb` are its clients.
// It is not part of any simulated provider: no adapter ever calls it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AuditFilter } from './audit';
import type { FaultRuleInput } from './faults';

export interface ControlTarget {
  audit: { entries(filter?: AuditFilter): unknown[] };
  faults: { add(rule: FaultRuleInput): unknown; list(): unknown[]; clear(service?: string): void };
  /** Named demo hooks: `lb-down srv-a`, `kill-vm srv-b worker`, ... */
  hooks: Record<string, (args: string[]) => Promise<unknown>>;
}

export interface ControlServer {
  url: string;
  stop(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : JSON.parse(text);
}

function send(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value) + '\n');
}

export async function startControlServer(target: ControlTarget, port = 0): Promise<ControlServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const handle = async () => {
      if (req.method === 'GET' && url.pathname === '/audit') {
        const filter = Object.fromEntries(url.searchParams) as AuditFilter;
        return send(res, 200, target.audit.entries(filter));
      }
      if (url.pathname === '/faults') {
        if (req.method === 'GET') return send(res, 200, target.faults.list());
        if (req.method === 'POST') return send(res, 201, target.faults.add((await body(req)) as FaultRuleInput));
        if (req.method === 'DELETE') {
          target.faults.clear(url.searchParams.get('service') ?? undefined);
          return send(res, 200, { cleared: true });
        }
      }
      const hook = /^\/hooks\/([a-z-]+)$/.exec(url.pathname);
      if (req.method === 'POST' && hook) {
        const run = target.hooks[hook[1]];
        if (!run) return send(res, 404, { error: `no hook ${hook[1]}; hooks: ${Object.keys(target.hooks).join(', ')}` });
        const { args = [] } = (await body(req)) as { args?: string[] };
        return send(res, 200, { result: await run(args) });
      }
      send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    };
    handle().catch((err: Error) => send(res, 400, { error: err.message }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: actual } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${actual}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
