// A TLS-terminating proxy in front of the test's Temporal dev server, which has no TLS option
// of its own: real HAProxy in TCP mode (`ssl crt … alpn h2`, gRPC is HTTP/2), optionally
// requiring a client certificate (`verify required ca-file …`), forwarding the decrypted
// stream to the dev server's plain gRPC port. Loopback only.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../client/dev/dev-server';

export interface TlsProxy {
  /** host:port to give as TEMPORAL_ADDRESS. */
  address: string;
  output(): string;
  stop(): Promise<void>;
}

export interface TlsProxyOptions {
  haproxy: string;
  /** Where to write the config and the PEM bundle. */
  dir: string;
  /** The plain gRPC address behind it (host:port). */
  backend: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** When given, clients must present a certificate signed by this CA. */
  clientCaPem?: string;
  name: string;
}

/** Pure: the HAProxy configuration for a TLS-terminating TCP proxy on 127.0.0.1:`port`. */
export function tlsProxyConfig(o: { port: number; backend: string; crtFile: string; clientCaFile?: string }): string {
  const verify = o.clientCaFile ? ` verify required ca-file ${o.clientCaFile}` : '';
  return [
    'global',
    '  maxconn 200',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    // Worker polls are long (about a minute) and idle between them: keep the streams open.
    '  timeout client 10m',
    '  timeout server 10m',
    'frontend temporal_tls',
    `  bind 127.0.0.1:${o.port} ssl crt ${o.crtFile} alpn h2${verify}`,
    '  default_backend temporal_dev',
    'backend temporal_dev',
    `  server dev ${o.backend}`,
    '',
  ].join('\n');
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startTlsProxy(o: TlsProxyOptions): Promise<TlsProxy> {
  const port = await freePort();
  const crtFile = join(o.dir, `${o.name}-server.pem`);
  const pem = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
  writeFileSync(crtFile, pem(o.serverCertPem) + pem(o.serverKeyPem), { mode: 0o600 });
  let clientCaFile: string | undefined;
  if (o.clientCaPem) {
    clientCaFile = join(o.dir, `${o.name}-client-ca.pem`);
    writeFileSync(clientCaFile, pem(o.clientCaPem));
  }
  const cfg = join(o.dir, `${o.name}.cfg`);
  writeFileSync(cfg, tlsProxyConfig({ port, backend: o.backend, crtFile, clientCaFile }));
  // A configuration HAProxy refuses is reported in its own words rather than as a port that never opens.
  try {
    execFileSync(o.haproxy, ['-c', '-q', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`haproxy -c refused ${cfg}:\n${(err as { stderr?: Buffer }).stderr?.toString() ?? (err as Error).message}`);
  }

  const child: ChildProcess = spawn(o.haproxy, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const deadline = Date.now() + 15_000;
  while (!(await portAnswers(port))) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`haproxy did not listen on 127.0.0.1:${port} within 15 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    address: `127.0.0.1:${port}`,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
