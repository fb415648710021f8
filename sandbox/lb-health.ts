// A stand-in for an LB VM's health endpoint (HAProxy's `monitor-uri /healthz` on :8404)
// on loopback, for sandboxes that run without the in-process SSH LB hosts. `setHealthy(false)`
// plays a dead LB: the port closes, as it does when the VM or HAProxy is down.
import { createServer, type Server } from 'node:http';

export class LbHealthEndpoint {
  private server: Server | undefined;
  private constructor(
    readonly name: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/healthz`;
  }

  static async start(name: string, port = 0): Promise<LbHealthEndpoint> {
    const server = await listen(port);
    const endpoint = new LbHealthEndpoint(name, (server.address() as { port: number }).port);
    endpoint.server = server;
    return endpoint;
  }

  get healthy(): boolean {
    return this.server !== undefined;
  }

  async setHealthy(on: boolean): Promise<void> {
    if (on && !this.server) this.server = await listen(this.port);
    if (!on && this.server) {
      const server = this.server;
      this.server = undefined;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  stop(): Promise<void> {
    return this.setHealthy(false);
  }
}

function listen(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === '/healthz' ? 'ok\n' : 'not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
