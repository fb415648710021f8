// The embedded default's Temporal (`autok8s dev`, `autok8s demo`): a dev server with its
// SQLite file and Web UI, and encrypted payloads: a keyring in the same directory (made on
// first use, kept with the database so old runs stay readable), a codec server on loopback
// that the Web UI decodes them through, and the data converter the in-process worker and
// client share. What an operator sets up by hand with `autok8s payload-keys add` and
// `autok8s codec-server` (README, "Payload encryption").
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { startCodecServer, type CodecServer } from '../../codec/codec-server';
import { payloadCodec, payloadDataConverter } from '../../codec/data-converter';
import { addKey, PAYLOAD_KEYS_ENV } from '../../codec/keyring';
import { freePort, startDevServer, type DevServer } from './dev-server';

export interface LocalCodec {
  keysFile: string;
  codecServer: CodecServer;
  /** The codec endpoint the Web UI is given: the server's URL with its token as the first path segment. */
  uiEndpoint: string;
  dataConverter: DataConverter;
}

/** The keyring `<dir>/payload-keys` and a codec server the UI on `uiPort` may call. */
export async function startLocalCodec(dir: string, uiPort: number): Promise<LocalCodec> {
  mkdirSync(dir, { recursive: true });
  const keysFile = join(dir, 'payload-keys');
  if (!existsSync(keysFile)) addKey(keysFile, 'dev');
  const dataConverter = payloadDataConverter({ [PAYLOAD_KEYS_ENV]: keysFile });
  // A fresh token per start, known only to this process and the local Web UI it configures:
  // other local processes cannot have the dev stack's payloads decrypted.
  const token = randomBytes(32).toString('hex');
  const codecServer = await startCodecServer({
    // It only shows payloads: one in clear is shown as it is (the worker's codec refuses it).
    codec: payloadCodec({ [PAYLOAD_KEYS_ENV]: keysFile }, { acceptPlaintext: true })!,
    port: await freePort(),
    allowedOrigins: [`http://localhost:${uiPort}`, `http://127.0.0.1:${uiPort}`],
    auth: { token },
  });
  return { keysFile, codecServer, uiEndpoint: `${codecServer.url}/${token}`, dataConverter };
}

export interface LocalTemporal {
  server: DevServer;
  codec: LocalCodec;
  stop(): Promise<void>;
}

/** A dev server in `dir` (temporal.db) whose Web UI decodes payloads through the local codec server. */
export async function startLocalTemporal(o: { dir: string; port: number; uiPort: number; log: (line: string) => void }): Promise<LocalTemporal> {
  const uiPort = o.uiPort || (await freePort());
  const codec = await startLocalCodec(o.dir, uiPort);
  let server: DevServer;
  try {
    server = await startDevServer({ port: o.port, uiPort, uiCodecEndpoint: codec.uiEndpoint, dbFile: join(o.dir, 'temporal.db'), log: o.log });
  } catch (err) {
    await codec.codecServer.close();
    throw err;
  }
  return {
    server,
    codec,
    async stop() {
      await server.stop();
      await codec.codecServer.close();
    },
  };
}
