// A stand-in for an LB VM's health endpoint (HAProxy's `monitor-uri /healthz` on :8404)
// on loopback, for sandboxes that run without the in-process SSH LB hosts. `setHealthy(false)`
// plays a dead LB: the port closes, as it does when the VM or HAProxy is down.
import { createServer, type Server } from 'node:http';
import { HAPROXY_CONFIG_PATH } from '../core/render/haproxy-identity';

export class LbHealthEndpoint {
  private server: Server | undefined;
  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly configAnswer: () => string | undefined,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/healthz`;
  }

  /**
   * `configAnswer`: what HAProxy's GET /autok8s/config answers now (the identity of the file it
   * loaded), undefined when nothing running would answer it (404).
   */
  static async start(name: string, port = 0, configAnswer: () => string | undefined = () => undefined): Promise<LbHealthEndpoint> {
    const server = await listen(port, configAnswer);
    const endpoint = new LbHealthEndpoint(name, (server.address() as { port: number }).port, configAnswer);
    endpoint.server = server;
    return endpoint;
  }

  get healthy(): boolean {
    return this.server !== undefined;
  }

  async setHealthy(on: boolean): Promise<void> {
    if (on && !this.server) this.server = await listen(this.port, this.configAnswer);
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

function listen(port: number, configAnswer: () => string | undefined): Promise<Server> {
  const server = createServer((req, res) => {
    const config = req.url === HAPROXY_CONFIG_PATH ? configAnswer() : undefined;
    const body = req.url === '/healthz' ? 'ok\n' : config !== undefined ? `${config}\n` : undefined;
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/plain' });
    res.end(body ?? 'not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
