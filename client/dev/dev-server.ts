// Starting a Temporal dev server (SQLite file so runs survive a restart, Web UI on) with
// autok8s's search attributes registered. Used by `autok8s dev`, the demo and the tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { SEARCH_ATTRIBUTES } from '../../core/search-attributes';
import { openConnection } from '../connection';
import { localTemporalConnection } from '../temporal-connection';
import { findTemporalCli } from './find-temporal-cli';

export interface DevServerOptions {
  /** gRPC port; 0 picks a free one. */
  port?: number;
  /** Web UI port; 0 picks a free one; false disables the UI. */
  uiPort?: number | false;
  /** SQLite file; omitted means in-memory (lost on restart). */
  dbFile?: string;
  /** A codec server the Web UI calls to show encrypted payloads decoded (autok8s codec-server). */
  uiCodecEndpoint?: string;
  /** Port of the server's Prometheus `/metrics` endpoint (`--metrics-port`); omitted means one the CLI picks and does not tell. */
  metricsPort?: number;
  /** Server dynamic config (`--dynamic-config-value key=<JSON>`). */
  dynamicConfig?: Record<string, string | number | boolean>;
  cliPath?: string;
  log?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** What to do about a start-up failure the Temporal CLI reports in its own words. */
export function startFailureHint(stderr: string): string {
  const inUse = /listen tcp [^:\s]+:(\d+): bind: address already in use/.exec(stderr);
  if (inUse) return `\nPort ${inUse[1]} is taken: stop what listens there (is another autok8s dev or temporal server running?) or pick free ports (--port, --ui-port).`;
  return '';
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const cli = options.cliPath ?? findTemporalCli({ log: options.log }).path;
  const port = options.port || (await freePort());
  const uiPort = options.uiPort === false ? undefined : options.uiPort || (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error', '--namespace', 'default'];
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (uiPort !== undefined && options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  if (options.dbFile) {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  if (options.metricsPort !== undefined) args.push('--metrics-port', String(options.metricsPort));
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=Keyword`);
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);

  const child = spawn(cli, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal server start-dev exited with ${child.exitCode}: ${stderr.trim()}${startFailureHint(stderr)}`);
    try {
      const connection = await openConnection(localTemporalConnection(address), 1000);
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`temporal dev server at ${address} did not answer within ${options.startTimeoutMs ?? 60_000} ms: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    address,
    uiUrl: uiPort === undefined ? undefined : `http://localhost:${uiPort}`,
    process: child,
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolveStop();
        });
        child.kill('SIGTERM');
      }),
  };
}
